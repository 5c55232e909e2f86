package agent

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"sync"

	"strata/kernel/agent/statusupdate"
	"strata/kernel/mesos/codec"
	"strata/kernel/mesos/internalpb"
	"strata/kernel/mesos/mesospb"
)

// maxQueuedCalls bounds the calls waiting for the master; beyond it the
// oldest are dropped (status updates are re-sent by their manager anyway).
const maxQueuedCalls = 10000

// callQueue is an unbounded-ish FIFO of calls for the master, so that
// producers never block while holding the agent's lock.
type callQueue struct {
	mu     sync.Mutex
	calls  []*internalpb.AgentCall
	notify chan struct{}
}

func (q *callQueue) init() { q.notify = make(chan struct{}, 1) }

func (q *callQueue) push(c *internalpb.AgentCall) {
	q.mu.Lock()
	q.calls = append(q.calls, c)
	if n := len(q.calls) - maxQueuedCalls; n > 0 {
		q.calls = q.calls[n:]
	}
	q.mu.Unlock()
	select {
	case q.notify <- struct{}{}:
	default:
	}
}

// pop blocks until a call is available or ctx is done (then nil).
func (q *callQueue) pop(ctx context.Context) *internalpb.AgentCall {
	for {
		q.mu.Lock()
		if len(q.calls) > 0 {
			c := q.calls[0]
			q.calls[0] = nil
			q.calls = q.calls[1:]
			q.mu.Unlock()
			return c
		}
		q.mu.Unlock()
		select {
		case <-ctx.Done():
			return nil
		case <-q.notify:
		}
	}
}

// callSender posts queued calls to the master of the live session, in
// order. Without a session the call is dropped: status updates are re-sent
// after re-registration, and the master learns the rest from REREGISTER.
func (a *Agent) callSender(ctx context.Context) {
	for {
		c := a.calls.pop(ctx)
		if c == nil {
			return
		}
		a.post(ctx, c)
	}
}

// post sends one call on the live session.
func (a *Agent) post(ctx context.Context, c *internalpb.AgentCall) {
	a.mu.Lock()
	sess, id := a.session, a.agentID
	a.mu.Unlock()
	if sess == nil {
		a.log.Debug("not registered; dropping call", "type", c.GetType().String())
		return
	}
	c.AgentId = &mesospb.AgentID{Value: &id}
	body, err := codec.MarshalProtobuf(c)
	if err != nil {
		a.log.Error("encode call", "type", c.GetType().String(), "error", err)
		return
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+sess.addr+agentAPIPath, bytes.NewReader(body))
	if err != nil {
		return
	}
	req.Header.Set("Content-Type", codec.ContentTypeProtobuf)
	req.Header.Set(streamIDHeader, sess.streamID)
	resp, err := callClient.Do(req)
	if err != nil {
		if ctx.Err() == nil {
			a.log.Warn("call to master failed", "type", c.GetType().String(), "error", err)
		}
		return
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBodySize))
	switch resp.StatusCode {
	case http.StatusAccepted, http.StatusOK:
	case http.StatusForbidden:
		a.log.Warn("master does not know this agent; re-registering", "type", c.GetType().String(),
			"message", strings.TrimSpace(string(msg)))
		sess.cancel()
	default:
		a.log.Warn("master rejected call", "type", c.GetType().String(), "status", resp.Status,
			"message", strings.TrimSpace(string(msg)))
	}
}

// forwardStatusUpdate is the status update manager's Forward.
func (a *Agent) forwardStatusUpdate(u *statusupdate.Update) {
	a.calls.push(&internalpb.AgentCall{
		Type:         internalpb.AgentCall_STATUS_UPDATE.Enum(),
		StatusUpdate: u,
	})
}

// pong answers a PING at once (not behind queued calls).
func (a *Agent) pong(seq uint64) {
	c := &internalpb.AgentCall{Type: internalpb.AgentCall_PONG.Enum(), Pong: &internalpb.AgentCall_Pong{Seq: &seq}}
	go a.post(context.Background(), c)
}
