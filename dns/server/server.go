package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"

	"strata/dns/records"
)

// Options are the parts of a Server that do not come from config.json.
type Options struct {
	// Registerer receives the server's Prometheus metrics; nil registers nothing.
	Registerer prometheus.Registerer
	// Gatherer serves GET /metrics; nil means Registerer if it is a Gatherer, else
	// prometheus.DefaultGatherer.
	Gatherer prometheus.Gatherer
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Ready reports whether the record set has been loaded once. The server answers
	// SERVFAIL for the Mesos domain (and 503 on the record endpoints of the HTTP API) until
	// Ready returns true or SetReady is called; after that it never asks again.
	Ready func() bool
	// Version is reported by GET /v1/version (default "dev", as an unversioned Mesos-DNS).
	Version string
	// ForwardTimeout overrides Config.Timeout (seconds), the budget of one forwarded query
	// over all its upstreams, when positive; tests use it.
	ForwardTimeout time.Duration
	// NameserverIPs are the addresses published for Config.SOAMname. nil derives them from
	// Config.Listener as Mesos-DNS does: that IP, or every non-loopback interface address
	// when it is unspecified (0.0.0.0 or ::).
	NameserverIPs []netip.Addr
}

// Server is the DNS server and HTTP API of one Mesos domain. It implements dns.Handler;
// all its methods may be called concurrently.
type Server struct {
	cfg     Config
	set     *records.Set
	log     *slog.Logger
	version string
	gather  prometheus.Gatherer

	zone       string // "mesos."
	zoneSuffix string // ".mesos."
	ready      atomic.Bool
	readyFn    func() bool
	metrics    *metrics
	fwd        *forwarder // nil when forwarding is off
	serial     serialClock
	ents       entCache
	answers    *answerCache

	ctx atomic.Pointer[context.Context] // of the running Serve, for upstream exchanges

	mu   sync.Mutex
	addr net.Addr
}

// New returns a Server for cfg (normalised and checked with Config.Validate; build it from
// DefaultConfig or LoadConfig) answering from set, whose domain must be cfg.Domain. It
// publishes the name server's addresses in set (records.Set.SetNameserver). The Server does
// not answer for the domain until it is ready (Options.Ready, SetReady).
func New(cfg Config, set *records.Set, opts Options) (*Server, error) {
	if set == nil {
		return nil, errors.New("dns/server: nil record set")
	}
	cfg, err := cfg.Validate()
	if err != nil {
		return nil, err
	}
	if d := strings.TrimSuffix(set.Config().Domain, "."); d != cfg.Domain {
		return nil, fmt.Errorf("%w: domain: the record set serves %q, the config %q", ErrInvalidConfig, d, cfg.Domain)
	}
	s := &Server{
		cfg: cfg, set: set, log: opts.Logger, version: opts.Version, readyFn: opts.Ready,
		zone: cfg.Domain + ".", zoneSuffix: "." + cfg.Domain + ".",
		metrics: newMetrics(opts.Registerer), answers: newAnswerCache(),
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.log = s.log.With("component", "dns")
	if s.version == "" {
		s.version = "dev"
	}
	s.gather = opts.Gatherer
	if s.gather == nil {
		if g, ok := opts.Registerer.(prometheus.Gatherer); ok {
			s.gather = g
		} else {
			s.gather = prometheus.DefaultGatherer
		}
	}
	if cfg.ExternalOn {
		timeout := time.Duration(cfg.Timeout) * time.Second
		if opts.ForwardTimeout > 0 {
			timeout = opts.ForwardTimeout
		}
		s.fwd = newForwarder(cfg.Resolvers, cfg.ZoneResolvers, timeout, cfg.CacheSize, s.metrics)
	}
	ips := opts.NameserverIPs
	if ips == nil {
		ips = nameserverIPs(cfg.Listener)
	}
	set.SetNameserver(ips)
	return s, nil
}

// nameserverIPs returns listener if it is a specific IP, else the non-loopback addresses
// of the host's interfaces (Mesos-DNS' rule for the SOAMname record).
func nameserverIPs(listener string) []netip.Addr {
	ip, err := netip.ParseAddr(listener)
	if err == nil && !ip.IsUnspecified() {
		return []netip.Addr{ip.Unmap()}
	}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil
	}
	var out []netip.Addr
	for _, a := range addrs {
		p, err := netip.ParsePrefix(a.String())
		if err != nil || p.Addr().IsLoopback() || p.Addr().IsLinkLocalUnicast() {
			continue
		}
		out = append(out, p.Addr().Unmap())
	}
	return out
}

