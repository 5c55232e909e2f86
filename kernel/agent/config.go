package agent

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"strata/kernel/containerizer"
	"strata/kernel/election"
)

// Config configures an Agent. Zero values take the defaults named on each
// field (the Mesos defaults).
type Config struct {
	// WorkDir holds sandboxes, checkpoints and containerizer state.
	// Required.
	WorkDir string
	// IP is the address to listen on and to advertise. Empty means the
	// address the host name resolves to (127.0.0.1 if it does not resolve);
	// 0.0.0.0 listens everywhere and advertises that same resolved address.
	IP string
	// Hostname is advertised in AgentInfo; empty means os.Hostname().
	Hostname string
	// Port is the HTTP port (the CLI's default is DefaultPort, 5051); 0
	// binds a free port, whose address Addr reports once Run listens.
	Port int
	// Master is the master's host:port, or a comma-separated list of them
	// (each may also be written as http://host:port), or a zk:// URL whose
	// leader the agent follows through ZooKeeper. Required.
	Master string
	// Resources overrides the detected resources (Mesos --resources syntax,
	// e.g. "cpus:4;mem:8192;ports:[31000-32000]").
	Resources string
	// Attributes are the agent's attributes (Mesos --attributes syntax,
	// e.g. "rack:r1;zone:a").
	Attributes string

	// PingInterval (15s) and MaxPingTimeouts (5) apply until the master
	// sends its own values: after PingInterval×MaxPingTimeouts without a
	// PING the agent re-registers.
	PingInterval    time.Duration
	MaxPingTimeouts int
	// RegistrationBackoffFactor (1s) is b in the re-registration backoff
	// [0, b·2ⁿ], capped at MaxRegistrationBackoff (1 min).
	RegistrationBackoffFactor time.Duration
	MaxRegistrationBackoff    time.Duration
	// ExecutorRegistrationTimeout (1m) bounds the time from launch to
	// SUBSCRIBE.
	ExecutorRegistrationTimeout time.Duration
	// ExecutorReregistrationTimeout (2s) bounds the time recovered executors
	// have to re-subscribe after an agent restart.
	ExecutorReregistrationTimeout time.Duration
	// ExecutorShutdownGracePeriod (5s) is the time between SHUTDOWN and the
	// destruction of the container, unless ExecutorInfo sets its own.
	ExecutorShutdownGracePeriod time.Duration
	// StatusUpdateRetryMin (10s) and StatusUpdateRetryMax (10m) bound the
	// resend backoff of unacknowledged status updates.
	StatusUpdateRetryMin time.Duration
	StatusUpdateRetryMax time.Duration
	// ExecutorHeartbeatInterval (30m) is the period of HEARTBEAT events on
	// executor streams.
	ExecutorHeartbeatInterval time.Duration
	// RecoveryTimeout (15m) and SubscriptionBackoffMax (2s) are passed to
	// executors of checkpointing frameworks.
	RecoveryTimeout        time.Duration
	SubscriptionBackoffMax time.Duration

	// Executable is the strata binary run as `strata executor` for command
	// tasks and for task groups of the default executor; empty means this
	// process's executable.
	Executable string
	// StandbyExecutors is how many built-in executors the agent keeps
	// started ahead of demand, so that a command task or a task group does
	// not wait for a new process to start (see standbyPool). It needs the posix
	// containerizer the agent creates itself and an Executable that is the
	// strata binary. Zero keeps none; `strata agent` keeps
	// DefaultStandbyExecutors.
	StandbyExecutors int
	// KillTasksOnExit makes Run shut down and destroy every executor when it
	// returns (strata dev). Otherwise executors of checkpointing frameworks
	// keep running across an agent restart, and only the others are
	// destroyed.
	KillTasksOnExit bool

	// Isolation lists, comma-separated, what the agent's own containerizer
	// isolates containers with when the agent runs as root: "cgroups"
	// (cpu, memory, pids limits and accounting, reliable kill),
	// "namespaces" (a mount namespace with a private /tmp, users switched
	// inside the container), "pid-namespace"; "none" isolates nothing.
	// Empty means DefaultIsolation. Without root nothing is isolated, and
	// the agent says so.
	Isolation string
	// CgroupsRoot is the agent's cgroup under every hierarchy (Mesos'
	// --cgroups_root); empty derives one from WorkDir, so that two agents
	// on one host never share one.
	CgroupsRoot string
	// CgroupsEnableCFS caps every container's CPU at its cpus with a CFS
	// quota (Mesos' --cgroups_enable_cfs); without it only tasks with a
	// cpus limit get a quota.
	CgroupsEnableCFS bool
	// ContainerPidsMax bounds the processes and threads of each container
	// (0: no bound).
	ContainerPidsMax uint64
	// EnforceContainerDiskQuota fails containers whose sandbox grows beyond
	// their disk resource (REASON_CONTAINER_LIMITATION_DISK), measured every
	// ContainerDiskWatchInterval (15s).
	EnforceContainerDiskQuota  bool
	ContainerDiskWatchInterval time.Duration
	// SandboxLogMaxSize caps each stdout and stderr file of a sandbox: above
	// it the file is rotated (NAME.1 … NAME.SandboxLogKeep). Zero means
	// DefaultSandboxLogMaxSize; negative disables rotation.
	SandboxLogMaxSize int64
	SandboxLogKeep    int
	// SecretsDir holds the secrets tasks may reference (Secret REFERENCE
	// "/db/password" is the file SecretsDir/db/password); empty means
	// <WorkDir>/secrets. Only the executor of a task sees its resolved
	// secrets.
	SecretsDir string

	// Images is the agent's side of image containers (package podmancz):
	// it runs custom executors whose ExecutorInfo names an image in
	// containers of that image, and the built-in executors run their tasks
	// with images (a command task's, a task group's) as podman containers
	// through the service it starts or connects to. Nil, or one that is not
	// usable, makes all of these fail with REASON_CONTAINER_LAUNCH_FAILED.
	// Run starts it before recovery and closes it when it returns.
	Images ImageContainers

	// Containerizer runs executors; nil means the agent's own process
	// containerizer (package posix) with its state in
	// <WorkDir>/containers, isolating as Isolation asks.
	Containerizer containerizer.Containerizer
	// Logger receives the agent's log; nil means slog.Default().
	Logger *slog.Logger
}

