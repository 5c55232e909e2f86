package master

import (
	"encoding/json"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"google.golang.org/protobuf/proto"

	"strata/kernel/allocator"
	"strata/kernel/mesos/codec"
	"strata/kernel/mesos/masterpb"
	"strata/kernel/mesos/mesospb"
	"strata/kernel/version"
)

// The legacy read-only JSON endpoints (/master/state and friends), shaped the way Mesos-DNS, the
// DC/OS UI and old tools read them. Resources are maps there: cpus, gpus, mem and disk always
// present, ranges as "[b-e, b-e]" strings, sets as "{a, b}".

type jsonObj = map[string]any

func secs(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

// resourceMap converts allocator resources to the legacy map form.
func resourceMap(r allocator.Resources) jsonObj {
	out := jsonObj{"cpus": 0.0, "gpus": 0.0, "mem": 0.0, "disk": 0.0}
	ranges := map[string][]allocator.Range{}
	sets := map[string][]string{}
	for _, it := range r.Items() {
		switch it.Kind {
		case allocator.Scalar:
			v, _ := out[it.Name].(float64)
			out[it.Name] = v + it.Scalar
		case allocator.Ranges:
			ranges[it.Name] = append(ranges[it.Name], it.Ranges...)
		case allocator.Set:
			sets[it.Name] = append(sets[it.Name], it.Set...)
		}
	}
	for name, rs := range ranges {
		var norm allocator.Resources
		norm.AddRanges(allocator.Unreserved, name, rs...)
		var parts []string
		for _, it := range norm.Items() {
			for _, rg := range it.Ranges {
				parts = append(parts, rangeString(rg))
			}
		}
		out[name] = "[" + strings.Join(parts, ", ") + "]"
	}
	for name, items := range sets {
		out[name] = "{" + strings.Join(items, ", ") + "}"
	}
	return out
}

func rangeString(rg allocator.Range) string {
	return formatUint(rg.Begin) + "-" + formatUint(rg.End)
}

func formatUint(v uint64) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// protoJSON renders a message in Mesos JSON for embedding.
func protoJSON(msg proto.Message) json.RawMessage {
	b, err := codec.JSON.Marshal(msg)
	if err != nil {
		return json.RawMessage("null")
	}
	return b
}

func attributesJSON(info *mesospb.AgentInfo) jsonObj {
	out := jsonObj{}
	for _, at := range info.GetAttributes() {
		switch at.GetType() {
		case mesospb.Value_TEXT:
			out[at.GetName()] = at.GetText().GetValue()
		case mesospb.Value_SCALAR:
			out[at.GetName()] = at.GetScalar().GetValue()
		case mesospb.Value_RANGES:
			var rs allocator.Resources
			for _, rg := range at.GetRanges().GetRange() {
				rs.AddRanges(allocator.Unreserved, "x", allocator.Range{Begin: rg.GetBegin(), End: rg.GetEnd()})
			}
			out[at.GetName()] = resourceMap(rs)["x"]
		case mesospb.Value_SET:
			out[at.GetName()] = "{" + strings.Join(at.GetSet().GetItem(), ", ") + "}"
		}
	}
	return out
}

func (m *Master) taskJSON(t *task) jsonObj {
	tk := t.t
	statuses := make([]jsonObj, 0, len(tk.GetStatuses()))
	for _, st := range tk.GetStatuses() {
		s := jsonObj{"state": st.GetState().String(), "timestamp": st.GetTimestamp()}
		if st.Labels != nil {
			s["labels"] = labelsJSON(st.Labels)
		}
		if st.Healthy != nil {
			s["healthy"] = st.GetHealthy()
		}
		if st.ContainerStatus != nil {
			s["container_status"] = containerStatusJSON(st.ContainerStatus)
		}
		statuses = append(statuses, s)
	}
	out := jsonObj{
		"id":           tk.GetTaskId().GetValue(),
		"name":         tk.GetName(),
		"framework_id": tk.GetFrameworkId().GetValue(),
		"executor_id":  tk.GetExecutorId().GetValue(),
		"slave_id":     tk.GetAgentId().GetValue(),
		"state":        tk.GetState().String(),
		"resources":    resourceMap(t.res),
		"role":         t.role,
		"user":         tk.GetUser(),
		"statuses":     statuses,
		"labels":       labelsJSON(tk.GetLabels()),
	}
	if tk.Discovery != nil {
		out["discovery"] = protoJSON(tk.Discovery)
	}
	if tk.Container != nil {
		out["container"] = protoJSON(tk.Container)
	}
	if tk.HealthCheck != nil {
		out["health_check"] = protoJSON(tk.HealthCheck)
	}
	return out
}

// labelsJSON writes Labels the way Mesos' endpoints do: a flat list of {key, value} (Mesos-DNS
// decodes status labels into a slice, so the {"labels": [...]} object form breaks it).
func labelsJSON(ls *mesospb.Labels) []jsonObj {
	out := make([]jsonObj, 0, len(ls.GetLabels()))
	for _, l := range ls.GetLabels() {
		o := jsonObj{"key": l.GetKey()}
		if l.Value != nil {
			o["value"] = l.GetValue()
		}
		out = append(out, o)
	}
	return out
}

// containerStatusJSON writes a ContainerStatus the way Mesos' endpoints do: network infos with
// flat labels, the rest as protobuf JSON.
func containerStatusJSON(cs *mesospb.ContainerStatus) jsonObj {
	out := jsonObj{}
	if cs.ContainerId != nil {
		out["container_id"] = protoJSON(cs.ContainerId)
	}
	if len(cs.GetNetworkInfos()) > 0 {
		infos := make([]jsonObj, 0, len(cs.GetNetworkInfos()))
		for _, ni := range cs.GetNetworkInfos() {
			o := jsonObj{}
			if len(ni.GetGroups()) > 0 {
				o["groups"] = ni.GetGroups()
			}
			if ni.Labels != nil {
				o["labels"] = labelsJSON(ni.Labels)
			}
			if len(ni.GetIpAddresses()) > 0 {
				ips := make([]json.RawMessage, 0, len(ni.GetIpAddresses()))
				for _, ip := range ni.GetIpAddresses() {
					ips = append(ips, protoJSON(ip))
				}
				o["ip_addresses"] = ips
			}
			if ni.Name != nil {
				o["name"] = ni.GetName()
			}
			if len(ni.GetPortMappings()) > 0 {
				pms := make([]json.RawMessage, 0, len(ni.GetPortMappings()))
				for _, pm := range ni.GetPortMappings() {
					pms = append(pms, protoJSON(pm))
				}
				o["port_mappings"] = pms
			}
			infos = append(infos, o)
		}
		out["network_infos"] = infos
	}
	if cs.CgroupInfo != nil {
		out["cgroup_info"] = protoJSON(cs.CgroupInfo)
	}
	return out
}

func (m *Master) agentJSON(a *agent) jsonObj {
	used, offered := a.used(), a.offered()
	reserved := jsonObj{}
	for _, role := range a.total.ReservationRoles() {
		reserved[role] = resourceMap(a.total.Reserved(role))
	}
	port := a.info.GetPort()
	out := jsonObj{
		"id":                   a.id,
		"hostname":             a.info.GetHostname(),
		"port":                 port,
		"pid":                  a.pid,
		"attributes":           attributesJSON(a.info),
		"registered_time":      secs(a.registeredTime),
		"resources":            resourceMap(a.total),
		"used_resources":       resourceMap(used),
		"offered_resources":    resourceMap(offered),
		"reserved_resources":   reserved,
		"unreserved_resources": resourceMap(a.total.Unreserved()),
		"active":               a.active,
		"deactivated":          false,
		"version":              a.version,
		"capabilities":         agentCapNames(a.caps),
	}
	if !a.reregisteredTime.IsZero() {
		out["reregistered_time"] = secs(a.reregisteredTime)
	}
	return out
}

func agentCapNames(caps []*mesospb.AgentInfo_Capability) []string {
	out := []string{}
	for _, c := range caps {
		out = append(out, c.GetType().String())
	}
	return out
}

func (m *Master) frameworkJSON(fw *framework, withTasks bool) jsonObj {
	var used, offered allocator.Resources
	tasks := []jsonObj{}
	for _, t := range sortedTasks(fw.tasks) {
		if !t.released {
			used.Add(t.res)
		}
		if withTasks {
			tasks = append(tasks, m.taskJSON(t))
		}
	}
	offers := []jsonObj{}
	for _, o := range fw.offers {
		offered.Add(o.res)
		offers = append(offers, jsonObj{
			"id":              o.id,
			"framework_id":    fw.id,
			"slave_id":        o.agent.id,
			"resources":       resourceMap(o.res),
			"allocation_info": jsonObj{"role": o.role},
		})
	}
	caps := []string{}
	for _, c := range fw.info.GetCapabilities() {
		caps = append(caps, c.GetType().String())
	}
	out := jsonObj{
		"id":                fw.id,
		"name":              fw.info.GetName(),
		"hostname":          fw.info.GetHostname(),
		"webui_url":         fw.info.GetWebuiUrl(),
		"user":              fw.info.GetUser(),
		"principal":         fw.info.GetPrincipal(),
		"failover_timeout":  m.failoverTimeout(fw.info).Seconds(),
		"checkpoint":        fw.info.GetCheckpoint(),
		"capabilities":      caps,
		"active":            fw.active,
		"connected":         fw.connected,
		"recovered":         fw.recovered,
		"registered_time":   secs(fw.registeredTime),
		"unregistered_time": 0.0,
		"used_resources":    resourceMap(used),
		"offered_resources": resourceMap(offered),
		"resources":         resourceMap(func() allocator.Resources { r := used.Clone(); r.Add(offered); return r }()),
		"offers":            offers,
	}
	if !fw.unregisteredTime.IsZero() {
		out["unregistered_time"] = secs(fw.unregisteredTime)
	}
	if !fw.reregisteredTime.IsZero() && !fw.reregisteredTime.Equal(fw.registeredTime) {
		out["reregistered_time"] = secs(fw.reregisteredTime)
	}
	if fw.multiRole() {
		out["roles"] = fw.info.GetRoles()
	} else {
		out["role"] = fw.info.GetRole()
	}
	if fw.info.Labels != nil {
		out["labels"] = labelsJSON(fw.info.Labels)
	}
	if withTasks {
		out["tasks"] = tasks
		unreachable := []jsonObj{}
		for _, t := range fw.unreachableTasks {
			unreachable = append(unreachable, m.taskJSON(t))
		}
		completed := []jsonObj{}
		for _, t := range fw.completedTasks {
			completed = append(completed, m.taskJSON(t))
		}
		out["unreachable_tasks"] = unreachable
		out["completed_tasks"] = completed
		executors := []jsonObj{}
		for agentID, byEx := range fw.executors {
			for _, ex := range byEx {
				executors = append(executors, jsonObj{
					"executor_id":  ex.GetExecutorId().GetValue(),
					"name":         ex.GetName(),
					"framework_id": fw.id,
					"command":      protoJSON(ex.GetCommand()),
					"resources":    resourceMap(toAlloc(ex.GetResources())),
					"type":         ex.GetType().String(),
					"slave_id":     agentID,
					"labels":       labelsJSON(ex.GetLabels()),
				})
			}
		}
		out["executors"] = executors
	}
	return out
}

// writeJSON answers 200 with a JSON body and the exact Content-Type clients compare.
func writeJSON(c *gin.Context, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		textError(c, http.StatusInternalServerError, "encode: %v", err)
		return
	}
	if cb := c.Query("jsonp"); cb != "" {
		c.Data(http.StatusOK, "text/javascript", []byte(cb+"("+string(b)+");"))
		return
	}
	c.Data(http.StatusOK, "application/json", b)
}

