package master

import (
	"testing"
	"time"

	"strata/kernel/mesos/codec"
	"strata/kernel/mesos/masterpb"
	"strata/kernel/mesos/mesospb"
	"strata/kernel/mesos/schedulerpb"
)

// TestTeardownKeepsTerminalTaskState: a framework that tears down while the terminal update of one
// of its tasks is still unacknowledged (the npm mesos-framework library does that when it is
// stopped right after a TASK_FINISHED) must see that task stay TASK_FINISHED, as Mesos keeps a
// terminal task state: no TASK_KILLED update after the TASK_FINISHED, and TASK_FINISHED in the
// completed tasks. A task still running at teardown is killed as before.
func TestTeardownKeepsTerminalTaskState(t *testing.T) {
	c := startOpCluster(t, nil)
	c.runTask(t, func(o *mesospb.Offer) *mesospb.TaskInfo { return commandTask("done", o, scalar("cpus", 1)) })
	c.runTask(t, func(o *mesospb.Offer) *mesospb.TaskInfo { return commandTask("live", o, scalar("cpus", 1)) })

	if _, err := c.agent.SendStatus("done", mesospb.TaskState_TASK_FINISHED, mesospb.TaskState_TASK_FINISHED); err != nil {
		t.Fatal(err)
	}
	if up := c.waitUpdate(t, "done"); up.GetState() != mesospb.TaskState_TASK_FINISHED {
		t.Fatalf("update of done: %v", up)
	}
	// Not acknowledged: the master still holds "done" as an active task awaiting its ack.
	c.sched.mustCall(&schedulerpb.Call{Type: schedulerpb.Call_TEARDOWN.Enum()})

	timeout := time.After(10 * time.Second)
	for closed := false; !closed; {
		select {
		case ev, ok := <-c.sched.events:
			if !ok {
				closed = true
				continue
			}
			if st := ev.GetUpdate().GetStatus(); ev.GetType() == schedulerpb.Event_UPDATE && st.GetTaskId().GetValue() == "done" {
				t.Fatalf("update for the finished task after TEARDOWN: %v", st)
			}
		case <-timeout:
			t.Fatal("the scheduler stream was not closed within 10s of TEARDOWN")
		}
	}

	want := map[string]mesospb.TaskState{"done": mesospb.TaskState_TASK_FINISHED, "live": mesospb.TaskState_TASK_KILLED}
	tasks := opQuery(t, c.addr, codec.JSON, opCall(masterpb.Call_GET_TASKS)).GetGetTasks()
	if len(tasks.GetTasks()) != 0 || len(tasks.GetCompletedTasks()) != len(want) {
		t.Fatalf("tasks after teardown: %v", tasks)
	}
	for _, tk := range tasks.GetCompletedTasks() {
		if got := tk.GetState(); got != want[tk.GetTaskId().GetValue()] {
			t.Errorf("completed task %s: state %s, want %s", tk.GetTaskId().GetValue(), got, want[tk.GetTaskId().GetValue()])
		}
	}
}
