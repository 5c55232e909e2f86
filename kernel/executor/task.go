package executor

import (
	"fmt"
	"time"

	"strata/kernel/containerizer"
	"strata/kernel/executor/health"
	"strata/kernel/executor/proc"
	"strata/kernel/mesos/executorpb"
	"strata/kernel/mesos/mesospb"
)

// task is a task this executor runs: the command executor's one task, or a
// task of one of the default executor's task groups. All fields are owned
// by the event loop.
type task struct {
	info *mesospb.TaskInfo
	// group is the task group of a default executor's task; nil for the
	// command executor's task.
	group *taskGroup
	// dir is the task's sandbox: its working directory and MESOS_SANDBOX.
	dir string
	// containerID is the nested container id reported for a default
	// executor's task; nil means the executor's own container.
	containerID *mesospb.ContainerID
	// acknowledged is set once the agent acknowledged any update of the
	// task; until then the TaskInfo is sent again with SUBSCRIBE.
	acknowledged bool

	proc *proc.Process
	// ctr is the podman container of a task with an image, which runs
	// instead of a process.
	ctr      *containerRun
	launched bool // the process (or container) was started
	// terminated is set once the process was reaped, or the launch failed:
	// the terminal update has been created.
	terminated bool

	killed                bool
	killedByHealthCheck   bool
	killedByMaxCompletion bool
	killStart             time.Time
	killDeadline          time.Time // when SIGKILL is due

	completionTimer *time.Timer
	checker         *health.Checker
	// last is the latest status sent, which health updates repeat.
	last *mesospb.TaskStatus
}

func (t *task) id() string { return t.info.GetTaskId().GetValue() }

// stopHelpers stops the health checker and the completion timer. The
// checker is stopped in the background: its callbacks post to the event
// loop, which must not wait for it.
func (e *executor) stopHelpers(t *task) {
	if c := t.checker; c != nil {
		e.bg.Go(c.Stop)
		t.checker = nil
	}
	if t.completionTimer != nil {
		t.completionTimer.Stop()
		t.completionTimer = nil
	}
}

// findTask returns the task with the given id, or nil.
func (e *executor) findTask(id string) *task {
	for _, t := range e.tasks {
		if t.id() == id {
			return t
		}
	}
	return nil
}

// allTerminated reports whether the executor has tasks and all of them are
// terminated.
func (e *executor) allTerminated() bool {
	for _, t := range e.tasks {
		if !t.terminated {
			return false
		}
	}
	return len(e.tasks) > 0
}

// launch handles a LAUNCH event of the command executor.
func (e *executor) launch(info *mesospb.TaskInfo) {
	if len(e.tasks) > 0 {
		st := e.newStatus(info.GetTaskId(), mesospb.TaskState_TASK_FAILED)
		st.Message = ptr(`Attempted to run multiple tasks using a "command" executor`)
		e.forward(nil, st)
		return
	}
	t := &task{info: info, dir: e.cfg.Sandbox}
	e.tasks = append(e.tasks, t)
	e.forward(t, e.newStatus(info.GetTaskId(), mesospb.TaskState_TASK_STARTING))
	if img := containerizer.ImageOf(info.GetContainer()); img != nil {
		e.launchContainer(t, img)
		return
	}

	spec, err := e.commandSpec(info, taskPlace{dir: e.cfg.Sandbox, stdout: e.cfg.Stdout, stderr: e.cfg.Stderr})
	if err != nil {
		e.launchFailed(t, err)
		return
	}
	e.log.Info("Starting task " + t.id())
	if err := e.startTask(t, spec); err != nil {
		e.launchFailed(t, err)
		return
	}
	e.running(t)
}

// startTask starts a task's process and reaps it in the background.
func (e *executor) startTask(t *task, spec proc.Spec) error {
	p, err := proc.Start(spec)
	if err != nil {
		return err
	}
	t.proc = p
	t.launched = true
	e.log.Info(fmt.Sprintf("Forked command at %d", p.Pid()), "task", t.id())
	go func() {
		status, err := p.Wait()
		e.post(func() { e.reaped(t, status, err) })
	}()
	return nil
}

