package master

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"strata/kernel/mesos/codec"
	"strata/kernel/mesos/mesospb"
	"strata/kernel/mesos/schedulerpb"
)

// reviveCall is a fresh REVIVE (the client fills in its framework id).
func reviveCall() *schedulerpb.Call {
	return &schedulerpb.Call{Type: schedulerpb.Call_REVIVE.Enum(), Revive: &schedulerpb.Call_Revive{}}
}

// TestFrameworkFailover re-subscribes a framework with its id while its first subscription is
// live: the old stream gets ERROR "Framework failed over" and ends, the old offers are void and
// regenerated for the new subscription, and the tasks stay.
func TestFrameworkFailover(t *testing.T) {
	tm := lcStartMaster(t, lcConfig(t))
	lcAgent(t, tm.addr, "host-a")
	info := failoverAfter(frameworkInfo("failing-over", mesospb.FrameworkInfo_Capability_PARTITION_AWARE), 3600)
	s1 := lcSubscribe(t, tm.addr, codec.JSON, info)
	o := s1.offer()
	s1.running(o, 0, commandTask("t1", o, scalar("cpus", 1), scalar("mem", 128)))
	old := s1.offer() // the rest of the agent, outstanding

	s2 := lcSubscribe(t, tm.addr, codec.Protobuf, s1.withID(info))
	if s2.fwID != s1.fwID {
		t.Fatalf("re-subscription got framework id %q, want %q", s2.fwID, s1.fwID)
	}
	ev := s1.must("ERROR on the old stream", eventIs(schedulerpb.Event_ERROR))
	if ev.GetError().GetMessage() != "Framework failed over" {
		t.Fatalf("old stream ERROR %q", ev.GetError().GetMessage())
	}
	if !s1.closed(waitBound) {
		t.Fatal("the old stream did not end after the failover")
	}

	// The new subscription gets the outstanding resources in a new offer; the old one is void.
	o = s2.offer()
	if o.GetId().GetValue() == old.GetId().GetValue() || scalarSum(o.GetResources(), "cpus") != 3 {
		t.Fatalf("offer after failover = %v, want a new offer of the 3 free cpus", o)
	}
	s2.mustCall(launchCall(old, commandTask("x", old, scalar("cpus", 1))))
	if st := s2.must("update of x", updateFor("x")).GetUpdate().GetStatus(); st.GetState() != mesospb.TaskState_TASK_DROPPED || st.GetReason() != mesospb.TaskStatus_REASON_INVALID_OFFERS {
		t.Fatalf("launch on an offer of the old subscription: %v", st)
	}
	// Calls with the old stream id are refused.
	if code, body := s1.call(reviveCall()); code != http.StatusBadRequest || !strings.Contains(body, "stream ID") {
		t.Fatalf("call with the old stream id: %d %s", code, body)
	}
	// The task survived.
	s2.reconcile()
	if st := s2.must("reconciliation of t1", updateFor("t1")).GetUpdate().GetStatus(); st.GetState() != mesospb.TaskState_TASK_RUNNING {
		t.Fatalf("t1 after failover: %v", st)
	}
	st := lcState(t, tm.addr)
	if len(st.Frameworks) != 1 || !st.Frameworks[0].Connected || !st.Frameworks[0].Active || len(st.Frameworks[0].Tasks) != 1 {
		t.Fatalf("frameworks after failover = %+v", st.Frameworks)
	}
}

