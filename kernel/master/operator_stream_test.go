package master

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"strata/kernel/agent/simagent"
	"strata/kernel/mesos/codec"
	"strata/kernel/mesos/masterpb"
	"strata/kernel/mesos/mesospb"
	"strata/kernel/mesos/schedulerpb"
)

// opStream is an operator API SUBSCRIBE stream read by hand.
type opStream struct {
	t      *testing.T
	events chan *masterpb.Event
	cancel context.CancelFunc
}

// subscribeOperator posts {"type":"SUBSCRIBE"} as JSON to path, accepting accept, and checks the
// stream's headers.
func subscribeOperator(t *testing.T, addr, path string, accept codec.Codec) *opStream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+path, strings.NewReader(`{"type":"SUBSCRIBE"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", accept.ContentType())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		t.Fatalf("SUBSCRIBE: %d %s", resp.StatusCode, b)
	}
	if got := resp.Header.Get("Content-Type"); got != accept.ContentType() {
		t.Fatalf("SUBSCRIBE Content-Type %q, want exactly %q", got, accept.ContentType())
	}
	if resp.ContentLength != -1 || len(resp.TransferEncoding) != 1 || resp.TransferEncoding[0] != "chunked" {
		t.Fatalf("SUBSCRIBE is not chunked: Content-Length %d, Transfer-Encoding %v", resp.ContentLength, resp.TransferEncoding)
	}
	s := &opStream{t: t, events: make(chan *masterpb.Event, 1024), cancel: cancel}
	go readEvents(t, resp.Body, accept, func() *masterpb.Event { return &masterpb.Event{} }, s.events)
	return s
}

// first returns the very first event, which must be SUBSCRIBED.
func (s *opStream) first() *masterpb.Event {
	s.t.Helper()
	select {
	case ev, ok := <-s.events:
		if !ok {
			s.t.Fatal("operator stream closed before SUBSCRIBED")
		}
		if ev.GetType() != masterpb.Event_SUBSCRIBED {
			s.t.Fatalf("first operator event is %s, want SUBSCRIBED", ev.GetType())
		}
		return ev
	case <-time.After(10 * time.Second):
		s.t.Fatal("no SUBSCRIBED in 10s")
	}
	return nil
}

// next returns the next event of type typ that satisfies match (nil: any), skipping others.
func (s *opStream) next(typ masterpb.Event_Type, match func(*masterpb.Event) bool) *masterpb.Event {
	s.t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev, ok := <-s.events:
			if !ok {
				s.t.Fatalf("operator stream closed while waiting for %s", typ)
			}
			if ev.GetType() == typ && (match == nil || match(ev)) {
				return ev
			}
		case <-timeout:
			s.t.Fatalf("no %s operator event in 10s", typ)
		}
	}
}

// TestOperatorSubscribe follows the operator event stream through a cluster's life, in protobuf as
// the DC/OS UI reads it (JSON body, Accept: application/x-protobuf, ?subscribe in the URL) and in
// JSON.
func TestOperatorSubscribe(t *testing.T) {
	for _, accept := range []codec.Codec{codec.Protobuf, codec.JSON} {
		t.Run(accept.Name(), func(t *testing.T) {
			m, addr := startMaster(t, func(c *Config) { c.HeartbeatInterval = 200 * time.Millisecond })
			agentA := startOpAgent(t, addr, simagent.Config{Hostname: "host-a", ContainerIP: "10.1.2.3"})

			op := subscribeOperator(t, addr, "/api/v1?subscribe", accept)
			sub := op.first().GetSubscribed()
			if sub.GetHeartbeatIntervalSeconds() != 0.2 {
				t.Fatalf("heartbeat_interval_seconds %v", sub.GetHeartbeatIntervalSeconds())
			}
			agents := sub.GetGetState().GetGetAgents().GetAgents()
			if len(agents) != 1 || agents[0].GetAgentInfo().GetId().GetValue() != agentA.ID() {
				t.Fatalf("SUBSCRIBED get_state agents %v", agents)
			}
			op.next(masterpb.Event_HEARTBEAT, nil)

			agentB := startOpAgent(t, addr, simagent.Config{Hostname: "host-b", Port: 5052, Address: "127.0.0.1:5052"})
			added := op.next(masterpb.Event_AGENT_ADDED, nil).GetAgentAdded().GetAgent()
			if added.GetAgentInfo().GetId().GetValue() != agentB.ID() || added.GetAgentInfo().GetHostname() != "host-b" ||
				added.GetPid() != "slave(1)@127.0.0.1:5052" || !added.GetActive() {
				t.Fatalf("AGENT_ADDED %v", added)
			}

			info := frameworkInfo("watched", mesospb.FrameworkInfo_Capability_PARTITION_AWARE)
			sched := subscribe(t, addr, codec.Protobuf, info)
			fw := op.next(masterpb.Event_FRAMEWORK_ADDED, nil).GetFrameworkAdded().GetFramework()
			if fw.GetFrameworkInfo().GetId().GetValue() != sched.fwID || fw.GetFrameworkInfo().GetName() != "watched" || !fw.GetActive() {
				t.Fatalf("FRAMEWORK_ADDED %v", fw)
			}

			c := &opCluster{m: m, addr: addr, agent: agentA, sched: sched}
			var offer *mesospb.Offer
			for offer == nil {
				if o := c.nextOffer(t); o.GetAgentId().GetValue() == agentA.ID() {
					offer = o
				}
			}
			sched.mustCall(launchCall(offer, opRichTask("web-1", offer)))
			task := op.next(masterpb.Event_TASK_ADDED, nil).GetTaskAdded().GetTask()
			if task.GetTaskId().GetValue() != "web-1" || task.GetState() != mesospb.TaskState_TASK_STAGING ||
				task.GetFrameworkId().GetValue() != sched.fwID || task.GetAgentId().GetValue() != agentA.ID() {
				t.Fatalf("TASK_ADDED %v", task)
			}
			upd := op.next(masterpb.Event_TASK_UPDATED, nil).GetTaskUpdated()
			if upd.GetFrameworkId().GetValue() != sched.fwID || upd.GetState() != mesospb.TaskState_TASK_RUNNING ||
				upd.GetStatus().GetTaskId().GetValue() != "web-1" ||
				upd.GetStatus().GetContainerStatus().GetNetworkInfos()[0].GetIpAddresses()[0].GetIpAddress() != "10.1.2.3" {
				t.Fatalf("TASK_UPDATED %v", upd)
			}
			c.ack(t, c.waitUpdate(t, "web-1"))

			// UPDATE_FRAMEWORK is a FRAMEWORK_UPDATED.
			renamed := proto.Clone(info).(*mesospb.FrameworkInfo)
			renamed.Id = &mesospb.FrameworkID{Value: proto.String(sched.fwID)}
			renamed.Name = proto.String("watched-2")
			code, body := sched.call(&schedulerpb.Call{
				Type:            schedulerpb.Call_UPDATE_FRAMEWORK.Enum(),
				UpdateFramework: &schedulerpb.Call_UpdateFramework{FrameworkInfo: renamed},
			})
			if code != http.StatusOK {
				t.Fatalf("UPDATE_FRAMEWORK: %d %s", code, body)
			}
			fw = op.next(masterpb.Event_FRAMEWORK_UPDATED, nil).GetFrameworkUpdated().GetFramework()
			if fw.GetFrameworkInfo().GetName() != "watched-2" {
				t.Fatalf("FRAMEWORK_UPDATED %v", fw)
			}

			opChange(t, addr, codec.JSON, &masterpb.Call{
				Type:          masterpb.Call_MARK_AGENT_GONE.Enum(),
				MarkAgentGone: &masterpb.Call_MarkAgentGone{AgentId: &mesospb.AgentID{Value: proto.String(agentB.ID())}},
			})
			if id := op.next(masterpb.Event_AGENT_REMOVED, nil).GetAgentRemoved().GetAgentId().GetValue(); id != agentB.ID() {
				t.Fatalf("AGENT_REMOVED %s, want %s", id, agentB.ID())
			}

			opChange(t, addr, codec.Protobuf, opTeardownCall(sched.fwID))
			killed := op.next(masterpb.Event_TASK_UPDATED, nil).GetTaskUpdated()
			if killed.GetState() != mesospb.TaskState_TASK_KILLED || killed.GetStatus().GetTaskId().GetValue() != "web-1" {
				t.Fatalf("TASK_UPDATED after teardown %v", killed)
			}
			removed := op.next(masterpb.Event_FRAMEWORK_REMOVED, nil).GetFrameworkRemoved().GetFrameworkInfo()
			if removed.GetId().GetValue() != sched.fwID {
				t.Fatalf("FRAMEWORK_REMOVED %v", removed)
			}
			op.next(masterpb.Event_HEARTBEAT, nil)

			// The subscriber is counted while connected and forgotten once it leaves.
			if n := m.snapshotValue("master/operator_event_stream_subscribers"); n != 1 {
				t.Fatalf("operator_event_stream_subscribers = %v, want 1", n)
			}
			op.cancel()
			deadline := time.Now().Add(5 * time.Second)
			for m.snapshotValue("master/operator_event_stream_subscribers") != 0 {
				if time.Now().After(deadline) {
					t.Fatal("operator subscriber still counted 5s after it left")
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
}

// TestOperatorSubscribeFailover checks that a framework failing over (re-subscribing with its id)
// is a FRAMEWORK_UPDATED, and that disconnecting is one too.
func TestOperatorSubscribeFailover(t *testing.T) {
	_, addr := startMaster(t, nil)
	info := frameworkInfo("fo")
	sched := subscribe(t, addr, codec.JSON, info)
	op := subscribeOperator(t, addr, "/api/v1", codec.Protobuf)
	if fws := op.first().GetSubscribed().GetGetState().GetGetFrameworks().GetFrameworks(); len(fws) != 1 {
		t.Fatalf("SUBSCRIBED frameworks %v", fws)
	}

	again := proto.Clone(info).(*mesospb.FrameworkInfo)
	again.Id = &mesospb.FrameworkID{Value: proto.String(sched.fwID)}
	subscribe(t, addr, codec.Protobuf, again)
	ev := op.next(masterpb.Event_FRAMEWORK_UPDATED, nil)
	if ev.GetFrameworkUpdated().GetFramework().GetFrameworkInfo().GetId().GetValue() != sched.fwID {
		t.Fatalf("FRAMEWORK_UPDATED %v", ev)
	}
	select {
	case ev := <-op.events:
		if ev.GetType() == masterpb.Event_FRAMEWORK_ADDED {
			t.Fatalf("failover announced as %v", ev)
		}
	case <-time.After(200 * time.Millisecond):
	}
}

// TestOperatorSubscribeLimit checks --max_operator_event_stream_subscribers: the oldest subscriber
// is closed when one too many arrives.
func TestOperatorSubscribeLimit(t *testing.T) {
	m, addr := startMaster(t, nil)
	first := subscribeOperator(t, addr, "/api/v1", codec.JSON)
	first.first()
	// Fill the table up to the limit without real connections, then subscribe once more.
	m.mu.Lock()
	for i := 1; i < maxOperatorSubscribers; i++ {
		m.operatorStreams[newEventStream("")] = &operatorSubscriber{codec: codec.JSON, since: time.Now()}
	}
	m.mu.Unlock()
	last := subscribeOperator(t, addr, "/api/v1", codec.JSON)
	last.first()
	select {
	case _, ok := <-first.events:
		for ok {
			_, ok = <-first.events
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the oldest operator subscriber was not closed")
	}
	m.mu.Lock()
	n := len(m.operatorStreams)
	m.mu.Unlock()
	if n != maxOperatorSubscribers {
		t.Fatalf("%d operator subscribers, want %d", n, maxOperatorSubscribers)
	}
}
