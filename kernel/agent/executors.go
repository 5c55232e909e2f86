package agent

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"

	"strata/kernel/containerizer"
	"strata/kernel/mesos/executorpb"
	"strata/kernel/mesos/internalpb"
	"strata/kernel/mesos/mesospb"
	"strata/kernel/mesos/resources"
)

// Command executor overhead, added agent-side only (Mesos does the same and
// the master does not account for it).
const (
	commandExecutorCPUs  = 0.1
	commandExecutorMemMB = 32
)

// executorInfoFor returns the ExecutorInfo of a task: its own, or a
// generated command executor, and which of the two it is.
func (a *Agent) executorInfoFor(f *framework, ti *mesospb.TaskInfo) (*mesospb.ExecutorInfo, executorKind) {
	if ti.Executor != nil {
		ei := proto.Clone(ti.Executor).(*mesospb.ExecutorInfo)
		if ei.FrameworkId == nil {
			ei.FrameworkId = &mesospb.FrameworkID{Value: proto.String(f.id)}
		}
		return ei, customExecutor
	}
	return commandExecutorInfo(f, ti, a.cfg.ExecutorShutdownGracePeriod), commandExecutor
}

// commandExecutorInfo generates the ExecutorInfo of a command task the way
// Mesos does: executor id and source are the task id; the command executor
// is `strata executor`; uris, environment, user, labels, discovery and
// container come from the task; resources are the executor overhead.
func commandExecutorInfo(f *framework, ti *mesospb.TaskInfo, defaultGrace time.Duration) *mesospb.ExecutorInfo {
	tid := ti.GetTaskId().GetValue()
	cmd := ti.GetCommand()
	role := ""
	for _, r := range ti.GetResources() {
		if r.GetAllocationInfo().GetRole() != "" {
			role = r.GetAllocationInfo().GetRole()
			break
		}
	}
	overhead := []*mesospb.Resource{
		resources.NewScalar("cpus", commandExecutorCPUs),
		resources.NewScalar("mem", commandExecutorMemMB),
	}
	if role != "" {
		overhead = resources.Allocate(overhead, role)
	}
	ei := &mesospb.ExecutorInfo{
		Type:        mesospb.ExecutorInfo_CUSTOM.Enum(),
		ExecutorId:  &mesospb.ExecutorID{Value: proto.String(tid)},
		FrameworkId: &mesospb.FrameworkID{Value: proto.String(f.id)},
		Name:        proto.String(commandExecutorName(tid, cmd)),
		Source:      proto.String(tid),
		Resources:   overhead,
		Command: &mesospb.CommandInfo{
			Uris:        cmd.GetUris(),
			Environment: cmd.GetEnvironment(),
			User:        cmd.User,
		},
		Container: ti.GetContainer(),
		Labels:    ti.GetLabels(),
		Discovery: ti.GetDiscovery(),
	}
	if g := ti.GetKillPolicy().GetGracePeriod(); g != nil {
		// Let the executor use the whole kill grace period on SHUTDOWN.
		grace := max(time.Duration(g.GetNanoseconds())+3*time.Second, defaultGrace)
		ei.ShutdownGracePeriod = &mesospb.DurationInfo{Nanoseconds: proto.Int64(int64(grace))}
	}
	return ei
}

// commandExecutorName is "Command Executor (Task: <id>) (Command: sh -c
// '<first 12 chars>...')", or the argv form for shell=false.
func commandExecutorName(tid string, cmd *mesospb.CommandInfo) string {
	var shown string
	if cmd.GetShell() {
		v := cmd.GetValue()
		if len(v) > 15 {
			v = v[:12] + "..."
		}
		shown = "sh -c '" + v + "'"
	} else {
		shown = "[" + strings.Join(append([]string{cmd.GetValue()}, cmd.GetArguments()...), ", ") + "]"
	}
	return commandExecutorNamePrefix + tid + ") (Command: " + shown + ")"
}

// commandExecutorNamePrefix starts the name of every generated command
// executor.
const commandExecutorNamePrefix = "Command Executor (Task: "

// newExecutorLocked creates an executor (state REGISTERING) with a fresh
// container id and checkpoints it.
func (a *Agent) newExecutorLocked(f *framework, ei *mesospb.ExecutorInfo, kind executorKind) *executor {
	eid := ei.GetExecutorId().GetValue()
	cid := uuidString(newUUID())
	e := &executor{
		id:          eid,
		fw:          f,
		info:        ei,
		kind:        kind,
		containerID: cid,
		directory:   a.layout.RunDir(a.agentID, f.id, eid, cid),
		state:       execRegistering,
		tasks:       make(map[string]*task),
		token:       newToken(),
		launching:   true,
	}
	f.executors[eid] = e
	a.checkpointExecutorLocked(e)
	a.log.Info("launching executor", "framework", f.id, "executor", eid, "container", cid, "kind", kind.String())
	return e
}

