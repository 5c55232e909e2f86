package engine_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"syscall"
	"testing"
	"time"

	"strata/kernel/e2e/cluster"
	"strata/services/jobs/engine"
	"strata/services/jobs/job"
	"strata/services/jobs/launcher"
	"strata/services/jobs/store"
)

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkSchedule10kJobs: 10,000 jobs, each with a schedule firing every ten minutes at its
// own second of the ten (job i at minute (i/60) mod 10 and second i mod 60 of every ten minutes:
// about 17 ticks a second), on an in-process master with 100 simulated agents (tasks RUNNING at
// once). Over 65 seconds about 1,100 of them fire; it reports the lateness of run creation (tick → run persisted and queued) and of run
// start (tick → TASK_RUNNING) at p50 and p99, and the process's CPU use during the window beside
// the same process idle for as long before the jobs exist (the master and the simulated agents
// alone): the difference is the jobs service's.
func BenchmarkSchedule10kJobs(b *testing.B) {
	const jobs = 10000
	master, _ := cluster.StartSimulated(b, 100)
	st, err := store.OpenSQLite(filepath.Join(b.TempDir(), "jobs.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	obs := &observer{}
	l, err := launcher.New(launcher.Config{Masters: []string{master}, IDs: st, Observer: obs, Name: "metronome-bench",
		Logger: cluster.QuietLogger()})
	if err != nil {
		b.Fatal(err)
	}
	eng, err := engine.New(engine.Config{Store: st, Launcher: l, Logger: cluster.QuietLogger()})
	if err != nil {
		b.Fatal(err)
	}
	obs.eng = eng
	if err := eng.Load(context.Background()); err != nil {
		b.Fatal(err)
	}
	const window = 65 * time.Second
	idleStart, idleCPU := time.Now(), cpuTime()
	time.Sleep(10 * time.Second)
	idleRate := float64(cpuTime()-idleCPU) / float64(time.Since(idleStart))

	setup := time.Now()
	for i := 0; i < jobs; i++ {
		j := shellJob(fmt.Sprintf("job-%05d", i), "true")
		j.Schedules = []job.Schedule{{ID: "s", Cron: fmt.Sprintf("%d %d/10 * * * *", i%60, (i/60)%10), Timezone: "UTC",
			StartingDeadlineSeconds: 900, ConcurrencyPolicy: "ALLOW", CatchUp: "RUN_ONCE", Enabled: true}}
		if err := eng.PutJob(context.Background(), j, true); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(time.Since(setup).Seconds(), "create-10k-s")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go eng.Serve(ctx)
	go func() { _ = l.Run(ctx) }()
	for !eng.Ready() {
		time.Sleep(20 * time.Millisecond)
	}

	b.ResetTimer()
	winStart, winCPU := time.Now(), cpuTime()
	time.Sleep(window)
	busyRate := float64(cpuTime()-winCPU) / float64(time.Since(winStart))
	b.StopTimer()

	var created, started []time.Duration
	runsSeen := 0
	for i := 0; i < jobs; i++ {
		for _, r := range eng.ActiveRuns(fmt.Sprintf("job-%05d", i)) {
			// Ticks that fell due while the jobs were being created run at once when
			// the engine starts (catch-up): only the ticks of the window count.
			if r.ScheduledAt == nil || r.ScheduledAt.Before(winStart) {
				continue
			}
			runsSeen++
			created = append(created, r.CreatedAt.Sub(*r.ScheduledAt))
			if r.StartedAt != nil {
				started = append(started, r.StartedAt.Sub(*r.ScheduledAt))
			}
		}
	}
	if want := int((window - time.Second).Seconds() * jobs / 600 * 0.9); runsSeen < want {
		b.Fatalf("only %d runs in %v for %d jobs, want about %d", runsSeen, window, jobs, want*10/9)
	}
	q := func(d []time.Duration, p float64) float64 {
		sort.Slice(d, func(a, b int) bool { return d[a] < d[b] })
		return float64(d[int(p*float64(len(d)-1))]) / 1e6
	}
	b.ReportMetric(float64(runsSeen), "runs")
	b.ReportMetric(q(created, 0.5), "created-p50-ms")
	b.ReportMetric(q(created, 0.99), "created-p99-ms")
	b.ReportMetric(q(started, 0.5), "started-p50-ms")
	b.ReportMetric(q(started, 0.99), "started-p99-ms")
	b.ReportMetric(float64(len(started)), "started")
	b.ReportMetric(busyRate*100, "cpu-%-window")
	b.ReportMetric(idleRate*100, "cpu-%-idle-baseline")
	b.ReportMetric((busyRate-idleRate)*100, "cpu-%-jobs")
}
