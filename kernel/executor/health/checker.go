package health

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Options are the callbacks and hooks of a Checker.
type Options struct {
	// OnResult is called for each result the built-in executors would report
	// (see the package documentation): healthy=true with 0 failures, or
	// healthy=false with the number of consecutive failures and a message
	// such as "HTTP health check failed: unexpected HTTP response code 500
	// Internal Server Error".
	OnResult func(healthy bool, consecutiveFailures int, msg string)
	// OnKill is called once, right after the OnResult of the failure that
	// reached ConsecutiveFailures, with a reason for the kill.
	OnKill func(reason string)
	// Logger receives debug and info lines; nil means slog.Default().
	Logger *slog.Logger
	// Now is the clock used for the grace period; nil means time.Now.
	Now func() time.Time
}

// Checker runs one Check periodically in its own goroutine. Callbacks are
// called from that goroutine, one at a time.
type Checker struct {
	check  Check
	opts   Options
	log    *slog.Logger
	client *http.Client

	mu      sync.Mutex
	started bool
	cancel  context.CancelFunc
	done    chan struct{}

	inCallback atomic.Bool

	// Loop state, owned by the checker goroutine.
	startTime    time.Time
	initializing bool
	failures     int
	killed       bool
}

// New validates check and returns a Checker for it. Apply Check.Defaults
// first if the check came from a HealthCheck message.
func New(check Check, opts Options) (*Checker, error) {
	if err := check.Validate(); err != nil {
		return nil, err
	}
	if check.Type == HTTP && check.HTTPScheme == "" {
		check.HTTPScheme = "http"
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	c := &Checker{
		check: check,
		opts:  opts,
		log:   log.With("component", "health", "check", check.Type.String()),
	}
	if check.Type == HTTP {
		c.client = newHTTPClient()
	}
	return c, nil
}

// Start starts checking in a new goroutine. The checker stops when ctx is
// cancelled or Stop is called. A Checker can be started only once.
func (c *Checker) Start(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.started {
		return errors.New("health: checker already started")
	}
	c.started = true
	ctx, c.cancel = context.WithCancel(ctx)
	c.done = make(chan struct{})
	c.startTime = c.opts.Now()
	c.initializing = true
	go c.run(ctx)
	return nil
}

// Stop stops the checker, aborting a check in progress (a running command is
// killed). It returns once the checker goroutine has exited, so that no
// callback runs after it; when called while a callback is running (for
// instance from OnKill itself) it returns at once instead, and no further
// callback starts. Stop may be called more than once, and before Start.
func (c *Checker) Stop() {
	c.mu.Lock()
	cancel, done := c.cancel, c.done
	c.started = true // a stopped checker cannot be started
	c.mu.Unlock()
	if cancel == nil {
		return
	}
	cancel()
	if c.inCallback.Load() {
		return
	}
	<-done
}

func (c *Checker) run(ctx context.Context) {
	defer close(c.done)
	if c.client != nil {
		defer c.client.CloseIdleConnections()
	}
	c.log.Debug("health checking started", "delay", c.check.Delay, "interval", c.check.Interval,
		"timeout", c.check.Timeout, "grace_period", c.check.GracePeriod,
		"consecutive_failures", c.check.ConsecutiveFailures)
	wait := c.check.Delay
	for {
		if !sleep(ctx, wait) {
			return
		}
		began := time.Now()
		err := c.probe(ctx)
		if ctx.Err() != nil {
			// Stopped: a probe aborted by Stop says nothing about the task.
			return
		}
		c.log.Debug("health check performed", "took", time.Since(began), "error", err)
		if err == nil {
			c.success(ctx)
		} else {
			c.failure(ctx, fmt.Sprintf("%v health check failed: %v", c.check.Type, err))
		}
		wait = c.check.Interval
	}
}

func (c *Checker) success(ctx context.Context) {
	if c.initializing || c.failures > 0 {
		c.initializing = false
		c.callback(ctx, func() {
			if c.opts.OnResult != nil {
				c.opts.OnResult(true, 0, "")
			}
		})
	}
	c.failures = 0
}

func (c *Checker) failure(ctx context.Context, msg string) {
	if c.initializing && c.check.GracePeriod > 0 && c.opts.Now().Sub(c.startTime) <= c.check.GracePeriod {
		c.log.Info("ignoring failure as health check still in grace period", "error", msg)
		return
	}
	c.failures++
	c.log.Warn("health check failed", "consecutive_failures", c.failures, "error", msg)
	n := c.failures
	c.callback(ctx, func() {
		if c.opts.OnResult != nil {
			c.opts.OnResult(false, n, msg)
		}
	})
	if !c.killed && uint64(n) >= uint64(c.check.ConsecutiveFailures) {
		c.killed = true
		reason := fmt.Sprintf("health check failed %d times consecutively: %s", n, msg)
		c.callback(ctx, func() {
			if c.opts.OnKill != nil {
				c.opts.OnKill(reason)
			}
		})
	}
}

// callback runs f unless the checker was stopped. inCallback is set before
// the stop check so that a concurrent Stop either sees it (and does not wait)
// or cancels before the check (and f does not run).
func (c *Checker) callback(ctx context.Context, f func()) {
	c.inCallback.Store(true)
	defer c.inCallback.Store(false)
	if ctx.Err() != nil {
		return
	}
	f()
}

// sleep waits for d or until ctx is done, and reports whether d elapsed.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
