package server

import (
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"

	"strata/dns/records"
)

// authoritative answers q for name, a lower-case name in the Mesos domain (reference
// §6): A, AAAA, SRV (targets' first A and AAAA in the additional section), ANY, and SOA and
// NS at the apex; NXDOMAIN for names that do not exist and NODATA for names without a record
// of the asked type, both with the SOA in the authority section. Owner names keep the
// question's case. Before the record set is ready it answers SERVFAIL.
func (s *Server) authoritative(r *dns.Msg, q dns.Question, name string) *dns.Msg {
	m := new(dns.Msg)
	m.SetReply(r)
	m.RecursionAvailable = s.cfg.RecurseOn
	if !s.Ready() {
		m.Rcode = dns.RcodeServerFailure
		return m
	}
	m.Authoritative = true
	apex := name == s.zone
	switch q.Qtype {
	case dns.TypeA:
		m.Answer = s.appendA(m.Answer, q.Name, s.set.A(name))
	case dns.TypeAAAA:
		m.Answer = s.appendAAAA(m.Answer, q.Name, s.set.AAAA(name))
	case dns.TypeSRV:
		s.answerSRV(m, q.Name, s.set.SRV(name))
	case dns.TypeANY:
		a, aaaa, srv, _ := s.set.Lookup(name)
		m.Answer = s.appendA(m.Answer, q.Name, a)
		m.Answer = s.appendAAAA(m.Answer, q.Name, aaaa)
		s.answerSRV(m, q.Name, srv)
		if apex {
			m.Answer = append(m.Answer, s.soa(q.Name, uint32(s.cfg.TTL)), s.ns(q.Name))
		}
	case dns.TypeSOA, dns.TypeNS:
		if s.cfg.SOAInAuthority { // Mesos-DNS: any name, authority section, NOERROR
			if q.Qtype == dns.TypeSOA {
				m.Ns = append(m.Ns, s.soa(q.Name, uint32(s.cfg.TTL)))
			} else {
				m.Ns = append(m.Ns, s.ns(q.Name))
			}
			return m
		}
		if apex && q.Qtype == dns.TypeSOA {
			m.Answer = append(m.Answer, s.soa(q.Name, uint32(s.cfg.TTL)))
		} else if apex {
			m.Answer = append(m.Answer, s.ns(q.Name))
			m.Extra = s.appendA(m.Extra, s.cfg.SOAMname, s.set.A(s.cfg.SOAMname))
			m.Extra = s.appendAAAA(m.Extra, s.cfg.SOAMname, s.set.AAAA(s.cfg.SOAMname))
		}
	case dns.TypeAXFR, dns.TypeIXFR:
		m.Rcode = dns.RcodeRefused // no zone transfers over DNS: /v1/axfr
		m.Authoritative = false
		return m
	}
	if len(m.Answer) > 0 {
		shuffle(m.Answer)
		return m
	}
	if !apex && !s.set.Exists(name) && !s.ents.has(s, name) {
		m.Rcode = dns.RcodeNameError
	}
	// RFC 2308 §3: the SOA owned by the apex, with TTL min(TTL, SOA minimum).
	m.Ns = append(m.Ns, s.soa(s.zone, min(uint32(s.cfg.TTL), s.cfg.SOAMinttl)))
	return m
}

func (s *Server) hdr(name string, t uint16) dns.RR_Header {
	return dns.RR_Header{Name: name, Rrtype: t, Class: dns.ClassINET, Ttl: uint32(s.cfg.TTL)}
}

// appendA appends an A record per address; the records and their addresses share two
// allocations.
func (s *Server) appendA(rrs []dns.RR, owner string, ips []netip.Addr) []dns.RR {
	if len(ips) == 0 {
		return rrs
	}
	recs, buf := make([]dns.A, len(ips)), make([]byte, 4*len(ips))
	for i, ip := range ips {
		b := buf[4*i : 4*i+4 : 4*i+4]
		a4 := ip.As4()
		copy(b, a4[:])
		recs[i] = dns.A{Hdr: s.hdr(owner, dns.TypeA), A: b}
		rrs = append(rrs, &recs[i])
	}
	return rrs
}

// appendAAAA is appendA for IPv6.
func (s *Server) appendAAAA(rrs []dns.RR, owner string, ips []netip.Addr) []dns.RR {
	if len(ips) == 0 {
		return rrs
	}
	recs, buf := make([]dns.AAAA, len(ips)), make([]byte, 16*len(ips))
	for i, ip := range ips {
		b := buf[16*i : 16*i+16 : 16*i+16]
		a16 := ip.As16()
		copy(b, a16[:])
		recs[i] = dns.AAAA{Hdr: s.hdr(owner, dns.TypeAAAA), AAAA: b}
		rrs = append(rrs, &recs[i])
	}
	return rrs
}

