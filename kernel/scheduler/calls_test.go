package scheduler

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"strata/kernel/mesos/codec"
	"strata/kernel/mesos/mesospb"
	"strata/kernel/mesos/schedulerpb"
)

func offerIDs(ids ...string) []*mesospb.OfferID {
	out := make([]*mesospb.OfferID, len(ids))
	for i, id := range ids {
		out[i] = &mesospb.OfferID{Value: proto.String(id)}
	}
	return out
}

func taskID(id string) *mesospb.TaskID     { return &mesospb.TaskID{Value: proto.String(id)} }
func agentID(id string) *mesospb.AgentID   { return &mesospb.AgentID{Value: proto.String(id)} }
func refuse(s float64) *mesospb.Filters    { return &mesospb.Filters{RefuseSeconds: proto.Float64(s)} }
func execID(id string) *mesospb.ExecutorID { return &mesospb.ExecutorID{Value: proto.String(id)} }

func task(name string) *mesospb.TaskInfo {
	return &mesospb.TaskInfo{
		Name:    proto.String(name),
		TaskId:  taskID(name + "-id"),
		AgentId: agentID("agent-1"),
		Command: &mesospb.CommandInfo{Value: proto.String("sleep 10")},
	}
}

func ids[T interface{ GetValue() string }](xs []T) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = x.GetValue()
	}
	return out
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// connect starts a client against m and waits for SUBSCRIBED.
func connect(t *testing.T, m *fakeMaster, cfg Config) (*Client, *recHandler, recorded, <-chan error) {
	t.Helper()
	h := newRecHandler()
	cl, res := runClient(t, cfg, h)
	sub := nextRecorded(t, m.subs, "SUBSCRIBE")
	h.next(t, "SUBSCRIBED")
	return cl, h, sub, res
}

