package master

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	"strata/kernel/agent/simagent"
	"strata/kernel/mesos/codec"
	"strata/kernel/mesos/mesospb"
	"strata/kernel/mesos/schedulerpb"
)

func acked(a *simagent.Agent, taskID string, uuid []byte) bool {
	for _, ack := range a.Acks() {
		if ack.TaskID == taskID && bytes.Equal(ack.UUID, uuid) {
			return true
		}
	}
	return false
}

// TestStatusUpdatesAtLeastOnce checks the reliable-delivery contract: updates from the agent carry
// a uuid, the master keeps a task whose terminal update is not acknowledged yet (with its resources
// already free), the acknowledgement reaches the agent, and only then is the task completed.
func TestStatusUpdatesAtLeastOnce(t *testing.T) {
	tm := lcStartMaster(t, lcConfig(t))
	agent := lcAgent(t, tm.addr, "host-a")
	s := lcSubscribe(t, tm.addr, codec.Protobuf, frameworkInfo("reliable"))
	o := s.offer()
	s.mustCall(launchCall(o, commandTask("t1", o, scalar("cpus", 1), scalar("mem", 128))))
	running := s.must("TASK_RUNNING", updateWith("t1", mesospb.TaskState_TASK_RUNNING)).GetUpdate().GetStatus()
	if len(running.GetUuid()) != 16 || running.GetSource() != mesospb.TaskStatus_SOURCE_EXECUTOR {
		t.Fatalf("agent update without a uuid or with the wrong source: %v", running)
	}
	s.ack(running)
	lcEventually(t, "the RUNNING acknowledgement to reach the agent", func() bool { return acked(agent, "t1", running.GetUuid()) })

	uuid, err := agent.SendStatus("t1", mesospb.TaskState_TASK_FINISHED, mesospb.TaskState_TASK_FINISHED)
	if err != nil {
		t.Fatal(err)
	}
	finished := s.must("TASK_FINISHED", updateWith("t1", mesospb.TaskState_TASK_FINISHED)).GetUpdate().GetStatus()
	if !bytes.Equal(finished.GetUuid(), uuid) {
		t.Fatalf("forwarded uuid %x, the agent sent %x", finished.GetUuid(), uuid)
	}
	// Not acknowledged: the task is still the master's, in its terminal state, holding nothing.
	st := lcState(t, tm.addr).framework(s.fwID)
	if st == nil || len(st.Tasks) != 1 || st.Tasks[0].State != "TASK_FINISHED" || len(st.CompletedTasks) != 0 {
		t.Fatalf("before the acknowledgement: %+v, want t1 among the tasks in TASK_FINISHED", st)
	}
	if cpus, _ := st.UsedResources["cpus"].(float64); cpus != 0 {
		t.Fatalf("a finished task still uses %v cpus", cpus)
	}

	// A malformed uuid is refused and changes nothing.
	code, body := s.call(&schedulerpb.Call{Type: schedulerpb.Call_ACKNOWLEDGE.Enum(), Acknowledge: &schedulerpb.Call_Acknowledge{
		AgentId: finished.AgentId, TaskId: finished.TaskId, Uuid: []byte("abc")}})
	if code != http.StatusBadRequest || !strings.Contains(body, "uuid") {
		t.Fatalf("ACKNOWLEDGE with a 3-byte uuid: %d %s", code, body)
	}
	if st := lcState(t, tm.addr).framework(s.fwID); len(st.Tasks) != 1 {
		t.Fatalf("a refused acknowledgement completed the task: %+v", st)
	}

	s.ack(finished)
	lcEventually(t, "the FINISHED acknowledgement to reach the agent", func() bool { return acked(agent, "t1", uuid) })
	st = lcState(t, tm.addr).framework(s.fwID)
	if len(st.Tasks) != 0 || len(st.CompletedTasks) != 1 || st.CompletedTasks[0].ID != "t1" || st.CompletedTasks[0].State != "TASK_FINISHED" {
		t.Fatalf("after the acknowledgement: %+v, want t1 completed", st)
	}

	// Updates the master makes itself carry no uuid.
	s.reconcile(reconcileEntry("t1", agent.ID()))
	rec := s.must("reconciliation of t1", updateFor("t1")).GetUpdate().GetStatus()
	if len(rec.GetUuid()) != 0 || rec.GetSource() != mesospb.TaskStatus_SOURCE_MASTER {
		t.Fatalf("master-made update: %v", rec)
	}
}

// TestStatusUpdateOfUnknownTask checks that an update for a removed framework is acknowledged by
// the master, so that the agent can drop it.
func TestStatusUpdateOfUnknownTask(t *testing.T) {
	tm := lcStartMaster(t, lcConfig(t))
	agent := lcAgent(t, tm.addr, "host-a")
	s := lcSubscribe(t, tm.addr, codec.Protobuf, failoverAfter(frameworkInfo("gone"), 0))
	o := s.offer()
	s.running(o, 0, commandTask("t1", o, scalar("cpus", 1), scalar("mem", 128)))
	s.mustCall(&schedulerpb.Call{Type: schedulerpb.Call_TEARDOWN.Enum()})
	lcAgentEvent(t, agent, "SHUTDOWN_FRAMEWORK", shutdownFor(s.fwID))
	// The agent kills t1 and reports it; nobody will acknowledge but the master.
	lcEventually(t, "the master to acknowledge the update of a removed framework", func() bool {
		for _, a := range agent.Acks() {
			if a.TaskID == "t1" && a.FrameworkID == s.fwID {
				return true
			}
		}
		return false
	})
}
