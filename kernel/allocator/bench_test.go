package allocator

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"sync"
	"testing"
	"time"
)

// Benchmarks (B1 of the Strata benchmark plan): the pure allocator on
// synthetic clusters. Run on one core:
//
//	GOMAXPROCS=1 go test ./kernel/allocator -run xxx -bench . -benchtime 20x
//
// or briefly (CI): go test ./kernel/allocator -run xxx -bench . -benchtime 1x

var (
	benchAgents     = []int{100, 1000, 10000}
	benchFrameworks = []int{1, 10, 100}
	benchEnvOnce    sync.Once
)

const benchRoles = 4

// benchAgentResources is one synthetic agent: 16 cpus, 64 GiB, 500 GiB,
// ports 31000-32000.
var benchAgentResources = MustParseResources("cpus:16;mem:65536;disk:512000;ports:[31000-32000]")

var benchTask = MustParseResources("cpus:0.1;mem:32")

func logBenchEnv() {
	benchEnvOnce.Do(func() {
		sha := os.Getenv("STRATA_GIT_SHA")
		if bi, ok := debug.ReadBuildInfo(); ok && sha == "" {
			for _, s := range bi.Settings {
				if s.Key == "vcs.revision" {
					sha = s.Value
				}
			}
		}
		if sha == "" {
			sha = "unknown"
		}
		// Printed (not logged) so it shows without -v; the CPU model is in
		// go test's "cpu:" header line.
		fmt.Printf("allocator bench: go=%s GOMAXPROCS=%d NumCPU=%d git=%s agent=%s task=%s\n",
			runtime.Version(), runtime.GOMAXPROCS(0), runtime.NumCPU(), sha, benchAgentResources, benchTask)
	})
}

// benchCluster builds n agents and f frameworks spread over up to four
// roles.
func benchCluster(b *testing.B, n, f int) *Allocator {
	b.Helper()
	a := New(Config{Seed: 42})
	for i := range n {
		if err := a.AddAgent(fmt.Sprintf("agent-%05d", i), fmt.Sprintf("host-%05d", i), benchAgentResources, nil); err != nil {
			b.Fatal(err)
		}
	}
	for i := range f {
		role := fmt.Sprintf("role-%d", i%benchRoles)
		if err := a.AddFramework(fmt.Sprintf("fw-%03d", i), FrameworkInfo{Roles: []string{role}}, true); err != nil {
			b.Fatal(err)
		}
	}
	return a
}

func percentile(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := len(s) * p / 100
	if i >= len(s) {
		i = len(s) - 1
	}
	return s[i]
}

// cycleTimer records per-cycle wall and process CPU time.
type cycleTimer struct {
	wall, cpu []time.Duration
	startW    time.Time
	startC    time.Duration
}

func (t *cycleTimer) start() {
	t.startC = processCPU()
	t.startW = time.Now()
}

func (t *cycleTimer) stop() {
	t.wall = append(t.wall, time.Since(t.startW))
	t.cpu = append(t.cpu, processCPU()-t.startC)
}

// report emits p50/p99 of wall time (p50_ms, p99_ms) and of process CPU
// time (cpu_p50_ms, cpu_p99_ms), and placements per second of allocator
// CPU time (wall time where CPU time is unavailable). On a busy machine the
// CPU figures are the meaningful ones.
func (t *cycleTimer) report(b *testing.B, placements int) {
	var totalW, totalC time.Duration
	for i := range t.wall {
		totalW += t.wall[i]
		totalC += t.cpu[i]
	}
	b.ReportMetric(float64(percentile(t.wall, 50))/1e6, "p50_ms")
	b.ReportMetric(float64(percentile(t.wall, 99))/1e6, "p99_ms")
	total := totalW
	if totalC > 0 {
		b.ReportMetric(float64(percentile(t.cpu, 50))/1e6, "cpu_p50_ms")
		b.ReportMetric(float64(percentile(t.cpu, 99))/1e6, "cpu_p99_ms")
		total = totalC
	}
	if total > 0 {
		b.ReportMetric(float64(placements)/total.Seconds(), "placements/s")
	}
}

// BenchmarkFullCycle measures one allocation pass with every agent free:
// everything is offered (one offer per agent). Offers are recovered
// between iterations, outside the timed region.
func BenchmarkFullCycle(b *testing.B) {
	logBenchEnv()
	for _, n := range benchAgents {
		for _, f := range benchFrameworks {
			b.Run(fmt.Sprintf("agents=%d/frameworks=%d", n, f), func(b *testing.B) {
				benchFullCycle(b, benchCluster(b, n, f), n)
			})
		}
	}
}

// BenchmarkFullCycleReuseOffers is the largest full cycle with
// Config.ReuseOffers, i.e. without allocating the offer slice every pass.
func BenchmarkFullCycleReuseOffers(b *testing.B) {
	logBenchEnv()
	const n, f = 10000, 100
	b.Run(fmt.Sprintf("agents=%d/frameworks=%d", n, f), func(b *testing.B) {
		a := benchCluster(b, n, f)
		a.cfg.ReuseOffers = true
		benchFullCycle(b, a, n)
	})
}

