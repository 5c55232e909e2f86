package server

import (
	"net"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"strata/dns/records"
)

func values(rrs []dns.RR) []string {
	var out []string
	for _, rr := range rrs {
		switch v := rr.(type) {
		case *dns.A:
			out = append(out, v.A.String())
		case *dns.AAAA:
			out = append(out, v.AAAA.String())
		case *dns.SRV:
			out = append(out, v.Target+":"+itoa(v.Port))
		case *dns.SOA:
			out = append(out, "SOA "+v.Ns)
		case *dns.NS:
			out = append(out, "NS "+v.Ns)
		default:
			out = append(out, rr.String())
		}
	}
	sort.Strings(out)
	return out
}

func itoa(p uint16) string { return strconv.Itoa(int(p)) }

// srvValues returns the SRV values of name in the server's set, sorted, as values does.
func srvValues(s *testServer, name string) []string {
	var out []string
	for _, v := range s.set.SRV(name) {
		out = append(out, v.String())
	}
	sort.Strings(out)
	return out
}

func TestAuthoritativeAnswers(t *testing.T) {
	s := startServer(t, testConfig(), Options{})
	tests := []struct {
		name, qname string
		qtype       uint16
		rcode       int
		answer      []string
		extra       []string
		soa         bool // SOA in the authority section
	}{
		{"A", "web.marathon.mesos.", dns.TypeA, dns.RcodeSuccess, []string{"10.0.1.10", "10.0.1.11"}, nil, false},
		{"A canonical", "leader.mesos.", dns.TypeA, dns.RcodeSuccess, []string{"10.0.0.1"}, nil, false},
		{"AAAA", "v6app.marathon.mesos.", dns.TypeAAAA, dns.RcodeSuccess, []string{"2001:db8::2"}, nil, false},
		{"SRV with additional", "_web._tcp.marathon.mesos.", dns.TypeSRV, dns.RcodeSuccess,
			srvValues(s, "_web._tcp.marathon.mesos."), []string{"10.0.1.10", "10.0.1.11"}, false},
		{"SRV AAAA additional", "_v6app._tcp.marathon.mesos.", dns.TypeSRV, dns.RcodeSuccess,
			srvValues(s, "_v6app._tcp.marathon.mesos."), []string{"2001:db8::2"}, false},
		{"ANY", "web.marathon.mesos.", dns.TypeANY, dns.RcodeSuccess, []string{"10.0.1.10", "10.0.1.11"}, nil, false},
		{"NXDOMAIN", "nope.marathon.mesos.", dns.TypeA, dns.RcodeNameError, nil, nil, true},
		{"NXDOMAIN SRV", "_nope._tcp.marathon.mesos.", dns.TypeSRV, dns.RcodeNameError, nil, nil, true},
		{"NODATA", "web.marathon.mesos.", dns.TypeAAAA, dns.RcodeSuccess, nil, nil, true},
		{"NODATA other type", "web.marathon.mesos.", dns.TypeTXT, dns.RcodeSuccess, nil, nil, true},
		{"empty non-terminal", "_tcp.marathon.mesos.", dns.TypeA, dns.RcodeSuccess, nil, nil, true},
		{"apex A", "mesos.", dns.TypeA, dns.RcodeSuccess, nil, nil, true},
		{"SOA", "mesos.", dns.TypeSOA, dns.RcodeSuccess, []string{"SOA ns1.mesos."}, nil, false},
		{"NS with glue", "mesos.", dns.TypeNS, dns.RcodeSuccess, []string{"NS ns1.mesos."}, []string{"127.0.0.1"}, false},
		{"SOA below apex", "web.marathon.mesos.", dns.TypeSOA, dns.RcodeSuccess, nil, nil, true},
		{"wildcard fragment stripped", "web.*.marathon.mesos.", dns.TypeA, dns.RcodeSuccess, []string{"10.0.1.10", "10.0.1.11"}, nil, false},
		{"AXFR refused", "mesos.", dns.TypeAXFR, dns.RcodeRefused, nil, nil, false},
	}
	for _, tc := range tests {
		for _, network := range []string{"udp", "tcp"} {
			t.Run(tc.name+"/"+network, func(t *testing.T) {
				r := ask(t, s.addr, network, tc.qname, tc.qtype, 0)
				if r.Rcode != tc.rcode {
					t.Fatalf("rcode %s, want %s", dns.RcodeToString[r.Rcode], dns.RcodeToString[tc.rcode])
				}
				if tc.rcode != dns.RcodeRefused && !r.Authoritative {
					t.Error("AA not set")
				}
				if !r.RecursionAvailable {
					t.Error("RA not set (recurseon defaults to true)")
				}
				if got := values(r.Answer); !slices.Equal(got, tc.answer) {
					t.Errorf("answer %v, want %v", got, tc.answer)
				}
				if got := values(r.Extra); !slices.Equal(got, tc.extra) {
					t.Errorf("additional %v, want %v", got, tc.extra)
				}
				for _, rr := range r.Answer {
					if rr.Header().Name != tc.qname {
						t.Errorf("owner %q, want %q", rr.Header().Name, tc.qname)
					}
					if rr.Header().Ttl != DefaultTTL && rr.Header().Rrtype != dns.TypeSOA {
						t.Errorf("TTL %d, want %d", rr.Header().Ttl, DefaultTTL)
					}
				}
				if tc.soa {
					if len(r.Ns) != 1 || r.Ns[0].Header().Rrtype != dns.TypeSOA || r.Ns[0].Header().Name != "mesos." {
						t.Fatalf("authority %v, want the zone's SOA", r.Ns)
					}
				} else if len(r.Ns) != 0 {
					t.Errorf("authority %v, want none", r.Ns)
				}
			})
		}
	}
}

