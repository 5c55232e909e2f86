package server

import (
	"net"
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
