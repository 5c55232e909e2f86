package master

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"

	"strata/kernel/mesos/codec"
	"strata/kernel/mesos/internalpb"
	"strata/kernel/mesos/mesospb"
	"strata/kernel/mesos/schedulerpb"
	"strata/kernel/store"
)

const agentStreamHeader = "Strata-Agent-Stream-Id"

// url is the agent's address as Offer.url carries it.
func (a *agent) url() *mesospb.URL {
	host, port, _ := net.SplitHostPort(a.address)
	p, _ := strconv.Atoi(port)
	return &mesospb.URL{
		Scheme:  proto.String("http"),
		Address: &mesospb.Address{Hostname: a.info.Hostname, Ip: proto.String(host), Port: proto.Int32(int32(p))},
		Path:    proto.String("/slave(1)"),
	}
}

// handleAgentCall serves POST /internal/v1/agent.
func (m *Master) handleAgentCall(c *gin.Context) {
	if m.redirectToLeader(c) {
		return
	}
	call := &internalpb.AgentCall{}
	if _, ok := decodeCall(c, call, "AgentCall"); !ok {
		return
	}
	switch call.GetType() {
	case internalpb.AgentCall_REGISTER, internalpb.AgentCall_REREGISTER:
		m.agentSubscribe(c, call)
		return
	case internalpb.AgentCall_UNKNOWN:
		textError(c, http.StatusBadRequest, "Expecting 'type' to be present")
		return
	}
	m.mu.Lock()
	a := m.agents[call.GetAgentId().GetValue()]
	switch {
	case a == nil:
		m.mu.Unlock()
		textError(c, http.StatusForbidden, "Agent is not registered")
		return
	case c.Request.Header.Get(agentStreamHeader) != a.streamID || a.stream == nil:
		m.mu.Unlock()
		textError(c, http.StatusBadRequest, "Missing or stale '%s' header", agentStreamHeader)
		return
	}
	var err error
	switch call.GetType() {
	case internalpb.AgentCall_STATUS_UPDATE:
		if call.StatusUpdate == nil || call.GetStatusUpdate().GetStatus() == nil {
			err = fmt.Errorf("Expecting 'status_update' to be present")
			break
		}
		m.agentStatusUpdate(a, call.GetStatusUpdate())
	case internalpb.AgentCall_EXECUTOR_MESSAGE:
		em := call.GetExecutorMessage()
		if fw := m.frameworks[em.GetFrameworkId().GetValue()]; fw != nil {
			m.sendToFramework(fw, &schedulerpb.Event{
				Type: schedulerpb.Event_MESSAGE.Enum(),
				Message: &schedulerpb.Event_Message{
					AgentId:    &mesospb.AgentID{Value: proto.String(a.id)},
					ExecutorId: em.GetExecutorId(),
					Data:       em.GetData(),
				},
			})
		}
	case internalpb.AgentCall_EXITED_EXECUTOR:
		m.executorExited(a, call.GetExitedExecutor())
	case internalpb.AgentCall_PONG:
		a.lastPong = time.Now()
	default:
		err = fmt.Errorf("unsupported call type %s", call.GetType())
	}
	m.mu.Unlock()
	if err != nil {
		textError(c, http.StatusBadRequest, "%v", err)
		return
	}
	c.Status(http.StatusAccepted)
}

// executorExited handles EXITED_EXECUTOR: the framework hears FAILURE and the executor's resources
// go back. m.mu is held.
func (m *Master) executorExited(a *agent, e *internalpb.AgentCall_ExitedExecutor) {
	fwID, eid := e.GetFrameworkId().GetValue(), e.GetExecutorId().GetValue()
	m.removeExecutor(a, fwID, eid)
	if fw := m.frameworks[fwID]; fw != nil {
		ev := &schedulerpb.Event{
			Type: schedulerpb.Event_FAILURE.Enum(),
			Failure: &schedulerpb.Event_Failure{
				AgentId:    &mesospb.AgentID{Value: proto.String(a.id)},
				ExecutorId: e.GetExecutorId(),
			},
		}
		if e.Status != nil {
			ev.Failure.Status = proto.Int32(e.GetStatus())
		}
		m.sendToFramework(fw, ev)
	}
}

