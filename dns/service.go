package dns

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"strata/dns/feed"
	"strata/dns/records"
	"strata/dns/server"
	"strata/kernel/election"
	"strata/kernel/version"
)

// Service runs the feed, the DNS server and its HTTP API, and with a zk:// URL (Config.Zk) the
// ZooKeeper detector that tells the feed which master leads.
type Service struct {
	cfg  server.Config
	log  *slog.Logger
	base *slog.Logger
	zk   *election.URL // nil without Config.Zk
	feed feed.Config   // without its Set and Registerer, which each Run makes

	ready chan struct{}
	mu    sync.Mutex
	dns   net.Addr
	http  string
}

// New checks cfg (a mesos-dns config, with its Masters or its Zk URL) and returns a Service.
// With Zk the feed follows the leader ZooKeeper names (Masters, if given, are a fallback and
// still number the masterN names), as Mesos-DNS does.
func New(cfg server.Config, logger *slog.Logger) (*Service, error) {
	cfg, err := cfg.Validate()
	if err != nil {
		return nil, err
	}
	if len(cfg.Masters) == 0 && cfg.Zk == "" {
		return nil, errors.New("dns: no masters: set Masters or Zk in the config, or --masters or --zk")
	}
	var zk *election.URL
	if cfg.Zk != "" {
		u, err := election.ParseURL(cfg.Zk)
		if err != nil {
			return nil, fmt.Errorf("dns: zk: %w", err)
		}
		zk = &u
	}
	if logger == nil {
		logger = slog.Default()
	}
	// Mesos-DNS' fallback for an empty resolvers list, leaving out this server itself.
	cfg, warning := cfg.WithSystemResolvers(server.ResolvConfPath)
	if warning != "" {
		logger.Warn(warning)
	}
	s := &Service{cfg: cfg, log: logger.With("component", "dns"), base: logger, zk: zk, ready: make(chan struct{})}
	if s.feed, err = s.feedConfig(); err != nil {
		return nil, err
	}
	return s, nil
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
	fcfg := s.feed
	fcfg.Set, fcfg.Registerer = set, reg
	var det *election.Detector
	if s.zk != nil {
		if det, err = election.NewDetector(election.Config{URL: *s.zk, Logger: s.base}); err != nil {
			return fmt.Errorf("dns: %w", err)
		}
		fcfg.Detector = det
		fcfg.DetectionTimeout = time.Duration(s.cfg.ZkDetectionTimeout) * time.Second
	}
	f, err := feed.New(fcfg)
	if err != nil {
		return fmt.Errorf("dns: %w", err)
	}
	ready := f.Ready()
	srv, err := server.New(s.cfg, set, server.Options{
		Registerer: reg, Gatherer: reg, Logger: s.base, Version: version.Version,
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
	errs := make(chan error, 4)
	var wg sync.WaitGroup
	if det != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := det.Run(runCtx); err != nil {
				errs <- fmt.Errorf("dns: leader detection: %w", err)
				cancel()
			}
		}()
	}
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
	s.log.Info("serving DNS", "dns", s.DNSAddr(), "http", s.HTTPAddr(), "domain", s.cfg.Domain, "masters", s.cfg.Masters,
		"zk", s.zkString())

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

// feedConfig turns the Mesos connection settings of the config into the feed's: the masters,
// HTTPS with the CA and client certificate files, basic authentication, the refresh period
// (refreshSeconds) and the time a master may take to answer a SUBSCRIBE with its snapshot
// (stateTimeoutSeconds).
func (s *Service) feedConfig() (feed.Config, error) {
	c := s.cfg
	fc := feed.Config{
		Masters:        c.Masters,
		Logger:         s.base, // the feed and the server name their own component
		Refresh:        time.Duration(c.RefreshSeconds) * time.Second,
		ConnectTimeout: time.Duration(c.StateTimeoutSeconds) * time.Second,
	}
	switch c.MesosAuthentication {
	case "basic":
		if c.MesosCredentials.Principal == "" {
			return fc, errors.New("dns: mesosAuthentication \"basic\" needs mesosCredentials.principal")
		}
		fc.Principal, fc.Secret = c.MesosCredentials.Principal, c.MesosCredentials.Secret
	case "iam":
		s.log.Warn("mesosAuthentication \"iam\" (a DC/OS service account) is not supported: connecting to the masters without authentication",
			"IAMConfigFile", c.IAMConfigFile)
	}
	if !c.MesosHTTPSOn {
		if c.CACertFile != "" || c.CertFile != "" || c.KeyFile != "" {
			s.log.Warn("CACertFile, CertFile and KeyFile apply only with MesosHTTPSOn; connecting over plain HTTP")
		}
		return fc, nil
	}
	tc, err := tlsConfig(c.CACertFile, c.CertFile, c.KeyFile)
	if err != nil {
		return fc, err
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tc
	fc.Scheme, fc.HTTPClient = "https", &http.Client{Transport: tr}
	return fc, nil
}

// tlsConfig trusts the CA in caFile (the system's CAs when empty) and presents the client
// certificate in certFile and keyFile when both are given.
func tlsConfig(caFile, certFile, keyFile string) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("dns: CACertFile: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("dns: CACertFile %s: no PEM certificate in it", caFile)
		}
		tc.RootCAs = pool
	}
	switch {
	case certFile != "" && keyFile != "":
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("dns: CertFile and KeyFile: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	case certFile != "" || keyFile != "":
		return nil, errors.New("dns: CertFile and KeyFile go together")
	}
	return tc, nil
}

// zkString is the zk:// URL the leader is detected at, without its password; "" without one.
func (s *Service) zkString() string {
	if s.zk == nil {
		return ""
	}
	return s.zk.String()
}
