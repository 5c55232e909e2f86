package framework

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/user"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"strata/services/apps/instance"
)

// Store is what the framework persists.
type Store interface {
	PutInstances(ctx context.Context, list ...*instance.Instance) error
	DeleteInstances(ctx context.Context, taskIDs ...string) error
	FrameworkID(ctx context.Context) (string, error)
	SetFrameworkID(ctx context.Context, id string) error
	SetLastTaskFailure(ctx context.Context, appID string, data []byte) error
}

// Defaults.
const (
	DefaultName              = "marathon"
	DefaultRole              = "*"
	DefaultFailoverTimeout   = 7 * 24 * time.Hour
	DefaultDeclineRefuse     = 120 * time.Second
	DefaultUnfitRefuse       = 3 * time.Second
	DefaultReconcileInterval = 10 * time.Minute
	DefaultLaunchTimeout     = 5 * time.Minute
	DefaultKillRetry         = 10 * time.Second
	DefaultTick              = 500 * time.Millisecond
	DefaultHealthKillShare   = 0.1
	DefaultReplacementWait   = time.Minute
)

// Config configures a Framework. Masters and Store are required.
type Config struct {
	// Masters are the masters to subscribe to ("host:port", tried in order).
	Masters []string
	Store   Store
	// Events receives the framework's events (status updates, health changes, unhealthy kills);
	// nil: none.
	Events Publisher

	// Name is the framework name (default "marathon", so that mesos-dns names match DC/OS).
	Name string
	// User runs the tasks that do not name their own: default root when the service runs as
	// root, else the current user.
	User string
	// Role is the framework's role (default "*").
	Role string
	// Hostname and WebUIURL are advertised in FrameworkInfo.
	Hostname string
	WebUIURL string
	// FailoverTimeout is how long the master keeps the tasks of a disconnected framework
	// (default one week).
	FailoverTimeout time.Duration

	// DeclineRefuse filters offers that nothing waits for (default 120 s); UnfitRefuse
	// filters offers that waiting instances did not fit (default 3 s, so that freed resources
	// are seen soon).
	DeclineRefuse time.Duration
	UnfitRefuse   time.Duration
	// ReconcileInterval is the period of the reconciliation after the one at subscription
	// (default 10 minutes, Marathon's --reconciliation_interval).
	ReconcileInterval time.Duration
	// LaunchTimeout is how long a launched task may take to reach TASK_RUNNING before it is
	// killed and replaced (default 5 minutes, Marathon's --task_launch_timeout).
	LaunchTimeout time.Duration
	// KillRetry is how long to wait for a kill to take effect before sending it again.
	KillRetry time.Duration
	// Tick is the period of the housekeeping loop (suppress/revive, kill retries, timeouts).
	Tick time.Duration

	// HealthKillShare bounds the health kills of an app (healthkill.go): at most
	// max(1, floor(share × instances)) of its instances are being killed for failing their
	// health checks at once, and as many kills are allowed per HealthKillWindow (default 0.1).
	HealthKillShare float64
	// HealthKillWindow is the period over which an app's health kill allowance refills (0: the
	// app's own, the time a replacement needs before its health checks could fail it).
	HealthKillWindow time.Duration
	// ReplacementWait is how long a health kill that launched its replacement first waits for the
	// replacement to run before it kills anyway (default 1 minute).
	ReplacementWait time.Duration

	// OnChange is called, without locks held, after instances changed (status updates,
	// launches, kills, reconciliation finished). It must not block.
	OnChange func()
	// Registerer receives the framework's metrics (nil: none).
	Registerer prometheus.Registerer
	Logger     *slog.Logger
}

func (c *Config) applyDefaults() error {
	if len(c.Masters) == 0 {
		return errors.New("framework: no masters")
	}
	if c.Store == nil {
		return errors.New("framework: no store")
	}
	if c.Events == nil {
		c.Events = nopPublisher{}
	}
	if c.Name == "" {
		c.Name = DefaultName
	}
	if c.User == "" {
		u, err := defaultUser()
		if err != nil {
			return err
		}
		c.User = u
	}
	if c.Role == "" {
		c.Role = DefaultRole
	}
	if c.Hostname == "" {
		c.Hostname, _ = os.Hostname()
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.FailoverTimeout, DefaultFailoverTimeout)
	def(&c.DeclineRefuse, DefaultDeclineRefuse)
	def(&c.UnfitRefuse, DefaultUnfitRefuse)
	def(&c.ReconcileInterval, DefaultReconcileInterval)
	def(&c.LaunchTimeout, DefaultLaunchTimeout)
	def(&c.KillRetry, DefaultKillRetry)
	def(&c.Tick, DefaultTick)
	def(&c.ReplacementWait, DefaultReplacementWait)
	if c.HealthKillShare <= 0 {
		c.HealthKillShare = DefaultHealthKillShare
	}
	if c.OnChange == nil {
		c.OnChange = func() {}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return nil
}

// defaultUser is root when the process is root, else the current user's name.
func defaultUser() (string, error) {
	if os.Geteuid() == 0 {
		return "root", nil
	}
	u, err := user.Current()
	if err != nil {
		return "", fmt.Errorf("framework: current user: %w", err)
	}
	return u.Username, nil
}
