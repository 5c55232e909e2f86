package server

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"

	"strata/dns/records"
)

const bigApp = 50 // instances of "big", enough to overflow 512 bytes but not 4096

func running(ts float64) records.Status {
	return records.Status{State: records.TaskRunning, Timestamp: ts}
}

// testState is a small cluster: three agents (one IPv6-only), marathon with "web" (two
// instances), "v6app" (on the IPv6 agent) and "big" (bigApp instances), and three masters.
func testState() *records.State {
	st := &records.State{
		Leader:  "master@10.0.0.1:5050",
		Masters: []string{"10.0.0.1:5050", "10.0.0.2:5050", "10.0.0.3:5050"},
		Agents: []records.Agent{
			{ID: "agent-S0", PID: "slave(1)@10.0.1.10:5051"},
			{ID: "agent-S1", PID: "slave(1)@10.0.1.11:5051"},
			{ID: "agent-S2", PID: "slave(1)@[2001:db8::2]:5051"},
		},
		Frameworks: []records.Framework{{ID: "fw-0", Name: "marathon", PID: "scheduler@10.0.0.5:15101"}},
	}
	add := func(id, name, agent string, port uint64) {
		st.Tasks = append(st.Tasks, records.Task{ID: id, Name: name, FrameworkID: "fw-0", AgentID: agent,
			State: records.TaskRunning, Statuses: []records.Status{running(1)},
			Ports: []records.PortRange{{Begin: port, End: port}}})
	}
	add("web.1", "web", "agent-S0", 31000)
	add("web.2", "web", "agent-S1", 31001)
	add("v6app.1", "v6app", "agent-S2", 31002)
	for i := range bigApp {
		add(fmt.Sprintf("big.%d", i), "big", []string{"agent-S0", "agent-S1"}[i%2], uint64(32000+i))
	}
	return st
}

func testConfig() Config {
	c := DefaultConfig()
	c.Listener = "127.0.0.1"
	c.Port = 0
	c.Resolvers = nil
	c.IPSources = []string{records.SourceNetInfo, records.SourceHost}
	return c
}

// newSet returns a record set for cfg filled with testState.
func newSet(t testing.TB, cfg Config) *records.Set {
	t.Helper()
	cfg, err := cfg.Validate()
	if err != nil {
		t.Fatal(err)
	}
	set, err := records.New(cfg.RecordsConfig())
	if err != nil {
		t.Fatal(err)
	}
	set.Replace(testState())
	return set
}

type testServer struct {
	*Server
	addr string // UDP and TCP
	reg  *prometheus.Registry
}

// startServer starts a server on 127.0.0.1:0; it is ready unless opts.Ready is set.
func startServer(t testing.TB, cfg Config, opts Options) *testServer {
	t.Helper()
	set := newSet(t, cfg)
	reg := prometheus.NewRegistry()
	if opts.Registerer == nil {
		opts.Registerer = reg
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s, err := New(cfg, set, opts)
	if err != nil {
		t.Fatal(err)
	}
	if opts.Ready == nil {
		s.SetReady()
	}
	pc, l, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, pc, l) }()
	for deadline := time.Now().Add(5 * time.Second); s.Addr() == nil; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("Serve did not start")
		}
	}
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Serve did not return after cancel")
		}
	})
	return &testServer{Server: s, addr: pc.LocalAddr().String(), reg: reg}
}

// ask sends one query over network ("udp" or "tcp"); bufsize > 0 adds EDNS0.
func ask(t testing.TB, addr, network, name string, qtype uint16, bufsize uint16) *dns.Msg {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	if bufsize > 0 {
		m.SetEdns0(bufsize, false)
	}
	return exchange(t, addr, network, m)
}

func exchange(t testing.TB, addr, network string, m *dns.Msg) *dns.Msg {
	t.Helper()
	c := &dns.Client{Net: network, Timeout: 5 * time.Second, UDPSize: 65535}
	r, _, err := c.Exchange(m, addr)
	if err != nil {
		t.Fatalf("%s %v %s: %v", network, m.Question, addr, err)
	}
	return r
}

