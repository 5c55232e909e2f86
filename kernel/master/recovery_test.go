package master

import (
	"strings"
	"testing"
	"time"

	"strata/kernel/mesos/codec"
	"strata/kernel/mesos/internalpb"
	"strata/kernel/mesos/masterpb"
	"strata/kernel/mesos/mesospb"
	"strata/kernel/mesos/schedulerpb"
)

// TestMasterRestart stops a master and starts another on the same registry. Frameworks come back
// disconnected and `recovered`; a torn-down one stays removed; agents are `recovered` until they
// re-register, and explicit reconciliation about them gets no answer until then; a framework that
// re-subscribes keeps its tasks; one that never comes back is removed after its failover timeout
// and its tasks are killed on the agent (MESOS-4659); an agent that never comes back becomes
// unreachable after the re-registration timeout.
func TestMasterRestart(t *testing.T) {
	t.Parallel()
	cfg := lcConfig(t)
	cfg.AgentPingTimeout = 200 * time.Millisecond
	cfg.MaxAgentPingTimeouts = 5
	first := lcStartMaster(t, cfg)
	agent := lcAgent(t, first.addr, "host-a")
	lost := lcAgent(t, first.addr, "host-b")

	stayInfo := failoverAfter(frameworkInfo("stays", mesospb.FrameworkInfo_Capability_PARTITION_AWARE), 3600)
	stay := lcSubscribe(t, first.addr, codec.Protobuf, stayInfo)
	var oa *mesospb.Offer
	for _, o := range stay.offersFrom(2) {
		if o.GetAgentId().GetValue() == agent.ID() {
			oa = o
		}
	}
	stay.running(oa, 3600, commandTask("f1", oa, scalar("cpus", 1), scalar("mem", 128)))
	leave := lcSubscribe(t, first.addr, codec.Protobuf, failoverAfter(frameworkInfo("leaves"), 4))
	o := leave.offer()
	for o.GetAgentId().GetValue() != agent.ID() {
		leave.decline(o, refuseFor(3600))
		o = leave.offer()
	}
	leave.running(o, 3600, commandTask("h1", o, scalar("cpus", 1), scalar("mem", 128)))
	downInfo := failoverAfter(frameworkInfo("torn-down"), 3600)
	down := lcSubscribe(t, first.addr, codec.Protobuf, downInfo)
	down.mustCall(&schedulerpb.Call{Type: schedulerpb.Call_TEARDOWN.Enum()})
	lcEventually(t, "the teardown", func() bool { return lcState(t, first.addr).completed(down.fwID) != nil })

	first.stop()
	cfg.AgentReregisterTimeout = 2 * time.Second
	second := lcStartMaster(t, cfg)

	// Frameworks are back, disconnected and recovered; the torn-down one is not.
	code, resp, body := lcOperator(t, second.addr, &masterpb.Call{Type: masterpb.Call_GET_FRAMEWORKS.Enum()})
	if code != 200 {
		t.Fatalf("GET_FRAMEWORKS: %d %s", code, body)
	}
	recovered := map[string]bool{}
	for _, fw := range resp.GetGetFrameworks().GetFrameworks() {
		if fw.GetConnected() || fw.GetActive() || !fw.GetRecovered() {
			t.Fatalf("recovered framework %s: connected %v active %v recovered %v", fw.GetFrameworkInfo().GetName(), fw.GetConnected(), fw.GetActive(), fw.GetRecovered())
		}
		recovered[fw.GetFrameworkInfo().GetId().GetValue()] = true
	}
	if !recovered[stay.fwID] || !recovered[leave.fwID] || recovered[down.fwID] || len(recovered) != 2 {
		t.Fatalf("recovered frameworks %v, want %s and %s", recovered, stay.fwID, leave.fwID)
	}
	if fw := lcState(t, second.addr).framework(stay.fwID); fw == nil || !fw.Recovered || fw.Connected {
		t.Fatalf("/master/state framework %+v, want recovered and disconnected", fw)
	}
	if msg := lcSubscribeRefused(t, second.addr, down.withID(downInfo)); msg != "Framework has been removed" {
		t.Fatalf("re-subscription of the torn-down framework: ERROR %q", msg)
	}

	// Agents are recovered until they re-register.
	state := lcState(t, second.addr)
	if !state.hasRecoveredSlave(agent.ID()) || !state.hasRecoveredSlave(lost.ID()) || len(state.Slaves) != 0 {
		t.Fatalf("after restart: slaves %+v, recovered %+v", state.Slaves, state.RecoveredSlaves)
	}
	_, resp, _ = lcOperator(t, second.addr, &masterpb.Call{Type: masterpb.Call_GET_AGENTS.Enum()})
	if n := len(resp.GetGetAgents().GetRecoveredAgents()); n != 2 {
		t.Fatalf("GET_AGENTS recovered_agents: %d, want 2", n)
	}

	// The framework re-subscribes with its id. Its task is unknown until the agent is back: no
	// answer for it (nor for a task without agent id), while a task on an agent nobody knows is
	// answered — in order, so that answer proves the others were never sent.
	again := lcSubscribe(t, second.addr, codec.JSON, stay.withID(stayInfo))
	if again.fwID != stay.fwID {
		t.Fatalf("re-subscription got id %q, want %q", again.fwID, stay.fwID)
	}
	again.reconcile(reconcileEntry("f1", agent.ID()), reconcileEntry("nowhere", ""))
	again.reconcile(reconcileEntry("control", "no-such-agent"))
	if st := again.must("an UPDATE", eventIs(schedulerpb.Event_UPDATE)).GetUpdate().GetStatus(); st.GetTaskId().GetValue() != "control" || st.GetState() != mesospb.TaskState_TASK_UNKNOWN {
		t.Fatalf("first reconciliation answer %v, want only the one for control (UNKNOWN)", st)
	}

	// The agent re-registers with its tasks: the framework that came back keeps f1.
	if err := agent.Reregister(second.addr); err != nil {
		t.Fatal(err)
	}
	state = lcState(t, second.addr)
	if !state.hasSlave(agent.ID()) || state.hasRecoveredSlave(agent.ID()) {
		t.Fatalf("after re-registration: slaves %+v, recovered %+v", state.Slaves, state.RecoveredSlaves)
	}
	again.reconcile()
	if st := again.must("reconciliation of f1", updateFor("f1")).GetUpdate().GetStatus(); st.GetState() != mesospb.TaskState_TASK_RUNNING {
		t.Fatalf("f1 after the restart: %v", st)
	}
	if fw := lcState(t, second.addr).framework(stay.fwID); fw == nil || !fw.Connected || fw.Recovered || strings.Join(lcTaskIDs(fw.Tasks), ",") != "f1" {
		t.Fatalf("framework after re-subscribing: %+v", fw)
	}

	// The framework that never comes back is removed after its failover timeout, and its task is
	// killed on the agent.
	lcAgentEvent(t, agent, "SHUTDOWN_FRAMEWORK of the framework that left", shutdownFor(leave.fwID))
	lcEventually(t, "the agent to run only f1", func() bool { return strings.Join(agent.Tasks(), ",") == "f1" })
	if st := lcState(t, second.addr); st.completed(leave.fwID) == nil || st.framework(leave.fwID) != nil {
		t.Fatalf("framework that left: frameworks %+v completed %+v", st.Frameworks, st.CompletedFrameworks)
	}

	// The agent that never comes back becomes unreachable after the re-registration timeout.
	lcEventually(t, "host-b to become unreachable", func() bool {
		st := lcState(t, second.addr)
		return st.UnreachableSlaves == 1 && !st.hasRecoveredSlave(lost.ID())
	})
	again.reconcile(reconcileEntry("ghost", lost.ID()))
	if st := again.must("reconciliation of ghost", updateFor("ghost")).GetUpdate().GetStatus(); st.GetState() != mesospb.TaskState_TASK_UNREACHABLE {
		t.Fatalf("task on the agent that never came back: %v", st)
	}
}

