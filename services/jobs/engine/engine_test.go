package engine_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"strata/kernel/e2e/cluster"
	"strata/kernel/e2e/stratabin"
	kstore "strata/kernel/store"
	"strata/services/jobs/engine"
	"strata/services/jobs/job"
	"strata/services/jobs/launcher"
	"strata/services/jobs/runs"
	"strata/services/jobs/store"
)

var strataBin string

func TestMain(m *testing.M) {
	code := stratabin.Main(m, &strataBin)
	os.Exit(code)
}

// service is an engine with its launcher, as the jobs service runs them.
type service struct {
	eng    *engine.Engine
	st     *store.Store
	cancel context.CancelFunc
	done   chan struct{}
}

func start(t *testing.T, masterAddr, dir string) *service {
	t.Helper()
	st, err := store.OpenSQLite(filepath.Join(dir, "jobs.db"))
	if err != nil {
		t.Fatal(err)
	}
	return startWith(t, masterAddr, st)
}

// startWith runs the engine and its launcher on st.
func startWith(t *testing.T, masterAddr string, st *store.Store) *service {
	t.Helper()
	s := &service{st: st, done: make(chan struct{})}
	obs := &observer{}
	l, err := launcher.New(launcher.Config{
		Masters: []string{masterAddr}, IDs: st, Observer: obs, Name: "metronome-test",
		Logger: cluster.QuietLogger(), UnfitRefuse: time.Second, DeclineRefuse: time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	s.eng, err = engine.New(engine.Config{Store: st, Launcher: l, RetryDelay: 200 * time.Millisecond, Logger: cluster.QuietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	obs.eng = s.eng
	if err := s.eng.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	go func() {
		defer close(s.done)
		go s.eng.Serve(ctx)
		_ = l.Run(ctx)
	}()
	t.Cleanup(s.stop)
	deadline := time.Now().Add(20 * time.Second)
	for !s.eng.Ready() {
		if time.Now().After(deadline) {
			t.Fatal("engine not ready")
		}
		time.Sleep(20 * time.Millisecond)
	}
	return s
}

func (s *service) stop() {
	if s.cancel != nil {
		s.cancel()
		<-s.done
		s.st.Close()
		s.cancel = nil
	}
}

// observer forwards the launcher's calls to the engine once it exists.
type observer struct{ eng *engine.Engine }

func (o *observer) Launching(ctx context.Context, l launcher.Launched) error {
	return o.eng.Launching(ctx, l)
}
func (o *observer) Update(ctx context.Context, u launcher.Update) error { return o.eng.Update(ctx, u) }
func (o *observer) Unknown(ctx context.Context, u launcher.Update)      { o.eng.Unknown(ctx, u) }

func shellJob(id, cmd string) *job.Job {
	return &job.Job{
		ID: id, Labels: map[string]string{}, CreatedBy: job.CreatedByMetronome,
		Run: job.Run{Cmd: cmd, Shell: true, Cpus: 0.1, Mem: 32, Args: []string{}, Env: map[string]job.EnvValue{},
			Secrets: map[string]job.SecretDef{}, MaxLaunchDelay: 3600},
		Schedules: []job.Schedule{}, Parents: []string{},
	}
}

func everySeconds(id string, n int) job.Schedule {
	return job.Schedule{ID: id, Cron: fmt.Sprintf("*/%d * * * * *", n), Timezone: "UTC",
		StartingDeadlineSeconds: 60, ConcurrencyPolicy: "ALLOW", CatchUp: "RUN_ONCE", Enabled: true}
}

func waitFor(t *testing.T, timeout time.Duration, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func history(t *testing.T, s *service, jobID string) []*runs.Run {
	t.Helper()
	h, err := s.eng.History(context.Background(), jobID)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestRunNowRetriesStopAndDependencies(t *testing.T) {
	master := cluster.Start(t, cluster.Options{Executable: strataBin})
	s := start(t, master, t.TempDir())
	ctx := context.Background()

	// A run started by hand finishes and shows in history with its sandbox.
	if err := s.eng.PutJob(ctx, shellJob("hello", "echo hello from a job"), true); err != nil {
		t.Fatal(err)
	}
	r, err := s.eng.StartRun(ctx, "hello", runs.TriggerManual, nil)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the run to succeed", func() bool { return len(history(t, s, "hello")) == 1 })
	h := history(t, s, "hello")[0]
	if h.ID != r.ID || h.Status != runs.Success || len(h.Tasks) != 1 || h.Tasks[0].Status != "TASK_FINISHED" ||
		h.StartedAt == nil || h.CompletedAt == nil || !strings.Contains(h.Tasks[0].Sandbox, "/files/browse?path=") {
		t.Fatalf("history entry = %+v", h)
	}
	if j, _ := s.eng.Job("hello"); j.SuccessCount != 1 || j.LastSuccess.IsZero() {
		t.Fatalf("counters = %d %v", j.SuccessCount, j.LastSuccess)
	}

	// A failing job with two retries makes three attempts, then fails.
	flaky := shellJob("flaky", "exit 3")
	flaky.Retries = 2
	if err := s.eng.PutJob(ctx, flaky, true); err != nil {
		t.Fatal(err)
	}
	if _, err := s.eng.StartRun(ctx, "flaky", runs.TriggerManual, nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the flaky run to fail", func() bool { return len(history(t, s, "flaky")) == 1 })
	f := history(t, s, "flaky")[0]
	if f.Status != runs.Failed || len(f.Tasks) != 3 || !strings.Contains(f.Reason, "TASK_FAILED") ||
		f.Tasks[2].ExitStatus == nil || *f.Tasks[2].ExitStatus != 3 {
		t.Fatalf("flaky run = %+v", f)
	}

	// Stopping a running run kills its task and fails it.
	if err := s.eng.PutJob(ctx, shellJob("sleeper", "sleep 600"), true); err != nil {
		t.Fatal(err)
	}
	sr, err := s.eng.StartRun(ctx, "sleeper", runs.TriggerManual, nil)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the sleeper to run", func() bool {
		a := s.eng.ActiveRuns("sleeper")
		return len(a) == 1 && a[0].Status == runs.Active
	})
	if err := s.eng.DeleteJob(ctx, "sleeper", false); err == nil {
		t.Fatal("deleting a job with an active run succeeded")
	}
	if err := s.eng.StopRun(ctx, "sleeper", sr.ID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the stopped run to end", func() bool { return len(history(t, s, "sleeper")) == 1 })
	if st := history(t, s, "sleeper")[0]; st.Status != runs.Failed || st.Reason != "stopped by request" ||
		st.Tasks[0].Status != "TASK_KILLED" {
		t.Fatalf("stopped run = %+v", st)
	}

	// A dependent job runs once all of its parents have succeeded.
	for _, id := range []string{"extract", "transform"} {
		if err := s.eng.PutJob(ctx, shellJob(id, "true"), true); err != nil {
			t.Fatal(err)
		}
	}
	load := shellJob("load", "true")
	load.Parents = []string{"extract", "transform"}
	if err := s.eng.PutJob(ctx, load, true); err != nil {
		t.Fatal(err)
	}
	cyc := shellJob("extract", "true")
	cyc.Parents = []string{"load"}
	if err := s.eng.PutJob(ctx, cyc, false); err == nil || !strings.Contains(err.Error(), "extract") {
		t.Fatalf("a cycle was accepted: %v", err)
	}
	if _, err := s.eng.StartRun(ctx, "extract", runs.TriggerManual, nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "extract to succeed", func() bool { return len(history(t, s, "extract")) == 1 })
	time.Sleep(500 * time.Millisecond)
	if n := len(history(t, s, "load")) + len(s.eng.ActiveRuns("load")); n != 0 {
		t.Fatalf("load ran with one parent of two: %d runs", n)
	}
	if _, err := s.eng.StartRun(ctx, "transform", runs.TriggerManual, nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "load to run after both parents", func() bool { return len(history(t, s, "load")) == 1 })
	if l := history(t, s, "load")[0]; l.Status != runs.Success || l.Trigger != "dependency" {
		t.Fatalf("load run = %+v", l)
	}
}

// A schedule fires repeatedly; the service restarted mid-schedule neither
// repeats nor loses a tick: every tick from the first to the last is
// either run or recorded skipped, exactly once.
func TestScheduleAcrossRestart(t *testing.T) {
	master := cluster.Start(t, cluster.Options{Executable: strataBin})
	dir := t.TempDir()
	s := start(t, master, dir)
	ctx := context.Background()
	tick := shellJob("tick", "true")
	tick.Schedules = []job.Schedule{everySeconds("every2", 2)}
	if err := s.eng.PutJob(ctx, tick, true); err != nil {
		t.Fatal(err)
	}
	skipper := shellJob("skipper", "true")
	skipper.Schedules = []job.Schedule{everySeconds("every2", 2)}
	skipper.Schedules[0].CatchUp = "SKIP"
	if err := s.eng.PutJob(ctx, skipper, true); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "three scheduled runs", func() bool { return len(history(t, s, "tick")) >= 3 })
	s.stop()
	down := time.Now()
	time.Sleep(5 * time.Second) // two or three ticks fall due while it is down
	s2 := start(t, master, dir)
	up := time.Now()
	waitFor(t, 30*time.Second, "the skipper to run after the restart", func() bool {
		for _, r := range history(t, s2, "skipper") {
			if r.Status == runs.Success && r.ScheduledAt.After(up) {
				return true
			}
		}
		return false
	})
	for _, r := range history(t, s2, "skipper") {
		if r.ScheduledAt.After(down) && r.ScheduledAt.Before(up.Add(-2*time.Second)) && r.Status != runs.Skipped {
			t.Fatalf("catchUp SKIP ran a tick that fell due while the service was down: %+v", r)
		}
	}
	ranMissed := false
	for _, r := range history(t, s2, "tick") {
		if r.Status == runs.Success && r.ScheduledAt.After(down) && r.ScheduledAt.Before(up.Add(-time.Second)) {
			ranMissed = true
		}
	}
	if !ranMissed {
		t.Fatal("catchUp RUN_ONCE did not run the newest missed tick")
	}
	before := len(history(t, s2, "tick"))
	waitFor(t, 30*time.Second, "more runs after the restart", func() bool { return len(history(t, s2, "tick")) >= before+3 })
	s2.stop()

	st, err := store.OpenSQLite(filepath.Join(dir, "jobs.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	all, err := st.History(ctx, "tick", 0)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[time.Time]string{}
	var ticks []time.Time
	skipped := 0
	for _, r := range all {
		if r.ScheduledAt == nil {
			t.Fatalf("scheduled run without a tick: %+v", r)
		}
		if prev, dup := seen[*r.ScheduledAt]; dup {
			t.Fatalf("tick %v handled twice: %s and %s", r.ScheduledAt, prev, r.ID)
		}
		seen[*r.ScheduledAt] = r.ID
		ticks = append(ticks, *r.ScheduledAt)
		if r.Status == runs.Skipped {
			skipped++
		} else if r.Status != runs.Success {
			t.Fatalf("run %s: %s %s", r.ID, r.Status, r.Reason)
		}
	}
	sort.Slice(ticks, func(a, b int) bool { return ticks[a].Before(ticks[b]) })
	for k := 1; k < len(ticks); k++ {
		if gap := ticks[k].Sub(ticks[k-1]); gap != 2*time.Second {
			t.Fatalf("ticks %v and %v are %v apart: a tick was lost", ticks[k-1], ticks[k], gap)
		}
	}
	t.Logf("%d ticks, %d recorded skipped (RUN_ONCE: only the newest missed tick runs)", len(ticks), skipped)
}

// concurrencyPolicy FORBID records a tick skipped while a run is active; REPLACE stops the
// active run for the new one; a run that cannot be placed fails when its job's maxLaunchDelay
// passes, and a scheduled one when its starting deadline does.
func TestConcurrencyPoliciesAndLaunchDeadlines(t *testing.T) {
	master := cluster.Start(t, cluster.Options{Executable: strataBin})
	s := start(t, master, t.TempDir())
	ctx := context.Background()
	put := func(j *job.Job) {
		t.Helper()
		if err := s.eng.PutJob(ctx, j, true); err != nil {
			t.Fatal(err)
		}
	}
	forbid := shellJob("forbid", "sleep 600")
	forbid.Schedules = []job.Schedule{everySeconds("every2", 2)}
	forbid.Schedules[0].ConcurrencyPolicy = "FORBID"
	put(forbid)
	replace := shellJob("replace", "sleep 600")
	replace.Schedules = []job.Schedule{everySeconds("every2", 2)}
	replace.Schedules[0].ConcurrencyPolicy = "REPLACE"
	put(replace)
	huge := shellJob("huge", "true")
	huge.Run.Cpus = 1000 // no agent offers that much
	huge.Run.MaxLaunchDelay = 1
	put(huge)
	late := shellJob("late", "true")
	late.Run.Cpus = 1000
	late.Schedules = []job.Schedule{everySeconds("every2", 2)}
	late.Schedules[0].StartingDeadlineSeconds = 1
	put(late)
	if _, err := s.eng.StartRun(ctx, "huge", runs.TriggerManual, nil); err != nil {
		t.Fatal(err)
	}

	has := func(jobID string, status runs.Status, reason string) bool {
		for _, r := range history(t, s, jobID) {
			if r.Status == status && strings.Contains(r.Reason, reason) {
				return true
			}
		}
		return false
	}
	waitFor(t, 30*time.Second, "a FORBID tick skipped", func() bool {
		return has("forbid", runs.Skipped, "is still active (concurrencyPolicy FORBID)")
	})
	if n := len(s.eng.ActiveRuns("forbid")); n != 1 {
		t.Fatalf("FORBID: %d active runs, want 1", n)
	}
	waitFor(t, 30*time.Second, "a REPLACE run stopped", func() bool {
		return has("replace", runs.Failed, "(concurrencyPolicy REPLACE)")
	})
	waitFor(t, 30*time.Second, "the unplaceable run to fail", func() bool {
		return has("huge", runs.Failed, "not running within maxLaunchDelay=1s")
	})
	waitFor(t, 30*time.Second, "the late tick to fail", func() bool {
		return has("late", runs.Failed, "not launched within startingDeadlineSeconds=1")
	})
}

// A status update whose write fails (the store is away: PostgreSQL restarting) is not
// acknowledged; the agent sends it again and the retry, once the store is back, ends the run.
// Before, the failed update had already ended the task in memory, so the retry was dropped as
// a duplicate and the run stayed active for ever.
func TestUpdateRetriedAfterStoreFailure(t *testing.T) {
	master := cluster.Start(t, cluster.Options{Executable: strataBin})
	db, err := kstore.OpenSQLiteDB(filepath.Join(t.TempDir(), "jobs.db"))
	if err != nil {
		t.Fatal(err)
	}
	var failing atomic.Bool
	var injected atomic.Int32
	fail := func(tx *gorm.DB) {
		if failing.Load() {
			injected.Add(1)
			_ = tx.AddError(errors.New("injected: the store is away"))
		}
	}
	cb := db.Callback()
	for _, err := range []error{
		cb.Create().Before("gorm:create").Register("test:fail_create", fail),
		cb.Update().Before("gorm:update").Register("test:fail_update", fail),
		cb.Delete().Before("gorm:delete").Register("test:fail_delete", fail),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	st, err := store.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	s := startWith(t, master, st)
	ctx := context.Background()
	if err := s.eng.PutJob(ctx, shellJob("brief", "sleep 1"), true); err != nil {
		t.Fatal(err)
	}
	if _, err := s.eng.StartRun(ctx, "brief", runs.TriggerManual, nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the run to be active", func() bool {
		a := s.eng.ActiveRuns("brief")
		return len(a) == 1 && a[0].Status == runs.Active
	})
	failing.Store(true)
	waitFor(t, 30*time.Second, "the TASK_FINISHED write to fail", func() bool { return injected.Load() > 0 })
	failing.Store(false)
	if a := s.eng.ActiveRuns("brief"); len(a) != 1 || a[0].Tasks[0].Status != "TASK_RUNNING" {
		var tasks []runs.Task
		if len(a) > 0 {
			tasks = a[0].Tasks
		}
		t.Fatalf("after the failed write: %d active runs, tasks %+v; want the run active with its task running", len(a), tasks)
	}
	// The agent retries an unacknowledged update after 10 s.
	waitFor(t, 60*time.Second, "the retried update to end the run", func() bool { return len(history(t, s, "brief")) == 1 })
	if h := history(t, s, "brief")[0]; h.Status != runs.Success || h.Tasks[0].Status != "TASK_FINISHED" {
		t.Fatalf("run = %+v", h)
	}
}
