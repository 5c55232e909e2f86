package engine

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"time"

	"strata/services/jobs/job"
	"strata/services/jobs/runs"
	"strata/services/jobs/schedule"
	"strata/services/jobs/store"
)

// timer is when a schedule is due next. gen ties it to the job version it
// was armed for: a stale timer is dropped when it pops.
type timer struct {
	at         time.Time
	jobID, sID string
	gen        uint64
}

type timerHeap struct {
	items []timer
	gens  map[string]uint64
}

func (h *timerHeap) Len() int           { return len(h.items) }
func (h *timerHeap) Less(a, b int) bool { return h.items[a].at.Before(h.items[b].at) }
func (h *timerHeap) Swap(a, b int)      { h.items[a], h.items[b] = h.items[b], h.items[a] }
func (h *timerHeap) Push(x any)         { h.items = append(h.items, x.(timer)) }
func (h *timerHeap) Pop() any {
	x := h.items[len(h.items)-1]
	h.items = h.items[:len(h.items)-1]
	return x
}

// parseSchedule compiles a schedule.
func parseSchedule(s job.Schedule) (schedule.Spec, error) {
	if s.IsCron() {
		return schedule.ParseCron(job.NormalizeCron(s.Cron), s.Timezone)
	}
	return schedule.ParseISO8601(s.ISO8601, s.Timezone)
}

// armLocked (re)computes the timers of a job's schedules.
func (e *Engine) armLocked(jobID string) {
	if e.timers.gens == nil {
		e.timers.gens = map[string]uint64{}
	}
	e.timers.gens[jobID]++
	gen := e.timers.gens[jobID]
	j := e.jobs[jobID]
	if j == nil || j.Disabled {
		return
	}
	for _, s := range j.Schedules {
		if !s.Enabled {
			continue
		}
		spec, err := parseSchedule(s)
		if err != nil {
			e.log.Error("a stored schedule does not parse; it never fires", "job", jobID, "schedule", s.ID, "err", err)
			continue
		}
		last := e.ticks[store.TickKey{JobID: jobID, ScheduleID: s.ID}]
		var at time.Time
		var ok bool
		if last.IsZero() {
			// Never handled: a Chronos repeat counts from its start (its
			// first tick may be due already); Due decides.
			at, ok = e.now(), true
			if rs, isRepeat := spec.(interface{ Start() time.Time }); isRepeat && rs.Start().After(at) {
				at = rs.Start()
			}
		} else {
			at, ok = spec.Next(last)
		}
		if ok {
			heap.Push(e.timers, timer{at: at, jobID: jobID, sID: s.ID, gen: gen})
		}
	}
}

// Serve fires schedules and drives runs until ctx ends. It waits for the
// launcher to reconcile before doing anything.
func (e *Engine) Serve(ctx context.Context) {
	poll := time.NewTicker(100 * time.Millisecond)
	defer poll.Stop()
	for !e.cfg.Launcher.Reconciled() {
		select {
		case <-ctx.Done():
			return
		case <-poll.C:
		}
	}
	e.mu.Lock()
	e.ready = true
	e.servingSince = e.now()
	for _, m := range e.active {
		for _, r := range m {
			e.resumeLocked(ctx, r)
		}
	}
	e.mu.Unlock()
	e.log.Info("reconciled: firing schedules")
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-e.kickCh:
		}
		next := e.step(ctx)
		if !t.Stop() {
			select {
			case <-t.C:
			default:
			}
		}
		t.Reset(time.Until(next))
	}
}

// step fires what is due and drives runs (deadlines, retries); it returns
// when to wake next.
func (e *Engine) step(ctx context.Context) time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.now()
	for e.timers.Len() > 0 && !e.timers.items[0].at.After(now) {
		tm := heap.Pop(e.timers).(timer)
		if tm.gen != e.timers.gens[tm.jobID] {
			continue
		}
		e.fireLocked(ctx, tm, now)
	}
	wake := now.Add(time.Second)
	if e.timers.Len() > 0 && e.timers.items[0].at.Before(wake) {
		wake = e.timers.items[0].at
	}
	if w := e.driveRunsLocked(ctx, now); !w.IsZero() && w.Before(wake) {
		wake = w
	}
	return wake
}

