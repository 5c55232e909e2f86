package feed

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"strata/dns/records"
	"strata/kernel/mesos/masterpb"
	"strata/kernel/mesos/recordio"
)

// Defaults of the Config fields that are durations or counts.
const (
	DefaultMissedHeartbeats = 3
	DefaultMinBackoff       = 100 * time.Millisecond
	DefaultMaxBackoff       = 5 * time.Second
	DefaultConnectTimeout   = 10 * time.Second
	DefaultCarryOverTimeout = 10 * time.Minute
	// defaultHeartbeat applies when SUBSCRIBED names no interval (Mesos' constant 15 s).
	defaultHeartbeat = 15 * time.Second
)

// Config configures a Feed. Set is required, and Masters or Detector.
type Config struct {
	// Masters are the masters to try, "host:port" or "http(s)://host:port". They are also the
	// list the masterN.D records are numbered from. With a Detector they are optional: they
	// follow the detected leader in that list, and are tried only when it cannot be reached.
	Masters []string
	// Detector, if not nil, names the leading master (with a zk:// URL: an
	// *election.Detector, which the caller runs): the feed subscribes to the master it names
	// and, when it names another, drops its stream and subscribes to the new one (see the
	// package documentation).
	Detector Detector
	// DetectionTimeout is how long the feed waits for the Detector to name a first leader
	// before it logs an error (Mesos-DNS' ZkDetectionTimeout; Mesos-DNS exits there, the feed
	// keeps waiting). 0: no error is logged.
	DetectionTimeout time.Duration
	// Set receives the records. The feed is its only writer.
	Set *records.Set
	// HTTPClient is copied for the feed's requests, with its Timeout cleared (a stream lasts
	// as long as the master does; the feed bounds every wait itself) and redirects left to the
	// feed. nil means a client on http.DefaultTransport.
	HTTPClient *http.Client
	Logger     *slog.Logger
	// Registerer, if not nil, receives the feed's metrics (see the package documentation).
	Registerer prometheus.Registerer
	// OnReady, if not nil, is called once, on Run's goroutine, after the first snapshot is in
	// the Set.
	OnReady func()

	// MissedHeartbeats is how many heartbeat intervals without any event make the stream
	// dead (default 3).
	MissedHeartbeats int
	// MinBackoff and MaxBackoff bound the wait between connection attempts (100 ms doubling
	// to 5 s by default, with jitter).
	MinBackoff, MaxBackoff time.Duration
	// ConnectTimeout bounds the time from a SUBSCRIBE to its SUBSCRIBED event, redirects
	// included (default 10 s).
	ConnectTimeout time.Duration
	// CarryOverTimeout is how long agents carried over a leader change may take to
	// re-register before their tasks' records go (default 10 min, the master's
	// agent re-registration timeout).
	CarryOverTimeout time.Duration
	// MaxRecordSize bounds one event, the SUBSCRIBED snapshot included (default 64 MiB).
	MaxRecordSize int

	// Scheme is the scheme of masters given as host:port and of the leaders the Detector
	// names: "http" (default) or "https" (Mesos-DNS' MesosHTTPSOn; HTTPClient then carries
	// the TLS settings).
	Scheme string
	// Principal and Secret, when Principal is set, authenticate every call to the masters
	// with HTTP basic authentication (Mesos-DNS' mesosAuthentication "basic").
	Principal, Secret string
	// Refresh, if above 0, renews the subscription that often: the feed ends its stream and
	// subscribes afresh; the records stay as they are until the new snapshot replaces them,
	// and that snapshot holds whatever happened in between. It is Mesos-DNS' refreshSeconds
	// turned into a safety net: events keep the records current, the periodic snapshot
	// repairs anything an event could not and re-resolves scheduler host names.
	Refresh time.Duration
	// LookupHost resolves the host names of schedulers and agents that are not IP literals,
	// as Mesos-DNS does; nil: the system resolver. Lookups never hold up events: a name
	// appears once its lookup answers.
	LookupHost func(ctx context.Context, host string) ([]netip.Addr, error)
}

