package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"strata/services/jobs/job"
	"strata/services/jobs/launcher"
	"strata/services/jobs/runs"
	"strata/services/jobs/store"
)

// Launcher runs tasks on the cluster (package launcher).
type Launcher interface {
	Launch(taskID, name string, spec launcher.Spec) error
	Track(taskID, agentID string)
	Kill(taskID string) bool
	Reconciled() bool
}

// Errors the API maps onto status codes.
var (
	ErrNotFound   = errors.New("not found")
	ErrExists     = errors.New("already exists")
	ErrActiveRuns = errors.New("the job has active runs")
	ErrNotReady   = errors.New("the jobs service is not reconciled with the master yet")
)

// Defaults.
const (
	DefaultHistoryCount = 1000
	DefaultRetryDelay   = 10 * time.Second
	maxSkipsPerWake     = 20
)

// Config configures an Engine.
type Config struct {
	Store    *store.Store
	Launcher Launcher
	// HistoryCount bounds the finished runs kept per job (Metronome's
	// metronome.history.count, default 1000).
	HistoryCount int
	// RetryDelay is the wait before a failed task's next attempt
	// (Chronos' --failure_retry; default 10s).
	RetryDelay time.Duration
	// Now is the clock (time.Now by default).
	Now        func() time.Time
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// Engine is the jobs service's core. Create it with New, Load, then Run.
type Engine struct {
	cfg     Config
	log     *slog.Logger
	metrics *metrics

	mu     sync.Mutex
	jobs   map[string]*job.Job
	active map[string]map[string]*runs.Run // job id → run id → run
	// specs holds the decoded job definition of each active run (runJobLocked).
	specs  map[runKey]*job.Job
	ticks  map[store.TickKey]time.Time
	timers *timerHeap
	// manual counts runs started by hand per second, for their ids.
	manual map[string]int
	kickCh chan struct{}
	ready  bool
	// servingSince is when the engine began to fire schedules: ticks before
	// it fell due while the service was away.
	servingSince time.Time
}

// New returns an Engine.
func New(cfg Config) (*Engine, error) {
	if cfg.Store == nil || cfg.Launcher == nil {
		return nil, errors.New("engine: Store and Launcher are required")
	}
	if cfg.HistoryCount <= 0 {
		cfg.HistoryCount = DefaultHistoryCount
	}
	if cfg.RetryDelay <= 0 {
		cfg.RetryDelay = DefaultRetryDelay
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	e := &Engine{
		cfg:    cfg,
		log:    cfg.Logger.With("component", "jobs-engine"),
		jobs:   map[string]*job.Job{},
		active: map[string]map[string]*runs.Run{},
		specs:  map[runKey]*job.Job{},
		ticks:  map[store.TickKey]time.Time{},
		timers: &timerHeap{},
		manual: map[string]int{},
		kickCh: make(chan struct{}, 1),
	}
	e.metrics = newMetrics(e, cfg.Registerer)
	return e, nil
}

func (e *Engine) now() time.Time { return e.cfg.Now().UTC() }

func (e *Engine) kick() {
	select {
	case e.kickCh <- struct{}{}:
	default:
	}
}

// Load reads the jobs, the schedules' last ticks and the active runs from
// the store, and hands the launcher the tasks of the active runs to
// reconcile. Call it before Run.
func (e *Engine) Load(ctx context.Context) error {
	defs, err := e.cfg.Store.Jobs(ctx)
	if err != nil {
		return fmt.Errorf("engine: %w", err)
	}
	ticks, err := e.cfg.Store.LastTicks(ctx)
	if err != nil {
		return fmt.Errorf("engine: %w", err)
	}
	active, err := e.cfg.Store.ActiveRuns(ctx)
	if err != nil {
		return fmt.Errorf("engine: %w", err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for id, def := range defs {
		var j job.Job
		if err := json.Unmarshal(def, &j); err != nil {
			return fmt.Errorf("engine: decode job %s: %w", id, err)
		}
		e.jobs[id] = &j
	}
	e.ticks = ticks
	for _, r := range active {
		e.addActiveLocked(r)
		if t := r.Current(); t != nil && !taskEnded(t.Status) {
			e.cfg.Launcher.Track(t.ID, t.AgentID)
		}
	}
	for id := range e.jobs {
		e.armLocked(id)
	}
	e.log.Info("loaded", "jobs", len(e.jobs), "active_runs", len(active))
	return nil
}

func (e *Engine) addActiveLocked(r *runs.Run) {
	m := e.active[r.JobID]
	if m == nil {
		m = map[string]*runs.Run{}
		e.active[r.JobID] = m
	}
	m[r.ID] = r
}

// runKey names a run.
type runKey struct{ jobID, runID string }

func (e *Engine) removeActiveLocked(r *runs.Run) {
	delete(e.specs, runKey{r.JobID, r.ID})
	if m := e.active[r.JobID]; m != nil {
		delete(m, r.ID)
		if len(m) == 0 {
			delete(e.active, r.JobID)
		}
	}
}

// Ready reports whether the engine fires schedules and launches runs: the
// store is loaded and the launcher reconciled.
func (e *Engine) Ready() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.ready
}

// Job returns a copy of a job.
func (e *Engine) Job(id string) (*job.Job, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	j, ok := e.jobs[id]
	if !ok {
		return nil, false
	}
	return cloneJob(j), true
}

// Jobs returns copies of every job, by id.
func (e *Engine) Jobs() []*job.Job {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]*job.Job, 0, len(e.jobs))
	for _, j := range e.jobs {
		out = append(out, cloneJob(j))
	}
	sort.Slice(out, func(a, b int) bool { return out[a].ID < out[b].ID })
	return out
}

func cloneJob(j *job.Job) *job.Job {
	b, err := json.Marshal(j)
	if err != nil {
		panic(fmt.Sprintf("engine: encode job %s: %v", j.ID, err))
	}
	var out job.Job
	if err := json.Unmarshal(b, &out); err != nil {
		panic(fmt.Sprintf("engine: decode job %s: %v", j.ID, err))
	}
	return &out
}

// PutJob creates (create) or replaces a job. The job must be valid; the
// set of jobs must stay free of dependency cycles. The server-kept
// counters of a replaced job are kept.
func (e *Engine) PutJob(ctx context.Context, j *job.Job, create bool) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	old, exists := e.jobs[j.ID]
	switch {
	case create && exists:
		return fmt.Errorf("engine: job %s: %w", j.ID, ErrExists)
	case !create && !exists:
		return fmt.Errorf("engine: job %s: %w", j.ID, ErrNotFound)
	}
	j = cloneJob(j)
	if exists {
		j.SuccessCount, j.ErrorCount = old.SuccessCount, old.ErrorCount
		j.LastSuccess, j.LastError = old.LastSuccess, old.LastError
		j.ErrorsSinceLastSuccess = old.ErrorsSinceLastSuccess
	}
	all := make(map[string]*job.Job, len(e.jobs)+1)
	for id, x := range e.jobs {
		all[id] = x
	}
	all[j.ID] = j
	if err := job.CheckCycles(all); err != nil {
		return err
	}
	now := e.now()
	// A schedule that is new, or changed, starts from now: it does not
	// fire for ticks before it existed.
	var fresh []store.TickKey
	for _, s := range j.Schedules {
		k := store.TickKey{JobID: j.ID, ScheduleID: s.ID}
		var prev *job.Schedule
		if exists {
			if ps, ok := old.Schedule(s.ID); ok {
				prev = &ps
			}
		}
		if prev == nil || prev.Cron != s.Cron || prev.ISO8601 != s.ISO8601 || prev.Timezone != s.Timezone ||
			(!prev.Enabled && s.Enabled) {
			if s.IsCron() || prev != nil {
				fresh = append(fresh, k)
			}
		}
	}
	if err := e.saveJobLocked(ctx, j); err != nil {
		return err
	}
	for _, k := range fresh {
		if err := e.cfg.Store.SetLastTick(ctx, k, now); err != nil {
			return fmt.Errorf("engine: %w", err)
		}
		e.ticks[k] = now
	}
	if exists {
		for _, s := range old.Schedules {
			if _, ok := j.Schedule(s.ID); !ok {
				delete(e.ticks, store.TickKey{JobID: j.ID, ScheduleID: s.ID})
			}
		}
	}
	e.jobs[j.ID] = j
	e.armLocked(j.ID)
	e.kick()
	return nil
}