// Config returns the effective (validated) configuration.
func (s *Server) Config() Config { return s.cfg }

// SetReady marks the record set as loaded: from now on the Mesos domain is answered.
func (s *Server) SetReady() { s.ready.Store(true) }

// Ready reports whether the server answers for the Mesos domain.
func (s *Server) Ready() bool {
	if s.ready.Load() {
		return true
	}
	if s.readyFn != nil && s.readyFn() {
		s.ready.Store(true)
		return true
	}
	return false
}

// Addr returns the address being served (the UDP one if any), nil before Serve.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// Listen opens a UDP socket and a TCP listener on the same address. With port 0 the UDP
// port is chosen by the kernel and the TCP listener takes the same one (retried a few times
// if another process holds it).
func Listen(addr string) (net.PacketConn, net.Listener, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, nil, fmt.Errorf("dns/server: listen %q: %w", addr, err)
	}
	for attempt := 0; ; attempt++ {
		pc, err := net.ListenPacket("udp", addr)
		if err != nil {
			return nil, nil, fmt.Errorf("dns/server: listen udp %s: %w", addr, err)
		}
		p := port
		if p == "0" {
			p = strconv.Itoa(pc.LocalAddr().(*net.UDPAddr).Port)
		}
		l, err := net.Listen("tcp", net.JoinHostPort(host, p))
		if err == nil {
			return pc, l, nil
		}
		pc.Close()
		if port != "0" || attempt >= 10 {
			return nil, nil, fmt.Errorf("dns/server: listen tcp %s: %w", addr, err)
		}
	}
}

// ListenAndServe listens on Config.Listener:Config.Port (UDP and TCP) and serves until ctx
// ends.
func (s *Server) ListenAndServe(ctx context.Context) error {
	pc, l, err := Listen(net.JoinHostPort(s.cfg.Listener, strconv.Itoa(s.cfg.Port)))
	if err != nil {
		return err
	}
	return s.Serve(ctx, pc, l)
}

// Serve answers DNS queries on udp and tcp (either may be nil, not both) until ctx ends,
// then shuts both down and returns nil; it returns an error if a listener fails. It closes
// udp and tcp.
func (s *Server) Serve(ctx context.Context, udp net.PacketConn, tcp net.Listener) error {
	if udp == nil && tcp == nil {
		return errors.New("dns/server: Serve needs a UDP or a TCP listener")
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s.ctx.Store(&ctx)
	defer s.ctx.CompareAndSwap(&ctx, nil)
	var servers []*dns.Server
	if udp != nil {
		servers = append(servers, &dns.Server{PacketConn: udp, Handler: s, UDPSize: dns.DefaultMsgSize})
	}
	if tcp != nil {
		servers = append(servers, &dns.Server{Listener: tcp, Handler: s,
			ReadTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second, IdleTimeout: func() time.Duration { return 10 * time.Second }})
	}
	s.mu.Lock()
	if udp != nil {
		s.addr = udp.LocalAddr()
	} else {
		s.addr = tcp.Addr()
	}
	s.mu.Unlock()

	errc := make(chan error, len(servers))
	var started sync.WaitGroup
	for _, srv := range servers {
		started.Add(1)
		var once sync.Once
		srv.NotifyStartedFunc = func() { once.Do(started.Done) }
		go func() {
			err := srv.ActivateAndServe()
			once.Do(started.Done)
			errc <- err
		}()
	}
	started.Wait()
	s.log.Info("dns server listening", "addr", s.Addr().String(), "domain", s.cfg.Domain)

	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
		err = fmt.Errorf("dns/server: serve: %w", err)
	}
	sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer scancel()
	for _, srv := range servers {
		_ = srv.ShutdownContext(sctx) // errors: already stopped
	}
	if udp != nil {
		udp.Close()
	}
	if tcp != nil {
		tcp.Close()
	}
	return err
}

// baseContext is the context upstream exchanges run under.
func (s *Server) baseContext() context.Context {
	if p := s.ctx.Load(); p != nil {
		return *p
	}
	return context.Background()
}