// agentSubscribe handles REGISTER and REREGISTER: the answer is the agent's event stream.
func (m *Master) agentSubscribe(c *gin.Context, call *internalpb.AgentCall) {
	streamID := uuid.NewString()
	stream := newAgentStream(streamID)
	m.mu.Lock()
	a, errMsg, storeErr := m.attachAgent(call, stream)
	m.mu.Unlock()
	if storeErr != nil {
		// Not a refusal: the agent keeps its id and tasks and tries again (an ERROR event would
		// make a re-registering agent start over as a new one, killing its tasks).
		stream.close("store unavailable")
		m.log.Error("cannot admit agent: the store is unavailable", "err", storeErr)
		textError(c, http.StatusServiceUnavailable, "Failed to admit agent: %v", storeErr)
		return
	}
	startStream(c, codec.Protobuf, map[string]string{agentStreamHeader: streamID})
	if errMsg != "" {
		rec, _ := proto.Marshal(agentEventError(errMsg))
		stream.send(rec)
		stream.close(errMsg)
		_ = stream.serve(c.Request.Context(), c.Writer)
		return
	}
	m.triggerAllocation()
	_ = stream.serve(c.Request.Context(), c.Writer)
	m.agentStreamEnded(a, stream)
}

// validateAgentInfo checks what an agent says about itself.
func validateAgentInfo(info *mesospb.AgentInfo) error {
	if info.GetHostname() == "" {
		return fmt.Errorf("agent_info.hostname must be set")
	}
	if err := validateResources(info.GetResources(), ""); err != nil {
		return fmt.Errorf("agent_info.resources: %v", err)
	}
	return nil
}

