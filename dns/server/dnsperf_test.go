package server

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// BenchmarkDNSPerf loads the server with dnsperf over UDP (A hits, SRV hits and NXDOMAIN on the
// 10,000-task set of benchState) beside a trivial miekg/dns server answering one fixed A record,
// both on loopback, measured in the same run with the same dnsperf settings. It reports the
// queries per second of each and their ratio.
func BenchmarkDNSPerf(b *testing.B) {
	dnsperf, err := exec.LookPath("dnsperf")
	if err != nil {
		if os.Getenv("CI") == "true" {
			b.Fatal("dnsperf is not installed (scripts/install-deps.sh installs it)")
		}
		b.Skip("dnsperf is not installed")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv := benchServer(b)
	pc, l, err := Listen("127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go func() { _ = srv.Serve(ctx, pc, l) }()
	addr := pc.LocalAddr().(*net.UDPAddr)

	tpc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	trivial := &dns.Server{PacketConn: tpc, Handler: trivialHandler}
	go func() { _ = trivial.ActivateAndServe() }()
	defer trivial.Shutdown()
	taddr := tpc.LocalAddr().(*net.UDPAddr)

	dir := b.TempDir()
	mix := map[string][]string{
		"A":        {"app-%d.marathon.mesos A", "app-%d.spark.mesos A", "app-%d.kafka.mesos A"},
		"SRV":      {"_app-%d._tcp.marathon.mesos SRV", "_app-%d._tcp.spark.mesos SRV"},
		"NXDOMAIN": {"nothing-%d.marathon.mesos A"},
	}
	files := map[string]string{}
	for kind, forms := range mix {
		var sb strings.Builder
		for i := 0; i < 5000; i++ {
			f := forms[i%len(forms)]
			app := i % 500
			if strings.Contains(f, "marathon") {
				app = app / 5 * 5 // marathon's apps are those with app%5 == 0
			} else if strings.Contains(f, "spark") {
				app = app/5*5 + 2
			} else if strings.Contains(f, "kafka") {
				app = app/5*5 + 3
			}
			fmt.Fprintf(&sb, f+"\n", app)
		}
		files[kind] = filepath.Join(dir, kind+".txt")
		if err := os.WriteFile(files[kind], []byte(sb.String()), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	// A sanity check that the query files hit: every A query of the file resolves.
	for _, name := range []string{"app-0.marathon.mesos.", "app-2.spark.mesos.", "_app-0._tcp.marathon.mesos."} {
		if !srv.set.Exists(name) {
			b.Fatalf("%s does not exist in the bench set", name)
		}
	}
	qps := regexp.MustCompile(`Queries per second:\s+([0-9.]+)`)
	run := func(port int, file string) float64 {
		out, err := exec.Command(dnsperf, "-s", "127.0.0.1", "-p", strconv.Itoa(port), "-d", file,
			"-l", "5", "-c", "4", "-q", "100", "-T", "1").CombinedOutput()
		if err != nil {
			b.Fatalf("dnsperf: %v\n%s", err, out)
		}
		m := qps.FindSubmatch(out)
		if m == nil {
			b.Fatalf("dnsperf output without qps:\n%s", out)
		}
		v, _ := strconv.ParseFloat(string(m[1]), 64)
		return v
	}
	for i := 0; i < b.N; i++ {
		base := run(taddr.Port, files["A"])
		b.ReportMetric(base, "trivial-qps")
		for _, kind := range []string{"A", "SRV", "NXDOMAIN"} {
			v := run(addr.Port, files[kind])
			b.ReportMetric(v, kind+"-qps")
			b.ReportMetric(v/base, kind+"-ratio")
		}
		time.Sleep(100 * time.Millisecond)
	}
}
