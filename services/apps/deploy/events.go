package deploy

import (
	"errors"
	"strings"

	"strata/services/apps/app"
	"strata/services/apps/events"
)

// Publisher receives the Manager's events: deployment_info, deployment_step_success,
// deployment_step_failure, deployment_success, deployment_failed, group_change_success and
// app_terminated_event.
type Publisher interface {
	Emit(e events.Typed) (uint64, error)
}

type nopPublisher struct{}

func (nopPublisher) Emit(events.Typed) (uint64, error) { return 0, nil }

// planJSON is a deployment plan as the events carry it: {id, version, steps, affectedApps}.
type planJSON struct {
	ID           string   `json:"id"`
	Version      string   `json:"version"`
	Steps        []Step   `json:"steps"`
	AffectedApps []string `json:"affectedApps"`
}

func planOf(d *Deployment) planJSON {
	p := planJSON{ID: d.ID, Version: d.Version, Steps: d.Steps, AffectedApps: d.AffectedApps}
	if p.Steps == nil {
		p.Steps = []Step{}
	}
	if p.AffectedApps == nil {
		p.AffectedApps = []string{}
	}
	return p
}

// currentStep is the step in progress (1-based CurrentStep), {"actions": [...]}.
func currentStep(d *Deployment) Step {
	if d.CurrentStep < 1 || d.CurrentStep > len(d.Steps) {
		return Step{Actions: []Action{}}
	}
	return d.Steps[d.CurrentStep-1]
}

// emit publishes events; a closed bus (the service is stopping) drops them. m.mu may be held:
// publishing never waits for a subscriber.
func (m *Manager) emit(evs ...events.Typed) {
	for _, e := range evs {
		if _, err := m.cfg.Events.Emit(e); err != nil && !errors.Is(err, events.ErrClosed) {
			m.log.Warn("publishing an event", "event_type", e.EventType(), "err", err)
		}
	}
}

// announce publishes what a committed deployment changed: the root group (group_change_success,
// for the group that holds every affected app), the deployments it superseded
// (deployment_failed), and its own start (deployment_info for its first step), or its success
// when it has nothing to do. m.mu is held.
func (m *Manager) announce(d *Deployment, superseded []*Deployment) {
	m.emit(events.GroupChangeSuccessEvent{GroupID: commonGroup(d.AffectedApps), Version: d.Version})
	for _, c := range superseded {
		m.emit(events.DeploymentFailedEvent{ID: c.ID, Plan: planOf(c), Reason: c.Reason})
	}
	if d.Status == StatusRunning {
		m.emit(events.DeploymentInfoEvent{Plan: planOf(d), CurrentStep: currentStep(d)})
		return
	}
	m.emit(events.DeploymentSuccessEvent{ID: d.ID, Plan: planOf(d)})
}

// stepDone publishes the success of d's current step, and app_terminated_event for the apps it
// stopped (all their instances are gone). m.mu is held.
func (m *Manager) stepDone(d *Deployment) {
	step := currentStep(d)
	m.emit(events.DeploymentStepSuccessEvent{Plan: planOf(d), CurrentStep: step})
	for _, a := range step.Actions {
		if a.Type == StopApplication {
			m.emit(events.AppTerminatedEvent{AppID: a.App})
		}
	}
}

// ended publishes the end of a deployment: deployment_success, or for one that FAILED or was
// CANCELED deployment_failed with the reason (after deployment_step_failure for the step it
// failed in, when it failed on its own). m.mu is held.
func (m *Manager) ended(d *Deployment) {
	switch d.Status {
	case StatusSuccess:
		m.emit(events.DeploymentSuccessEvent{ID: d.ID, Plan: planOf(d)})
	case StatusFailed:
		m.emit(events.DeploymentStepFailureEvent{Plan: planOf(d), CurrentStep: currentStep(d)})
		m.emit(events.DeploymentFailedEvent{ID: d.ID, Plan: planOf(d), Reason: d.Reason})
	default:
		m.emit(events.DeploymentFailedEvent{ID: d.ID, Plan: planOf(d), Reason: d.Reason})
	}
}

// commonGroup is the innermost group holding every one of ids ("/" when they share none).
func commonGroup(ids []string) string {
	var common []string
	for k, id := range ids {
		parent := app.Segments(app.Parent(id))
		if k == 0 {
			common = parent
			continue
		}
		n := 0
		for n < len(common) && n < len(parent) && common[n] == parent[n] {
			n++
		}
		common = common[:n]
	}
	return "/" + strings.Join(common, "/")
}
