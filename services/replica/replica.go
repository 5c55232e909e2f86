package replica

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/proto"

	"strata/kernel/election"
	"strata/kernel/mesos/mesospb"
	kstore "strata/kernel/store"
)

// ErrLostLeadership is returned by Run when this replica led and lost its leadership.
var ErrLostLeadership = errors.New("replica: leadership lost")

// DefaultHoldTimeout is how long a request waits for a leader before it is answered 503.
const DefaultHoldTimeout = 10 * time.Second

// Headers set on answers and forwarded requests.
const (
	HeaderLeader         = "X-Strata-Leader"
	HeaderMarathonLeader = "X-Marathon-Leader"
	HeaderForwardedBy    = "X-Strata-Forwarded-By"
)

// Config configures a Replica.
type Config struct {
	// ZK is the election's zk://host:port,.../path URL; empty: this replica leads alone.
	ZK string
	// SessionTimeout is the ZooKeeper session timeout (default election.DefaultSessionTimeout).
	SessionTimeout time.Duration
	// Advertise is the host:port other replicas and clients reach this replica's API at.
	Advertise string
	// Local answers LocalPaths on every replica, leading or not (default /ping and /metrics).
	Local      http.Handler
	LocalPaths []string
	// HoldTimeout is how long a request waits for a leader (default DefaultHoldTimeout).
	HoldTimeout time.Duration
	// Registerer, if set, receives strata_replica_leading and strata_replica_forwarded_total.
	Registerer prometheus.Registerer
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// Elector is what a Replica needs of an election: kernel/election's Candidate.
type Elector interface {
	Run(ctx context.Context) error
	Leader() (string, bool)
	Elected() <-chan struct{}
	Lost() <-chan struct{}
	Changed() <-chan struct{}
}

// Replica is one replica of a service: see the package documentation.
type Replica struct {
	cfg   Config
	log   *slog.Logger
	id    string
	elect Elector // nil: alone

	mu      sync.Mutex
	handler http.Handler // the leader's, once installed
	changed chan struct{}

	proxies sync.Map // leader host:port → *httputil.ReverseProxy

	leading   prometheus.Gauge
	forwarded prometheus.Counter
	fwdErrors *prometheus.CounterVec
}

// New returns a replica; with cfg.ZK it contends through ZooKeeper once Run starts.
func New(cfg Config) (*Replica, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.HoldTimeout <= 0 {
		cfg.HoldTimeout = DefaultHoldTimeout
	}
	if cfg.LocalPaths == nil {
		cfg.LocalPaths = []string{"/ping", "/metrics"}
	}
	r := &Replica{cfg: cfg, log: cfg.Logger.With("component", "replica"), id: uuid.NewString(),
		changed: make(chan struct{}),
		leading: prometheus.NewGauge(prometheus.GaugeOpts{Name: "strata_replica_leading",
			Help: "1 while this replica leads the service and serves its API itself, else 0."}),
		forwarded: prometheus.NewCounter(prometheus.CounterOpts{Name: "strata_replica_forwarded_total",
			Help: "API requests this replica forwarded to the leader."}),
		fwdErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "strata_replica_forward_errors_total",
			Help: "API requests answered 503 instead of forwarded, by reason: leader_unreachable, or " +
				"forwarded_twice (a forwarded request reached a replica that does not lead)."}, []string{"reason"}),
	}
	if cfg.Registerer != nil {
		for _, c := range []prometheus.Collector{r.leading, r.forwarded, r.fwdErrors} {
			if err := cfg.Registerer.Register(c); err != nil {
				return nil, fmt.Errorf("replica: metrics: %w", err)
			}
		}
	}
	if cfg.ZK == "" {
		return r, nil
	}
	u, err := election.ParseURL(cfg.ZK)
	if err != nil {
		return nil, fmt.Errorf("replica: %w", err)
	}
	info, err := masterInfo(r.id, cfg.Advertise)
	if err != nil {
		return nil, err
	}
	c, err := election.NewCandidate(election.Config{URL: u, SessionTimeout: cfg.SessionTimeout, Logger: cfg.Logger}, info)
	if err != nil {
		return nil, fmt.Errorf("replica: %w", err)
	}
	r.elect = c
	return r, nil
}

