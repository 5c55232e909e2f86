package apps

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	kstore "strata/kernel/store"
	"strata/kernel/version"
	"strata/services/advertise"
	"strata/services/apps/api"
	"strata/services/apps/app"
	"strata/services/apps/deploy"
	"strata/services/apps/events"
	"strata/services/apps/framework"
	"strata/services/apps/store"
	"strata/services/replica"
)

// APIVersion is the Marathon API level the service speaks, reported by /v2/info.
const APIVersion = "1.10.0"

// Config configures the apps service. Masters and WorkDir are required.
type Config struct {
	// Masters are the masters' host:port.
	Masters []string
	// Listen is the API's address (default ":8080"); Advertise is the host:port clients and
	// the master's web UI reach it at (default: Listen's, with this host's name if Listen has
	// no host).
	Listen    string
	Advertise string
	// WorkDir holds the SQLite database (apps.db) unless DB names another.
	WorkDir string
	// DB is the store: a postgres:// URL (shared by the replicas) or an SQLite path (default
	// WorkDir/apps.db).
	DB string
	// ZK, when set (zk://host:port,.../path), makes this process one replica of the service:
	// the replicas elect a leader there, the others forward the API to it (services/replica).
	// ZKSessionTimeout is the ZooKeeper session timeout (default 10 s).
	ZK               string
	ZKSessionTimeout time.Duration

	// FrameworkName (default "marathon"), User (default root, or the current user when not
	// root) and FailoverTimeout (default one week) go into the FrameworkInfo.
	FrameworkName   string
	User            string
	FailoverTimeout time.Duration
	// ProgressDeadline fails a deployment without progress for this long (default 10 min).
	ProgressDeadline time.Duration
	// AutoRevert rolls the apps of a deployment FAILED by the progress deadline back to their
	// last good versions, for apps that do not set upgradeStrategy.autoRevert (a Strata
	// extension; default false).
	AutoRevert bool
	// HealthKillShare and HealthKillWindow rate-limit the health kills of each app: see
	// framework.Config (defaults 0.1, and a window derived from the app's health check).
	HealthKillShare  float64
	HealthKillWindow time.Duration
	// ReconcileInterval, LaunchTimeout and DeclineOfferDuration: see framework.Config.
	ReconcileInterval    time.Duration
	LaunchTimeout        time.Duration
	DeclineOfferDuration time.Duration
	// MaxVersions bounds the stored versions per app (default 50).
	MaxVersions int

	Logger *slog.Logger
}

// Service is a running apps service.
type Service struct {
	cfg   Config
	log   *slog.Logger
	ready chan struct{}

	mu   sync.Mutex
	addr string
}