func (e *Engine) saveJobLocked(ctx context.Context, j *job.Job) error {
	def, err := json.Marshal(j)
	if err != nil {
		return fmt.Errorf("engine: encode job %s: %w", j.ID, err)
	}
	if err := e.cfg.Store.SaveJob(ctx, j.ID, def); err != nil {
		return fmt.Errorf("engine: %w", err)
	}
	return nil
}

// DeleteJob removes a job and its history. With active runs it fails with
// ErrActiveRuns unless stopRuns, which stops them first.
func (e *Engine) DeleteJob(ctx context.Context, id string, stopRuns bool) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.jobs[id]; !ok {
		return fmt.Errorf("engine: job %s: %w", id, ErrNotFound)
	}
	for _, x := range e.jobs {
		for _, p := range x.Parents {
			if p == id && x.ID != id {
				return fmt.Errorf("engine: job %s is a parent of %s: %w", id, x.ID, ErrDependents)
			}
		}
	}
	if len(e.active[id]) > 0 {
		if !stopRuns {
			return fmt.Errorf("engine: job %s: %w", id, ErrActiveRuns)
		}
		for _, r := range e.active[id] {
			e.stopLocked(r, "the job was deleted")
		}
	}
	if err := e.cfg.Store.DeleteJob(ctx, id); err != nil {
		return fmt.Errorf("engine: %w", err)
	}
	delete(e.jobs, id)
	for _, r := range e.active[id] {
		delete(e.specs, runKey{r.JobID, r.ID})
	}
	delete(e.active, id)
	for k := range e.ticks {
		if k.JobID == id {
			delete(e.ticks, k)
		}
	}
	return nil
}

// ErrDependents refuses to delete a job other jobs depend on.
var ErrDependents = errors.New("other jobs depend on it")

// NextRun is when a schedule fires next, if it does.
func (e *Engine) NextRun(jobID, scheduleID string) (time.Time, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	j := e.jobs[jobID]
	if j == nil {
		return time.Time{}, false
	}
	s, ok := j.Schedule(scheduleID)
	if !ok || !s.Enabled || j.Disabled {
		return time.Time{}, false
	}
	spec, err := parseSchedule(s)
	if err != nil {
		return time.Time{}, false
	}
	from := e.ticks[store.TickKey{JobID: jobID, ScheduleID: scheduleID}]
	if now := e.now(); from.Before(now) {
		from = now
	}
	return spec.Next(from)
}