// Defaults.
const (
	DefaultPort                          = 5051
	DefaultPingInterval                  = 15 * time.Second
	DefaultMaxPingTimeouts               = 5
	DefaultRegistrationBackoffFactor     = time.Second
	DefaultMaxRegistrationBackoff        = time.Minute
	DefaultExecutorRegistrationTimeout   = time.Minute
	DefaultExecutorReregistrationTimeout = 2 * time.Second
	DefaultExecutorShutdownGracePeriod   = 5 * time.Second
	DefaultStatusUpdateRetryMin          = 10 * time.Second
	DefaultStatusUpdateRetryMax          = 10 * time.Minute
	DefaultExecutorHeartbeatInterval     = 30 * time.Minute
	DefaultRecoveryTimeout               = 15 * time.Minute
	DefaultSubscriptionBackoffMax        = 2 * time.Second
	DefaultStandbyExecutors              = 1
	DefaultContainerDiskWatchInterval    = 15 * time.Second
	DefaultSandboxLogMaxSize             = 10 << 20
	DefaultSandboxLogKeep                = 5
)

func (c *Config) applyDefaults() error {
	if c.WorkDir == "" {
		return errors.New("agent: WorkDir is required")
	}
	abs, err := filepath.Abs(c.WorkDir)
	if err != nil {
		return fmt.Errorf("agent: work dir: %w", err)
	}
	c.WorkDir = abs
	if strings.TrimSpace(c.Master) == "" {
		return errors.New("agent: Master is required")
	}
	if c.Port < 0 || c.Port > 65535 {
		return fmt.Errorf("agent: invalid port %d", c.Port)
	}
	setDur := func(d *time.Duration, def time.Duration) {
		if *d <= 0 {
			*d = def
		}
	}
	setDur(&c.PingInterval, DefaultPingInterval)
	if c.MaxPingTimeouts <= 0 {
		c.MaxPingTimeouts = DefaultMaxPingTimeouts
	}
	setDur(&c.RegistrationBackoffFactor, DefaultRegistrationBackoffFactor)
	setDur(&c.MaxRegistrationBackoff, DefaultMaxRegistrationBackoff)
	setDur(&c.ExecutorRegistrationTimeout, DefaultExecutorRegistrationTimeout)
	setDur(&c.ExecutorReregistrationTimeout, DefaultExecutorReregistrationTimeout)
	setDur(&c.ExecutorShutdownGracePeriod, DefaultExecutorShutdownGracePeriod)
	setDur(&c.StatusUpdateRetryMin, DefaultStatusUpdateRetryMin)
	setDur(&c.StatusUpdateRetryMax, DefaultStatusUpdateRetryMax)
	if c.StatusUpdateRetryMax < c.StatusUpdateRetryMin {
		c.StatusUpdateRetryMax = c.StatusUpdateRetryMin
	}
	setDur(&c.ExecutorHeartbeatInterval, DefaultExecutorHeartbeatInterval)
	setDur(&c.RecoveryTimeout, DefaultRecoveryTimeout)
	setDur(&c.SubscriptionBackoffMax, DefaultSubscriptionBackoffMax)
	setDur(&c.ContainerDiskWatchInterval, DefaultContainerDiskWatchInterval)
	if strings.TrimSpace(c.Isolation) == "" {
		c.Isolation = DefaultIsolation
	}
	if c.Hostname == "" {
		h, err := os.Hostname()
		if err != nil {
			return fmt.Errorf("agent: hostname: %w", err)
		}
		c.Hostname = h
	}
	if c.Executable == "" {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("agent: find own executable: %w", err)
		}
		c.Executable = exe
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.SandboxLogMaxSize == 0 {
		c.SandboxLogMaxSize = DefaultSandboxLogMaxSize
	}
	if c.SecretsDir == "" {
		c.SecretsDir = filepath.Join(c.WorkDir, "secrets")
	}
	if c.SandboxLogKeep <= 0 {
		c.SandboxLogKeep = DefaultSandboxLogKeep
	}
	if _, err := parseIsolation(c.Isolation); err != nil {
		return err
	}
	return nil
}

