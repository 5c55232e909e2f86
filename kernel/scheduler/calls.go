package scheduler

import (
	"bytes"
	"context"
	"fmt"
	"net/http"

	"google.golang.org/protobuf/proto"

	"strata/kernel/mesos/mesospb"
	"strata/kernel/mesos/schedulerpb"
)

// Call sends call to the master of the live subscription, with the
// Mesos-Stream-Id header, and sets call.framework_id when it is unset. Any
// 2xx answer is success (Mesos answers 202, and 200 for UPDATE_FRAMEWORK);
// anything else is a *CallError. An answer saying the framework is not
// subscribed (403, or 400 "cannot be found", or a stream id mismatch) also
// makes Run resubscribe. Without a live subscription the call is not sent
// and the error wraps ErrNotConnected.
//
// Use the typed helpers below for the common calls; Call is for the rest.
func (c *Client) Call(ctx context.Context, call *schedulerpb.Call) error {
	name := call.GetType().String()
	c.mu.Lock()
	base, fid, sid, connected := c.leader, c.frameworkID, c.streamID, c.connected
	c.mu.Unlock()
	if !connected || sid == "" || fid == "" {
		return fmt.Errorf("scheduler: call %s: %w", name, ErrNotConnected)
	}
	if call.FrameworkId == nil {
		call.FrameworkId = &mesospb.FrameworkID{Value: proto.String(fid)}
	}
	body, err := c.cfg.Codec.Marshal(call)
	if err != nil {
		return fmt.Errorf("scheduler: call %s: encode: %w", name, err)
	}

	ctx, cancel := context.WithTimeout(ctx, c.cfg.CallTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+Path, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("scheduler: call %s: %w", name, err)
	}
	ct := c.cfg.Codec.ContentType()
	req.Header.Set("Content-Type", ct)
	req.Header.Set("Accept", ct)
	req.Header.Set(headerStreamID, sid)
	resp, err := c.callClnt.Do(req)
	if err != nil {
		return fmt.Errorf("scheduler: call %s: %w", name, err)
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return drain(resp.Body)
	}
	cerr := &CallError{Call: name, StatusCode: resp.StatusCode, Status: resp.Status, Body: readBody(resp.Body)}
	if cerr.notSubscribed() {
		c.resubscribe(sid, cerr)
	}
	return cerr
}

// Accept accepts offers with operations (LAUNCH, RESERVE, ...). The unused
// resources of the offers are declined with filters (nil: the master's
// default refusal of 5 s).
func (c *Client) Accept(ctx context.Context, offerIDs []*mesospb.OfferID, ops []*mesospb.Offer_Operation, filters *mesospb.Filters) error {
	return c.Call(ctx, &schedulerpb.Call{
		Type: schedulerpb.Call_ACCEPT.Enum(),
		Accept: &schedulerpb.Call_Accept{
			OfferIds:   offerIDs,
			Operations: ops,
			Filters:    filters,
		},
	})
}

// Launch accepts offers with one LAUNCH operation for tasks.
func (c *Client) Launch(ctx context.Context, offerIDs []*mesospb.OfferID, tasks []*mesospb.TaskInfo, filters *mesospb.Filters) error {
	return c.Accept(ctx, offerIDs, []*mesospb.Offer_Operation{LaunchOp(tasks...)}, filters)
}

// LaunchGroup accepts offers with one LAUNCH_GROUP operation: the tasks of
// group run together under executor (normally a DEFAULT executor).
func (c *Client) LaunchGroup(ctx context.Context, offerIDs []*mesospb.OfferID, executor *mesospb.ExecutorInfo, group *mesospb.TaskGroupInfo, filters *mesospb.Filters) error {
	return c.Accept(ctx, offerIDs, []*mesospb.Offer_Operation{LaunchGroupOp(executor, group)}, filters)
}

// LaunchOp builds a LAUNCH operation.
func LaunchOp(tasks ...*mesospb.TaskInfo) *mesospb.Offer_Operation {
	return &mesospb.Offer_Operation{
		Type:   mesospb.Offer_Operation_LAUNCH.Enum(),
		Launch: &mesospb.Offer_Operation_Launch{TaskInfos: tasks},
	}
}

// LaunchGroupOp builds a LAUNCH_GROUP operation.
func LaunchGroupOp(executor *mesospb.ExecutorInfo, group *mesospb.TaskGroupInfo) *mesospb.Offer_Operation {
	return &mesospb.Offer_Operation{
		Type:        mesospb.Offer_Operation_LAUNCH_GROUP.Enum(),
		LaunchGroup: &mesospb.Offer_Operation_LaunchGroup{Executor: executor, TaskGroup: group},
	}
}

