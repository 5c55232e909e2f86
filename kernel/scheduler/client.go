package scheduler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"google.golang.org/protobuf/proto"

	"strata/kernel/election"
	"strata/kernel/mesos/mesospb"
	"strata/kernel/mesos/schedulerpb"
)

// errTornDown ends a stream after a successful Teardown call.
var errTornDown = errors.New("scheduler: framework torn down")

// Client is a scheduler's connection to the Mesos master: Run keeps it
// subscribed, and the call methods may be used from any goroutine (including
// from Handler methods) while it is connected.
type Client struct {
	cfg       Config
	log       *slog.Logger
	subClient *http.Client // no timeout, no redirects: the event stream
	callClnt  *http.Client // caller's timeout, no redirects: calls

	running atomic.Bool

	mu              sync.Mutex
	info            *mesospb.FrameworkInfo // next SUBSCRIBE's framework_info
	suppressedRoles []string
	constraints     *schedulerpb.OfferConstraints
	frameworkID     string
	streamID        string
	leader          string             // base URL of the master that last answered SUBSCRIBE
	detector        *election.Detector // with a zk:// master URL: follows the leader
	connected       bool
	tornDown        bool
	dropStream      context.CancelCauseFunc // ends the live stream
}

// New checks cfg and returns a Client. It does not connect; call Run.
func New(cfg Config) (*Client, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	noRedirect := func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	sub := *cfg.HTTPClient
	sub.Timeout = 0
	sub.CheckRedirect = noRedirect
	calls := *cfg.HTTPClient
	calls.CheckRedirect = noRedirect
	c := &Client{
		cfg:             cfg,
		log:             cfg.Logger.With("component", "scheduler"),
		subClient:       &sub,
		callClnt:        &calls,
		info:            cfg.FrameworkInfo,
		suppressedRoles: cfg.SuppressedRoles,
		constraints:     cfg.OfferConstraints,
		frameworkID:     cfg.FrameworkInfo.GetId().GetValue(),
	}
	if cfg.zk != nil {
		d, err := election.NewDetector(election.Config{URL: *cfg.zk, Logger: cfg.Logger})
		if err != nil {
			return nil, fmt.Errorf("scheduler: %w", err)
		}
		c.detector = d
	}
	return c, nil
}

// detectorChanged is a channel closed at the next leader change the ZooKeeper detector sees;
// nil (never ready) without a detector.
func (c *Client) detectorChanged() <-chan struct{} {
	if c.detector == nil {
		return nil
	}
	return c.detector.Changed()
}

// detectedLeader is the ZooKeeper detector's leader as a base URL, "" if unknown.
func (c *Client) detectedLeader() string {
	if c.detector == nil {
		return ""
	}
	l, ok := c.detector.Leader()
	if !ok {
		return ""
	}
	return "http://" + l
}

// followDetector drops the stream with streamID when the detector sees a leader other than
// base: the master the framework is subscribed to was deposed.
func (c *Client) followDetector(ctx context.Context, base, streamID string) {
	if c.detector == nil {
		return
	}
	_, host, _ := strings.Cut(base, "://")
	if l, err := c.detector.WaitOther(ctx, host); err == nil {
		c.resubscribe(streamID, fmt.Errorf("the leading master is now %s", l))
	}
}

// FrameworkID is the framework id: the configured one, or the one the
// master assigned at the first SUBSCRIBED. Empty before that.
func (c *Client) FrameworkID() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.frameworkID
}

// StreamID is the Mesos-Stream-Id of the live subscription, or empty.
func (c *Client) StreamID() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.streamID
}

// Connected reports whether a subscription is live (SUBSCRIBED received and
// the stream still open).
func (c *Client) Connected() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.connected
}

// Leader is the base URL ("http://host:port") of the master the client last
// subscribed to, or empty.
func (c *Client) Leader() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.leader
}

