package executor

import (
	"context"
	"errors"
	"sync"
)

// errStale reports a queued call dropped because the connection it was
// meant for is gone (it is sent again with the next SUBSCRIBE).
var errStale = errors.New("executor: connection gone before the call was sent")

// sender posts calls to the agent one at a time, in the order they were
// queued, so that the agent sees TASK_STARTING before TASK_RUNNING. Each
// call belongs to a connection generation; calls of an older generation than
// the current one are dropped instead of sent.
type sender struct {
	tr *transport

	mu     sync.Mutex
	queue  []sendItem
	gen    int
	wake   chan struct{}
	closed bool
}

type sendItem struct {
	gen  int
	body []byte
	done func(error)
}

func newSender(tr *transport) *sender {
	return &sender{tr: tr, wake: make(chan struct{}, 1)}
}

// setGen makes gen the current generation; queued calls of older
// generations are dropped.
func (s *sender) setGen(gen int) {
	s.mu.Lock()
	s.gen = gen
	s.mu.Unlock()
}

// enqueue queues a call for generation gen; done is called with the outcome
// from the sender's goroutine.
func (s *sender) enqueue(gen int, body []byte, done func(error)) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		done(errStale)
		return
	}
	s.queue = append(s.queue, sendItem{gen: gen, body: body, done: done})
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// run sends queued calls until ctx ends.
func (s *sender) run(ctx context.Context) {
	defer func() {
		s.mu.Lock()
		s.closed = true
		rest := s.queue
		s.queue = nil
		s.mu.Unlock()
		for _, it := range rest {
			it.done(errStale)
		}
	}()
	for {
		s.mu.Lock()
		var it sendItem
		have := len(s.queue) > 0
		if have {
			it = s.queue[0]
			s.queue = s.queue[1:]
		}
		current := s.gen
		s.mu.Unlock()
		if !have {
			select {
			case <-s.wake:
				continue
			case <-ctx.Done():
				return
			}
		}
		if it.gen != current {
			it.done(errStale)
			continue
		}
		it.done(s.tr.post(ctx, it.body))
	}
}
