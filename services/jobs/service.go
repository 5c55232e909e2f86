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

	"strata/services/advertise"
	"strata/services/jobs/api"
	"strata/services/jobs/engine"
	"strata/services/jobs/launcher"
	"strata/services/jobs/store"
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
	// WorkDir holds the SQLite database (jobs.db).
	WorkDir string
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

// Run loads the state, serves the API, registers the framework, and once
// reconciled fires schedules, until ctx ends.
func (s *Service) Run(ctx context.Context) error {
	if err := os.MkdirAll(s.cfg.WorkDir, 0o755); err != nil {
		return fmt.Errorf("jobs: work dir: %w", err)
	}
	st, err := store.OpenSQLite(filepath.Join(s.cfg.WorkDir, "jobs.db"))
	if err != nil {
		return fmt.Errorf("jobs: %w", err)
	}
	defer st.Close()

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("jobs: listen: %w", err)
	}
	defer ln.Close()
	advertised := advertise.Address(s.cfg.Advertise, s.cfg.Listen, ln)

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

	metrics := promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})
	mux := http.NewServeMux()
	mux.Handle("/metrics", metrics)
	mux.Handle("/v1/metrics", metrics)
	mux.Handle("/", api.New(api.Config{Engine: eng, Leader: advertised, Logger: s.cfg.Logger}))
	httpSrv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, 2)
	var wg sync.WaitGroup
	wg.Add(3)
	go func() {
		defer wg.Done()
		if err := httpSrv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errs <- fmt.Errorf("jobs: serve: %w", err)
			cancel()
		}
	}()
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
	s.mu.Lock()
	s.addr = ln.Addr().String()
	s.mu.Unlock()
	close(s.ready)
	s.log.Info("serving the Metronome and Chronos APIs", "addr", ln.Addr().String(), "advertised", advertised)

	<-runCtx.Done()
	shutdownCtx, done := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer done()
	_ = httpSrv.Shutdown(shutdownCtx)
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
		return nil
	}
}