// Run subscribes and delivers events to h until ctx is done, the framework
// is removed or failed over, a SUBSCRIBE is permanently rejected, or a
// handler returns an error wrapping ErrStop. Broken streams, missed
// heartbeats, ERROR events, unavailable masters and calls answered "not
// subscribed" all lead to a resubscription with the same framework id,
// after an exponential backoff with jitter.
//
// Run returns ctx's error when ctx ends it, and nil after a successful
// Teardown.
func (c *Client) Run(ctx context.Context, h Handler) error {
	if h == nil {
		return errors.New("scheduler: Run: nil handler")
	}
	if !c.running.CompareAndSwap(false, true) {
		return ErrAlreadyRunning
	}
	defer c.running.Store(false)

	if c.detector != nil {
		detCtx, stopDetector := context.WithCancel(ctx)
		detDone := make(chan struct{})
		go func() {
			defer close(detDone)
			if err := c.detector.Run(detCtx); err != nil {
				c.log.Error("master detection stopped", "err", err)
			}
		}()
		defer func() { stopDetector(); <-detDone }()
	}
	acks := newAckQueue(c)
	ackCtx, stopAcks := context.WithCancel(context.WithoutCancel(ctx))
	ackDone := make(chan struct{})
	go func() {
		defer close(ackDone)
		acks.run(ackCtx)
	}()
	defer func() {
		stopAcks()
		<-ackDone
	}()

	bo := backoff{min: c.cfg.BackoffMin, max: c.cfg.BackoffMax}
	var leaderChanged <-chan struct{}
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			d := bo.next()
			c.log.Info("resubscribing", "in", d, "framework_id", c.FrameworkID())
			// A new leader seen through ZooKeeper (during the last attempt or the wait) ends
			// the wait: the framework subscribes to it at once.
			if err := sleepUnless(ctx, d, leaderChanged); err != nil {
				return err
			}
			if c.isTornDown() {
				return nil
			}
		}
		leaderChanged = c.detectorChanged()
		err := c.session(ctx, h, acks, &bo)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if errors.Is(err, errTornDown) || (errors.Is(err, ErrFrameworkRemoved) && c.isTornDown()) {
			return nil
		}
		var perm *permanentError
		if errors.As(err, &perm) {
			c.log.Error("scheduler stopped", "err", perm.err)
			return perm.err
		}
		c.log.Warn("subscription ended", "err", err)
	}
}

// session makes one subscription (trying every master) and serves its
// stream until it ends. It always returns a non-nil error.
func (c *Client) session(ctx context.Context, h Handler, acks *ackQueue, bo *backoff) error {
	cn, err := c.subscribe(ctx)
	if err != nil {
		return err
	}
	defer cn.close()
	followCtx, stopFollowing := context.WithCancel(ctx)
	defer stopFollowing()
	go c.followDetector(followCtx, cn.base, cn.streamID)

	err = c.serve(ctx, h, acks, bo, cn)

	c.mu.Lock()
	wasConnected := c.connected && c.streamID == cn.streamID
	if c.streamID == cn.streamID {
		c.connected = false
		c.streamID = ""
		c.dropStream = nil
	}
	tornDown := c.tornDown
	c.mu.Unlock()
	if tornDown {
		return errTornDown
	}
	if wasConnected {
		h.Disconnected(ctx, err)
	}
	return err
}

// resubscribe drops the live stream if it is still the one with streamID,
// so that Run subscribes again.
func (c *Client) resubscribe(streamID string, cause error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dropStream == nil || streamID == "" || c.streamID != streamID {
		return
	}
	c.log.Warn("dropping subscription", "stream_id", streamID, "cause", cause)
	c.dropStream(fmt.Errorf("scheduler: resubscribe: %w", cause))
}

// subscribeCall builds the SUBSCRIBE call from the current state.
func (c *Client) subscribeCall() *schedulerpb.Call {
	c.mu.Lock()
	defer c.mu.Unlock()
	info := proto.Clone(c.info).(*mesospb.FrameworkInfo)
	call := &schedulerpb.Call{
		Type: schedulerpb.Call_SUBSCRIBE.Enum(),
		Subscribe: &schedulerpb.Call_Subscribe{
			FrameworkInfo:    info,
			SuppressedRoles:  append([]string(nil), c.suppressedRoles...),
			OfferConstraints: c.constraints,
		},
	}
	if c.frameworkID != "" {
		id := &mesospb.FrameworkID{Value: proto.String(c.frameworkID)}
		info.Id = id
		call.FrameworkId = proto.Clone(id).(*mesospb.FrameworkID)
	}
	return call
}

// candidates lists the masters to try: the last leader first, then the
// configured masters in order.
func (c *Client) candidates() []string {
	c.mu.Lock()
	leader := c.leader
	c.mu.Unlock()
	out := make([]string, 0, len(c.cfg.Masters)+2)
	if l := c.detectedLeader(); l != "" {
		out = append(out, l)
	}
	if leader != "" && !slices.Contains(out, leader) {
		out = append(out, leader)
	}
	for _, m := range c.cfg.Masters {
		if !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	return out
}

func (c *Client) isTornDown() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.tornDown
}
