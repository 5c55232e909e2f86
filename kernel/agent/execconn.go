package agent

import (
	"sync"

	"strata/kernel/mesos/executorpb"
)

// execConn is the event stream of one subscribed executor. Producers never
// block: events are queued and written by the HTTP handler that owns the
// response.
type execConn struct {
	mu        sync.Mutex
	queue     []*executorpb.Event
	notify    chan struct{}
	closed    chan struct{}
	closeOnce sync.Once
}

func newExecConn() *execConn {
	return &execConn{notify: make(chan struct{}, 1), closed: make(chan struct{})}
}

// send queues an event.
func (c *execConn) send(ev *executorpb.Event) {
	c.mu.Lock()
	c.queue = append(c.queue, ev)
	c.mu.Unlock()
	select {
	case c.notify <- struct{}{}:
	default:
	}
}

// drain takes the queued events.
func (c *execConn) drain() []*executorpb.Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	q := c.queue
	c.queue = nil
	return q
}

// close ends the stream after the queued events are written.
func (c *execConn) close() { c.closeOnce.Do(func() { close(c.closed) }) }