func (m *Master) handleState(c *gin.Context) {
	m.mu.Lock()
	v := version.Get()
	frameworks := []jsonObj{}
	for _, fw := range m.sortedFrameworks() {
		frameworks = append(frameworks, m.frameworkJSON(fw, true))
	}
	completed := []jsonObj{}
	for _, fw := range m.completedFrameworks {
		completed = append(completed, m.frameworkJSON(fw, true))
	}
	slaves := []jsonObj{}
	active, inactive := 0, 0
	for _, a := range m.sortedAgents() {
		slaves = append(slaves, m.agentJSON(a))
		if a.active {
			active++
		} else {
			inactive++
		}
	}
	recovered := []jsonObj{}
	for _, rec := range m.recoveredAgents {
		recovered = append(recovered, jsonObj{"id": rec.ID, "hostname": rec.Hostname})
	}
	leaderAddr := m.info.GetAddress()
	state := jsonObj{
		"version":            v.Version,
		"strata_version":     v.Strata,
		"git_sha":            v.GitSHA,
		"git_branch":         v.GitBranch,
		"build_date":         v.BuildDate,
		"build_time":         v.BuildTime,
		"build_user":         v.BuildUser,
		"start_time":         secs(m.startTime),
		"elected_time":       secs(m.electedTime),
		"id":                 m.id,
		"pid":                m.pid(),
		"hostname":           m.cfg.Hostname,
		"activated_slaves":   active,
		"deactivated_slaves": inactive,
		"unreachable_slaves": len(m.unreachableAgents),
		"leader":             m.pid(),
		"leader_info": jsonObj{
			"id": m.id, "pid": m.pid(), "port": m.info.GetPort(), "hostname": m.cfg.Hostname,
			"address": jsonObj{"hostname": leaderAddr.GetHostname(), "ip": leaderAddr.GetIp(), "port": leaderAddr.GetPort()},
		},
		"capabilities":            []string{"AGENT_UPDATE"},
		"cluster":                 m.cfg.Cluster,
		"flags":                   m.cfg.Flags,
		"slaves":                  slaves,
		"recovered_slaves":        recovered,
		"frameworks":              frameworks,
		"completed_frameworks":    completed,
		"orphan_tasks":            []jsonObj{},
		"unregistered_frameworks": []string{},
	}
	if state["flags"] == nil {
		state["flags"] = map[string]string{}
	}
	m.mu.Unlock()
	writeJSON(c, state)
}

