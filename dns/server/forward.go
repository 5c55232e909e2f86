package server

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
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
// the longest matching zone of Config.ZoneResolvers, else Config.Resolvers, staggered
// within one timeout (see exchange).
type forwarder struct {
	zones      []zoneUpstreams // longest zone first
	def        []string
	timeout    time.Duration // for a whole query, whatever the number of upstreams
	maxStagger time.Duration // cap of the stagger between upstreams (maxStagger); tests raise it
	udp        *dns.Client
	tcp        *dns.Client
	cache      *cache // nil: no caching
	metrics    *metrics
}

func newForwarder(def []string, zones map[string][]string, timeout time.Duration, cacheSize int, m *metrics) *forwarder {
	f := &forwarder{
		def:        def,
		timeout:    timeout,
		maxStagger: maxStagger,
		udp:        &dns.Client{Net: "udp", Timeout: timeout, UDPSize: upstreamUDPSize},
		tcp:        &dns.Client{Net: "tcp", Timeout: timeout},
		metrics:    m,
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
	resp := f.exchange(s.baseContext(), s.log, up, ups, tcp)
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

// maxStagger caps the delay before a query also goes to the next upstream; see exchange.
const maxStagger = time.Second

// exchange asks the upstreams ups for up within one budget, f.timeout, and returns the first
// usable answer (any rcode but SERVFAIL and REFUSED, for up's question), else nil.
//
// It asks ups[0] first; when that has not answered after the stagger, min(f.timeout/len(ups),
// f.maxStagger), it also asks ups[1] while ups[0] stays in flight, and so on; an upstream that
// fails (connection refused, unreachable, SERVFAIL, REFUSED) hands over to the next at once.
// So every upstream is asked within the budget, and a healthy first upstream, which answers
// well within a second, is the only one asked. Each upstream is asked over the client's
// transport; a truncated UDP answer is asked again over TCP within the budget. When exchange
// returns, the exchanges still in flight are closed and their goroutines have ended.
func (f *forwarder) exchange(ctx context.Context, log *slog.Logger, up *dns.Msg, ups []string, tcp bool) *dns.Msg {
	if len(ups) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	var wg sync.WaitGroup
	defer func() {
		cancel()
		wg.Wait()
	}()
	type result struct {
		addr string
		resp *dns.Msg
		err  error
	}
	results := make(chan result, len(ups)) // one per upstream: senders never block
	next, pending := 0, 0
	launch := func() {
		addr := ups[next]
		next++
		pending++
		wg.Go(func() {
			resp, err := f.ask(ctx, up, addr, tcp)
			results <- result{addr, resp, err}
		})
	}
	stagger := min(f.timeout/time.Duration(len(ups)), f.maxStagger)
	timer := time.NewTimer(stagger)
	defer timer.Stop()
	launch()
	for {
		select {
		case <-ctx.Done():
			log.Debug("upstreams timed out", "name", up.Question[0].Name, "asked", next, "err", ctx.Err())
			return nil
		case <-timer.C:
			if next < len(ups) {
				launch()
				timer.Reset(stagger)
			}
		case r := <-results:
			pending--
			switch {
			case r.err != nil:
				log.Debug("upstream failed", "upstream", r.addr, "name", up.Question[0].Name, "err", r.err)
			case r.resp.Rcode == dns.RcodeServerFailure || r.resp.Rcode == dns.RcodeRefused ||
				len(r.resp.Question) != 1 || !strings.EqualFold(r.resp.Question[0].Name, up.Question[0].Name) ||
				r.resp.Question[0].Qtype != up.Question[0].Qtype:
				log.Debug("upstream refused", "upstream", r.addr, "name", up.Question[0].Name, "rcode", dns.RcodeToString[r.resp.Rcode])
			default:
				return r.resp
			}
			if next < len(ups) {
				launch()
				timer.Reset(stagger)
			} else if pending == 0 {
				return nil
			}
		}
	}
}

// ask asks one upstream over UDP, then over TCP if the answer is truncated, or over TCP
// only when tcp is set.
func (f *forwarder) ask(ctx context.Context, up *dns.Msg, addr string, tcp bool) (*dns.Msg, error) {
	if !tcp {
		resp, err := exchangeOne(ctx, f.udp, up, addr)
		if err != nil || !resp.Truncated {
			return resp, err
		}
	}
	return exchangeOne(ctx, f.tcp, up, addr)
}

// exchangeOne is c.ExchangeContext that also ends, closing its connection, when ctx is
// cancelled rather than only at ctx's deadline.
func exchangeOne(ctx context.Context, c *dns.Client, up *dns.Msg, addr string) (*dns.Msg, error) {
	co, err := c.DialContext(ctx, addr)
	if err != nil {
		return nil, fmt.Errorf("dns/server: upstream %s over %s: %w", addr, c.Net, err)
	}
	closed := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		co.Close()
		close(closed)
	})
	defer func() {
		if stop() {
			co.Close()
		} else {
			<-closed // the AfterFunc goroutine has closed co and ended
		}
	}()
	// A copy: packing sets the OPT record's extended rcode, and up is shared by the
	// concurrent exchanges.
	resp, _, err := c.ExchangeWithConnContext(ctx, up.Copy(), co)
	if err != nil {
		return nil, fmt.Errorf("dns/server: upstream %s over %s: %w", addr, c.Net, err)
	}
	return resp, nil
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
