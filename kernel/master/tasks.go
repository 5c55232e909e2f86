package master

import (
	"bytes"
	"time"

	"google.golang.org/protobuf/proto"

	"strata/kernel/mesos/internalpb"
	"strata/kernel/mesos/mesospb"
	"strata/kernel/mesos/schedulerpb"
	"strata/kernel/mesos/taskstate"
)

var isTerminal = taskstate.IsTerminal

// forFramework maps the partition-aware states to TASK_LOST for frameworks without PARTITION_AWARE.
func forFramework(fw *framework, s mesospb.TaskState) mesospb.TaskState {
	if fw != nil && fw.partitionAware() {
		return s
	}
	if taskstate.PartitionAwareOnly(s) {
		return mesospb.TaskState_TASK_LOST
	}
	return s
}

// masterStatus builds a status update made by the master: SOURCE_MASTER and no uuid, so it is never
// acknowledged or retried.
func masterStatus(taskID, agentID string, state mesospb.TaskState, reason mesospb.TaskStatus_Reason, msg string, now time.Time) *mesospb.TaskStatus {
	st := &mesospb.TaskStatus{
		TaskId:    &mesospb.TaskID{Value: proto.String(taskID)},
		State:     state.Enum(),
		Source:    mesospb.TaskStatus_SOURCE_MASTER.Enum(),
		Timestamp: proto.Float64(float64(now.UnixNano()) / 1e9),
	}
	if reason != 0 {
		st.Reason = reason.Enum()
	}
	if msg != "" {
		st.Message = proto.String(msg)
	}
	if agentID != "" {
		st.AgentId = &mesospb.AgentID{Value: proto.String(agentID)}
	}
	return st
}

// forwardUpdate sends an UPDATE event about a task the master tracks to the framework and tells
// operator subscribers. m.mu is held.
func (m *Master) forwardUpdate(fw *framework, st *mesospb.TaskStatus, latest mesospb.TaskState) {
	if fw != nil {
		m.sendUpdate(fw, st)
		m.operatorTaskUpdated(fw.id, st, latest)
	}
}

// sendUpdate sends an UPDATE event to the framework only: answers about tasks the master does not
// track (launches it rejected, reconciliation) are no task state changes for operator
// subscribers. m.mu is held.
func (m *Master) sendUpdate(fw *framework, st *mesospb.TaskStatus) {
	m.sendToFramework(fw, &schedulerpb.Event{
		Type:   schedulerpb.Event_UPDATE.Enum(),
		Update: &schedulerpb.Event_Update{Status: st},
	})
	m.metrics.statusUpdates.WithLabelValues(st.GetState().String()).Inc()
}

// transitionTask moves a task to a master-made state and tells the framework. m.mu is held.
func (m *Master) transitionTask(t *task, state mesospb.TaskState, reason mesospb.TaskStatus_Reason, msg string, now time.Time) {
	state = forFramework(t.fw, state)
	st := masterStatus(t.id(), t.t.GetAgentId().GetValue(), state, reason, msg, now)
	if state == mesospb.TaskState_TASK_UNREACHABLE {
		st.UnreachableTime = &mesospb.TimeInfo{Nanoseconds: proto.Int64(now.UnixNano())}
	}
	t.t.State = state.Enum()
	t.t.StatusUpdateState = state.Enum()
	t.t.StatusUpdateUuid = nil
	t.t.Statuses = appendStatus(t.t.Statuses, st)
	if isTerminal(state) {
		m.releaseTask(t)
	}
	m.forwardUpdate(t.fw, st, state)
}

// appendStatus records a status in a task's history (without its data blob), keeping it bounded.
func appendStatus(list []*mesospb.TaskStatus, st *mesospb.TaskStatus) []*mesospb.TaskStatus {
	c := proto.Clone(st).(*mesospb.TaskStatus)
	c.Data = nil
	list = append(list, c)
	if len(list) > 16 {
		list = append(list[:0:0], list[len(list)-16:]...)
	}
	return list
}

