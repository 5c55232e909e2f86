package framework

import (
	"context"
	"fmt"
	"math"
	"sort"
	"time"

	"strata/services/apps/app"
	"strata/services/apps/instance"
)

// Health kills. The executor runs an app's health check and reports every result, but never
// kills on its own (the TaskInfo's consecutive_failures is set beyond reach, see healthCheck): the
// framework counts the consecutive failures and kills an instance once they reach the app's
// maxConsecutiveFailures (0: never), as Marathon does, but rate-limited per app so that a
// flapping check, or one that fails everywhere at once, cannot take a whole app down:
//
//   - at most max(1, floor(HealthKillShare × instances)) instances of the app are being killed
//     for their health at any moment (held kills included), and
//   - a token bucket of that many tokens, refilled over the app's health kill window, allows as
//     many kills per window: the window is Config.HealthKillWindow or, by default, the time a
//     replacement needs before its own checks could fail it, max(gracePeriodSeconds,
//     delaySeconds + intervalSeconds × maxConsecutiveFailures).
//
// When the app has room above its instance count (floor(instances × (1 + maximumOverCapacity))),
// and no deployment holds it, the replacement is scheduled first and the kill held back until
// the replacement runs (or ends, or waited ReplacementWait); otherwise the instance is killed at
// once and the usual count keeping replaces it. Each health kill publishes
// unhealthy_task_kill_event and unhealthy_instance_kill_event, and its end counts as a task
// failure (lastTaskFailure, launch backoff). Instances with the most consecutive failures go
// first.

// tokenBucket is a token bucket whose capacity and refill period are given at each use (an
// app's instance count and checks may change). It starts full.
type tokenBucket struct {
	tokens float64
	last   time.Time
	used   bool
}