// TestFrameworkFailoverTimeout disconnects frameworks and checks when they are removed: after an
// explicit failover_timeout, at once for an explicit 0, after DefaultFailoverTimeout when unset.
// Until then calls get 403; removal kills the tasks on the agent and retires the id.
func TestFrameworkFailoverTimeout(t *testing.T) {
	for _, tc := range []struct {
		name     string
		timeout  *float64
		defaultT time.Duration
		want     time.Duration
	}{
		{"explicit", proto.Float64(2), time.Hour, 2 * time.Second},
		{"explicit zero", proto.Float64(0), time.Hour, 0},
		{"unset uses the default", nil, 1500 * time.Millisecond, 1500 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := lcConfig(t)
			cfg.DefaultFailoverTimeout = tc.defaultT
			tm := lcStartMaster(t, cfg)
			agent := lcAgent(t, tm.addr, "host-a")
			info := frameworkInfo("mortal")
			info.FailoverTimeout = tc.timeout
			s := lcSubscribe(t, tm.addr, codec.Protobuf, info)
			if fw := lcState(t, tm.addr).framework(s.fwID); fw == nil || fw.FailoverTimeout != tc.want.Seconds() {
				t.Fatalf("state failover_timeout = %+v, want %v", fw, tc.want.Seconds())
			}
			o := s.offer()
			s.running(o, 0, commandTask("t1", o, scalar("cpus", 1), scalar("mem", 128)))

			s.cancel()
			gone := time.Now()
			if tc.want > 0 {
				lcEventually(t, "calls to be refused as not subscribed", func() bool {
					code, body := s.call(reviveCall())
					if code == http.StatusForbidden && body != "Framework is not subscribed" {
						t.Fatalf("403 body %q", body)
					}
					return code == http.StatusForbidden
				})
				fw := lcState(t, tm.addr).framework(s.fwID)
				if fw == nil || fw.Connected || fw.Active || len(fw.Tasks) != 1 {
					t.Fatalf("disconnected framework = %+v, want it kept, inactive, with its task", fw)
				}
			}

			lcAgentEvent(t, agent, "SHUTDOWN_FRAMEWORK", shutdownFor(s.fwID))
			took := time.Since(gone)
			if took < tc.want-100*time.Millisecond || took > tc.want+3*time.Second {
				t.Fatalf("framework removed %v after disconnecting, want about %v", took, tc.want)
			}
			lcEventually(t, "the agent to kill t1", func() bool { return len(agent.Tasks()) == 0 })
			st := lcState(t, tm.addr)
			done := st.completed(s.fwID)
			if st.framework(s.fwID) != nil || done == nil || len(done.CompletedTasks) != 1 || done.CompletedTasks[0].State != "TASK_KILLED" {
				t.Fatalf("after removal: frameworks %+v, completed %+v", st.Frameworks, done)
			}
			if code, _ := s.call(reviveCall()); code != http.StatusBadRequest {
				t.Fatalf("call of a removed framework: %d, want 400", code)
			}
			if msg := lcSubscribeRefused(t, tm.addr, s.withID(info)); msg != "Framework has been removed" {
				t.Fatalf("re-subscription of a removed framework: ERROR %q", msg)
			}
		})
	}
}

// TestFrameworkTeardown checks TEARDOWN: the stream ends, the tasks are killed on the agent, the
// resources come back, and the id is retired.
func TestFrameworkTeardown(t *testing.T) {
	tm := lcStartMaster(t, lcConfig(t))
	agent := lcAgent(t, tm.addr, "host-a")
	info := failoverAfter(frameworkInfo("short-lived"), 3600)
	s := lcSubscribe(t, tm.addr, codec.JSON, info)
	o := s.offer()
	s.running(o, 3600, commandTask("t1", o, scalar("cpus", 1), scalar("mem", 128)))
	s.mustCall(&schedulerpb.Call{Type: schedulerpb.Call_TEARDOWN.Enum()})
	if !s.closed(waitBound) {
		t.Fatal("stream still open after TEARDOWN")
	}
	lcAgentEvent(t, agent, "SHUTDOWN_FRAMEWORK", shutdownFor(s.fwID))
	lcEventually(t, "the agent to kill t1", func() bool { return len(agent.Tasks()) == 0 })
	if st := lcState(t, tm.addr); st.completed(s.fwID) == nil || st.framework(s.fwID) != nil {
		t.Fatalf("after TEARDOWN: frameworks %+v, completed %+v", st.Frameworks, st.CompletedFrameworks)
	}
	if msg := lcSubscribeRefused(t, tm.addr, s.withID(info)); msg != "Framework has been removed" {
		t.Fatalf("re-subscription after TEARDOWN: ERROR %q", msg)
	}
	// Everything it held is free for the next framework.
	next := lcSubscribe(t, tm.addr, codec.JSON, frameworkInfo("next"))
	wholeAgent(t, next.offer())
}

