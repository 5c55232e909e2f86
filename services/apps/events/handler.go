package events

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
)

// DefaultKeepAlive is the default period of the ": ping" comments, Jetty's heartbeat period in
// Marathon.
const DefaultKeepAlive = 10 * time.Second

// HandlerOptions configure the /v2/events handler.
type HandlerOptions struct {
	// KeepAlive is the period of ": ping" comments; DefaultKeepAlive when zero or negative.
	KeepAlive time.Duration
}

// contentType is what Marathon's Jetty servlet answered (text/event-stream with charset UTF-8).
const contentType = "text/event-stream;charset=utf-8"

var pingFrame = []byte(": ping\n\n")

// endGrace bounds the writes of a stream after the bus ended its subscription.
const endGrace = time.Second

// Handler returns the gin handler of GET /v2/events (see the package documentation).
func (b *Bus) Handler(opts HandlerOptions) gin.HandlerFunc {
	if opts.KeepAlive <= 0 {
		opts.KeepAlive = DefaultKeepAlive
	}
	return func(c *gin.Context) { b.serveStream(c, opts) }
}

// errorBody is Marathon's error JSON.
type errorBody struct {
	Message string `json:"message"`
}

func (b *Bus) serveStream(c *gin.Context, opts HandlerOptions) {
	if !acceptsEventStream(c.Request.Header.Values("Accept")) {
		c.AbortWithStatusJSON(http.StatusNotAcceptable, errorBody{
			Message: "GET /v2/events streams server-sent events: send the header Accept: text/event-stream",
		})
		return
	}
	remote := c.RemoteIP()
	types := eventTypes(c.QueryArray("event_type"))
	resume := resumeFrom(c.GetHeader("Last-Event-ID"), c.Query("lastEventId"))
	sub, err := b.Subscribe(SubscribeOptions{Types: types, Resume: resume, Name: remote})
	if err != nil {
		c.AbortWithStatusJSON(http.StatusServiceUnavailable, errorBody{Message: "the event stream is shutting down"})
		return
	}
	defer sub.Close()

	rc := http.NewResponseController(c.Writer)
	// A stream lives longer than any server-wide write timeout: lift it. Writers that cannot do
	// that (ErrNotSupported) keep theirs.
	_ = rc.SetWriteDeadline(time.Time{})
	// When the bus ends the subscription while a write is stuck on a client that does not read,
	// cut the write short: at once for a slow consumer, after a grace period at shutdown.
	stopWatch, watchDone := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(watchDone)
		select {
		case <-sub.Done():
			switch {
			case errors.Is(sub.Err(), ErrSlowConsumer):
				_ = rc.SetWriteDeadline(time.Now())
			case errors.Is(sub.Err(), ErrClosed):
				_ = rc.SetWriteDeadline(time.Now().Add(endGrace))
			}
		case <-stopWatch:
		}
	}()

	h := c.Writer.Header()
	h.Set("Content-Type", contentType)
	h.Set("Cache-Control", "no-cache, no-store, must-revalidate") // as Marathon
	h.Set("X-Accel-Buffering", "no")                              // nginx: do not buffer the stream
	c.Status(http.StatusOK)
	c.Writer.WriteHeaderNow()

	log := b.log.With("remote", remote, "event_types", types, "resume", resume != nil)
	log.Info("events: stream attached")
	_, _ = b.Emit(StreamAttachedEvent{RemoteAddress: remote})
	reason := rc.Flush()
	if reason == nil {
		reason = b.pump(c, rc, sub, opts.KeepAlive)
	} else {
		reason = fmt.Errorf("%w: %w", errStreamWrite, reason)
	}
	// Unsubscribe before announcing the detach, so that the event cannot overflow this
	// subscriber's own queue.
	sub.Close()
	close(stopWatch)
	<-watchDone
	if errors.Is(reason, ErrClosed) {
		// The stream ended cleanly at shutdown: the connection may serve another request, which
		// must not inherit the grace deadline.
		_ = rc.SetWriteDeadline(time.Time{})
	} else {
		_, _ = b.Emit(StreamDetachedEvent{RemoteAddress: remote})
	}
	log.Info("events: stream detached", "reason", reason.Error())
}

// errStreamWrite marks a failed write to the client.
var errStreamWrite = errors.New("events: write stream")

// pump writes the subscription's events and keep-alive comments until the client goes away, a
// write fails or the subscription ends, and returns why it stopped.
func (b *Bus) pump(c *gin.Context, rc *http.ResponseController, sub *Subscription, keepAlive time.Duration) error {
	ctx := c.Request.Context()
	ticker := time.NewTicker(keepAlive)
	defer ticker.Stop()
	write := func(p []byte) error {
		_, err := c.Writer.Write(p)
		if err == nil {
			err = rc.Flush()
		}
		if err != nil {
			return fmt.Errorf("%w: %w", errStreamWrite, err)
		}
		return nil
	}
	for {
		ev, ok, err := sub.poll()
		if !ok {
			select {
			case ev = <-sub.ch:
			case <-sub.done:
				err = sub.reason
			case <-ctx.Done():
				return ctx.Err()
			case <-ticker.C:
				if err := write(pingFrame); err != nil {
					return err
				}
				continue
			}
		}
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := write(ev.frame); err != nil {
			return err
		}
	}
}

// acceptsEventStream reports whether the Accept header values hold the media range
// text/event-stream with a q above zero. Wildcards do not count: Marathon required the explicit
// type too.
func acceptsEventStream(values []string) bool {
	for _, v := range values {
		for _, r := range strings.Split(v, ",") {
			params := strings.Split(r, ";")
			if !strings.EqualFold(strings.TrimSpace(params[0]), "text/event-stream") {
				continue
			}
			q := 1.0
			for _, p := range params[1:] {
				k, val, _ := strings.Cut(strings.TrimSpace(p), "=")
				if strings.EqualFold(strings.TrimSpace(k), "q") {
					// A malformed q is ignored rather than read as zero.
					if f, err := strconv.ParseFloat(strings.TrimSpace(val), 64); err == nil {
						q = f
					}
				}
			}
			if q > 0 {
				return true
			}
		}
	}
	return false
}

// eventTypes flattens repeated and comma-separated event_type parameters; nil means all types.
func eventTypes(params []string) []string {
	var out []string
	for _, p := range params {
		for _, t := range strings.Split(p, ",") {
			if t = strings.TrimSpace(t); t != "" {
				out = append(out, t)
			}
		}
	}
	return out
}

// resumeFrom turns the Last-Event-ID header or, when the header is absent or blank, the
// lastEventId query parameter into a Resume; nil when the client sent neither.
func resumeFrom(header, query string) *Resume {
	raw := header
	if strings.Trim(raw, " \t") == "" {
		raw = query
	}
	id, ok, err := ParseLastEventID(raw)
	if err != nil {
		return &Resume{Invalid: true, Raw: truncate(strings.Trim(raw, " \t"), 64)}
	}
	if !ok {
		return nil
	}
	return &Resume{LastEventID: id}
}
