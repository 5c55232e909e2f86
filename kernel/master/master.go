package master

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"

	"strata/kernel/allocator"
	"strata/kernel/mesos/mesospb"
	"strata/kernel/store"
	"strata/kernel/version"
)

// Leadership tells the master whether it leads and who does. A single master always leads; the
// ZooKeeper election implements it for several.
type Leadership interface {
	// Leader returns the leading master's "host:port", and whether a leader is known.
	Leader() (string, bool)
	// IsLeader reports whether this master leads.
	IsLeader() bool
}

// Elector is a Leadership won by election, for a master that runs with others.
type Elector interface {
	Leadership
	// Run contends until ctx ends (or leadership is lost).
	Run(ctx context.Context) error
	// Elected is closed when this master becomes the leader.
	Elected() <-chan struct{}
	// Lost is closed when this master, having led, gives leadership up for good.
	Lost() <-chan struct{}
}

// ErrLostLeadership is returned by Serve when the master lost its leadership (its ZooKeeper
// session, or a newer leader's claim on the store): like a Mesos master it stops, to be
// restarted by its supervisor as a new candidate.
var ErrLostLeadership = errors.New("master: lost leadership")

// selfLeader is the Leadership of a master that runs alone.
type selfLeader struct{ addr string }

func (s selfLeader) Leader() (string, bool) { return s.addr, true }
func (s selfLeader) IsLeader() bool         { return true }

// Master is one Strata master.
type Master struct {
	cfg     Config
	log     *slog.Logger
	store   *store.Store
	ownsDB  bool
	leaders Leadership
	metrics *metrics

	mu   sync.Mutex
	id   string
	info *mesospb.MasterInfo

	startTime   time.Time
	electedTime time.Time
	// leading is set once this master leads and has recovered; until then (and after it lost
	// leadership) the APIs redirect to the leader.
	leading atomic.Bool
	led     chan struct{} // closed once leading is first set
	fenced  chan struct{} // closed when a store write found a newer leader's epoch
	fenceMu sync.Once

	frameworks          map[string]*framework
	completedFrameworks []*framework // newest last, bounded
	removedFrameworkIDs map[string]bool
	agents              map[string]*agent
	// recoveredAgents are agents known from the registry that have not re-registered since this
	// master started.
	recoveredAgents   map[string]*store.Agent
	unreachableAgents map[string]time.Time
	goneAgents        map[string]time.Time
	offers            map[string]*offer
	alloc             *allocator.Allocator
	weights           map[string]float64
	operatorStreams   map[*eventStream]*operatorSubscriber

	nextFrameworkID int
	nextOfferID     int
	nextAgentID     int

	allocTrigger chan struct{}
	addr         string // bound host:port once serving
	// stopping is set once Serve begins shutting down: streams that end from then on are the
	// master going away, not frameworks or agents disconnecting.
	stopping bool
}

// New creates a master from cfg. When st is nil the master opens an SQLite registry in cfg.WorkDir.
func New(cfg Config, st *store.Store) (*Master, error) {
	cfg.setDefaults()
	m := &Master{
		cfg:                 cfg,
		log:                 cfg.Logger.With("component", "master"),
		store:               st,
		id:                  uuid.NewString(),
		frameworks:          map[string]*framework{},
		removedFrameworkIDs: map[string]bool{},
		agents:              map[string]*agent{},
		recoveredAgents:     map[string]*store.Agent{},
		unreachableAgents:   map[string]time.Time{},
		goneAgents:          map[string]time.Time{},
		offers:              map[string]*offer{},
		weights:             map[string]float64{},
		operatorStreams:     map[*eventStream]*operatorSubscriber{},
		allocTrigger:        make(chan struct{}, 1),
		startTime:           time.Now(),
		fenced:              make(chan struct{}),
		led:                 make(chan struct{}),
	}
	if m.store == nil {
		if cfg.WorkDir == "" {
			return nil, fmt.Errorf("master: a work dir or a store is required")
		}
		s, err := store.OpenSQLite(cfg.WorkDir + "/master/registry.db")
		if err != nil {
			return nil, fmt.Errorf("master: %w", err)
		}
		m.store, m.ownsDB = s, true
	}
	alloc, err := newAllocator(cfg)
	if err != nil {
		return nil, fmt.Errorf("master: %w", err)
	}
	m.alloc = alloc
	m.metrics = newMetrics(m)
	return m, nil
}

