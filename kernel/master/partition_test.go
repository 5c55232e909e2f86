package master

import (
	"strings"
	"testing"

	"strata/kernel/mesos/codec"
	"strata/kernel/mesos/mesospb"
	"strata/kernel/mesos/schedulerpb"
)

// TestUnreachableAgentComesBack partitions an agent with three tasks of a partition-aware
// framework and lets it re-register after one task ended while it was away (its update still
// pending on the agent) and another vanished with no trace: the framework hears, from the master
// and at once, RUNNING for the task that kept running and FINISHED for the one that ended (both
// REASON_AGENT_REREGISTERED), and DROPPED for the vanished one; none stays in the unreachable
// list, and the ended task is completed once the agent's own update is acknowledged.
func TestUnreachableAgentComesBack(t *testing.T) {
	tm := lcStartMaster(t, pingConfig(t))
	agent := lcAgent(t, tm.addr, "host-a")
	pa := lcSubscribe(t, tm.addr, codec.Protobuf, frameworkInfo("aware", mesospb.FrameworkInfo_Capability_PARTITION_AWARE))
	o := pa.offer()
	pa.running(o, 3600,
		commandTask("keeps", o, scalar("cpus", 1), scalar("mem", 64)),
		commandTask("ends", o, scalar("cpus", 1), scalar("mem", 64)),
		commandTask("vanishes", o, scalar("cpus", 1), scalar("mem", 64)))

	agent.SetPongs(false)
	for _, id := range []string{"keeps", "ends", "vanishes"} {
		pa.must("TASK_UNREACHABLE of "+id, updateWith(id, mesospb.TaskState_TASK_UNREACHABLE))
	}
	if err := agent.EndUnreported("ends", mesospb.TaskState_TASK_FINISHED); err != nil {
		t.Fatal(err)
	}
	agent.Forget("vanishes")

	agent.SetPongs(true)
	if err := agent.Reregister(""); err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]mesospb.TaskState{"keeps": mesospb.TaskState_TASK_RUNNING, "ends": mesospb.TaskState_TASK_FINISHED} {
		st := pa.must(want.String()+" of "+id, updateWith(id, want)).GetUpdate().GetStatus()
		if st.GetReason() != mesospb.TaskStatus_REASON_AGENT_REREGISTERED || st.GetSource() != mesospb.TaskStatus_SOURCE_MASTER ||
			len(st.GetUuid()) != 0 || st.GetAgentId().GetValue() != agent.ID() {
			t.Fatalf("%s when its agent re-registered: %v", id, st)
		}
	}
	st := pa.must("TASK_DROPPED of vanishes", updateFor("vanishes")).GetUpdate().GetStatus()
	if st.GetState() != mesospb.TaskState_TASK_DROPPED || len(st.GetUuid()) != 0 {
		t.Fatalf("a task written off as unreachable that the agent no longer has: %v", st)
	}

	fw := lcState(t, tm.addr).framework(pa.fwID)
	if fw == nil || len(fw.UnreachableTasks) != 0 || strings.Join(lcTaskIDs(fw.Tasks), ",") != "ends,keeps" ||
		strings.Join(lcTaskIDs(fw.CompletedTasks), ",") != "vanishes" {
		t.Fatalf("after re-registration: %+v; want keeps and ends (its update unacknowledged) tracked, vanishes completed", fw)
	}
	if cpus, _ := fw.UsedResources["cpus"].(float64); cpus != 1 {
		t.Fatalf("framework uses %v cpus, want 1 (keeps)", cpus)
	}

	// The agent's own update of the ended task arrives and is acknowledged: the task completes.
	if _, err := agent.SendStatus("ends", mesospb.TaskState_TASK_FINISHED, mesospb.TaskState_TASK_FINISHED); err != nil {
		t.Fatal(err)
	}
	u := pa.must("the agent's TASK_FINISHED of ends", func(ev *schedulerpb.Event) bool {
		return updateWith("ends", mesospb.TaskState_TASK_FINISHED)(ev) && len(ev.GetUpdate().GetStatus().GetUuid()) > 0
	}).GetUpdate().GetStatus()
	pa.ack(u)
	lcEventually(t, "ends to complete once acknowledged", func() bool {
		fw := lcState(t, tm.addr).framework(pa.fwID)
		return fw != nil && strings.Join(lcTaskIDs(fw.Tasks), ",") == "keeps" &&
			strings.Join(lcTaskIDs(fw.CompletedTasks), ",") == "ends,vanishes"
	})
	pa.none("another update of keeps", quietFor, updateFor("keeps"))
}
