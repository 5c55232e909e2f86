package feed

import (
	"net/netip"
	"time"

	"strata/dns/records"
	"strata/kernel/mesos/masterpb"
)

// This file applies operator events to a records.Set. A view is used by one goroutine at a
// time (the feed's Run loop); the Set it writes is safe for concurrent readers.

// maxStatuses bounds the statuses kept per task, as the master keeps 16.
const maxStatuses = 16

type taskKey struct{ fw, id string }

// view mirrors the model the feed gave the Set: the Set keeps its model private, and a
// TASK_UPDATED carries only a status and a state, so the feed keeps each task to apply the
// update to. The mirror is complete (the tests check that a Replace with it gives the Set's
// records). The slices of a stored Task are shared with the Set and never modified in place.
type view struct {
	set        *records.Set
	tasks      map[taskKey]records.Task
	agents     map[string]records.Agent
	frameworks map[string]records.Framework
	leader     string
	masters    []string
	// carried lists, by agent ID, the tasks carried over from the previous session for agents
	// the new leader knows from its registry but that have not re-registered yet.
	carried      map[string]map[taskKey]struct{}
	carriedSince time.Time
	// hostAddrs, if not nil, returns the known addresses of a scheduler's or agent's host
	// name (and starts a lookup when it has none); see resolve.go.
	hostAddrs func(host string) []netip.Addr
}

func newView(set *records.Set) *view {
	return &view{set: set, tasks: map[taskKey]records.Task{}, agents: map[string]records.Agent{},
		frameworks: map[string]records.Framework{}, carried: map[string]map[taskKey]struct{}{}}
}

// outcome describes what applying one event did, for logs and metrics.
type outcome struct {
	// taskUpdate is set for a TASK_UPDATED of a known task; statusTime is then the status'
	// timestamp in seconds since the epoch (0 if it had none).
	taskUpdate bool
	statusTime float64
	// ignored is set when the event referred to nothing the feed knows or lacked its body.
	ignored bool
}

// replace loads a SUBSCRIBED snapshot into the Set (one Set.Replace), carrying over the
// agents and tasks of recovered agents (see the package documentation), and returns the
// number of tasks carried over.
func (v *view) replace(sub *masterpb.Event_Subscribed, leader string, masters []string, now time.Time) int {
	gs := sub.GetGetState()
	st := convertState(gs)
	st.Leader, st.Masters = leader, masters
	for i := range st.Agents {
		v.resolveAgent(&st.Agents[i])
	}
	for i := range st.Frameworks {
		v.resolveFramework(&st.Frameworks[i])
	}

	inNew := make(map[string]bool, len(st.Agents))
	for _, a := range st.Agents {
		inNew[a.ID] = true
	}
	newTasks := make(map[taskKey]bool, len(st.Tasks))
	for _, t := range st.Tasks {
		newTasks[taskKey{t.FrameworkID, t.ID}] = true
	}
	carried := map[string]map[taskKey]struct{}{}
	var byAgent map[string][]taskKey
	n := 0
	for _, info := range gs.GetGetAgents().GetRecoveredAgents() {
		id := info.GetId().GetValue()
		old, known := v.agents[id]
		if id == "" || inNew[id] || !known || carried[id] != nil {
			continue
		}
		if byAgent == nil {
			byAgent = map[string][]taskKey{}
			for k, t := range v.tasks {
				byAgent[t.AgentID] = append(byAgent[t.AgentID], k)
			}
		}
		inNew[id] = true
		st.Agents = append(st.Agents, old)
		keys := map[taskKey]struct{}{}
		for _, k := range byAgent[id] {
			if !newTasks[k] {
				st.Tasks = append(st.Tasks, v.tasks[k])
				keys[k] = struct{}{}
				n++
			}
		}
		carried[id] = keys
	}

	v.set.Replace(st)
	v.tasks = make(map[taskKey]records.Task, len(st.Tasks))
	for _, t := range st.Tasks {
		v.tasks[taskKey{t.FrameworkID, t.ID}] = t
	}
	v.agents = make(map[string]records.Agent, len(st.Agents))
	for _, a := range st.Agents {
		v.agents[a.ID] = a
	}
	v.frameworks = make(map[string]records.Framework, len(st.Frameworks))
	for _, f := range st.Frameworks {
		v.frameworks[f.ID] = f
	}
	v.leader, v.masters = leader, masters
	v.carried, v.carriedSince = carried, now
	return n
}

// setMasters points the leader and master names at leader (a PID) and masters, between
// snapshots: when the detector names a new leader before its snapshot arrives.
func (v *view) setMasters(leader string, masters []string) {
	v.set.SetMasters(leader, masters)
	v.leader, v.masters = leader, masters
}

// apply applies one event other than SUBSCRIBED.
func (v *view) apply(ev *masterpb.Event) outcome {
	switch ev.GetType() {
	case masterpb.Event_TASK_ADDED:
		t, ok := convertTask(ev.GetTaskAdded().GetTask())
		if !ok {
			return outcome{ignored: true}
		}
		v.upsertTask(t)
	case masterpb.Event_TASK_UPDATED:
		return v.taskUpdated(ev.GetTaskUpdated())
	case masterpb.Event_AGENT_ADDED:
		a, ok := convertAgent(ev.GetAgentAdded().GetAgent())
		if !ok {
			return outcome{ignored: true}
		}
		v.resolveAgent(&a)
		v.agents[a.ID] = a
		v.set.UpsertAgent(a)
		// The master reports a re-registering agent's tasks before the agent itself: what was
		// carried over and not reported since is gone.
		v.dropCarried(a.ID)
	case masterpb.Event_AGENT_REMOVED:
		id := ev.GetAgentRemoved().GetAgentId().GetValue()
		if id == "" {
			return outcome{ignored: true}
		}
		v.dropCarried(id)
		delete(v.agents, id)
		v.set.RemoveAgent(id)
	case masterpb.Event_FRAMEWORK_ADDED:
		return v.upsertFramework(ev.GetFrameworkAdded().GetFramework())
	case masterpb.Event_FRAMEWORK_UPDATED:
		return v.upsertFramework(ev.GetFrameworkUpdated().GetFramework())
	case masterpb.Event_FRAMEWORK_REMOVED:
		id := ev.GetFrameworkRemoved().GetFrameworkInfo().GetId().GetValue()
		if id == "" {
			return outcome{ignored: true}
		}
		for k, t := range v.tasks {
			if k.fw == id {
				v.forget(k, t.AgentID)
			}
		}
		delete(v.frameworks, id)
		v.set.RemoveFramework(id)
	case masterpb.Event_HEARTBEAT:
	default:
		return outcome{ignored: true}
	}
	return outcome{}
}

