package deploy

import (
	"context"
	"fmt"
	"strings"

	"strata/services/apps/app"
)

// An app's action in a deployment is released when its step has come and what the app depends
// on is ready; until then the cluster keeps running what ran before (an app being created is
// known to the framework but has no instances). This is how the steps' order becomes the order
// in which things start and stop, and how an app deployed on its own (POST /v2/apps) waits for
// dependencies that other deployments are still bringing up.

// released reports whether d has handed the app its target: its scale, restart or stop action
// was released, or d has none for it.
func (d *Deployment) released(id string) bool {
	if d.Released[id] {
		return true
	}
	for _, s := range d.Steps {
		for _, a := range s.Actions {
			if a.App == id && a.Type != StartApplication {
				return false
			}
		}
	}
	return true
}

// show tells the cluster what an app affected by d runs at this point of d. m.mu is held.
func (m *Manager) show(d *Deployment, id string) {
	orig, target := d.Originals[id], d.Targets[id]
	switch {
	case d.Status != StatusRunning || d.released(id):
		if target == nil {
			m.cfg.Cluster.RemoveApp(id)
			return
		}
		m.cfg.Cluster.SetApp(target, d.Status == StatusRunning && d.restarts(id), d.Kill[id])
	case orig != nil:
		m.cfg.Cluster.SetApp(orig, false, nil) // keeps running as it was until its step
	default:
		m.cfg.Cluster.SetApp(target, true, nil) // created, without instances until its step
	}
}

// handOver gives an app d affected back to the framework's count keeping, with its current
// definition (d ended, or a forced deployment superseded it). m.mu is held.
func (m *Manager) handOver(d *Deployment, id string) {
	a, exists := m.apps[id]
	switch {
	case d.released(id) && exists:
		m.cfg.Cluster.Hold(id, false)
	case d.released(id): // removed when its stop was released
	case exists:
		m.cfg.Cluster.SetApp(a, false, nil)
	default:
		m.cfg.Cluster.RemoveApp(id)
	}
}

// showAll hands every app to the cluster as the running deployments want it (at Load). m.mu is
// held.
func (m *Manager) showAll() {
	byID := map[string]*Deployment{}
	for _, d := range m.running {
		byID[d.ID] = d
	}
	shown := map[string]bool{}
	for id, did := range m.locks {
		if d := byID[did]; d != nil {
			m.show(d, id)
			shown[id] = true
		}
	}
	for id, a := range m.apps {
		if !shown[id] {
			m.cfg.Cluster.SetApp(a, false, nil)
		}
	}
}

// gate releases the app of a scale, restart or stop action once what the app depends on is
// ready, and otherwise says what the action waits for (ok false). m.mu is held.
func (m *Manager) gate(ctx context.Context, d *Deployment, a Action) (waiting result, ok bool) {
	if a.Type == StartApplication || d.released(a.App) {
		return result{}, true
	}
	if deps := m.waitingFor(m.graph(), a.App); len(deps) > 0 {
		return result{state: fmt.Sprintf("%s %s: waiting for its dependencies (%s)", a.Type, a.App, strings.Join(deps, ", "))}, false
	}
	m.release(d, a.App)
	m.save(ctx, d)
	return result{}, true
}

// release hands an app its target for d's current step. m.mu is held.
func (m *Manager) release(d *Deployment, id string) {
	if d.Released == nil {
		d.Released = map[string]bool{}
	}
	d.Released[id] = true
	m.log.Info("deployment step reaches app", "deployment", d.ID, "app", id, "step", d.CurrentStep)
	m.show(d, id)
}

// releaseFirst marks the apps of the first step whose dependencies are ready as released before
// the deployment is committed (graph: the dependencies after it). m.mu is held.
func (m *Manager) releaseFirst(d *Deployment, graph app.Graph) {
	if d.Status != StatusRunning || len(d.Steps) == 0 {
		return
	}
	for _, a := range d.Steps[0].Actions {
		if a.Type != StartApplication && len(m.waitingFor(graph, a.App)) == 0 {
			if d.Released == nil {
				d.Released = map[string]bool{}
			}
			d.Released[a.App] = true
		}
	}
}

// waitingFor lists the dependencies of an app that are not ready, each with how many of its
// instances are: running (and healthy, with health checks) instances short of its instance
// count. A dependency that does not exist is not waited for. m.mu is held.
func (m *Manager) waitingFor(graph app.Graph, id string) []string {
	var out []string
	for _, dep := range graph[id] {
		a := m.apps[dep]
		if a == nil {
			continue
		}
		checks := len(a.HealthChecks) > 0
		ready := 0
		for _, i := range m.cfg.Cluster.Instances(dep) {
			if i.Healthy(checks) {
				ready++
			}
		}
		if ready < a.Instances {
			what := "running"
			if checks {
				what = "healthy"
			}
			out = append(out, fmt.Sprintf("%s: %d of %d %s", dep, ready, a.Instances, what))
		}
	}
	return out
}