// TestFrameworkUpdate checks UPDATE_FRAMEWORK: 200 for a valid change, 400 for the immutable
// fields and for suppressed roles outside the roles, and RESCIND for offers of a role dropped.
func TestFrameworkUpdate(t *testing.T) {
	tm := lcStartMaster(t, lcConfig(t))
	lcAgent(t, tm.addr, "host-a")
	lcAgent(t, tm.addr, "host-b")
	info := multiRole(frameworkInfo("before"), "blue", "green")
	s := lcSubscribe(t, tm.addr, codec.Protobuf, info)
	byRole := map[string]*mesospb.Offer{}
	for _, o := range s.offersFrom(2) {
		byRole[o.GetAllocationInfo().GetRole()] = o
	}
	if byRole["blue"] == nil || byRole["green"] == nil {
		t.Fatalf("offers by role %v", byRole)
	}

	update := func(mutate func(*mesospb.FrameworkInfo), suppressed ...string) (int, string) {
		fi := s.withID(info)
		mutate(fi)
		return s.call(&schedulerpb.Call{Type: schedulerpb.Call_UPDATE_FRAMEWORK.Enum(),
			UpdateFramework: &schedulerpb.Call_UpdateFramework{FrameworkInfo: fi, SuppressedRoles: suppressed}})
	}
	if code, body := update(func(fi *mesospb.FrameworkInfo) { fi.Name = proto.String("after") }); code != http.StatusOK {
		t.Fatalf("UPDATE_FRAMEWORK of the name: %d %s", code, body)
	}
	if fw := lcState(t, tm.addr).framework(s.fwID); fw == nil || fw.Name != "after" {
		t.Fatalf("state after the update: %+v", fw)
	}
	info.Name = proto.String("after")
	for _, tc := range []struct {
		name       string
		mutate     func(*mesospb.FrameworkInfo)
		suppressed []string
		want       string
	}{
		{"user", func(fi *mesospb.FrameworkInfo) { fi.User = proto.String("nobody") }, nil, "user"},
		{"principal", func(fi *mesospb.FrameworkInfo) { fi.Principal = proto.String("someone") }, nil, "principal"},
		{"checkpoint", func(fi *mesospb.FrameworkInfo) { fi.Checkpoint = proto.Bool(true) }, nil, "checkpoint"},
		{"suppressed role not subscribed", func(*mesospb.FrameworkInfo) {}, []string{"red"}, "red"},
	} {
		if code, body := update(tc.mutate, tc.suppressed...); code != http.StatusBadRequest || !strings.Contains(body, tc.want) {
			t.Errorf("UPDATE_FRAMEWORK changing %s: %d %q, want 400 mentioning %q", tc.name, code, body, tc.want)
		}
	}
	s.none("RESCIND after refused updates", quietFor, eventIs(schedulerpb.Event_RESCIND))

	// Dropping green rescinds green's offer, and only that one.
	if code, body := update(func(fi *mesospb.FrameworkInfo) { fi.Roles = []string{"blue"} }); code != http.StatusOK {
		t.Fatalf("UPDATE_FRAMEWORK of the roles: %d %s", code, body)
	}
	s.must("RESCIND of the green offer", rescindFor(byRole["green"].GetId().GetValue()))
	s.none("RESCIND of the blue offer", quietFor, rescindFor(byRole["blue"].GetId().GetValue()))
	// The freed agent is offered again, for blue.
	if o := s.offer(); o.GetAllocationInfo().GetRole() != "blue" {
		t.Fatalf("offer after dropping green: %v", o)
	}
}

// TestFrameworkSubscribeValidation checks that a SUBSCRIBE suppressing a role it does not subscribe
// to is refused (the allocator cannot honour it, and the framework would never get offers).
func TestFrameworkSubscribeValidation(t *testing.T) {
	tm := lcStartMaster(t, lcConfig(t))
	call := &schedulerpb.Call{Type: schedulerpb.Call_SUBSCRIBE.Enum(), Subscribe: &schedulerpb.Call_Subscribe{
		FrameworkInfo: multiRole(frameworkInfo("bad"), "blue"), SuppressedRoles: []string{"red"}}}
	body, _ := proto.Marshal(call)
	req, _ := http.NewRequest(http.MethodPost, "http://"+tm.addr+"/api/v1/scheduler", bytes.NewReader(body))
	req.Header.Set("Content-Type", codec.ContentTypeProtobuf)
	client := &http.Client{Timeout: waitBound} // an accepted SUBSCRIBE would stream forever
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	text, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(text), "red") {
		t.Fatalf("SUBSCRIBE suppressing an unsubscribed role: %d %q", resp.StatusCode, text)
	}
}
