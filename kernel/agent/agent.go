package agent

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"strata/kernel/agent/files"
	"strata/kernel/agent/logrotate"
	"strata/kernel/agent/sandbox"
	"strata/kernel/agent/secrets"
	"strata/kernel/agent/statusupdate"
	"strata/kernel/containerizer"
	"strata/kernel/containerizer/cgroups"
	"strata/kernel/containerizer/posix"
	"strata/kernel/election"
	"strata/kernel/mesos/mesospb"
)

// Agent is a Strata agent. Create it with New and start it with Run.
type Agent struct {
	cfg     Config
	log     *slog.Logger
	layout  sandbox.Layout
	cz      containerizer.Containerizer
	ownCz   *posix.Containerizer // set when the agent created the containerizer
	cgroups *cgroups.Manager     // the agent's cgroup root; nil without cgroups
	secrets secrets.Resolver     // resolves the secrets tasks name
	logs    *logrotate.Rotator   // caps sandbox stdout/stderr
	standby *standbyPool         // nil without standby executors
	pacer   *launchPacer
	sum     *statusupdate.Manager
	files   *files.Server
	metrics *metrics
	masters []string
	// detector follows the leading master through ZooKeeper (--master=zk://...); nil with a
	// list of masters.
	detector *election.Detector

	listenIP     string
	advertisedIP string
	bootID       string
	startTime    time.Time
	handler      http.Handler

	runCtx   context.Context // cancelled when Run returns
	ready    chan struct{}   // closed once the HTTP listener is bound
	addr     string          // advertised ip:port, set before ready is closed
	port     int             // bound port, set before ready is closed
	stopping chan struct{}   // closed when Run is shutting down

	calls callQueue

	// mu guards everything below.
	mu                  sync.Mutex
	info                *mesospb.AgentInfo // id set once registered
	agentID             string
	frameworks          map[string]*framework
	completedFrameworks []*framework
	session             *session
	masterInfo          *mesospb.MasterInfo
	registered          bool
	shuttingDown        bool
	// recovered lists the executors found at startup, to be waited for.
	recovered []*executor
	// waitGroup tracks goroutines that touch the containerizer.
	wg sync.WaitGroup
}

// New validates cfg and prepares an agent: it detects resources, creates the
// work directory and the containerizer. Nothing is started.
func New(cfg Config) (*Agent, error) {
	if err := cfg.applyDefaults(); err != nil {
		return nil, err
	}
	masters, zkURL, err := cfg.masters()
	if err != nil {
		return nil, err
	}
	var detector *election.Detector
	if zkURL != nil {
		if detector, err = election.NewDetector(election.Config{URL: *zkURL, Logger: cfg.Logger}); err != nil {
			return nil, fmt.Errorf("agent: %w", err)
		}
	}
	listenIP, advIP, err := cfg.ips()
	if err != nil {
		return nil, err
	}
	info, err := agentInfo(&cfg)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.WorkDir, 0o755); err != nil {
		return nil, fmt.Errorf("agent: work dir: %w", err)
	}
	a := &Agent{
		cfg:          cfg,
		log:          cfg.Logger.With("component", "agent"),
		layout:       sandbox.Layout{WorkDir: cfg.WorkDir},
		secrets:      secrets.Resolver{Dir: cfg.SecretsDir},
		files:        files.New(cfg.Logger),
		masters:      masters,
		detector:     detector,
		listenIP:     listenIP,
		advertisedIP: advIP,
		bootID:       currentBootID(),
		startTime:    time.Now(),
		ready:        make(chan struct{}),
		stopping:     make(chan struct{}),
		info:         info,
		frameworks:   make(map[string]*framework),
		pacer:        newLaunchPacer(0, 0),
	}
	a.calls.init()
	a.cz = cfg.Containerizer
	if a.cz == nil {
		pc, cg, err := newContainerizer(&a.cfg, a.layout.ContainersDir(), a.log)
		if err != nil {
			return nil, fmt.Errorf("agent: %w", err)
		}
		a.cz, a.ownCz, a.cgroups = pc, pc, cg
		if cfg.StandbyExecutors > 0 {
			a.standby = newStandbyPool(pc, cfg.Executable, cfg.StandbyExecutors, a.pacer, a.log)
		}
	}
	a.logs = logrotate.New(logrotate.Config{MaxSize: cfg.SandboxLogMaxSize, Keep: cfg.SandboxLogKeep, Logger: cfg.Logger})
	a.sum = statusupdate.New(statusupdate.Config{
		RetryMin: cfg.StatusUpdateRetryMin,
		RetryMax: cfg.StatusUpdateRetryMax,
		Forward:  a.forwardStatusUpdate,
		Logger:   cfg.Logger,
	})
	a.metrics = newMetrics(a)
	a.handler = a.routes()
	return a, nil
}

// Handler returns the agent's HTTP handler (every endpoint, also under
// /slave(1)/). Run serves it; tests may mount it elsewhere.
func (a *Agent) Handler() http.Handler { return a.handler }

// Ready is closed once Run has bound its listener.
func (a *Agent) Ready() <-chan struct{} { return a.ready }

