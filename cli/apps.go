package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"strata/kernel/election"
	kstore "strata/kernel/store"
	"strata/services/apps"
	"strata/services/apps/deploy"
	"strata/services/apps/framework"
	"strata/services/replica"
)

// appsFlags are the flags of `strata apps` (and the apps part of `strata dev`).
type appsFlags struct {
	frameworkName, user             string
	failoverTimeout, deadline       time.Duration
	reconcileInterval, launchTimout time.Duration
	declineOfferDuration            time.Duration
	maxVersions                     int
	autoRevert                      bool
	healthKillShare                 float64
	healthKillWindow                time.Duration
}

func (f *appsFlags) register(fs *pflag.FlagSet, prefix string) {
	fs.StringVar(&f.frameworkName, prefix+"framework-name", framework.DefaultName,
		`framework name registered with the master ("marathon" makes mesos-dns names such as web.marathon.mesos match DC/OS)`)
	fs.StringVar(&f.user, prefix+"mesos-user", "", "user tasks run as unless the app sets user (default: root when run as root, else the current user)")
	fs.DurationVar(&f.failoverTimeout, prefix+"failover-timeout", framework.DefaultFailoverTimeout,
		"how long the master keeps the apps' tasks running while the apps service is away")
	fs.DurationVar(&f.deadline, prefix+"deployment-progress-deadline", deploy.DefaultProgressDeadline,
		"a deployment without progress for this long is FAILED with a reason (Marathon's never end); 0 keeps the default, negative disables it")
	fs.DurationVar(&f.reconcileInterval, prefix+"reconciliation-interval", framework.DefaultReconcileInterval,
		"period of task reconciliation with the master (it also runs at every (re)subscription)")
	fs.DurationVar(&f.launchTimout, prefix+"task-launch-timeout", framework.DefaultLaunchTimeout,
		"a launched task that is not running after this long is killed and replaced")
	fs.DurationVar(&f.declineOfferDuration, prefix+"decline-offer-duration", framework.DefaultDeclineRefuse,
		"how long offers nothing waits for are refused")
	fs.IntVar(&f.maxVersions, prefix+"max-versions", 50, "versions kept per app (Marathon's zk_max_versions)")
	fs.BoolVar(&f.autoRevert, prefix+"deployment-auto-revert", false,
		"roll the apps of a deployment FAILED by the progress deadline back to their last good versions (apps may set upgradeStrategy.autoRevert instead)")
	fs.Float64Var(&f.healthKillShare, prefix+"health-kill-share", framework.DefaultHealthKillShare,
		"share of an app's instances that may be killed for failing health checks at once, and per --health-kill-window (at least one)")
	fs.DurationVar(&f.healthKillWindow, prefix+"health-kill-window", 0,
		"period over which an app's health kill allowance refills (0: per app, the time a replacement needs before its own checks could fail it)")
}

func (f *appsFlags) config(masters []string, listen, workDir string, logger *slog.Logger) apps.Config {
	return apps.Config{
		Masters: masters, Listen: listen, WorkDir: workDir, FrameworkName: f.frameworkName, User: f.user,
		FailoverTimeout: f.failoverTimeout, ProgressDeadline: f.deadline, ReconcileInterval: f.reconcileInterval,
		LaunchTimeout: f.launchTimout, DeclineOfferDuration: f.declineOfferDuration, MaxVersions: f.maxVersions,
		AutoRevert: f.autoRevert, HealthKillShare: f.healthKillShare, HealthKillWindow: f.healthKillWindow,
		Logger: logger,
	}
}

func splitMasters(s string) []string {
	var out []string
	for _, m := range strings.Split(s, ",") {
		if m = strings.TrimSpace(m); m != "" {
			out = append(out, m)
		}
	}
	return out
}

// serviceFlags are the flags every framework service command has: its masters, where its API
// listens, where its state lives, and the ZooKeeper election of its replicas.
type serviceFlags struct {
	master, workDir, ip string
	advertise           string
	port                int
	db, zk              string
	zkSessionTimeout    time.Duration
}

func (f *serviceFlags) register(fs *pflag.FlagSet, name string, port int, portHelp, workDir, workDirHelp string) {
	fs.StringVar(&f.master, "master", "", "master(s) to subscribe to: host:port, a comma-separated list, or zk://host1:2181,host2:2181/mesos to follow the leading master")
	fs.StringVar(&f.ip, "ip", "", "address the API listens on (default: all)")
	fs.IntVar(&f.port, "port", port, portHelp)
	fs.StringVar(&f.advertise, "advertise", "", "host:port the other replicas and clients reach this API at (default: this host's name and --port)")
	fs.StringVar(&f.workDir, "work-dir", workDir, workDirHelp)
	fs.StringVar(&f.db, "db", "", "the store: postgres://user@host:5432/db (shared by the replicas), or an SQLite file (default <work-dir>/"+name+".db)")
	fs.StringVar(&f.zk, "zk", "", "zk://host1:2181,host2:2181/"+name+": run as one of several replicas that elect their leader through ZooKeeper; the others forward the API to it (needs a shared --db postgres://)")
	fs.DurationVar(&f.zkSessionTimeout, "zk-session-timeout", election.DefaultSessionTimeout, "ZooKeeper session timeout; a leader cut off from ZooKeeper for 2/3 of it steps down and exits (status 3)")
}

