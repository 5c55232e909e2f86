package e2e

import (
	"strings"
	"syscall"
	"testing"
	"time"

	"strata/kernel/mesos/mesospb"
	"strata/kernel/mesos/taskstate"
)

// TestFaultExecutorAndTaskCrash kills, with SIGKILL, first the command executor of a running
// task, then the process of another task (the executor's child), on one agent.
//
// Outcome: when the executor dies, the agent destroys the rest of its container (the task's
// process goes too) and the framework gets TASK_FAILED with REASON_EXECUTOR_TERMINATED and the
// message "Executor terminated with signal Killed" (SOURCE_AGENT), as Mesos reports an executor
// that exits while it has live tasks. When the task's own process dies, its executor reports
// TASK_FAILED, REASON_COMMAND_EXECUTOR_FAILED, "Command terminated with signal Killed"
// (SOURCE_EXECUTOR), and exits. Either way the agent keeps working: a new task launches and runs
// to TASK_FINISHED afterwards, and the agent reports no live task.
func TestFaultExecutorAndTaskCrash(t *testing.T) {
	_, master, agentArgs, agentAddr := startCluster(t)
	start(t, append(agentArgs, "--podman", "off", "--cgroups-root", faultCgroupsRoot(t, 0))...)
	eventually(t, 20*time.Second, "the agent to register", func() bool { return activeAgents(t, master) == 1 })
	fw := startFramework(t, master, true)
	defer faultTeardown(t, []*framework{fw}, agentAddr)
	tr := faultTrack(t, fw)

	// The executor dies.
	fw.launch("exec-crash", "sleep 100000")
	st := tr.awaitState("exec-crash", mesospb.TaskState_TASK_RUNNING, 0, 30*time.Second)
	execPid := faultExecutorPid(t, st)
	tree := faultTree(execPid)
	if len(tree) < 2 {
		t.Fatalf("the executor (pid %d) has no task process: %v", execPid, tree)
	}
	mark := tr.mark()
	if err := syscall.Kill(execPid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	st = tr.awaitState("exec-crash", mesospb.TaskState_TASK_FAILED, mark, 30*time.Second)
	t.Logf("executor killed: %s %s source %s %q", st.GetState(), st.GetReason(), st.GetSource(), st.GetMessage())
	if st.GetReason() != mesospb.TaskStatus_REASON_EXECUTOR_TERMINATED || st.GetSource() != mesospb.TaskStatus_SOURCE_AGENT ||
		!strings.Contains(st.GetMessage(), "Killed") {
		t.Errorf("the executor's death: %s %s %s %q, want TASK_FAILED REASON_EXECUTOR_TERMINATED from the agent naming the signal",
			st.GetState(), st.GetReason(), st.GetSource(), st.GetMessage())
	}
	eventually(t, 10*time.Second, "the task's process to go with its executor", func() bool { return !faultAlive(tree[1:2]) })

	// The task's process dies.
	fw.launch("task-crash", "sleep 100000")
	st = tr.awaitState("task-crash", mesospb.TaskState_TASK_RUNNING, mark, 30*time.Second)
	execPid = faultExecutorPid(t, st)
	tree = faultTree(execPid)
	if len(tree) < 2 {
		t.Fatalf("the executor (pid %d) has no task process: %v", execPid, tree)
	}
	mark = tr.mark()
	if err := syscall.Kill(tree[1].pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	st = tr.awaitState("task-crash", mesospb.TaskState_TASK_FAILED, mark, 30*time.Second)
	t.Logf("task process killed: %s %s source %s %q", st.GetState(), st.GetReason(), st.GetSource(), st.GetMessage())
	if st.GetSource() != mesospb.TaskStatus_SOURCE_EXECUTOR || st.GetMessage() != "Command terminated with signal Killed" ||
		st.GetReason() != mesospb.TaskStatus_REASON_COMMAND_EXECUTOR_FAILED {
		t.Errorf("the task's death: %s %s %s %q, want TASK_FAILED REASON_COMMAND_EXECUTOR_FAILED from the executor, \"Command terminated with signal Killed\"",
			st.GetState(), st.GetReason(), st.GetSource(), st.GetMessage())
	}
	eventually(t, 10*time.Second, "the executor to exit after its task", func() bool { return !faultAlive(tree[:1]) })

	// The agent still works.
	fw.launch("after", "true")
	tr.awaitState("after", mesospb.TaskState_TASK_FINISHED, mark, 30*time.Second)
	eventually(t, 10*time.Second, "the agent to report no live task", func() bool {
		for _, state := range faultAgentTasks(t, agentAddr) {
			if !taskstate.IsTerminal(mesospb.TaskState(mesospb.TaskState_value[state])) {
				return false
			}
		}
		return true
	})
}
