package podmancz

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"strata/kernel/containerizer/podman"
)

// Modes of Config.Mode.
const (
	// ModeAuto uses podman when the host can run it.
	ModeAuto = "auto"
	// ModeOff never uses podman: image tasks fail.
	ModeOff = "off"
)

// maxSocketPath is the longest path a unix socket address holds.
const maxSocketPath = 107

// fallbackSocketDir holds the sockets of agents whose work directory is too
// deep for a socket path.
const fallbackSocketDir = "/run/strata"

// Config configures the agent's podman containerizer.
type Config struct {
	// Mode is ModeAuto (the default when empty) or ModeOff.
	Mode string
	// Socket, if set, is the socket of a podman service already running on
	// this host, which the agent uses instead of starting its own.
	Socket string
	// WorkDir is the agent's work directory: its own service keeps its
	// configuration, pid file and log in WorkDir/podman. Required unless
	// Mode is ModeOff.
	WorkDir string
	// StartTimeout bounds the start of the agent's own service; zero means
	// 30 s.
	StartTimeout time.Duration
	// Logger receives diagnostics; nil means slog.Default().
	Logger *slog.Logger
}

// Containers is the agent's podman containerizer. Create it with New and
// make it usable with Start; its methods are safe for concurrent use after
// Start.
type Containers struct {
	cfg    Config
	log    *slog.Logger
	socket string // where the service listens (planned before Start)
	own    bool   // the agent starts the service itself

	// ctx ends the watches of executor containers when the containerizer
	// is closed (stop cancels it); wg waits for them.
	ctx  context.Context
	stop context.CancelFunc
	wg   sync.WaitGroup

	mu      sync.Mutex
	started bool
	svc     *podman.Service
	client  *podman.Client
	// describe is the one-line status; reason, when not empty, why image
	// tasks cannot run.
	describe string
	reason   string
	// execs are the custom executors running in containers of their
	// images, by container id.
	execs map[string]*executorContainer
}

// New validates cfg and plans the service's socket. Nothing is started.
func New(cfg Config) (*Containers, error) {
	if cfg.Mode == "" {
		cfg.Mode = ModeAuto
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	c := &Containers{cfg: cfg, log: cfg.Logger.With("component", "agent/podmancz"), execs: make(map[string]*executorContainer)}
	c.ctx, c.stop = context.WithCancel(context.Background())
	switch cfg.Mode {
	case ModeOff:
		c.describe = "off (--podman=off)"
		c.reason = "podman is turned off on this agent (--podman=off)"
		return c, nil
	case ModeAuto:
	default:
		return nil, fmt.Errorf("podmancz: unknown podman mode %q (auto or off)", cfg.Mode)
	}
	if cfg.Socket != "" {
		abs, err := filepath.Abs(strings.TrimPrefix(cfg.Socket, "unix://"))
		if err != nil {
			return nil, fmt.Errorf("podmancz: podman socket: %w", err)
		}
		c.socket = abs
		return c, nil
	}
	if cfg.WorkDir == "" {
		return nil, errors.New("podmancz: WorkDir is required")
	}
	abs, err := filepath.Abs(cfg.WorkDir)
	if err != nil {
		return nil, fmt.Errorf("podmancz: work dir: %w", err)
	}
	c.cfg.WorkDir = abs
	c.own = true
	c.socket = socketPath(abs)
	return c, nil
}

// socketPath is the socket of the agent's own service: in the work
// directory, or under fallbackSocketDir when that path would be too long.
func socketPath(workDir string) string {
	p := filepath.Join(workDir, "podman", "podman.sock")
	if len(p) <= maxSocketPath {
		return p
	}
	sum := sha256.Sum256([]byte(workDir))
	return filepath.Join(fallbackSocketDir, "podman-"+hex.EncodeToString(sum[:6])+".sock")
}

// Socket returns the path of the service's socket ("" when off), known
// before Start: the agent keeps its directory visible in its containers.
func (c *Containers) Socket() string { return c.socket }

// Start detects podman and starts (or connects to) the service. It never
// fails: when podman cannot be used, Unavailable says why. It is called once,
// before any other method but Socket.
func (c *Containers) Start(ctx context.Context) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.started {
		return
	}
	c.started = true
	if c.cfg.Mode == ModeOff {
		c.log.Info("image containers are off (--podman=off): tasks with a container image will fail")
		return
	}
	began := time.Now()
	if err := c.start(ctx); err != nil {
		c.reason = err.Error()
		c.describe = "unavailable: " + c.reason
		c.log.Warn("image containers are not available: tasks with a container image will fail", "reason", c.reason)
		return
	}
	c.log.Info("image containers through "+c.describe, "took", time.Since(began).Round(time.Millisecond))
}