// masterList reads --master: one zk:// URL (whose host list has commas), or host:port entries.
func masterList(s string) []string {
	if election.IsZK(s) {
		return []string{strings.TrimSpace(s)}
	}
	return splitMasters(s)
}

// service is a framework service (apps, jobs) as its command runs it.
type service interface {
	Ready() <-chan struct{}
	Addr() string
	Run(context.Context) error
}

// runService runs svc until a signal, printing "strata <name> serving <what> on http://<addr>"
// once it listens. A lost leadership ends the process with status 3, for the supervisor to
// restart it as a fresh candidate (as the master does).
func runService(cmd *cobra.Command, name, what, master string, svc service) error {
	w := cmd.ErrOrStderr()
	err := serveUntilSignal(w, svc.Ready(), func() string {
		return fmt.Sprintf("strata %s serving %s on http://%s, master %s", name, what, svc.Addr(), master)
	}, svc.Run)
	if errors.Is(err, replica.ErrLostLeadership) {
		fmt.Fprintf(w, "strata %s: lost leadership, exiting: %v\n", name, err)
		os.Exit(3)
	}
	return err
}

// resolve checks the masters and creates the work dir; it returns the masters, the address to
// listen on and the work dir's absolute path.
func (f *serviceFlags) resolve() (masters []string, listen, workDir string, err error) {
	masters = masterList(f.master)
	if len(masters) == 0 {
		return nil, "", "", fmt.Errorf("--master is required (host:port of the master, or a comma-separated list)")
	}
	workDir, err = filepath.Abs(f.workDir)
	if err != nil {
		return nil, "", "", err
	}
	if err := os.MkdirAll(workDir, 0o755); err != nil {
		return nil, "", "", fmt.Errorf("create work dir: %w", err)
	}
	if f.zk != "" {
		if _, err := election.ParseURL(f.zk); err != nil {
			return nil, "", "", fmt.Errorf("--zk: %w", err)
		}
		if !kstore.IsPostgres(f.db) {
			return nil, "", "", fmt.Errorf("--zk needs a store the replicas share: --db postgres://...")
		}
	}
	return masters, fmt.Sprintf("%s:%d", f.ip, f.port), workDir, nil
}

func newAppsCommand() *cobra.Command {
	f := &appsFlags{}
	sf := &serviceFlags{}
	cmd := &cobra.Command{
		Use:   "apps",
		Short: "Run the apps service: long-running apps with Marathon's /v2 API",
		Long: `Run the apps service, Strata's distributed init: a Mesos framework (registered as "marathon")
that keeps long-running apps running, with the Marathon /v2 REST API on --port, so that Marathon
clients and scripts work unchanged: apps (create, update, scale, restart, delete, versions,
rollback), deployments (rolling restarts honouring upgradeStrategy), tasks, /v2/info, /ping and
Prometheus /metrics.

State (apps and their versions, instances, deployments, the framework id) is kept in an SQLite
database under --work-dir, or in PostgreSQL with --db postgres://...; a restart loses nothing and
kills nothing: the service reloads its state and reconciles with the master before it launches or
kills anything.

For high availability run two or three replicas with --zk zk://h1:2181,h2:2181,h3:2181/apps and a
shared --db postgres://...: they elect a leader through ZooKeeper, the others forward every API
call to it (and answer /ping and /metrics themselves). The leader that loses ZooKeeper, or finds
that a newer leader claimed the store, exits with status 3 for its supervisor to restart it; the
new leader reloads the state and reconciles before acting.

Deploy an app:
  curl -X POST http://127.0.0.1:8080/v2/apps -H 'Content-Type: application/json' \
    -d '{"id":"/hello","cmd":"python3 -m http.server $PORT0","instances":2,"cpus":0.1,"mem":64}'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			masters, listen, workDir, err := sf.resolve()
			if err != nil {
				return err
			}
			cfg := f.config(masters, listen, workDir, slog.Default())
			cfg.Advertise, cfg.DB, cfg.ZK, cfg.ZKSessionTimeout = sf.advertise, sf.db, sf.zk, sf.zkSessionTimeout
			svc, err := apps.New(cfg)
			if err != nil {
				return err
			}
			return runService(cmd, "apps", "the Marathon API", sf.master, svc)
		},
	}
	f.register(cmd.Flags(), "")
	sf.register(cmd.Flags(), "apps", 8080, "port of the Marathon API (Marathon's default 8080)",
		"/var/lib/strata/apps", "directory for the apps service's state (SQLite)")
	return cmd
}