func TestSOAFields(t *testing.T) {
	cfg := testConfig()
	cfg.SOARname = "admin@example.com"
	cfg.SOARefresh, cfg.SOARetry, cfg.SOAExpire, cfg.SOAMinttl = 11, 22, 33, 3
	s := startServer(t, cfg, Options{})
	r := ask(t, s.addr, "udp", "mesos.", dns.TypeSOA, 0)
	if len(r.Answer) != 1 {
		t.Fatalf("answer %v", r.Answer)
	}
	soa := r.Answer[0].(*dns.SOA)
	if soa.Ns != "ns1.mesos." || soa.Mbox != "admin.example.com." || soa.Refresh != 11 || soa.Retry != 22 ||
		soa.Expire != 33 || soa.Minttl != 3 || soa.Hdr.Ttl != DefaultTTL {
		t.Errorf("SOA %v", soa)
	}
	now := uint32(time.Now().Unix())
	if soa.Serial < now-60 || soa.Serial > now+60 {
		t.Errorf("serial %d, want about %d (Unix time of the last change)", soa.Serial, now)
	}
	// A change of the set bumps the serial.
	s.set.SetMasters("master@10.0.0.9:5050", nil)
	r2 := ask(t, s.addr, "udp", "mesos.", dns.TypeSOA, 0)
	if s2 := r2.Answer[0].(*dns.SOA).Serial; s2 <= soa.Serial {
		t.Errorf("serial %d after a change, want > %d", s2, soa.Serial)
	}
	// Negative answers carry the SOA with TTL min(TTL, SOAMinttl).
	nx := ask(t, s.addr, "udp", "nope.mesos.", dns.TypeA, 0)
	if len(nx.Ns) != 1 || nx.Ns[0].Header().Ttl != 3 {
		t.Errorf("negative SOA %v, want TTL 3", nx.Ns)
	}
}

func TestSOAInAuthorityCompat(t *testing.T) {
	cfg := testConfig()
	cfg.SOAInAuthority = true
	s := startServer(t, cfg, Options{})
	for _, qt := range []uint16{dns.TypeSOA, dns.TypeNS} {
		r := ask(t, s.addr, "udp", "web.marathon.mesos.", qt, 0)
		if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 0 || len(r.Ns) != 1 || r.Ns[0].Header().Rrtype != qt ||
			r.Ns[0].Header().Name != "web.marathon.mesos." {
			t.Errorf("%s: %v", dns.TypeToString[qt], r)
		}
	}
}

func TestCaseInsensitive(t *testing.T) {
	s := startServer(t, testConfig(), Options{})
	for _, qname := range []string{"WeB.MaRaThOn.MeSoS.", "WEB.MARATHON.MESOS."} {
		r := ask(t, s.addr, "udp", qname, dns.TypeA, 0)
		if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 2 {
			t.Fatalf("%s: %v", qname, r)
		}
		if r.Question[0].Name != qname {
			t.Errorf("question %q, want %q", r.Question[0].Name, qname)
		}
		for _, rr := range r.Answer {
			if rr.Header().Name != qname {
				t.Errorf("owner %q, want the question's spelling %q", rr.Header().Name, qname)
			}
		}
	}
	r := ask(t, s.addr, "udp", "_WEB._TCP.Marathon.MESOS.", dns.TypeSRV, 0)
	if len(r.Answer) != 2 || len(r.Extra) != 2 {
		t.Errorf("SRV upper case: %v", r)
	}
}