func benchFullCycle(b *testing.B, a *Allocator, n int) {
	now := time.Unix(1_700_000_000, 0)
	a.Allocate(now) // warm up scratch buffers and the sort
	b.StopTimer()
	benchRecoverAll(b, a)
	var ct cycleTimer
	offers := 0
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		b.StartTimer()
		ct.start()
		out := a.Allocate(now)
		ct.stop()
		b.StopTimer()
		if len(out) != n {
			b.Fatalf("offers = %d, want %d", len(out), n)
		}
		offers += len(out)
		benchRecoverAllOffers(b, a, out)
	}
	ct.report(b, offers)
}

func benchRecoverAll(b *testing.B, a *Allocator) {
	b.Helper()
	for _, ag := range a.agents {
		for len(ag.allocs) > 0 {
			al := ag.allocs[0]
			if err := a.RecoverResources(ag.id, al.fw.id, al.role, al.res.Clone(), nil); err != nil {
				b.Fatal(err)
			}
		}
	}
}

func benchRecoverAllOffers(b *testing.B, a *Allocator, offers []Offer) {
	b.Helper()
	for _, o := range offers {
		if err := a.RecoverResources(o.AgentID, o.FrameworkID, o.Role, o.Resources, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAcceptLoop is a realistic offer loop: each framework launches
// up to tasksPerOffer tasks (cpus:0.1;mem:32) from every offer and
// declines the rest with the default 5 s filter; the clock advances one
// allocation interval per cycle. The timed region is the allocator work of
// a cycle: the pass plus the recoveries. placements/s counts tasks.
func BenchmarkAcceptLoop(b *testing.B) {
	logBenchEnv()
	for _, n := range benchAgents {
		for _, f := range benchFrameworks {
			b.Run(fmt.Sprintf("agents=%d/frameworks=%d", n, f), func(b *testing.B) {
				benchAcceptLoop(b, n, f, false)
			})
		}
	}
}

// BenchmarkAcceptLoopReuseOffers is the largest accept loop with
// Config.ReuseOffers.
func BenchmarkAcceptLoopReuseOffers(b *testing.B) {
	logBenchEnv()
	const n, f = 10000, 100
	b.Run(fmt.Sprintf("agents=%d/frameworks=%d", n, f), func(b *testing.B) {
		benchAcceptLoop(b, n, f, true)
	})
}

func benchAcceptLoop(b *testing.B, n, f int, reuse bool) {
	const tasksPerOffer = 10
	now := time.Unix(1_700_000_000, 0)
	newCluster := func() *Allocator {
		a := benchCluster(b, n, f)
		a.cfg.Clock = func() time.Time { return now }
		a.cfg.ReuseOffers = reuse
		return a
	}
	a := newCluster()
	var ct cycleTimer
	placements := 0
	filter := DefaultFilter()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		ct.start()
		offers := a.Allocate(now)
		for _, o := range offers {
			left := o.Resources
			for t := 0; t < tasksPerOffer && left.ContainsAll(benchTask); t++ {
				left.Subtract(benchTask)
				placements++
			}
			if err := a.RecoverResources(o.AgentID, o.FrameworkID, o.Role, left, filter); err != nil {
				b.Fatal(err)
			}
		}
		ct.stop()
		now = now.Add(time.Second)
		if len(offers) == 0 && a.filterCount == 0 { // cluster full: start over
			b.StopTimer()
			a = newCluster()
			b.StartTimer()
		}
	}
	ct.report(b, placements)
}

// BenchmarkEventPass measures the event-driven path: one agent's
// resources come back and a targeted pass re-offers them.
func BenchmarkEventPass(b *testing.B) {
	logBenchEnv()
	for _, n := range benchAgents {
		f := 100
		b.Run(fmt.Sprintf("agents=%d/frameworks=%d", n, f), func(b *testing.B) {
			a := benchCluster(b, n, f)
			now := time.Unix(1_700_000_000, 0)
			offers := a.Allocate(now)
			byAgent := map[string]Offer{}
			for _, o := range offers {
				byAgent[o.AgentID] = o
			}
			var ct cycleTimer
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				o := byAgent[offers[i%len(offers)].AgentID]
				ct.start()
				if err := a.RecoverResources(o.AgentID, o.FrameworkID, o.Role, o.Resources, nil); err != nil {
					b.Fatal(err)
				}
				out := a.AllocateAgents(now, o.AgentID)
				ct.stop()
				if len(out) != 1 {
					b.Fatalf("offers = %d, want 1", len(out))
				}
				byAgent[o.AgentID] = out[0]
			}
			ct.report(b, b.N)
		})
	}
}