// attachAgent admits or re-admits an agent on a new stream and queues (RE)REGISTERED. It returns
// an error message instead when the agent may not register, and storeErr, with nothing changed,
// when the store cannot record the admission (the agent should try again later). m.mu is held.
func (m *Master) attachAgent(call *internalpb.AgentCall, stream *eventStream) (_ *agent, errMsg string, storeErr error) {
	now := time.Now()
	re := call.GetType() == internalpb.AgentCall_REREGISTER
	var info *mesospb.AgentInfo
	var address, ver string
	var caps []*mesospb.AgentInfo_Capability
	if re {
		r := call.GetReregister()
		info, address, ver, caps = r.GetAgentInfo(), r.GetAddress(), r.GetVersion(), r.GetCapabilities()
	} else {
		r := call.GetRegister()
		info, address, ver, caps = r.GetAgentInfo(), r.GetAddress(), r.GetVersion(), r.GetCapabilities()
	}
	if info == nil {
		return nil, "Expecting 'agent_info' to be present", nil
	}
	info = proto.Clone(info).(*mesospb.AgentInfo)
	if err := validateAgentInfo(info); err != nil {
		return nil, err.Error(), nil
	}
	if address == "" {
		address = net.JoinHostPort(info.GetHostname(), strconv.Itoa(int(info.GetPort())))
	}
	var id string
	if re {
		id = info.GetId().GetValue()
		if err := validateID("agent_info.id", id); err != nil {
			return nil, err.Error(), nil
		}
		if !m.goneAgents[id].IsZero() {
			return nil, "Agent has been marked gone and may not re-register", nil
		}
	} else {
		id = fmt.Sprintf("%s-S%d", m.id, m.nextAgentID)
		m.nextAgentID++
		info.Id = &mesospb.AgentID{Value: proto.String(id)}
	}

	wasUnreachable := !m.unreachableAgents[id].IsZero()
	ip, _, _ := net.SplitHostPort(address)
	a := &agent{
		id:             id,
		info:           info,
		address:        address,
		pid:            "slave(1)@" + address,
		version:        ver,
		caps:           caps,
		stream:         stream,
		streamID:       stream.id,
		connected:      true,
		active:         true,
		registeredTime: now,
		lastPong:       now,
		total:          toAlloc(info.GetResources()),
		tasks:          map[string]map[string]*task{},
		executors:      map[string]map[string]*mesospb.ExecutorInfo{},
		offers:         map[string]*offer{},
		executorRes:    map[string]map[string]executorAlloc{},
	}
	_ = ip
	rec := m.recoveredAgents[id]
	if rec != nil {
		a.registeredTime = rec.RegisteredAt
		a.reregisteredTime = now
	} else if re {
		a.reregisteredTime = now
	}
	// The admission is durable before anything changes: when the store cannot take it, the master
	// still tracks the agent (and its tasks) as it did.
	if err := m.persistAgent(a, store.AgentAdmitted); err != nil {
		return nil, "", err
	}
	if rec != nil {
		delete(m.recoveredAgents, id)
	}
	delete(m.unreachableAgents, id)
	// prior is what the master tracked on a registered agent that comes back on a new stream; nil
	// when the agent was not registered (new, recovered from the registry, or unreachable).
	var prior map[string]map[string]*task
	if old := m.agents[id]; old != nil {
		// A new stream replaces the old one; the agent's state is rebuilt from what it reports,
		// reconciled against prior.
		if old.stream != nil {
			old.stream.close("agent re-registered")
		}
		prior = old.tasks
		m.removeAgentState(old)
	}
	m.agents[id] = a
	if err := m.alloc.AddAgent(id, info.GetHostname(), a.total, attributeMap(info)); err != nil {
		m.log.Error("allocator add agent", "agent_id", id, "err", err)
	}

	var killTasks []*mesospb.TaskID
	if re {
		killTasks = m.adoptAgentState(a, call.GetReregister(), wasUnreachable, prior, now)
	}
	for _, fw := range m.frameworks {
		for _, t := range fw.tasks {
			if t.agent != nil && t.agent.id == id && t.killPending {
				killTasks = append(killTasks, t.t.TaskId)
				t.killPending = false
			}
		}
	}

	ping := m.cfg.AgentPingTimeout.Seconds()
	maxPings := uint32(m.cfg.MaxAgentPingTimeouts)
	var ev *internalpb.AgentEvent
	if re {
		ev = &internalpb.AgentEvent{
			Type: internalpb.AgentEvent_REREGISTERED.Enum(),
			Reregistered: &internalpb.AgentEvent_Reregistered{
				AgentId: info.GetId(), MasterInfo: m.info,
				PingIntervalSeconds: proto.Float64(ping), MaxPingTimeouts: proto.Uint32(maxPings),
				KillTasks: killTasks,
			},
		}
	} else {
		ev = &internalpb.AgentEvent{
			Type: internalpb.AgentEvent_REGISTERED.Enum(),
			Registered: &internalpb.AgentEvent_Registered{
				AgentId: info.GetId(), MasterInfo: m.info,
				PingIntervalSeconds: proto.Float64(ping), MaxPingTimeouts: proto.Uint32(maxPings),
			},
		}
	}
	m.sendToAgent(a, ev)
	m.log.Info("agent registered", "agent_id", id, "hostname", info.GetHostname(), "address", address, "reregistered", re)
	m.operatorAgentAdded(a)
	return a, "", nil
}

