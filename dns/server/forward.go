package server

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// upstreamUDPSize is the EDNS0 buffer size advertised to upstreams (DNS flag day 2020);
// larger answers come truncated and are fetched again over TCP.
const upstreamUDPSize = 1232

// zoneUpstreams are the resolvers of one zone of Config.ZoneResolvers.
type zoneUpstreams struct {
	suffix string // ".example.com."
	zone   string // "example.com."
	addrs  []string
}

// forwarder sends names outside the Mesos domain to upstream resolvers: the resolvers of
// the longest matching zone of Config.ZoneResolvers, else Config.Resolvers, each in turn.
type forwarder struct {
	zones   []zoneUpstreams // longest zone first
	def     []string
	timeout time.Duration
	udp     *dns.Client
	tcp     *dns.Client
	cache   *cache // nil: no caching
	metrics *metrics
}

func newForwarder(def []string, zones map[string][]string, timeout time.Duration, cacheSize int, m *metrics) *forwarder {
	f := &forwarder{
		def:     def,
		timeout: timeout,
		udp:     &dns.Client{Net: "udp", Timeout: timeout, UDPSize: upstreamUDPSize},
		tcp:     &dns.Client{Net: "tcp", Timeout: timeout},
		metrics: m,
	}
	for z, addrs := range zones {
		f.zones = append(f.zones, zoneUpstreams{suffix: "." + z + ".", zone: z + ".", addrs: addrs})
	}
	slices.SortFunc(f.zones, func(a, b zoneUpstreams) int {
		return cmp.Or(cmp.Compare(len(b.zone), len(a.zone)), cmp.Compare(a.zone, b.zone))
	})
	if cacheSize > 0 {
		f.cache = newCache(cacheSize)
	}
	return f
}

// route returns the upstreams for a lower-case name.
func (f *forwarder) route(name string) []string {
	for _, z := range f.zones {
		if name == z.zone || strings.HasSuffix(name, z.suffix) {
			return z.addrs
		}
	}
	return f.def
}

// forward answers q from the cache or the upstreams: REFUSED when no upstream serves the
// name, SERVFAIL when every upstream fails.
func (s *Server) forward(r *dns.Msg, q dns.Question, name string, opt *dns.OPT, tcp bool) *dns.Msg {
	f := s.fwd
	ups := f.route(name)
	if len(ups) == 0 {
		return errorReply(r, dns.RcodeRefused, opt)
	}
	do := opt != nil && opt.Do()
	key := cacheKey{name: name, qtype: q.Qtype, qclass: q.Qclass, do: do, cd: r.CheckingDisabled}
	if f.cache != nil {
		if m := f.cache.get(key, time.Now()); m != nil {
			f.metrics.hits.Inc()
			return s.fromUpstream(r, q, m, key.name)
		}
		f.metrics.misses.Inc()
	}

	up := new(dns.Msg)
	up.Id = dns.Id()
	up.RecursionDesired = r.RecursionDesired
	up.CheckingDisabled = r.CheckingDisabled
	up.Question = []dns.Question{q}
	up.SetEdns0(upstreamUDPSize, do)

	start := time.Now()
	resp := f.exchange(s, up, ups, tcp)
	f.metrics.upstream.Observe(time.Since(start).Seconds())
	if resp == nil {
		f.metrics.fwdFailed.Inc()
		return errorReply(r, dns.RcodeServerFailure, opt)
	}
	f.metrics.fwdOK.Inc()
	resp.Extra = slices.DeleteFunc(resp.Extra, func(rr dns.RR) bool { return rr.Header().Rrtype == dns.TypeOPT })
	if f.cache != nil && (resp.Rcode == dns.RcodeSuccess || resp.Rcode == dns.RcodeNameError) {
		f.cache.put(key, resp.Copy(), time.Now())
	}
	return s.fromUpstream(r, q, resp, key.name)
}

// exchange asks each upstream in turn over the client's transport (UDP answers that come
// truncated are asked again over TCP) and returns the first answer that is not SERVFAIL or
// REFUSED, else nil.
func (f *forwarder) exchange(s *Server, up *dns.Msg, ups []string, tcp bool) *dns.Msg {
	ctx := s.baseContext()
	for _, addr := range ups {
		if ctx.Err() != nil {
			return nil
		}
		var resp *dns.Msg
		var err error
		if !tcp {
			resp, _, err = f.udp.ExchangeContext(ctx, up, addr)
			if err == nil && resp.Truncated {
				resp, _, err = f.tcp.ExchangeContext(ctx, up, addr)
			}
		} else {
			resp, _, err = f.tcp.ExchangeContext(ctx, up, addr)
		}
		if err != nil {
			s.log.Debug("upstream failed", "upstream", addr, "name", up.Question[0].Name, "err", err)
			continue
		}
		if resp.Rcode == dns.RcodeServerFailure || resp.Rcode == dns.RcodeRefused ||
			len(resp.Question) != 1 || !strings.EqualFold(resp.Question[0].Name, up.Question[0].Name) ||
			resp.Question[0].Qtype != up.Question[0].Qtype {
			s.log.Debug("upstream refused", "upstream", addr, "name", up.Question[0].Name, "rcode", dns.RcodeToString[resp.Rcode])
			continue
		}
		return resp
	}
	return nil
}

// fromUpstream turns an upstream answer (without OPT) into the reply to r: r's ID, flags and
// question; owner names equal to the question name take the client's spelling.
func (s *Server) fromUpstream(r *dns.Msg, q dns.Question, m *dns.Msg, name string) *dns.Msg {
	m.Id = r.Id
	m.Opcode = r.Opcode
	m.RecursionDesired = r.RecursionDesired
	m.CheckingDisabled = r.CheckingDisabled
	m.Response = true
	m.Question = []dns.Question{q}
	for _, sec := range [][]dns.RR{m.Answer, m.Ns} {
		for _, rr := range sec {
			if h := rr.Header(); h.Name != q.Name && strings.EqualFold(h.Name, name) {
				h.Name = q.Name
			}
		}
	}
	return m
}
