package agent

import (
	"encoding/json"
	"net/http"
	"sort"
	"strconv"

	"google.golang.org/protobuf/proto"

	"strata/kernel/mesos/codec"
	"strata/kernel/mesos/mesospb"
	"strata/kernel/mesos/resources"
	"strata/kernel/version"
)

// The /state document follows the Mesos agent's, field for field where
// tools read them (the DC/OS CLI and UI read executors[].directory).

func (a *Agent) state(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, a.stateJSON())
}

func (a *Agent) stateJSON() map[string]any {
	vi := version.Get()
	flags := a.flags()
	a.mu.Lock()
	defer a.mu.Unlock()
	out := map[string]any{
		"version":              vi.Version,
		"strata_version":       vi.Strata,
		"git_sha":              vi.GitSHA,
		"git_branch":           vi.GitBranch,
		"build_date":           vi.BuildDate,
		"build_time":           vi.BuildTime,
		"build_user":           vi.BuildUser,
		"start_time":           float64(a.startTime.UnixNano()) / 1e9,
		"id":                   a.agentID,
		"pid":                  "slave(1)@" + a.addr,
		"hostname":             a.info.GetHostname(),
		"capabilities":         capabilityNames(),
		"resources":            resources.StateJSON(a.info.GetResources()),
		"unreserved_resources": resources.StateJSON(resources.UnreservedOnly(a.info.GetResources())),
		"attributes":           resources.AttributesStateJSON(a.info.GetAttributes()),
		"flags":                flags,
		"isolation":            a.cz.Isolation(),
	}
	reserved := map[string]any{}
	for role, rs := range resources.ReservedByRole(a.info.GetResources()) {
		reserved[role] = resources.StateJSON(rs)
	}
	out["reserved_resources"] = reserved
	if a.masterInfo != nil {
		out["master_hostname"] = a.masterInfo.GetHostname()
	}
	frameworks := []any{}
	for _, f := range a.sortedFrameworks() {
		frameworks = append(frameworks, a.frameworkJSON(f))
	}
	out["frameworks"] = frameworks
	completed := []any{}
	for _, f := range a.completedFrameworks {
		completed = append(completed, a.frameworkJSON(f))
	}
	out["completed_frameworks"] = completed
	return out
}

func capabilityNames() []string {
	var out []string
	for _, c := range agentCapabilities() {
		out = append(out, c.GetType().String())
	}
	return out
}

