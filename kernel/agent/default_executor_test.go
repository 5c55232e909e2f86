package agent

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"strata/kernel/mesos/internalpb"
	"strata/kernel/mesos/mesospb"
)

// The built-in default executor under a real agent: RUN_TASK_GROUP with an
// ExecutorInfo of type DEFAULT runs `<agent executable> executor` (the test
// binary, see TestMain) without MESOS_HTTP_COMMAND_EXECUTOR.

func defaultExecutorInfo(fid, eid string) *mesospb.ExecutorInfo {
	return &mesospb.ExecutorInfo{
		Type:        mesospb.ExecutorInfo_DEFAULT.Enum(),
		ExecutorId:  &mesospb.ExecutorID{Value: proto.String(eid)},
		FrameworkId: &mesospb.FrameworkID{Value: proto.String(fid)},
		Resources:   []*mesospb.Resource{scalar("cpus", 0.1), scalar("mem", 32)},
	}
}

// groupCommandTask is a task of a task group: a command, no executor.
func groupCommandTask(tid, cmd string) *mesospb.TaskInfo {
	return &mesospb.TaskInfo{
		Name:      proto.String("task " + tid),
		TaskId:    &mesospb.TaskID{Value: proto.String(tid)},
		AgentId:   &mesospb.AgentID{Value: proto.String("test-agent-S0")},
		Resources: []*mesospb.Resource{scalar("cpus", 0.25), scalar("mem", 16)},
		Command:   &mesospb.CommandInfo{Value: proto.String(cmd)},
	}
}

// untilGo waits for a file "go" in the task's sandbox.
const untilGo = `while [ ! -e go ]; do sleep 0.05; done`

// browseNames lists the names in a directory through /files/browse.
func browseNames(t *testing.T, a *runningAgent, dir string) []string {
	t.Helper()
	var list []struct {
		Path string `json:"path"`
	}
	getJSON(t, a.url("/files/browse?"+url.Values{"path": {dir}}.Encode()), &list)
	var names []string
	for _, e := range list {
		names = append(names, filepath.Base(e.Path))
	}
	return names
}