// Decline declines offers entirely; filters (nil: 5 s) says for how long
// the master should not offer those resources again.
func (c *Client) Decline(ctx context.Context, offerIDs []*mesospb.OfferID, filters *mesospb.Filters) error {
	return c.Call(ctx, &schedulerpb.Call{
		Type:    schedulerpb.Call_DECLINE.Enum(),
		Decline: &schedulerpb.Call_Decline{OfferIds: offerIDs, Filters: filters},
	})
}

// AcceptInverseOffers accepts maintenance inverse offers.
func (c *Client) AcceptInverseOffers(ctx context.Context, ids []*mesospb.OfferID, filters *mesospb.Filters) error {
	return c.Call(ctx, &schedulerpb.Call{
		Type:                schedulerpb.Call_ACCEPT_INVERSE_OFFERS.Enum(),
		AcceptInverseOffers: &schedulerpb.Call_AcceptInverseOffers{InverseOfferIds: ids, Filters: filters},
	})
}

// DeclineInverseOffers declines maintenance inverse offers.
func (c *Client) DeclineInverseOffers(ctx context.Context, ids []*mesospb.OfferID, filters *mesospb.Filters) error {
	return c.Call(ctx, &schedulerpb.Call{
		Type:                 schedulerpb.Call_DECLINE_INVERSE_OFFERS.Enum(),
		DeclineInverseOffers: &schedulerpb.Call_DeclineInverseOffers{InverseOfferIds: ids, Filters: filters},
	})
}

// Revive removes all offer filters and unsuppresses offers for roles (none:
// every role of the framework).
func (c *Client) Revive(ctx context.Context, roles ...string) error {
	return c.Call(ctx, &schedulerpb.Call{
		Type:   schedulerpb.Call_REVIVE.Enum(),
		Revive: &schedulerpb.Call_Revive{Roles: roles},
	})
}

// Suppress stops offers for roles (none: every role of the framework). The
// master forgets suppression when the framework resubscribes unless it is
// passed again (Config.SuppressedRoles, UpdateFramework), so re-issue it
// from Handler.Subscribed if needed.
func (c *Client) Suppress(ctx context.Context, roles ...string) error {
	return c.Call(ctx, &schedulerpb.Call{
		Type:     schedulerpb.Call_SUPPRESS.Enum(),
		Suppress: &schedulerpb.Call_Suppress{Roles: roles},
	})
}

// Kill asks for a task to be killed. agentID and policy may be nil; policy
// overrides the task's own kill policy.
func (c *Client) Kill(ctx context.Context, taskID *mesospb.TaskID, agentID *mesospb.AgentID, policy *mesospb.KillPolicy) error {
	return c.Call(ctx, &schedulerpb.Call{
		Type: schedulerpb.Call_KILL.Enum(),
		Kill: &schedulerpb.Call_Kill{TaskId: taskID, AgentId: agentID, KillPolicy: policy},
	})
}

// Shutdown asks for a custom executor to be shut down.
func (c *Client) Shutdown(ctx context.Context, executorID *mesospb.ExecutorID, agentID *mesospb.AgentID) error {
	return c.Call(ctx, &schedulerpb.Call{
		Type:     schedulerpb.Call_SHUTDOWN.Enum(),
		Shutdown: &schedulerpb.Call_Shutdown{ExecutorId: executorID, AgentId: agentID},
	})
}

// Acknowledge acknowledges the status update with uuid. Only updates that
// carry a uuid may be acknowledged.
func (c *Client) Acknowledge(ctx context.Context, agentID *mesospb.AgentID, taskID *mesospb.TaskID, uuid []byte) error {
	return c.Call(ctx, &schedulerpb.Call{
		Type:        schedulerpb.Call_ACKNOWLEDGE.Enum(),
		Acknowledge: &schedulerpb.Call_Acknowledge{AgentId: agentID, TaskId: taskID, Uuid: uuid},
	})
}

