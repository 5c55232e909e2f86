package containerizer

import (
	"context"
	"errors"
	"fmt"
	"syscall"

	"strata/kernel/mesos/mesospb"
)

// ErrUnknownContainer is returned for a container id the containerizer does
// not know (never launched, or already destroyed and forgotten).
var ErrUnknownContainer = errors.New("unknown container")

// ErrExists is returned by Launch when the container id is already in use.
var ErrExists = errors.New("container already exists")

// Containerizer launches executors in containers and manages their life.
// All methods are safe for concurrent use.
type Containerizer interface {
	// Isolation describes, for humans and /flags, what the implementation
	// enforces, e.g. "posix (no isolation: process group and rlimits)".
	Isolation() string

	// Launch starts cfg.Command in a new container. It returns once the
	// command's process has started (not when it exits). On error nothing of
	// the container is left behind.
	Launch(ctx context.Context, cfg ContainerConfig) (*Launched, error)

	// Wait blocks until the container has terminated and returns how it
	// ended. It may be called any number of times, also after Destroy, until
	// the containerizer forgets the container (see Forget).
	Wait(ctx context.Context, id string) (*Termination, error)

	// Destroy kills every process of the container and waits for them.
	// Destroying a terminated container just returns its termination.
	Destroy(ctx context.Context, id string) (*Termination, error)

	// Update changes the resources (and limits) allocated to a running
	// container, as tasks come and go. Isolating implementations apply them.
	Update(ctx context.Context, id string, resources []*mesospb.Resource, limits map[string]*mesospb.Value_Scalar) error

	// Forget drops a terminated container from the containerizer's books.
	Forget(id string)

	// Recover re-attaches the containers left by a previous run of the
	// agent. known are the ids the agent has checkpointed and wants back;
	// every other container the implementation finds is an orphan and is
	// destroyed. Containers of known that are found are waitable afterwards
	// (a known container that already exited is reported terminated with an
	// unknown exit status); known ids not found at all are returned in
	// Result.Missing.
	Recover(ctx context.Context, known []string) (*RecoverResult, error)

	// Usage samples the container's resource usage.
	Usage(ctx context.Context, id string) (*mesospb.ResourceStatistics, error)

	// Status reports facts about a running container for TaskStatus.
	Status(ctx context.Context, id string) (*mesospb.ContainerStatus, error)

	// Containers lists the ids of the containers currently known.
	Containers() []string
}

// ContainerConfig is everything a containerizer needs to start a container.
type ContainerConfig struct {
	// ID is the container id (unique on this agent).
	ID string
	// Command is the executor's command line.
	Command Command
	// Directory is the sandbox on the host. The command runs in it, and its
	// standard output and error go to Directory/stdout and Directory/stderr.
	Directory string
	// User, if set, is the user the command runs as. The caller only sets it
	// when the agent can switch users (it runs as root).
	User string
	// Resources are the resources allocated to the container (executor and
	// tasks). Isolating implementations enforce them; all report cpus and
	// mem limits from them.
	Resources []*mesospb.Resource
	// Limits are the task resource limits above the resources (cpus, mem);
	// a value of +Inf means unlimited.
	Limits map[string]*mesospb.Value_Scalar
	// Container is the ContainerInfo of the executor (or of the command
	// task): its rlimit_info is applied by every implementation.
	Container *mesospb.ContainerInfo
	// CommandInfo is the executor's CommandInfo, which Command was resolved
	// from. A containerizer that runs the executor in a container of an
	// image runs it instead, since its shell and argv forms mean something
	// else there (the image's entrypoint).
	CommandInfo *mesospb.CommandInfo
}

// Command is a resolved command line.
type Command struct {
	// Path is the program to execute (absolute, or looked up in PATH).
	Path string
	// Args is the full argv, Args[0] included. Empty means [Path].
	Args []string
	// Env is the complete environment.
	Env []string
}

// Launched describes a started container.
type Launched struct {
	// Pid is the process id of the container's init process (the executor).
	Pid int
}

// Termination tells how a container ended.
type Termination struct {
	// HasStatus is false when the exit status is unknown (a container that
	// ended while the agent was down).
	HasStatus bool
	// WaitStatus is the raw wait(2) status of the init process.
	WaitStatus syscall.WaitStatus
	// Destroyed is true when the container was killed by Destroy.
	Destroyed bool
	// State and Reason, when set, are what the tasks of the container should
	// become (e.g. TASK_FAILED with REASON_CONTAINER_LIMITATION_MEMORY).
	State  *mesospb.TaskState
	Reason *mesospb.TaskStatus_Reason
	// Message describes the end for humans ("exited with status 1").
	Message string
	// Limitation lists the resources whose limit was exceeded, if any.
	Limitation *mesospb.TaskResourceLimitation
}

// Describe renders a wait status the way Mesos words it: "exited with status
// N" or "terminated with signal Killed".
func Describe(ws syscall.WaitStatus) string {
	switch {
	case ws.Signaled():
		return "terminated with signal " + SignalName(ws.Signal())
	case ws.Exited():
		return fmt.Sprintf("exited with status %d", ws.ExitStatus())
	default:
		return fmt.Sprintf("ended with wait status %d", int(ws))
	}
}

// SignalName returns a strsignal(3) style name such as "Killed".
func SignalName(sig syscall.Signal) string {
	s := sig.String()
	if len(s) > 0 && s[0] >= 'a' && s[0] <= 'z' {
		s = string(s[0]-'a'+'A') + s[1:]
	}
	return s
}

// RecoverResult is what Recover found.
type RecoverResult struct {
	// Recovered are the known containers re-attached (running or ended).
	Recovered []string
	// Missing are known ids of which nothing was found.
	Missing []string
	// Orphans are the unknown containers that were destroyed.
	Orphans []string
}

// ScalarResource sums the unreserved and reserved scalar values of the named
// resource, which is what limits are derived from.
func ScalarResource(resources []*mesospb.Resource, name string) float64 {
	var total float64
	for _, r := range resources {
		if r.GetName() == name && r.GetType() == mesospb.Value_SCALAR {
			total += r.GetScalar().GetValue()
		}
	}
	return total
}
