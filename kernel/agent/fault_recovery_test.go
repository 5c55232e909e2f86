package agent

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"strata/kernel/containerizer"
	"strata/kernel/containerizer/cgroups"
	"strata/kernel/mesos/codec"
	"strata/kernel/mesos/executorpb"
	"strata/kernel/mesos/internalpb"
	"strata/kernel/mesos/mesospb"
	"strata/kernel/mesos/recordio"
)

// A built-in executor that re-subscribes (after an agent restart) without knowing the task the
// agent had handed it (the LAUNCH was lost with the restart) gets its task dropped, and is then
// shut down: it has nothing to run, and the master, which saw the task end, would never shut it
// down, so it used to wait for a task forever.
func TestResubscribedBuiltinExecutorWithDroppedTaskIsShutDown(t *testing.T) {
	tests := []struct {
		name         string
		kind         executorKind
		wantShutdown bool
	}{
		{"command executor", commandExecutor, true},
		{"custom executor", customExecutor, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := newTestMaster(t)
			cfg := testConfig(t, m)
			cfg.ExecutorShutdownGracePeriod = 100 * time.Millisecond
			a := startAgent(t, cfg)
			m.waitCall("REGISTER", 10*time.Second, isType(internalpb.AgentCall_REGISTER))

			// An executor as recovery leaves it: its task handed over, never started.
			fi := frameworkInfo(t, "fw-drop", false)
			ti := &mesospb.TaskInfo{
				Name:      proto.String("dropped"),
				TaskId:    &mesospb.TaskID{Value: proto.String("t-drop")},
				AgentId:   &mesospb.AgentID{Value: proto.String(m.agentID)},
				Resources: []*mesospb.Resource{scalar("cpus", 0.1), scalar("mem", 32)},
				Command:   &mesospb.CommandInfo{Value: proto.String("sleep 1000")},
			}
			a.mu.Lock()
			f := &framework{id: "fw-drop", info: fi, executors: map[string]*executor{}}
			a.frameworks[f.id] = f
			ei := commandExecutorInfo(f, ti, time.Second)
			if tc.kind == customExecutor {
				ei.Command = &mesospb.CommandInfo{Value: proto.String("/bin/custom-executor")}
			}
			e := &executor{id: ei.GetExecutorId().GetValue(), fw: f, info: ei, kind: tc.kind,
				containerID: "no-such-container", state: execRegistering, recovered: true,
				tasks: map[string]*task{}, token: newToken()}
			e.tasks["t-drop"] = newTask(ti, f.id, e.id, a.agentID, "")
			f.executors[e.id] = e
			a.mu.Unlock()

			// The executor re-subscribes knowing no task.
			call := &executorpb.Call{
				Type:        executorpb.Call_SUBSCRIBE.Enum(),
				FrameworkId: &mesospb.FrameworkID{Value: proto.String(f.id)},
				ExecutorId:  &mesospb.ExecutorID{Value: proto.String(e.id)},
				Subscribe:   &executorpb.Call_Subscribe{},
			}
			body, err := codec.JSON.Marshal(call)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, a.url("/api/v1/executor"), bytes.NewReader(body))
			req.Header.Set("Content-Type", codec.JSON.ContentType())
			req.Header.Set("Accept", codec.JSON.ContentType())
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("SUBSCRIBE: %s", resp.Status)
			}
			events := make(chan executorpb.Event_Type, 10)
			go func() {
				defer close(events)
				rd := recordio.NewReader(resp.Body)
				for {
					rec, err := rd.ReadRecord()
					if err != nil {
						return
					}
					ev := &executorpb.Event{}
					if codec.JSON.Unmarshal(rec, ev) == nil {
						events <- ev.GetType()
					}
				}
			}()
			if ev := <-events; ev != executorpb.Event_SUBSCRIBED {
				t.Fatalf("first event %s, want SUBSCRIBED", ev)
			}
			st := m.waitUpdate("t-drop", mesospb.TaskState_TASK_LOST).GetStatus()
			if st.GetReason() != mesospb.TaskStatus_REASON_AGENT_RESTARTED {
				t.Fatalf("dropped task: %v", st)
			}

			if !tc.wantShutdown {
				select {
				case ev, ok := <-events:
					if ok {
						t.Fatalf("a custom executor got %s after its task was dropped", ev)
					}
					t.Fatal("the custom executor's stream ended")
				case <-time.After(500 * time.Millisecond):
				}
				a.mu.Lock()
				state := e.state
				a.mu.Unlock()
				if state != execRunning {
					t.Fatalf("custom executor state %v, want running", state)
				}
				return
			}
			if ev, ok := <-events; !ok || ev != executorpb.Event_SHUTDOWN {
				t.Fatalf("next event %s (stream open: %v), want SHUTDOWN", ev, ok)
			}
			// Its container is gone after the grace period; the master hears of it.
			m.waitCall("EXITED_EXECUTOR", 10*time.Second, isType(internalpb.AgentCall_EXITED_EXECUTOR))
		})
	}
}

