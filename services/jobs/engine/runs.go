package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"strata/kernel/mesos/mesospb"
	"strata/services/jobs/job"
	"strata/services/jobs/launcher"
	"strata/services/jobs/runs"
	"strata/services/jobs/schedule"
	"strata/services/jobs/store"
)

// taskEnded reports whether a task status (TASK_*) is final.
func taskEnded(status string) bool {
	switch status {
	case "TASK_FINISHED", "TASK_FAILED", "TASK_KILLED", "TASK_LOST", "TASK_ERROR", "TASK_DROPPED",
		"TASK_GONE", "TASK_GONE_BY_OPERATOR", "TASK_UNKNOWN":
		return true
	}
	return false
}

// newRun makes a run of j (not yet persisted) with the job's definition of
// now.
func (e *Engine) newRun(j *job.Job, id, trigger string, args []string, now time.Time) *runs.Run {
	spec, err := json.Marshal(j)
	if err != nil {
		panic(fmt.Sprintf("engine: encode job %s: %v", j.ID, err))
	}
	return &runs.Run{
		ID: id, JobID: j.ID, Trigger: trigger, Status: runs.Initial, CreatedAt: now,
		Tasks: []runs.Task{}, Arguments: args, Spec: spec,
	}
}

// runJob is the job definition a run was made with.
func runJob(r *runs.Run) (*job.Job, error) {
	var j job.Job
	if err := json.Unmarshal(r.Spec, &j); err != nil {
		return nil, fmt.Errorf("engine: run %s/%s: decode its job: %w", r.JobID, r.ID, err)
	}
	return &j, nil
}

// runJobLocked is runJob, decoded once per active run: the step loop consults it on every
// pass for every active run.
func (e *Engine) runJobLocked(r *runs.Run) (*job.Job, error) {
	k := runKey{r.JobID, r.ID}
	if j := e.specs[k]; j != nil {
		return j, nil
	}
	j, err := runJob(r)
	if err != nil {
		return nil, err
	}
	e.specs[k] = j
	return j, nil
}

// launchLocked queues the run's next attempt.
func (e *Engine) launchLocked(r *runs.Run) {
	if !e.ready {
		return // Serve launches what is active once reconciled
	}
	j, err := e.runJobLocked(r)
	if err != nil {
		e.failLocked(context.Background(), r, err.Error())
		return
	}
	id := runs.TaskID(r.JobID, r.ID, r.Attempts()+1)
	r.RetryAt = nil
	if err := e.cfg.Launcher.Launch(id, r.JobID, taskSpec(j, r.Arguments)); err != nil {
		e.failLocked(context.Background(), r, "cannot launch: "+err.Error())
	}
}

// resumeLocked continues a run loaded from the store, once reconciled.
func (e *Engine) resumeLocked(ctx context.Context, r *runs.Run) {
	if r.StopReason != "" {
		e.stopLocked(r, r.StopReason)
		return
	}
	t := r.Current()
	if t != nil && !taskEnded(t.Status) {
		return // tracked: its updates decide
	}
	if r.RetryAt == nil {
		e.launchLocked(r)
	}
}

// StartRun starts a run of a job now (Metronome's POST /runs, Chronos'
// PUT /job/{name}). args are appended to the command.
func (e *Engine) StartRun(ctx context.Context, jobID string, trigger string, args []string) (*runs.Run, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	j := e.jobs[jobID]
	if j == nil {
		return nil, fmt.Errorf("engine: job %s: %w", jobID, ErrNotFound)
	}
	now := e.now()
	sec := now.Truncate(time.Second)
	key := jobID + "@" + sec.Format(time.RFC3339)
	for range 100 {
		e.manual[key]++
		r := e.newRun(j, schedule.ManualRunID(jobID, sec, e.manual[key]), trigger, args, now)
		err := e.cfg.Store.CreateRuns(ctx, store.TickKey{}, nil, r)
		if errors.Is(err, store.ErrExists) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("engine: %w", err)
		}
		e.addActiveLocked(r)
		e.launchLocked(r)
		cp := *r
		return &cp, nil
	}
	return nil, fmt.Errorf("engine: no free run id for job %s", jobID)
}

// StopRun stops a run: its task is killed and the run fails.
func (e *Engine) StopRun(ctx context.Context, jobID, runID string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	r := e.active[jobID][runID]
	if r == nil {
		return fmt.Errorf("engine: run %s of job %s: %w", runID, jobID, ErrNotFound)
	}
	e.stopLocked(r, "stopped by request")
	return nil
}

// StopAll stops every active run of a job (Chronos' task kill).
func (e *Engine) StopAll(ctx context.Context, jobID string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.jobs[jobID] == nil {
		return fmt.Errorf("engine: job %s: %w", jobID, ErrNotFound)
	}
	for _, r := range e.active[jobID] {
		e.stopLocked(r, "killed by request")
	}
	return nil
}