func TestTruncation(t *testing.T) {
	s := startServer(t, testConfig(), Options{})
	const name = "_big._tcp.marathon.mesos."

	udp := ask(t, s.addr, "udp", name, dns.TypeSRV, 0)
	if !udp.Truncated {
		t.Error("UDP without EDNS0: TC not set")
	}
	if n := len(udp.Answer); n == 0 || n >= bigApp {
		t.Errorf("UDP answer has %d records, want some but not all %d", n, bigApp)
	}
	udp.Compress = true
	if b, _ := udp.Pack(); len(b) > dns.MinMsgSize {
		t.Errorf("UDP answer is %d bytes, over 512", len(b))
	}

	tcp := ask(t, s.addr, "tcp", name, dns.TypeSRV, 0)
	if tcp.Truncated || len(tcp.Answer) != bigApp || len(tcp.Extra) != bigApp {
		t.Errorf("TCP: TC=%v, %d answers, %d additional; want all %d", tcp.Truncated, len(tcp.Answer), len(tcp.Extra), bigApp)
	}

	edns := ask(t, s.addr, "udp", name, dns.TypeSRV, 4096)
	if edns.Truncated || len(edns.Answer) != bigApp {
		t.Errorf("UDP with EDNS0 4096: TC=%v, %d answers; want all %d", edns.Truncated, len(edns.Answer), bigApp)
	}
	opt := edns.IsEdns0()
	if opt == nil || opt.UDPSize() != serverUDPSize || opt.Version() != 0 {
		t.Errorf("EDNS0 answer OPT %v", opt)
	}
	if small := ask(t, s.addr, "udp", name, dns.TypeSRV, 1024); !small.Truncated || small.IsEdns0() == nil {
		t.Errorf("UDP with EDNS0 1024: TC=%v OPT=%v, want truncated with OPT", small.Truncated, small.IsEdns0())
	}
	if plain := ask(t, s.addr, "udp", "web.marathon.mesos.", dns.TypeA, 0); plain.IsEdns0() != nil {
		t.Error("answer to a query without EDNS0 has an OPT record")
	}
}

func TestSetTruncateBitOff(t *testing.T) {
	cfg := testConfig()
	cfg.SetTruncateBit = false
	s := startServer(t, cfg, Options{})
	r := ask(t, s.addr, "udp", "_big._tcp.marathon.mesos.", dns.TypeSRV, 0)
	if r.Truncated || len(r.Answer) == 0 || len(r.Answer) >= bigApp {
		t.Errorf("TC=%v with %d answers; want a cut answer without TC", r.Truncated, len(r.Answer))
	}
}

func TestServfailUntilReady(t *testing.T) {
	var ready atomic.Bool
	s := startServer(t, testConfig(), Options{Ready: ready.Load})
	r := ask(t, s.addr, "udp", "web.marathon.mesos.", dns.TypeA, 0)
	if r.Rcode != dns.RcodeServerFailure || len(r.Answer) != 0 || len(r.Ns) != 0 {
		t.Fatalf("before ready: %v", r)
	}
	if ask(t, s.addr, "udp", "nope.marathon.mesos.", dns.TypeA, 0).Rcode != dns.RcodeServerFailure {
		t.Fatal("before ready: unknown name not SERVFAIL")
	}
	ready.Store(true)
	if r := ask(t, s.addr, "udp", "web.marathon.mesos.", dns.TypeA, 0); r.Rcode != dns.RcodeSuccess || len(r.Answer) != 2 {
		t.Fatalf("after ready: %v", r)
	}
	ready.Store(false) // latched: no going back
	if r := ask(t, s.addr, "udp", "web.marathon.mesos.", dns.TypeA, 0); r.Rcode != dns.RcodeSuccess {
		t.Fatalf("after ready went false again: %v", r)
	}
}

func TestSetReady(t *testing.T) {
	s := startServer(t, testConfig(), Options{Ready: func() bool { return false }})
	if r := ask(t, s.addr, "tcp", "leader.mesos.", dns.TypeA, 0); r.Rcode != dns.RcodeServerFailure {
		t.Fatalf("before SetReady: %v", r)
	}
	s.SetReady()
	if r := ask(t, s.addr, "tcp", "leader.mesos.", dns.TypeA, 0); r.Rcode != dns.RcodeSuccess {
		t.Fatalf("after SetReady: %v", r)
	}
}

