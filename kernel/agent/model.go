package agent

import (
	"sort"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"

	"strata/kernel/agent/statusupdate"
	"strata/kernel/containerizer"
	"strata/kernel/mesos/mesospb"
)

// Bounds of the completed lists, as in Mesos.
const (
	maxCompletedFrameworks = 50
	maxCompletedExecutors  = 150
	maxCompletedTasks      = 1000
)

// framework is a framework with executors on this agent.
type framework struct {
	id        string
	info      *mesospb.FrameworkInfo
	executors map[string]*executor
	completed []*executor
	// terminating is set by SHUTDOWN_FRAMEWORK: the framework is removed
	// (with all its status update streams) once its executors are gone.
	terminating bool
}

func (f *framework) checkpoint() bool { return f.info.GetCheckpoint() }

func (f *framework) partitionAware() bool {
	for _, c := range f.info.GetCapabilities() {
		if c.GetType() == mesospb.FrameworkInfo_Capability_PARTITION_AWARE {
			return true
		}
	}
	return false
}

// lostState is what a task that is certainly gone becomes: GONE for
// partition-aware frameworks, LOST for the others.
func (f *framework) lostState() mesospb.TaskState {
	if f.partitionAware() {
		return mesospb.TaskState_TASK_GONE
	}
	return mesospb.TaskState_TASK_LOST
}

// droppedState is what a task that never started becomes.
func (f *framework) droppedState() mesospb.TaskState {
	if f.partitionAware() {
		return mesospb.TaskState_TASK_DROPPED
	}
	return mesospb.TaskState_TASK_LOST
}

type executorState int

const (
	// execRegistering: launching, or launched and waiting for SUBSCRIBE (or,
	// after an agent restart, for the re-subscription).
	execRegistering executorState = iota
	// execRunning: subscribed.
	execRunning
	// execTerminating: shutdown or destruction in progress.
	execTerminating
	// execTerminated: the container is gone.
	execTerminated
)

func (s executorState) String() string {
	return [...]string{"REGISTERING", "RUNNING", "TERMINATING", "TERMINATED"}[s]
}

// launchItem is a queued LAUNCH (one task) or LAUNCH_GROUP (several).
type launchItem struct {
	tasks []*task
	group bool
}

// executorKind says what runs in an executor's container.
type executorKind int

const (
	// customExecutor is the framework's own executor: its CommandInfo.
	customExecutor executorKind = iota
	// commandExecutor is the generated command executor of a command task:
	// `strata executor` with MESOS_HTTP_COMMAND_EXECUTOR=1.
	commandExecutor
	// defaultExecutor is the built-in default executor of task groups whose
	// ExecutorInfo is of type DEFAULT (or has no command): `strata executor`
	// without MESOS_HTTP_COMMAND_EXECUTOR.
	defaultExecutor
)

func (k executorKind) String() string {
	return [...]string{"custom", "command", "default"}[k]
}

// builtin reports whether the executor is `strata executor`.
func (k executorKind) builtin() bool { return k != customExecutor }

// isDefaultExecutorInfo reports whether an ExecutorInfo of a task group asks
// for the default executor: type DEFAULT, or no command to run.
func isDefaultExecutorInfo(ei *mesospb.ExecutorInfo) bool {
	return ei.GetType() == mesospb.ExecutorInfo_DEFAULT || ei.GetCommand() == nil
}

// kindOfRecovered tells the kind of a checkpointed executor from its
// ExecutorInfo: a generated command executor has a CommandInfo without a
// value (and its generated name and source), which a custom executor in a
// container of an image may also have (it runs the image's entrypoint).
func kindOfRecovered(ei *mesospb.ExecutorInfo) executorKind {
	switch {
	case isDefaultExecutorInfo(ei):
		return defaultExecutor
	case ei.GetCommand().GetValue() != "":
		return customExecutor
	case containerizer.ImageOf(ei.GetContainer()) != nil &&
		(ei.GetSource() != ei.GetExecutorId().GetValue() || !strings.HasPrefix(ei.GetName(), commandExecutorNamePrefix)):
		return customExecutor
	}
	return commandExecutor
}

// executor is one executor (one container run) of a framework.
type executor struct {
	id          string
	fw          *framework
	info        *mesospb.ExecutorInfo
	kind        executorKind
	containerID string
	directory   string
	// resources are the container's resources: the executor's plus those
	// of its tasks.
	state executorState
	// launching is set until the containerizer has started (or failed to
	// start) the container.
	launching bool
	pid       int
	conn      *execConn
	queued    []*launchItem
	tasks     map[string]*task // sent to the executor (or recovered), incl. terminal-unacked
	finished  []*mesospb.Task  // terminal and acknowledged
	// recovered is set for executors found after an agent restart until they
	// re-subscribe.
	recovered bool
	// shutdown is set once the agent decided to shut the executor down;
	// shutdownAt is when it sent SHUTDOWN (zero: not sent).
	shutdown   bool
	shutdownAt time.Time
	// failState/failReason/failMessage, when set, override what the
	// executor's non-terminal tasks become when the container ends.
	failState   *mesospb.TaskState
	failReason  *mesospb.TaskStatus_Reason
	failMessage string
	regTimer    *time.Timer
	token       string
	launchedAt  time.Time
	// startSlot releases the executor's launchPacer slot (nil when it holds
	// none).
	startSlot func()
	// exitStatus is the raw wait status, when known.
	exitStatus *int32
	// checkpointErr is why the last update of the executor the agent could
	// not checkpoint (and so refused) failed: it explains the end of tasks
	// whose updates never got through (a full disk).
	checkpointErr string
}

