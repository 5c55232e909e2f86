package cli

import (
	"log/slog"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"strata/services/jobs"
	"strata/services/jobs/engine"
	"strata/services/jobs/launcher"
)

// jobsFlags are the flags of `strata jobs` (and the jobs part of `strata dev`).
type jobsFlags struct {
	frameworkName, user string
	failoverTimeout     time.Duration
	reconcileInterval   time.Duration
	retryDelay          time.Duration
	historyCount        int
}

func (f *jobsFlags) register(fs *pflag.FlagSet, prefix string) {
	fs.StringVar(&f.frameworkName, prefix+"framework-name", launcher.DefaultName,
		`framework name registered with the master ("metronome" makes DNS names match DC/OS)`)
	fs.StringVar(&f.user, prefix+"mesos-user", "", "user tasks run as unless the job sets user (default: root when run as root, else the current user)")
	fs.DurationVar(&f.failoverTimeout, prefix+"failover-timeout", launcher.DefaultFailoverTimeout,
		"how long the master keeps the jobs' tasks running while the jobs service is away")
	fs.DurationVar(&f.reconcileInterval, prefix+"reconciliation-interval", launcher.DefaultReconcileInterval,
		"period of task reconciliation with the master (it also runs at every (re)subscription)")
	fs.DurationVar(&f.retryDelay, prefix+"failure-retry", engine.DefaultRetryDelay,
		"wait before a failed task of a run is launched again (Chronos retries, Metronome ON_FAILURE)")
	fs.IntVar(&f.historyCount, prefix+"history-count", engine.DefaultHistoryCount, "finished runs kept per job")
}

func (f *jobsFlags) config(masters []string, listen, workDir string, logger *slog.Logger) jobs.Config {
	return jobs.Config{
		Masters: masters, Listen: listen, WorkDir: workDir, FrameworkName: f.frameworkName, User: f.user,
		FailoverTimeout: f.failoverTimeout, ReconcileInterval: f.reconcileInterval, RetryDelay: f.retryDelay,
		HistoryCount: f.historyCount, Logger: logger,
	}
}

func newJobsCommand() *cobra.Command {
	f := &jobsFlags{}
	sf := &serviceFlags{}
	cmd := &cobra.Command{
		Use:   "jobs",
		Short: "Run the jobs service: jobs run once or on schedules, with Metronome's and Chronos' APIs",
		Long: `Run the jobs service, Strata's distributed cron: a Mesos framework (registered as "metronome")
that runs jobs now or on schedules, with Metronome's /v1/jobs API and Chronos' /v1/scheduler API
on --port over the same jobs, /ping and Prometheus /metrics.

Schedules are cron expressions (5 fields, or 6 with leading seconds; IANA time zones) or Chronos
ISO 8601 repeats. A tick is never run twice: its run's id derives from the job and the tick and is
stored before the task launches. A tick is never missed silently: ticks that fell due while the
service was away run once if still within startingDeadlineSeconds, and every other one is
recorded in the job's history as skipped, with the reason. State lives in SQLite under --work-dir
(or PostgreSQL with --db postgres://...); on start the service reloads it and reconciles the
active runs with the master before it fires anything.

For high availability run two or three replicas with --zk zk://h1:2181,h2:2181,h3:2181/jobs and a
shared --db postgres://...: they elect a leader through ZooKeeper and the others forward every API
call to it. A leader that loses ZooKeeper, or finds that a newer leader claimed the store, exits
with status 3; the new leader reloads the jobs, runs and last ticks, reconciles, and then fires:
a tick is run once whichever replica fires it.

Create a job and run it:
  curl -X POST http://127.0.0.1:9000/v1/jobs -H 'Content-Type: application/json' \
    -d '{"id":"hello","run":{"cmd":"echo hello","cpus":0.1,"mem":32}}'
  curl -X POST http://127.0.0.1:9000/v1/jobs/hello/runs`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			masters, listen, workDir, err := sf.resolve()
			if err != nil {
				return err
			}
			cfg := f.config(masters, listen, workDir, slog.Default())
			cfg.Advertise, cfg.DB, cfg.ZK, cfg.ZKSessionTimeout = sf.advertise, sf.db, sf.zk, sf.zkSessionTimeout
			svc, err := jobs.New(cfg)
			if err != nil {
				return err
			}
			return runService(cmd, "jobs", "the Metronome and Chronos APIs", sf.master, svc)
		},
	}
	f.register(cmd.Flags(), "")
	sf.register(cmd.Flags(), "jobs", 9000, "port of the Metronome and Chronos APIs (Metronome's default 9000)",
		"/var/lib/strata/jobs", "directory for the jobs service's state (SQLite)")
	return cmd
}