// take refills the bucket with capacity tokens per window for the time since the last call and
// takes a token if there is a whole one.
func (b *tokenBucket) take(now time.Time, capacity int, window time.Duration) bool {
	c := float64(capacity)
	switch {
	case !b.used:
		b.tokens, b.used, b.last = c, true, now
	case now.After(b.last):
		if window > 0 {
			b.tokens += c * float64(now.Sub(b.last)) / float64(window)
		}
		b.last = now
	}
	b.tokens = math.Min(b.tokens, c)
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// healthKillCapacity is max(1, floor(share × instances)).
func healthKillCapacity(share float64, instances int) int {
	return max(1, int(math.Floor(share*float64(instances)+1e-9)))
}

// healthKillWindow is the default health kill window of a check: the time a replacement needs
// before its own checks could fail it (at least a second).
func healthKillWindow(hc app.HealthCheck) time.Duration {
	s := max(hc.GracePeriodSeconds, hc.DelaySeconds+hc.IntervalSeconds*max(1, hc.MaxConsecutiveFailures))
	return time.Duration(max(1, s)) * time.Second
}

// healthKillTally is what the health kill pass sees of one app.
type healthKillTally struct {
	active, inFlight int
	candidates       []*instance.Instance
}

// healthKills releases held health kills whose replacement runs (or is gone, or waited too long)
// and starts the health kills the apps' allowances permit. It returns whether anything changed.
// f.mu is held.
func (f *Framework) healthKills(now time.Time) bool {
	changed := false
	tallies := map[string]*healthKillTally{}
	for _, i := range f.instances {
		if i.KillHeld() {
			if f.releaseHeld(i, now) {
				changed = true
			}
		}
		st := f.apps[i.AppID]
		if st == nil || len(st.app.HealthChecks) == 0 || st.app.HealthChecks[0].MaxConsecutiveFailures <= 0 {
			continue
		}
		t := tallies[i.AppID]
		if t == nil {
			t = &healthKillTally{}
			tallies[i.AppID] = t
		}
		inactive, disabled := unreachableTimes(st.app)
		switch {
		case i.KillRequested && i.KillReason == instance.KillUnhealthy:
			t.inFlight++
		case i.Active(now, inactive, disabled):
			t.active++
			if i.IsRunning() && i.Health != nil && !i.Health.Alive &&
				i.Health.ConsecutiveFailures >= st.app.HealthChecks[0].MaxConsecutiveFailures {
				t.candidates = append(t.candidates, i)
			}
		}
	}
	for appID, t := range tallies {
		if len(t.candidates) == 0 {
			continue
		}
		st := f.apps[appID]
		capacity := healthKillCapacity(f.cfg.HealthKillShare, st.app.Instances)
		window := f.cfg.HealthKillWindow
		if window <= 0 {
			window = healthKillWindow(st.app.HealthChecks[0])
		}
		sort.Slice(t.candidates, func(a, b int) bool {
			ca, cb := t.candidates[a], t.candidates[b]
			if ca.Health.ConsecutiveFailures != cb.Health.ConsecutiveFailures {
				return ca.Health.ConsecutiveFailures > cb.Health.ConsecutiveFailures
			}
			return ca.TaskID < cb.TaskID
		})
		maxCap := int(math.Floor(float64(st.app.Instances)*(1+st.app.UpgradeStrategy.MaximumOverCapacity) + 1e-9))
		for _, i := range t.candidates {
			if t.inFlight >= capacity {
				f.log.Debug("health kills of the app at their limit", "app", appID, "in_flight", t.inFlight, "limit", capacity)
				break
			}
			if !st.healthKills.take(now, capacity, window) {
				f.log.Debug("health kill allowance of the app used up", "app", appID, "limit", capacity, "window", window)
				break
			}
			surge := !st.held && t.active < maxCap
			f.healthKill(st, i, surge, now)
			t.inFlight++
			changed = true
		}
	}
	return changed
}

// healthKill kills an unhealthy instance, or with surge schedules its replacement first and
// holds the kill back. f.mu is held.
func (f *Framework) healthKill(st *appState, i *instance.Instance, surge bool, now time.Time) {
	reason := fmt.Sprintf("health check failed %d times consecutively", i.Health.ConsecutiveFailures)
	if c := i.Health.LastFailureCause; c != "" {
		reason += ": " + c
	}
	i.KillRequested, i.KillReason, i.UpdatedAt = true, instance.KillUnhealthy, now
	if surge {
		if list, err := f.schedule(st.app, 1); err != nil {
			f.log.Error("scheduling the replacement of an unhealthy instance; killing it at once", "task", i.TaskID, "err", err)
		} else {
			i.ReplacedBy, i.KillHeldSince = list[0].TaskID, now
		}
	}
	if err := f.cfg.Store.PutInstances(context.Background(), i); err != nil {
		f.log.Error("persisting a health kill", "task", i.TaskID, "err", err)
	}
	f.reindex(i, now)
	f.metrics.healthKills.Inc()
	f.log.Warn("killing an unhealthy instance", "app", i.AppID, "task", i.TaskID, "reason", reason,
		"replacement_first", i.ReplacedBy)
	f.emit(unhealthyKillEvents(i, reason)...)
}

// releaseHeld lets a held health kill go ahead once its replacement runs, has ended or was
// dropped, or ReplacementWait has passed. It reports whether it did. f.mu is held.
func (f *Framework) releaseHeld(i *instance.Instance, now time.Time) bool {
	r := f.instances[i.ReplacedBy]
	if r != nil && !r.KillRequested && r.State != instance.Running && now.Sub(i.KillHeldSince) < f.cfg.ReplacementWait {
		return false
	}
	i.KillHeldSince = time.Time{}
	i.UpdatedAt = now
	if err := f.cfg.Store.PutInstances(context.Background(), i); err != nil {
		f.log.Error("persisting a health kill", "task", i.TaskID, "err", err)
	}
	f.log.Info("releasing a held health kill", "task", i.TaskID, "replacement", i.ReplacedBy,
		"replacement_running", r != nil && r.State == instance.Running)
	return true
}
