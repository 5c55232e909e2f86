package agent

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"strata/kernel/containerizer/posix"
	"strata/kernel/mesos/internalpb"
	"strata/kernel/mesos/mesospb"
)

// readyStandby waits until the agent's pool holds a standby that has
// finished starting, and returns its pid.
func readyStandby(t *testing.T, a *Agent) int {
	t.Helper()
	pid := 0
	eventually(t, 30*time.Second, func() error {
		a.standby.mu.Lock()
		defer a.standby.mu.Unlock()
		for _, in := range a.standby.idle {
			if isReady(in.s) {
				pid = in.s.Pid()
				return nil
			}
		}
		return errors.New("no ready standby executor")
	})
	return pid
}

func standbyConfig(t *testing.T, m *testMaster) Config {
	cfg := testConfig(t, m)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cfg.Executable = exe
	cfg.StandbyExecutors = 1
	return cfg
}

// A command task launched with a standby runs exactly as with a new
// executor process: its sandbox, environment and output are the same, the
// executor is the standby's process, and it is recovered after an agent
// restart like any executor of a checkpointing framework.
func TestStandbyCommandExecutor(t *testing.T) {
	m := newTestMaster(t)
	cfg := standbyConfig(t, m)
	cfg.KillTasksOnExit = false
	a1 := startAgent(t, cfg)
	m.waitCall("REGISTER", 10*time.Second, isType(internalpb.AgentCall_REGISTER))
	standbyPid := readyStandby(t, a1.Agent)
	var executorPid int
	t.Cleanup(func() {
		// The executor outlives the first agent; never leave it behind.
		if executorPid > 1 {
			_ = syscall.Kill(-executorPid, syscall.SIGKILL)
		}
	})

	ti := &mesospb.TaskInfo{
		Name:      proto.String("cmd"),
		TaskId:    &mesospb.TaskID{Value: proto.String("ct1")},
		AgentId:   &mesospb.AgentID{Value: proto.String(m.agentID)},
		Resources: []*mesospb.Resource{scalar("cpus", 0.5), scalar("mem", 64)},
		Command: &mesospb.CommandInfo{
			Value: proto.String(`echo "cwd=$(pwd -P)"; echo "sandbox=$MESOS_SANDBOX"; echo "task=$TASK_VAR"; env | sed 's/^/env:/'; exec sleep 60`),
			Environment: &mesospb.Environment{Variables: []*mesospb.Environment_Variable{
				{Name: proto.String("TASK_VAR"), Value: proto.String("from the task")},
			}},
		},
	}
	m.send(runTask(frameworkInfo(t, "fw-1", true), ti))
	m.ack(m.waitUpdate("ct1", mesospb.TaskState_TASK_STARTING))
	running := m.waitUpdate("ct1", mesospb.TaskState_TASK_RUNNING)
	m.ack(running)
	executorPid = int(running.GetStatus().GetContainerStatus().GetExecutorPid())
	if executorPid != standbyPid {
		t.Fatalf("executor pid %d, want the standby's %d", executorPid, standbyPid)
	}

	var sd stateDoc
	getJSON(t, a1.url("/state"), &sd)
	ex, ok := findExecutor(sd, "fw-1", "ct1")
	if !ok {
		t.Fatalf("command executor not in /state: %+v", sd)
	}
	var out string
	eventually(t, 10*time.Second, func() error {
		out = readFile(t, a1, ex.Directory+"/stdout")
		if !strings.Contains(out, "env:") {
			return fmt.Errorf("task output so far: %q", out)
		}
		return nil
	})
	real := ex.Directory
	if r, err := filepath.EvalSymlinks(ex.Directory); err == nil {
		real = r
	}
	for _, want := range []string{"cwd=" + real + "\n", "sandbox=" + ex.Directory + "\n", "task=from the task\n", "env:MESOS_SANDBOX=" + ex.Directory + "\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("task output lacks %q:\n%s", want, out)
		}
	}
	for _, name := range []string{"STRATA_STANDBY_FD", "MESOS_EXECUTOR_AUTHENTICATION_TOKEN"} {
		if strings.Contains(out, "env:"+name+"=") {
			t.Errorf("the task inherited the executor's %s", name)
		}
	}

	// The pool refills; its standby goes with the agent, the executor stays.
	refill := readyStandby(t, a1.Agent)
	a1.stop()
	if !pidAlive(executorPid) {
		t.Fatal("the executor of a checkpointing framework did not survive the agent")
	}
	eventually(t, 10*time.Second, func() error {
		if pidAlive(refill) {
			return fmt.Errorf("standby %d outlived the agent", refill)
		}
		return nil
	})

	cfg.Port = portOf(t, a1.Addr())
	a2 := startAgent(t, cfg)
	m.waitCall("REREGISTER", 10*time.Second, isType(internalpb.AgentCall_REREGISTER))
	eventually(t, 20*time.Second, func() error {
		var sd stateDoc
		getJSON(t, a2.url("/state"), &sd)
		if _, ok := findExecutor(sd, "fw-1", "ct1"); !ok {
			return errors.New("recovered executor not in /state")
		}
		a2.mu.Lock()
		defer a2.mu.Unlock()
		if e := a2.frameworks["fw-1"].executors["ct1"]; e == nil || e.conn == nil {
			return errors.New("recovered executor not re-subscribed")
		}
		return nil
	})
	m.send(killTask("fw-1", "ct1"))
	m.ack(m.waitUpdate("ct1", mesospb.TaskState_TASK_KILLED))
	m.waitCall("EXITED_EXECUTOR", 20*time.Second, isType(internalpb.AgentCall_EXITED_EXECUTOR))
	eventually(t, 10*time.Second, func() error {
		if pidAlive(executorPid) {
			return errors.New("executor still alive after its task was killed")
		}
		return nil
	})
}

// Standbys are not tasks: an agent stopping with KillTasksOnExit kills its
// executors and its standby alike.
func TestStandbyGoesWithTheAgent(t *testing.T) {
	m := newTestMaster(t)
	a := startAgent(t, standbyConfig(t, m))
	m.waitCall("REGISTER", 10*time.Second, isType(internalpb.AgentCall_REGISTER))
	pid := readyStandby(t, a.Agent)
	a.stop()
	eventually(t, 10*time.Second, func() error {
		if pidAlive(pid) {
			return fmt.Errorf("standby %d outlived the agent", pid)
		}
		return nil
	})
}

// A pool whose standbys keep dying gives up instead of starting processes
// forever.
func TestStandbyPoolGivesUp(t *testing.T) {
	cz, err := posix.New(posix.Config{StateDir: t.TempDir(), Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer cz.Close()
	p := newStandbyPool(cz, "/bin/false", 2, newLaunchPacer(1, 0), testLogger())
	defer p.close()
	p.start("")
	eventually(t, 20*time.Second, func() error {
		p.mu.Lock()
		defer p.mu.Unlock()
		if !p.disabled {
			return fmt.Errorf("pool still running after %d failures", p.failures)
		}
		return nil
	})
	if s := p.take(""); s != nil {
		t.Fatal("a disabled pool handed out a standby")
	}
}