// releaseTask gives a task's resources back to the allocator, once. m.mu is held.
func (m *Master) releaseTask(t *task) {
	if t.released {
		return
	}
	t.released = true
	if t.agent != nil && m.agents[t.agent.id] == t.agent {
		_ = m.alloc.RecoverResources(t.agent.id, t.fw.id, t.role, t.res, nil)
		m.triggerAllocation()
	}
}

// completeTask moves a task from the active set to the framework's completed tasks. m.mu is held.
func (m *Master) completeTask(t *task) {
	m.releaseTask(t)
	fw := t.fw
	delete(fw.tasks, t.id())
	if t.agent != nil {
		if byFw := t.agent.tasks[fw.id]; byFw != nil {
			delete(byFw, t.id())
			if len(byFw) == 0 {
				delete(t.agent.tasks, fw.id)
			}
		}
	}
	fw.completedTasks = append(fw.completedTasks, t)
	if n := len(fw.completedTasks) - m.cfg.MaxCompletedTasksPerFramework; n > 0 {
		fw.completedTasks = append([]*task(nil), fw.completedTasks[n:]...)
	}
}

// agentStatusUpdate handles a STATUS_UPDATE from an agent. m.mu is held.
func (m *Master) agentStatusUpdate(a *agent, u *internalpb.AgentCall_StatusUpdate) {
	st := proto.Clone(u.GetStatus()).(*mesospb.TaskStatus)
	if st.AgentId == nil {
		st.AgentId = &mesospb.AgentID{Value: proto.String(a.id)}
	}
	fwID := u.GetFrameworkId().GetValue()
	fw := m.frameworks[fwID]
	if fw == nil {
		// The framework is gone: nobody will acknowledge, so acknowledge for it and let the agent
		// drop the update.
		if len(st.GetUuid()) > 0 {
			m.sendToAgent(a, agentEventAck(fwID, st.GetTaskId().GetValue(), st.GetUuid()))
		}
		return
	}
	latest := st.GetState()
	if u.LatestState != nil {
		latest = u.GetLatestState()
	}
	t := fw.tasks[st.GetTaskId().GetValue()]
	if t == nil {
		// A task the master does not track: pass the update on (the framework acknowledges it,
		// and the agent stops retrying) without inventing a task for operator subscribers.
		m.sendUpdate(fw, st)
		return
	}
	t.t.State = latest.Enum()
	t.t.StatusUpdateState = st.GetState().Enum()
	t.t.StatusUpdateUuid = st.GetUuid()
	t.t.Statuses = appendStatus(t.t.Statuses, st)
	if isTerminal(latest) {
		m.releaseTask(t)
	}
	if len(st.GetUuid()) == 0 && isTerminal(st.GetState()) {
		m.completeTask(t)
	}
	m.forwardUpdate(fw, st, latest)
}

// acknowledge handles ACKNOWLEDGE: the task's terminal update being acknowledged completes it, and
// the acknowledgement goes on to the agent. m.mu is held.
func (m *Master) acknowledge(fw *framework, ack *schedulerpb.Call_Acknowledge) error {
	taskID := ack.GetTaskId().GetValue()
	if t := fw.tasks[taskID]; t != nil && bytes.Equal(t.t.GetStatusUpdateUuid(), ack.GetUuid()) {
		if isTerminal(t.t.GetStatusUpdateState()) {
			m.completeTask(t)
		}
	}
	if a := m.agents[ack.GetAgentId().GetValue()]; a != nil {
		m.sendToAgent(a, agentEventAck(fw.id, taskID, ack.GetUuid()))
	}
	m.metrics.acknowledgements.Inc()
	return nil
}

// kill handles KILL. m.mu is held.
func (m *Master) kill(fw *framework, k *schedulerpb.Call_Kill) {
	taskID := k.GetTaskId().GetValue()
	t := fw.tasks[taskID]
	if t == nil {
		// Unknown task: answer as explicit reconciliation would (LOST for frameworks that are not
		// partition aware).
		m.reconcileTask(fw, taskID, k.GetAgentId().GetValue(), time.Now())
		return
	}
	if t.agent == nil || t.agent.stream == nil {
		// The kill is sent when the agent comes back.
		t.killPending = true
		return
	}
	m.sendToAgent(t.agent, agentEventKill(fw.id, taskID, k.GetKillPolicy()))
}