// Addr returns the advertised "ip:port" of the agent's HTTP server, once
// Ready is closed ("" before).
func (a *Agent) Addr() string {
	select {
	case <-a.ready:
		return a.addr
	default:
		return ""
	}
}

// ID returns the agent id ("" until registered or recovered).
func (a *Agent) ID() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.agentID
}

// Registered reports whether the agent has a live registration with a
// master.
func (a *Agent) Registered() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.registered
}

// Run recovers checkpointed state, serves HTTP, registers with the master
// and runs until ctx is cancelled. Then it stops: with KillTasksOnExit it
// shuts down and destroys every executor; otherwise it destroys only the
// executors of frameworks that do not checkpoint, and leaves the others
// running for the next agent to re-attach. Run may be called once.
func (a *Agent) Run(ctx context.Context) error {
	runCtx, stopRun := context.WithCancel(context.Background())
	defer stopRun()
	a.runCtx = runCtx
	if a.cfg.Images != nil {
		defer func() {
			if err := a.cfg.Images.Close(); err != nil {
				a.log.Warn("stop the podman service", "error", err)
			}
		}()
	}
	a.startImages(ctx)
	if err := a.recover(ctx); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(a.listenIP, strconv.Itoa(a.cfg.Port)))
	if err != nil {
		return fmt.Errorf("agent: listen: %w", err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	a.port = port
	a.addr = net.JoinHostPort(a.advertisedIP, strconv.Itoa(port))
	a.mu.Lock()
	a.info.Port = proto32(int32(port))
	a.mu.Unlock()
	close(a.ready)
	a.log.Info("agent listening", "address", a.addr, "work_dir", a.cfg.WorkDir,
		"isolation", a.cz.Isolation(), "masters", a.cfg.Master)

	srv := &http.Server{Handler: a.handler, ReadHeaderTimeout: 30 * time.Second}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()

	a.startRecoveredExecutors()
	if a.standby != nil {
		a.standby.start(a.ownCz.StandbyUser(defaultStandbyUser()))
	}
	a.wg.Add(1)
	go func() { defer a.wg.Done(); a.logs.Run(runCtx) }()

	loopCtx, stopLoops := context.WithCancel(ctx)
	defer stopLoops()
	var loops sync.WaitGroup
	if a.detector != nil {
		loops.Add(1)
		go func() {
			defer loops.Done()
			if err := a.detector.Run(loopCtx); err != nil {
				a.log.Error("master detection stopped", "error", err)
			}
		}()
	}
	loops.Add(2)
	go func() { defer loops.Done(); a.masterLoop(loopCtx) }()
	go func() { defer loops.Done(); a.callSender(loopCtx) }()

	var result error
	select {
	case <-ctx.Done():
	case err := <-serveErr:
		result = fmt.Errorf("agent: serve: %w", err)
	}
	a.log.Info("agent stopping", "kill_tasks", a.cfg.KillTasksOnExit)
	stopLoops()
	loops.Wait()
	if a.standby != nil {
		a.standby.close()
	}
	a.shutdown()
	close(a.stopping)
	shutCtx, shutCancel := context.WithTimeout(context.Background(), 5*time.Second)
	_ = srv.Shutdown(shutCtx)
	shutCancel()
	stopRun()
	a.wg.Wait()
	a.sum.Close()
	if a.ownCz != nil {
		a.ownCz.Close()
	}
	a.removeCgroupRoot()
	a.log.Info("agent stopped")
	return result
}

// shutdown stops executors as the configuration asks: all of them with
// KillTasksOnExit, else those of frameworks that do not checkpoint (their
// tasks cannot survive the agent anyway). Each gets SHUTDOWN and its grace
// period, then its container is destroyed.
func (a *Agent) shutdown() {
	a.mu.Lock()
	a.shuttingDown = true
	var kill []*executor
	grace := a.cfg.ExecutorShutdownGracePeriod
	for _, f := range a.frameworks {
		for _, e := range f.executors {
			if e.state == execTerminated {
				continue
			}
			if a.cfg.KillTasksOnExit || !f.checkpoint() {
				kill = append(kill, e)
				grace = max(grace, a.shutdownGrace(e))
			}
		}
	}
	for _, e := range kill {
		a.shutdownExecutorLocked(e, "agent is shutting down")
	}
	a.mu.Unlock()
	if len(kill) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), grace+time.Second)
	defer cancel()
	for _, e := range kill {
		if _, err := a.waitContainer(ctx, e); err != nil {
			dctx, dcancel := context.WithTimeout(context.Background(), 20*time.Second)
			_, _ = a.destroyContainer(dctx, e)
			dcancel()
		}
	}
}

func proto32(v int32) *int32 { return &v }

func newToken() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func newUUID() []byte {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = (b[6] & 0x0f) | 0x40
	b[8] = (b[8] & 0x3f) | 0x80
	return b
}

func uuidString(b []byte) string {
	if len(b) != 16 {
		return hex.EncodeToString(b)
	}
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func currentBootID() string {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}