func TestOddQueries(t *testing.T) {
	s := startServer(t, testConfig(), Options{})
	q := func(mod func(m *dns.Msg)) *dns.Msg {
		m := new(dns.Msg)
		m.SetQuestion("web.marathon.mesos.", dns.TypeA)
		mod(m)
		return m
	}
	tests := []struct {
		name  string
		msg   *dns.Msg
		rcode int
	}{
		{"no question", q(func(m *dns.Msg) { m.Question = nil }), dns.RcodeFormatError},
		{"two questions", q(func(m *dns.Msg) { m.Question = append(m.Question, m.Question[0]) }), dns.RcodeFormatError},
		{"opcode NOTIFY", q(func(m *dns.Msg) { m.Opcode = dns.OpcodeNotify }), dns.RcodeNotImplemented},
		{"opcode STATUS", q(func(m *dns.Msg) { m.Opcode = dns.OpcodeStatus }), dns.RcodeNotImplemented},
		{"class CHAOS", q(func(m *dns.Msg) { m.Question[0].Qclass = dns.ClassCHAOS }), dns.RcodeNotImplemented},
		{"class ANY", q(func(m *dns.Msg) { m.Question[0].Qclass = dns.ClassANY }), dns.RcodeSuccess},
		{"EDNS version 1", q(func(m *dns.Msg) { m.SetEdns0(1232, false); m.IsEdns0().SetVersion(1) }), dns.RcodeBadVers},
		{"two OPT records", q(func(m *dns.Msg) { m.SetEdns0(1232, false); m.Extra = append(m.Extra, m.Extra[0]) }), dns.RcodeFormatError},
		{"qtype OPT", q(func(m *dns.Msg) { m.Question[0].Qtype = dns.TypeOPT }), dns.RcodeFormatError},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := exchange(t, s.addr, "udp", tc.msg)
			if r.Rcode != tc.rcode {
				t.Errorf("rcode %s, want %s", dns.RcodeToString[r.Rcode], dns.RcodeToString[tc.rcode])
			}
			if r.Id != tc.msg.Id {
				t.Errorf("id %d, want %d", r.Id, tc.msg.Id)
			}
		})
	}
}

