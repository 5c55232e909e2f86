package server

import (
	"cmp"
	"io"
	"log/slog"
	"net"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"
)

func forwardConfig(resolvers ...string) Config {
	c := testConfig()
	c.Resolvers = resolvers
	return c
}

func TestForward(t *testing.T) {
	up := startUpstream(t, "example.com.", "192.0.2.1")
	s := startServer(t, forwardConfig(up.addr), Options{})
	for _, network := range []string{"udp", "tcp"} {
		r := ask(t, s.addr, network, "www.example.com.", dns.TypeA, 0)
		if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 || r.Answer[0].(*dns.A).A.String() != "192.0.2.1" {
			t.Fatalf("%s: %v", network, r)
		}
		if r.Authoritative {
			t.Errorf("%s: forwarded answer has AA", network)
		}
	}
	nx := ask(t, s.addr, "udp", "nope.example.com.", dns.TypeA, 1232)
	if nx.Rcode != dns.RcodeNameError || len(nx.Ns) != 1 || nx.IsEdns0() == nil {
		t.Fatalf("NXDOMAIN from upstream: %v", nx)
	}
}

func TestForwardCache(t *testing.T) {
	up := startUpstream(t, "example.com.", "192.0.2.1")
	s := startServer(t, forwardConfig(up.addr), Options{})
	first := ask(t, s.addr, "udp", "www.example.com.", dns.TypeA, 0)
	second := ask(t, s.addr, "udp", "WWW.Example.COM.", dns.TypeA, 0)
	if n := up.queries.Load(); n != 1 {
		t.Errorf("upstream got %d queries, want 1 (the second from the cache)", n)
	}
	if len(second.Answer) != 1 || second.Answer[0].Header().Name != "WWW.Example.COM." {
		t.Errorf("cached answer %v, want the owner in the client's spelling", second.Answer)
	}
	if second.Id == first.Id && second.Id == 0 {
		t.Error("IDs not set")
	}
	if ttl := second.Answer[0].Header().Ttl; ttl > 300 || ttl < 298 {
		t.Errorf("cached TTL %d, want about 300", ttl)
	}
	// Negative answers are cached too, for min(SOA TTL, minimum) = 60 s.
	ask(t, s.addr, "udp", "nope.example.com.", dns.TypeA, 0)
	ask(t, s.addr, "udp", "nope.example.com.", dns.TypeA, 0)
	if n := up.queries.Load(); n != 2 {
		t.Errorf("upstream got %d queries, want 2", n)
	}
	// Another type is another entry.
	ask(t, s.addr, "udp", "www.example.com.", dns.TypeAAAA, 0)
	if n := up.queries.Load(); n != 3 {
		t.Errorf("upstream got %d queries, want 3", n)
	}
	if got := counterValue(t, s.metrics.hits); got != 2 {
		t.Errorf("cache hits %v, want 2", got)
	}
}

func TestForwardPerZone(t *testing.T) {
	def := startUpstream(t, "example.com.", "192.0.2.1")
	corp := startUpstream(t, "corp.internal.", "192.0.2.99")
	cfg := forwardConfig(def.addr)
	cfg.ZoneResolvers = map[string][]string{"corp.internal": {corp.addr}}
	s := startServer(t, cfg, Options{})
	if r := ask(t, s.addr, "udp", "www.corp.internal.", dns.TypeA, 0); len(r.Answer) != 1 || r.Answer[0].(*dns.A).A.String() != "192.0.2.99" {
		t.Fatalf("zone upstream: %v", r)
	}
	if r := ask(t, s.addr, "udp", "www.example.com.", dns.TypeA, 0); len(r.Answer) != 1 || r.Answer[0].(*dns.A).A.String() != "192.0.2.1" {
		t.Fatalf("default upstream: %v", r)
	}
	if def.queries.Load() != 1 || corp.queries.Load() != 1 {
		t.Errorf("queries default %d, corp %d; want 1 each", def.queries.Load(), corp.queries.Load())
	}
	// Only zone resolvers configured: other names are REFUSED.
	cfg.Resolvers = nil
	s2 := startServer(t, cfg, Options{})
	if r := ask(t, s2.addr, "udp", "www.example.com.", dns.TypeA, 0); r.Rcode != dns.RcodeRefused {
		t.Errorf("no default upstream: %v", r)
	}
}