func TestCallHelpers(t *testing.T) {
	tests := []struct {
		name  string
		typ   schedulerpb.Call_Type
		do    func(ctx context.Context, c *Client) error
		check func(t *testing.T, call *schedulerpb.Call)
	}{
		{
			name: "accept", typ: schedulerpb.Call_ACCEPT,
			do: func(ctx context.Context, c *Client) error {
				return c.Accept(ctx, offerIDs("o-1", "o-2"), []*mesospb.Offer_Operation{LaunchOp(task("a"))}, refuse(10))
			},
			check: func(t *testing.T, call *schedulerpb.Call) {
				a := call.GetAccept()
				if !equalStrings(ids(a.GetOfferIds()), []string{"o-1", "o-2"}) || a.GetFilters().GetRefuseSeconds() != 10 ||
					len(a.GetOperations()) != 1 || a.GetOperations()[0].GetType() != mesospb.Offer_Operation_LAUNCH {
					t.Errorf("accept = %v", a)
				}
			},
		},
		{
			name: "launch", typ: schedulerpb.Call_ACCEPT,
			do: func(ctx context.Context, c *Client) error {
				return c.Launch(ctx, offerIDs("o-1"), []*mesospb.TaskInfo{task("a"), task("b")}, nil)
			},
			check: func(t *testing.T, call *schedulerpb.Call) {
				a := call.GetAccept()
				ops := a.GetOperations()
				if len(ops) != 1 || ops[0].GetType() != mesospb.Offer_Operation_LAUNCH {
					t.Fatalf("operations = %v", ops)
				}
				tasks := ops[0].GetLaunch().GetTaskInfos()
				if len(tasks) != 2 || tasks[0].GetName() != "a" || tasks[1].GetTaskId().GetValue() != "b-id" ||
					tasks[0].GetCommand().GetValue() != "sleep 10" {
					t.Errorf("tasks = %v", tasks)
				}
				if a.Filters != nil {
					t.Errorf("filters = %v, want unset", a.Filters)
				}
			},
		},
		{
			name: "launch group", typ: schedulerpb.Call_ACCEPT,
			do: func(ctx context.Context, c *Client) error {
				exec := &mesospb.ExecutorInfo{ExecutorId: execID("e-1"), Type: mesospb.ExecutorInfo_DEFAULT.Enum()}
				group := &mesospb.TaskGroupInfo{Tasks: []*mesospb.TaskInfo{task("a"), task("b")}}
				return c.LaunchGroup(ctx, offerIDs("o-1"), exec, group, nil)
			},
			check: func(t *testing.T, call *schedulerpb.Call) {
				op := call.GetAccept().GetOperations()[0]
				lg := op.GetLaunchGroup()
				if op.GetType() != mesospb.Offer_Operation_LAUNCH_GROUP || lg.GetExecutor().GetExecutorId().GetValue() != "e-1" ||
					len(lg.GetTaskGroup().GetTasks()) != 2 {
					t.Errorf("operation = %v", op)
				}
			},
		},
		{
			name: "decline", typ: schedulerpb.Call_DECLINE,
			do: func(ctx context.Context, c *Client) error { return c.Decline(ctx, offerIDs("o-3"), refuse(120)) },
			check: func(t *testing.T, call *schedulerpb.Call) {
				d := call.GetDecline()
				if !equalStrings(ids(d.GetOfferIds()), []string{"o-3"}) || d.GetFilters().GetRefuseSeconds() != 120 {
					t.Errorf("decline = %v", d)
				}
			},
		},
		{
			name: "accept inverse offers", typ: schedulerpb.Call_ACCEPT_INVERSE_OFFERS,
			do: func(ctx context.Context, c *Client) error { return c.AcceptInverseOffers(ctx, offerIDs("i-1"), nil) },
			check: func(t *testing.T, call *schedulerpb.Call) {
				if got := ids(call.GetAcceptInverseOffers().GetInverseOfferIds()); !equalStrings(got, []string{"i-1"}) {
					t.Errorf("ids = %v", got)
				}
			},
		},
		{
			name: "decline inverse offers", typ: schedulerpb.Call_DECLINE_INVERSE_OFFERS,
			do: func(ctx context.Context, c *Client) error {
				return c.DeclineInverseOffers(ctx, offerIDs("i-2"), refuse(1))
			},
			check: func(t *testing.T, call *schedulerpb.Call) {
				if got := ids(call.GetDeclineInverseOffers().GetInverseOfferIds()); !equalStrings(got, []string{"i-2"}) {
					t.Errorf("ids = %v", got)
				}
			},
		},
		{
			name: "revive roles", typ: schedulerpb.Call_REVIVE,
			do: func(ctx context.Context, c *Client) error { return c.Revive(ctx, "web", "batch") },
			check: func(t *testing.T, call *schedulerpb.Call) {
				if got := call.GetRevive().GetRoles(); !equalStrings(got, []string{"web", "batch"}) {
					t.Errorf("roles = %v", got)
				}
			},
		},
		{
			name: "suppress all", typ: schedulerpb.Call_SUPPRESS,
			do: func(ctx context.Context, c *Client) error { return c.Suppress(ctx) },
			check: func(t *testing.T, call *schedulerpb.Call) {
				if call.GetSuppress() == nil || len(call.GetSuppress().GetRoles()) != 0 {
					t.Errorf("suppress = %v", call.GetSuppress())
				}
			},
		},
		{
			name: "kill", typ: schedulerpb.Call_KILL,
			do: func(ctx context.Context, c *Client) error {
				policy := &mesospb.KillPolicy{GracePeriod: &mesospb.DurationInfo{Nanoseconds: proto.Int64(3e9)}}
				return c.Kill(ctx, taskID("t-1"), agentID("agent-1"), policy)
			},
			check: func(t *testing.T, call *schedulerpb.Call) {
				k := call.GetKill()
				if k.GetTaskId().GetValue() != "t-1" || k.GetAgentId().GetValue() != "agent-1" ||
					k.GetKillPolicy().GetGracePeriod().GetNanoseconds() != 3e9 {
					t.Errorf("kill = %v", k)
				}
			},
		},
		{
			name: "kill without agent", typ: schedulerpb.Call_KILL,
			do: func(ctx context.Context, c *Client) error { return c.Kill(ctx, taskID("t-2"), nil, nil) },
			check: func(t *testing.T, call *schedulerpb.Call) {
				if k := call.GetKill(); k.GetTaskId().GetValue() != "t-2" || k.AgentId != nil || k.KillPolicy != nil {
					t.Errorf("kill = %v", k)
				}
			},
		},
		{
			name: "shutdown", typ: schedulerpb.Call_SHUTDOWN,
			do: func(ctx context.Context, c *Client) error { return c.Shutdown(ctx, execID("e-1"), agentID("agent-2")) },
			check: func(t *testing.T, call *schedulerpb.Call) {
				s := call.GetShutdown()
				if s.GetExecutorId().GetValue() != "e-1" || s.GetAgentId().GetValue() != "agent-2" {
					t.Errorf("shutdown = %v", s)
				}
			},
		},
		{
			name: "acknowledge", typ: schedulerpb.Call_ACKNOWLEDGE,
			do: func(ctx context.Context, c *Client) error {
				return c.Acknowledge(ctx, agentID("agent-1"), taskID("t-1"), []byte{0, 1, 2, 255})
			},
			check: func(t *testing.T, call *schedulerpb.Call) {
				a := call.GetAcknowledge()
				if a.GetTaskId().GetValue() != "t-1" || !bytes.Equal(a.GetUuid(), []byte{0, 1, 2, 255}) {
					t.Errorf("acknowledge = %v", a)
				}
			},
		},
		{
			name: "acknowledge operation status", typ: schedulerpb.Call_ACKNOWLEDGE_OPERATION_STATUS,
			do: func(ctx context.Context, c *Client) error {
				op := &mesospb.OperationID{Value: proto.String("op-1")}
				return c.AcknowledgeOperationStatus(ctx, agentID("agent-1"), nil, op, []byte("u"))
			},
			check: func(t *testing.T, call *schedulerpb.Call) {
				a := call.GetAcknowledgeOperationStatus()
				if a.GetOperationId().GetValue() != "op-1" || string(a.GetUuid()) != "u" || a.GetAgentId().GetValue() != "agent-1" {
					t.Errorf("acknowledge_operation_status = %v", a)
				}
			},
		},
		{
			name: "reconcile explicit", typ: schedulerpb.Call_RECONCILE,
			do: func(ctx context.Context, c *Client) error {
				return c.Reconcile(ctx, []ReconcileTask{{TaskID: "t-1", AgentID: "agent-1"}, {TaskID: "t-2"}})
			},
			check: func(t *testing.T, call *schedulerpb.Call) {
				ts := call.GetReconcile().GetTasks()
				if len(ts) != 2 || ts[0].GetTaskId().GetValue() != "t-1" || ts[0].GetAgentId().GetValue() != "agent-1" ||
					ts[1].GetTaskId().GetValue() != "t-2" || ts[1].AgentId != nil {
					t.Errorf("reconcile = %v", call.GetReconcile())
				}
			},
		},
		{
			name: "reconcile implicit", typ: schedulerpb.Call_RECONCILE,
			do: func(ctx context.Context, c *Client) error { return c.Reconcile(ctx, nil) },
			check: func(t *testing.T, call *schedulerpb.Call) {
				if call.Reconcile == nil || len(call.GetReconcile().GetTasks()) != 0 {
					t.Errorf("reconcile = %v", call.GetReconcile())
				}
			},
		},
		{
			name: "reconcile operations", typ: schedulerpb.Call_RECONCILE_OPERATIONS,
			do: func(ctx context.Context, c *Client) error {
				return c.ReconcileOperations(ctx, []*schedulerpb.Call_ReconcileOperations_Operation{
					{OperationId: &mesospb.OperationID{Value: proto.String("op-1")}},
				})
			},
			check: func(t *testing.T, call *schedulerpb.Call) {
				if ops := call.GetReconcileOperations().GetOperations(); len(ops) != 1 || ops[0].GetOperationId().GetValue() != "op-1" {
					t.Errorf("reconcile_operations = %v", call.GetReconcileOperations())
				}
			},
		},
		{
			name: "message", typ: schedulerpb.Call_MESSAGE,
			do: func(ctx context.Context, c *Client) error {
				return c.Message(ctx, agentID("agent-1"), execID("e-1"), []byte("hello"))
			},
			check: func(t *testing.T, call *schedulerpb.Call) {
				msg := call.GetMessage()
				if string(msg.GetData()) != "hello" || msg.GetExecutorId().GetValue() != "e-1" {
					t.Errorf("message = %v", msg)
				}
			},
		},
		{
			name: "request", typ: schedulerpb.Call_REQUEST,
			do: func(ctx context.Context, c *Client) error {
				return c.Request(ctx, []*mesospb.Request{{AgentId: agentID("agent-1")}})
			},
			check: func(t *testing.T, call *schedulerpb.Call) {
				if rs := call.GetRequest().GetRequests(); len(rs) != 1 || rs[0].GetAgentId().GetValue() != "agent-1" {
					t.Errorf("request = %v", call.GetRequest())
				}
			},
		},
	}
	forEachCodec(t, func(t *testing.T, c codec.Codec) {
		m := newFakeMaster(t, c)
		cl, _, sub, _ := connect(t, m, testConfig(c, m.addr()))
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				if err := tt.do(t.Context(), cl); err != nil {
					t.Fatalf("call: %v", err)
				}
				r := nextRecorded(t, m.calls, tt.name)
				checkCall(t, r, tt.typ, sub.stream, "fw-1")
				tt.check(t, r.call)
			})
		}
	})
}