// NewWithElector returns a replica contending through e (tests drive their own).
func NewWithElector(cfg Config, e Elector) (*Replica, error) {
	cfg.ZK = ""
	r, err := New(cfg)
	if err != nil {
		return nil, err
	}
	r.elect = e
	return r, nil
}

// masterInfo is the election payload: MasterInfo whose address is the replica's API.
func masterInfo(id, advertise string) (*mesospb.MasterInfo, error) {
	host, p, err := net.SplitHostPort(advertise)
	if err != nil {
		return nil, fmt.Errorf("replica: advertised address %q: %w", advertise, err)
	}
	port, err := strconv.Atoi(p)
	if err != nil || port <= 0 || port > 65535 {
		return nil, fmt.Errorf("replica: advertised address %q has no port", advertise)
	}
	addr := &mesospb.Address{Hostname: proto.String(host), Port: proto.Int32(int32(port))}
	if ip := net.ParseIP(host); ip != nil {
		addr.Ip = proto.String(host)
	}
	return &mesospb.MasterInfo{Id: proto.String(id), Ip: proto.Uint32(0), Port: proto.Uint32(uint32(port)),
		Hostname: proto.String(host), Address: addr}, nil
}

// Leading reports whether this replica leads and serves its own handler.
func (r *Replica) Leading() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.handler != nil
}

// Leader returns the leading replica's host:port and whether one is known.
func (r *Replica) Leader() (string, bool) {
	if r.elect == nil {
		return r.cfg.Advertise, true
	}
	return r.elect.Leader()
}

// serve installs (or with nil removes) the leader's handler and wakes held requests.
func (r *Replica) serve(h http.Handler) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.handler = h
	if h != nil {
		r.leading.Set(1)
	} else {
		r.leading.Set(0)
	}
	r.wakeLocked()
}

// wakeLocked wakes the requests held for a change. r.mu is held.
func (r *Replica) wakeLocked() {
	close(r.changed)
	r.changed = make(chan struct{})
}

// LeadFunc is the service's part while this replica leads: it loads the state, installs the
// service's handler with serve, and acts until ctx ends (see Run).
type LeadFunc func(ctx context.Context, serve func(http.Handler)) error

