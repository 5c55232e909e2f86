package api

import (
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"strata/services/apps/app"
	"strata/services/apps/instance"
)

func ms(d time.Duration) int64 { return d.Milliseconds() }

// info answers /v2/info with Marathon's shape (numbers as JSON numbers).
func (s *Server) info(c *gin.Context) {
	in := s.cfg.Info
	writeJSON(c, http.StatusOK, gin.H{
		"name":        "marathon",
		"version":     in.Version,
		"buildref":    in.BuildRef,
		"elected":     true,
		"leader":      in.Leader,
		"frameworkId": s.cfg.Tasks.FrameworkID(),
		"marathon_config": gin.H{
			"master":                             strings.Join(in.Masters, ","),
			"framework_name":                     in.FrameworkName,
			"failover_timeout":                   int64(in.FailoverTimeout.Seconds()),
			"checkpoint":                         true,
			"ha":                                 false,
			"hostname":                           in.Hostname,
			"webui_url":                          in.WebUI,
			"mesos_role":                         in.Role,
			"mesos_user":                         in.User,
			"executor":                           "//cmd",
			"local_port_min":                     10000,
			"local_port_max":                     20000,
			"reconciliation_initial_delay":       0,
			"reconciliation_interval":            ms(in.ReconciliationInterval),
			"task_launch_timeout":                ms(in.TaskLaunchTimeout),
			"decline_offer_duration":             ms(in.DeclineOfferDuration),
			"deployment_progress_deadline":       ms(in.DeploymentDeadline),
			"max_instances_per_offer":            0,
			"mesos_leader_ui_url":                s.cfg.Tasks.Leader(),
			"features":                           []string{},
			"leader_proxy_connection_timeout_ms": 5000,
			"leader_proxy_read_timeout_ms":       10000,
		},
		"zookeeper_config": gin.H{
			"zk":                 "",
			"zk_timeout":         10000,
			"zk_session_timeout": 10000,
			"zk_max_versions":    in.MaxVersions,
			"zk_compression":     false,
		},
		"http_config": gin.H{
			"http_port":  in.HTTPPort,
			"https_port": 0,
		},
	})
}

func (s *Server) leader(c *gin.Context) {
	if s.cfg.Info.Leader == "" {
		message(c, http.StatusNotFound, "There is no leader")
		return
	}
	writeJSON(c, http.StatusOK, gin.H{"leader": s.cfg.Info.Leader})
}

// queue answers /v2/queue: the apps with instances waiting for an offer, how many, and their
// launch delay. Offer statistics (processedOffersSummary) come with the placement package.
func (s *Server) queue(c *gin.Context) {
	type delay struct {
		TimeLeftSeconds int64 `json:"timeLeftSeconds"`
		Overdue         bool  `json:"overdue"`
	}
	type entry struct {
		App   appInfo `json:"app"`
		Count int     `json:"count"`
		Delay delay   `json:"delay"`
		Since string  `json:"since"`
		Role  string  `json:"role"`
	}
	out := []entry{}
	now := time.Now()
	for _, a := range s.cfg.Deployer.Apps() {
		var waiting []*instance.Instance
		for _, i := range s.cfg.Tasks.Instances(a.ID) {
			if !i.Launched() {
				waiting = append(waiting, i)
			}
		}
		if len(waiting) == 0 {
			continue
		}
		e := entry{App: s.appInfo(a, embed{}), Count: len(waiting), Since: app.FormatVersion(waiting[0].ScheduledAt), Role: a.Role}
		if until, ok := s.cfg.Tasks.Delay(a.ID); ok {
			e.Delay.TimeLeftSeconds = int64(until.Sub(now).Seconds() + 0.999)
		} else {
			e.Delay.Overdue = true
		}
		out = append(out, e)
	}
	writeJSON(c, http.StatusOK, gin.H{"queue": out})
}

// resetDelay is DELETE /v2/queue/{app id}/delay.
func (s *Server) resetDelay(c *gin.Context) {
	segs := app.Segments(c.Param("rest"))
	if len(segs) < 2 || segs[len(segs)-1] != "delay" {
		message(c, http.StatusNotFound, "HTTP 404 Not Found")
		return
	}
	a, ok := s.lookup(c, segs[:len(segs)-1])
	if !ok {
		return
	}
	s.cfg.Tasks.ResetDelay(a.ID)
	c.Status(http.StatusNoContent)
}