func TestForwardTruncatedRetriesTCP(t *testing.T) {
	up := startUpstream(t, "example.com.", "192.0.2.1")
	s := startServer(t, forwardConfig(up.addr), Options{})
	// The upstream's 100 A records do not fit 1232 bytes: UDP comes back truncated, the
	// server asks again over TCP and truncates for its own UDP client.
	r := ask(t, s.addr, "tcp", "big.example.com.", dns.TypeA, 0)
	if len(r.Answer) != 100 || r.Truncated {
		t.Fatalf("TCP: %d answers, TC=%v", len(r.Answer), r.Truncated)
	}
	if n := up.queries.Load(); n != 1 {
		t.Errorf("upstream got %d queries over TCP, want 1", n)
	}
	s2 := startServer(t, forwardConfig(up.addr), Options{})
	r = ask(t, s2.addr, "udp", "big.example.com.", dns.TypeA, 0)
	if !r.Truncated || len(r.Answer) == 0 {
		t.Fatalf("UDP: %d answers, TC=%v; want a truncated answer", len(r.Answer), r.Truncated)
	}
	if n := up.queries.Load(); n != 3 {
		t.Errorf("upstream got %d queries in all, want 3 (TCP; UDP then TCP)", n)
	}
	r = ask(t, s2.addr, "udp", "big.example.com.", dns.TypeA, 4096)
	if r.Truncated || len(r.Answer) != 100 {
		t.Errorf("UDP EDNS0 4096 from the cache: %d answers, TC=%v", len(r.Answer), r.Truncated)
	}
}

func TestForwardOff(t *testing.T) {
	up := startUpstream(t, "example.com.", "192.0.2.1")
	cfg := forwardConfig(up.addr)
	cfg.ExternalOn = false
	s := startServer(t, cfg, Options{})
	for _, network := range []string{"udp", "tcp"} {
		if r := ask(t, s.addr, network, "www.example.com.", dns.TypeA, 0); r.Rcode != dns.RcodeRefused {
			t.Errorf("%s: %v", network, r)
		}
	}
	if up.queries.Load() != 0 {
		t.Error("upstream asked with externalon=false")
	}
	// No resolvers at all: REFUSED as well.
	s2 := startServer(t, forwardConfig(), Options{})
	if r := ask(t, s2.addr, "udp", "www.example.com.", dns.TypeA, 0); r.Rcode != dns.RcodeRefused {
		t.Errorf("no resolvers: %v", r)
	}
}

// silentUpstream is a UDP and TCP socket pair that never answers.
func silentUpstream(t *testing.T) string {
	pc, l, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close(); l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
		}
	}()
	return pc.LocalAddr().String()
}

// closedPort returns an address nothing listens on.
func closedPort(t *testing.T) string {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().String()
	pc.Close()
	return addr
}

func TestForwardUpstreamDown(t *testing.T) {
	silent := silentUpstream(t)
	closed := closedPort(t)
	s := startServer(t, forwardConfig(silent, closed), Options{ForwardTimeout: 200 * time.Millisecond})
	for _, network := range []string{"udp", "tcp"} {
		start := time.Now()
		r := ask(t, s.addr, network, "www.example.com.", dns.TypeA, 0)
		if r.Rcode != dns.RcodeServerFailure {
			t.Errorf("%s: %v", network, r)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("%s: SERVFAIL took %v", network, d)
		}
	}
	if got := counterValue(t, s.metrics.fwdFailed); got != 2 {
		t.Errorf("forward failures %v, want 2", got)
	}
	// SERVFAIL is not cached: a working upstream behind the dead ones answers.
	up := startUpstream(t, "example.com.", "192.0.2.1")
	s2 := startServer(t, forwardConfig(closed, up.addr), Options{ForwardTimeout: 200 * time.Millisecond})
	if r := ask(t, s2.addr, "udp", "www.example.com.", dns.TypeA, 0); r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 {
		t.Errorf("fallback to the second upstream: %v", r)
	}
}