// running reports a started task as TASK_RUNNING and starts what watches
// it: the max_completion_time timer and the health check.
func (e *executor) running(t *task) {
	if mct := t.info.GetMaxCompletionTime(); mct.GetNanoseconds() > 0 {
		d := time.Duration(mct.GetNanoseconds())
		e.log.Info(fmt.Sprintf("Task %s has a max completion time of %s", t.id(), FormatDuration(d)))
		t.completionTimer = e.after(d, func() { e.completionTimeout(t, d) })
	}
	st := e.newStatus(t.info.GetTaskId(), mesospb.TaskState_TASK_RUNNING)
	st.ContainerStatus = e.containerStatus(t)
	e.forward(t, st)
	e.startHealthCheck(t)
}

// launchFailed fails a task whose command (or container) could not be
// started.
func (e *executor) launchFailed(t *task, err error) {
	reason := mesospb.TaskStatus_REASON_COMMAND_EXECUTOR_FAILED
	if t.group != nil || t.ctr != nil {
		reason = mesospb.TaskStatus_REASON_CONTAINER_LAUNCH_FAILED
	}
	e.stopHelpers(t)
	t.terminated = true
	msg := "Failed to launch task: " + err.Error()
	if t.ctr != nil {
		msg = "Failed to launch container: " + err.Error()
	}
	e.log.Error(msg, "task", t.id())
	st := e.newStatus(t.info.GetTaskId(), mesospb.TaskState_TASK_FAILED)
	st.Message = &msg
	st.Reason = reason.Enum()
	e.forward(t, st)
	e.maybeExit()
}

// killGrace is the grace period of a kill: the KILL event's policy, else the
// task's, else DefaultKillGracePeriod.
func (e *executor) killGrace(t *task, override *mesospb.KillPolicy) time.Duration {
	d := DefaultKillGracePeriod
	switch {
	case override.GetGracePeriod() != nil:
		d = time.Duration(override.GetGracePeriod().GetNanoseconds())
	case t.info.GetKillPolicy().GetGracePeriod() != nil:
		d = time.Duration(t.info.GetKillPolicy().GetGracePeriod().GetNanoseconds())
	}
	return max(d, 0)
}

// killRequested handles a KILL event. Killing a task of a task group kills
// the whole group.
func (e *executor) killRequested(k *executorpb.Event_Kill) {
	id := k.GetTaskId().GetValue()
	if len(e.tasks) == 0 {
		// Mesos does the same: a kill before the launch can only mean the
		// launch was lost, and exiting lets the agent clean up.
		e.log.Warn("Received kill for task " + id + " before any task was launched; exiting")
		e.shuttingDown = true
		e.finish()
		return
	}
	t := e.findTask(id)
	if t == nil {
		e.log.Warn("Ignoring kill for unknown task " + id)
		return
	}
	grace := e.killGrace(t, k.GetKillPolicy())
	e.log.Info(fmt.Sprintf("Received kill for task %s with grace period of %s", id, FormatDuration(grace)))
	if g := t.group; g != nil {
		e.killGroup(g, k.GetKillPolicy())
		return
	}
	e.killTask(t, grace)
}