func TestCallErrors(t *testing.T) {
	tests := []struct {
		name        string
		code        int
		body        string
		wantText    string
		resubscribe bool
	}{
		{
			name: "invalid", code: http.StatusBadRequest, body: "Failed to validate scheduler::Call: Expecting 'accept' to be present",
			wantText: "scheduler: call ACCEPT: 400 Bad Request: Failed to validate scheduler::Call: Expecting 'accept' to be present",
		},
		{
			name: "not subscribed", code: http.StatusForbidden, body: "Framework is not subscribed",
			wantText: "scheduler: call ACCEPT: 403 Forbidden: Framework is not subscribed", resubscribe: true,
		},
		{
			name: "unknown framework", code: http.StatusBadRequest, body: "Framework cannot be found",
			wantText: "scheduler: call ACCEPT: 400 Bad Request: Framework cannot be found", resubscribe: true,
		},
		{
			name: "server error", code: http.StatusInternalServerError, body: "",
			wantText: "scheduler: call ACCEPT: 500 Internal Server Error",
		},
	}
	forEachCodec(t, func(t *testing.T, c codec.Codec) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				m := newFakeMaster(t, c)
				m.setAnswer(func(*schedulerpb.Call) (int, string) { return tt.code, tt.body })
				cl, h, _, _ := connect(t, m, testConfig(c, m.addr()))

				err := cl.Accept(t.Context(), offerIDs("o-1"), nil, nil)
				var cerr *CallError
				if !errors.As(err, &cerr) || cerr.StatusCode != tt.code || cerr.Call != "ACCEPT" {
					t.Fatalf("Accept = %v, want a %d CallError", err, tt.code)
				}
				if err.Error() != tt.wantText {
					t.Errorf("error = %q\nwant    %q", err, tt.wantText)
				}
				nextRecorded(t, m.calls, "ACCEPT")
				if tt.resubscribe {
					h.next(t, "DISCONNECTED")
					checkSubscribe(t, nextRecorded(t, m.subs, "resubscribe"), "fw-1")
					h.next(t, "SUBSCRIBED")
					return
				}
				select {
				case r := <-m.subs:
					t.Errorf("resubscribed (%v) after a %d", r.call.GetType(), tt.code)
				case <-time.After(100 * time.Millisecond):
				}
			})
		}
	})
}