func TestForwardRouting(t *testing.T) {
	f := newForwarder([]string{"def"}, map[string][]string{
		"example.com": {"ex"}, "a.example.com": {"a-ex"}, "corp": {"corp"},
	}, time.Second, 0, newMetrics(nil))
	for name, want := range map[string]string{
		"example.com.": "ex", "www.example.com.": "ex", "x.a.example.com.": "a-ex", "a.example.com.": "a-ex",
		"badexample.com.": "def", "corp.": "corp", "x.corp.": "corp", "org.": "def",
	} {
		if got := f.route(name); len(got) != 1 || got[0] != want {
			t.Errorf("route(%q) = %v, want %s", name, got, want)
		}
	}
}

// blackhole is an upstream that reads queries over UDP and TCP and never answers.
type blackhole struct {
	addr    string
	queries atomic.Int64 // UDP datagrams and TCP connections that sent something
}

func startBlackhole(t *testing.T) *blackhole {
	t.Helper()
	pc, l, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &blackhole{addr: pc.LocalAddr().String()}
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		conns  []net.Conn
		closed bool
	)
	wg.Go(func() {
		buf := make([]byte, dns.MaxMsgSize)
		for {
			if _, _, err := pc.ReadFrom(buf); err != nil {
				return
			}
			b.queries.Add(1)
		}
	})
	wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			if closed {
				c.Close()
			}
			conns = append(conns, c)
			mu.Unlock()
			wg.Go(func() {
				if _, err := c.Read(make([]byte, 2)); err == nil {
					b.queries.Add(1)
				}
				_, _ = io.Copy(io.Discard, c) // until the client closes
				c.Close()
			})
		}
	})
	t.Cleanup(func() {
		pc.Close()
		l.Close()
		mu.Lock()
		closed = true
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return b
}

// startRcodeUpstream starts an upstream that answers every query with rcode and nothing else.
func startRcodeUpstream(t *testing.T, rcode int) *upstream {
	t.Helper()
	u := &upstream{}
	h := dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		u.queries.Add(1)
		m := new(dns.Msg)
		m.SetRcode(r, rcode)
		_ = w.WriteMsg(m)
	})
	u.addr = serveUpstream(t, h)
	return u
}

// upstreamQuery is the query forward sends upstream for name.
func upstreamQuery(name string) *dns.Msg {
	m := new(dns.Msg)
	m.SetQuestion(name, dns.TypeA)
	m.SetEdns0(upstreamUDPSize, false)
	return m
}

// eventually reports whether cond becomes true within 5 s.
func eventually(cond func() bool) bool {
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			return false
		}
	}
	return true
}

