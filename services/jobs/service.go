package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	kstore "strata/kernel/store"
	"strata/services/advertise"
	"strata/services/jobs/api"
	"strata/services/jobs/engine"
	"strata/services/jobs/launcher"
	"strata/services/jobs/store"
	"strata/services/replica"
)

// Config configures the jobs service. Masters and WorkDir are required.
type Config struct {
	// Masters are the masters' host:port.
	Masters []string
	// Listen is the API's address (default ":9000"); Advertise is the
	// host:port clients reach it at (default: Listen's, with this host's
	// name if Listen has no host).
	Listen    string
	Advertise string
	// WorkDir holds the SQLite database (jobs.db) unless DB names another.
	WorkDir string
	// DB is the store: a postgres:// URL (shared by the replicas) or an SQLite path (default
	// WorkDir/jobs.db).
	DB string
	// ZK, when set (zk://host:port,.../path), makes this process one replica of the service:
	// the replicas elect a leader there, the others forward the API to it (services/replica).
	// ZKSessionTimeout is the ZooKeeper session timeout (default 10 s).
	ZK               string
	ZKSessionTimeout time.Duration
	// FrameworkName (default "metronome"), User and FailoverTimeout (one
	// week) go into the FrameworkInfo.
	FrameworkName   string
	User            string
	FailoverTimeout time.Duration
	// HistoryCount bounds the finished runs kept per job (default 1000).
	HistoryCount int
	// RetryDelay is the wait before a failed task's next attempt (10s).
	RetryDelay time.Duration
	// ReconcileInterval is how often the launcher reconciles all its tasks
	// with the master (10 min).
	ReconcileInterval time.Duration
	Logger            *slog.Logger
}

// Service is the jobs service.
type Service struct {
	cfg   Config
	log   *slog.Logger
	ready chan struct{}

	mu   sync.Mutex
	addr string
}

// New checks cfg and returns a Service.
func New(cfg Config) (*Service, error) {
	if len(cfg.Masters) == 0 {
		return nil, errors.New("jobs: no master")
	}
	if cfg.WorkDir == "" {
		return nil, errors.New("jobs: no work dir")
	}
	if cfg.Listen == "" {
		cfg.Listen = ":9000"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Service{cfg: cfg, log: cfg.Logger.With("component", "jobs"), ready: make(chan struct{})}, nil
}

// Ready is closed once the API serves.
func (s *Service) Ready() <-chan struct{} { return s.ready }

// Addr is the address the API listens on, once ready.
func (s *Service) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// observer hands the launcher's reports to the engine, which exists only
// after the launcher.
type observer struct{ eng *engine.Engine }

func (o *observer) Launching(ctx context.Context, l launcher.Launched) error {
	return o.eng.Launching(ctx, l)
}
func (o *observer) Update(ctx context.Context, u launcher.Update) error { return o.eng.Update(ctx, u) }
func (o *observer) Unknown(ctx context.Context, u launcher.Update)      { o.eng.Unknown(ctx, u) }

// ErrLostLeadership is returned by Run when this replica led the service and lost the
// leadership (ZooKeeper, or a newer leader's claim in the store): the process should exit and be
// restarted as a fresh candidate.
var ErrLostLeadership = replica.ErrLostLeadership

// Run serves the API at once and, while this process leads the service (always, without ZK),
// loads the state, registers the framework, and once reconciled fires schedules, until ctx
// ends. A replica that does not lead forwards the API to the one that does.
func (s *Service) Run(ctx context.Context) error {
	if err := os.MkdirAll(s.cfg.WorkDir, 0o755); err != nil {
		return fmt.Errorf("jobs: work dir: %w", err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("jobs: listen: %w", err)
	}
	defer ln.Close()
	advertised := advertise.Address(s.cfg.Advertise, s.cfg.Listen, ln)

	metrics := promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})
	local := http.NewServeMux()
	local.Handle("/metrics", metrics)
	local.Handle("/v1/metrics", metrics)
	local.HandleFunc("/ping", replica.Ping)
	rep, err := replica.New(replica.Config{
		ZK: s.cfg.ZK, SessionTimeout: s.cfg.ZKSessionTimeout, Advertise: advertised,
		Local: local, LocalPaths: []string{"/ping", "/metrics", "/v1/metrics"},
		Registerer: reg, Logger: s.cfg.Logger,
	})
	if err != nil {
		return fmt.Errorf("jobs: %w", err)
	}
	s.mu.Lock()
	s.addr = ln.Addr().String()
	s.mu.Unlock()
	close(s.ready)
	s.log.Info("serving the Metronome and Chronos APIs", "addr", ln.Addr().String(), "advertised", advertised, "zk", s.cfg.ZK)

	return rep.Serve(ctx, ln, func(lctx context.Context, serve func(http.Handler)) error {
		return s.lead(lctx, advertised, reg, serve)
	})
}

