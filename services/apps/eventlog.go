package apps

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"strata/services/apps/events"
	"strata/services/apps/store"
)

// eventIDBlock is how far ahead of the ids handed out the stored high-water mark is kept.
const eventIDBlock = 1000

// eventLog is the service's event bus, with event ids that keep increasing across restarts of
// the service. The store holds a high-water mark: at a clean stop the last id published, so the
// numbering continues exactly (a client that resumes with the last id it saw gets no gap); while
// running, a mark up to eventIDBlock ahead of the ids handed out, raised before they reach it,
// so that after a crash no id is handed out twice (a client resuming across a crash gets an
// "evicted" gap signal, never someone else's events under its id).
type eventLog struct {
	bus *events.Bus
	st  *store.Store
	log *slog.Logger

	mu       sync.Mutex
	reserved uint64 // the stored high-water mark
}

// openEventLog creates the bus, numbering from the stored mark + 1, and stores the first
// reservation.
func openEventLog(ctx context.Context, st *store.Store, reg prometheus.Registerer, log *slog.Logger) (*eventLog, error) {
	last, err := st.LastEventID(ctx)
	if err != nil {
		return nil, err
	}
	bus, err := events.New(events.Options{FirstID: last + 1, Registerer: reg, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("events: %w", err)
	}
	l := &eventLog{bus: bus, st: st, log: log}
	if err := st.SetLastEventID(ctx, last+eventIDBlock); err != nil {
		return nil, err
	}
	l.reserved = last + eventIDBlock
	return l, nil
}

// Emit publishes e, raising the stored mark first when the ids come near it.
func (l *eventLog) Emit(e events.Typed) (uint64, error) {
	l.mu.Lock()
	if last := l.bus.LastID(); last+eventIDBlock/2 >= l.reserved {
		if err := l.st.SetLastEventID(context.Background(), last+eventIDBlock); err != nil {
			l.log.Error("storing the event id mark", "err", err)
		} else {
			l.reserved = last + eventIDBlock
		}
	}
	l.mu.Unlock()
	return l.bus.Emit(e)
}

// close ends every event stream; after it nothing is published.
func (l *eventLog) close() { l.bus.Close() }

// saveLast stores the last id published, once nothing publishes any more, so that the next run
// continues the numbering exactly.
func (l *eventLog) saveLast(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	last := l.bus.LastID()
	if err := l.st.SetLastEventID(ctx, last); err != nil {
		return err
	}
	l.reserved = last
	return nil
}