// TestForwardStaggered calls the forwarder directly with real upstreams. Rows with a
// stagger longer than the time they allow show that a failing upstream hands over at once;
// time bounds are generous upper bounds.
func TestForwardStaggered(t *testing.T) {
	type env struct {
		first, second       *upstream // answer www.example.com. with 192.0.2.1 and .2
		dead, dead2         *blackhole
		closed              string
		refused, servfailed *upstream
	}
	tests := []struct {
		name       string
		ups        func(e *env) []string
		qname      string
		timeout    time.Duration
		maxStagger time.Duration // 0: the default
		onlyUDP    bool
		want       string // the A record; "" for no answer (SERVFAIL)
		within     time.Duration
		check      func(t *testing.T, e *env)
	}{{
		name:    "two dead upstreams",
		ups:     func(e *env) []string { return []string{e.dead.addr, e.dead2.addr} },
		timeout: time.Second, within: 2 * time.Second,
		check: func(t *testing.T, e *env) {
			for i, b := range []*blackhole{e.dead, e.dead2} {
				if !eventually(func() bool { return b.queries.Load() > 0 }) {
					t.Errorf("dead upstream %d never asked", i)
				}
			}
		},
	}, {
		// Stagger min(4 s/2, 1 s): the second is asked after 1 s, long before the 4 s budget.
		name:    "first dead",
		ups:     func(e *env) []string { return []string{e.dead.addr, e.first.addr} },
		timeout: 4 * time.Second, want: "192.0.2.1", within: 3 * time.Second,
	}, {
		name:    "first port closed",
		ups:     func(e *env) []string { return []string{e.closed, e.second.addr} },
		timeout: time.Minute, maxStagger: time.Minute, want: "192.0.2.2", within: 10 * time.Second,
	}, {
		name:    "first REFUSED",
		ups:     func(e *env) []string { return []string{e.refused.addr, e.second.addr} },
		timeout: time.Minute, maxStagger: time.Minute, want: "192.0.2.2", within: 10 * time.Second,
	}, {
		name:    "first SERVFAIL",
		ups:     func(e *env) []string { return []string{e.servfailed.addr, e.second.addr} },
		timeout: time.Minute, maxStagger: time.Minute, want: "192.0.2.2", within: 10 * time.Second,
	}, {
		// A SERVFAIL does not win over a later answer: the dead first upstream is still in
		// flight when the second fails, and the third answers.
		name:    "SERVFAIL then answer",
		ups:     func(e *env) []string { return []string{e.dead.addr, e.servfailed.addr, e.second.addr} },
		timeout: 4 * time.Second, want: "192.0.2.2", within: 3 * time.Second,
	}, {
		name:    "every upstream fails fast",
		ups:     func(e *env) []string { return []string{e.closed, e.refused.addr, e.servfailed.addr} },
		timeout: time.Minute, maxStagger: time.Minute, within: 10 * time.Second,
	}, {
		name:    "all fine",
		ups:     func(e *env) []string { return []string{e.first.addr, e.second.addr} },
		timeout: time.Minute, maxStagger: time.Minute, want: "192.0.2.1", within: 10 * time.Second,
		check: func(t *testing.T, e *env) {
			if n := e.second.queries.Load(); n != 0 {
				t.Errorf("second upstream got %d queries, want 0", n)
			}
		},
	}, {
		name:  "truncated over UDP",
		ups:   func(e *env) []string { return []string{e.first.addr, e.second.addr} },
		qname: "big.example.com.", onlyUDP: true,
		timeout: time.Minute, maxStagger: time.Minute, want: "198.51.100.0", within: 10 * time.Second,
		check: func(t *testing.T, e *env) {
			if n1, n2 := e.first.queries.Load(), e.second.queries.Load(); n1 != 2 || n2 != 0 {
				t.Errorf("queries: first %d, second %d; want 2 (UDP, TCP) and 0", n1, n2)
			}
		},
	}}
	log := slog.New(slog.DiscardHandler)
	for _, tt := range tests {
		for _, network := range []string{"udp", "tcp"} {
			if tt.onlyUDP && network == "tcp" {
				continue
			}
			t.Run(tt.name+"/"+network, func(t *testing.T) {
				t.Parallel()
				e := &env{
					first: startUpstream(t, "example.com.", "192.0.2.1"), second: startUpstream(t, "example.com.", "192.0.2.2"),
					dead: startBlackhole(t), dead2: startBlackhole(t), closed: closedPort(t),
					refused: startRcodeUpstream(t, dns.RcodeRefused), servfailed: startRcodeUpstream(t, dns.RcodeServerFailure),
				}
				f := newForwarder(nil, nil, tt.timeout, 0, newMetrics(nil))
				if tt.maxStagger > 0 {
					f.maxStagger = tt.maxStagger
				}
				qname := cmp.Or(tt.qname, "www.example.com.")
				start := time.Now()
				r := f.exchange(t.Context(), log, upstreamQuery(qname), tt.ups(e), network == "tcp")
				d := time.Since(start)
				switch {
				case tt.want == "" && r != nil:
					t.Errorf("got %v, want no answer", r)
				case tt.want != "" && (r == nil || r.Rcode != dns.RcodeSuccess || len(r.Answer) == 0 || r.Truncated):
					t.Errorf("got %v, want an answer", r)
				case tt.want != "" && r.Answer[0].(*dns.A).A.String() != tt.want:
					t.Errorf("answer %v, want %s", r.Answer[0], tt.want)
				}
				if d > tt.within {
					t.Errorf("took %v, want under %v", d, tt.within)
				}
				if tt.check != nil {
					tt.check(t, e)
				}
			})
		}
	}
}