// lead is the leader's part of Run: it claims the store, loads the state, installs the API with
// serve, and runs the framework and the schedules until ctx ends; it returns an error wrapping
// store.ErrFenced if a newer leader claimed the store meanwhile.
func (s *Service) lead(ctx context.Context, advertised string, reg prometheus.Registerer, serve func(http.Handler)) error {
	dsn := s.cfg.DB
	if dsn == "" {
		dsn = filepath.Join(s.cfg.WorkDir, "jobs.db")
	}
	st, err := store.OpenDSN(dsn)
	if err != nil {
		return fmt.Errorf("jobs: %w", err)
	}
	defer st.Close()
	ctx, fenced := context.WithCancelCause(ctx)
	defer fenced(nil)
	epoch, err := st.ClaimLeadership(ctx, advertised, func() { fenced(kstore.ErrFenced) })
	if err != nil {
		return fmt.Errorf("jobs: %w", err)
	}
	s.log.Info("leading the jobs service", "epoch", epoch)

	obs := &observer{}
	advertisedHost, _, _ := net.SplitHostPort(advertised)
	l, err := launcher.New(launcher.Config{
		Masters: s.cfg.Masters, IDs: st, Observer: obs, Name: s.cfg.FrameworkName, User: s.cfg.User,
		Hostname: advertisedHost, // mesos-dns names the framework (metronome.mesos) after it
		WebUIURL: "http://" + advertised, FailoverTimeout: s.cfg.FailoverTimeout,
		ReconcileInterval: s.cfg.ReconcileInterval, Logger: s.cfg.Logger, Registerer: reg,
	})
	if err != nil {
		return fmt.Errorf("jobs: %w", err)
	}
	eng, err := engine.New(engine.Config{
		Store: st, Launcher: l, HistoryCount: s.cfg.HistoryCount, RetryDelay: s.cfg.RetryDelay,
		Logger: s.cfg.Logger, Registerer: reg,
	})
	if err != nil {
		return fmt.Errorf("jobs: %w", err)
	}
	obs.eng = eng
	if err := eng.Load(ctx); err != nil {
		return fmt.Errorf("jobs: %w", err)
	}

	// /ping and the metrics are answered by the replica itself (Local), leading or not.
	handler := api.New(api.Config{Engine: eng, Leader: advertised, Logger: s.cfg.Logger})

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, 1)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		if err := l.Run(runCtx); err != nil {
			errs <- err
			cancel()
		}
	}()
	go func() {
		defer wg.Done()
		eng.Serve(runCtx)
	}()
	serve(handler)

	<-runCtx.Done()
	serve(nil)
	wg.Wait()
	if errors.Is(context.Cause(ctx), kstore.ErrFenced) {
		return fmt.Errorf("jobs: %w", kstore.ErrFenced)
	}
	select {
	case err := <-errs:
		return err
	default:
		return nil
	}
}