// fireLocked handles a schedule that came due: it runs the tick Due picks
// and records the others as skipped, then re-arms the schedule.
func (e *Engine) fireLocked(ctx context.Context, tm timer, now time.Time) {
	j := e.jobs[tm.jobID]
	if j == nil {
		return
	}
	s, ok := j.Schedule(tm.sID)
	if !ok || !s.Enabled || j.Disabled {
		return
	}
	spec, err := parseSchedule(s)
	if err != nil {
		return
	}
	k := store.TickKey{JobID: j.ID, ScheduleID: s.ID}
	policy := schedule.RunOnce
	if s.CatchUp == "SKIP" {
		policy = schedule.SkipMissed
	}
	deadline := time.Duration(s.StartingDeadlineSeconds) * time.Second
	d := schedule.Due(spec, e.ticks[k], now, deadline, policy, maxSkipsPerWake)
	if d.Handled.IsZero() {
		e.rearmLocked(tm, d)
		return
	}
	var list []*runs.Run
	for n, sk := range d.Skipped {
		reason := sk.Reason
		if n == len(d.Skipped)-1 && d.SkippedTotal > len(d.Skipped) {
			reason += fmt.Sprintf(" (%d older missed ticks not recorded one by one)", d.SkippedTotal-len(d.Skipped))
		}
		list = append(list, e.skippedRun(j, s.ID, sk.Tick, reason, now))
	}
	var fired *runs.Run
	if d.HasRun {
		tick := d.Run.UTC()
		if policy == schedule.SkipMissed && tick.Before(e.servingSince) {
			// catchUp SKIP: a tick that fell due while the service was away does not
			// run, however recent.
			list = append(list, e.skippedRun(j, s.ID, tick, "missed: the service was not running at its tick (catchUp SKIP)", now))
		} else if reason := e.concurrencyBlocksLocked(j, s); reason != "" {
			list = append(list, e.skippedRun(j, s.ID, tick, reason, now))
		} else {
			fired = e.newRun(j, schedule.RunID(j.ID, tick), runs.TriggerSchedule, nil, now)
			fired.ScheduleID, fired.ScheduledAt = s.ID, &tick
			list = append(list, fired)
		}
	}
	handled := d.Handled.UTC()
	err = e.cfg.Store.CreateRuns(ctx, k, &handled, list...)
	switch {
	case errors.Is(err, store.ErrExists):
		// The tick was handled before (by an earlier process): move on.
		e.log.Info("tick already handled", "job", j.ID, "schedule", s.ID, "tick", handled)
		e.ticks[k] = handled
		e.rearmLocked(tm, d)
		return
	case err != nil:
		e.log.Error("recording a tick; retrying", "job", j.ID, "schedule", s.ID, "err", err)
		heap.Push(e.timers, timer{at: now.Add(time.Second), jobID: tm.jobID, sID: tm.sID, gen: tm.gen})
		return
	}
	e.ticks[k] = handled
	for _, r := range list {
		if r.Status == runs.Skipped {
			e.metrics.ticks.WithLabelValues("skipped").Inc()
			e.log.Warn("tick skipped", "job", j.ID, "schedule", s.ID, "tick", r.ScheduledAt, "reason", r.Reason)
		}
	}
	if fired != nil {
		if s.ConcurrencyPolicy == "REPLACE" {
			for _, r := range e.active[j.ID] {
				e.stopLocked(r, "replaced by run "+fired.ID+" (concurrencyPolicy REPLACE)")
			}
		}
		e.metrics.ticks.WithLabelValues("fired").Inc()
		e.metrics.lateness.Observe(now.Sub(*fired.ScheduledAt).Seconds())
		e.addActiveLocked(fired)
		e.launchLocked(fired)
		e.log.Info("tick fired", "job", j.ID, "schedule", s.ID, "run", fired.ID, "tick", fired.ScheduledAt)
	}
	e.rearmLocked(tm, d)
}

func (e *Engine) rearmLocked(tm timer, d schedule.Decision) {
	if d.HasNext {
		heap.Push(e.timers, timer{at: d.Next, jobID: tm.jobID, sID: tm.sID, gen: tm.gen})
	}
}

// concurrencyBlocksLocked says why a new run of j must not start now, or "".
func (e *Engine) concurrencyBlocksLocked(j *job.Job, s job.Schedule) string {
	if s.ConcurrencyPolicy != "FORBID" {
		return ""
	}
	for _, r := range e.active[j.ID] {
		return "skipped: run " + r.ID + " is still active (concurrencyPolicy FORBID)"
	}
	return ""
}

func (e *Engine) skippedRun(j *job.Job, scheduleID string, tick time.Time, reason string, now time.Time) *runs.Run {
	tick = tick.UTC()
	r := &runs.Run{
		ID: schedule.RunID(j.ID, tick), JobID: j.ID, Trigger: runs.TriggerSchedule, ScheduleID: scheduleID,
		ScheduledAt: &tick, CreatedAt: now, Tasks: []runs.Task{},
	}
	r.Finish(runs.Skipped, reason, now)
	return r
}
