package agent

import (
	"google.golang.org/protobuf/proto"

	"strata/kernel/agent/sandbox"
	"strata/kernel/agent/statusupdate"
	"strata/kernel/mesos/executorpb"
	"strata/kernel/mesos/internalpb"
	"strata/kernel/mesos/mesospb"
)

// handleEvent dispatches one event from the master's stream. Handlers only
// take the agent's lock briefly; container work runs in goroutines.
func (a *Agent) handleEvent(ev *internalpb.AgentEvent) {
	switch ev.GetType() {
	case internalpb.AgentEvent_PING:
		a.pong(ev.GetPing().GetSeq())
	case internalpb.AgentEvent_RUN_TASK:
		a.runTask(ev.GetRunTask())
	case internalpb.AgentEvent_RUN_TASK_GROUP:
		a.runTaskGroup(ev.GetRunTaskGroup())
	case internalpb.AgentEvent_KILL_TASK:
		k := ev.GetKillTask()
		a.killTask(k.GetFrameworkId().GetValue(), k.GetTaskId().GetValue(), k.GetKillPolicy())
	case internalpb.AgentEvent_SHUTDOWN_EXECUTOR:
		s := ev.GetShutdownExecutor()
		a.shutdownExecutor(s.GetFrameworkId().GetValue(), s.GetExecutorId().GetValue())
	case internalpb.AgentEvent_SHUTDOWN_FRAMEWORK:
		a.shutdownFramework(ev.GetShutdownFramework().GetFrameworkId().GetValue())
	case internalpb.AgentEvent_ACKNOWLEDGE_UPDATE:
		ack := ev.GetAcknowledgeUpdate()
		a.acknowledge(ack.GetFrameworkId().GetValue(), ack.GetTaskId().GetValue(), ack.GetUuid())
	case internalpb.AgentEvent_FRAMEWORK_MESSAGE:
		m := ev.GetFrameworkMessage()
		a.frameworkMessage(m.GetFrameworkId().GetValue(), m.GetExecutorId().GetValue(), m.GetData())
	case internalpb.AgentEvent_UPDATE_FRAMEWORK:
		a.updateFramework(ev.GetUpdateFramework().GetFrameworkInfo())
	case internalpb.AgentEvent_ERROR:
		a.log.Error("error from master", "message", ev.GetError().GetMessage())
	default:
		a.log.Warn("ignoring unexpected event from master", "type", ev.GetType().String())
	}
}