// listenIP is the IP to bind; advertisedIP the one to give out.
func (c *Config) ips() (listen, advertised string, err error) {
	ip := strings.TrimSpace(c.IP)
	if ip != "" && net.ParseIP(ip) == nil {
		return "", "", fmt.Errorf("agent: invalid IP %q", ip)
	}
	if ip != "" && !net.ParseIP(ip).IsUnspecified() {
		return ip, ip, nil
	}
	adv := "127.0.0.1"
	if addrs, err := net.LookupIP(c.Hostname); err == nil {
		for _, a := range addrs {
			if v4 := a.To4(); v4 != nil {
				adv = v4.String()
				break
			}
		}
	}
	if ip == "" {
		return adv, adv, nil
	}
	return ip, adv, nil
}

// masters parses the Master list into host:port entries, or a zk:// URL into the ZooKeeper
// group whose leader the agent follows.
func (c *Config) masters() ([]string, *election.URL, error) {
	if election.IsZK(c.Master) {
		u, err := election.ParseURL(c.Master)
		if err != nil {
			return nil, nil, fmt.Errorf("agent: master: %w", err)
		}
		return nil, &u, nil
	}
	out, err := c.masterList()
	return out, nil, err
}

func (c *Config) masterList() ([]string, error) {
	var out []string
	for _, m := range strings.Split(c.Master, ",") {
		m = strings.TrimSpace(m)
		if m == "" {
			continue
		}
		m = strings.TrimPrefix(strings.TrimPrefix(m, "http://"), "https://")
		m = strings.TrimSuffix(m, "/")
		if _, port, err := net.SplitHostPort(m); err != nil {
			m = net.JoinHostPort(m, "5050")
		} else if _, err := strconv.Atoi(port); err != nil {
			return nil, fmt.Errorf("agent: master %q: bad port", m)
		}
		out = append(out, m)
	}
	if len(out) == 0 {
		return nil, errors.New("agent: no master given")
	}
	return out, nil
}

// mesosDuration formats d the way Mesos prints durations ("5secs",
// "15mins", "100ms"), which executor libraries parse.
func mesosDuration(d time.Duration) string {
	units := []struct {
		d    time.Duration
		name string
	}{
		{7 * 24 * time.Hour, "weeks"}, {24 * time.Hour, "days"}, {time.Hour, "hrs"},
		{time.Minute, "mins"}, {time.Second, "secs"}, {time.Millisecond, "ms"},
		{time.Microsecond, "us"},
	}
	for _, u := range units {
		if d >= u.d {
			return strconv.FormatFloat(float64(d)/float64(u.d), 'f', -1, 64) + u.name
		}
	}
	return strconv.FormatInt(int64(d), 10) + "ns"
}
