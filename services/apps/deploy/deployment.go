package deploy

import (
	"errors"
	"fmt"
	"time"

	"strata/services/apps/app"
)

// Action types.
const (
	StartApplication   = "StartApplication"
	ScaleApplication   = "ScaleApplication"
	RestartApplication = "RestartApplication"
	StopApplication    = "StopApplication"
)

// Deployment statuses. Only RUNNING deployments are listed by GET /v2/deployments.
const (
	StatusRunning  = "RUNNING"
	StatusSuccess  = "SUCCESS"
	StatusFailed   = "FAILED"
	StatusCanceled = "CANCELED"
)

// Action is one action of a step.
type Action struct {
	Type string `json:"action"`
	App  string `json:"app"`
}

// Step is a set of actions carried out together.
type Step struct {
	Actions []Action `json:"actions"`
}

// Deployment is a plan and its progress. It is persisted as this JSON.
type Deployment struct {
	ID           string   `json:"id"`
	Version      string   `json:"version"`
	AffectedApps []string `json:"affectedApps"`
	Steps        []Step   `json:"steps"`
	// CurrentStep is the 1-based index of the step in progress (len(Steps) once done).
	CurrentStep int    `json:"currentStep"`
	Status      string `json:"status"`
	// Reason says why a deployment FAILED or was CANCELED.
	Reason         string    `json:"reason,omitempty"`
	CreatedAt      time.Time `json:"createdAt"`
	UpdatedAt      time.Time `json:"updatedAt"`
	LastProgressAt time.Time `json:"lastProgressAt"`
	// Progress summarizes where the current step stands. Best is the highest progress score
	// the step has reached: only a new high counts as progress (an instance that starts and
	// crashes again does not), and the deadline runs from LastProgressAt.
	Progress string  `json:"progress,omitempty"`
	Best     float64 `json:"best"`
	BestSet  bool    `json:"bestSet"`
	// Targets holds the target definition of every affected app that exists afterwards;
	// Originals the definitions before the deployment (absent: the app did not exist), for
	// rollbacks.
	Targets   map[string]*app.App `json:"targets"`
	Originals map[string]*app.App `json:"originals"`
	// Kill lists instances a scale chose to kill, by app.
	Kill map[string][]string `json:"kill,omitempty"`
	// Released names the apps whose scale, restart or stop action has started: its step came
	// and what the app depends on was ready (see gate). Until then an app runs as before.
	Released map[string]bool `json:"released,omitempty"`
	// GroupsBefore holds the explicit groups the deployment changed as they were before it (nil:
	// it created the group), for rollbacks.
	GroupsBefore map[string]*app.GroupSpec `json:"groupsBefore,omitempty"`
	// RevertOf names the deployment this one auto-reverts (autorevert.go); RevertedBy the
	// deployment that auto-reverts this one.
	RevertOf   string `json:"revertOf,omitempty"`
	RevertedBy string `json:"revertedBy,omitempty"`
}

// Clone returns a copy safe to hand out (the app definitions are shared and never mutated).
func (d *Deployment) Clone() *Deployment {
	c := *d
	c.AffectedApps = append([]string(nil), d.AffectedApps...)
	c.Steps = make([]Step, len(d.Steps))
	for i, s := range d.Steps {
		c.Steps[i] = Step{Actions: append([]Action(nil), s.Actions...)}
	}
	if d.Released != nil {
		c.Released = make(map[string]bool, len(d.Released))
		for id, r := range d.Released {
			c.Released[id] = r
		}
	}
	return &c
}

// CurrentActions are the actions of the step in progress.
func (d *Deployment) CurrentActions() []Action {
	if d.Status != StatusRunning || d.CurrentStep < 1 || d.CurrentStep > len(d.Steps) {
		return nil
	}
	return d.Steps[d.CurrentStep-1].Actions
}

// restarts reports whether an action in the current or a later step restarts the app.
func (d *Deployment) restarts(appID string) bool {
	for i := max(d.CurrentStep-1, 0); i < len(d.Steps); i++ {
		for _, a := range d.Steps[i].Actions {
			if a.App == appID && a.Type == RestartApplication {
				return true
			}
		}
	}
	return false
}

func (d *Deployment) affects(appID string) bool {
	for _, id := range d.AffectedApps {
		if id == appID {
			return true
		}
	}
	return false
}

// plan computes the steps that take originals to targets when no app has dependencies: first
// stop the apps that go away, then start the new ones (with no instances), then scale the new
// ones and the ones whose instance count changed, and restart those whose configuration changed,
// all in one step (see dependencyPlan).
func plan(ids []string, originals, targets map[string]*app.App, kills map[string][]string) []Step {
	return dependencyPlan(ids, originals, targets, kills, nil, nil)
}

// ErrVersionNotFound is returned (wrapped) by Store.AppVersion for a version that is not stored.
var ErrVersionNotFound = errors.New("deploy: app version not found")

// AppNotFoundError is a change to an app that does not exist.
type AppNotFoundError struct{ ID string }

func (e *AppNotFoundError) Error() string { return fmt.Sprintf("App '%s' does not exist", e.ID) }

// AppExistsError is a creation of an app that exists.
type AppExistsError struct{ ID string }

func (e *AppExistsError) Error() string {
	return fmt.Sprintf("An app with id [%s] already exists.", e.ID)
}

// LockedError is a change to apps that running deployments hold.
type LockedError struct{ Deployments []string }

func (e *LockedError) Error() string {
	return "App is locked by one or more deployments. Override with the option '?force=true'. View details at '/v2/deployments/<DEPLOYMENT_ID>'."
}

// DeploymentNotFoundError names an unknown (or finished) deployment.
type DeploymentNotFoundError struct{ ID string }

func (e *DeploymentNotFoundError) Error() string {
	return fmt.Sprintf("DeploymentPlan %s does not exist", e.ID)
}
