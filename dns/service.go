package dns

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"strata/dns/feed"
	"strata/dns/records"
	"strata/dns/server"
	"strata/kernel/version"
)

// Service runs the feed, the DNS server and its HTTP API.
type Service struct {
	cfg server.Config
	log *slog.Logger

	ready chan struct{}
	mu    sync.Mutex
	dns   net.Addr
	http  string
}

// New checks cfg (a mesos-dns config, with its Masters) and returns a Service.
func New(cfg server.Config, logger *slog.Logger) (*Service, error) {
	cfg, err := cfg.Validate()
	if err != nil {
		return nil, err
	}
	if len(cfg.Masters) == 0 {
		return nil, errors.New("dns: no masters: set Masters in the config or --masters")
	}
	if logger == nil {
		logger = slog.Default()
	}
	return &Service{cfg: cfg, log: logger.With("component", "dns"), ready: make(chan struct{})}, nil
}

// Ready is closed once the DNS and HTTP listeners are open (records may
// still be loading: until the first state arrives the domain answers
// SERVFAIL).
func (s *Service) Ready() <-chan struct{} { return s.ready }

// DNSAddr is the DNS server's address once ready.
func (s *Service) DNSAddr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dns == nil {
		return ""
	}
	return s.dns.String()
}

// HTTPAddr is the HTTP API's address once ready ("" when HttpOn is off).
func (s *Service) HTTPAddr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.http
}

// Run serves until ctx ends.
func (s *Service) Run(ctx context.Context) error {
	set, err := records.New(s.cfg.RecordsConfig())
	if err != nil {
		return fmt.Errorf("dns: %w", err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	f, err := feed.New(feed.Config{Masters: s.cfg.Masters, Set: set, Logger: s.log, Registerer: reg})
	if err != nil {
		return fmt.Errorf("dns: %w", err)
	}
	ready := f.Ready()
	srv, err := server.New(s.cfg, set, server.Options{
		Registerer: reg, Gatherer: reg, Logger: s.log, Version: version.Version,
		Ready: func() bool {
			select {
			case <-ready:
				return true
			default:
				return false
			}
		},
	})
	if err != nil {
		return fmt.Errorf("dns: %w", err)
	}
	var pc net.PacketConn
	var tl net.Listener
	if s.cfg.DNSOn {
		pc, tl, err = server.Listen(net.JoinHostPort(s.cfg.Listener, strconv.Itoa(s.cfg.Port)))
		if err != nil {
			return fmt.Errorf("dns: %w", err)
		}
	}
	var hl net.Listener
	if s.cfg.HTTPOn {
		hl, err = net.Listen("tcp", net.JoinHostPort(s.cfg.HTTPListener, strconv.Itoa(s.cfg.HTTPPort)))
		if err != nil {
			if pc != nil {
				pc.Close()
				tl.Close()
			}
			return fmt.Errorf("dns: http listen: %w", err)
		}
	}

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, 3)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := f.Run(runCtx); err != nil {
			errs <- err
			cancel()
		}
	}()
	if pc != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := srv.Serve(runCtx, pc, tl); err != nil {
				errs <- err
				cancel()
			}
		}()
	}
	var httpSrv *http.Server
	if hl != nil {
		httpSrv = &http.Server{Handler: srv.HTTPHandler(), ReadHeaderTimeout: 10 * time.Second}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := httpSrv.Serve(hl); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errs <- fmt.Errorf("dns: http: %w", err)
				cancel()
			}
		}()
	}
	s.mu.Lock()
	if pc != nil {
		s.dns = pc.LocalAddr()
	}
	if hl != nil {
		s.http = hl.Addr().String()
	}
	s.mu.Unlock()
	close(s.ready)
	s.log.Info("serving DNS", "dns", s.DNSAddr(), "http", s.HTTPAddr(), "domain", s.cfg.Domain, "masters", s.cfg.Masters)

	<-runCtx.Done()
	if httpSrv != nil {
		shutdownCtx, done := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		_ = httpSrv.Shutdown(shutdownCtx)
		done()
	}
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
		return nil
	}
}