// adoptAgentState rebuilds the master's view of a re-registering agent's frameworks, executors and
// tasks, and returns the tasks the agent must kill. prior holds the tasks the master tracked on the
// agent when it was registered already (nil otherwise): for such an agent the master's view wins,
// so a reported task it does not track (e.g. one it declared LOST when the agent's stream broke) is
// killed, and a tracked task the agent does not report is gone (DROPPED, or LOST for frameworks
// that are not partition aware). m.mu is held.
func (m *Master) adoptAgentState(a *agent, r *internalpb.AgentCall_Reregister, wasUnreachable bool, prior map[string]map[string]*task, now time.Time) []*mesospb.TaskID {
	infos := map[string]*mesospb.FrameworkInfo{}
	for _, fi := range r.GetFrameworks() {
		infos[fi.GetId().GetValue()] = fi
	}
	frameworkFor := func(id string) *framework {
		if m.removedFrameworkIDs[id] {
			return nil
		}
		if fw := m.frameworks[id]; fw != nil {
			return fw
		}
		fi := infos[id]
		if fi == nil {
			return nil
		}
		// A framework this master has not seen: keep it as disconnected until it re-subscribes or
		// its failover timeout expires.
		fw := m.newFramework(proto.Clone(fi).(*mesospb.FrameworkInfo), now)
		fw.recovered = true
		fw.recoveryGrace = m.cfg.AgentReregisterTimeout
		m.allocatorAddOrUpdateFramework(fw)
		m.operatorFrameworkEvent(fw, true)
		m.disconnectFramework(fw, now)
		return fw
	}
	var kill []*mesospb.TaskID
	for _, ex := range r.GetExecutors() {
		fw := frameworkFor(ex.GetFrameworkId().GetValue())
		if fw == nil {
			continue
		}
		role := allocationRole(ex.GetResources(), fw)
		m.addExecutor(fw, a, role, ex)
		if ea := a.executorRes[fw.id][ex.GetExecutorId().GetValue()]; !ea.res.IsEmpty() {
			if err := m.alloc.AddAllocation(a.id, fw.id, role, ea.res); err != nil {
				m.log.Warn("allocator executor allocation", "agent_id", a.id, "err", err)
			}
		}
	}
	for _, tk := range r.GetTasks() {
		fwid := tk.GetFrameworkId().GetValue()
		fw := frameworkFor(fwid)
		if fw == nil {
			kill = append(kill, tk.TaskId)
			continue
		}
		p := prior[fwid][tk.GetTaskId().GetValue()]
		if p != nil {
			delete(prior[fwid], tk.GetTaskId().GetValue())
			if p.fw != fw {
				p = nil
			}
		}
		// A task on an agent the master had written off as unreachable is back: it leaves the
		// unreachable list whatever its state, and a partition-aware framework, which heard
		// TASK_UNREACHABLE (when the agent was marked so, or from reconciliation), is told its
		// state (below).
		takeUnreachable(fw, tk.GetTaskId().GetValue())
		back := wasUnreachable && fw.partitionAware()
		if isTerminal(tk.GetState()) {
			// The agent still holds an unacknowledged terminal update: keep the master's record
			// until the framework acknowledges it. Its resources are free already.
			if p == nil && back {
				p = &task{t: proto.Clone(tk).(*mesospb.Task), fw: fw, role: allocationRole(tk.GetResources(), fw)}
				p.t.AgentId = &mesospb.AgentID{Value: proto.String(a.id)}
				m.sendUpdate(fw, m.reregisteredStatus(p, a, now))
			}
			if p != nil {
				p.agent, p.released = a, true
				p.t.State = tk.GetState().Enum()
				fw.tasks[p.id()] = p
				if a.tasks[fwid] == nil {
					a.tasks[fwid] = map[string]*task{}
				}
				a.tasks[fwid][p.id()] = p
			}
			continue
		}
		if wasUnreachable && !fw.partitionAware() {
			// Non-partition-aware frameworks were told LOST: the task must not come back.
			kill = append(kill, tk.TaskId)
			continue
		}
		if prior != nil && p == nil {
			// The framework was already told this task is terminal: it must not come back.
			kill = append(kill, tk.TaskId)
			continue
		}
		role := allocationRole(tk.GetResources(), fw)
		t := &task{t: proto.Clone(tk).(*mesospb.Task), fw: fw, agent: a, res: toAlloc(tk.GetResources()), role: role}
		t.t.AgentId = &mesospb.AgentID{Value: proto.String(a.id)}
		if p != nil {
			// Keep what only the master knows: a kill waiting for the agent, the update being
			// delivered, and the status history.
			t.killPending = p.killPending
			if t.t.StatusUpdateState == nil {
				t.t.StatusUpdateState, t.t.StatusUpdateUuid = p.t.StatusUpdateState, p.t.StatusUpdateUuid
			}
			if len(t.t.Statuses) == 0 {
				t.t.Statuses = p.t.Statuses
			}
		}
		fw.tasks[t.id()] = t
		if a.tasks[fwid] == nil {
			a.tasks[fwid] = map[string]*task{}
		}
		a.tasks[fwid][t.id()] = t
		if err := m.alloc.AddAllocation(a.id, fw.id, role, t.res); err != nil {
			m.log.Warn("allocator task allocation", "agent_id", a.id, "task_id", t.id(), "err", err)
		}
		m.operatorTaskAdded(t)
		if back {
			// As Mesos does: the framework heard TASK_UNREACHABLE and would otherwise learn that
			// the task runs again only from its next reconciliation (minutes away), keeping its
			// replacement and the returned task both running until then.
			m.sendUpdate(fw, m.reregisteredStatus(t, a, now))
		}
	}
	if wasUnreachable {
		// Tasks written off as unreachable on this agent that it no longer reports ended while it
		// was away (and their end was acknowledged, or lost with the agent's restart): DROPPED.
		for _, fw := range m.frameworks {
			for i := 0; i < len(fw.unreachableTasks); i++ {
				if ut := fw.unreachableTasks[i]; ut.t.GetAgentId().GetValue() == a.id {
					fw.unreachableTasks = append(fw.unreachableTasks[:i], fw.unreachableTasks[i+1:]...)
					i--
					m.transitionTask(ut, mesospb.TaskState_TASK_DROPPED, mesospb.TaskStatus_REASON_RECONCILIATION,
						"Reconciliation: task unknown to the agent after it re-registered", now)
					m.completeTask(ut)
				}
			}
		}
	}
	// Tracked tasks the agent did not report are not running there.
	for fwid, byTask := range prior {
		for _, p := range byTask {
			if fw := m.frameworks[fwid]; fw == nil || fw != p.fw {
				continue
			}
			if !isTerminal(p.t.GetState()) {
				m.transitionTask(p, mesospb.TaskState_TASK_DROPPED, mesospb.TaskStatus_REASON_RECONCILIATION, "Reconciliation: task unknown to the agent", now)
			}
			m.completeTask(p)
		}
	}
	return kill
}

