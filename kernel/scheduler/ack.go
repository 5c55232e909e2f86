package scheduler

import (
	"context"
	"sync"

	"google.golang.org/protobuf/proto"

	"strata/kernel/mesos/mesospb"
	"strata/kernel/mesos/schedulerpb"
)

// ackQueue sends automatic acknowledgements in order on a goroutine of its
// own, so that the event loop never waits for an HTTP round trip (a master
// that blocks writing the stream while it handles our ACKNOWLEDGE could
// otherwise deadlock with us). The queue is unbounded; acknowledgements are
// small and the master's own flow control bounds the updates in flight.
type ackQueue struct {
	c      *Client
	mu     sync.Mutex
	items  []*schedulerpb.Call
	signal chan struct{}
}

func newAckQueue(c *Client) *ackQueue {
	return &ackQueue{c: c, signal: make(chan struct{}, 1)}
}

// addTask queues an ACKNOWLEDGE for status if it carries a uuid.
func (q *ackQueue) addTask(status *mesospb.TaskStatus) {
	if len(status.GetUuid()) == 0 {
		return // master-generated update (e.g. reconciliation): never acknowledged
	}
	if status.GetAgentId() == nil || status.GetTaskId() == nil {
		q.c.log.Warn("cannot acknowledge update without agent_id or task_id",
			"task_id", status.GetTaskId().GetValue(), "state", status.GetState().String())
		return
	}
	q.push(&schedulerpb.Call{
		Type: schedulerpb.Call_ACKNOWLEDGE.Enum(),
		Acknowledge: &schedulerpb.Call_Acknowledge{
			AgentId: proto.Clone(status.GetAgentId()).(*mesospb.AgentID),
			TaskId:  proto.Clone(status.GetTaskId()).(*mesospb.TaskID),
			Uuid:    append([]byte(nil), status.GetUuid()...),
		},
	})
}

// addOperation queues an ACKNOWLEDGE_OPERATION_STATUS for status if it
// carries a uuid.
func (q *ackQueue) addOperation(status *mesospb.OperationStatus) {
	if len(status.GetUuid().GetValue()) == 0 {
		return
	}
	if status.GetOperationId() == nil {
		q.c.log.Warn("cannot acknowledge operation status without operation_id")
		return
	}
	ack := &schedulerpb.Call_AcknowledgeOperationStatus{
		Uuid:        append([]byte(nil), status.GetUuid().GetValue()...),
		OperationId: proto.Clone(status.GetOperationId()).(*mesospb.OperationID),
	}
	if status.AgentId != nil {
		ack.AgentId = proto.Clone(status.AgentId).(*mesospb.AgentID)
	}
	if status.ResourceProviderId != nil {
		ack.ResourceProviderId = proto.Clone(status.ResourceProviderId).(*mesospb.ResourceProviderID)
	}
	q.push(&schedulerpb.Call{
		Type:                       schedulerpb.Call_ACKNOWLEDGE_OPERATION_STATUS.Enum(),
		AcknowledgeOperationStatus: ack,
	})
}

func (q *ackQueue) push(call *schedulerpb.Call) {
	q.mu.Lock()
	q.items = append(q.items, call)
	q.mu.Unlock()
	select {
	case q.signal <- struct{}{}:
	default:
	}
}

func (q *ackQueue) pop() *schedulerpb.Call {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.items) == 0 {
		return nil
	}
	call := q.items[0]
	q.items[0] = nil
	q.items = q.items[1:]
	return call
}

// run sends queued acknowledgements until ctx ends. A failed one is logged
// and dropped: the agent resends an unacknowledged update, and the client
// acknowledges it again then.
func (q *ackQueue) run(ctx context.Context) {
	for {
		for call := q.pop(); call != nil; call = q.pop() {
			if err := q.c.Call(ctx, call); err != nil {
				q.c.log.Warn("automatic acknowledgement failed", "call", call.GetType().String(), "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-q.signal:
		}
	}
}