// ID returns the master's id (a fresh UUID for every run, as in Mesos).
func (m *Master) ID() string { return m.id }

// Addr returns the "host:port" the master serves on, once Serve has bound it.
func (m *Master) Addr() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.addr
}

// SetLeadership replaces the default (this master always leads) before Serve.
func (m *Master) SetLeadership(l Leadership) { m.leaders = l }

// Serve recovers durable state, binds the listener (Port 0 picks a free port) and serves until ctx
// ends. ready, if not nil, receives the bound address once the master accepts requests.
func (m *Master) Serve(ctx context.Context, ready chan<- string) error {
	ln, err := net.Listen("tcp", net.JoinHostPort(m.cfg.IP, strconv.Itoa(m.cfg.Port)))
	if err != nil {
		return fmt.Errorf("master: listen: %w", err)
	}
	return m.ServeListener(ctx, ln, ready)
}

// ServeListener is Serve on an existing listener.
func (m *Master) ServeListener(ctx context.Context, ln net.Listener, ready chan<- string) error {
	port := ln.Addr().(*net.TCPAddr).Port
	m.mu.Lock()
	m.addr = net.JoinHostPort(m.cfg.Hostname, strconv.Itoa(port))
	m.info = m.masterInfo(port)
	info := proto.Clone(m.info).(*mesospb.MasterInfo)
	m.mu.Unlock()

	var elector Elector
	electorDone := make(chan error, 1)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if m.cfg.Elector != nil {
		e, err := m.cfg.Elector(info)
		if err != nil {
			ln.Close()
			return fmt.Errorf("master: elector: %w", err)
		}
		elector = e
		m.leaders = e
		go func() { electorDone <- e.Run(ctx) }()
	} else {
		if m.leaders == nil {
			m.leaders = selfLeader{addr: m.addr}
		}
		if err := m.becomeLeader(ctx); err != nil {
			ln.Close()
			return err
		}
	}

	srv := &http.Server{Handler: m.Handler(), ReadHeaderTimeout: 30 * time.Second}
	var wg sync.WaitGroup
	loopCtx, stopLoops := context.WithCancel(ctx)
	startLoops := func() {
		wg.Add(3)
		go func() { defer wg.Done(); m.allocationLoop(loopCtx) }()
		go func() { defer wg.Done(); m.heartbeatLoop(loopCtx) }()
		go func() { defer wg.Done(); m.agentHealthLoop(loopCtx) }()
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	var elected, lost <-chan struct{}
	if elector != nil {
		elected, lost = elector.Elected(), elector.Lost()
		m.log.Info("master serving as a candidate", "id", m.id, "addr", m.addr)
	} else {
		startLoops()
		m.log.Info("master serving", "id", m.id, "addr", m.addr)
	}
	if ready != nil {
		ready <- m.addr
	}
	var err error
	electorEnded := false // Run returned: nothing more to wait for from it
wait:
	for {
		select {
		case <-ctx.Done():
			break wait
		case err = <-errc:
			break wait
		case <-elected:
			elected = nil
			if err = m.becomeLeader(ctx); err != nil {
				break wait
			}
			startLoops()
		case <-lost:
			err = ErrLostLeadership
			break wait
		case <-m.fenced:
			err = ErrLostLeadership
			m.log.Error("a newer leader claimed the store: stepping down")
			break wait
		case e := <-electorDone:
			electorEnded = true
			if ctx.Err() == nil {
				err = e // already "election: ..."; wrapped as "master: serve: ..." below
				if errors.Is(e, context.Canceled) || e == nil || isClosed(lost) {
					// An elector that gave leadership up closes Lost before Run returns;
					// this select may still have picked Run's end first.
					err = ErrLostLeadership
				}
			}
			break wait
		}
	}
	m.leading.Store(false)
	stopLoops()
	m.closeAllStreams("master shutting down")
	// Streams are closed; give in-flight calls a moment, then drop what is left (including
	// connections a client opened but never used, which Shutdown would wait 5 s for).
	shutdownCtx, cancelShutdown := context.WithTimeout(context.Background(), time.Second)
	defer cancelShutdown()
	if srv.Shutdown(shutdownCtx) != nil {
		_ = srv.Close()
	}
	wg.Wait()
	m.stopTimers()
	cancel()
	if elector != nil && !electorEnded {
		<-electorDone
	}
	if m.ownsDB {
		m.store.Close()
	}
	if errors.Is(err, ErrLostLeadership) {
		return ErrLostLeadership
	}
	if err != nil && err != http.ErrServerClosed {
		return fmt.Errorf("master: serve: %w", err)
	}
	return nil
}

// isClosed reports whether ch is closed (false for nil).
func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// becomeLeader fences earlier leaders off the store (when elected among several), loads the
// durable state, and opens the APIs.
func (m *Master) becomeLeader(ctx context.Context) error {
	start := time.Now()
	if m.cfg.Elector != nil {
		epoch, err := m.store.ClaimLeadership(ctx, m.id, func() {
			m.fenceMu.Do(func() { close(m.fenced) })
		})
		if err != nil {
			return fmt.Errorf("master: claim the store: %w", err)
		}
		m.log.Info("elected leading master", "id", m.id, "epoch", epoch)
	}
	m.mu.Lock()
	m.electedTime = time.Now()
	m.mu.Unlock()
	if err := m.recover(ctx); err != nil {
		return err
	}
	m.leading.Store(true)
	close(m.led)
	m.log.Info("leading", "id", m.id, "recovery", time.Since(start).Round(time.Millisecond))
	return nil
}

func (m *Master) masterInfo(port int) *mesospb.MasterInfo {
	ip := net.ParseIP(m.cfg.IP).To4()
	var ipNum uint32
	if ip != nil {
		// Mesos packs the address's network-order bytes as read on a little-endian host.
		ipNum = uint32(ip[0]) | uint32(ip[1])<<8 | uint32(ip[2])<<16 | uint32(ip[3])<<24
	}
	pid := fmt.Sprintf("master@%s:%d", m.cfg.IP, port)
	return &mesospb.MasterInfo{
		Id:       proto.String(m.id),
		Ip:       proto.Uint32(ipNum),
		Port:     proto.Uint32(uint32(port)),
		Pid:      proto.String(pid),
		Hostname: proto.String(m.cfg.Hostname),
		Version:  proto.String(version.MesosVersion),
		Address: &mesospb.Address{
			Hostname: proto.String(m.cfg.Hostname),
			Ip:       proto.String(m.cfg.IP),
			Port:     proto.Int32(int32(port)),
		},
		Capabilities: []*mesospb.MasterInfo_Capability{
			{Type: mesospb.MasterInfo_Capability_AGENT_UPDATE.Enum()},
		},
	}
}

// pid returns "master@ip:port", the form Mesos-DNS and old tools parse.
func (m *Master) pid() string { return m.info.GetPid() }

// triggerAllocation asks the allocation loop for a pass soon; it never blocks.
func (m *Master) triggerAllocation() {
	select {
	case m.allocTrigger <- struct{}{}:
	default:
	}
}

func (m *Master) closeAllStreams(reason string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.stopping = true
	for _, fw := range m.frameworks {
		if fw.stream != nil {
			fw.stream.close(reason)
		}
	}
	for _, a := range m.agents {
		if a.stream != nil {
			a.stream.close(reason)
		}
	}
	for s := range m.operatorStreams {
		s.close(reason)
	}
}

func (m *Master) stopTimers() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, fw := range m.frameworks {
		if fw.failoverTimer != nil {
			fw.failoverTimer.Stop()
		}
	}
}