// TestForwardBudget: with two dead upstreams the client gets SERVFAIL within one Timeout,
// not one per upstream.
func TestForwardBudget(t *testing.T) {
	// Three silent upstreams and a 2 s budget: asked one after another with the timeout each,
	// as before the budget, a client would wait 6 s.
	cfg := forwardConfig(startBlackhole(t).addr, startBlackhole(t).addr, startBlackhole(t).addr)
	cfg.Timeout = 2
	s := startServer(t, cfg, Options{})
	for _, network := range []string{"udp", "tcp"} {
		start := time.Now()
		r := ask(t, s.addr, network, "www.example.com.", dns.TypeA, 0)
		if r.Rcode != dns.RcodeServerFailure {
			t.Errorf("%s: %v", network, r)
		}
		if d := time.Since(start); d > 4*time.Second {
			t.Errorf("%s: SERVFAIL after %v, want within about the 2 s budget", network, d)
		}
	}
	if got := counterValue(t, s.metrics.fwdFailed); got != 2 {
		t.Errorf("forward failures %v, want 2", got)
	}
}

// forwarderGoroutines returns the stacks of the goroutines running forwarder code other
// than the caller's.
func forwarderGoroutines() []string {
	buf := make([]byte, 1<<20)
	var found []string
	for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n")[1:] {
		if strings.Contains(g, "strata/dns/server.(*forwarder)") || strings.Contains(g, "strata/dns/server.exchangeOne") {
			found = append(found, g)
		}
	}
	return found
}

// TestForwardNoLeak: exchanges still in flight when exchange returns (at the budget, or when
// another upstream has answered) are closed and their goroutines gone.
func TestForwardNoLeak(t *testing.T) {
	dead, dead2 := startBlackhole(t), startBlackhole(t)
	good := startUpstream(t, "example.com.", "192.0.2.1")
	log := slog.New(slog.DiscardHandler)
	f := newForwarder(nil, nil, 300*time.Millisecond, 0, newMetrics(nil))
	f.maxStagger = 50 * time.Millisecond
	before := runtime.NumGoroutine()
	for _, tcp := range []bool{false, true} {
		if r := f.exchange(t.Context(), log, upstreamQuery("www.example.com."), []string{dead.addr, dead2.addr}, tcp); r != nil {
			t.Errorf("tcp=%v: dead upstreams answered %v", tcp, r)
		}
		if g := forwarderGoroutines(); len(g) > 0 {
			t.Errorf("tcp=%v: after the budget, forwarder goroutines left:\n%s", tcp, strings.Join(g, "\n\n"))
		}
		if r := f.exchange(t.Context(), log, upstreamQuery("www.example.com."), []string{dead.addr, good.addr}, tcp); r == nil {
			t.Errorf("tcp=%v: no answer from the second upstream", tcp)
		}
		if g := forwarderGoroutines(); len(g) > 0 {
			t.Errorf("tcp=%v: after an answer, forwarder goroutines left:\n%s", tcp, strings.Join(g, "\n\n"))
		}
	}
	// The blackholes' and the upstream's per-connection goroutines end too once the
	// forwarder has closed its side.
	if !eventually(func() bool { return runtime.NumGoroutine() <= before }) {
		buf := make([]byte, 1<<20)
		t.Errorf("%d goroutines, %d before:\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
	}
}
