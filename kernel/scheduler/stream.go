package scheduler

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"strata/kernel/mesos/codec"
	"strata/kernel/mesos/recordio"
	"strata/kernel/mesos/schedulerpb"
)

// Header names of the scheduler API.
const (
	headerStreamID = "Mesos-Stream-Id"
)

var (
	errHandshakeTimeout = errors.New("scheduler: no event within the call timeout after SUBSCRIBE")
	errHeartbeatTimeout = errors.New("scheduler: missed heartbeats")
)

// conn is one open subscription stream.
type conn struct {
	base     string // "http://host:port" of the master serving the stream
	streamID string
	codec    codec.Codec // decodes the events (from the answer's Content-Type)
	body     io.ReadCloser
	ctx      context.Context
	cancel   context.CancelCauseFunc
	watchdog *watchdog
}

// watchdog ends a stream (through its context) when no event arrives in
// time. The reason it gives depends on the phase: before SUBSCRIBED the call
// timeout applies, afterwards the heartbeat timeout.
type watchdog struct {
	timer *time.Timer
	cause atomic.Pointer[error]
}

func newWatchdog(d time.Duration, cause error, cancel context.CancelCauseFunc) *watchdog {
	w := &watchdog{}
	w.cause.Store(&cause)
	w.timer = time.AfterFunc(d, func() { cancel(*w.cause.Load()) })
	return w
}

// stop pauses the watchdog; false means it has already fired.
func (w *watchdog) stop() bool { return w.timer.Stop() }

// arm restarts the watchdog with a new timeout and reason.
func (w *watchdog) arm(d time.Duration, cause error) {
	w.cause.Store(&cause)
	w.timer.Reset(d)
}

func (cn *conn) close() {
	cn.watchdog.stop()
	cn.cancel(nil)
	_ = cn.body.Close()
}

// subscribe tries the last leader and then every configured master, and
// returns the first stream opened. A permanent rejection is returned at once.
func (c *Client) subscribe(ctx context.Context) (*conn, error) {
	var errs []error
	for _, base := range c.candidates() {
		cn, err := c.subscribeTo(ctx, base)
		if err == nil {
			return cn, nil
		}
		var perm *permanentError
		if errors.As(err, &perm) || ctx.Err() != nil {
			return nil, err
		}
		c.log.Debug("subscribe failed", "master", base, "err", err)
		errs = append(errs, err)
	}
	if len(errs) == 0 {
		// With a detector that has named no leader yet there is nobody to try.
		return nil, errors.New("scheduler: subscribe: no master known yet")
	}
	return nil, fmt.Errorf("scheduler: subscribe: no master accepted: %w", errors.Join(errs...))
}

// subscribeTo sends SUBSCRIBE to base, following leader redirects.
func (c *Client) subscribeTo(ctx context.Context, base string) (*conn, error) {
	for redirects := 0; ; redirects++ {
		cn, next, err := c.subscribeOnce(ctx, base)
		if next == "" {
			return cn, err
		}
		if redirects >= c.cfg.MaxRedirects {
			return nil, fmt.Errorf("scheduler: subscribe: more than %d redirects (last to %s)", c.cfg.MaxRedirects, next)
		}
		c.log.Debug("following leader redirect", "from", base, "to", next)
		base = next
	}
}

