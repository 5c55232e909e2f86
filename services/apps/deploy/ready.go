package deploy

import (
	"errors"

	"strata/services/apps/app"
	"strata/services/apps/instance"
	"strata/services/apps/readiness"
)

// counts reports whether an instance of target counts toward d's step: it runs, passes its
// health check when target has one and, when target has readiness checks, is ready. Readiness
// is checked only for the instances launched during d (Marathon checks the instances a
// deployment starts, not those it finds running), and only once the instance is healthy: then
// its checks start (the first GET at once) and run until it is ready or d no longer waits for
// it. m.mu is held.
func (m *Manager) counts(d *Deployment, target *app.App, i *instance.Instance) bool {
	if !i.Healthy(len(target.HealthChecks) > 0) {
		return false
	}
	if len(target.ReadinessChecks) == 0 || i.ScheduledAt.Before(d.CreatedAt) {
		return true
	}
	m.checking[i.TaskID] = true
	specs, err := readiness.Specs(target, i)
	if err != nil {
		if !errors.Is(err, readiness.ErrNoAddress) {
			m.log.Warn("readiness check", "app", target.ID, "task", i.TaskID, "err", err)
		}
		return false
	}
	m.cfg.Readiness.Ensure(specs)
	return m.cfg.Readiness.Ready(i.TaskID)
}

// countsAs says what an instance of a must be to count toward a step, for progress summaries.
func countsAs(a *app.App) string {
	switch checks, ready := len(a.HealthChecks) > 0, len(a.ReadinessChecks) > 0; {
	case checks && ready:
		return "healthy and ready"
	case checks:
		return "healthy"
	case ready:
		return "running and ready"
	}
	return "running"
}

// ReadinessResults are the readiness check results of the app's instances that a running
// deployment waits for (AppInfo.readinessCheckResults, and the deployment's
// currentActions[].readinessCheckResults).
func (m *Manager) ReadinessResults(appID string) []readiness.Result {
	m.mu.Lock()
	_, deploying := m.locks[appID]
	m.mu.Unlock()
	if !deploying {
		return []readiness.Result{} // the checks of a finished deployment stop at the next tick
	}
	return m.cfg.Readiness.Results(appID)
}