// takeUnreachable removes a task from the framework's unreachable list and returns it (nil when
// it is not there). m.mu is held.
func takeUnreachable(fw *framework, taskID string) *task {
	for i, ut := range fw.unreachableTasks {
		if ut.id() == taskID {
			fw.unreachableTasks = append(fw.unreachableTasks[:i], fw.unreachableTasks[i+1:]...)
			return ut
		}
	}
	return nil
}

// reregisteredStatus is the update a partition-aware framework gets for a task it was told is
// UNREACHABLE when the agent comes back with it: the task's state as the agent reports it, from
// the master (no uuid, nothing to acknowledge), with REASON_AGENT_REREGISTERED (Mesos'
// REASON_SLAVE_REREGISTERED), and what the task's last status said of its container, health and
// checks. It is recorded in the task's status history. m.mu is held.
func (m *Master) reregisteredStatus(t *task, a *agent, now time.Time) *mesospb.TaskStatus {
	st := masterStatus(t.id(), a.id, t.t.GetState(), mesospb.TaskStatus_REASON_AGENT_REREGISTERED,
		"Agent "+a.id+" re-registered", now)
	if t.t.GetExecutorId() != nil {
		st.ExecutorId = t.t.GetExecutorId()
	}
	if n := len(t.t.Statuses); n > 0 {
		last := t.t.Statuses[n-1]
		st.Healthy = last.Healthy
		st.CheckStatus = last.CheckStatus
		st.ContainerStatus = last.ContainerStatus
		st.Labels = last.Labels
	}
	t.t.Statuses = appendStatus(t.t.Statuses, st)
	return st
}

