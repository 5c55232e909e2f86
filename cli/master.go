package cli

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"strata/kernel/master"
)

// masterFlags are the flags of `strata master` (and the master part of `strata dev`).
type masterFlags struct {
	ip, hostname, workDir, cluster string
	port                           int
	allocationInterval             time.Duration
	offerTimeout                   time.Duration
	agentPingTimeout               time.Duration
	maxAgentPingTimeouts           int
	agentReregisterTimeout         time.Duration
	defaultFailoverTimeout         time.Duration
	minAllocatable                 string
}

func (f *masterFlags) register(fs *pflag.FlagSet, prefix string) {
	fs.StringVar(&f.ip, prefix+"ip", "127.0.0.1", "IP address the master listens on and advertises")
	fs.StringVar(&f.hostname, prefix+"hostname", "", "hostname the master advertises (default: the --ip)")
	fs.IntVar(&f.port, prefix+"port", 5050, "port of the master's HTTP APIs (Mesos default 5050)")
	fs.StringVar(&f.cluster, prefix+"cluster", "strata", "human-readable name of the cluster, shown in /master/state")
	fs.DurationVar(&f.allocationInterval, prefix+"allocation-interval", time.Second,
		"period of the allocation sweep; passes also run at once on events (agent added, resources freed, revive)")
	fs.DurationVar(&f.offerTimeout, prefix+"offer-timeout", 0, "rescind offers held longer than this (0: never)")
	fs.DurationVar(&f.agentPingTimeout, prefix+"agent-ping-timeout", 15*time.Second, "interval of the master's pings to agents")
	fs.IntVar(&f.maxAgentPingTimeouts, prefix+"max-agent-ping-timeouts", 5,
		"missed pings after which an agent is marked unreachable (its tasks become UNREACHABLE, or LOST)")
	fs.DurationVar(&f.agentReregisterTimeout, prefix+"agent-reregister-timeout", 10*time.Minute,
		"after a master restart, time agents from the registry have to re-register before they are marked unreachable")
	fs.DurationVar(&f.defaultFailoverTimeout, prefix+"default-failover-timeout", 7*24*time.Hour,
		"failover timeout of frameworks that do not set failover_timeout (Mesos uses 0, which kills every task on a brief disconnect); an explicit 0 is honoured")
	fs.StringVar(&f.minAllocatable, prefix+"min-allocatable-resources", "cpus:0.01|mem:32",
		"an offer is made only if it holds one of these '|'-separated quantity sets")
}

func (f *masterFlags) config(workDir string, fs *pflag.FlagSet, logger *slog.Logger) master.Config {
	flags := map[string]string{}
	fs.VisitAll(func(fl *pflag.Flag) { flags[fl.Name] = fl.Value.String() })
	flags["work_dir"] = workDir
	return master.Config{
		IP:                     f.ip,
		Hostname:               f.hostname,
		Port:                   f.port,
		WorkDir:                workDir,
		Cluster:                f.cluster,
		AllocationInterval:     f.allocationInterval,
		OfferTimeout:           f.offerTimeout,
		AgentPingTimeout:       f.agentPingTimeout,
		MaxAgentPingTimeouts:   f.maxAgentPingTimeouts,
		AgentReregisterTimeout: f.agentReregisterTimeout,
		DefaultFailoverTimeout: f.defaultFailoverTimeout,
		MinAllocatable:         f.minAllocatable,
		Flags:                  flags,
		Logger:                 logger,
	}
}

func newMasterCommand() *cobra.Command {
	f := &masterFlags{}
	var workDir string
	cmd := &cobra.Command{
		Use:   "master",
		Short: "Run a Mesos-compatible master",
		Long: `Run a Strata master: the Mesos v1 scheduler API (/api/v1/scheduler), the operator API (/api/v1),
the legacy JSON endpoints (/master/state, /master/state-summary, ...), Prometheus /metrics, and the
endpoint agents register with. The registry (agents, weights) and the frameworks are kept in an
SQLite database under --work-dir, so a restart forgets neither.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if workDir == "" {
				return fmt.Errorf("--work-dir is required")
			}
			abs, err := filepath.Abs(workDir)
			if err != nil {
				return err
			}
			if err := os.MkdirAll(abs, 0o755); err != nil {
				return fmt.Errorf("create work dir: %w", err)
			}
			m, err := master.New(f.config(abs, cmd.Flags(), slog.Default()), nil)
			if err != nil {
				return err
			}
			ctx, stop := signalContext()
			defer stop()
			ready := make(chan string, 1)
			go func() {
				if addr, ok := <-ready; ok {
					fmt.Fprintf(cmd.ErrOrStderr(), "strata master %s serving on http://%s\n", m.ID(), addr)
				}
			}()
			return m.Serve(ctx, ready)
		},
	}
	f.register(cmd.Flags(), "")
	cmd.Flags().StringVar(&workDir, "work-dir", "/var/lib/strata/master", "directory for the master's durable state (SQLite registry)")
	return cmd
}

func itoa(i int) string { return strconv.Itoa(i) }