// runTask handles RUN_TASK.
func (a *Agent) runTask(rt *internalpb.AgentEvent_RunTask) {
	fi, ti := rt.GetFramework(), rt.GetTask()
	fid, tid := fi.GetId().GetValue(), ti.GetTaskId().GetValue()
	if err := sandbox.ValidateIDs(fid, tid); err != nil {
		a.log.Error("dropping RUN_TASK with invalid ids", "framework", fid, "task", tid, "error", err)
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if (ti.Command == nil) == (ti.Executor == nil) {
		a.orphanStatusLocked(fid, "", tid, mesospb.TaskState_TASK_ERROR, mesospb.TaskStatus_REASON_TASK_INVALID,
			"Task should have at least one (but not both) of CommandInfo or ExecutorInfo present")
		return
	}
	f := a.ensureFrameworkLocked(fi)
	ei, kind := a.executorInfoFor(f, ti)
	if err := sandbox.ValidateID(ei.GetExecutorId().GetValue()); err != nil {
		a.orphanStatusLocked(fid, "", tid, mesospb.TaskState_TASK_ERROR, mesospb.TaskStatus_REASON_TASK_INVALID, err.Error())
		return
	}
	if _, err := a.secrets.Task(ti); err != nil {
		a.orphanStatusLocked(fid, "", tid, mesospb.TaskState_TASK_FAILED,
			mesospb.TaskStatus_REASON_CONTAINER_LAUNCH_FAILED, secretsFailure(err))
		return
	}
	t := newTask(ti, fid, ei.GetExecutorId().GetValue(), a.agentID, f.info.GetUser())
	a.launchTasksLocked(f, ei, kind, &launchItem{tasks: []*task{t}})
}

// runTaskGroup handles RUN_TASK_GROUP.
func (a *Agent) runTaskGroup(rg *internalpb.AgentEvent_RunTaskGroup) {
	fi, ei := rg.GetFramework(), rg.GetExecutor()
	fid, eid := fi.GetId().GetValue(), ei.GetExecutorId().GetValue()
	tasks := rg.GetTaskGroup().GetTasks()
	ids := []string{fid, eid}
	for _, t := range tasks {
		ids = append(ids, t.GetTaskId().GetValue())
	}
	if err := sandbox.ValidateIDs(ids...); err != nil || len(tasks) == 0 {
		a.log.Error("dropping RUN_TASK_GROUP with invalid ids or no tasks", "framework", fid, "executor", eid, "error", err)
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	// A DEFAULT executor (or one without a command to run) is the built-in
	// default executor, `strata executor` in DefaultMode; any other runs its
	// CommandInfo.
	kind := customExecutor
	if isDefaultExecutorInfo(ei) {
		kind = defaultExecutor
		if msg := a.groupImagesUnavailable(tasks); msg != "" {
			for _, t := range tasks {
				a.orphanStatusLocked(fid, eid, t.GetTaskId().GetValue(), mesospb.TaskState_TASK_FAILED,
					mesospb.TaskStatus_REASON_CONTAINER_LAUNCH_FAILED, msg)
			}
			return
		}
	}
	for _, t := range tasks {
		if _, err := a.secrets.Task(t); err != nil {
			for _, t := range tasks {
				a.orphanStatusLocked(fid, eid, t.GetTaskId().GetValue(), mesospb.TaskState_TASK_FAILED,
					mesospb.TaskStatus_REASON_CONTAINER_LAUNCH_FAILED, secretsFailure(err))
			}
			return
		}
	}
	f := a.ensureFrameworkLocked(fi)
	ei = proto.Clone(ei).(*mesospb.ExecutorInfo)
	if ei.FrameworkId == nil {
		ei.FrameworkId = fi.GetId()
	}
	item := &launchItem{group: true}
	for _, ti := range tasks {
		item.tasks = append(item.tasks, newTask(ti, fid, eid, a.agentID, f.info.GetUser()))
	}
	a.launchTasksLocked(f, ei, kind, item)
}

// ensureFrameworkLocked returns the framework, creating or updating it.
func (a *Agent) ensureFrameworkLocked(fi *mesospb.FrameworkInfo) *framework {
	fid := fi.GetId().GetValue()
	f := a.frameworks[fid]
	if f == nil {
		f = &framework{id: fid, info: fi, executors: make(map[string]*executor)}
		a.frameworks[fid] = f
		a.checkpointFrameworkLocked(f)
		return f
	}
	if !proto.Equal(f.info, fi) {
		checkpointFlag := f.info.Checkpoint
		f.info = proto.Clone(fi).(*mesospb.FrameworkInfo)
		f.info.Checkpoint = checkpointFlag // immutable
		a.checkpointFrameworkLocked(f)
	}
	return f
}

// launchTasksLocked hands tasks to their executor: at once if it is
// subscribed, queued otherwise (launching it if it does not exist).
func (a *Agent) launchTasksLocked(f *framework, ei *mesospb.ExecutorInfo, kind executorKind, item *launchItem) {
	eid := ei.GetExecutorId().GetValue()
	for _, t := range item.tasks {
		if e := f.findExecutorOfTask(t.id()); e != nil {
			a.log.Warn("ignoring launch of a task the agent already has", "framework", f.id, "task", t.id())
			return
		}
	}
	if f.terminating {
		for _, t := range item.tasks {
			a.orphanStatusLocked(f.id, eid, t.id(), f.droppedState(), mesospb.TaskStatus_REASON_FRAMEWORK_REMOVED,
				"Framework is shutting down")
		}
		return
	}
	e := f.executors[eid]
	if e != nil && e.state >= execTerminating {
		for _, t := range item.tasks {
			a.orphanStatusLocked(f.id, eid, t.id(), f.droppedState(), mesospb.TaskStatus_REASON_EXECUTOR_TERMINATED,
				"Executor is terminating")
		}
		return
	}
	if e == nil {
		e = a.newExecutorLocked(f, ei, kind)
		e.queued = append(e.queued, item)
		for _, t := range item.tasks {
			a.checkpointTaskLocked(e, t)
		}
		a.startLaunch(e)
		return
	}
	for _, t := range item.tasks {
		a.checkpointTaskLocked(e, t)
	}
	if e.state == execRunning && e.conn != nil {
		a.deliverLocked(e, item)
		return
	}
	e.queued = append(e.queued, item)
}

// deliverLocked sends a launch item to a subscribed executor. The executor
// alone gets the tasks' secrets resolved: the agent's own copies (and its
// checkpoints) keep the references.
func (a *Agent) deliverLocked(e *executor, item *launchItem) {
	var infos []*mesospb.TaskInfo
	var failed error
	for _, t := range item.tasks {
		e.tasks[t.id()] = t
		info, err := a.secrets.Task(t.info)
		if err != nil && failed == nil {
			failed = err
		}
		infos = append(infos, info)
	}
	a.updateContainerLocked(e)
	if failed != nil {
		// A secret gone since the launch was accepted: the tasks fail
		// as they would have at acceptance.
		for _, t := range item.tasks {
			a.agentStatusLocked(e, t, mesospb.TaskState_TASK_FAILED,
				mesospb.TaskStatus_REASON_CONTAINER_LAUNCH_FAILED, secretsFailure(failed))
		}
		return
	}
	if item.group {
		e.conn.send(&executorpb.Event{
			Type:        executorpb.Event_LAUNCH_GROUP.Enum(),
			LaunchGroup: &executorpb.Event_LaunchGroup{TaskGroup: &mesospb.TaskGroupInfo{Tasks: infos}},
		})
		return
	}
	e.conn.send(&executorpb.Event{
		Type:   executorpb.Event_LAUNCH.Enum(),
		Launch: &executorpb.Event_Launch{Task: infos[0]},
	})
}

// killTask handles KILL_TASK.
func (a *Agent) killTask(fid, tid string, policy *mesospb.KillPolicy) {
	a.mu.Lock()
	defer a.mu.Unlock()
	f := a.frameworks[fid]
	if f == nil {
		a.log.Warn("ignoring kill of a task of an unknown framework", "framework", fid, "task", tid)
		return
	}
	a.killTaskLocked(f, tid, policy)
}

// killTaskAnywhere kills a task by id, whatever its framework.
func (a *Agent) killTaskAnywhere(tid string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, f := range a.frameworks {
		if f.findExecutorOfTask(tid) != nil {
			a.killTaskLocked(f, tid, nil)
		}
	}
}

func (a *Agent) killTaskLocked(f *framework, tid string, policy *mesospb.KillPolicy) {
	e := f.findExecutorOfTask(tid)
	if e == nil {
		for _, ex := range append(f.sortedExecutors(), f.completed...) {
			for _, done := range ex.finished {
				if done.GetTaskId().GetValue() == tid {
					return // already terminal and acknowledged
				}
			}
		}
		a.orphanStatusLocked(f.id, "", tid, f.droppedState(), mesospb.TaskStatus_REASON_EXECUTOR_TERMINATED,
			"Cannot find the task on the agent")
		return
	}
	t, queued := e.findTask(tid)
	if t.terminal() {
		return
	}
	if queued {
		// Not delivered yet: kill it (and its whole group) right here.
		for _, it := range e.queued {
			if !containsTask(it, tid) {
				continue
			}
			for _, gt := range it.tasks {
				gt.killed = true
			}
			for _, gt := range append([]*task(nil), it.tasks...) {
				a.agentStatusLocked(e, gt, mesospb.TaskState_TASK_KILLED,
					mesospb.TaskStatus_REASON_TASK_KILLED_DURING_LAUNCH, "Killed before delivery to the executor")
			}
			break
		}
		if len(e.queued) == 0 && !e.hasLiveTasks() && e.state == execRegistering {
			a.shutdownExecutorLocked(e, "no tasks left")
		}
		return
	}
	t.killed = true
	t.killPolicy = policy
	if e.state == execRunning && e.conn != nil {
		e.conn.send(&executorpb.Event{
			Type: executorpb.Event_KILL.Enum(),
			Kill: &executorpb.Event_Kill{TaskId: t.t.GetTaskId(), KillPolicy: policy},
		})
	}
	// Otherwise the kill is sent when the executor (re-)subscribes.
}

func containsTask(it *launchItem, tid string) bool {
	for _, t := range it.tasks {
		if t.id() == tid {
			return true
		}
	}
	return false
}

// hasLiveTasks reports whether any launched task is not terminal.
func (e *executor) hasLiveTasks() bool {
	for _, t := range e.tasks {
		if !t.terminal() {
			return true
		}
	}
	return false
}

// shutdownExecutor handles SHUTDOWN_EXECUTOR.
func (a *Agent) shutdownExecutor(fid, eid string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	f := a.frameworks[fid]
	if f == nil || f.executors[eid] == nil {
		a.log.Warn("ignoring shutdown of an unknown executor", "framework", fid, "executor", eid)
		return
	}
	a.shutdownExecutorLocked(f.executors[eid], "requested by the framework")
}

// shutdownFramework handles SHUTDOWN_FRAMEWORK.
func (a *Agent) shutdownFramework(fid string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	f := a.frameworks[fid]
	if f == nil {
		return
	}
	a.log.Info("shutting down framework", "framework", fid)
	f.terminating = true
	for _, e := range f.sortedExecutors() {
		a.shutdownExecutorLocked(e, "framework is shutting down")
	}
	a.maybeRemoveFrameworkLocked(f)
}

// acknowledge handles ACKNOWLEDGE_UPDATE.
func (a *Agent) acknowledge(fid, tid string, uuid []byte) {
	res, err := a.sum.Acknowledge(fid, tid, uuid)
	if err != nil {
		a.log.Debug("ignoring acknowledgement", "framework", fid, "task", tid, "error", err)
		return
	}
	a.log.Debug("status update acknowledged", "framework", fid, "task", tid,
		"state", res.Update.GetStatus().GetState().String())
	if !res.Terminal {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	f := a.frameworks[fid]
	if f == nil {
		return
	}
	e := f.findExecutorOfTask(tid)
	if e == nil {
		return
	}
	if t, queued := e.findTask(tid); t != nil && !queued && t.terminal() && !a.sum.HasPending(fid, tid) {
		delete(e.tasks, tid)
		e.addFinished(t.t)
		a.maybeRemoveExecutorLocked(e)
	}
}

// frameworkMessage handles FRAMEWORK_MESSAGE (best effort).
func (a *Agent) frameworkMessage(fid, eid string, data []byte) {
	a.mu.Lock()
	defer a.mu.Unlock()
	var e *executor
	if f := a.frameworks[fid]; f != nil {
		e = f.executors[eid]
	}
	if e == nil || e.state != execRunning || e.conn == nil {
		a.metrics.frameworkMessages.WithLabelValues("invalid").Inc()
		a.log.Warn("dropping framework message for an executor that is not running", "framework", fid, "executor", eid)
		return
	}
	a.metrics.frameworkMessages.WithLabelValues("valid").Inc()
	e.conn.send(&executorpb.Event{Type: executorpb.Event_MESSAGE.Enum(), Message: &executorpb.Event_Message{Data: data}})
}

// updateFramework handles UPDATE_FRAMEWORK.
func (a *Agent) updateFramework(fi *mesospb.FrameworkInfo) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if f := a.frameworks[fi.GetId().GetValue()]; f != nil {
		a.ensureFrameworkLocked(fi)
	}
}

// isTerminal is statusupdate.IsTerminal.
func isTerminal(s mesospb.TaskState) bool { return statusupdate.IsTerminal(s) }

// secretsFailure is the message of a task whose secrets did not resolve.
func secretsFailure(err error) string {
	return "Failed to resolve secrets: " + err.Error()
}
