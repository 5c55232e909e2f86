package cli

import (
	"errors"
	"runtime"
	"runtime/debug"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"strata/kernel/executor"
)

func newExecutorCommand() *cobra.Command {
	return &cobra.Command{
		Use:    "executor",
		Hidden: false,
		Short:  "Run the built-in command or default executor (started by the agent, not by hand)",
		Long: `Run the built-in executor, which reports to the agent over the Mesos v1 executor API. With
MESOS_HTTP_COMMAND_EXECUTOR=1 it is the command executor: the process the agent starts for a task
that has a command and no executor of its own; it runs that one task and exits when the task has
ended. Without it, it is the default executor: the process the agent starts for a task group
(LAUNCH_GROUP) whose executor is of type DEFAULT; it runs the tasks of its groups, each in its
sandbox tasks/<task id>, kills a group's other tasks when one fails or is killed, and exits when
every task has ended.

It is configured by the environment the agent sets: MESOS_FRAMEWORK_ID, MESOS_EXECUTOR_ID,
MESOS_DIRECTORY, MESOS_SANDBOX, MESOS_AGENT_ENDPOINT, MESOS_CHECKPOINT,
MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD, MESOS_HTTP_COMMAND_EXECUTOR and, when checkpointing,
MESOS_RECOVERY_TIMEOUT and MESOS_SUBSCRIPTION_BACKOFF_MAX. STRATA_EXECUTOR_CODEC=json switches the
wire format from protobuf to JSON.

A command task whose ContainerInfo has an image runs in a podman container (like
mesos-docker-executor) through the podman service at STRATA_PODMAN_SOCKET, which the agent sets
together with MESOS_AGENT_ID and MESOS_CONTAINER_ID, the container's labels.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// A standby (started by the agent ahead of demand) waits here
			// until it is given its container.
			if err := executor.AwaitLaunch(); err != nil {
				if errors.Is(err, executor.ErrStandbyDiscarded) {
					return nil
				}
				return err
			}
			// The authentication token is the executor's only:
			// ConfigFromProcess keeps it from the task and from health check
			// commands.
			cfg, err := executor.ConfigFromProcess()
			if err != nil {
				return err
			}
			cfg.Launched = tuneForLaunch()
			ctx, stop := signalContext()
			defer stop()
			return executor.Run(ctx, cfg)
		},
	}
}

// maxGCPause bounds how long tuneForLaunch keeps the collector off.
const maxGCPause = 10 * time.Second

// tuneForLaunch sets the Go runtime of the executor process up for the
// launch of its first task (or task group), and returns the function that sets it up for the rest
// of the executor's life (also called after maxGCPause).
//
// During the launch the garbage collector is off: the executor's start
// allocates a few MB (protobuf builds the descriptors of mesos.proto on first
// use), which would trigger a collection right on the launch's critical path.
// After the launch the executor keeps one P: it is a small event loop waiting
// on its task and the agent, and a second P only costs CPU time (idle Ps spin
// looking for work at every wake-up). The launch itself keeps every P, so
// that a blocking system call (the fork of the task) never holds up the
// status updates.
func tuneForLaunch() func() {
	percent := debug.SetGCPercent(-1)
	var once sync.Once
	after := func() {
		once.Do(func() {
			debug.SetGCPercent(percent)
			runtime.GOMAXPROCS(1)
		})
	}
	time.AfterFunc(maxGCPause, after)
	return after
}
