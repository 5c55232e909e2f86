package launcher

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"os/user"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"strata/kernel/scheduler"
)

// Observer is the service's side: it persists what the launcher tells it.
// Both calls are made without the launcher's lock held.
type Observer interface {
	// Launching is told a task is about to be launched on an agent; an
	// error cancels the launch (the task stays queued).
	Launching(ctx context.Context, l Launched) error
	// Update is told every status update of a tracked task; an error leaves
	// the update unacknowledged, so the agent sends it again.
	Update(ctx context.Context, u Update) error
	// Unknown is told a task the master reports that the launcher does
	// not track: the launcher kills it unless it is already gone.
	Unknown(ctx context.Context, u Update)
}

// Defaults.
const (
	DefaultName              = "metronome"
	DefaultRole              = "*"
	DefaultFailoverTimeout   = 7 * 24 * time.Hour
	DefaultDeclineRefuse     = 120 * time.Second
	DefaultUnfitRefuse       = 5 * time.Second
	DefaultReconcileInterval = 10 * time.Minute
	DefaultKillRetry         = 10 * time.Second
	DefaultTick              = 500 * time.Millisecond
)

// Config configures a Launcher. Masters, IDs and Observer are required.
type Config struct {
	Masters  []string
	IDs      scheduler.IDStore
	Observer Observer
	// Name is the framework's name: "metronome" by default, so that DNS
	// names match DC/OS.
	Name string
	// User runs tasks that name none: root when the service runs as root,
	// else the current user.
	User     string
	Role     string
	Hostname string
	WebUIURL string
	// FailoverTimeout is how long the master keeps the framework's tasks
	// while it is disconnected (a week by default).
	FailoverTimeout   time.Duration
	DeclineRefuse     time.Duration
	UnfitRefuse       time.Duration
	ReconcileInterval time.Duration
	KillRetry         time.Duration
	Tick              time.Duration
	Logger            *slog.Logger
	Registerer        prometheus.Registerer
}

func (c *Config) applyDefaults() error {
	if len(c.Masters) == 0 {
		return errors.New("launcher: no masters")
	}
	if c.IDs == nil || c.Observer == nil {
		return errors.New("launcher: IDs and Observer are required")
	}
	if c.Name == "" {
		c.Name = DefaultName
	}
	if c.Role == "" {
		c.Role = DefaultRole
	}
	if c.User == "" {
		c.User = "root"
		if os.Geteuid() != 0 {
			if u, err := user.Current(); err == nil {
				c.User = u.Username
			}
		}
	}
	if c.Hostname == "" {
		c.Hostname, _ = os.Hostname()
	}
	set := func(d *time.Duration, def time.Duration) {
		if *d <= 0 {
			*d = def
		}
	}
	set(&c.FailoverTimeout, DefaultFailoverTimeout)
	set(&c.DeclineRefuse, DefaultDeclineRefuse)
	set(&c.UnfitRefuse, DefaultUnfitRefuse)
	set(&c.ReconcileInterval, DefaultReconcileInterval)
	set(&c.KillRetry, DefaultKillRetry)
	set(&c.Tick, DefaultTick)
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return nil
}