// AcknowledgeOperationStatus acknowledges an operation status update.
// agentID and providerID may be nil.
func (c *Client) AcknowledgeOperationStatus(ctx context.Context, agentID *mesospb.AgentID, providerID *mesospb.ResourceProviderID, operationID *mesospb.OperationID, uuid []byte) error {
	return c.Call(ctx, &schedulerpb.Call{
		Type: schedulerpb.Call_ACKNOWLEDGE_OPERATION_STATUS.Enum(),
		AcknowledgeOperationStatus: &schedulerpb.Call_AcknowledgeOperationStatus{
			AgentId:            agentID,
			ResourceProviderId: providerID,
			Uuid:               uuid,
			OperationId:        operationID,
		},
	})
}

// ReconcileTask names one task for explicit reconciliation.
type ReconcileTask struct {
	TaskID  string
	AgentID string // optional
}

// Reconcile asks the master for the latest state of tasks, answered by
// UPDATE events without uuid. An empty list is an implicit reconciliation:
// the master answers for every task it knows of this framework.
func (c *Client) Reconcile(ctx context.Context, tasks []ReconcileTask) error {
	rec := &schedulerpb.Call_Reconcile{}
	for _, t := range tasks {
		rt := &schedulerpb.Call_Reconcile_Task{TaskId: &mesospb.TaskID{Value: proto.String(t.TaskID)}}
		if t.AgentID != "" {
			rt.AgentId = &mesospb.AgentID{Value: proto.String(t.AgentID)}
		}
		rec.Tasks = append(rec.Tasks, rt)
	}
	return c.Call(ctx, &schedulerpb.Call{Type: schedulerpb.Call_RECONCILE.Enum(), Reconcile: rec})
}

// ReconcileOperations asks for the latest status of operations (none: all
// operations of the framework), answered by UPDATE_OPERATION_STATUS events.
func (c *Client) ReconcileOperations(ctx context.Context, ops []*schedulerpb.Call_ReconcileOperations_Operation) error {
	return c.Call(ctx, &schedulerpb.Call{
		Type:                schedulerpb.Call_RECONCILE_OPERATIONS.Enum(),
		ReconcileOperations: &schedulerpb.Call_ReconcileOperations{Operations: ops},
	})
}

// Message sends data to an executor (best effort).
func (c *Client) Message(ctx context.Context, agentID *mesospb.AgentID, executorID *mesospb.ExecutorID, data []byte) error {
	if data == nil {
		data = []byte{} // required field: present even when empty
	}
	return c.Call(ctx, &schedulerpb.Call{
		Type:    schedulerpb.Call_MESSAGE.Enum(),
		Message: &schedulerpb.Call_Message{AgentId: agentID, ExecutorId: executorID, Data: data},
	})
}

// Request asks the allocator for resources (ignored by Mesos' allocator).
func (c *Client) Request(ctx context.Context, requests []*mesospb.Request) error {
	return c.Call(ctx, &schedulerpb.Call{
		Type:    schedulerpb.Call_REQUEST.Enum(),
		Request: &schedulerpb.Call_Request{Requests: requests},
	})
}

// Teardown removes the framework: the master kills all its tasks and
// executors and closes the stream. After it succeeds Run returns nil.
func (c *Client) Teardown(ctx context.Context) error {
	sid := c.StreamID()
	if err := c.Call(ctx, &schedulerpb.Call{Type: schedulerpb.Call_TEARDOWN.Enum()}); err != nil {
		return err
	}
	c.mu.Lock()
	c.tornDown = true
	if c.dropStream != nil && c.streamID == sid {
		c.dropStream(errTornDown)
	}
	c.mu.Unlock()
	return nil
}

// UpdateFramework replaces the framework's FrameworkInfo (its id is filled
// in; user, principal and checkpoint cannot change) and suppressed roles.
// On success the client also uses them for later resubscriptions.
func (c *Client) UpdateFramework(ctx context.Context, info *mesospb.FrameworkInfo, suppressedRoles []string) error {
	info = proto.Clone(info).(*mesospb.FrameworkInfo)
	if fid := c.FrameworkID(); info.Id == nil && fid != "" {
		info.Id = &mesospb.FrameworkID{Value: proto.String(fid)}
	}
	roles := append([]string(nil), suppressedRoles...)
	c.mu.Lock()
	constraints := c.constraints
	c.mu.Unlock()
	err := c.Call(ctx, &schedulerpb.Call{
		Type: schedulerpb.Call_UPDATE_FRAMEWORK.Enum(),
		UpdateFramework: &schedulerpb.Call_UpdateFramework{
			FrameworkInfo:    info,
			SuppressedRoles:  roles,
			OfferConstraints: constraints,
		},
	})
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.info = info
	c.suppressedRoles = roles
	c.mu.Unlock()
	return nil
}
