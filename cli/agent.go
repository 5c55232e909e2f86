package cli

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"strata/kernel/agent"
)

// agentFlags are the flags of `strata agent` (and the agent part of `strata dev`).
type agentFlags struct {
	ip, hostname, resources, attributes string
	port                                int
	executorRegistrationTimeout         time.Duration
	executorShutdownGracePeriod         time.Duration
	standbyExecutors                    int
}

func (f *agentFlags) register(fs *pflag.FlagSet, prefix string) {
	fs.StringVar(&f.ip, prefix+"ip", "", "IP address the agent listens on and advertises (default: the address the hostname resolves to)")
	fs.StringVar(&f.hostname, prefix+"hostname", "", "hostname the agent advertises in offers (default: the system hostname)")
	fs.IntVar(&f.port, prefix+"port", agent.DefaultPort, "port of the agent's HTTP API (executors, /files, /state; Mesos default 5051)")
	fs.StringVar(&f.resources, prefix+"resources", "",
		`resources to offer, overriding what is detected, in Mesos syntax: "cpus:4;mem:8192;disk:50000;ports:[31000-32000]";
a role in parentheses reserves statically: "cpus(ops):2" (default: all CPUs, memory less 1 GB, disk less 5 GB, ports 31000-32000)`)
	fs.StringVar(&f.attributes, prefix+"attributes", "", `attributes for placement constraints, in Mesos syntax: "rack:r1;zone:us-east-1a;ssd:true"`)
	fs.DurationVar(&f.executorRegistrationTimeout, prefix+"executor-registration-timeout", agent.DefaultExecutorRegistrationTimeout,
		"time an executor has to subscribe after launch before its tasks fail")
	fs.DurationVar(&f.executorShutdownGracePeriod, prefix+"executor-shutdown-grace-period", agent.DefaultExecutorShutdownGracePeriod,
		"time between asking an executor to shut down and destroying its container")
	fs.IntVar(&f.standbyExecutors, prefix+"standby-executors", agent.DefaultStandbyExecutors,
		"command executors kept started ahead of demand, so that a command task skips the executor's process start (0: none)")
}

func (f *agentFlags) config(workDir, master string, logger *slog.Logger) agent.Config {
	return agent.Config{
		WorkDir:                     workDir,
		IP:                          f.ip,
		Hostname:                    f.hostname,
		Port:                        f.port,
		Master:                      master,
		Resources:                   f.resources,
		Attributes:                  f.attributes,
		ExecutorRegistrationTimeout: f.executorRegistrationTimeout,
		ExecutorShutdownGracePeriod: f.executorShutdownGracePeriod,
		StandbyExecutors:            f.standbyExecutors,
		Logger:                      logger,
	}
}

func newAgentCommand() *cobra.Command {
	f := &agentFlags{}
	var workDir, masterAddr string
	cmd := &cobra.Command{
		Use:   "agent",
		Short: "Run an agent that offers this host's resources and runs tasks",
		Long: `Run a Strata agent: it registers with the master, offers this host's resources, runs every task
through an executor process (the built-in command executor or a framework's own), serves the v1
executor API, /state, /files and /monitor/statistics, and keeps checkpointing frameworks' tasks
running across its own restarts.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if masterAddr == "" {
				return fmt.Errorf("--master is required (host:port of the master)")
			}
			a, err := agent.New(f.config(workDir, masterAddr, slog.Default()))
			if err != nil {
				return err
			}
			ctx, stop := signalContext()
			defer stop()
			go func() {
				select {
				case <-a.Ready():
					fmt.Fprintf(cmd.ErrOrStderr(), "strata agent serving on http://%s, master %s\n", a.Addr(), masterAddr)
				case <-ctx.Done():
				}
			}()
			return a.Run(ctx)
		},
	}
	f.register(cmd.Flags(), "")
	cmd.Flags().StringVar(&masterAddr, "master", "", "master to register with: host:port, or a comma-separated list of them")
	cmd.Flags().StringVar(&workDir, "work-dir", "/var/lib/strata/agent", "directory for sandboxes and checkpoints")
	return cmd
}