// TestMasterRestartKeepsConnectedFrameworks checks that a master restart is no scheduler failover:
// a framework with failover_timeout 0 that was connected when the master stopped may re-subscribe
// to the next master (within the re-registration window) and keeps its tasks.
func TestMasterRestartKeepsConnectedFrameworks(t *testing.T) {
	t.Parallel()
	cfg := lcConfig(t)
	cfg.AgentReregisterTimeout = time.Minute
	first := lcStartMaster(t, cfg)
	agent := lcAgent(t, first.addr, "host-a")
	info := failoverAfter(frameworkInfo("no-failover"), 0)
	s := lcSubscribe(t, first.addr, codec.Protobuf, info)
	o := s.offer()
	s.running(o, 0, commandTask("t1", o, scalar("cpus", 1), scalar("mem", 128)))

	first.stop()
	second := lcStartMaster(t, cfg)
	if err := agent.Reregister(second.addr); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // the scheduler takes a moment to find the new master
	again := lcSubscribe(t, second.addr, codec.Protobuf, s.withID(info))
	again.reconcile()
	if st := again.must("reconciliation of t1", updateFor("t1")).GetUpdate().GetStatus(); st.GetState() != mesospb.TaskState_TASK_RUNNING {
		t.Fatalf("t1 after the master restart: %v", st)
	}
	if got := agent.Events(internalpb.AgentEvent_SHUTDOWN_FRAMEWORK); len(got) != 0 || strings.Join(agent.Tasks(), ",") != "t1" {
		t.Fatalf("the agent was told to shut the framework down (%v) or lost t1 (%v)", got, agent.Tasks())
	}
	// A disconnection after that is a scheduler failover again: failover_timeout 0 applies.
	again.cancel()
	lcAgentEvent(t, agent, "SHUTDOWN_FRAMEWORK", shutdownFor(s.fwID))
}
