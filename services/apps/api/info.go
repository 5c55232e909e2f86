package api

import (
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
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