var taskStateNames = []mesospb.TaskState{
	mesospb.TaskState_TASK_STAGING, mesospb.TaskState_TASK_STARTING, mesospb.TaskState_TASK_RUNNING,
	mesospb.TaskState_TASK_KILLING, mesospb.TaskState_TASK_FINISHED, mesospb.TaskState_TASK_KILLED,
	mesospb.TaskState_TASK_FAILED, mesospb.TaskState_TASK_LOST, mesospb.TaskState_TASK_ERROR,
	mesospb.TaskState_TASK_UNREACHABLE,
}

func countStates(dst jsonObj, ts []*task) {
	for _, s := range taskStateNames {
		if _, ok := dst[s.String()]; !ok {
			dst[s.String()] = 0
		}
	}
	for _, t := range ts {
		k := t.t.GetState().String()
		n, _ := dst[k].(int)
		dst[k] = n + 1
	}
}

// handleStateSummary serves /master/state-summary. Task counts per agent and per framework cover
// active, unreachable and completed tasks, as in Mesos; an agent's framework_ids and a framework's
// slave_ids link the two through active tasks and executors.
func (m *Master) handleStateSummary(c *gin.Context) {
	m.mu.Lock()
	agentTasks := map[string][]*task{}
	agentFws := map[string]map[string]bool{}
	fwAgents := map[string]map[string]bool{}
	link := func(fwID, agentID string) {
		if agentFws[agentID] == nil {
			agentFws[agentID] = map[string]bool{}
		}
		if fwAgents[fwID] == nil {
			fwAgents[fwID] = map[string]bool{}
		}
		agentFws[agentID][fwID] = true
		fwAgents[fwID][agentID] = true
	}
	fwTasks := func(fw *framework) []*task {
		ts := make([]*task, 0, len(fw.tasks)+len(fw.unreachableTasks)+len(fw.completedTasks))
		for _, t := range fw.tasks {
			ts = append(ts, t)
			link(fw.id, t.t.GetAgentId().GetValue())
		}
		ts = append(ts, fw.unreachableTasks...)
		ts = append(ts, fw.completedTasks...)
		for agentID := range fw.executors {
			link(fw.id, agentID)
		}
		for _, t := range ts {
			id := t.t.GetAgentId().GetValue()
			agentTasks[id] = append(agentTasks[id], t)
		}
		return ts
	}
	summarize := func(fw *framework) jsonObj {
		f := m.frameworkJSON(fw, false)
		countStates(f, fwTasks(fw))
		return f
	}
	frameworks := []jsonObj{}
	for _, fw := range m.sortedFrameworks() {
		frameworks = append(frameworks, summarize(fw))
	}
	completed := []jsonObj{}
	for _, fw := range m.completedFrameworks {
		completed = append(completed, summarize(fw))
	}
	for _, f := range append(append([]jsonObj{}, frameworks...), completed...) {
		f["slave_ids"] = sortedKeys(fwAgents[f["id"].(string)])
	}
	slaves := []jsonObj{}
	for _, a := range m.sortedAgents() {
		s := m.agentJSON(a)
		countStates(s, agentTasks[a.id])
		s["framework_ids"] = sortedKeys(agentFws[a.id])
		slaves = append(slaves, s)
	}
	out := jsonObj{"hostname": m.cfg.Hostname, "cluster": m.cfg.Cluster, "slaves": slaves, "frameworks": frameworks, "completed_frameworks": completed}
	m.mu.Unlock()
	writeJSON(c, out)
}