// Feed keeps a records.Set current from the operator event stream. Create it with New and
// start it with Run.
type Feed struct {
	cfg     Config
	masters []endpoint
	hosts   []string // the masters' host:port, for Set.SetMasters
	client  *http.Client
	log     *slog.Logger
	metrics *metrics
	// view is used by Run's goroutine and, when a host name lookup answers, by the lookup's:
	// viewMu serialises them.
	viewMu   sync.Mutex
	view     *view
	ready    chan struct{}
	running  atomic.Bool
	readyOne sync.Once
	// carriedShown is set while the carried-over gauge is not 0 (Run's goroutine only).
	carriedShown bool
	// lastDetected is the last leader the Detector named (Run's goroutine only).
	lastDetected endpoint

	mu        sync.Mutex
	leader    endpoint
	connected bool
}

// New validates cfg and returns a Feed; it registers the metrics when cfg.Registerer is set.
func New(cfg Config) (*Feed, error) {
	if cfg.Set == nil {
		return nil, errors.New("feed: Config.Set is required")
	}
	if len(cfg.Masters) == 0 && cfg.Detector == nil {
		return nil, errors.New("feed: Config.Masters is empty and no Config.Detector is set")
	}
	switch cfg.Scheme {
	case "":
		cfg.Scheme = "http"
	case "http", "https":
	default:
		return nil, fmt.Errorf("feed: Config.Scheme %q: want http or https", cfg.Scheme)
	}
	f := &Feed{ready: make(chan struct{})}
	for _, m := range cfg.Masters {
		ep, err := parseMaster(m, cfg.Scheme)
		if err != nil {
			return nil, err
		}
		f.masters = append(f.masters, ep)
		f.hosts = append(f.hosts, ep.host)
	}
	if cfg.MissedHeartbeats <= 0 {
		cfg.MissedHeartbeats = DefaultMissedHeartbeats
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = DefaultMinBackoff
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = DefaultMaxBackoff
	}
	cfg.MaxBackoff = max(cfg.MaxBackoff, cfg.MinBackoff)
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = DefaultConnectTimeout
	}
	if cfg.CarryOverTimeout <= 0 {
		cfg.CarryOverTimeout = DefaultCarryOverTimeout
	}
	if cfg.MaxRecordSize <= 0 {
		cfg.MaxRecordSize = recordio.DefaultMaxRecordSize
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	client := &http.Client{}
	if cfg.HTTPClient != nil {
		*client = *cfg.HTTPClient
	}
	client.Timeout = 0
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	f.cfg, f.client, f.metrics = cfg, client, m
	f.log = cfg.Logger.With("component", "dns-feed")
	f.view = newView(cfg.Set)
	lookup := cfg.LookupHost
	if lookup == nil {
		lookup = systemLookup
	}
	lookups := &hostCache{lookup: lookup, metrics: m, entries: map[string]hostEntry{}, done: func(host string) {
		f.viewMu.Lock()
		defer f.viewMu.Unlock()
		f.view.resolved(host)
	}}
	f.view.hostAddrs = lookups.addrs
	return f, nil
}

// Ready is closed once the first snapshot is in the Set; until then the DNS server should
// answer SERVFAIL.
func (f *Feed) Ready() <-chan struct{} { return f.ready }

// Leader returns the host:port of the master serving the current stream, or of the last one
// while reconnecting; "" before the first connection.
func (f *Feed) Leader() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.leader.host
}

// Connected reports whether the feed holds a stream that has delivered its snapshot.
func (f *Feed) Connected() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.connected
}

func (f *Feed) setConnected(ep endpoint, ok bool) {
	f.mu.Lock()
	if ok {
		f.leader = ep
	}
	f.connected = ok
	f.mu.Unlock()
	if ok {
		f.metrics.connected.Set(1)
	} else {
		f.metrics.connected.Set(0)
	}
}

