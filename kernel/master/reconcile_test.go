package master

import (
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"strata/kernel/mesos/codec"
	"strata/kernel/mesos/masterpb"
	"strata/kernel/mesos/mesospb"
	"strata/kernel/mesos/schedulerpb"
)

// pingConfig makes agents that stop answering PINGs unreachable after about 0.6 s.
func pingConfig(t *testing.T) Config {
	cfg := lcConfig(t)
	cfg.AgentPingTimeout = 500 * time.Millisecond
	cfg.MaxAgentPingTimeouts = 4
	return cfg
}

// checkReconciled checks the fields every reconciliation answer has.
func checkReconciled(t *testing.T, st *mesospb.TaskStatus) {
	t.Helper()
	if st.GetReason() != mesospb.TaskStatus_REASON_RECONCILIATION || st.GetSource() != mesospb.TaskStatus_SOURCE_MASTER || len(st.GetUuid()) != 0 {
		t.Fatalf("reconciliation answer %v: want REASON_RECONCILIATION, SOURCE_MASTER and no uuid", st)
	}
}

// noTaskUpdated fails if the operator stream carries a TASK_UPDATED within quietFor.
func noTaskUpdated(t *testing.T, ops <-chan *masterpb.Event) {
	t.Helper()
	deadline := time.After(quietFor)
	for {
		select {
		case ev := <-ops:
			if ev.GetType() == masterpb.Event_TASK_UPDATED {
				t.Fatalf("reconciliation produced an operator TASK_UPDATED: %v", ev)
			}
		case <-deadline:
			return
		}
	}
}

// TestReconcileImplicit checks that an empty RECONCILE answers every task the master knows, with
// the state being delivered (status_update_state) rather than the newest one, and with the
// unreachable time of tasks on unreachable agents.
func TestReconcileImplicit(t *testing.T) {
	tm := lcStartMaster(t, pingConfig(t))
	a := lcAgent(t, tm.addr, "host-a")
	b := lcAgent(t, tm.addr, "host-b")
	s := lcSubscribe(t, tm.addr, codec.Protobuf, frameworkInfo("implicit", mesospb.FrameworkInfo_Capability_PARTITION_AWARE))
	offers := s.offersFrom(2)
	oa, ob := offers[0], offers[1]
	if oa.GetAgentId().GetValue() != a.ID() {
		oa, ob = ob, oa
	}
	s.running(oa, 0, commandTask("t1", oa, scalar("cpus", 1), scalar("mem", 64)), commandTask("t2", oa, scalar("cpus", 1), scalar("mem", 64)))
	s.running(ob, 0, commandTask("t3", ob, scalar("cpus", 1), scalar("mem", 64)))

	// t2: the agent re-sends RUNNING while it already knows FINISHED (queued behind the RUNNING
	// update in flight). The framework has to hear RUNNING first, so reconciliation says RUNNING.
	if _, err := a.SendStatus("t2", mesospb.TaskState_TASK_RUNNING, mesospb.TaskState_TASK_FINISHED); err != nil {
		t.Fatal(err)
	}
	s.must("the re-sent RUNNING of t2", updateWith("t2", mesospb.TaskState_TASK_RUNNING))

	// t3's agent goes silent and becomes unreachable.
	b.SetPongs(false)
	unreachable := s.must("TASK_UNREACHABLE of t3", updateWith("t3", mesospb.TaskState_TASK_UNREACHABLE)).GetUpdate().GetStatus()

	ops := lcOperatorEvents(t, tm.addr)
	s.reconcile()
	got := map[string]*mesospb.TaskStatus{}
	for len(got) < 3 {
		st := s.must("reconciliation answers", eventIs(schedulerpb.Event_UPDATE)).GetUpdate().GetStatus()
		checkReconciled(t, st)
		if got[st.GetTaskId().GetValue()] != nil {
			t.Fatalf("two answers for %s", st.GetTaskId().GetValue())
		}
		got[st.GetTaskId().GetValue()] = st
	}
	for id, want := range map[string]mesospb.TaskState{
		"t1": mesospb.TaskState_TASK_RUNNING, "t2": mesospb.TaskState_TASK_RUNNING, "t3": mesospb.TaskState_TASK_UNREACHABLE,
	} {
		if st := got[id]; st == nil || st.GetState() != want {
			t.Fatalf("implicit reconciliation of %s: %v, want %s", id, st, want)
		}
	}
	if got["t1"].GetAgentId().GetValue() != a.ID() {
		t.Fatalf("answer for t1 names agent %q, want %q", got["t1"].GetAgentId().GetValue(), a.ID())
	}
	if ut := got["t3"].GetUnreachableTime().GetNanoseconds(); ut == 0 || ut != unreachable.GetUnreachableTime().GetNanoseconds() {
		t.Fatalf("t3 unreachable_time %d, want %d as in its TASK_UNREACHABLE update", ut, unreachable.GetUnreachableTime().GetNanoseconds())
	}
	s.none("a fourth reconciliation answer", quietFor, eventIs(schedulerpb.Event_UPDATE))
	noTaskUpdated(t, ops)
}

