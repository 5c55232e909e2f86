package master

import (
	"sort"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"strata/kernel/mesos/codec"
	"strata/kernel/mesos/internalpb"
	"strata/kernel/mesos/mesospb"
	"strata/kernel/mesos/schedulerpb"
)

func failureOf(agentID string) func(*schedulerpb.Event) bool {
	return func(ev *schedulerpb.Event) bool {
		return ev.GetType() == schedulerpb.Event_FAILURE && ev.GetFailure().GetAgentId().GetValue() == agentID
	}
}

func isReregistered(ev *internalpb.AgentEvent) bool {
	return ev.GetType() == internalpb.AgentEvent_REREGISTERED
}

// killTasksOf returns the kill_tasks of the agent's latest REREGISTERED.
func killTasksOf(t *testing.T, evs []*internalpb.AgentEvent) []string {
	t.Helper()
	if len(evs) == 0 {
		t.Fatal("the agent got no REREGISTERED")
	}
	out := []string{}
	for _, id := range evs[len(evs)-1].GetReregistered().GetKillTasks() {
		out = append(out, id.GetValue())
	}
	return out
}

// TestAgentUnreachable lets an agent miss its PINGs: partition-aware frameworks hear
// TASK_UNREACHABLE, the others TASK_LOST, everyone FAILURE, its offers are rescinded; when it comes
// back, the partition-aware tasks are adopted again and the others are killed.
func TestAgentUnreachable(t *testing.T) {
	cfg := pingConfig(t)
	tm := lcStartMaster(t, cfg)
	agent := lcAgent(t, tm.addr, "host-a")
	pa := lcSubscribe(t, tm.addr, codec.Protobuf, frameworkInfo("aware", mesospb.FrameworkInfo_Capability_PARTITION_AWARE))
	o := pa.offer()
	pa.running(o, 3600, commandTask("p1", o, scalar("cpus", 1), scalar("mem", 128)))
	old := lcSubscribe(t, tm.addr, codec.JSON, frameworkInfo("unaware"))
	o = old.offer()
	old.running(o, 0, commandTask("l1", o, scalar("cpus", 1), scalar("mem", 128)))
	held := old.offer() // outstanding when the agent goes away

	agent.SetPongs(false)
	silent := time.Now()
	st := pa.must("TASK_UNREACHABLE of p1", updateFor("p1")).GetUpdate().GetStatus()
	limit := time.Duration(cfg.MaxAgentPingTimeouts) * cfg.AgentPingTimeout
	if d := time.Since(silent); d < limit-cfg.AgentPingTimeout {
		t.Fatalf("agent unreachable %v after it went silent; the limit is %v", d, limit)
	}
	if st.GetState() != mesospb.TaskState_TASK_UNREACHABLE || st.UnreachableTime == nil || len(st.GetUuid()) != 0 ||
		st.GetSource() != mesospb.TaskStatus_SOURCE_MASTER {
		t.Fatalf("partition-aware update: %v", st)
	}
	st = old.must("TASK_LOST of l1", updateFor("l1")).GetUpdate().GetStatus()
	if st.GetState() != mesospb.TaskState_TASK_LOST || st.GetReason() != mesospb.TaskStatus_REASON_AGENT_REMOVED || len(st.GetUuid()) != 0 {
		t.Fatalf("update for a framework that is not partition aware: %v", st)
	}
	old.must("RESCIND of the outstanding offer", rescindFor(held.GetId().GetValue()))
	pa.must("FAILURE", failureOf(agent.ID()))
	old.must("FAILURE", failureOf(agent.ID()))
	state := lcState(t, tm.addr)
	if state.UnreachableSlaves != 1 || state.hasSlave(agent.ID()) {
		t.Fatalf("state: unreachable_slaves %d, slaves %+v", state.UnreachableSlaves, state.Slaves)
	}
	if fw := state.framework(pa.fwID); fw == nil || strings.Join(lcTaskIDs(fw.UnreachableTasks), ",") != "p1" || len(fw.Tasks) != 0 {
		t.Fatalf("partition-aware framework: %+v, want p1 unreachable", fw)
	}

	// The agent comes back with both tasks: p1 is adopted, l1 must be killed.
	agent.SetPongs(true)
	if err := agent.Reregister(""); err != nil {
		t.Fatal(err)
	}
	if kill := killTasksOf(t, agent.Events(internalpb.AgentEvent_REREGISTERED)); strings.Join(kill, ",") != "l1" {
		t.Fatalf("kill_tasks = %v, want [l1]", kill)
	}
	lcEventually(t, "the agent to kill l1", func() bool { return strings.Join(agent.Tasks(), ",") == "p1" })
	// The partition-aware framework hears at once that p1 runs again (as Mesos does), without
	// having to reconcile.
	st = pa.must("TASK_RUNNING of p1 on re-registration", updateWith("p1", mesospb.TaskState_TASK_RUNNING)).GetUpdate().GetStatus()
	if st.GetReason() != mesospb.TaskStatus_REASON_AGENT_REREGISTERED || st.GetSource() != mesospb.TaskStatus_SOURCE_MASTER ||
		len(st.GetUuid()) != 0 || st.GetAgentId().GetValue() != agent.ID() {
		t.Fatalf("p1 when its agent re-registered: %v", st)
	}
	state = lcState(t, tm.addr)
	if state.UnreachableSlaves != 0 || !state.hasSlave(agent.ID()) {
		t.Fatalf("state after re-registration: unreachable_slaves %d, slaves %+v", state.UnreachableSlaves, state.Slaves)
	}
	if fw := state.framework(pa.fwID); fw == nil || strings.Join(lcTaskIDs(fw.Tasks), ",") != "p1" || len(fw.UnreachableTasks) != 0 {
		t.Fatalf("partition-aware framework after re-registration: %+v", fw)
	}
	pa.reconcile(reconcileEntry("p1", agent.ID()))
	if st := pa.must("reconciliation of p1", updateWith("p1", mesospb.TaskState_TASK_RUNNING)).GetUpdate().GetStatus(); st.GetReason() != mesospb.TaskStatus_REASON_RECONCILIATION {
		t.Fatalf("p1 after re-registration: %v", st)
	}
	// Healthy again: it stays registered past the ping limit.
	time.Sleep(2 * limit)
	if state := lcState(t, tm.addr); state.UnreachableSlaves != 0 {
		t.Fatal("the re-registered agent became unreachable again")
	}
}