// shutdownGrace is the executor's shutdown grace period.
func (a *Agent) shutdownGrace(e *executor) time.Duration {
	if g := e.info.GetShutdownGracePeriod(); g != nil && g.GetNanoseconds() > 0 {
		return time.Duration(g.GetNanoseconds())
	}
	return a.cfg.ExecutorShutdownGracePeriod
}

// shutdownExecutorLocked asks the executor to shut down (SHUTDOWN event)
// and destroys its container after the grace period, or at once when it is
// not subscribed.
func (a *Agent) shutdownExecutorLocked(e *executor, why string) {
	if e.state >= execTerminating {
		return
	}
	a.log.Info("shutting down executor", "framework", e.fw.id, "executor", e.id, "reason", why)
	e.state = execTerminating
	e.shutdown = true
	if e.regTimer != nil {
		e.regTimer.Stop()
	}
	if e.conn != nil {
		e.conn.send(&executorpb.Event{Type: executorpb.Event_SHUTDOWN.Enum()})
		e.shutdownAt = time.Now()
		time.AfterFunc(a.shutdownGrace(e), func() { a.destroy(e) })
		return
	}
	go a.destroy(e)
}

// destroy kills the executor's container (unless it is already gone). The
// container's waiter then reports the termination.
func (a *Agent) destroy(e *executor) {
	a.mu.Lock()
	if e.state == execTerminated {
		a.mu.Unlock()
		return
	}
	e.state = execTerminating
	launching := e.launching
	cid := e.containerID
	a.mu.Unlock()
	if launching {
		return // the launch goroutine sees the state and gives up
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := a.destroyContainer(ctx, e)
	if errors.Is(err, containerizer.ErrUnknownContainer) {
		a.executorTerminated(e, &containerizer.Termination{Message: "Executor container not found"})
		return
	}
	if err != nil {
		a.log.Error("destroy container", "container", cid, "error", err)
	}
}

// registrationTimeout fires when a launched executor did not subscribe in
// time.
func (a *Agent) registrationTimeout(e *executor, recovered bool) {
	a.mu.Lock()
	if e.state != execRegistering || e.recovered != recovered {
		a.mu.Unlock()
		return
	}
	if recovered {
		e.failReason = mesospb.TaskStatus_REASON_EXECUTOR_REREGISTRATION_TIMEOUT.Enum()
		e.failMessage = fmt.Sprintf("Executor did not re-register within %s after the agent restarted",
			mesosDuration(a.cfg.ExecutorReregistrationTimeout))
	} else {
		e.failReason = mesospb.TaskStatus_REASON_EXECUTOR_REGISTRATION_TIMEOUT.Enum()
		e.failMessage = fmt.Sprintf("Executor did not register within %s", mesosDuration(a.cfg.ExecutorRegistrationTimeout))
	}
	e.failState = mesospb.TaskState_TASK_FAILED.Enum()
	a.log.Warn("executor registration timed out", "framework", e.fw.id, "executor", e.id, "recovered", recovered)
	a.mu.Unlock()
	a.destroy(e)
}

// watch waits for the executor's container to end.
func (a *Agent) watch(ctx context.Context, e *executor) {
	term, err := a.waitContainer(ctx, e)
	if err != nil {
		if ctx.Err() == nil {
			a.log.Error("wait for container", "container", e.containerID, "error", err)
			a.executorTerminated(e, &containerizer.Termination{Message: "Lost track of the executor's container"})
		}
		return
	}
	a.executorTerminated(e, term)
}

// executorTerminated handles the end of an executor's container: its tasks
// that are not terminal get a terminal update, the master hears
// EXITED_EXECUTOR, and the executor is removed once nothing is pending.
func (a *Agent) executorTerminated(e *executor, term *containerizer.Termination) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if e.state == execTerminated {
		return
	}
	e.state = execTerminated
	e.launching = false
	e.releaseStartSlotLocked()
	if e.regTimer != nil {
		e.regTimer.Stop()
	}
	if e.conn != nil {
		e.conn.close()
		e.conn = nil
	}
	if term.HasStatus {
		ws := int32(term.WaitStatus)
		e.exitStatus = &ws
	}
	a.log.Info("executor terminated", "framework", e.fw.id, "executor", e.id, "container", e.containerID,
		"message", term.Message)
	if e.directory != "" {
		a.logs.Remove(e.directory)
	}
	f := e.fw
	for _, t := range e.allTasks() {
		if t.terminal() {
			continue
		}
		state, reason, msg := a.terminationOutcome(f, e, t, term)
		a.agentStatusLocked(e, t, state, reason, msg)
	}
	e.queued = nil
	a.checkpointCompletedLocked(e)
	a.metrics.executorsTerminated.Inc()

	exited := &internalpb.AgentCall_ExitedExecutor{
		FrameworkId: &mesospb.FrameworkID{Value: proto.String(f.id)},
		ExecutorId:  &mesospb.ExecutorID{Value: proto.String(e.id)},
		Message:     proto.String(term.Message),
	}
	if e.exitStatus != nil {
		exited.Status = e.exitStatus
	}
	if !a.shuttingDown {
		a.calls.push(&internalpb.AgentCall{Type: internalpb.AgentCall_EXITED_EXECUTOR.Enum(), ExitedExecutor: exited})
	}
	a.forgetContainerLocked(e)
	a.removeImageContainerLocked(e)
	a.maybeRemoveExecutorLocked(e)
}