func (v *view) upsertFramework(f *masterpb.Response_GetFrameworks_Framework) outcome {
	rf, ok := convertFramework(f.GetFrameworkInfo())
	if !ok {
		return outcome{ignored: true}
	}
	v.resolveFramework(&rf)
	v.frameworks[rf.ID] = rf
	v.set.UpsertFramework(rf)
	return outcome{}
}

// resolveAgent and resolveFramework fill in the addresses of a host name that is not an IP
// literal, as far as they are known (the records package does no lookups).
func (v *view) resolveAgent(a *records.Agent) {
	if h := lookupHost(a.PID, a.Hostname); h != "" && v.hostAddrs != nil {
		a.IPs = v.hostAddrs(h)
	}
}

func (v *view) resolveFramework(f *records.Framework) {
	if h := lookupHost(f.PID, f.Hostname); h != "" && v.hostAddrs != nil {
		f.IPs = v.hostAddrs(h)
	}
}

// resolved republishes the agents and frameworks whose host name is host, after a lookup
// changed its addresses.
func (v *view) resolved(host string) {
	for id, a := range v.agents {
		if lookupHost(a.PID, a.Hostname) == host {
			v.resolveAgent(&a)
			v.agents[id] = a
			v.set.UpsertAgent(a)
		}
	}
	for id, f := range v.frameworks {
		if lookupHost(f.PID, f.Hostname) == host {
			v.resolveFramework(&f)
			v.frameworks[id] = f
			v.set.UpsertFramework(f)
		}
	}
}

// upsertTask stores and publishes a task, or removes it if its state is terminal.
func (v *view) upsertTask(t records.Task) {
	k := taskKey{t.FrameworkID, t.ID}
	if old, ok := v.tasks[k]; ok {
		v.uncarry(k, old.AgentID)
	}
	if records.IsTerminal(t.State) {
		v.removeTask(k)
		return
	}
	v.tasks[k] = t
	v.set.UpsertTask(t)
}

// taskUpdated applies TASK_UPDATED: the task takes the event's state (the latest the master
// knows, which may be ahead of the status) and the status joins the task's statuses.
func (v *view) taskUpdated(u *masterpb.Event_TaskUpdated) outcome {
	st := u.GetStatus()
	k := taskKey{u.GetFrameworkId().GetValue(), st.GetTaskId().GetValue()}
	t, ok := v.tasks[k]
	if !ok {
		// The master announces every task with TASK_ADDED first; an update of a task the
		// feed does not know carries no name and cannot make records.
		return outcome{ignored: true}
	}
	rs := convertStatus(st)
	state := rs.State
	if u.State != nil {
		state = u.GetState().String()
	}
	t.State = state
	t.Statuses = mergeStatus(t.Statuses, rs)
	v.upsertTask(t)
	return outcome{taskUpdate: true, statusTime: rs.Timestamp}
}

// removeTask forgets a task and removes its records.
func (v *view) removeTask(k taskKey) {
	if t, ok := v.tasks[k]; ok {
		v.forget(k, t.AgentID)
	}
	v.set.RemoveTask(k.fw, k.id)
}

// forget drops a task from the view only.
func (v *view) forget(k taskKey, agentID string) {
	v.uncarry(k, agentID)
	delete(v.tasks, k)
}

func (v *view) uncarry(k taskKey, agentID string) {
	if c := v.carried[agentID]; c != nil {
		delete(c, k)
		if len(c) == 0 {
			delete(v.carried, agentID)
		}
	}
}

// dropCarried removes the tasks still carried over for an agent.
func (v *view) dropCarried(agentID string) {
	c := v.carried[agentID]
	delete(v.carried, agentID)
	for k := range c {
		delete(v.tasks, k)
		v.set.RemoveTask(k.fw, k.id)
	}
}

// expireCarried gives up on carried-over agents that did not re-register within timeout of
// the snapshot: the master marks them unreachable without an operator event. It returns the
// number of agents dropped.
func (v *view) expireCarried(now time.Time, timeout time.Duration) int {
	if len(v.carried) == 0 || now.Sub(v.carriedSince) < timeout {
		return 0
	}
	n := 0
	for id := range v.carried {
		v.dropCarried(id)
		delete(v.agents, id)
		v.set.RemoveAgent(id)
		n++
	}
	return n
}

// carriedTasks counts the tasks still carried over.
func (v *view) carriedTasks() int {
	n := 0
	for _, c := range v.carried {
		n += len(c)
	}
	return n
}

// mergeStatus is records.MergeStatus keeping at most maxStatuses (the newest).
func mergeStatus(statuses []records.Status, st records.Status) []records.Status {
	out := records.MergeStatus(statuses, st)
	if len(out) > maxStatuses {
		out = out[len(out)-maxStatuses:]
	}
	return out
}