// TestReconcileExplicit checks the answers to explicit reconciliation for every case of the
// reference's table, for partition-aware frameworks and for the others (which hear LOST).
func TestReconcileExplicit(t *testing.T) {
	pa := []mesospb.FrameworkInfo_Capability_Type{mesospb.FrameworkInfo_Capability_PARTITION_AWARE}
	for _, tc := range []struct {
		name                                            string
		caps                                            []mesospb.FrameworkInfo_Capability_Type
		unknownOnAgent, unknownAgent, unreachable, gone mesospb.TaskState
	}{
		{"partition-aware", pa, mesospb.TaskState_TASK_GONE, mesospb.TaskState_TASK_UNKNOWN, mesospb.TaskState_TASK_UNREACHABLE, mesospb.TaskState_TASK_GONE_BY_OPERATOR},
		{"not partition-aware", nil, mesospb.TaskState_TASK_LOST, mesospb.TaskState_TASK_LOST, mesospb.TaskState_TASK_LOST, mesospb.TaskState_TASK_LOST},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tm := lcStartMaster(t, pingConfig(t))
			a := lcAgent(t, tm.addr, "host-a")
			b := lcAgent(t, tm.addr, "host-b")
			c := lcAgent(t, tm.addr, "host-c")
			s := lcSubscribe(t, tm.addr, codec.Protobuf, frameworkInfo("explicit", tc.caps...))
			var oa *mesospb.Offer
			for _, o := range s.offersFrom(3) {
				if o.GetAgentId().GetValue() == a.ID() {
					oa = o
				}
			}
			s.running(oa, 0, commandTask("t1", oa, scalar("cpus", 1), scalar("mem", 64)))

			b.SetPongs(false)
			lcEventually(t, "host-b to become unreachable", func() bool { return lcState(t, tm.addr).UnreachableSlaves == 1 })
			if code, _, body := lcOperator(t, tm.addr, &masterpb.Call{Type: masterpb.Call_MARK_AGENT_GONE.Enum(),
				MarkAgentGone: &masterpb.Call_MarkAgentGone{AgentId: &mesospb.AgentID{Value: proto.String(c.ID())}}}); code != 200 {
				t.Fatalf("MARK_AGENT_GONE: %d %s", code, body)
			}

			ops := lcOperatorEvents(t, tm.addr)
			before := time.Now()
			s.reconcile(
				reconcileEntry("t1", a.ID()),
				reconcileEntry("ghost-a", a.ID()),
				reconcileEntry("ghost-x", "no-such-agent"),
				reconcileEntry("ghost-b", b.ID()),
				reconcileEntry("ghost-c", c.ID()),
				reconcileEntry("ghost-none", ""),
			)
			want := map[string]mesospb.TaskState{
				"t1":         mesospb.TaskState_TASK_RUNNING,
				"ghost-a":    tc.unknownOnAgent,
				"ghost-x":    tc.unknownAgent,
				"ghost-b":    tc.unreachable,
				"ghost-c":    tc.gone,
				"ghost-none": tc.unknownAgent,
			}
			for n := len(want); n > 0; n-- {
				st := s.must("reconciliation answers", eventIs(schedulerpb.Event_UPDATE)).GetUpdate().GetStatus()
				checkReconciled(t, st)
				id := st.GetTaskId().GetValue()
				if st.GetState() != want[id] {
					t.Errorf("reconciliation of %s: %s, want %s", id, st.GetState(), want[id])
				}
				delete(want, id)
				if id == "ghost-b" && tc.unreachable == mesospb.TaskState_TASK_UNREACHABLE {
					ut := time.Unix(0, st.GetUnreachableTime().GetNanoseconds())
					if st.UnreachableTime == nil || ut.After(before) || before.Sub(ut) > time.Minute {
						t.Errorf("ghost-b unreachable_time = %v, want when host-b became unreachable", st.GetUnreachableTime())
					}
				}
			}
			if len(want) != 0 {
				t.Fatalf("no answers for %v", want)
			}
			noTaskUpdated(t, ops)
		})
	}
}
