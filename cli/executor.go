package cli

import (
	"os"

	"github.com/spf13/cobra"

	"strata/kernel/executor"
)

func newExecutorCommand() *cobra.Command {
	return &cobra.Command{
		Use:    "executor",
		Hidden: false,
		Short:  "Run the built-in command executor (started by the agent, not by hand)",
		Long: `Run the built-in command executor: the process the agent starts for a task that has a
command and no executor of its own. It runs that one task, reports its status to the agent over
the Mesos v1 executor API and exits when the task has ended.

It is configured by the environment the agent sets: MESOS_FRAMEWORK_ID, MESOS_EXECUTOR_ID,
MESOS_DIRECTORY, MESOS_SANDBOX, MESOS_AGENT_ENDPOINT, MESOS_CHECKPOINT,
MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD and, when checkpointing, MESOS_RECOVERY_TIMEOUT and
MESOS_SUBSCRIPTION_BACKOFF_MAX. STRATA_EXECUTOR_CODEC=json switches the wire format from protobuf
to JSON.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := executor.ConfigFromEnv(os.Environ())
			if err != nil {
				return err
			}
			// The token is for the executor only; keep it from the task and
			// from health check commands, which inherit this environment.
			_ = os.Unsetenv(executor.EnvAuthenticationToken)
			ctx, stop := signalContext()
			defer stop()
			return executor.Run(ctx, cfg)
		},
	}
}