func TestDefaultExecutorTaskGroup(t *testing.T) {
	m := newTestMaster(t)
	a := startAgent(t, testConfig(t, m))
	m.waitCall("REGISTER", 10*time.Second, isType(internalpb.AgentCall_REGISTER))
	fi := frameworkInfo(t, "fw-1", false)
	ei := defaultExecutorInfo("fw-1", "default-ex")
	m.send(runTaskGroup(fi, ei,
		groupCommandTask("ta", `echo "hello from ta in $MESOS_SANDBOX"; `+untilGo),
		groupCommandTask("tb", `echo "hello from tb"; `+untilGo)))

	running := map[string]*internalpb.AgentCall_StatusUpdate{}
	for _, tid := range []string{"ta", "tb"} {
		m.ack(m.waitUpdate(tid, mesospb.TaskState_TASK_STARTING))
		running[tid] = m.waitUpdate(tid, mesospb.TaskState_TASK_RUNNING)
		m.ack(running[tid])
	}

	var sd stateDoc
	getJSON(t, a.url("/state"), &sd)
	ex, ok := findExecutor(sd, "fw-1", "default-ex")
	if !ok || len(ex.Tasks) != 2 || ex.Tasks[0].State != "TASK_RUNNING" || ex.Tasks[1].State != "TASK_RUNNING" {
		t.Fatalf("default executor in /state: %+v", sd)
	}
	// The executor's resources are the ExecutorInfo's plus its tasks'.
	if cpus := ex.Resources["cpus"].(float64); cpus < 0.599 || cpus > 0.601 {
		t.Fatalf("executor resources = %v, want 0.1 + 2 × 0.25 cpus", ex.Resources)
	}
	for tid, u := range running {
		cs := u.GetStatus().GetContainerStatus()
		if cs.GetContainerId().GetParent().GetValue() != ex.Container || cs.GetContainerId().GetValue() == ex.Container {
			t.Fatalf("%s RUNNING container id %v, want one nested in the executor's %s", tid, cs.GetContainerId(), ex.Container)
		}
	}
	var doc map[string]any
	getJSON(t, a.url("/state"), &doc)
	if typ := stateExecutorField(doc, "default-ex", "type"); typ != "DEFAULT" {
		t.Fatalf("executor type in /state = %v", typ)
	}

	// The tasks' sandboxes are tasks/<id> in the executor's, browsable like it.
	if names := browseNames(t, a, ex.Directory+"/tasks"); strings.Join(names, ",") != "ta,tb" {
		t.Fatalf("/files/browse of tasks/ = %v", names)
	}
	eventually(t, 10*time.Second, func() error {
		want := "hello from ta in " + ex.Directory + "/tasks/ta\n"
		if got := readFile(t, a, ex.Directory+"/tasks/ta/stdout"); got != want {
			return fmt.Errorf("tasks/ta/stdout = %q, want %q", got, want)
		}
		return nil
	})
	if got := readFile(t, a, ex.Directory+"/stdout"); strings.Contains(got, "hello from") {
		t.Fatalf("task output in the executor's stdout: %q", got)
	}

	for _, tid := range []string{"ta", "tb"} {
		if err := os.WriteFile(filepath.Join(ex.Directory, "tasks", tid, "go"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		m.ack(m.waitUpdate(tid, mesospb.TaskState_TASK_FINISHED))
	}
	m.waitCall("EXITED_EXECUTOR", 20*time.Second, isType(internalpb.AgentCall_EXITED_EXECUTOR))
	eventually(t, 10*time.Second, func() error {
		var sd stateDoc
		getJSON(t, a.url("/state"), &sd)
		var done []execDoc
		for _, f := range sd.Frameworks {
			done = append(done, f.Completed...)
		}
		for _, f := range sd.CompletedFrameworks {
			done = append(done, f.Completed...)
		}
		for _, e := range done {
			if e.ID == "default-ex" && len(e.Completed) == 2 &&
				e.Completed[0].State == "TASK_FINISHED" && e.Completed[1].State == "TASK_FINISHED" {
				return nil
			}
		}
		return errors.New("the default executor is not among the completed ones with its two tasks")
	})
}

// stateExecutorField returns a field of an executor in a raw /state document.
func stateExecutorField(doc map[string]any, eid, field string) any {
	fws, _ := doc["frameworks"].([]any)
	for _, f := range fws {
		execs, _ := f.(map[string]any)["executors"].([]any)
		for _, e := range execs {
			if em := e.(map[string]any); em["id"] == eid {
				return em[field]
			}
		}
	}
	return nil
}

// A default executor of a checkpointing framework survives an agent restart
// like any executor, is re-registered with the master (it is the
// framework's, not a generated command executor), and a kill of one of its
// tasks then kills the whole group.
func TestDefaultExecutorRecoveryAndGroupKill(t *testing.T) {
	m := newTestMaster(t)
	cfg := testConfig(t, m)
	cfg.KillTasksOnExit = false
	a1 := startAgent(t, cfg)
	m.waitCall("REGISTER", 10*time.Second, isType(internalpb.AgentCall_REGISTER))
	fi := frameworkInfo(t, "fw-ckpt", true)
	m.send(runTaskGroup(fi, defaultExecutorInfo("fw-ckpt", "pod"),
		groupCommandTask("web", "exec sleep 60"), groupCommandTask("sidecar", "exec sleep 60")))
	var pid int
	t.Cleanup(func() {
		if pid > 1 {
			_ = syscall.Kill(-pid, syscall.SIGKILL)
		}
	})
	for _, tid := range []string{"web", "sidecar"} {
		m.ack(m.waitUpdate(tid, mesospb.TaskState_TASK_STARTING))
		u := m.waitUpdate(tid, mesospb.TaskState_TASK_RUNNING)
		pid = int(u.GetStatus().GetContainerStatus().GetExecutorPid())
		m.ack(u)
	}
	eventually(t, 10*time.Second, func() error {
		if a1.sum.HasPending("fw-ckpt", "web") || a1.sum.HasPending("fw-ckpt", "sidecar") {
			return errors.New("acknowledgements not processed yet")
		}
		return nil
	})
	a1.stop()
	if !pidAlive(pid) {
		t.Fatal("the default executor of a checkpointing framework did not survive the agent")
	}

	cfg.Port = portOf(t, a1.Addr())
	a2 := startAgent(t, cfg)
	rr := m.waitCall("REREGISTER", 10*time.Second, isType(internalpb.AgentCall_REREGISTER)).GetReregister()
	if len(rr.GetExecutors()) != 1 || rr.GetExecutors()[0].GetExecutorId().GetValue() != "pod" || len(rr.GetTasks()) != 2 {
		t.Fatalf("REREGISTER executors %v tasks %v", rr.GetExecutors(), rr.GetTasks())
	}
	eventually(t, 20*time.Second, func() error {
		a2.mu.Lock()
		defer a2.mu.Unlock()
		if e := a2.frameworks["fw-ckpt"].executors["pod"]; e == nil || e.conn == nil || e.kind != defaultExecutor {
			return errors.New("recovered default executor not re-subscribed")
		}
		return nil
	})

	m.send(killTask("fw-ckpt", "sidecar"))
	for _, tid := range []string{"web", "sidecar"} {
		m.ack(m.waitUpdate(tid, mesospb.TaskState_TASK_KILLED))
	}
	m.waitCall("EXITED_EXECUTOR", 20*time.Second, isType(internalpb.AgentCall_EXITED_EXECUTOR))
	eventually(t, 10*time.Second, func() error {
		if pidAlive(pid) {
			return errors.New("the default executor is still alive after its group was killed")
		}
		return nil
	})
}

// A default executor takes a standby like a command executor: the standby's
// mode is chosen by the launch environment.
func TestStandbyDefaultExecutor(t *testing.T) {
	m := newTestMaster(t)
	a := startAgent(t, standbyConfig(t, m))
	m.waitCall("REGISTER", 10*time.Second, isType(internalpb.AgentCall_REGISTER))
	standbyPid := readyStandby(t, a.Agent)
	m.send(runTaskGroup(frameworkInfo(t, "fw-1", false), defaultExecutorInfo("fw-1", "default-ex"),
		groupCommandTask("only", `echo "sandbox=$MESOS_SANDBOX"`)))
	m.ack(m.waitUpdate("only", mesospb.TaskState_TASK_STARTING))
	running := m.waitUpdate("only", mesospb.TaskState_TASK_RUNNING)
	m.ack(running)
	if pid := int(running.GetStatus().GetContainerStatus().GetExecutorPid()); pid != standbyPid {
		t.Fatalf("executor pid %d, want the standby's %d", pid, standbyPid)
	}
	m.ack(m.waitUpdate("only", mesospb.TaskState_TASK_FINISHED))
	m.waitCall("EXITED_EXECUTOR", 20*time.Second, isType(internalpb.AgentCall_EXITED_EXECUTOR))
}