// terminationOutcome decides what a live task becomes when its executor's
// container ended.
func (a *Agent) terminationOutcome(f *framework, e *executor, t *task, term *containerizer.Termination) (mesospb.TaskState, mesospb.TaskStatus_Reason, string) {
	msg := term.Message
	if msg == "" {
		msg = "Executor terminated"
	}
	switch {
	case term.State != nil:
		reason := mesospb.TaskStatus_REASON_EXECUTOR_TERMINATED
		if term.Reason != nil {
			reason = *term.Reason
		}
		return *term.State, reason, msg
	case e.failState != nil || e.failReason != nil:
		state := mesospb.TaskState_TASK_FAILED
		if e.failState != nil {
			state = *e.failState
		}
		reason := mesospb.TaskStatus_REASON_EXECUTOR_TERMINATED
		if e.failReason != nil {
			reason = *e.failReason
		}
		if e.failMessage != "" {
			msg = e.failMessage
		}
		return state, reason, msg
	case t.killed:
		return mesospb.TaskState_TASK_KILLED, mesospb.TaskStatus_REASON_EXECUTOR_TERMINATED, msg
	case e.shutdown:
		return f.lostState(), mesospb.TaskStatus_REASON_EXECUTOR_TERMINATED, "Executor was shut down: " + msg
	}
	if e.checkpointErr != "" {
		msg += "; the agent could not checkpoint its status updates: " + e.checkpointErr
	}
	return mesospb.TaskState_TASK_FAILED, mesospb.TaskStatus_REASON_EXECUTOR_TERMINATED, msg
}

// maybeRemoveExecutorLocked moves a terminated executor whose tasks are all
// acknowledged to the completed list.
func (a *Agent) maybeRemoveExecutorLocked(e *executor) {
	f := e.fw
	if e.state != execTerminated || !e.idle() || f.executors[e.id] != e {
		a.maybeRemoveFrameworkLocked(f)
		return
	}
	delete(f.executors, e.id)
	f.addCompleted(e)
	if f.checkpoint() && a.agentID != "" {
		_ = removeAll(a.layout.MetaExecutorDir(a.agentID, f.id, e.id))
	}
	a.maybeRemoveFrameworkLocked(f)
}

// maybeRemoveFrameworkLocked removes a framework without executors (or, when
// it is shutting down, whose executors are all terminated).
func (a *Agent) maybeRemoveFrameworkLocked(f *framework) {
	if a.frameworks[f.id] != f {
		return
	}
	if f.terminating {
		for _, e := range f.executors {
			if e.state != execTerminated {
				return
			}
		}
		for id, e := range f.executors {
			delete(f.executors, id)
			f.addCompleted(e)
		}
		a.sum.Cleanup(f.id)
	}
	if len(f.executors) > 0 {
		return
	}
	delete(a.frameworks, f.id)
	a.completedFrameworks = append(a.completedFrameworks, f)
	if n := len(a.completedFrameworks) - maxCompletedFrameworks; n > 0 {
		a.completedFrameworks = a.completedFrameworks[n:]
	}
	if f.checkpoint() && a.agentID != "" {
		_ = removeAll(a.layout.MetaFrameworkDir(a.agentID, f.id))
	}
	a.log.Info("framework removed from the agent", "framework", f.id)
}