// task is a task known to the agent.
type task struct {
	info   *mesospb.TaskInfo // nil for recovered tasks
	t      *mesospb.Task
	killed bool // a kill was requested
	// killPolicy is the policy of the pending kill, sent with KILL.
	killPolicy *mesospb.KillPolicy
}

// releaseStartSlotLocked gives the executor's start slot back, if it holds
// one.
func (e *executor) releaseStartSlotLocked() {
	if e.startSlot != nil {
		e.startSlot()
		e.startSlot = nil
	}
}

func (t *task) id() string { return t.t.GetTaskId().GetValue() }

func (t *task) terminal() bool { return statusupdate.IsTerminal(t.t.GetState()) }

// newTask builds the agent's Task record from a TaskInfo (STAGING).
func newTask(info *mesospb.TaskInfo, fid, eid, agentID string, user string) *task {
	t := &mesospb.Task{
		Name:        info.Name,
		TaskId:      info.GetTaskId(),
		FrameworkId: &mesospb.FrameworkID{Value: proto.String(fid)},
		ExecutorId:  &mesospb.ExecutorID{Value: proto.String(eid)},
		AgentId:     &mesospb.AgentID{Value: proto.String(agentID)},
		State:       mesospb.TaskState_TASK_STAGING.Enum(),
		Resources:   info.GetResources(),
		Labels:      info.GetLabels(),
		Discovery:   info.GetDiscovery(),
		Container:   info.GetContainer(),
		HealthCheck: info.GetHealthCheck(),
		KillPolicy:  info.GetKillPolicy(),
		Limits:      info.GetLimits(),
	}
	if u := info.GetCommand().GetUser(); u != "" {
		t.User = proto.String(u)
	} else if user != "" {
		t.User = proto.String(user)
	}
	return &task{info: info, t: t}
}

// allTasks returns the executor's queued and launched tasks, sorted by id.
func (e *executor) allTasks() []*task {
	var out []*task
	for _, it := range e.queued {
		out = append(out, it.tasks...)
	}
	for _, t := range e.tasks {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id() < out[j].id() })
	return out
}

func (e *executor) queuedTasks() []*task {
	var out []*task
	for _, it := range e.queued {
		out = append(out, it.tasks...)
	}
	return out
}

func (e *executor) launchedTasks() []*task {
	out := make([]*task, 0, len(e.tasks))
	for _, t := range e.tasks {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id() < out[j].id() })
	return out
}

// findTask looks a task up among the queued and launched ones.
func (e *executor) findTask(tid string) (*task, bool) {
	if t, ok := e.tasks[tid]; ok {
		return t, false
	}
	for _, it := range e.queued {
		for _, t := range it.tasks {
			if t.id() == tid {
				return t, true
			}
		}
	}
	return nil, false
}

// dequeue removes the launch item holding tid and returns its tasks.
func (e *executor) dequeue(tid string) []*task {
	for i, it := range e.queued {
		for _, t := range it.tasks {
			if t.id() == tid {
				e.queued = append(e.queued[:i:i], e.queued[i+1:]...)
				return it.tasks
			}
		}
	}
	return nil
}

// idle reports whether the executor has nothing left to do for the agent:
// no queued task and every launched task acknowledged terminal.
func (e *executor) idle() bool { return len(e.queued) == 0 && len(e.tasks) == 0 }

func (e *executor) addFinished(t *mesospb.Task) {
	e.finished = append(e.finished, t)
	if n := len(e.finished) - maxCompletedTasks; n > 0 {
		e.finished = e.finished[n:]
	}
}

// resources are the container's resources: executor plus live tasks.
func (e *executor) resources() []*mesospb.Resource {
	out := append([]*mesospb.Resource(nil), e.info.GetResources()...)
	for _, t := range e.allTasks() {
		if !t.terminal() {
			out = append(out, t.t.GetResources()...)
		}
	}
	return out
}

// findExecutorOfTask finds the executor holding a task of a framework.
func (f *framework) findExecutorOfTask(tid string) *executor {
	for _, e := range f.executors {
		if t, _ := e.findTask(tid); t != nil {
			return e
		}
	}
	return nil
}

func (f *framework) addCompleted(e *executor) {
	f.completed = append(f.completed, e)
	if n := len(f.completed) - maxCompletedExecutors; n > 0 {
		f.completed = f.completed[n:]
	}
}

func (f *framework) sortedExecutors() []*executor {
	out := make([]*executor, 0, len(f.executors))
	for _, e := range f.executors {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}