// TestGarbage sends packets that do not parse, over UDP and TCP: the server must stay up
// and keep answering.
func TestGarbage(t *testing.T) {
	s := startServer(t, testConfig(), Options{})
	junk := [][]byte{
		{},
		{0x01},
		{0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff}, // truncated question
		[]byte(strings.Repeat("\xc0\x0c", 300)),                                        // compression loop
		append([]byte{0, 1, 0, 0, 0xff, 0xff, 0, 0, 0, 0, 0, 0}, make([]byte, 100)...), // 65535 questions
	}
	uc, err := net.Dial("udp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer uc.Close()
	for _, b := range junk {
		if _, err := uc.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	for _, b := range junk {
		tc, err := net.Dial("tcp", s.addr)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = tc.Write(append([]byte{byte(len(b) >> 8), byte(len(b))}, b...))
		_ = tc.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		_, _ = tc.Read(make([]byte, 512)) // a FORMERR or a close, never a hang past the deadline
		tc.Close()
	}
	// A half-sent TCP query is dropped after the read timeout without blocking others.
	half, err := net.Dial("tcp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer half.Close()
	_, _ = half.Write([]byte{0, 40, 1, 2})
	for _, network := range []string{"udp", "tcp"} {
		if r := ask(t, s.addr, network, "web.marathon.mesos.", dns.TypeA, 0); r.Rcode != dns.RcodeSuccess {
			t.Fatalf("%s after garbage: %v", network, r)
		}
	}
}

func TestMetrics(t *testing.T) {
	s := startServer(t, testConfig(), Options{})
	ask(t, s.addr, "udp", "web.marathon.mesos.", dns.TypeA, 0)
	ask(t, s.addr, "udp", "web.marathon.mesos.", dns.TypeA, 0)
	ask(t, s.addr, "udp", "nope.mesos.", dns.TypeAAAA, 0)
	if got := counterValue(t, s.metrics.queries[0][0]); got != 2 {
		t.Errorf("A/NOERROR = %v, want 2", got)
	}
	if got := counterValue(t, s.metrics.queries[1][3]); got != 1 {
		t.Errorf("AAAA/NXDOMAIN = %v, want 1", got)
	}
	mfs, err := s.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]bool{}
	for _, mf := range mfs {
		found[mf.GetName()] = true
		if !strings.HasPrefix(mf.GetName(), "strata_dns_") {
			t.Errorf("metric %s lacks the strata_dns_ prefix", mf.GetName())
		}
		if mf.GetType() == dto.MetricType_COUNTER && !strings.HasSuffix(mf.GetName(), "_total") {
			t.Errorf("counter %s does not end in _total", mf.GetName())
		}
	}
	for _, name := range []string{"strata_dns_queries_total", "strata_dns_forwarded_total",
		"strata_dns_cache_hits_total", "strata_dns_cache_misses_total"} {
		if !found[name] {
			t.Errorf("%s not registered", name)
		}
	}
}

func counterValue(t testing.TB, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

func TestNewErrors(t *testing.T) {
	set := newSet(t, testConfig())
	if _, err := New(testConfig(), nil, Options{}); err == nil {
		t.Error("nil set accepted")
	}
	other := testConfig()
	other.Domain = "cluster.local"
	if _, err := New(other, set, Options{}); err == nil {
		t.Error("domain mismatch accepted")
	}
	bad := testConfig()
	bad.TTL = -1
	if _, err := New(bad, set, Options{}); err == nil {
		t.Error("invalid config accepted")
	}
}

func TestServeStopsOnCancel(t *testing.T) {
	// startServer's cleanup checks that Serve returns nil promptly after cancel.
	s := startServer(t, testConfig(), Options{})
	if s.Addr() == nil || s.Addr().String() != s.addr {
		t.Errorf("Addr() = %v, want %s", s.Addr(), s.addr)
	}
}

// TestEmptyNonTerminalRefresh: a name that becomes an empty non-terminal after a change is
// NODATA once the background rebuild has run.
func TestEmptyNonTerminalRefresh(t *testing.T) {
	s := startServer(t, testConfig(), Options{})
	if r := ask(t, s.addr, "udp", "_tcp.chronos.mesos.", dns.TypeA, 0); r.Rcode != dns.RcodeNameError {
		t.Fatalf("before: %v", r)
	}
	st := testState()
	st.Frameworks = append(st.Frameworks, records.Framework{ID: "fw-1", Name: "chronos", PID: "scheduler@10.0.0.6:4400"})
	st.Tasks = append(st.Tasks, records.Task{ID: "job.1", Name: "job", FrameworkID: "fw-1", AgentID: "agent-S0",
		State: records.TaskRunning, Statuses: []records.Status{running(1)}, Ports: []records.PortRange{{Begin: 31500, End: 31500}}})
	s.set.Replace(st)
	deadline := time.Now().Add(5 * time.Second)
	for {
		r := ask(t, s.addr, "udp", "_tcp.chronos.mesos.", dns.TypeA, 0)
		if r.Rcode == dns.RcodeSuccess && len(r.Answer) == 0 && len(r.Ns) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still %s after the change", dns.RcodeToString[r.Rcode])
		}
		time.Sleep(50 * time.Millisecond)
	}
	if r := ask(t, s.addr, "udp", "_job._tcp.chronos.mesos.", dns.TypeSRV, 0); len(r.Answer) != 1 {
		t.Errorf("new SRV: %v", r)
	}
}

func TestInZone(t *testing.T) {
	s := &Server{zone: "mesos.", zoneSuffix: ".mesos."}
	for name, want := range map[string]bool{
		"mesos.": true, "a.mesos.": true, "a.b.mesos.": true, `a\\.mesos.`: true,
		`a\.mesos.`: false, `a\\\.mesos.`: false, "amesos.": false, "mesos.com.": false, ".": false,
	} {
		if got := s.inZone(name); got != want {
			t.Errorf("inZone(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestSharedRegistry(t *testing.T) {
	reg := prometheus.NewRegistry()
	a := startServer(t, testConfig(), Options{Registerer: reg})
	b := startServer(t, testConfig(), Options{Registerer: reg})
	ask(t, a.addr, "udp", "leader.mesos.", dns.TypeA, 0)
	ask(t, b.addr, "udp", "leader.mesos.", dns.TypeA, 0)
	if got := counterValue(t, a.metrics.queries[0][0]); got != 2 {
		t.Errorf("shared A/NOERROR counter = %v, want 2", got)
	}
}