// TestAgentStreamBreak breaks an agent's stream without missed PINGs: tasks of frameworks that do
// not checkpoint are LOST at once (partition aware or not), the others are kept; a kill sent
// meanwhile is delivered when the agent re-registers, together with the tasks declared LOST.
func TestAgentStreamBreak(t *testing.T) {
	tm := lcStartMaster(t, lcConfig(t)) // default ping timeouts: 75 s before unreachable
	agent := lcAgent(t, tm.addr, "host-a")
	cp := failoverAfter(frameworkInfo("checkpointing"), 3600)
	cp.Checkpoint = proto.Bool(true)
	keep := lcSubscribe(t, tm.addr, codec.Protobuf, cp)
	o := keep.offer()
	keep.running(o, 3600, commandTask("c1", o, scalar("cpus", 1), scalar("mem", 128)), commandTask("c2", o, scalar("cpus", 1), scalar("mem", 128)))
	lose := lcSubscribe(t, tm.addr, codec.Protobuf, frameworkInfo("volatile", mesospb.FrameworkInfo_Capability_PARTITION_AWARE))
	o = lose.offer()
	lose.running(o, 3600, commandTask("n1", o, scalar("cpus", 1), scalar("mem", 128)))

	agent.Disconnect()
	st := lose.must("update of n1", updateFor("n1")).GetUpdate().GetStatus()
	if st.GetState() != mesospb.TaskState_TASK_LOST || st.GetReason() != mesospb.TaskStatus_REASON_AGENT_DISCONNECTED {
		t.Fatalf("task of a framework without checkpointing when its agent disconnected: %v", st)
	}
	keep.none("updates for checkpointing tasks", quietFor, eventIs(schedulerpb.Event_UPDATE))
	state := lcState(t, tm.addr)
	if len(state.Slaves) != 1 || state.Slaves[0].Active || state.UnreachableSlaves != 0 {
		t.Fatalf("slaves after the stream broke: %+v (unreachable %d), want the agent kept inactive", state.Slaves, state.UnreachableSlaves)
	}
	if fw := state.framework(keep.fwID); strings.Join(lcTaskIDs(fw.Tasks), ",") != "c1,c2" {
		t.Fatalf("checkpointing framework's tasks: %+v", fw.Tasks)
	}
	// A kill while the agent is away waits for it.
	keep.mustCall(&schedulerpb.Call{Type: schedulerpb.Call_KILL.Enum(), Kill: &schedulerpb.Call_Kill{TaskId: &mesospb.TaskID{Value: proto.String("c2")}}})

	if err := agent.Reregister(""); err != nil {
		t.Fatal(err)
	}
	kill := killTasksOf(t, agent.Events(internalpb.AgentEvent_REREGISTERED))
	if strings.Join(sortedCopy(kill), ",") != "c2,n1" {
		t.Fatalf("kill_tasks = %v, want c2 (killed meanwhile) and n1 (declared LOST)", kill)
	}
	keep.must("TASK_KILLED of c2", updateWith("c2", mesospb.TaskState_TASK_KILLED))
	lcEventually(t, "the agent to run only c1", func() bool { return strings.Join(agent.Tasks(), ",") == "c1" })
	keep.reconcile()
	if st := keep.must("reconciliation of c1", updateFor("c1")).GetUpdate().GetStatus(); st.GetState() != mesospb.TaskState_TASK_RUNNING {
		t.Fatalf("c1 after re-registration: %v", st)
	}
	state = lcState(t, tm.addr)
	if len(state.Slaves) != 1 || !state.Slaves[0].Active {
		t.Fatalf("slaves after re-registration: %+v", state.Slaves)
	}
}