func (e *Engine) stopLocked(r *runs.Run, reason string) {
	ctx := context.Background()
	if r.StopReason == "" {
		r.StopReason = reason
		if err := e.cfg.Store.SaveRun(ctx, r); err != nil {
			e.log.Error("saving a stop", "job", r.JobID, "run", r.ID, "err", err)
		}
	}
	// A queued attempt is dropped at once; a launched one ends with its
	// task's terminal update.
	if e.cfg.Launcher.Kill(runs.TaskID(r.JobID, r.ID, r.Attempts()+1)) {
		return
	}
	if t := r.Current(); t != nil && !taskEnded(t.Status) && e.cfg.Launcher.Kill(t.ID) {
		return
	}
	e.finishLocked(ctx, r, runs.Failed, r.StopReason)
}

// ActiveRuns returns copies of a job's active runs, oldest first.
func (e *Engine) ActiveRuns(jobID string) []*runs.Run {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.activeLocked(jobID)
}

func (e *Engine) activeLocked(jobID string) []*runs.Run {
	out := make([]*runs.Run, 0, len(e.active[jobID]))
	for _, r := range e.active[jobID] {
		cp := *r
		cp.Tasks = append([]runs.Task(nil), r.Tasks...)
		out = append(out, &cp)
	}
	sort.Slice(out, func(a, b int) bool { return out[a].CreatedAt.Before(out[b].CreatedAt) })
	return out
}

// Run returns one run, active or finished.
func (e *Engine) Run(ctx context.Context, jobID, runID string) (*runs.Run, error) {
	e.mu.Lock()
	if r := e.active[jobID][runID]; r != nil {
		cp := *r
		cp.Tasks = append([]runs.Task(nil), r.Tasks...)
		e.mu.Unlock()
		return &cp, nil
	}
	e.mu.Unlock()
	r, err := e.cfg.Store.Run(ctx, jobID, runID)
	if err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	if r == nil {
		return nil, fmt.Errorf("engine: run %s of job %s: %w", runID, jobID, ErrNotFound)
	}
	return r, nil
}

// History returns a job's finished runs (skipped ticks included), newest
// first.
func (e *Engine) History(ctx context.Context, jobID string) ([]*runs.Run, error) {
	list, err := e.cfg.Store.History(ctx, jobID, e.cfg.HistoryCount)
	if err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	return list, nil
}

// runOfTaskLocked finds the active run a task belongs to.
func (e *Engine) runOfTaskLocked(taskID string) (*runs.Run, int) {
	jobID, runID, attempt, err := runs.ParseTaskID(taskID)
	if err != nil {
		return nil, 0
	}
	return e.active[jobID][runID], attempt
}

// Launching records an attempt about to be launched (launcher.Observer).
func (e *Engine) Launching(ctx context.Context, l launcher.Launched) error {
	ctx = context.WithoutCancel(ctx)
	e.mu.Lock()
	defer e.mu.Unlock()
	r, attempt := e.runOfTaskLocked(l.TaskID)
	if r == nil || attempt != r.Attempts()+1 || r.StopReason != "" {
		return fmt.Errorf("engine: task %s belongs to no waiting run", l.TaskID)
	}
	r.Tasks = append(r.Tasks, runs.Task{
		ID: l.TaskID, Status: mesospb.TaskState_TASK_STAGING.String(), AgentID: l.AgentID, Host: l.Hostname,
		Sandbox: l.Sandbox,
	})
	r.Status = runs.Starting
	if err := e.cfg.Store.SaveRun(ctx, r); err != nil {
		r.Tasks = r.Tasks[:len(r.Tasks)-1]
		return fmt.Errorf("engine: %w", err)
	}
	return nil
}

// Unknown hears of a task no run tracks (launcher.Observer).
func (e *Engine) Unknown(ctx context.Context, u launcher.Update) {
	e.log.Info("update of a task no run tracks", "task", u.TaskID, "state", u.State.String())
}

// Update moves a run on with its task's status (launcher.Observer).
func (e *Engine) Update(ctx context.Context, u launcher.Update) error {
	ctx = context.WithoutCancel(ctx)
	e.mu.Lock()
	defer e.mu.Unlock()
	r, _ := e.runOfTaskLocked(u.TaskID)
	if r == nil {
		return nil
	}
	var t *runs.Task
	for k := range r.Tasks {
		if r.Tasks[k].ID == u.TaskID {
			t = &r.Tasks[k]
		}
	}
	if t == nil || taskEnded(t.Status) {
		return nil
	}
	// Until the store holds the change, the run stays as it was: a failed write returns an
	// error, the update is not acknowledged, and the agent's retry of it must find the task
	// still live (not already ended in memory, which would drop the retry and leave the run
	// active for ever).
	prev := *r
	prev.Tasks = slices.Clone(r.Tasks)
	if err := e.applyUpdateLocked(ctx, r, t, u); err != nil {
		*r = prev
		return err
	}
	return nil
}

