package server

import (
	"container/list"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// Cache TTL bounds: answers are kept for their smallest TTL, at most maxCacheTTL; negative
// answers (NXDOMAIN, NODATA) for min(SOA TTL, SOA minimum) (RFC 2308 §5), at most
// maxNegativeTTL. Answers with a zero TTL, without an SOA when negative, truncated, or with
// another rcode are not cached.
const (
	maxCacheTTL    = time.Hour
	maxNegativeTTL = 5 * time.Minute
)

// cacheKey identifies a forwarded question. The DO and CD bits change what upstreams
// return, so they are part of it.
type cacheKey struct {
	name          string // lower case
	qtype, qclass uint16
	do, cd        bool
}

type cacheEntry struct {
	key     cacheKey
	msg     *dns.Msg // without OPT; never modified once stored
	stored  time.Time
	expires time.Time
}

// cache is a bounded LRU of upstream answers.
type cache struct {
	mu    sync.Mutex
	max   int
	lru   *list.List // front: most recently used; values *cacheEntry
	items map[cacheKey]*list.Element
}

func newCache(max int) *cache {
	return &cache{max: max, lru: list.New(), items: make(map[cacheKey]*list.Element)}
}

// get returns a copy of the cached answer for k with its TTLs lowered by its age, or nil.
func (c *cache) get(k cacheKey, now time.Time) *dns.Msg {
	c.mu.Lock()
	el := c.items[k]
	if el == nil {
		c.mu.Unlock()
		return nil
	}
	e := el.Value.(*cacheEntry)
	if !now.Before(e.expires) {
		c.lru.Remove(el)
		delete(c.items, k)
		c.mu.Unlock()
		return nil
	}
	c.lru.MoveToFront(el)
	c.mu.Unlock()
	m := e.msg.Copy()
	age := uint32(now.Sub(e.stored) / time.Second)
	for _, sec := range [][]dns.RR{m.Answer, m.Ns, m.Extra} {
		for _, rr := range sec {
			h := rr.Header()
			h.Ttl = max(h.Ttl, age) - age
		}
	}
	return m
}

// put stores m (which the cache then owns) under k if it is cacheable.
func (c *cache) put(k cacheKey, m *dns.Msg, now time.Time) {
	ttl, ok := cacheTTL(m)
	if !ok {
		return
	}
	e := &cacheEntry{key: k, msg: m, stored: now, expires: now.Add(ttl)}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el := c.items[k]; el != nil {
		el.Value = e
		c.lru.MoveToFront(el)
		return
	}
	c.items[k] = c.lru.PushFront(e)
	for c.lru.Len() > c.max {
		old := c.lru.Back()
		c.lru.Remove(old)
		delete(c.items, old.Value.(*cacheEntry).key)
	}
}

// len returns the number of entries, expired ones included.
func (c *cache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}

// cacheTTL returns how long m may be cached.
func cacheTTL(m *dns.Msg) (time.Duration, bool) {
	if m.Truncated || (m.Rcode != dns.RcodeSuccess && m.Rcode != dns.RcodeNameError) {
		return 0, false
	}
	if m.Rcode == dns.RcodeSuccess && len(m.Answer) > 0 {
		ttl := ^uint32(0)
		for _, sec := range [][]dns.RR{m.Answer, m.Ns, m.Extra} {
			for _, rr := range sec {
				if rr.Header().Rrtype != dns.TypeOPT {
					ttl = min(ttl, rr.Header().Ttl)
				}
			}
		}
		d := min(time.Duration(ttl)*time.Second, maxCacheTTL)
		return d, d > 0
	}
	for _, rr := range m.Ns {
		if soa, ok := rr.(*dns.SOA); ok {
			d := min(time.Duration(min(soa.Hdr.Ttl, soa.Minttl))*time.Second, maxNegativeTTL)
			return d, d > 0
		}
	}
	return 0, false
}