// New checks cfg and returns a Service; Run starts it.
func New(cfg Config) (*Service, error) {
	if len(cfg.Masters) == 0 {
		return nil, errors.New("apps: no master")
	}
	if cfg.WorkDir == "" {
		return nil, errors.New("apps: no work dir")
	}
	if cfg.Listen == "" {
		cfg.Listen = ":8080"
	}
	if cfg.MaxVersions <= 0 {
		cfg.MaxVersions = store.DefaultMaxVersions
	}
	if cfg.ProgressDeadline == 0 {
		cfg.ProgressDeadline = deploy.DefaultProgressDeadline
	}
	if cfg.FailoverTimeout <= 0 {
		cfg.FailoverTimeout = framework.DefaultFailoverTimeout
	}
	if cfg.ReconcileInterval <= 0 {
		cfg.ReconcileInterval = framework.DefaultReconcileInterval
	}
	if cfg.LaunchTimeout <= 0 {
		cfg.LaunchTimeout = framework.DefaultLaunchTimeout
	}
	if cfg.DeclineOfferDuration <= 0 {
		cfg.DeclineOfferDuration = framework.DefaultDeclineRefuse
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Service{cfg: cfg, log: cfg.Logger.With("component", "apps"), ready: make(chan struct{})}, nil
}

// Ready is closed once the API listens.
func (s *Service) Ready() <-chan struct{} { return s.ready }

// Addr is the address the API listens on (once Ready).
func (s *Service) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// ErrLostLeadership is returned by Run when this replica led the service and lost the
// leadership (ZooKeeper, or a newer leader's claim in the store): the process should exit and be
// restarted as a fresh candidate.
var ErrLostLeadership = replica.ErrLostLeadership

// Run serves the API at once and, while this process leads the service (always, without ZK),
// loads the state, subscribes to the master and drives deployments until ctx ends. A restart or
// a failover loses nothing and kills nothing: instances and deployments come from the store, and
// the framework reconciles with the master before it launches or kills. A replica that does not
// lead forwards the API to the one that does.
func (s *Service) Run(ctx context.Context) error {
	if err := os.MkdirAll(s.cfg.WorkDir, 0o755); err != nil {
		return fmt.Errorf("apps: work dir: %w", err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("apps: listen: %w", err)
	}
	defer ln.Close()
	advertised := advertise.Address(s.cfg.Advertise, s.cfg.Listen, ln)

	rep, err := replica.New(replica.Config{
		ZK: s.cfg.ZK, SessionTimeout: s.cfg.ZKSessionTimeout, Advertise: advertised,
		Local: localHandler(reg), LocalPaths: []string{"/ping", "/metrics", "/metrics/prometheus"},
		Registerer: reg, Logger: s.cfg.Logger,
	})
	if err != nil {
		return fmt.Errorf("apps: %w", err)
	}
	s.mu.Lock()
	s.addr = ln.Addr().String()
	s.mu.Unlock()
	close(s.ready)
	s.log.Info("serving the Marathon API", "addr", ln.Addr().String(), "advertised", advertised, "zk", s.cfg.ZK)

	return rep.Serve(ctx, ln, func(lctx context.Context, serve func(http.Handler)) error {
		return s.lead(lctx, ln, advertised, reg, serve)
	})
}

// localHandler answers /ping and /metrics on every replica, leading or not.
func localHandler(reg *prometheus.Registry) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/ping", replica.Ping)
	metrics := promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	mux.Handle("/metrics", metrics)
	mux.Handle("/metrics/prometheus", metrics)
	return mux
}

// lead is the leader's part of Run: it claims the store, loads the state, installs the API with
// serve, runs the framework and the deployments until ctx ends, and returns an error wrapping
// store.ErrFenced if a newer leader claimed the store meanwhile.
func (s *Service) lead(ctx context.Context, ln net.Listener, advertised string, reg *prometheus.Registry,
	serve func(http.Handler)) error {
	dsn := s.cfg.DB
	if dsn == "" {
		dsn = filepath.Join(s.cfg.WorkDir, "apps.db")
	}
	st, err := store.OpenDSN(dsn)
	if err != nil {
		return fmt.Errorf("apps: %w", err)
	}
	defer st.Close()
	st.SetMaxVersions(s.cfg.MaxVersions)
	ctx, fenced := context.WithCancelCause(ctx)
	defer fenced(nil)
	epoch, err := st.ClaimLeadership(ctx, advertised, func() { fenced(kstore.ErrFenced) })
	if err != nil {
		return fmt.Errorf("apps: %w", err)
	}
	s.log.Info("leading the apps service", "epoch", epoch)

	apps, err := st.Apps(ctx)
	if err != nil {
		return fmt.Errorf("apps: %w", err)
	}
	instances, err := st.Instances(ctx)
	if err != nil {
		return fmt.Errorf("apps: %w", err)
	}
	failures, err := st.LastTaskFailures(ctx)
	if err != nil {
		return fmt.Errorf("apps: %w", err)
	}
	deployments, err := loadDeployments(ctx, st)
	if err != nil {
		return fmt.Errorf("apps: %w", err)
	}
	evlog, err := openEventLog(ctx, st, reg, s.cfg.Logger)
	if err != nil {
		return fmt.Errorf("apps: %w", err)
	}

	var mgr *deploy.Manager
	advertisedHost, _, _ := net.SplitHostPort(advertised)
	fw, err := framework.New(framework.Config{
		Masters:           s.cfg.Masters,
		Hostname:          advertisedHost, // mesos-dns names the framework (marathon.mesos) after it
		Store:             st,
		Events:            evlog,
		Name:              s.cfg.FrameworkName,
		User:              s.cfg.User,
		WebUIURL:          "http://" + advertised,
		FailoverTimeout:   s.cfg.FailoverTimeout,
		DeclineRefuse:     s.cfg.DeclineOfferDuration,
		ReconcileInterval: s.cfg.ReconcileInterval,
		LaunchTimeout:     s.cfg.LaunchTimeout,
		HealthKillShare:   s.cfg.HealthKillShare,
		HealthKillWindow:  s.cfg.HealthKillWindow,
		OnChange: func() {
			if mgr != nil {
				mgr.Wake()
			}
		},
		Registerer: reg,
		Logger:     s.cfg.Logger,
	})
	if err != nil {
		return fmt.Errorf("apps: %w", err)
	}
	mgr, err = deploy.New(deploy.Config{
		Cluster: fw, Store: deployStore{st}, ProgressDeadline: s.cfg.ProgressDeadline, AutoRevert: s.cfg.AutoRevert,
		Events: evlog, Logger: s.cfg.Logger,
	})
	if err != nil {
		return fmt.Errorf("apps: %w", err)
	}
	fw.Load(instances, failures)
	mgr.Load(apps, deployments)
	s.log.Info("state loaded", "apps", len(apps), "instances", len(instances), "deployments", len(deployments))

	_, port, _ := net.SplitHostPort(ln.Addr().String())
	httpPort, _ := strconv.Atoi(port)
	srv := api.New(api.Config{
		Deployer: mgr, Tasks: fw, Gatherer: reg, Registerer: reg, Logger: s.cfg.Logger,
		Events: evlog, EventStream: evlog.bus.Handler(events.HandlerOptions{}),
		Info: api.Info{
			Version: APIVersion, BuildRef: "strata-" + version.Version + "-" + version.GitSHA, Leader: advertised, HTTPPort: httpPort,
			Masters: s.cfg.Masters, FrameworkName: orDefault(s.cfg.FrameworkName, framework.DefaultName),
			User: s.cfg.User, Role: framework.DefaultRole, WebUI: "http://" + advertised,
			FailoverTimeout: s.cfg.FailoverTimeout, ReconciliationInterval: s.cfg.ReconcileInterval,
			TaskLaunchTimeout: s.cfg.LaunchTimeout, DeploymentDeadline: s.cfg.ProgressDeadline,
			DeclineOfferDuration: s.cfg.DeclineOfferDuration, MaxVersions: s.cfg.MaxVersions,
		},
	})

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, 2)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		if err := fw.Run(runCtx); err != nil {
			errs <- err
			cancel()
		}
	}()
	go func() {
		defer wg.Done()
		_ = mgr.Run(runCtx)
	}()
	serve(srv.Handler())

	<-runCtx.Done()
	serve(nil)
	evlog.close() // ends the /v2/events streams
	wg.Wait()
	saveCtx, done := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer done()
	if errors.Is(context.Cause(ctx), kstore.ErrFenced) {
		return fmt.Errorf("apps: %w", kstore.ErrFenced)
	}
	if err := evlog.saveLast(saveCtx); err != nil {
		s.log.Error("storing the last event id", "err", err)
	}
	select {
	case err := <-errs:
		return err
	default:
		return nil
	}
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func loadDeployments(ctx context.Context, st *store.Store) ([]*deploy.Deployment, error) {
	rows, err := st.Deployments(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]*deploy.Deployment, 0, len(rows))
	for _, r := range rows {
		d := &deploy.Deployment{}
		if err := json.Unmarshal(r.Data, d); err != nil {
			return nil, fmt.Errorf("decode deployment %s: %w", r.ID, err)
		}
		out = append(out, d)
	}
	return out, nil
}