// killTask starts killing the task's process tree: SIGTERM now, SIGKILL
// after grace. A second kill can only bring the SIGKILL forward.
func (e *executor) killTask(t *task, grace time.Duration) {
	if t.ctr != nil {
		e.killContainer(t, grace)
		return
	}
	if t.terminated || !t.launched {
		return
	}
	now := time.Now()
	if t.killed {
		deadline := t.killStart.Add(grace)
		if !deadline.Before(t.killDeadline) {
			return
		}
		remaining := max(deadline.Sub(now), 0)
		e.log.Info(fmt.Sprintf("Rescheduling escalation to SIGKILL in %s from now", FormatDuration(remaining)))
		t.killDeadline = deadline
		p := t.proc
		e.bg.Go(func() { e.killTree(p, remaining) })
		return
	}

	if !t.killedByMaxCompletion && e.frameworkHasCapability(mesospb.FrameworkInfo_Capability_TASK_KILLING_STATE) {
		e.forward(t, e.newStatus(t.info.GetTaskId(), mesospb.TaskState_TASK_KILLING))
	}
	e.stopHelpers(t)
	t.killed = true
	t.killStart = now
	t.killDeadline = now.Add(grace)
	if grace > 0 {
		e.log.Info(fmt.Sprintf("Sending SIGTERM to process tree at pid %d", t.proc.Pid()), "task", t.id())
		e.log.Info(fmt.Sprintf("Scheduling escalation to SIGKILL in %s from now", FormatDuration(grace)), "task", t.id())
	} else {
		e.log.Info(fmt.Sprintf("Sending SIGKILL to process tree at pid %d", t.proc.Pid()), "task", t.id())
	}
	p := t.proc
	e.bg.Go(func() { e.killTree(p, grace) })
}

// killTree runs outside the event loop: Kill blocks for the grace period.
func (e *executor) killTree(p *proc.Process, grace time.Duration) {
	if err := p.Kill(grace); err != nil {
		e.post(func() { e.log.Error("Failed to kill the task's process tree", "pid", p.Pid(), "err", err) })
	}
}

// completionTimeout kills a task that ran past its max_completion_time.
func (e *executor) completionTimeout(t *task, d time.Duration) {
	t.completionTimer = nil
	if t.killed || t.terminated {
		return
	}
	e.log.Info(fmt.Sprintf("Killing task %s which exceeded its maximum completion time of %s", t.id(), FormatDuration(d)))
	t.killedByMaxCompletion = true
	e.killTask(t, 0)
}

// reaped sends the terminal update once the task's process has exited.
func (e *executor) reaped(t *task, status proc.ExitStatus, waitErr error) {
	e.stopHelpers(t)
	t.terminated = true

	var (
		state  mesospb.TaskState
		reason *mesospb.TaskStatus_Reason
		msg    string
	)
	switch {
	case waitErr != nil:
		state = mesospb.TaskState_TASK_FAILED
		msg = "Failed to get exit status for Command: " + waitErr.Error()
	default:
		switch {
		case t.killedByMaxCompletion:
			state = mesospb.TaskState_TASK_FAILED
			reason = mesospb.TaskStatus_REASON_MAX_COMPLETION_TIME_REACHED.Enum()
		case t.killed:
			state = mesospb.TaskState_TASK_KILLED
		case status.Success():
			state = mesospb.TaskState_TASK_FINISHED
		default:
			state = mesospb.TaskState_TASK_FAILED
		}
		msg = proc.Describe(status)
	}
	e.log.Info(fmt.Sprintf("%s (pid: %d)", msg, t.proc.Pid()), "task", t.id())

	st := e.newStatus(t.info.GetTaskId(), state)
	st.Message = &msg
	st.Reason = reason
	if t.killed && t.killedByHealthCheck {
		st.Healthy = ptr(false)
	}
	e.forward(t, st)
	e.groupTaskEnded(t, state)
	e.maybeExit()
}

// groupTaskEnded kills the rest of the group of a task that ended FAILED or
// KILLED: a task group lives and dies together, the default restart policy
// of Mesos' default executor. A task that FINISHED leaves its siblings
// running.
func (e *executor) groupTaskEnded(t *task, state mesospb.TaskState) {
	if g := t.group; g != nil && !g.killing && !e.shuttingDown &&
		(state == mesospb.TaskState_TASK_FAILED || state == mesospb.TaskState_TASK_KILLED) {
		e.log.Info(fmt.Sprintf("Task %s ended in %v", t.id(), state))
		e.killGroup(g, nil)
	}
}

// frameworkHasCapability reports whether the framework (from SUBSCRIBED)
// declared a capability.
func (e *executor) frameworkHasCapability(c mesospb.FrameworkInfo_Capability_Type) bool {
	for _, have := range e.frameworkInfo.GetCapabilities() {
		if have.GetType() == c {
			return true
		}
	}
	return false
}

func ptr[T any](v T) *T { return &v }
