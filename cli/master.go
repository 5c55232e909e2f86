package cli

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"strata/kernel/election"
	"strata/kernel/master"
	"strata/kernel/mesos/mesospb"
	"strata/kernel/store"
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
	// HA: several masters elect a leader through ZooKeeper and share a PostgreSQL store.
	zk               string
	quorum           int
	zkSessionTimeout time.Duration
	db               string
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
	if prefix == "" {
		fs.StringVar(&f.zk, "zk", "", "zk://host1:2181,host2:2181/mesos: elect the leading master through ZooKeeper (Mesos' znode format); needs a shared --db")
		fs.IntVar(&f.quorum, "quorum", 0, "number of masters that make a majority (Mesos' --quorum); required with --zk and shown in /master/flags (the replicated state itself is PostgreSQL's)")
		fs.DurationVar(&f.zkSessionTimeout, "zk-session-timeout", election.DefaultSessionTimeout, "ZooKeeper session timeout; a leader cut off from ZooKeeper for 2/3 of it steps down")
		fs.StringVar(&f.db, "db", "", "the master's store: postgres://user@host:5432/db (shared by all masters), or an SQLite file (default <work-dir>/master/registry.db)")
	}
}

// ha opens the master's store (--db, else SQLite in the work dir) and, with --zk, sets the
// elector that makes this master one candidate among several.
func (f *masterFlags) ha(cfg *master.Config, workDir string, logger *slog.Logger) (*store.Store, error) {
	dsn := f.db
	if dsn == "" {
		if f.zk != "" {
			return nil, fmt.Errorf("--zk needs --db postgres://...: the masters must share their store")
		}
		dsn = filepath.Join(workDir, "master", "registry.db")
	}
	if f.zk != "" && !store.IsPostgres(dsn) {
		return nil, fmt.Errorf("--zk needs a PostgreSQL --db that every master shares, not %q", dsn)
	}
	if f.zk != "" && f.quorum < 1 {
		return nil, fmt.Errorf("--zk needs --quorum (a majority of the masters, e.g. 2 of 3)")
	}
	st, err := store.Open(dsn)
	if err != nil {
		return nil, err
	}
	if f.zk != "" {
		u, err := election.ParseURL(f.zk)
		if err != nil {
			st.Close()
			return nil, err
		}
		cfg.Elector = func(info *mesospb.MasterInfo) (master.Elector, error) {
			return election.NewCandidate(election.Config{URL: u, SessionTimeout: f.zkSessionTimeout, Logger: logger}, info)
		}
	}
	return st, nil
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
SQLite database under --work-dir, so a restart forgets neither.

For high availability run three (or five) masters with --zk zk://h1:2181,h2:2181,h3:2181/mesos,
--quorum 2 and a shared --db postgres://...: they elect a leader through ZooKeeper in Mesos' znode
format; the others answer with 307 to the leader. A leader that loses ZooKeeper, or finds a newer
leader's epoch in the store, exits (status 3) for its supervisor to restart it as a candidate.`,
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
			cfg := f.config(abs, cmd.Flags(), slog.Default())
			st, err := f.ha(&cfg, abs, slog.Default())
			if err != nil {
				return err
			}
			defer st.Close()
			m, err := master.New(cfg, st)
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
			err = m.Serve(ctx, ready)
			if errors.Is(err, master.ErrLostLeadership) {
				fmt.Fprintln(cmd.ErrOrStderr(), "strata master: lost leadership, exiting")
				os.Exit(3)
			}
			return err
		},
	}
	f.register(cmd.Flags(), "")
	cmd.Flags().StringVar(&workDir, "work-dir", "/var/lib/strata/master", "directory for the master's durable state (SQLite registry)")
	return cmd
}

func itoa(i int) string { return strconv.Itoa(i) }
