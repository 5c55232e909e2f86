package events

import (
	"context"
	"strconv"
	"time"
)

// Gap reasons carried by an event_stream_gap event.
const (
	// GapEvicted: the requested id is older than the oldest event the ring holds.
	GapEvicted = "evicted"
	// GapUnknown: the requested id is newer than any event of this bus (the service restarted,
	// or the id came from another instance).
	GapUnknown = "unknown"
	// GapInvalid: the requested id is not a decimal event id.
	GapInvalid = "invalid"
)

// Resume asks a new subscription to continue after an event the client has already seen.
type Resume struct {
	// LastEventID is the id of the last event the client got.
	LastEventID uint64
	// Invalid marks an id the client sent that could not be parsed: the subscription starts with
	// a gap signal and the whole ring.
	Invalid bool
	// Raw is the id as the client sent it, reported in a gap signal; LastEventID in decimal when
	// empty.
	Raw string
}

// SubscribeOptions configure a subscription.
type SubscribeOptions struct {
	// Types limits the subscription to these event types; all types when empty. A gap signal is
	// delivered whatever the filter.
	Types []string
	// Resume, when set, delivers the retained events after Resume.LastEventID (preceded by an
	// event_stream_gap event when they do not continue it exactly) before the live ones.
	Resume *Resume
	// Name identifies the subscriber in logs, e.g. its remote address.
	Name string
}

// Subscription receives the events of a Bus. Next must be called from one goroutine at a time.
type Subscription struct {
	bus   *Bus
	name  string
	index int                 // position in bus.subs, -1 once ended; guarded by bus.mu
	types map[string]struct{} // nil: every type

	backlog []*Event    // resumed events (and a gap signal), delivered before ch; consumer only
	ch      chan *Event // live events; written by Publish under bus.mu
	done    chan struct{}
	reason  error // set before done is closed
}

// Subscribe registers a subscription. With opts.Resume the retained events after the given id are
// queued first, taken in the same critical section that registers the subscription, so the
// resumed and the live events continue each other without loss or repetition.
func (b *Bus) Subscribe(opts SubscribeOptions) (*Subscription, error) {
	s := &Subscription{
		bus:  b,
		name: opts.Name,
		ch:   make(chan *Event, b.queueSize),
		done: make(chan struct{}),
	}
	if len(opts.Types) > 0 {
		s.types = make(map[string]struct{}, len(opts.Types))
		for _, t := range opts.Types {
			s.types[t] = struct{}{}
		}
	}
	now := b.now()
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, ErrClosed
	}
	if opts.Resume != nil {
		s.backlog = b.backlogLocked(s, *opts.Resume, now)
	}
	s.index = len(b.subs)
	b.subs = append(b.subs, s)
	b.metrics.subscribers.Inc()
	return s, nil
}

// backlogLocked collects what a resumed subscription gets before the live events: a gap signal
// when r cannot be continued exactly, then the retained events it wants. b.mu must be held.
func (b *Bus) backlogLocked(s *Subscription, r Resume, now time.Time) []*Event {
	oldest, last := b.oldestLocked(), b.next-1
	from, reason := oldest, ""
	switch {
	case r.Invalid:
		reason = GapInvalid
	case r.LastEventID > last:
		reason = GapUnknown
	case r.LastEventID < oldest-1:
		reason = GapEvicted
	default:
		from = r.LastEventID + 1
	}
	var out []*Event
	if reason != "" {
		raw := r.Raw
		if raw == "" && !r.Invalid {
			raw = strconv.FormatUint(r.LastEventID, 10)
		}
		out = append(out, gapEvent(StreamGapEvent{LastEventID: raw, FirstAvailableID: oldest, Reason: reason}, now))
	}
	for id := from; id <= last && id >= from; id++ {
		if ev := b.ring[id%uint64(len(b.ring))]; s.wants(ev.Type) {
			out = append(out, ev)
		}
	}
	return out
}

// gapEvent builds the event_stream_gap frame. It is not published: it has no id of its own and
// carries firstAvailableId-1 on its id line, so a client that reconnects right after it
// continues with the first available event.
func gapEvent(g StreamGapEvent, now time.Time) *Event {
	data, err := encodePayload(TypeStreamGap, g, now)
	if err != nil {
		// StreamGapEvent holds strings and numbers only; encoding it cannot fail.
		panic(err)
	}
	return newEvent(g.FirstAvailableID-1, TypeStreamGap, data)
}

func (s *Subscription) wants(eventType string) bool {
	if s.types == nil {
		return true
	}
	_, ok := s.types[eventType]
	return ok
}

// Next returns the next event, waiting for one. It fails with the reason the subscription ended
// (ErrSlowConsumer, ErrClosed, ErrUnsubscribed) or with ctx's error. Once the subscription has
// ended, Next reports that at once, even if events are still queued.
func (s *Subscription) Next(ctx context.Context) (*Event, error) {
	if ev, ok, err := s.poll(); ok {
		return ev, err
	}
	select {
	case ev := <-s.ch:
		return ev, nil
	case <-s.done:
		return nil, s.reason
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// poll returns the next event or the end of the subscription when either is there without
// waiting.
func (s *Subscription) poll() (ev *Event, ok bool, err error) {
	select {
	case <-s.done:
		return nil, true, s.reason
	default:
	}
	if len(s.backlog) > 0 {
		ev = s.backlog[0]
		s.backlog[0] = nil
		s.backlog = s.backlog[1:]
		return ev, true, nil
	}
	select {
	case ev = <-s.ch:
		return ev, true, nil
	default:
		return nil, false, nil
	}
}

// Done is closed when the subscription has ended; Err then tells why.
func (s *Subscription) Done() <-chan struct{} { return s.done }

// Err returns why the subscription ended, or nil while it is live.
func (s *Subscription) Err() error {
	select {
	case <-s.done:
		return s.reason
	default:
		return nil
	}
}

// Close ends the subscription (Err reports ErrUnsubscribed). It is idempotent.
func (s *Subscription) Close() {
	s.bus.mu.Lock()
	defer s.bus.mu.Unlock()
	s.bus.endLocked(s, ErrUnsubscribed)
}
