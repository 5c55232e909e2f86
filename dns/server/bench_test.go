package server

import (
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"testing"

	"github.com/miekg/dns"

	"strata/dns/records"
)

// benchState is the benchmark cluster of dns/records' benchmarks: 100 agents, 5 frameworks
// and 10,000 running tasks of 500 apps (20 instances each, spread over the frameworks), each
// task with 2 host ports, every fifth app with a named DiscoveryInfo port, every third task
// with a container IP.
func benchState() *records.State {
	st := &records.State{Leader: "master@10.0.0.1:5050", Masters: []string{"10.0.0.1:5050", "10.0.0.2:5050", "10.0.0.3:5050"}}
	for i := range 100 {
		st.Agents = append(st.Agents, records.Agent{ID: fmt.Sprintf("0b1c2d3e-0000-4000-8000-00000000abcd-S%d", i),
			PID: fmt.Sprintf("slave(1)@10.1.%d.%d:5051", i/250, i%250+1)})
	}
	for i, n := range []string{"marathon", "metronome", "spark", "kafka", "cassandra"} {
		st.Frameworks = append(st.Frameworks, records.Framework{ID: fmt.Sprint("fw-", i), Name: n, Hostname: fmt.Sprint("10.0.0.", 10+i)})
	}
	for i := range 10000 {
		app := i % 500
		t := records.Task{
			ID: fmt.Sprintf("app-%d.%08x-0b0a-11ef-9a3c-0242ac110002", app, i), Name: fmt.Sprint("app-", app),
			FrameworkID: fmt.Sprint("fw-", app%5), AgentID: st.Agents[i%100].ID, State: records.TaskRunning,
			Statuses: []records.Status{running(float64(i))},
			Ports:    []records.PortRange{{Begin: uint64(31000 + i%1000), End: uint64(31001 + i%1000)}},
		}
		if i%3 == 0 {
			t.Statuses[0].ContainerStatus.NetworkInfos = []records.NetworkInfo{{IPAddresses: []records.IPAddress{{IPAddress: fmt.Sprintf("172.16.%d.%d", i/250, i%250)}}}}
		}
		if app%5 == 0 {
			t.Discovery = &records.DiscoveryInfo{Name: t.Name, Ports: []records.DiscoveryPort{{Number: 8080, Name: "http", Protocol: "tcp"}}}
		}
		st.Tasks = append(st.Tasks, t)
	}
	return st
}

var (
	benchOnce sync.Once
	benchSrv  *Server
)

func benchServer(b *testing.B) *Server {
	benchOnce.Do(func() {
		cfg := testConfig()
		cfg.ExternalOn = false
		set, err := records.New(cfg.RecordsConfig())
		if err != nil {
			b.Fatal(err)
		}
		set.Replace(benchState())
		s, err := New(cfg, set, Options{Logger: slog.New(slog.DiscardHandler),
			NameserverIPs: []netip.Addr{netip.MustParseAddr("127.0.0.1")}})
		if err != nil {
			b.Fatal(err)
		}
		s.SetReady()
		benchSrv = s
	})
	return benchSrv
}

// trivialHandler is the baseline: a miekg/dns handler answering one fixed A record.
var trivialHandler = dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(r)
	m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: r.Question[0].Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 5},
		A: net.IPv4(10, 0, 0, 1).To4()})
	_ = w.WriteMsg(m)
})

func benchQuery(name string, qtype uint16, bufsize uint16) *dns.Msg {
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	if bufsize > 0 {
		m.SetEdns0(bufsize, false)
	}
	return m
}

func runHandler(b *testing.B, h dns.Handler, r *dns.Msg, check func(*dns.Msg)) {
	w := &fakeWriter{remote: fakeUDP, packed: make([]byte, 0, dns.MaxMsgSize)}
	h.ServeDNS(w, r)
	if check != nil {
		check(w.reply())
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		h.ServeDNS(w, r)
	}
}

func expect(b *testing.B, rcode, answers int) func(*dns.Msg) {
	return func(m *dns.Msg) {
		if m.Rcode != rcode || len(m.Answer) != answers {
			b.Fatalf("rcode %s with %d answers, want %s with %d", dns.RcodeToString[m.Rcode], len(m.Answer), dns.RcodeToString[rcode], answers)
		}
	}
}

// BenchmarkTrivialA is the baseline: the fixed-answer handler, through the same fake writer
// (which packs the reply, as the real server does). Ratios: ns/op of a BenchmarkServe* over
// ns/op of this one, from the same run.
func BenchmarkTrivialA(b *testing.B) {
	runHandler(b, trivialHandler, benchQuery("web.marathon.mesos.", dns.TypeA, 0), nil)
}

// BenchmarkServeA: an app name with 20 instances (8 distinct IPs: the container IPs of
// every third task, the others share their agent's), no EDNS0.
func BenchmarkServeA(b *testing.B) {
	s := benchServer(b)
	runHandler(b, s, benchQuery("app-7.spark.mesos.", dns.TypeA, 0), expect(b, dns.RcodeSuccess, len(s.set.A("app-7.spark.mesos."))))
}

// BenchmarkServeATask: a canonical task name, one A record.
func BenchmarkServeATask(b *testing.B) {
	s := benchServer(b)
	name := s.set.SRV("_app-7._tcp.spark.slave.mesos.")[0].Target
	runHandler(b, s, benchQuery(name, dns.TypeA, 0), expect(b, dns.RcodeSuccess, 1))
}

// BenchmarkServeSRV: an app's SRV set with EDNS0 4096: 40 SRV records (20 tasks, 2 ports)
// and 20 additional A records.
func BenchmarkServeSRV(b *testing.B) {
	s := benchServer(b)
	runHandler(b, s, benchQuery("_app-7._tcp.spark.mesos.", dns.TypeSRV, 4096), expect(b, dns.RcodeSuccess, 40))
}

// BenchmarkServeSRVTruncated: the same SRV set without EDNS0, truncated to 512 bytes.
func BenchmarkServeSRVTruncated(b *testing.B) {
	s := benchServer(b)
	r := benchQuery("_app-7._tcp.spark.mesos.", dns.TypeSRV, 0)
	w := &fakeWriter{remote: fakeUDP}
	s.ServeDNS(w, r)
	if !w.reply().Truncated {
		b.Fatal("not truncated")
	}
	runHandler(b, s, r, nil)
}

// BenchmarkServeNXDOMAIN: a name that does not exist, answered with the SOA.
func BenchmarkServeNXDOMAIN(b *testing.B) {
	s := benchServer(b)
	runHandler(b, s, benchQuery("nope.spark.mesos.", dns.TypeA, 0), expect(b, dns.RcodeNameError, 0))
}

// BenchmarkServeAParallel: BenchmarkServeA from GOMAXPROCS goroutines.
func BenchmarkServeAParallel(b *testing.B) {
	s := benchServer(b)
	r := benchQuery("app-7.spark.mesos.", dns.TypeA, 0)
	b.ReportAllocs()
	b.ReportMetric(float64(runtime.GOMAXPROCS(0)), "procs")
	b.RunParallel(func(pb *testing.PB) {
		w := &fakeWriter{remote: fakeUDP, packed: make([]byte, 0, dns.MaxMsgSize)}
		for pb.Next() {
			s.ServeDNS(w, r)
		}
	})
}