func sortedKeys(set map[string]bool) []string {
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func (m *Master) handleFrameworks(c *gin.Context) {
	m.mu.Lock()
	frameworks := []jsonObj{}
	for _, fw := range m.sortedFrameworks() {
		frameworks = append(frameworks, m.frameworkJSON(fw, true))
	}
	completed := []jsonObj{}
	for _, fw := range m.completedFrameworks {
		completed = append(completed, m.frameworkJSON(fw, true))
	}
	m.mu.Unlock()
	writeJSON(c, jsonObj{"frameworks": frameworks, "completed_frameworks": completed, "unregistered_frameworks": []string{}})
}

func (m *Master) handleSlaves(c *gin.Context) {
	m.mu.Lock()
	slaves := []jsonObj{}
	for _, a := range m.sortedAgents() {
		slaves = append(slaves, m.agentJSON(a))
	}
	recovered := []jsonObj{}
	for _, rec := range m.recoveredAgents {
		recovered = append(recovered, jsonObj{"id": rec.ID, "hostname": rec.Hostname})
	}
	m.mu.Unlock()
	writeJSON(c, jsonObj{"slaves": slaves, "recovered_slaves": recovered})
}

// handleTasks serves /master/tasks with Mesos' limit, offset, order and framework_id/task_id
// filters.
func (m *Master) handleTasks(c *gin.Context) {
	limit, offset := 100, 0
	if v := c.Query("limit"); v != "" {
		var err error
		if limit, err = strconv.Atoi(v); err != nil || limit < 0 {
			textError(c, http.StatusBadRequest, "Failed to parse 'limit': %q is not a non-negative integer", v)
			return
		}
	}
	if v := c.Query("offset"); v != "" {
		var err error
		if offset, err = strconv.Atoi(v); err != nil || offset < 0 {
			textError(c, http.StatusBadRequest, "Failed to parse 'offset': %q is not a non-negative integer", v)
			return
		}
	}
	order := c.DefaultQuery("order", "des")
	if order != "asc" && order != "des" {
		textError(c, http.StatusBadRequest, "'order' must be 'asc' or 'des'")
		return
	}
	fwFilter, taskFilter := c.Query("framework_id"), c.Query("task_id")
	m.mu.Lock()
	var all []*task
	add := func(ts ...*task) {
		for _, t := range ts {
			if (fwFilter == "" || t.fw.id == fwFilter) && (taskFilter == "" || t.id() == taskFilter) {
				all = append(all, t)
			}
		}
	}
	for _, fw := range m.sortedFrameworks() {
		add(sortedTasks(fw.tasks)...)
		add(fw.unreachableTasks...)
		add(fw.completedTasks...)
	}
	sortTasksByTime(all, order == "asc")
	out := []jsonObj{}
	for i := offset; i < len(all) && len(out) < limit; i++ {
		out = append(out, m.taskJSON(all[i]))
	}
	m.mu.Unlock()
	writeJSON(c, jsonObj{"tasks": out})
}

func taskTime(t *task) float64 {
	if n := len(t.t.Statuses); n > 0 {
		return t.t.Statuses[0].GetTimestamp()
	}
	return 0
}

// sortTasksByTime orders tasks by the time of their first status; ties keep their order.
func sortTasksByTime(ts []*task, asc bool) {
	sort.SliceStable(ts, func(i, j int) bool {
		if asc {
			return taskTime(ts[i]) < taskTime(ts[j])
		}
		return taskTime(ts[i]) > taskTime(ts[j])
	})
}

func (m *Master) handleRoles(c *gin.Context) {
	m.mu.Lock()
	roles := []jsonObj{}
	for _, r := range m.getRoles().GetRoles() {
		fws := []string{}
		for _, id := range r.GetFrameworks() {
			fws = append(fws, id.GetValue())
		}
		roles = append(roles, jsonObj{
			"name": r.GetName(), "weight": r.GetWeight(), "frameworks": fws,
			"resources": resourceMap(toAlloc(r.GetResources())),
		})
	}
	m.mu.Unlock()
	writeJSON(c, jsonObj{"roles": roles})
}

// handleWeights serves GET /master/weights: a JSON array of the weights that were set.
func (m *Master) handleWeights(c *gin.Context) {
	m.mu.Lock()
	infos := m.weightInfos()
	m.mu.Unlock()
	out := make([]jsonObj, 0, len(infos))
	for _, wi := range infos {
		out = append(out, jsonObj{"role": wi.GetRole(), "weight": wi.GetWeight()})
	}
	writeJSON(c, out)
}

// handleUpdateWeights serves PUT /master/weights with a JSON array of {role, weight}, the legacy
// form of UPDATE_WEIGHTS.
func (m *Master) handleUpdateWeights(c *gin.Context) {
	body, err := io.ReadAll(io.LimitReader(c.Request.Body, maxBodyBytes))
	if err != nil {
		textError(c, http.StatusBadRequest, "Failed to read request body: %v", err)
		return
	}
	var in []struct {
		Role   string  `json:"role"`
		Weight float64 `json:"weight"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		textError(c, http.StatusBadRequest, "Failed to parse update weights request JSON: %v", err)
		return
	}
	u := &masterpb.Call_UpdateWeights{}
	for _, w := range in {
		u.WeightInfos = append(u.WeightInfos, &mesospb.WeightInfo{Role: proto.String(strings.TrimSpace(w.Role)), Weight: proto.Float64(w.Weight)})
	}
	if _, code, msg := m.updateWeights(u); msg != "" {
		textError(c, code, "%s", msg)
		return
	}
	c.Status(http.StatusOK)
}

func (m *Master) handleFlags(c *gin.Context) {
	flags := m.cfg.Flags
	if flags == nil {
		flags = map[string]string{}
	}
	writeJSON(c, jsonObj{"flags": flags})
}

func (m *Master) handleVersion(c *gin.Context) {
	writeJSON(c, version.Get())
}

// handleRedirect answers 307 to the leader's hostname and port (or 503 when none is known).
func (m *Master) handleRedirect(c *gin.Context) {
	leader, ok := m.leaders.Leader()
	if !ok {
		textError(c, http.StatusServiceUnavailable, "No leader elected")
		return
	}
	c.Header("Location", "//"+leader)
	c.Status(http.StatusTemporaryRedirect)
}

// handleTeardownEndpoint serves POST /master/teardown with frameworkId=<id> (form or query).
func (m *Master) handleTeardownEndpoint(c *gin.Context) {
	id := c.PostForm("frameworkId")
	if id == "" {
		id = c.Query("frameworkId")
	}
	if id == "" {
		textError(c, http.StatusBadRequest, "Missing 'frameworkId' query parameter in the request body")
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	fw := m.frameworks[id]
	if fw == nil {
		textError(c, http.StatusBadRequest, "No framework found with specified ID")
		return
	}
	m.removeFramework(fw, "operator teardown")
	c.Status(http.StatusOK)
}
