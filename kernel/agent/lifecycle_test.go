package agent

import (
	"fmt"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"strata/kernel/mesos/internalpb"
	"strata/kernel/mesos/mesospb"
)

func runTaskGroup(fi *mesospb.FrameworkInfo, ei *mesospb.ExecutorInfo, tasks ...*mesospb.TaskInfo) *internalpb.AgentEvent {
	for _, t := range tasks {
		t.Executor = nil
	}
	return &internalpb.AgentEvent{Type: internalpb.AgentEvent_RUN_TASK_GROUP.Enum(),
		RunTaskGroup: &internalpb.AgentEvent_RunTaskGroup{Framework: fi, Executor: ei,
			TaskGroup: &mesospb.TaskGroupInfo{Tasks: tasks}}}
}

func TestTaskGroups(t *testing.T) {
	m := newTestMaster(t)
	startAgent(t, testConfig(t, m))
	m.waitCall("REGISTER", 10*time.Second, isType(internalpb.AgentCall_REGISTER))
	fi := frameworkInfo(t, "fw-1", false)

	// A DEFAULT executor (no command) is the built-in default executor.
	def := &mesospb.ExecutorInfo{Type: mesospb.ExecutorInfo_DEFAULT.Enum(),
		ExecutorId: &mesospb.ExecutorID{Value: proto.String("default-ex")}, FrameworkId: fi.GetId(),
		Resources: []*mesospb.Resource{scalar("cpus", 0.1), scalar("mem", 32)}}
	m.send(runTaskGroup(fi, def, groupCommandTask("d1", "exec sleep 60")))
	m.ack(m.waitUpdate("d1", mesospb.TaskState_TASK_STARTING))
	m.ack(m.waitUpdate("d1", mesospb.TaskState_TASK_RUNNING))

	// An executor with a command receives LAUNCH_GROUP.
	a := customTask(t, "fw-1", "group-ex", "g-a", "stay")
	b := customTask(t, "fw-1", "group-ex", "g-b", "stay")
	ei := proto.Clone(a.Executor).(*mesospb.ExecutorInfo)
	m.send(runTaskGroup(fi, ei, a, b))
	m.ack(m.waitUpdate("g-a", mesospb.TaskState_TASK_RUNNING))
	m.ack(m.waitUpdate("g-b", mesospb.TaskState_TASK_RUNNING))

	// SHUTDOWN_FRAMEWORK shuts its executors down.
	m.send(&internalpb.AgentEvent{Type: internalpb.AgentEvent_SHUTDOWN_FRAMEWORK.Enum(),
		ShutdownFramework: &internalpb.AgentEvent_ShutdownFramework{FrameworkId: fi.GetId()}})
	m.waitUpdate("g-a", mesospb.TaskState_TASK_KILLED)
	m.waitUpdate("g-b", mesospb.TaskState_TASK_KILLED)
	m.waitUpdate("d1", mesospb.TaskState_TASK_KILLED)
	m.waitCall("EXITED_EXECUTOR", 20*time.Second, isType(internalpb.AgentCall_EXITED_EXECUTOR))
	m.waitCall("EXITED_EXECUTOR", 20*time.Second, isType(internalpb.AgentCall_EXITED_EXECUTOR))
}

func TestKillQueuedTask(t *testing.T) {
	m := newTestMaster(t)
	a := startAgent(t, testConfig(t, m))
	m.waitCall("REGISTER", 10*time.Second, isType(internalpb.AgentCall_REGISTER))
	ti := customTask(t, "fw-1", "ex-1", "q1", "stay")
	// An executor that never subscribes keeps the task queued.
	ti.Executor.Command = &mesospb.CommandInfo{Value: proto.String("exec sleep 60")}
	m.send(runTask(frameworkInfo(t, "fw-1", false), ti))
	eventually(t, 10*time.Second, func() error {
		var sd stateDoc
		getJSON(t, a.url("/state"), &sd)
		if ex, ok := findExecutor(sd, "fw-1", "ex-1"); !ok || len(ex.Queued) != 1 {
			return fmt.Errorf("task not queued: %+v", sd)
		}
		return nil
	})
	m.send(killTask("fw-1", "q1"))
	st := m.waitUpdate("q1", mesospb.TaskState_TASK_KILLED).GetStatus()
	if st.GetReason() != mesospb.TaskStatus_REASON_TASK_KILLED_DURING_LAUNCH || st.GetSource() != mesospb.TaskStatus_SOURCE_AGENT {
		t.Fatalf("status = %v", st)
	}
	// The executor has nothing left to run and is destroyed.
	m.waitCall("EXITED_EXECUTOR", 20*time.Second, isType(internalpb.AgentCall_EXITED_EXECUTOR))
	// Killing an unknown task answers LOST.
	m.send(killTask("fw-1", "never-launched"))
	if st := m.waitUpdate("never-launched", mesospb.TaskState_TASK_LOST).GetStatus(); st.GetSource() != mesospb.TaskStatus_SOURCE_AGENT {
		t.Fatalf("unknown task status = %v", st)
	}
}

func TestKillTasksOnExit(t *testing.T) {
	m := newTestMaster(t)
	a := startAgent(t, testConfig(t, m)) // KillTasksOnExit: true
	m.waitCall("REGISTER", 10*time.Second, isType(internalpb.AgentCall_REGISTER))
	m.send(runTask(frameworkInfo(t, "fw-1", true), customTask(t, "fw-1", "ex-1", "t1", "stay")))
	u := m.waitUpdate("t1", mesospb.TaskState_TASK_RUNNING)
	pid := int(u.GetStatus().GetContainerStatus().GetExecutorPid())
	if !pidAlive(pid) {
		t.Fatalf("executor pid %d not alive", pid)
	}
	a.stop()
	if pidAlive(pid) {
		t.Fatal("executor of a checkpointing framework survived a KillTasksOnExit agent")
	}
}