// start does the work of Start with c.mu held.
func (c *Containers) start(ctx context.Context) error {
	if !c.own {
		client, err := podman.Connect(ctx, c.socket, c.cfg.Logger)
		if err != nil {
			return fmt.Errorf("the podman service given with --podman-socket %s is not usable: %w", c.socket, err)
		}
		c.client = client
		c.describe = fmt.Sprintf("podman %s at %s (a service the agent did not start)", client.Version(), c.socket)
		return nil
	}
	d := podman.Detect(ctx)
	if !d.Usable {
		return errors.New(d.Reason)
	}
	svc, err := podman.Start(ctx, podman.Options{
		WorkDir: c.cfg.WorkDir, Socket: c.socket, StartTimeout: c.cfg.StartTimeout, Logger: c.cfg.Logger,
	})
	if err != nil {
		return fmt.Errorf("the agent's podman service did not start: %w", err)
	}
	client, err := svc.Connect(ctx, c.cfg.Logger)
	if err != nil {
		svc.Close()
		return fmt.Errorf("the agent's podman service does not answer: %w", err)
	}
	c.svc, c.client = svc, client
	version := client.Version()
	if version == "" {
		version = d.Version
	}
	c.describe = fmt.Sprintf("podman %s (%s) at %s", version, filepath.Base(d.Runtime), c.socket)
	return nil
}

// Unavailable returns "" when image containers can run, and otherwise why
// they cannot, for the message of the tasks that fail.
func (c *Containers) Unavailable() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.reason != "":
		return c.reason
	case c.client == nil:
		return "the agent's podman service is not running"
	}
	return ""
}

// Describe is the one-line status for logs, /flags and /state: "podman
// 4.3.1 (runc) at <socket>", "off (--podman=off)" or "unavailable: <why>".
func (c *Containers) Describe() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.describe == "" {
		return "not started"
	}
	return c.describe
}

// Flags are the agent's podman settings and status, for /flags.
func (c *Containers) Flags() map[string]string {
	return map[string]string{
		"podman":        c.cfg.Mode,
		"podman_socket": c.socket,
		"podman_status": c.Describe(),
	}
}

// usable returns the client, or an error saying why there is none.
func (c *Containers) usable() (*podman.Client, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.client == nil {
		why := c.reason
		if why == "" {
			why = "the agent's podman service is not running"
		}
		return nil, fmt.Errorf("podmancz: %s", why)
	}
	return c.client, nil
}

// RemoveOrphans removes every container labelled with agentID whose
// strata.container label owned does not claim, running or not, and returns
// their names. It does nothing when podman is not usable.
func (c *Containers) RemoveOrphans(ctx context.Context, agentID string, owned func(containerID string) bool) ([]string, error) {
	if c.Unavailable() != "" || agentID == "" {
		return nil, nil
	}
	client, err := c.usable()
	if err != nil {
		return nil, err
	}
	list, err := client.List(ctx, agentID)
	if err != nil {
		return nil, fmt.Errorf("podmancz: remove orphans: %w", err)
	}
	var removed []string
	var errs []error
	for _, s := range list {
		if s.ContainerID != "" && owned(s.ContainerID) {
			continue
		}
		if err := client.Remove(ctx, s.ID); err != nil {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, s.Name)
	}
	if err := errors.Join(errs...); err != nil {
		return removed, fmt.Errorf("podmancz: remove orphans: %w", err)
	}
	return removed, nil
}

// RemoveContainer removes the containers of agentID labelled with
// containerID (the executor's container), killing them first if they run.
// It returns their names; none is not an error.
func (c *Containers) RemoveContainer(ctx context.Context, agentID, containerID string) ([]string, error) {
	if agentID == "" || containerID == "" {
		return nil, nil
	}
	client, err := c.usable()
	if err != nil {
		return nil, err
	}
	list, err := client.List(ctx, agentID)
	if err != nil {
		return nil, fmt.Errorf("podmancz: remove the containers of %s: %w", containerID, err)
	}
	var removed []string
	for _, s := range list {
		if s.ContainerID != containerID {
			continue
		}
		if err := client.Remove(ctx, s.ID); err != nil {
			return removed, fmt.Errorf("podmancz: remove the containers of %s: %w", containerID, err)
		}
		removed = append(removed, s.Name)
	}
	return removed, nil
}

// Close stops the agent's own service, if it started one, after the
// watches of executor containers. Containers keep running.
func (c *Containers) Close() error {
	c.stop()
	c.wg.Wait()
	c.mu.Lock()
	client, svc := c.client, c.svc
	c.client, c.svc = nil, nil
	if c.reason == "" {
		c.reason = "the agent's podman service was stopped"
	}
	c.mu.Unlock()
	if client != nil {
		client.Close()
	}
	if svc != nil {
		return svc.Close()
	}
	return nil
}