// subscribeOnce sends one SUBSCRIBE to base. It returns an open stream, or
// the base URL of a redirect, or an error.
func (c *Client) subscribeOnce(ctx context.Context, base string) (*conn, string, error) {
	body, err := c.cfg.Codec.Marshal(c.subscribeCall())
	if err != nil {
		return nil, "", permanent(fmt.Errorf("scheduler: encode SUBSCRIBE: %w", err))
	}
	sctx, cancel := context.WithCancelCause(ctx)
	// Until the first event arrives the watchdog enforces the call timeout;
	// afterwards serve re-arms it with the heartbeat timeout.
	watchdog := newWatchdog(c.cfg.CallTimeout, errHandshakeTimeout, cancel)
	fail := func(err error) (*conn, string, error) {
		watchdog.stop()
		cancel(err)
		return nil, "", err
	}

	req, err := http.NewRequestWithContext(sctx, http.MethodPost, base+Path, bytes.NewReader(body))
	if err != nil {
		return fail(permanent(fmt.Errorf("scheduler: subscribe: %w", err)))
	}
	ct := c.cfg.Codec.ContentType()
	req.Header.Set("Content-Type", ct)
	req.Header.Set("Accept", ct)
	resp, err := c.subClient.Do(req)
	if err != nil {
		if cause := context.Cause(sctx); cause != nil && ctx.Err() == nil {
			err = cause
		}
		return fail(fmt.Errorf("scheduler: subscribe to %s: %w", base, err))
	}

	switch {
	case resp.StatusCode == http.StatusOK:
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		_ = drain(resp.Body)
		next, err := redirectBase(base, resp.Header.Get("Location"))
		if err != nil {
			return fail(fmt.Errorf("scheduler: subscribe to %s: %d: %w", base, resp.StatusCode, err))
		}
		watchdog.stop()
		cancel(nil)
		return nil, next, nil
	default:
		cerr := &CallError{Call: "SUBSCRIBE", StatusCode: resp.StatusCode, Status: resp.Status, Body: readBody(resp.Body)}
		if cerr.retryable() {
			return fail(cerr)
		}
		return fail(permanent(cerr))
	}

	evCodec, err := codec.ForContentType(resp.Header.Get("Content-Type"))
	if err != nil {
		_ = drain(resp.Body)
		return fail(fmt.Errorf("scheduler: subscribe to %s: answer: %w", base, err))
	}
	streamID := resp.Header.Get(headerStreamID)
	if streamID == "" {
		_ = drain(resp.Body)
		return fail(fmt.Errorf("scheduler: subscribe to %s: answer has no %s header", base, headerStreamID))
	}
	return &conn{
		base:     base,
		streamID: streamID,
		codec:    evCodec,
		body:     resp.Body,
		ctx:      sctx,
		cancel:   cancel,
		watchdog: watchdog,
	}, "", nil
}

// serve reads and dispatches the events of cn until the stream ends or an
// event ends it. It always returns a non-nil error.
func (c *Client) serve(ctx context.Context, h Handler, acks *ackQueue, bo *backoff, cn *conn) error {
	rd := recordio.NewReader(cn.body)
	timeout, timeoutErr := c.cfg.CallTimeout, errHandshakeTimeout
	subscribed := false
	for {
		rec, err := rd.ReadRecord()
		if !cn.watchdog.stop() || err != nil {
			// The watchdog fired, a call asked for a resubscription, ctx
			// ended, or the stream broke.
			if cause := context.Cause(cn.ctx); cause != nil {
				return cause
			}
			if err == nil {
				err = timeoutErr
			}
			if errors.Is(err, io.EOF) {
				return fmt.Errorf("scheduler: stream from %s closed", cn.base)
			}
			return fmt.Errorf("scheduler: read event from %s: %w", cn.base, err)
		}
		ev := &schedulerpb.Event{}
		if err := cn.codec.Unmarshal(rec, ev); err != nil {
			// Framing is intact, so one bad event need not cost the stream.
			c.log.Error("dropping undecodable event", "err", err, "size", len(rec))
			cn.watchdog.arm(timeout, timeoutErr)
			continue
		}
		if ev.GetType() == schedulerpb.Event_SUBSCRIBED {
			if !subscribed {
				if err := c.onSubscribed(cn, ev.GetSubscribed()); err != nil {
					return err
				}
				subscribed = true
				bo.reset()
			}
			timeout, timeoutErr = c.heartbeatTimeout(ev.GetSubscribed()), errHeartbeatTimeout
		}
		if err := c.dispatch(ctx, h, acks, ev); err != nil {
			return err
		}
		cn.watchdog.arm(timeout, timeoutErr)
	}
}

// onSubscribed records a SUBSCRIBED event's framework id and marks the
// client connected.
func (c *Client) onSubscribed(cn *conn, s *schedulerpb.Event_Subscribed) error {
	fid := s.GetFrameworkId().GetValue()
	if fid == "" {
		return fmt.Errorf("scheduler: SUBSCRIBED from %s without framework_id", cn.base)
	}
	c.mu.Lock()
	c.frameworkID = fid
	c.streamID = cn.streamID
	c.leader = cn.base
	c.connected = true
	c.dropStream = cn.cancel
	c.mu.Unlock()
	c.log.Info("subscribed", "framework_id", fid, "master", cn.base, "stream_id", cn.streamID,
		"heartbeat_interval_seconds", s.GetHeartbeatIntervalSeconds())
	return nil
}

