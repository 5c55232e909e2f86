package agent

import (
	"context"
	"errors"
	"time"

	"google.golang.org/protobuf/proto"

	"strata/kernel/agent/statusupdate"
	"strata/kernel/mesos/mesospb"
)

// newStatus builds a status update made by the agent itself.
func (a *Agent) newStatus(tid, eid string, state mesospb.TaskState, reason mesospb.TaskStatus_Reason, msg string) *mesospb.TaskStatus {
	st := &mesospb.TaskStatus{
		TaskId:    &mesospb.TaskID{Value: proto.String(tid)},
		State:     state.Enum(),
		Message:   proto.String(msg),
		Source:    mesospb.TaskStatus_SOURCE_AGENT.Enum(),
		Reason:    reason.Enum(),
		Timestamp: proto.Float64(float64(time.Now().UnixNano()) / 1e9),
		Uuid:      newUUID(),
	}
	if a.agentID != "" {
		st.AgentId = &mesospb.AgentID{Value: proto.String(a.agentID)}
	}
	if eid != "" {
		st.ExecutorId = &mesospb.ExecutorID{Value: proto.String(eid)}
	}
	return st
}

// agentStatusLocked sends an agent-made update for a task of an executor.
func (a *Agent) agentStatusLocked(e *executor, t *task, state mesospb.TaskState, reason mesospb.TaskStatus_Reason, msg string) {
	st := a.newStatus(t.id(), e.id, state, reason, msg)
	err := a.applyStatusLocked(e, st)
	if errors.Is(err, statusupdate.ErrCheckpoint) {
		// No one else holds this update: rather than dropping it (the task
		// would stay live for the master for ever), send it undurably.
		a.log.Warn("cannot checkpoint a status update; sending it without", "framework", e.fw.id, "task", t.id(),
			"state", state.String(), "error", err)
		err = a.applyStatusOptLocked(e, st, false)
	}
	if err != nil {
		a.log.Error("status update", "framework", e.fw.id, "task", t.id(), "error", err)
	}
}

// orphanStatusLocked sends an agent-made update for a task the agent does
// not track (rejected before it became part of an executor).
func (a *Agent) orphanStatusLocked(fid, eid, tid string, state mesospb.TaskState, reason mesospb.TaskStatus_Reason, msg string) {
	a.log.Info("task rejected", "framework", fid, "task", tid, "state", state.String(), "message", msg)
	u := &statusupdate.Update{
		FrameworkId: &mesospb.FrameworkID{Value: proto.String(fid)},
		Status:      a.newStatus(tid, eid, state, reason, msg),
	}
	if eid != "" {
		u.ExecutorId = &mesospb.ExecutorID{Value: proto.String(eid)}
	}
	a.countStatus(u.Status)
	if err := a.sum.Update(u, ""); err != nil {
		a.log.Error("status update", "framework", fid, "task", tid, "error", err)
	}
}

// applyStatusLocked records a status (from the executor or the agent) in
// the task's state and hands it to the status update manager, which
// checkpoints it for checkpointing frameworks. A duplicate (same uuid) is
// reported with statusupdate.ErrDuplicate and changes nothing.
func (a *Agent) applyStatusLocked(e *executor, st *mesospb.TaskStatus) error {
	return a.applyStatusOptLocked(e, st, true)
}

// applyStatusOptLocked is applyStatusLocked; without checkpoint the update is
// not written to the task's checkpoint (statusupdate's UpdateUncheckpointed).
func (a *Agent) applyStatusOptLocked(e *executor, st *mesospb.TaskStatus, checkpoint bool) error {
	f := e.fw
	tid := st.GetTaskId().GetValue()
	t, queued := e.findTask(tid)
	path := ""
	if t != nil && f.checkpoint() && a.agentID != "" {
		path = a.layout.TaskUpdatesPath(a.agentID, f.id, e.id, e.containerID, tid)
	}
	u := &statusupdate.Update{
		FrameworkId: &mesospb.FrameworkID{Value: proto.String(f.id)},
		ExecutorId:  &mesospb.ExecutorID{Value: proto.String(e.id)},
		Status:      st,
	}
	update := a.sum.Update
	if !checkpoint {
		update = a.sum.UpdateUncheckpointed
	}
	if err := update(u, path); err != nil {
		return err
	}
	a.countStatus(st)
	if t == nil {
		a.log.Warn("status update for a task the agent does not know", "framework", f.id, "executor", e.id,
			"task", tid, "state", st.GetState().String())
		return nil
	}
	if queued && isTerminal(st.GetState()) {
		removeQueued(e, tid)
		e.tasks[tid] = t
	}
	wasLive := !t.terminal()
	t.t.State = st.GetState().Enum()
	if wasLive && t.terminal() {
		a.updateContainerLocked(e)
	}
	kept := proto.Clone(st).(*mesospb.TaskStatus)
	kept.Data = nil
	t.t.Statuses = append(t.t.Statuses, kept)
	a.log.Info("task status", "framework", f.id, "executor", e.id, "task", tid,
		"state", st.GetState().String(), "source", st.GetSource().String(), "message", st.GetMessage())
	return nil
}

// removeQueued takes one task out of the launch queue (dropping an item
// left empty).
func removeQueued(e *executor, tid string) {
	for i, it := range e.queued {
		for j, t := range it.tasks {
			if t.id() != tid {
				continue
			}
			it.tasks = append(it.tasks[:j:j], it.tasks[j+1:]...)
			if len(it.tasks) == 0 {
				e.queued = append(e.queued[:i:i], e.queued[i+1:]...)
			}
			return
		}
	}
}

func (a *Agent) countStatus(st *mesospb.TaskStatus) {
	if isTerminal(st.GetState()) {
		a.metrics.terminalTasks.WithLabelValues(stateLabel(st.GetState())).Inc()
	}
}

// isDuplicate reports a duplicate update error.
func isDuplicate(err error) bool { return errors.Is(err, statusupdate.ErrDuplicate) }

// updateContainerLocked tells the process containerizer the executor's
// current resources (executor plus live tasks).
func (a *Agent) updateContainerLocked(e *executor) {
	if e.launching || e.state == execTerminated {
		return
	}
	if e.inImage() {
		// A podman container keeps the limits it was launched with (the
		// executor's and its first tasks' resources).
		return
	}
	limits := map[string]*mesospb.Value_Scalar{}
	for _, t := range e.allTasks() {
		if !t.terminal() {
			for k, v := range t.t.GetLimits() {
				limits[k] = v
			}
		}
	}
	if err := a.cz.Update(context.Background(), e.containerID, e.resources(), limits); err != nil {
		a.log.Debug("update container resources", "container", e.containerID, "error", err)
	}
}
