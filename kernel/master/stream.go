package master

import (
	"context"
	"errors"
	"fmt"
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
	// coalesce lets serve send everything queued at once as one HTTP chunk. Only an agent's
	// control stream does: Strata's agents read it with a RecordIO reader that does not care about
	// chunk boundaries, while third-party scheduler and operator clients expect exactly one record
	// per chunk, as libprocess sends them (TestEventStreamOneRecordPerChunk).
	coalesce bool

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

// newAgentStream is newEventStream for an agent's control stream, which coalesces records.
func newAgentStream(id string) *eventStream {
	s := newEventStream(id)
	s.coalesce = true
	return s
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
// fails. The caller has already written the response headers. Every record is its own HTTP chunk
// (one write and flush each), except on a coalescing stream, where the records queued together go
// out as one chunk: a burst such as the RUN_TASKs of one ACCEPT then costs one system call.
func (s *eventStream) serve(ctx context.Context, w http.ResponseWriter) error {
	rw := recordio.NewWriter(w)
	flusher, _ := w.(http.Flusher)
	var buf []byte
	write := func(batch [][]byte) error {
		if !s.coalesce {
			for _, rec := range batch {
				if err := rw.WriteRecord(rec); err != nil {
					return err
				}
			}
			return nil
		}
		buf = buf[:0]
		for _, rec := range batch {
			if len(rec) > 0 {
				buf = recordio.AppendRecord(buf, rec)
			}
		}
		if len(buf) == 0 {
			return nil
		}
		if _, err := w.Write(buf); err != nil {
			return fmt.Errorf("master: write stream: %w", err)
		}
		if flusher != nil {
			flusher.Flush()
		}
		if cap(buf) > 64<<10 {
			buf = nil // do not keep a burst's buffer for the stream's lifetime
		}
		return nil
	}
	for {
		s.mu.Lock()
		batch := s.queue
		s.queue = nil
		s.mu.Unlock()
		if len(batch) > 0 {
			if err := write(batch); err != nil {
				s.close("write failed")
				return err
			}
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
			if err := write(rest); err != nil {
				return err
			}
			return errStreamClosed
		case <-ctx.Done():
			s.close("client went away")
			return ctx.Err()
		}
	}
}