// upstream is a test DNS server that answers A for any name under its zone and counts
// the queries it gets.
type upstream struct {
	addr    string
	queries atomic.Int64
}

// startUpstream serves zone: "www.<zone>" → ip with TTL 300, "big.<zone>" → 100 A records
// (truncated over UDP), anything else NXDOMAIN with an SOA (minimum 60).
func startUpstream(t testing.TB, zone, ip string) *upstream {
	t.Helper()
	u := &upstream{}
	h := dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		u.queries.Add(1)
		m := new(dns.Msg)
		m.SetReply(r)
		m.RecursionAvailable = true
		q := r.Question[0]
		switch dns.CanonicalName(q.Name) {
		case "www." + zone:
			rr, _ := dns.NewRR(fmt.Sprintf("%s 300 IN A %s", q.Name, ip))
			m.Answer = append(m.Answer, rr)
		case "big." + zone:
			for i := range 100 {
				rr, _ := dns.NewRR(fmt.Sprintf("%s 300 IN A 198.51.100.%d", q.Name, i))
				m.Answer = append(m.Answer, rr)
			}
		default:
			m.Rcode = dns.RcodeNameError
			soa, _ := dns.NewRR(fmt.Sprintf("%s 600 IN SOA ns.%s host.%s 1 60 60 600 60", zone, zone, zone))
			m.Ns = append(m.Ns, soa)
		}
		size := dns.MinMsgSize
		if o := r.IsEdns0(); o != nil {
			size = int(o.UDPSize())
		}
		if _, ok := w.RemoteAddr().(*net.TCPAddr); ok {
			size = dns.MaxMsgSize
		}
		m.Truncate(size)
		_ = w.WriteMsg(m)
	})
	u.addr = serveUpstream(t, h)
	return u
}

// fakeWriter is a dns.ResponseWriter that records what is written, for the fuzzer and the
// benchmarks. It packs messages as the real server does.
type fakeWriter struct {
	remote  net.Addr
	msg     *dns.Msg
	packed  []byte
	written int
}

var (
	fakeUDP = &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5353}
	fakeTCP = &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5353}
)

func (w *fakeWriter) LocalAddr() net.Addr  { return &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 53} }
func (w *fakeWriter) RemoteAddr() net.Addr { return w.remote }
func (w *fakeWriter) WriteMsg(m *dns.Msg) error {
	b, err := m.PackBuffer(w.packed[:cap(w.packed)])
	if err != nil {
		return err
	}
	w.packed = b
	w.msg = m
	w.written++
	return nil
}
func (w *fakeWriter) Write(b []byte) (int, error) {
	w.packed = append(w.packed[:0], b...)
	w.msg = nil // unpacked on demand by reply, to keep it out of the benchmarks
	w.written++
	return len(b), nil
}

// reply is the last message written, or nil.
func (w *fakeWriter) reply() *dns.Msg {
	if w.msg == nil && len(w.packed) > 0 {
		m := new(dns.Msg)
		if err := m.Unpack(w.packed); err != nil {
			panic(err)
		}
		w.msg = m
	}
	return w.msg
}

func (w *fakeWriter) Close() error        { return nil }
func (w *fakeWriter) TsigStatus() error   { return nil }
func (w *fakeWriter) TsigTimersOnly(bool) {}
func (w *fakeWriter) Hijack()             {}

// serveUpstream serves h over UDP and TCP on one loopback port until the test ends and
// returns the address.
func serveUpstream(t testing.TB, h dns.Handler) string {
	t.Helper()
	pc, l, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	us := &dns.Server{PacketConn: pc, Handler: h}
	ts := &dns.Server{Listener: l, Handler: h}
	started := make(chan struct{}, 2)
	us.NotifyStartedFunc = func() { started <- struct{}{} }
	ts.NotifyStartedFunc = func() { started <- struct{}{} }
	go func() { _ = us.ActivateAndServe() }()
	go func() { _ = ts.ActivateAndServe() }()
	<-started
	<-started
	t.Cleanup(func() {
		_ = us.Shutdown()
		_ = ts.Shutdown()
	})
	return pc.LocalAddr().String()
}