func TestCallWhileNotConnected(t *testing.T) {
	c := codec.JSON
	m := newFakeMaster(t, c)
	cl, err := New(testConfig(c, m.addr()))
	if err != nil {
		t.Fatal(err)
	}
	if err := cl.Revive(t.Context()); !errors.Is(err, ErrNotConnected) {
		t.Fatalf("Revive before Run = %v, want ErrNotConnected", err)
	}
	if n := len(m.calls); n != 0 {
		t.Errorf("%d requests sent while not connected", n)
	}
}

func TestUpdateFrameworkIsUsedOnResubscribe(t *testing.T) {
	forEachCodec(t, func(t *testing.T, c codec.Codec) {
		m := newFakeMaster(t, c)
		drop := make(chan struct{})
		m.setSubscribe(func(n int, s *fakeStream) {
			s.send(subscribedEvent("fw-1", 15))
			if n == 0 {
				select {
				case <-drop:
				case <-s.m.done:
				}
				return
			}
			s.hold()
		})
		cl, h, sub, _ := connect(t, m, testConfig(c, m.addr()))

		info := &mesospb.FrameworkInfo{
			User:  proto.String("root"),
			Name:  proto.String("test-framework"),
			Roles: []string{"web", "batch"},
		}
		if err := cl.UpdateFramework(t.Context(), info, []string{"batch"}); err != nil {
			t.Fatalf("UpdateFramework: %v", err)
		}
		r := nextRecorded(t, m.calls, "UPDATE_FRAMEWORK")
		checkCall(t, r, schedulerpb.Call_UPDATE_FRAMEWORK, sub.stream, "fw-1")
		uf := r.call.GetUpdateFramework()
		if uf.GetFrameworkInfo().GetId().GetValue() != "fw-1" || !equalStrings(uf.GetSuppressedRoles(), []string{"batch"}) {
			t.Errorf("update_framework = %v", uf)
		}
		if info.Id != nil {
			t.Error("UpdateFramework modified the caller's FrameworkInfo")
		}

		close(drop)
		h.next(t, "DISCONNECTED")
		sub2 := nextRecorded(t, m.subs, "resubscribe")
		checkSubscribe(t, sub2, "fw-1")
		s := sub2.call.GetSubscribe()
		if !equalStrings(s.GetFrameworkInfo().GetRoles(), []string{"web", "batch"}) ||
			!equalStrings(s.GetSuppressedRoles(), []string{"batch"}) {
			t.Errorf("resubscribe = %v, want the updated info and suppressed roles", s)
		}
	})
}