// heartbeatTimeout is how long the stream may stay silent.
func (c *Client) heartbeatTimeout(s *schedulerpb.Event_Subscribed) time.Duration {
	interval := DefaultHeartbeatInterval
	if secs := s.GetHeartbeatIntervalSeconds(); secs > 0 && secs < 1e6 {
		interval = time.Duration(secs * float64(time.Second))
	}
	return interval * time.Duration(c.cfg.MissedHeartbeats)
}

// dispatch hands one event to h. A non-nil result ends the stream.
func (c *Client) dispatch(ctx context.Context, h Handler, acks *ackQueue, ev *schedulerpb.Event) error {
	var err error
	switch t := ev.GetType(); t {
	case schedulerpb.Event_SUBSCRIBED:
		if ev.Subscribed != nil {
			err = h.Subscribed(ctx, ev.Subscribed)
		}
	case schedulerpb.Event_HEARTBEAT:
		err = h.Heartbeat(ctx)
	case schedulerpb.Event_OFFERS:
		if ev.Offers != nil {
			err = h.Offers(ctx, ev.Offers)
		}
	case schedulerpb.Event_INVERSE_OFFERS:
		if ev.InverseOffers != nil {
			err = h.InverseOffers(ctx, ev.InverseOffers)
		}
	case schedulerpb.Event_RESCIND:
		if ev.Rescind != nil {
			err = h.Rescind(ctx, ev.Rescind)
		}
	case schedulerpb.Event_RESCIND_INVERSE_OFFER:
		if ev.RescindInverseOffer != nil {
			err = h.RescindInverseOffer(ctx, ev.RescindInverseOffer)
		}
	case schedulerpb.Event_UPDATE:
		if ev.Update != nil {
			err = h.Update(ctx, ev.Update)
			if err == nil && c.cfg.AutoAcknowledge {
				acks.addTask(ev.Update.GetStatus())
			}
		}
	case schedulerpb.Event_UPDATE_OPERATION_STATUS:
		if ev.UpdateOperationStatus != nil {
			err = h.UpdateOperationStatus(ctx, ev.UpdateOperationStatus)
			if err == nil && c.cfg.AutoAcknowledge {
				acks.addOperation(ev.UpdateOperationStatus.GetStatus())
			}
		}
	case schedulerpb.Event_MESSAGE:
		if ev.Message != nil {
			err = h.Message(ctx, ev.Message)
		}
	case schedulerpb.Event_FAILURE:
		if ev.Failure != nil {
			err = h.Failure(ctx, ev.Failure)
		}
	case schedulerpb.Event_ERROR:
		msg := ev.GetError().GetMessage()
		c.log.Warn("master sent ERROR", "message", msg)
		if herr := h.Error(ctx, ev.GetError()); herr != nil {
			if errors.Is(herr, ErrStop) {
				return permanent(herr)
			}
			c.log.Warn("event handler failed", "event", "ERROR", "err", herr)
		}
		if fatal := classifyErrorEvent(msg); fatal != nil {
			return permanent(fatal)
		}
		return fmt.Errorf("scheduler: master sent ERROR: %s", msg)
	default:
		c.log.Debug("ignoring event of unknown type", "type", t.String())
	}
	if err != nil {
		if errors.Is(err, ErrStop) {
			return permanent(err)
		}
		c.log.Warn("event handler failed", "event", ev.GetType().String(), "err", err)
	}
	return nil
}

// readBody reads at most maxErrorBody bytes of an error answer as text and
// discards the rest.
func readBody(r io.ReadCloser) string {
	b, _ := io.ReadAll(io.LimitReader(r, maxErrorBody))
	_ = drain(r)
	return strings.TrimSpace(string(b))
}

// drain discards a little of what is left of a body (so the connection can
// be reused) and closes it.
func drain(r io.ReadCloser) error {
	_, _ = io.Copy(io.Discard, io.LimitReader(r, 64<<10))
	return r.Close()
}