// shutdownExecutor handles SHUTDOWN. m.mu is held.
func (m *Master) shutdownExecutor(fw *framework, s *schedulerpb.Call_Shutdown) {
	if a := m.agents[s.GetAgentId().GetValue()]; a != nil {
		m.sendToAgent(a, agentEventShutdownExecutor(fw.id, s.GetExecutorId().GetValue()))
	}
}

// frameworkMessage handles MESSAGE: best-effort delivery to the executor. m.mu is held.
func (m *Master) frameworkMessage(fw *framework, msg *schedulerpb.Call_Message) {
	if a := m.agents[msg.GetAgentId().GetValue()]; a != nil {
		m.sendToAgent(a, agentEventFrameworkMessage(fw.id, msg.GetExecutorId().GetValue(), msg.GetData()))
	}
}

// reconcile answers RECONCILE per Mesos' reconciliation rules. m.mu is held.
func (m *Master) reconcile(fw *framework, r *schedulerpb.Call_Reconcile) {
	now := time.Now()
	if len(r.GetTasks()) == 0 {
		for _, t := range fw.tasks {
			m.sendReconciled(fw, t, now)
		}
		for _, t := range fw.unreachableTasks {
			m.sendReconciled(fw, t, now)
		}
		return
	}
	for _, rt := range r.GetTasks() {
		m.reconcileTask(fw, rt.GetTaskId().GetValue(), rt.GetAgentId().GetValue(), now)
	}
}

// sendReconciled sends a known task's latest state with REASON_RECONCILIATION. m.mu is held.
func (m *Master) sendReconciled(fw *framework, t *task, now time.Time) {
	state := t.t.GetState()
	if t.t.StatusUpdateState != nil {
		state = t.t.GetStatusUpdateState()
	}
	st := masterStatus(t.id(), t.t.GetAgentId().GetValue(), forFramework(fw, state), mesospb.TaskStatus_REASON_RECONCILIATION, "Reconciliation: latest task status", now)
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
	if state == mesospb.TaskState_TASK_UNREACHABLE && !t.unreachableTime.IsZero() {
		st.UnreachableTime = &mesospb.TimeInfo{Nanoseconds: proto.Int64(t.unreachableTime.UnixNano())}
	}
	m.sendUpdate(fw, st)
}

// reconcileTask answers explicit reconciliation for one task. m.mu is held.
func (m *Master) reconcileTask(fw *framework, taskID, agentID string, now time.Time) {
	if t := fw.tasks[taskID]; t != nil {
		m.sendReconciled(fw, t, now)
		return
	}
	for _, t := range fw.unreachableTasks {
		if t.id() == taskID {
			m.sendReconciled(fw, t, now)
			return
		}
	}
	var state mesospb.TaskState
	var unreachable time.Time
	switch {
	case agentID == "":
		if len(m.recoveredAgents) > 0 {
			return // an agent that may know the task has not re-registered yet: no answer
		}
		state = mesospb.TaskState_TASK_UNKNOWN
	case m.recoveredAgents[agentID] != nil:
		return
	case m.agents[agentID] != nil:
		state = mesospb.TaskState_TASK_GONE
	case !m.unreachableAgents[agentID].IsZero():
		state, unreachable = mesospb.TaskState_TASK_UNREACHABLE, m.unreachableAgents[agentID]
	case !m.goneAgents[agentID].IsZero():
		state = mesospb.TaskState_TASK_GONE_BY_OPERATOR
	default:
		state = mesospb.TaskState_TASK_UNKNOWN
	}
	st := masterStatus(taskID, agentID, forFramework(fw, state), mesospb.TaskStatus_REASON_RECONCILIATION, "Reconciliation: task is unknown", now)
	if !unreachable.IsZero() && fw.partitionAware() {
		st.UnreachableTime = &mesospb.TimeInfo{Nanoseconds: proto.Int64(unreachable.UnixNano())}
	}
	m.sendUpdate(fw, st)
}