// Run follows the masters' event stream until ctx ends, reconnecting whenever the stream
// breaks or the Detector names another leader; it returns nil when ctx ends. The Set keeps its
// records meanwhile. Only one Run may be active at a time; a Feed may be run again after Run
// returns.
func (f *Feed) Run(ctx context.Context) error {
	if !f.running.CompareAndSwap(false, true) {
		return errors.New("feed: Run is already running")
	}
	defer f.running.Store(false)
	bo := backoff{min: f.cfg.MinBackoff, max: f.cfg.MaxBackoff}
	refresh := false
	if f.cfg.Detector != nil && f.cfg.DetectionTimeout > 0 {
		t := time.AfterFunc(f.cfg.DetectionTimeout, f.checkDetection)
		defer t.Stop()
	}
	for {
		cands, ok := f.targets(ctx)
		if !ok {
			return nil
		}
		start := time.Now()
		err := f.session(ctx, cands, f.lastDetected.host, refresh)
		refresh = errors.Is(err, errRefresh)
		f.setConnected(endpoint{}, false)
		// A pooled connection may be as dead as the stream was (a half-open TCP connection);
		// the next attempt dials afresh.
		f.client.CloseIdleConnections()
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, errRefresh) {
			f.metrics.refreshes.Inc()
			f.log.Debug("renewing the subscription for a fresh snapshot", "master", cands[0].host)
			bo.reset()
			continue
		}
		f.metrics.reconnects.Inc()
		if errors.Is(err, errLeaderChanged) {
			f.log.Info("the leading master changed; re-subscribing to the new leader", "from", cands[0].host, "err", err)
			f.followedChange()
			bo.reset()
			continue
		}
		if time.Since(start) > f.cfg.MaxBackoff {
			bo.reset()
		}
		d := bo.next()
		f.log.Warn("operator stream lost; keeping the last records and reconnecting", "err", err, "retry_in", d)
		if !f.wait(ctx, d, cands[0]) {
			return nil
		}
	}
}

// wait sleeps for d, or less when the Detector names a leader other than tried meanwhile; it
// returns false when ctx ends.
func (f *Feed) wait(ctx context.Context, d time.Duration, tried endpoint) bool {
	var changed <-chan struct{}
	if f.cfg.Detector != nil {
		changed = f.cfg.Detector.Changed()
		if ep, ok := f.detected(); ok && ep.host != tried.host {
			f.followedChange()
			return true
		}
	}
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
			return true
		case <-changed:
			changed = f.cfg.Detector.Changed()
			if ep, ok := f.detected(); ok && ep.host != tried.host {
				f.followedChange()
				return true
			}
		}
	}
}

var (
	errNoSnapshot = errors.New("feed: no SUBSCRIBED event within the connect timeout")
	errStalled    = errors.New("feed: no event within the missed-heartbeat limit")
	// errLeaderChanged ends a session when the Detector names a new leader.
	errLeaderChanged = errors.New("feed: the detector names a new leading master")
	// errRefresh ends a session after Config.Refresh, for a fresh snapshot.
	errRefresh = errors.New("feed: refresh period over")
)

// session runs one subscription at the first of cands that serves it (or redirects to a
// master that does): open, snapshot, events, until the stream ends.
// With a Detector, seen is the leader it named when the session began. refresh says that the
// session renews one that ended after Config.Refresh.
func (f *Feed) session(ctx context.Context, cands []endpoint, seen string, refresh bool) error {
	sctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var subbed atomic.Bool // this session has had its SUBSCRIBED
	watchdog := time.AfterFunc(f.cfg.ConnectTimeout, func() {
		if subbed.Load() {
			cancel(errStalled)
		} else {
			cancel(errNoSnapshot)
		}
	})
	defer watchdog.Stop()
	if f.cfg.Refresh > 0 {
		// A tenth of jitter, so that DNS servers started together do not renew together.
		d := f.cfg.Refresh + rand.N(f.cfg.Refresh/10+1)
		refresh := time.AfterFunc(d, func() { cancel(errRefresh) })
		defer refresh.Stop()
	}
	s, err := f.open(sctx, cands)
	if err != nil {
		return causeOr(sctx, err)
	}
	defer s.body.Close()
	if f.cfg.Detector != nil {
		go f.followDetector(sctx, cancel, seen, s)
	}
	// Ask for the leader's MasterInfo while the snapshot is on its way.
	leaderc := make(chan string, 1)
	go func() {
		mi, err := f.masterInfo(sctx, s.from)
		if err != nil {
			f.log.Debug("GET_MASTER failed; naming the leader after its address", "master", s.from.host, "err", err)
		}
		leaderc <- leaderPID(mi, s.from.host)
	}()
	stallAfter := f.cfg.ConnectTimeout
	for {
		rec, err := s.rd.ReadRecord()
		if err != nil {
			if errors.Is(err, io.EOF) && sctx.Err() == nil {
				return fmt.Errorf("feed: %s closed the operator stream", s.from.host)
			}
			return causeOr(sctx, fmt.Errorf("feed: read operator stream from %s: %w", s.from.host, err))
		}
		recv := time.Now()
		ev := &masterpb.Event{}
		if err := decode(s.codec, rec, ev); err != nil {
			return fmt.Errorf("feed: decode operator event from %s: %w", s.from.host, err)
		}
		typ := ev.GetType()
		if typ == masterpb.Event_SUBSCRIBED {
			var leader string
			select {
			case leader = <-leaderc:
				leaderc <- leader // a second SUBSCRIBED (never sent by Mesos) reuses it
			case <-sctx.Done():
				return context.Cause(sctx)
			}
			stallAfter = heartbeat(ev.GetSubscribed().GetHeartbeatIntervalSeconds()) * time.Duration(f.cfg.MissedHeartbeats)
			f.viewMu.Lock()
			carried := f.view.replace(ev.GetSubscribed(), leader, f.masterList(leader), recv)
			tasks, agents := len(f.view.tasks), len(f.view.agents)
			f.viewMu.Unlock()
			watchdog.Reset(stallAfter)
			subbed.Store(true)
			f.observe(ev, recv)
			f.setConnected(s.from, true)
			level := slog.LevelInfo
			if refresh {
				level = slog.LevelDebug // every refreshSeconds: not news
			}
			f.log.Log(sctx, level, "operator stream subscribed", "master", s.from.host, "leader", leader,
				"tasks", tasks, "agents", agents, "carried_over_tasks", carried, "refresh", refresh)
			f.markReady()
			continue
		}
		if !subbed.Load() {
			return fmt.Errorf("feed: first operator event from %s is %s, want SUBSCRIBED", s.from.host, typ)
		}
		watchdog.Reset(stallAfter)
		f.observe(ev, recv)
	}
}

