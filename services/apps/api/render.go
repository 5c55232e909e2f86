package api

import (
	"time"

	"strata/services/apps/app"
	"strata/services/apps/framework"
	"strata/services/apps/instance"
	"strata/services/apps/readiness"
)

// ref is {"id": ...}, how apps name their deployments.
type ref struct {
	ID string `json:"id"`
}

// appInfo is Marathon's AppInfo: the app and what runs of it.
type appInfo struct {
	*app.App
	TasksStaged     int                    `json:"tasksStaged"`
	TasksRunning    int                    `json:"tasksRunning"`
	TasksHealthy    int                    `json:"tasksHealthy"`
	TasksUnhealthy  int                    `json:"tasksUnhealthy"`
	Deployments     []ref                  `json:"deployments"`
	Tasks           *[]task                `json:"tasks,omitempty"`
	LastTaskFailure *framework.TaskFailure `json:"lastTaskFailure,omitempty"`
	// ReadinessCheckResults are the results of the readiness checks a running deployment waits
	// for (embed=apps.readiness).
	ReadinessCheckResults *[]readiness.Result `json:"readinessCheckResults,omitempty"`
	// TasksStats are the task counts and life times by version (embed=apps.taskStats).
	TasksStats *tasksStats `json:"tasksStats,omitempty"`
}

// embed says what an AppInfo carries beyond the counts and deployments.
type embed struct {
	tasks, lastTaskFailure, readiness, taskStats bool
}

func (s *Server) appInfo(a *app.App, e embed) appInfo {
	insts := s.cfg.Tasks.Instances(a.ID)
	info := appInfo{App: a, Deployments: []ref{}}
	checks := len(a.HealthChecks) > 0
	for _, i := range insts {
		switch {
		case i.IsStaged():
			info.TasksStaged++
		case i.IsRunning():
			info.TasksRunning++
			if checks && i.Healthy(true) {
				info.TasksHealthy++
			}
			if checks && i.Unhealthy() {
				info.TasksUnhealthy++
			}
		}
	}
	for _, id := range s.cfg.Deployer.DeploymentsOf(a.ID) {
		info.Deployments = append(info.Deployments, ref{ID: id})
	}
	if e.tasks {
		tasks := []task{}
		for _, i := range insts {
			if i.Launched() {
				tasks = append(tasks, renderTask(i, a))
			}
		}
		info.Tasks = &tasks
	}
	if e.lastTaskFailure {
		info.LastTaskFailure = s.cfg.Tasks.LastTaskFailure(a.ID)
	}
	if e.readiness {
		results := s.cfg.Deployer.ReadinessResults(a.ID)
		info.ReadinessCheckResults = &results
	}
	if e.taskStats {
		info.TasksStats = computeTasksStats(a, insts, time.Now())
	}
	return info
}

// task is Marathon's task JSON.
type task struct {
	ID                 string          `json:"id"`
	AppID              string          `json:"appId"`
	Host               string          `json:"host"`
	Ports              []int           `json:"ports"`
	ServicePorts       []int           `json:"servicePorts"`
	SlaveID            string          `json:"slaveId"`
	StagedAt           string          `json:"stagedAt,omitempty"`
	StartedAt          string          `json:"startedAt,omitempty"`
	Version            string          `json:"version"`
	State              string          `json:"state"`
	IPAddresses        []ipAddress     `json:"ipAddresses"`
	HealthCheckResults *[]healthResult `json:"healthCheckResults,omitempty"`
	LocalVolumes       []any           `json:"localVolumes"`
	Role               string          `json:"role"`
}

type ipAddress struct {
	IPAddress string `json:"ipAddress"`
	Protocol  string `json:"protocol"`
}

// healthResult is one health check result of a task.
type healthResult struct {
	Alive               bool    `json:"alive"`
	ConsecutiveFailures int     `json:"consecutiveFailures"`
	FirstSuccess        *string `json:"firstSuccess"`
	LastSuccess         *string `json:"lastSuccess"`
	LastFailure         *string `json:"lastFailure"`
	LastFailureCause    *string `json:"lastFailureCause"`
	TaskID              string  `json:"taskId"`
	InstanceID          string  `json:"instanceId"`
}

func ts(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return app.FormatVersion(t)
}

func tsPtr(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := app.FormatVersion(t)
	return &s
}

// renderTask renders an instance as a task; a may be nil (the app is gone).
func renderTask(i *instance.Instance, a *app.App) task {
	t := task{
		ID: i.TaskID, AppID: i.AppID, Host: i.Host, Ports: append([]int{}, i.Ports...), ServicePorts: []int{},
		SlaveID: i.AgentID, StagedAt: ts(i.StagedAt), StartedAt: ts(i.StartedAt), Version: i.Version,
		State: i.State, IPAddresses: []ipAddress{}, LocalVolumes: []any{}, Role: app.DefaultRole,
	}
	if i.KillRequested && !i.KillHeld() && i.State != instance.Killing { // a held kill waits: the task still runs
		t.State = instance.Killing
	}
	for _, ip := range i.IPAddresses {
		proto := "IPv4"
		for _, ch := range ip {
			if ch == ':' {
				proto = "IPv6"
				break
			}
		}
		t.IPAddresses = append(t.IPAddresses, ipAddress{IPAddress: ip, Protocol: proto})
	}
	if a != nil {
		t.ServicePorts = a.ServicePorts()
		t.Role = a.Role
		if len(a.HealthChecks) > 0 {
			results := []healthResult{}
			if h := i.Health; h != nil {
				r := healthResult{
					Alive: h.Alive, ConsecutiveFailures: h.ConsecutiveFailures, FirstSuccess: tsPtr(h.FirstSuccess),
					LastSuccess: tsPtr(h.LastSuccess), LastFailure: tsPtr(h.LastFailure), TaskID: i.TaskID, InstanceID: i.TaskID,
				}
				if h.LastFailureCause != "" {
					cause := h.LastFailureCause
					r.LastFailureCause = &cause
				}
				results = append(results, r)
			}
			t.HealthCheckResults = &results
		}
	}
	return t
}