// applyUpdateLocked applies u to t, a live task of r, and stores the outcome.
func (e *Engine) applyUpdateLocked(ctx context.Context, r *runs.Run, t *runs.Task, u launcher.Update) error {
	at := u.At.UTC()
	t.Status, t.Message, t.Reason = u.State.String(), u.Message, u.Reason
	if code, ok := runs.ExitStatusOf(u.Message); ok {
		t.ExitStatus = &code
	}
	if u.AgentID != "" {
		t.AgentID = u.AgentID
	}
	switch {
	case u.State == mesospb.TaskState_TASK_RUNNING:
		if t.StartedAt == nil {
			t.StartedAt = &at
		}
		if r.StartedAt == nil {
			r.StartedAt = &at
		}
		r.Status = runs.Active
	case u.State == mesospb.TaskState_TASK_FINISHED:
		t.CompletedAt = &at
		if r.StopReason != "" {
			return e.finishLocked(ctx, r, runs.Failed, r.StopReason)
		}
		return e.finishLocked(ctx, r, runs.Success, "")
	case taskEnded(t.Status):
		t.CompletedAt = &at
		reason := fmt.Sprintf("task %s %s", t.ID, t.Status)
		if u.Message != "" {
			reason += ": " + u.Message
		}
		if r.StopReason != "" {
			return e.finishLocked(ctx, r, runs.Failed, r.StopReason)
		}
		if e.mayRetryLocked(r, at) {
			next := at.Add(e.cfg.RetryDelay)
			r.RetryAt = &next
			r.Status = runs.Starting
			e.log.Info("run attempt failed; retrying", "job", r.JobID, "run", r.ID, "attempt", r.Attempts(), "at", next, "reason", reason)
			e.kick()
			break
		}
		return e.finishLocked(ctx, r, runs.Failed, reason)
	}
	if err := e.cfg.Store.SaveRun(ctx, r); err != nil {
		return fmt.Errorf("engine: %w", err)
	}
	return nil
}

// mayRetryLocked says whether a failed attempt is followed by another:
// Chronos' retries, or Metronome's ON_FAILURE within activeDeadlineSeconds.
func (e *Engine) mayRetryLocked(r *runs.Run, now time.Time) bool {
	j, err := e.runJobLocked(r)
	if err != nil {
		return false
	}
	switch {
	case j.Retries == job.RetryUntilDeadline:
		d := j.Run.ActiveDeadlineSeconds
		return d == nil || now.Before(r.CreatedAt.Add(time.Duration(*d)*time.Second))
	default:
		return r.Attempts() <= j.Retries
	}
}

// failLocked ends a run as failed.
func (e *Engine) failLocked(ctx context.Context, r *runs.Run, reason string) {
	if err := e.finishLocked(ctx, r, runs.Failed, reason); err != nil {
		e.log.Error("saving a failed run", "job", r.JobID, "run", r.ID, "err", err)
	}
}

// finishLocked ends a run, updates its job's counters, prunes the job's
// history and, on success, triggers the jobs that depend on it.
func (e *Engine) finishLocked(ctx context.Context, r *runs.Run, status runs.Status, reason string) error {
	// The run's end and the counters it moves land together, even when the
	// caller's context ends meanwhile (a shutdown).
	ctx = context.WithoutCancel(ctx)
	now := e.now()
	prev := *r
	r.Finish(status, reason, now)
	j := e.jobs[r.JobID]
	var def []byte
	var counted job.Job
	if j != nil {
		counted = *j
		if status == runs.Success {
			counted.SuccessCount++
			counted.LastSuccess = now
			counted.ErrorsSinceLastSuccess = 0
		} else if status == runs.Failed {
			counted.ErrorCount++
			counted.LastError = now
			counted.ErrorsSinceLastSuccess++
		}
		var err error
		if def, err = json.Marshal(&counted); err != nil {
			*r = prev
			return fmt.Errorf("engine: encode job %s: %w", j.ID, err)
		}
	}
	if err := e.cfg.Store.FinishRun(ctx, r, def); err != nil {
		*r = prev
		return fmt.Errorf("engine: %w", err)
	}
	e.removeActiveLocked(r)
	e.metrics.finished.WithLabelValues(string(status)).Inc()
	e.log.Info("run finished", "job", r.JobID, "run", r.ID, "status", status, "reason", reason)
	if j == nil {
		return nil
	}
	*j = counted
	if err := e.cfg.Store.PruneHistory(ctx, j.ID, e.cfg.HistoryCount); err != nil {
		e.log.Warn("pruning history", "job", j.ID, "err", err)
	}
	if status == runs.Success || (status == runs.Failed && j.ChronosOptions.SoftError) {
		e.triggerDependentsLocked(ctx, j.ID, now)
	}
	return nil
}