func (a *Agent) sortedFrameworks() []*framework {
	out := make([]*framework, 0, len(a.frameworks))
	for _, f := range a.frameworks {
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

func (a *Agent) frameworkJSON(f *framework) map[string]any {
	fi := f.info
	caps := []string{}
	for _, c := range fi.GetCapabilities() {
		caps = append(caps, c.GetType().String())
	}
	out := map[string]any{
		"id":               f.id,
		"name":             fi.GetName(),
		"user":             fi.GetUser(),
		"failover_timeout": fi.GetFailoverTimeout(),
		"checkpoint":       fi.GetCheckpoint(),
		"hostname":         fi.GetHostname(),
		"capabilities":     caps,
		"role":             fi.GetRole(),
	}
	if len(fi.GetRoles()) > 0 {
		out["roles"] = fi.GetRoles()
	}
	if fi.Principal != nil {
		out["principal"] = fi.GetPrincipal()
	}
	execs := []any{}
	for _, e := range f.sortedExecutors() {
		execs = append(execs, a.executorJSON(e))
	}
	out["executors"] = execs
	completed := []any{}
	for _, e := range f.completed {
		completed = append(completed, a.executorJSON(e))
	}
	out["completed_executors"] = completed
	return out
}

func (a *Agent) executorJSON(e *executor) map[string]any {
	typ := e.info.GetType().String()
	switch {
	case e.info.Type != nil:
	case e.kind == defaultExecutor:
		typ = mesospb.ExecutorInfo_DEFAULT.String()
	default:
		typ = mesospb.ExecutorInfo_CUSTOM.String()
	}
	out := map[string]any{
		"id":           e.id,
		"name":         e.info.GetName(),
		"source":       e.info.GetSource(),
		"container":    e.containerID,
		"directory":    e.directory,
		"resources":    resources.StateJSON(e.resources()),
		"type":         typ,
		"framework_id": e.fw.id,
		"role":         e.fw.info.GetRole(),
		"labels":       labelsJSON(e.info.GetLabels()),
	}
	queued, launched, done := []any{}, []any{}, []any{}
	for _, t := range e.queuedTasks() {
		queued = append(queued, taskJSON(t.t))
	}
	for _, t := range e.launchedTasks() {
		launched = append(launched, taskJSON(t.t))
	}
	for _, t := range e.finished {
		done = append(done, taskJSON(t))
	}
	out["queued_tasks"] = queued
	out["tasks"] = launched
	out["completed_tasks"] = done
	return out
}

func labelsJSON(l *mesospb.Labels) []any {
	out := []any{}
	for _, kv := range l.GetLabels() {
		m := map[string]any{"key": kv.GetKey()}
		if kv.Value != nil {
			m["value"] = kv.GetValue()
		}
		out = append(out, m)
	}
	return out
}

// protoJSON renders a message in the Mesos JSON style for embedding.
func protoJSON(m proto.Message) json.RawMessage {
	b, err := codec.MarshalJSON(m)
	if err != nil {
		return json.RawMessage("{}")
	}
	return b
}

func taskJSON(t *mesospb.Task) map[string]any {
	out := map[string]any{
		"id":           t.GetTaskId().GetValue(),
		"name":         t.GetName(),
		"framework_id": t.GetFrameworkId().GetValue(),
		"executor_id":  t.GetExecutorId().GetValue(),
		"slave_id":     t.GetAgentId().GetValue(),
		"state":        t.GetState().String(),
		"resources":    resources.StateJSON(t.GetResources()),
		"labels":       labelsJSON(t.GetLabels()),
	}
	if t.User != nil {
		out["user"] = t.GetUser()
	}
	statuses := []any{}
	for _, s := range t.GetStatuses() {
		st := map[string]any{"state": s.GetState().String(), "timestamp": s.GetTimestamp()}
		if s.Healthy != nil {
			st["healthy"] = s.GetHealthy()
		}
		if s.Labels != nil {
			st["labels"] = labelsJSON(s.GetLabels())
		}
		if s.ContainerStatus != nil {
			st["container_status"] = protoJSON(s.GetContainerStatus())
		}
		statuses = append(statuses, st)
	}
	out["statuses"] = statuses
	if t.Discovery != nil {
		out["discovery"] = protoJSON(t.GetDiscovery())
	}
	if t.Container != nil {
		out["container"] = protoJSON(t.GetContainer())
	}
	if t.HealthCheck != nil {
		out["health_check"] = protoJSON(t.GetHealthCheck())
	}
	return out
}

// flags returns the effective configuration in Mesos flag names.
func (a *Agent) flags() map[string]string {
	c := a.cfg
	b := func(v bool) string {
		if v {
			return "true"
		}
		return "false"
	}
	flags := map[string]string{
		"work_dir":                        c.WorkDir,
		"ip":                              a.listenIP,
		"advertise_ip":                    a.advertisedIP,
		"hostname":                        c.Hostname,
		"port":                            itoa(a.port),
		"master":                          c.Master,
		"resources":                       c.Resources,
		"attributes":                      c.Attributes,
		"registration_backoff_factor":     mesosDuration(c.RegistrationBackoffFactor),
		"executor_registration_timeout":   mesosDuration(c.ExecutorRegistrationTimeout),
		"executor_reregistration_timeout": mesosDuration(c.ExecutorReregistrationTimeout),
		"executor_shutdown_grace_period":  mesosDuration(c.ExecutorShutdownGracePeriod),
		"status_update_retry_min":         mesosDuration(c.StatusUpdateRetryMin),
		"status_update_retry_max":         mesosDuration(c.StatusUpdateRetryMax),
		"recovery_timeout":                mesosDuration(c.RecoveryTimeout),
		"agent_ping_timeout":              mesosDuration(c.PingInterval),
		"max_agent_ping_timeouts":         itoa(c.MaxPingTimeouts),
		"isolation":                       a.cz.Isolation(),
		"isolation_requested":             c.Isolation,
		"cgroups_enable_cfs":              b(c.CgroupsEnableCFS),
		"container_pids_max":              strconv.FormatUint(c.ContainerPidsMax, 10),
		"enforce_container_disk_quota":    b(c.EnforceContainerDiskQuota),
		"container_disk_watch_interval":   mesosDuration(c.ContainerDiskWatchInterval),
		"sandbox_log_max_size":            strconv.FormatInt(c.SandboxLogMaxSize, 10),
		"sandbox_log_keep":                itoa(c.SandboxLogKeep),
		"recover":                         "reconnect",
		"strict":                          "false",
		"switch_user":                     b(osIsRoot()),
		"kill_tasks_on_exit":              b(c.KillTasksOnExit),
		"launcher":                        c.Executable,
	}
	// podman, podman_socket and podman_status: whether image containers
	// can run here, and why not.
	if c.Images != nil {
		for k, v := range c.Images.Flags() {
			flags[k] = v
		}
	} else {
		flags["podman"] = "off"
		flags["podman_status"] = "off (the agent was started without podman support)"
	}
	return flags
}

func (a *Agent) flagsHandler(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, map[string]any{"flags": a.flags()})
}
