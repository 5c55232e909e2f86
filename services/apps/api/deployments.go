package api

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"strata/services/apps/deploy"
	"strata/services/apps/readiness"
)

// deploymentJSON is a deployment as GET /v2/deployments shows it, plus its status and, for a
// failed or canceled one, the reason (GET /v2/deployments/{id}, a Strata addition).
type deploymentJSON struct {
	ID             string          `json:"id"`
	Version        string          `json:"version"`
	AffectedApps   []string        `json:"affectedApps"`
	AffectedPods   []string        `json:"affectedPods"`
	Steps          []deploy.Step   `json:"steps"`
	CurrentActions []currentAction `json:"currentActions"`
	CurrentStep    int             `json:"currentStep"`
	TotalSteps     int             `json:"totalSteps"`
	Status         string          `json:"status,omitempty"`
	Reason         string          `json:"reason,omitempty"`
	Progress       string          `json:"progress,omitempty"`
	RevertOf       string          `json:"revertOf,omitempty"`
	RevertedBy     string          `json:"revertedBy,omitempty"`
}

type currentAction struct {
	Action                string             `json:"action"`
	App                   string             `json:"app"`
	ReadinessCheckResults []readiness.Result `json:"readinessCheckResults"`
}

func (s *Server) renderDeployment(d *deploy.Deployment, detail bool) deploymentJSON {
	out := deploymentJSON{
		ID: d.ID, Version: d.Version, AffectedApps: d.AffectedApps, AffectedPods: []string{},
		Steps: d.Steps, CurrentActions: []currentAction{}, CurrentStep: d.CurrentStep, TotalSteps: len(d.Steps),
	}
	if out.AffectedApps == nil {
		out.AffectedApps = []string{}
	}
	if out.Steps == nil {
		out.Steps = []deploy.Step{}
	}
	for _, a := range d.CurrentActions() {
		out.CurrentActions = append(out.CurrentActions, currentAction{Action: a.Type, App: a.App,
			ReadinessCheckResults: s.cfg.Deployer.ReadinessResults(a.App)})
	}
	if detail {
		out.Status, out.Reason, out.Progress = d.Status, d.Reason, d.Progress
		out.RevertOf, out.RevertedBy = d.RevertOf, d.RevertedBy
	}
	return out
}

func (s *Server) listDeployments(c *gin.Context) {
	out := []deploymentJSON{}
	for _, d := range s.cfg.Deployer.Deployments() {
		out = append(out, s.renderDeployment(d, false))
	}
	writeJSON(c, http.StatusOK, out)
}

func (s *Server) getDeployment(c *gin.Context) {
	d, ok := s.cfg.Deployer.Deployment(c.Param("id"))
	if !ok {
		s.fail(c, &deploy.DeploymentNotFoundError{ID: c.Param("id")})
		return
	}
	writeJSON(c, http.StatusOK, s.renderDeployment(d, true))
}

// deleteDeployment cancels a running deployment: by default with a rollback deployment (whose
// id is answered), with ?force=true without (202, empty body).
func (s *Server) deleteDeployment(c *gin.Context) {
	force := flag(c, "force", false)
	rollback, err := s.cancel(c, c.Param("id"), !force)
	if err != nil {
		s.fail(c, err)
		return
	}
	if force || rollback == nil {
		c.Status(http.StatusAccepted)
		return
	}
	deployed(c, http.StatusOK, rollback)
}