func TestTeardownEndsRun(t *testing.T) {
	forEachCodec(t, func(t *testing.T, c codec.Codec) {
		m := newFakeMaster(t, c)
		cl, _, sub, res := connect(t, m, testConfig(c, m.addr()))
		if err := cl.Teardown(t.Context()); err != nil {
			t.Fatalf("Teardown: %v", err)
		}
		checkCall(t, nextRecorded(t, m.calls, "TEARDOWN"), schedulerpb.Call_TEARDOWN, sub.stream, "fw-1")
		if err := waitRun(t, res); err != nil {
			t.Fatalf("Run after Teardown = %v, want nil", err)
		}
		if n := len(m.subs); n != 0 {
			t.Errorf("%d SUBSCRIBEs after Teardown", n)
		}
	})
}

// With a zk:// master URL whose detector has named no leader yet, a subscription attempt says
// so (it used to print "no master accepted: %!w(<nil>)").
func TestSubscribeWithoutAKnownMaster(t *testing.T) {
	c, err := New(Config{Masters: []string{"zk://127.0.0.1:1/mesos"},
		FrameworkInfo: &mesospb.FrameworkInfo{User: proto.String("root"), Name: proto.String("t")}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.subscribe(context.Background())
	if err == nil || err.Error() != "scheduler: subscribe: no master known yet" {
		t.Fatalf("subscribe: %v", err)
	}
}