// deployStore adapts the store to what the deploy package needs.
type deployStore struct{ st *store.Store }

func encodeDeployment(d *deploy.Deployment) (store.Deployment, error) {
	b, err := json.Marshal(d)
	if err != nil {
		return store.Deployment{}, fmt.Errorf("encode deployment %s: %w", d.ID, err)
	}
	return store.Deployment{ID: d.ID, Status: d.Status, Data: b}, nil
}

func (s deployStore) Commit(ctx context.Context, save []*app.App, del []string, deployments []*deploy.Deployment) error {
	return s.st.Tx(ctx, func(tx *store.Store) error {
		for _, a := range save {
			if err := tx.SaveApp(ctx, a); err != nil {
				return err
			}
		}
		for _, id := range del {
			if err := tx.DeleteApp(ctx, id); err != nil {
				return err
			}
		}
		for _, d := range deployments {
			rec, err := encodeDeployment(d)
			if err != nil {
				return err
			}
			if err := tx.PutDeployment(ctx, rec); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s deployStore) SaveDeployment(ctx context.Context, d *deploy.Deployment) error {
	rec, err := encodeDeployment(d)
	if err != nil {
		return err
	}
	if err := s.st.PutDeployment(ctx, rec); err != nil {
		return err
	}
	if d.Status != deploy.StatusRunning {
		if _, err := s.st.PruneDeployments(ctx, 50, deploy.StatusRunning); err != nil {
			return err
		}
	}
	return nil
}

func (s deployStore) LastGoodVersions(ctx context.Context) (map[string]string, error) {
	return s.st.LastGoodVersions(ctx)
}

func (s deployStore) SetLastGoodVersion(ctx context.Context, appID, version string) error {
	return s.st.SetLastGoodVersion(ctx, appID, version)
}

func (s deployStore) AppVersions(ctx context.Context, id string) ([]string, error) {
	return s.st.AppVersions(ctx, id)
}

func (s deployStore) AppVersion(ctx context.Context, id, v string) (*app.App, error) {
	a, err := s.st.AppVersion(ctx, id, v)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("%w: %s %s", deploy.ErrVersionNotFound, id, v)
	}
	return a, err
}
