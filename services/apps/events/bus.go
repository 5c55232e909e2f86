package events

import (
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Defaults of Options.
const (
	DefaultRingSize  = 10000
	DefaultQueueSize = 1024
)

var (
	// ErrClosed is returned by Publish and Subscribe after Close, and reported by the
	// subscriptions that Close ended.
	ErrClosed = errors.New("events: bus closed")
	// ErrSlowConsumer is reported by a subscription that was disconnected because its queue
	// overflowed.
	ErrSlowConsumer = errors.New("events: subscriber disconnected: queue overflow (slow consumer)")
	// ErrUnsubscribed is reported by a subscription after its own Close.
	ErrUnsubscribed = errors.New("events: unsubscribed")
)

// Options configure a Bus. The zero value is usable.
type Options struct {
	// RingSize is how many recent events the bus keeps for resuming streams; DefaultRingSize
	// when zero or negative.
	RingSize int
	// QueueSize bounds the events queued for one subscriber; a subscriber whose queue is full
	// when an event arrives is disconnected. DefaultQueueSize when zero or negative.
	QueueSize int
	// FirstID is the id of the first event; 1 when zero. A service that persists the last id it
	// published can continue the numbering across restarts, so that clients resuming with an id
	// from before the restart get an exact "evicted" gap instead of an "unknown" one.
	FirstID uint64
	// Logger receives slow-consumer disconnections and stream attach/detach; slog.Default when nil.
	Logger *slog.Logger
	// Registerer, when set, receives the bus's metrics.
	Registerer prometheus.Registerer
	// Now is the clock for event timestamps; time.Now when nil.
	Now func() time.Time
}

// Bus is an in-process event bus with a ring of recent events and bounded subscriber queues.
// All methods are safe for concurrent use.
type Bus struct {
	log       *slog.Logger
	now       func() time.Time
	queueSize int
	firstID   uint64
	metrics   *metrics

	mu     sync.Mutex
	closed bool
	next   uint64          // id of the next event
	ring   []*Event        // event id i lives at ring[i%len(ring)]
	subs   []*Subscription // live subscriptions; Subscription.index is the position
}

// New returns a Bus. It fails only when its metrics cannot be registered.
func New(opts Options) (*Bus, error) {
	if opts.RingSize <= 0 {
		opts.RingSize = DefaultRingSize
	}
	if opts.QueueSize <= 0 {
		opts.QueueSize = DefaultQueueSize
	}
	if opts.FirstID == 0 {
		opts.FirstID = 1
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	b := &Bus{
		log:       opts.Logger,
		now:       opts.Now,
		queueSize: opts.QueueSize,
		firstID:   opts.FirstID,
		metrics:   newMetrics(),
		next:      opts.FirstID,
		ring:      make([]*Event, opts.RingSize),
	}
	if opts.Registerer != nil {
		if err := b.metrics.register(opts.Registerer); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// Collectors returns the bus's metrics, for a caller that registers them itself instead of
// passing Options.Registerer.
func (b *Bus) Collectors() []prometheus.Collector { return b.metrics.collectors() }

// Typed is an event payload that knows its Marathon event type; every event struct of this
// package is one.
type Typed interface{ EventType() string }

// Emit publishes e under its own event type.
func (b *Bus) Emit(e Typed) (uint64, error) { return b.Publish(e.EventType(), e) }

// Publish encodes payload (a struct or map that encodes to a JSON object) as an event of type
// eventType, adding eventType and timestamp when the payload lacks them, gives it the next id,
// keeps it in the ring and queues it for every matching subscriber. It never waits for a
// subscriber: one whose queue is full is disconnected. It returns the id of the event.
func (b *Bus) Publish(eventType string, payload any) (uint64, error) {
	if err := validEventType(eventType); err != nil {
		return 0, err
	}
	data, err := encodePayload(eventType, payload, b.now())
	if err != nil {
		return 0, err
	}
	var dropped []*Subscription
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return 0, ErrClosed
	}
	id := b.next
	b.next++
	ev := newEvent(id, eventType, data)
	b.ring[id%uint64(len(b.ring))] = ev
	for i := 0; i < len(b.subs); i++ {
		s := b.subs[i]
		if !s.wants(eventType) {
			continue
		}
		select {
		case s.ch <- ev:
		default:
			b.endLocked(s, ErrSlowConsumer) // moves the last subscription to i
			i--
			b.metrics.dropped.Inc()
			dropped = append(dropped, s)
		}
	}
	b.mu.Unlock()
	b.metrics.published.WithLabelValues(eventType).Inc()
	for _, s := range dropped {
		b.log.Warn("events: slow subscriber disconnected", "subscriber", s.name,
			"queue_size", b.queueSize, "event_id", id, "event_type", eventType)
	}
	return id, nil
}

// LastID returns the id of the last published event, or FirstID-1 when there is none.
func (b *Bus) LastID() uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.next - 1
}

// Subscribers returns the number of live subscriptions.
func (b *Bus) Subscribers() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.subs)
}

// Close ends every subscription with ErrClosed (and so every /v2/events stream) and makes later
// Publish and Subscribe calls fail with ErrClosed. It is idempotent.
func (b *Bus) Close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return
	}
	b.closed = true
	for len(b.subs) > 0 {
		b.endLocked(b.subs[len(b.subs)-1], ErrClosed)
	}
}

// endLocked removes s from the bus and ends it with reason. b.mu must be held.
func (b *Bus) endLocked(s *Subscription, reason error) {
	if s.index < 0 {
		return
	}
	last := len(b.subs) - 1
	b.subs[s.index] = b.subs[last]
	b.subs[s.index].index = s.index
	b.subs[last] = nil
	b.subs = b.subs[:last]
	s.index = -1
	b.metrics.subscribers.Dec()
	s.reason = reason
	close(s.done)
}

// oldestLocked returns the id of the oldest event in the ring, or b.next when the ring is empty.
func (b *Bus) oldestLocked() uint64 {
	if n := uint64(len(b.ring)); b.next-b.firstID > n {
		return b.next - n
	}
	return b.firstID
}