// allocationRole is the role resources were allocated to: their allocation_info, else the
// framework's single role.
func allocationRole(list []*mesospb.Resource, fw *framework) string {
	for _, r := range list {
		if r.AllocationInfo != nil {
			return r.GetAllocationInfo().GetRole()
		}
	}
	return fw.roles()[0]
}

func attributeMap(info *mesospb.AgentInfo) map[string]string {
	out := map[string]string{}
	for _, at := range info.GetAttributes() {
		switch at.GetType() {
		case mesospb.Value_TEXT:
			out[at.GetName()] = at.GetText().GetValue()
		case mesospb.Value_SCALAR:
			out[at.GetName()] = strconv.FormatFloat(at.GetScalar().GetValue(), 'f', -1, 64)
		}
	}
	return out
}

// persistAgent writes the agent's registry record. m.mu is held.
func (m *Master) persistAgent(a *agent, state string) error {
	b, err := proto.Marshal(a.info)
	if err != nil {
		return err
	}
	rec := &store.Agent{ID: a.id, Hostname: a.info.GetHostname(), Info: b, State: state, RegisteredAt: a.registeredTime}
	now := time.Now()
	switch state {
	case store.AgentUnreachable:
		rec.UnreachableAt = &now
	case store.AgentGone:
		rec.GoneAt = &now
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return m.store.PutAgent(ctx, rec)
}

// removeAgentState drops an agent's offers, tasks, executors and allocator entry from memory
// (without telling frameworks anything). m.mu is held.
func (m *Master) removeAgentState(a *agent) {
	for _, o := range a.offers {
		m.removeOffer(o, true)
	}
	for fwid, byTask := range a.tasks {
		fw := m.frameworks[fwid]
		for tid := range byTask {
			if fw != nil {
				delete(fw.tasks, tid)
			}
		}
	}
	for fwid := range a.executors {
		m.removeExecutorsOf(a, fwid)
	}
	_ = m.alloc.RemoveAgent(a.id)
	delete(m.agents, a.id)
}

// agentStreamEnded runs when an agent's stream breaks. The agent stays registered but inactive; if
// it does not come back before the ping timeouts run out it becomes unreachable.
func (m *Master) agentStreamEnded(a *agent, stream *eventStream) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if a.stream != stream || m.agents[a.id] != a || m.stopping {
		return
	}
	a.stream, a.streamID = nil, ""
	a.connected, a.active = false, false
	_ = m.alloc.DeactivateAgent(a.id)
	for _, o := range a.offers {
		m.removeOffer(o, true)
	}
	now := time.Now()
	// Tasks and executors of frameworks that do not checkpoint cannot survive an agent restart:
	// they are LOST at once (for partition-aware frameworks too, as in Mesos).
	for fwid, byTask := range a.tasks {
		fw := m.frameworks[fwid]
		if fw == nil || fw.info.GetCheckpoint() {
			continue
		}
		for _, t := range byTask {
			m.transitionTask(t, mesospb.TaskState_TASK_LOST, mesospb.TaskStatus_REASON_AGENT_DISCONNECTED, "Agent "+a.id+" disconnected", now)
			m.completeTask(t)
		}
	}
	for fwid := range a.executors {
		if fw := m.frameworks[fwid]; fw != nil && !fw.info.GetCheckpoint() {
			m.removeExecutorsOf(a, fwid)
		}
	}
	m.log.Warn("agent disconnected", "agent_id", a.id)
	m.operatorAgentUpdated(a)
}

