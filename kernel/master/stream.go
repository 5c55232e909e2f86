package master

import (
	"context"
	"errors"
	"net/http"
	"sync"

	"strata/kernel/mesos/recordio"
)

// maxQueuedRecords bounds an event stream's backlog; a consumer that falls this far behind is
// disconnected rather than allowed to grow the master's memory without limit.
const maxQueuedRecords = 1 << 16

var errStreamClosed = errors.New("master: stream closed")

// eventStream is one long-lived RecordIO response: a scheduler subscription, an operator
// subscription or an agent's control stream. Producers call send with pre-encoded records under the
// master lock; serve writes them out on the HTTP goroutine.
type eventStream struct {
	id string

	mu     sync.Mutex
	queue  [][]byte
	notify chan struct{}
	done   chan struct{}
	once   sync.Once
	reason string
}

func newEventStream(id string) *eventStream {
	return &eventStream{id: id, notify: make(chan struct{}, 1), done: make(chan struct{})}
}

// send queues one encoded record. It never blocks; it reports false if the stream is closed or was
// closed because its consumer fell too far behind.
func (s *eventStream) send(record []byte) bool {
	s.mu.Lock()
	select {
	case <-s.done:
		s.mu.Unlock()
		return false
	default:
	}
	if len(s.queue) >= maxQueuedRecords {
		s.mu.Unlock()
		s.close("consumer too slow")
		return false
	}
	s.queue = append(s.queue, record)
	s.mu.Unlock()
	select {
	case s.notify <- struct{}{}:
	default:
	}
	return true
}

// close ends the stream once; pending records that were queued before are still written.
func (s *eventStream) close(reason string) {
	s.once.Do(func() {
		s.mu.Lock()
		s.reason = reason
		s.mu.Unlock()
		close(s.done)
	})
}

func (s *eventStream) closed() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// serve writes queued records to w until the stream is closed, the request context ends or a write
// fails. The caller has already written the response headers.
func (s *eventStream) serve(ctx context.Context, w http.ResponseWriter) error {
	rw := recordio.NewWriter(w)
	for {
		s.mu.Lock()
		batch := s.queue
		s.queue = nil
		s.mu.Unlock()
		for _, rec := range batch {
			if err := rw.WriteRecord(rec); err != nil {
				s.close("write failed")
				return err
			}
		}
		if len(batch) > 0 {
			continue
		}
		select {
		case <-s.notify:
		case <-s.done:
			// Drain what was queued before the close (for example a final ERROR event).
			s.mu.Lock()
			rest := s.queue
			s.queue = nil
			s.mu.Unlock()
			for _, rec := range rest {
				if err := rw.WriteRecord(rec); err != nil {
					return err
				}
			}
			return errStreamClosed
		case <-ctx.Done():
			s.close("client went away")
			return ctx.Err()
		}
	}
}