// An update the agent makes itself (here: the executor ended while its task was live) that
// cannot be checkpointed (a full disk; here the task's checkpoint directory is a file) is sent
// anyway, without being checkpointed: dropping it would leave the task live for the master for
// ever. The executor's own updates are refused (500: it keeps them), and the agent's update
// says why they never got through.
func TestAgentUpdateSentWhenItCannotBeCheckpointed(t *testing.T) {
	m := newTestMaster(t)
	a := startAgent(t, testConfig(t, m))
	m.waitCall("REGISTER", 10*time.Second, isType(internalpb.AgentCall_REGISTER))
	eventually(t, 10*time.Second, func() error {
		a.mu.Lock()
		defer a.mu.Unlock()
		if a.agentID == "" {
			return fmt.Errorf("not registered yet")
		}
		return nil
	})

	fi := frameworkInfo(t, "fw-full", true)
	ti := &mesospb.TaskInfo{
		Name:      proto.String("full"),
		TaskId:    &mesospb.TaskID{Value: proto.String("t-full")},
		AgentId:   &mesospb.AgentID{Value: proto.String(m.agentID)},
		Resources: []*mesospb.Resource{scalar("cpus", 0.1), scalar("mem", 32)},
		Command:   &mesospb.CommandInfo{Value: proto.String("sleep 1000")},
	}
	a.mu.Lock()
	f := &framework{id: "fw-full", info: fi, executors: map[string]*executor{}}
	a.frameworks[f.id] = f
	ei := commandExecutorInfo(f, ti, time.Second)
	e := &executor{id: ei.GetExecutorId().GetValue(), fw: f, info: ei, kind: commandExecutor,
		containerID: "no-such-container", state: execRunning, tasks: map[string]*task{}, token: newToken()}
	tk := newTask(ti, f.id, e.id, a.agentID, "")
	tk.t.State = mesospb.TaskState_TASK_RUNNING.Enum()
	e.tasks["t-full"] = tk
	f.executors[e.id] = e
	path := a.layout.TaskUpdatesPath(a.agentID, f.id, e.id, e.containerID, "t-full")
	a.mu.Unlock()
	if err := os.MkdirAll(filepath.Dir(filepath.Dir(path)), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Dir(path), nil, 0o644); err != nil {
		t.Fatal(err)
	}

	// The executor's own update is refused (it keeps it), and remembered.
	call := &executorpb.Call{
		Type:        executorpb.Call_UPDATE.Enum(),
		FrameworkId: &mesospb.FrameworkID{Value: proto.String(f.id)},
		ExecutorId:  &mesospb.ExecutorID{Value: proto.String(e.id)},
		Update: &executorpb.Call_Update{Status: &mesospb.TaskStatus{
			TaskId: ti.TaskId, State: mesospb.TaskState_TASK_FINISHED.Enum(),
			Source: mesospb.TaskStatus_SOURCE_EXECUTOR.Enum(), Uuid: newUUID(),
		}},
	}
	body, err := codec.JSON.Marshal(call)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(a.url("/api/v1/executor"), codec.JSON.ContentType(), bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusInternalServerError {
		t.Fatalf("an update that cannot be checkpointed: %s, want 500", resp.Status)
	}

	a.executorTerminated(e, &containerizer.Termination{Message: "Executor exited with status 0"})
	u := m.waitUpdate("t-full", mesospb.TaskState_TASK_FAILED)
	if u.GetStatus().GetReason() != mesospb.TaskStatus_REASON_EXECUTOR_TERMINATED ||
		!strings.Contains(u.GetStatus().GetMessage(), "Executor exited with status 0; the agent could not checkpoint its status updates") {
		t.Fatalf("update %v", u.GetStatus())
	}
	m.ack(u)
	eventually(t, 10*time.Second, func() error {
		if a.sum.HasPending("fw-full", "t-full") {
			return fmt.Errorf("the acknowledgement is not processed yet")
		}
		return nil
	})
}

// An agent that stops while a checkpointing framework's executor runs leaves that executor (and
// its cgroup, for the next agent to recover), but no cgroup without a process: it waits for its
// discarded standby executors to be reaped, which removes their cgroups.
func TestStoppedAgentLeavesNoEmptyCgroups(t *testing.T) {
	requireIsolation(t)
	m := newTestMaster(t)
	cfg := testConfig(t, m)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cfg.Executable, cfg.StandbyExecutors, cfg.KillTasksOnExit = exe, 2, false
	a := startAgent(t, cfg)
	m.waitCall("REGISTER", 10*time.Second, isType(internalpb.AgentCall_REGISTER))
	info, err := cgroups.Detect()
	if err != nil {
		t.Fatal(err)
	}
	hier := info.V1["memory"]
	if hier == "" {
		hier = info.Unified
	}
	dir := filepath.Join(hier, a.cgroups.Root())
	// cgroupProcs maps each container cgroup under the agent's root to its process count.
	cgroupProcs := func() map[string]int {
		out := map[string]int{}
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if !e.IsDir() {
				continue
			}
			b, _ := os.ReadFile(filepath.Join(dir, e.Name(), "cgroup.procs"))
			out[e.Name()] = len(strings.Fields(string(b)))
		}
		return out
	}

	ti := &mesospb.TaskInfo{
		Name:      proto.String("stays"),
		TaskId:    &mesospb.TaskID{Value: proto.String("stays")},
		AgentId:   &mesospb.AgentID{Value: proto.String(m.agentID)},
		Resources: []*mesospb.Resource{scalar("cpus", 0.1), scalar("mem", 32)},
		Command:   &mesospb.CommandInfo{Value: proto.String("sleep 1000")},
	}
	m.send(runTask(frameworkInfo(t, "fw-stays", true), ti))
	m.ack(m.waitUpdate("stays", mesospb.TaskState_TASK_STARTING))
	running := m.waitUpdate("stays", mesospb.TaskState_TASK_RUNNING)
	m.ack(running)
	pid := int(running.GetStatus().GetContainerStatus().GetExecutorPid())
	t.Cleanup(func() {
		// The executor outlives the agent here: end it, then its cgroups.
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		_ = syscall.Kill(pid, syscall.SIGKILL)
		time.Sleep(200 * time.Millisecond)
		for _, h := range append(slices.Collect(maps.Values(info.V1)), info.Unified) {
			root := filepath.Join(h, a.cgroups.Root())
			var dirs []string
			_ = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
				if err == nil && d.IsDir() {
					dirs = append(dirs, p)
				}
				return nil
			})
			for i := len(dirs) - 1; i >= 0; i-- {
				_ = os.Remove(dirs[i])
			}
		}
	})
	eventually(t, 10*time.Second, func() error {
		if n := len(cgroupProcs()); n < 3 {
			return fmt.Errorf("%d container cgroups, want the executor's and 2 standbys'", n)
		}
		return nil
	})

	a.stop()
	if !pidAlive(pid) {
		t.Fatal("the checkpointing framework's executor did not survive the agent")
	}
	left := cgroupProcs()
	for name, n := range left {
		if n == 0 {
			t.Errorf("the stopped agent left cgroup %s without a process (all: %v)", name, left)
		}
	}
	if len(left) != 1 {
		t.Errorf("cgroups left: %v, want the executor's only", left)
	}
}
