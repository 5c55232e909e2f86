package server

import (
	"math/rand/v2"
	"sync"
	"sync/atomic"

	"github.com/miekg/dns"
)

// Packed-answer cache. Building a large authoritative answer (an app's SRV set: dozens of
// SRV records, their targets' addresses, name compression, truncation) costs tens of
// microseconds, most of it in packing; the answer only changes when the record set does. So
// the server keeps, per question and record-set version, up to answerVariants packed
// replies, each shuffled independently (the shuffle is Mesos-DNS' load balancing; several
// variants keep clients spread over the tasks, and over different subsets of a truncated
// answer). A hit copies one variant at random and patches in the query's ID and the RD and
// CD bits it echoes. Any change to the record set bumps its version and retires every entry.
const (
	// answerVariants is how many differently shuffled packings of one answer are kept.
	answerVariants = 16
	// answerCacheMax bounds the number of questions kept; reaching it empties the cache.
	answerCacheMax = 8192
	// answerCacheMinRRs is the smallest answer worth caching: below it building is cheaper
	// than the cache's bookkeeping.
	answerCacheMinRRs = 4
)

// answerKey is everything in a query that changes the bytes of an authoritative reply other
// than the ID and the echoed RD and CD bits.
type answerKey struct {
	name   string // as asked: owner names keep the question's case
	qtype  uint16
	qclass uint16
	size   uint16 // the reply's size limit
	edns   bool   // the query had an OPT record (so does the reply)
	do     bool   // its DO bit (echoed)
	trunc  bool   // TC is set when truncated (UDP with SetTruncateBit)
}

type answerEntry struct {
	version  uint64
	variants [answerVariants]atomic.Pointer[[]byte]
}

// variant returns packed reply i, or nil if e is nil or has none yet.
func (e *answerEntry) variant(i int) []byte {
	if e == nil {
		return nil
	}
	if p := e.variants[i].Load(); p != nil {
		return *p
	}
	return nil
}

type answerCache struct {
	mu      sync.RWMutex
	entries map[answerKey]*answerEntry
}

func newAnswerCache() *answerCache {
	return &answerCache{entries: make(map[answerKey]*answerEntry)}
}

// get returns the entry for k if it was made at version, else nil.
func (c *answerCache) get(k answerKey, version uint64) *answerEntry {
	c.mu.RLock()
	e := c.entries[k]
	c.mu.RUnlock()
	if e != nil && e.version == version {
		return e
	}
	return nil
}

// entry returns the entry for k at version, replacing an older one.
func (c *answerCache) entry(k answerKey, version uint64) *answerEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.entries[k]; e != nil && e.version == version {
		return e
	}
	if len(c.entries) >= answerCacheMax {
		clear(c.entries)
	}
	e := &answerEntry{version: version}
	c.entries[k] = e
	return e
}

// len is the number of questions cached, for tests.
func (c *answerCache) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.entries)
}

// patchReply turns a cached packed reply into the reply to r: r's ID, and r's RD and CD bits
// (echoed by dns.Msg.SetReply for a query).
func patchReply(b []byte, r *dns.Msg) {
	b[0], b[1] = byte(r.Id>>8), byte(r.Id)
	b[2] &^= 0x01 // RD
	if r.RecursionDesired {
		b[2] |= 0x01
	}
	b[3] &^= 0x10 // CD
	if r.CheckingDisabled {
		b[3] |= 0x10
	}
}

// answerLimits returns the size limit of a reply on this transport and whether TC is to
// be set when the reply does not fit (see write).
func (s *Server) answerLimits(opt *dns.OPT, tcp bool) (size int, setTC bool) {
	size = dns.MinMsgSize
	if opt != nil {
		if n := int(opt.UDPSize()); n > size {
			size = min(n, serverUDPSize)
		}
	}
	if tcp {
		return dns.MaxMsgSize, true
	}
	return size, s.cfg.SetTruncateBit
}

// serveAuthoritative answers a question in the Mesos domain, from the packed-answer cache
// when it holds the question at the record set's current version.
func (s *Server) serveAuthoritative(w dns.ResponseWriter, r *dns.Msg, q dns.Question, name string, opt *dns.OPT) {
	if !s.Ready() {
		s.write(w, r, s.authoritative(r, q, name), opt)
		return
	}
	tcp := isTCP(w)
	size, setTC := s.answerLimits(opt, tcp)
	k := answerKey{name: q.Name, qtype: q.Qtype, qclass: q.Qclass, size: uint16(min(size, 0xffff)),
		edns: opt != nil, do: opt != nil && opt.Do(), trunc: setTC}
	version := s.set.Version()
	i := rand.IntN(answerVariants)
	e := s.answers.get(k, version)
	if p := e.variant(i); p != nil {
		b := make([]byte, len(p))
		copy(b, p)
		patchReply(b, r)
		s.metrics.countAnswerCache(true)
		s.metrics.countQuery(q.Qtype, int(b[3]&0x0f))
		if _, err := w.Write(b); err != nil {
			s.log.Debug("dns write failed", "err", err)
		}
		return
	}
	m := s.authoritative(r, q, name)
	if m.Rcode != dns.RcodeSuccess || len(m.Answer)+len(m.Extra) < answerCacheMinRRs {
		s.write(w, r, m, opt)
		return
	}
	s.finish(m, opt, size, setTC)
	b, err := m.Pack()
	if err != nil {
		s.log.Error("dns pack failed", "name", q.Name, "err", err)
		s.write(w, r, errorReply(r, dns.RcodeServerFailure, opt), opt)
		return
	}
	if s.set.Version() == version { // not built from a newer set than the key's version
		if e == nil {
			e = s.answers.entry(k, version)
		}
		stored := append([]byte(nil), b...)
		e.variants[i].Store(&stored)
	}
	s.metrics.countAnswerCache(false)
	s.metrics.countQuery(q.Qtype, m.Rcode)
	if _, err := w.Write(b); err != nil {
		s.log.Debug("dns write failed", "err", err)
	}
}