// agentHealthLoop pings agents and marks the silent ones unreachable.
func (m *Master) agentHealthLoop(ctx context.Context) {
	tick := time.NewTicker(m.cfg.AgentPingTimeout)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			m.pingAgents(time.Now())
		}
	}
}

// pingAgents sends PING to every connected agent and removes the ones silent for too long.
func (m *Master) pingAgents(now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	limit := time.Duration(m.cfg.MaxAgentPingTimeouts) * m.cfg.AgentPingTimeout
	for _, a := range m.agents {
		if now.Sub(a.lastPong) > limit {
			m.markUnreachable(a, now)
			continue
		}
		a.pingSeq++
		m.sendToAgent(a, agentEventPing(a.pingSeq))
	}
	for id, rec := range m.recoveredAgents {
		if now.Sub(m.startTime) > m.cfg.AgentReregisterTimeout {
			m.markRecoveredUnreachable(id, rec, now)
		}
	}
}

// markUnreachable moves an agent to the unreachable list: its tasks become UNREACHABLE (LOST for
// frameworks that are not partition aware), its offers are rescinded and frameworks get FAILURE.
// m.mu is held.
func (m *Master) markUnreachable(a *agent, now time.Time) {
	m.log.Warn("agent unreachable", "agent_id", a.id, "last_pong", a.lastPong)
	if err := m.persistAgent(a, store.AgentUnreachable); err != nil {
		m.log.Error("persist unreachable agent", "agent_id", a.id, "err", err)
	}
	for _, o := range a.offers {
		m.removeOffer(o, true)
	}
	for fwid, byTask := range a.tasks {
		fw := m.frameworks[fwid]
		for _, t := range byTask {
			if fw == nil {
				continue
			}
			if fw.partitionAware() {
				m.transitionTask(t, mesospb.TaskState_TASK_UNREACHABLE, mesospb.TaskStatus_REASON_AGENT_REMOVED, "Agent "+a.id+" is unreachable", now)
				t.unreachableTime = now
				m.releaseTask(t)
				delete(fw.tasks, t.id())
				fw.unreachableTasks = append(fw.unreachableTasks, t)
				if n := len(fw.unreachableTasks) - m.cfg.MaxUnreachableTasksPerFramework; n > 0 {
					fw.unreachableTasks = append([]*task(nil), fw.unreachableTasks[n:]...)
				}
			} else {
				m.transitionTask(t, mesospb.TaskState_TASK_LOST, mesospb.TaskStatus_REASON_AGENT_REMOVED, "Agent "+a.id+" is unreachable", now)
				m.completeTask(t)
			}
		}
	}
	if a.stream != nil {
		a.stream.close("agent unreachable")
	}
	for fwid := range a.executors {
		m.removeExecutorsOf(a, fwid)
	}
	_ = m.alloc.RemoveAgent(a.id)
	delete(m.agents, a.id)
	m.unreachableAgents[a.id] = now
	for _, fw := range m.frameworks {
		m.sendToFramework(fw, &schedulerpb.Event{
			Type:    schedulerpb.Event_FAILURE.Enum(),
			Failure: &schedulerpb.Event_Failure{AgentId: &mesospb.AgentID{Value: proto.String(a.id)}},
		})
	}
	m.operatorAgentRemoved(a.id)
}

// markRecoveredUnreachable handles an agent from the registry that never re-registered after a
// master restart. m.mu is held.
func (m *Master) markRecoveredUnreachable(id string, rec *store.Agent, now time.Time) {
	rec.State = store.AgentUnreachable
	rec.UnreachableAt = &now
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := m.store.PutAgent(ctx, rec); err != nil {
		m.log.Error("persist unreachable agent", "agent_id", id, "err", err)
	}
	delete(m.recoveredAgents, id)
	m.unreachableAgents[id] = now
	m.log.Warn("agent did not re-register in time; marked unreachable", "agent_id", id)
}