// observe applies a non-SUBSCRIBED event and records the metrics of any event.
func (f *Feed) observe(ev *masterpb.Event, recv time.Time) {
	f.viewMu.Lock()
	defer f.viewMu.Unlock()
	typ := ev.GetType()
	var o outcome
	if typ != masterpb.Event_SUBSCRIBED {
		o = f.view.apply(ev)
	}
	done := time.Now()
	name := typ.String()
	if _, known := masterpb.Event_Type_name[int32(typ)]; !known {
		name = "UNKNOWN" // bounded label values, whatever the master sends
	}
	f.metrics.events.WithLabelValues(name).Inc()
	f.metrics.lastEvent.Set(float64(recv.UnixNano()) / 1e9)
	f.metrics.apply.Observe(done.Sub(recv).Seconds())
	if o.taskUpdate {
		f.metrics.programming.Observe(programmingLatency(o.statusTime, recv, done).Seconds())
	}
	if o.ignored {
		f.log.Debug("operator event ignored", "type", name)
	}
	if n := f.view.expireCarried(done, f.cfg.CarryOverTimeout); n > 0 {
		f.log.Warn("agents carried over a leader change did not re-register; dropping their records", "agents", n)
	}
	if len(f.view.carried) > 0 || f.carriedShown {
		n := f.view.carriedTasks()
		f.metrics.carried.Set(float64(n))
		f.carriedShown = n > 0
	}
}

func (f *Feed) markReady() {
	f.readyOne.Do(func() {
		close(f.ready)
		if f.cfg.OnReady != nil {
			f.cfg.OnReady()
		}
	})
}

// programmingLatency is the time from a status' timestamp to done, or from the event's
// receipt when the timestamp is missing or not plausible on this host's clock.
func programmingLatency(statusTime float64, recv, done time.Time) time.Duration {
	if statusTime > 0 && statusTime < math.MaxInt64/1e9 {
		d := done.Sub(time.Unix(0, int64(statusTime*1e9)))
		if d >= 0 && d < time.Hour {
			return d
		}
	}
	return done.Sub(recv)
}

// heartbeat converts heartbeat_interval_seconds, defaulting to Mesos' 15 s.
func heartbeat(sec float64) time.Duration {
	if !(sec > 0) || sec > 3600 {
		return defaultHeartbeat
	}
	return time.Duration(sec * float64(time.Second))
}

// causeOr returns why ctx was cancelled (the watchdog's reason) if it was, else err.
func causeOr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		if c := context.Cause(ctx); c != nil && !errors.Is(c, context.Canceled) {
			return c
		}
	}
	return err
}

// backoff is an exponential backoff with jitter: each wait is drawn from [d/2, d], where d
// starts at min and doubles up to max.
type backoff struct {
	min, max, cur time.Duration
}

func (b *backoff) next() time.Duration {
	if b.cur == 0 {
		b.cur = b.min
	} else {
		b.cur = min(2*b.cur, b.max)
	}
	return b.cur/2 + rand.N(b.cur/2+1)
}

func (b *backoff) reset() { b.cur = 0 }