// Serve serves the replica's handler on ln and runs Run with lead until ctx ends; it returns
// Run's error, or the HTTP server's if that fails first. In-flight requests get 5 s to finish.
func (r *Replica) Serve(ctx context.Context, ln net.Listener, lead LeadFunc) error {
	srv := &http.Server{Handler: r, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	led := make(chan error, 1)
	go func() { led <- r.Run(runCtx, lead) }()
	var err error
	select {
	case err = <-led:
	case e := <-served:
		err = fmt.Errorf("replica: serve: %w", e)
		cancel()
		<-led
	}
	shutdownCtx, done := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer done()
	_ = srv.Shutdown(shutdownCtx)
	return err
}

// Run contends for leadership until ctx ends; while leading it runs lead, which must call
// serve with the service's handler once its state is loaded and return when its ctx ends. It
// returns ErrLostLeadership once a leadership is lost (ZooKeeper, or lead failing with
// store.ErrFenced), lead's error if it fails otherwise, and nil when ctx ends.
func (r *Replica) Run(ctx context.Context, lead LeadFunc) error {
	defer r.serve(nil)
	if r.elect == nil {
		return asLost(lead(ctx, r.serve))
	}
	ectx, stopElection := context.WithCancel(ctx)
	defer stopElection()
	ended := make(chan error, 1)
	go func() { ended <- r.elect.Run(ectx) }()
	go r.followChanges(ectx)

	select {
	case <-ctx.Done():
		stopElection()
		<-ended
		return nil
	case err := <-ended:
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("replica: election: %w", err)
	case <-r.elect.Elected():
	}
	leader, _ := r.elect.Leader()
	r.log.Info("elected leader", "advertise", r.cfg.Advertise, "leader", leader)

	lctx, stopLead := context.WithCancel(ctx)
	led := make(chan error, 1)
	go func() { led <- lead(lctx, r.serve) }()
	var (
		lost                   error // why leadership ended; nil when ctx did
		leadErr                error
		leadDone, electionDone bool
	)
	select {
	case <-ctx.Done():
	case <-r.elect.Lost():
		lost = ErrLostLeadership
	case e := <-ended: // the election ended without ctx: leadership cannot be kept
		electionDone = true
		lost = fmt.Errorf("%w: election ended: %v", ErrLostLeadership, e)
	case leadErr = <-led:
		leadDone = true
		lost = asLost(leadErr)
		if leadErr == nil {
			lost = fmt.Errorf("%w: the service stopped leading", ErrLostLeadership)
		}
	}
	if lost != nil {
		r.log.Warn("stepping down", "err", lost)
	}
	r.serve(nil)
	stopLead()
	if !leadDone {
		leadErr = <-led
	}
	stopElection()
	if !electionDone {
		<-ended
	}
	if lost != nil {
		return lost
	}
	return asLost(leadErr)
}

// asLost turns a lead error saying that a newer leader claimed the store into
// ErrLostLeadership; other errors (and nil) are returned as they are.
func asLost(err error) error {
	if errors.Is(err, kstore.ErrFenced) {
		return fmt.Errorf("%w: %w", ErrLostLeadership, err)
	}
	return err
}

// followChanges wakes held requests whenever the election's view of the leader changes.
func (r *Replica) followChanges(ctx context.Context) {
	for {
		ch := r.elect.Changed()
		select {
		case <-ctx.Done():
			return
		case <-ch:
		}
		r.mu.Lock()
		r.wakeLocked()
		r.mu.Unlock()
	}
}

// ServeHTTP answers, forwards or holds req: see the package documentation.
func (r *Replica) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if r.cfg.Local != nil && slices.Contains(r.cfg.LocalPaths, req.URL.Path) {
		r.cfg.Local.ServeHTTP(w, req)
		return
	}
	deadline := time.NewTimer(r.cfg.HoldTimeout)
	defer deadline.Stop()
	for {
		r.mu.Lock()
		h, changed := r.handler, r.changed
		r.mu.Unlock()
		if h != nil {
			setLeader(w.Header(), r.cfg.Advertise)
			h.ServeHTTP(w, req)
			return
		}
		if leader, ok := r.Leader(); ok && leader != r.cfg.Advertise && r.elect != nil {
			if req.Header.Get(HeaderForwardedBy) != "" {
				r.fwdErrors.WithLabelValues("forwarded_twice").Inc()
				unavailable(w, "the replica this request was forwarded to does not lead (leadership is changing)")
				return
			}
			setLeader(w.Header(), leader)
			r.forwarded.Inc()
			r.proxy(leader).ServeHTTP(w, req)
			return
		}
		select {
		case <-changed:
		case <-req.Context().Done():
			return
		case <-deadline.C:
			unavailable(w, "no leader is serving yet")
			return
		}
	}
}

func setLeader(h http.Header, leader string) {
	h.Set(HeaderLeader, leader)
	h.Set(HeaderMarathonLeader, "http://"+leader)
}

func unavailable(w http.ResponseWriter, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Retry-After", "1")
	w.WriteHeader(http.StatusServiceUnavailable)
	_ = json.NewEncoder(w).Encode(map[string]string{"message": msg})
}

// proxy returns the reverse proxy to leader.
func (r *Replica) proxy(leader string) http.Handler {
	if p, ok := r.proxies.Load(leader); ok {
		return p.(http.Handler)
	}
	target := &url.URL{Scheme: "http", Host: leader}
	p := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.SetXForwarded()
			pr.Out.Host = pr.In.Host
			pr.Out.Header.Set(HeaderForwardedBy, r.cfg.Advertise)
		},
		FlushInterval: -1, // event streams pass through as they come
		ErrorHandler: func(w http.ResponseWriter, req *http.Request, err error) {
			r.fwdErrors.WithLabelValues("leader_unreachable").Inc()
			r.log.Debug("forwarding to the leader failed", "leader", leader, "path", req.URL.Path, "err", err)
			unavailable(w, "forwarding to the leader "+leader+" failed: "+err.Error())
		},
	}
	actual, _ := r.proxies.LoadOrStore(leader, p)
	return actual.(http.Handler)
}

// Ping answers Marathon's and Metronome's /ping ("pong"): every replica answers it itself.
func Ping(w http.ResponseWriter, req *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if req.Method != http.MethodHead {
		_, _ = w.Write([]byte("pong"))
	}
}
