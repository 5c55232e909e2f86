package deploy

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"strata/services/apps/app"
	"strata/services/apps/events"
	"strata/services/apps/instance"
)

// Run drives the running deployments until ctx ends: on every tick and whenever woken, each
// deployment's current step is compared with what runs and moved forward.
func (m *Manager) Run(ctx context.Context) error {
	t := time.NewTicker(m.cfg.Tick)
	defer t.Stop()
	defer m.cfg.Readiness.Retain(nil) // no check outlives the Manager
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-m.wake:
		}
		m.step(ctx)
	}
}

// step advances every running deployment as far as it can go now.
func (m *Manager) step(ctx context.Context) {
	if !m.cfg.Cluster.Ready() {
		return // reconciliation first: no decision on stale instance states
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	now := time.Now().UTC()
	m.checking = map[string]bool{}
	for _, d := range append([]*Deployment(nil), m.running...) {
		m.advance(ctx, d, now)
	}
	m.cfg.Readiness.Retain(m.checking) // the checks no running deployment waits for stop
}

// advance runs d's current step and moves to the next one while steps complete. m.mu is held.
func (m *Manager) advance(ctx context.Context, d *Deployment, now time.Time) {
	for d.Status == StatusRunning {
		var states []string
		done := true
		score := 0.0
		for _, a := range d.Steps[d.CurrentStep-1].Actions {
			r, ok := m.gate(ctx, d, a) // waits for the app's dependencies (groups_stage.go)
			if ok {
				r = m.act(d, a)
			}
			done = done && r.done
			states = append(states, r.state)
			score += r.score
		}
		summary := fmt.Sprintf("step %d/%d: %s", d.CurrentStep, len(d.Steps), strings.Join(states, "; "))
		switch {
		case !d.BestSet || score > d.Best:
			d.Best, d.BestSet = score, true
			d.Progress, d.LastProgressAt, d.UpdatedAt = summary, now, now
			m.save(ctx, d)
		case summary != d.Progress:
			d.Progress = summary
		}
		if !done {
			if dl := m.cfg.ProgressDeadline; dl > 0 && now.Sub(d.LastProgressAt) > dl {
				m.finish(ctx, d, StatusFailed, fmt.Sprintf("no progress for %s (%s)", dl, summary))
			}
			return
		}
		m.stepDone(d)
		if d.CurrentStep == len(d.Steps) {
			m.finish(ctx, d, StatusSuccess, "")
			return
		}
		d.CurrentStep++
		d.BestSet = false
		d.LastProgressAt, d.UpdatedAt = now, now
		m.save(ctx, d)
		m.emit(events.DeploymentInfoEvent{Plan: planOf(d), CurrentStep: currentStep(d)})
	}
}

func (m *Manager) save(ctx context.Context, d *Deployment) {
	if err := m.cfg.Store.SaveDeployment(ctx, d); err != nil {
		m.log.Error("saving deployment progress", "deployment", d.ID, "err", err)
	}
}

// finish ends a deployment and hands its apps back to the framework's count keeping. A success
// makes its targets the apps' last good versions; a failure (the progress deadline) may be
// followed by an auto-revert (autorevert.go), which the failure's reason names. m.mu is held.
func (m *Manager) finish(ctx context.Context, d *Deployment, status, reason string) {
	d.Status, d.Reason, d.UpdatedAt = status, reason, time.Now().UTC()
	m.retire(d)
	for _, id := range d.AffectedApps {
		m.handOver(d, id)
	}
	var revert []Change
	if status == StatusSuccess {
		m.recordGood(ctx, d)
	} else {
		revert = m.revertChanges(ctx, d)
	}
	if len(revert) > 0 {
		d.RevertedBy = uuid.NewString()
		d.Reason += "; auto-revert to the last good version in deployment " + d.RevertedBy
	}
	m.save(ctx, d)
	m.ended(d)
	if status == StatusSuccess {
		m.log.Info("deployment finished", "deployment", d.ID, "apps", d.AffectedApps)
		return
	}
	m.log.Warn("deployment failed", "deployment", d.ID, "apps", d.AffectedApps, "reason", d.Reason)
	if len(revert) > 0 {
		m.startRevert(ctx, d, revert)
	}
}

// result is where an action stands after one tick.
type result struct {
	done  bool
	state string
	// score grows as the action progresses (more instances ready, fewer left to go).
	score float64
}

// act carries out one action for one tick. m.mu is held.
func (m *Manager) act(d *Deployment, a Action) result {
	insts := m.cfg.Cluster.Instances(a.App)
	switch a.Type {
	case StartApplication:
		return result{true, a.Type + " " + a.App, 0}
	case StopApplication:
		return result{len(insts) == 0, fmt.Sprintf("%s %s: %d instances left", a.Type, a.App, len(insts)), -float64(len(insts))}
	case ScaleApplication:
		return m.scale(d, d.Targets[a.App], insts)
	case RestartApplication:
		return m.restart(d, d.Targets[a.App], insts)
	}
	return result{true, "unknown action " + a.Type, 0}
}

// scale is complete when the app has exactly its instances active, all of them running (and
// healthy, with health checks, and ready, with readiness checks), and the ones killed are gone.
func (m *Manager) scale(d *Deployment, target *app.App, insts []*instance.Instance) result {
	if target == nil {
		return result{true, "scale of a removed app", 0}
	}
	now := time.Now()
	inactive, disabled := time.Duration(0), false
	if u := target.UnreachableStrategy; u != nil {
		inactive, disabled = time.Duration(u.InactiveAfterSeconds)*time.Second, u.Disabled
	}
	active, ready, killing := 0, 0, 0
	for _, i := range insts {
		switch {
		case i.KillRequested:
			killing++
		case i.Active(now, inactive, disabled):
			active++
			if m.counts(d, target, i) {
				ready++
			}
		}
	}
	what := countsAs(target)
	n := target.Instances
	return result{
		done:  active == n && ready >= n && killing == 0,
		state: fmt.Sprintf("ScaleApplication %s: %d of %d %s, %d being killed", target.ID, ready, n, what, killing),
		score: float64(2*min(ready, n) - killing - max(0, active-n)),
	}
}

// restart runs one tick of a rolling restart of the target.
func (m *Manager) restart(d *Deployment, target *app.App, insts []*instance.Instance) result {
	if target == nil {
		return result{true, "restart of a removed app", 0}
	}
	checks := len(target.HealthChecks) > 0
	cfg := target.ConfigVersion()
	s := RestartState{
		Instances:         target.Instances,
		MinHealthCapacity: target.UpgradeStrategy.MinimumHealthCapacity,
		MaxOverCapacity:   target.UpgradeStrategy.MaximumOverCapacity,
	}
	var old, fresh []*instance.Instance
	for _, i := range insts {
		isNew := i.ConfigVersion == cfg
		switch {
		case i.KillRequested && isNew:
			s.NewKilling++
		case i.KillRequested:
			s.OldKilling++
		case isNew:
			s.New++
			fresh = append(fresh, i)
			if m.counts(d, target, i) {
				s.NewHealthy++
			}
		default:
			s.Old++
			old = append(old, i)
			if i.Healthy(checks) {
				s.OldHealthy++
			}
		}
	}
	a := Restart(s)
	oldestFirst := target.KillSelection == app.OldestFirst
	var kill []string
	if a.KillOld > 0 {
		for _, i := range instance.KillOrder(old, oldestFirst, checks)[:a.KillOld] {
			kill = append(kill, i.TaskID)
		}
	}
	if a.KillNew > 0 {
		for _, i := range instance.KillOrder(fresh, oldestFirst, checks)[:a.KillNew] {
			kill = append(kill, i.TaskID)
		}
	}
	if len(kill) > 0 {
		m.log.Info("rolling restart: killing", "app", target.ID, "tasks", kill)
		m.cfg.Cluster.Kill(kill)
	}
	if a.Start > 0 {
		if err := m.cfg.Cluster.Schedule(target.ID, a.Start); err != nil {
			m.log.Error("rolling restart: scheduling", "app", target.ID, "err", err)
		}
	}
	what := countsAs(target)
	return result{
		done: a.Done,
		state: fmt.Sprintf("RestartApplication %s: %d of %d new instances %s, %d old left (min healthy %d, max capacity %d)",
			target.ID, s.NewHealthy, s.Instances, what, s.Old+s.OldKilling, a.MinHealthy, a.MaxCapacity),
		score: float64(2*min(s.NewHealthy, s.Instances) - s.Old - s.OldKilling - s.NewKilling),
	}
}