// answerSRV appends the SRV records and, once per target, the target's first A and first
// AAAA record as additional records (Mesos-DNS' rule).
func (s *Server) answerSRV(m *dns.Msg, owner string, srvs []records.SRV) {
	if len(srvs) == 0 {
		return
	}
	var seen map[string]struct{}
	if len(srvs) > 8 {
		seen = make(map[string]struct{}, len(srvs))
	}
	recs := make([]dns.SRV, len(srvs))
	m.Answer = slices.Grow(m.Answer, len(srvs))
	for i, v := range srvs {
		recs[i] = dns.SRV{Hdr: s.hdr(owner, dns.TypeSRV),
			Priority: 0, Weight: s.cfg.SRVRecordDefaultWeight, Port: v.Port, Target: v.Target}
		m.Answer = append(m.Answer, &recs[i])
		if seen != nil {
			if _, dup := seen[v.Target]; dup {
				continue
			}
			seen[v.Target] = struct{}{}
		} else if hasTarget(srvs[:i], v.Target) {
			continue
		}
		if a := s.set.A(v.Target); len(a) > 0 {
			m.Extra = s.appendA(m.Extra, v.Target, a[:1])
		}
		if aaaa := s.set.AAAA(v.Target); len(aaaa) > 0 {
			m.Extra = s.appendAAAA(m.Extra, v.Target, aaaa[:1])
		}
	}
}

func hasTarget(srvs []records.SRV, target string) bool {
	for _, v := range srvs {
		if v.Target == target {
			return true
		}
	}
	return false
}

// soa returns the zone's SOA record under owner with the given TTL. Mesos-DNS puts its TTL
// in the minimum field; Strata puts SOAMinttl there, as its name says.
func (s *Server) soa(owner string, ttl uint32) *dns.SOA {
	h := s.hdr(owner, dns.TypeSOA)
	h.Ttl = ttl
	return &dns.SOA{Hdr: h, Ns: s.cfg.SOAMname, Mbox: s.cfg.SOARname, Serial: s.serial.get(s.set),
		Refresh: s.cfg.SOARefresh, Retry: s.cfg.SOARetry, Expire: s.cfg.SOAExpire, Minttl: s.cfg.SOAMinttl}
}

func (s *Server) ns(owner string) *dns.NS {
	return &dns.NS{Hdr: s.hdr(owner, dns.TypeNS), Ns: s.cfg.SOAMname}
}

// serialClock turns the record set's version into a SOA serial: the Unix time of the first
// query that saw the current version, kept strictly increasing (Mesos-DNS: the Unix time of
// the last successful reload).
type serialClock struct {
	mu  sync.Mutex
	ver atomic.Uint64 // version+1 the serial belongs to; 0: none yet
	val atomic.Uint32
}

func (c *serialClock) get(set *records.Set) uint32 {
	v := set.Version() + 1
	if c.ver.Load() == v {
		return c.val.Load()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ver.Load() != v {
		now, cur := uint32(time.Now().Unix()), c.val.Load()
		if now <= cur {
			now = cur + 1
		}
		c.val.Store(now)
		c.ver.Store(v)
	}
	return c.val.Load()
}

// entRefresh is how often, at most, the empty non-terminals are recomputed while the record
// set keeps changing.
const entRefresh = time.Second

// entCache knows the empty non-terminals of the zone: names such as "_tcp.marathon.mesos."
// that own no record but have names below them. They are NODATA, not NXDOMAIN (RFC 8020: a
// resolver may take NXDOMAIN to mean that nothing exists below the name). Mesos-DNS answers
// NXDOMAIN for them. The set is rebuilt in the background, at most once per entRefresh, when
// the record set's version changes; the first build is synchronous.
type entCache struct {
	mu       sync.Mutex // serialises builds
	cur      atomic.Pointer[entSet]
	building atomic.Bool
}

type entSet struct {
	version uint64
	built   time.Time
	names   map[string]struct{}
}

func (c *entCache) has(s *Server, name string) bool {
	e := c.cur.Load()
	if e == nil {
		c.mu.Lock()
		if e = c.cur.Load(); e == nil {
			e = buildENTs(s)
			c.cur.Store(e)
		}
		c.mu.Unlock()
	} else if e.version != s.set.Version() && time.Since(e.built) > entRefresh &&
		c.building.CompareAndSwap(false, true) {
		go func() {
			defer c.building.Store(false)
			c.mu.Lock()
			defer c.mu.Unlock()
			c.cur.Store(buildENTs(s))
		}()
	}
	_, ok := e.names[name]
	return ok
}

func buildENTs(s *Server) *entSet {
	v := s.set.Version()
	e := &entSet{version: v, built: time.Now(), names: map[string]struct{}{}}
	for _, n := range s.set.Names() {
		for {
			i := strings.IndexByte(n, '.')
			if i < 0 {
				break
			}
			n = n[i+1:]
			if len(n) <= len(s.zone) {
				break
			}
			if _, ok := e.names[n]; ok {
				break // its ancestors are in already
			}
			e.names[n] = struct{}{}
		}
	}
	return e
}