// TestAgentReregisterWithoutTask re-registers an agent that lost a task the master tracks (its
// RUN_TASK never arrived, say): the framework hears DROPPED (LOST if not partition aware) with
// REASON_RECONCILIATION, and the task's resources are free again.
func TestAgentReregisterWithoutTask(t *testing.T) {
	tm := lcStartMaster(t, lcConfig(t))
	agent := lcAgent(t, tm.addr, "host-a")
	// Checkpointing, so that the stream break of the re-registration itself does not make its
	// tasks LOST first.
	info := frameworkInfo("forgotten", mesospb.FrameworkInfo_Capability_PARTITION_AWARE)
	info.Checkpoint = proto.Bool(true)
	s := lcSubscribe(t, tm.addr, codec.Protobuf, info)
	o := s.offer()
	s.running(o, 3600, commandTask("t1", o, scalar("cpus", 1), scalar("mem", 128)), commandTask("t2", o, scalar("cpus", 1), scalar("mem", 128)))
	agent.Forget("t2")
	if err := agent.Reregister(""); err != nil {
		t.Fatal(err)
	}
	st := s.must("update of t2", updateFor("t2")).GetUpdate().GetStatus()
	if st.GetState() != mesospb.TaskState_TASK_DROPPED || st.GetReason() != mesospb.TaskStatus_REASON_RECONCILIATION || len(st.GetUuid()) != 0 {
		t.Fatalf("task missing from a re-registration: %v", st)
	}
	fw := lcState(t, tm.addr).framework(s.fwID)
	if strings.Join(lcTaskIDs(fw.Tasks), ",") != "t1" || len(fw.CompletedTasks) != 1 {
		t.Fatalf("tasks after re-registration: %+v", fw)
	}
	if cpus, _ := fw.UsedResources["cpus"].(float64); cpus != 1 {
		t.Fatalf("framework uses %v cpus, want 1 (t1)", cpus)
	}
	s.none("UPDATE of t1", quietFor, updateFor("t1"))
}

func sortedCopy(ss []string) []string {
	out := append([]string(nil), ss...)
	sort.Strings(out)
	return out
}

// TestAgentDisconnectedBecomesUnreachable checks that an agent whose stream broke and that does not
// come back is marked unreachable once the ping limit passes, like a silent one: its checkpointed
// tasks become UNREACHABLE.
func TestAgentDisconnectedBecomesUnreachable(t *testing.T) {
	tm := lcStartMaster(t, pingConfig(t))
	agent := lcAgent(t, tm.addr, "host-a")
	info := frameworkInfo("patient", mesospb.FrameworkInfo_Capability_PARTITION_AWARE)
	info.Checkpoint = proto.Bool(true)
	s := lcSubscribe(t, tm.addr, codec.Protobuf, info)
	o := s.offer()
	s.running(o, 3600, commandTask("t1", o, scalar("cpus", 1), scalar("mem", 128)))
	agent.Disconnect()
	st := s.must("update of t1", updateFor("t1")).GetUpdate().GetStatus()
	if st.GetState() != mesospb.TaskState_TASK_UNREACHABLE || st.UnreachableTime == nil {
		t.Fatalf("checkpointed task on an agent that never came back: %v", st)
	}
	s.must("FAILURE", failureOf(agent.ID()))
	if state := lcState(t, tm.addr); state.UnreachableSlaves != 1 || len(state.Slaves) != 0 {
		t.Fatalf("state: unreachable_slaves %d, slaves %+v", state.UnreachableSlaves, state.Slaves)
	}
}