// MarkSuccess records a success of a job without a run (Chronos' PUT
// /job/success/{name}) and triggers its dependents.
func (e *Engine) MarkSuccess(ctx context.Context, jobID string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	j := e.jobs[jobID]
	if j == nil {
		return fmt.Errorf("engine: job %s: %w", jobID, ErrNotFound)
	}
	now := e.now()
	j.SuccessCount++
	j.LastSuccess = now
	j.ErrorsSinceLastSuccess = 0
	if err := e.saveJobLocked(ctx, j); err != nil {
		return err
	}
	e.triggerDependentsLocked(ctx, jobID, now)
	return nil
}

// parentsKey is the pseudo-schedule under which a dependent job's last
// trigger is kept.
const parentsKey = "_parents"

// triggerDependentsLocked starts a run of every job that depends on parent
// and whose parents have all succeeded since its last dependency run. The
// run's id derives from the newest parent success, so the same successes
// never trigger twice.
func (e *Engine) triggerDependentsLocked(ctx context.Context, parent string, now time.Time) {
	for _, c := range e.jobs {
		if c.Disabled || !containsString(c.Parents, parent) {
			continue
		}
		k := store.TickKey{JobID: c.ID, ScheduleID: parentsKey}
		last := e.ticks[k]
		var newest time.Time
		ready := true
		for _, p := range c.Parents {
			pj := e.jobs[p]
			if pj == nil || pj.LastSuccess.IsZero() || !pj.LastSuccess.After(last) {
				ready = false
				break
			}
			if pj.LastSuccess.After(newest) {
				newest = pj.LastSuccess
			}
		}
		if !ready {
			continue
		}
		newest = newest.UTC()
		r := e.newRun(c, schedule.RunID(c.ID, newest), "dependency", nil, now)
		r.ScheduledAt = &newest
		if err := e.cfg.Store.CreateRuns(ctx, k, &newest, r); err != nil {
			if !errors.Is(err, store.ErrExists) {
				e.log.Error("recording a dependency run", "job", c.ID, "err", err)
				continue
			}
		} else {
			e.addActiveLocked(r)
			e.launchLocked(r)
			e.log.Info("dependency run", "job", c.ID, "parents", strings.Join(c.Parents, ","), "run", r.ID)
		}
		e.ticks[k] = newest
	}
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// driveRunsLocked launches due retries, fails runs that could not start
// within their starting deadline and stops runs past Chronos'
// maxCompletionTime. It returns when it needs to look again (zero: not
// before something happens).
func (e *Engine) driveRunsLocked(ctx context.Context, now time.Time) time.Time {
	if !e.ready {
		return time.Time{}
	}
	var wake time.Time
	soon := func(t time.Time) {
		if wake.IsZero() || t.Before(wake) {
			wake = t
		}
	}
	for _, m := range e.active {
		for _, r := range m {
			if r.StopReason != "" {
				continue
			}
			if r.RetryAt != nil {
				if !r.RetryAt.After(now) {
					e.launchLocked(r)
				} else {
					soon(*r.RetryAt)
				}
				continue
			}
			j, err := e.runJobLocked(r)
			if err != nil {
				continue
			}
			if r.StartedAt == nil && j.Run.MaxLaunchDelay > 0 {
				limit := r.CreatedAt.Add(time.Duration(j.Run.MaxLaunchDelay) * time.Second)
				if !now.Before(limit) {
					e.stopLocked(r, fmt.Sprintf("not running within maxLaunchDelay=%ds of its creation", j.Run.MaxLaunchDelay))
					continue
				}
				soon(limit)
			}
			if r.StartedAt == nil && r.ScheduledAt != nil && r.ScheduleID != "" {
				if s, ok := j.Schedule(r.ScheduleID); ok && s.StartingDeadlineSeconds > 0 {
					limit := r.ScheduledAt.Add(time.Duration(s.StartingDeadlineSeconds) * time.Second)
					if !now.Before(limit) && r.Attempts() == 0 {
						e.stopLocked(r, fmt.Sprintf("not launched within startingDeadlineSeconds=%d of its tick", s.StartingDeadlineSeconds))
						continue
					}
					soon(limit)
				}
			}
			if mc := j.ChronosOptions.MaxCompletionTime; mc > 0 && r.StartedAt != nil {
				limit := r.StartedAt.Add(time.Duration(mc) * time.Millisecond)
				if !now.Before(limit) {
					e.stopLocked(r, fmt.Sprintf("exceeded maxCompletionTime=%dms", mc))
					continue
				}
				soon(limit)
			}
		}
	}
	return wake
}
