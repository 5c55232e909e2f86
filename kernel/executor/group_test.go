package executor

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"strata/kernel/mesos/codec"
	"strata/kernel/mesos/executorpb"
	"strata/kernel/mesos/mesospb"
)

// The default executor's tests: task groups run by one executor in
// DefaultMode against the stub agent.

// groupTask returns a task of a task group running a shell command.
func groupTask(id, cmd string) *mesospb.TaskInfo {
	return &mesospb.TaskInfo{
		Name:    proto.String("group task " + id),
		TaskId:  &mesospb.TaskID{Value: proto.String(id)},
		AgentId: &mesospb.AgentID{Value: proto.String(testAgentID)},
		Command: &mesospb.CommandInfo{Shell: proto.Bool(true), Value: proto.String(cmd)},
	}
}

// newGroupAgent is a stub agent that sends one LAUNCH_GROUP of tasks.
func newGroupAgent(t *testing.T, c codec.Codec, tasks []*mesospb.TaskInfo, caps ...mesospb.FrameworkInfo_Capability_Type) *stubAgent {
	t.Helper()
	a := newStubAgent(t, c, nil, caps...)
	a.mu.Lock()
	a.group = &mesospb.TaskGroupInfo{Tasks: tasks}
	a.mu.Unlock()
	return a
}

// startDefault runs a default executor against a.
func startDefault(t *testing.T, a *stubAgent, mod func(*Config)) *execRun {
	t.Helper()
	return startExecutor(t, a, func(cfg *Config) {
		cfg.Mode = DefaultMode
		if mod != nil {
			mod(cfg)
		}
	})
}

type states = []mesospb.TaskState

const (
	starting = mesospb.TaskState_TASK_STARTING
	running  = mesospb.TaskState_TASK_RUNNING
	finished = mesospb.TaskState_TASK_FINISHED
	failed   = mesospb.TaskState_TASK_FAILED
	killing  = mesospb.TaskState_TASK_KILLING
	killed   = mesospb.TaskState_TASK_KILLED
)

// expectTasks reads status updates until every task has sent the states
// wanted for it, in order; the updates of different tasks may interleave.
func (a *stubAgent) expectTasks(timeout time.Duration, want map[string]states) map[string][]*mesospb.TaskStatus {
	a.t.Helper()
	got := map[string][]*mesospb.TaskStatus{}
	left := 0
	for _, s := range want {
		left += len(s)
	}
	for left > 0 {
		st := a.next(timeout)
		id := st.GetTaskId().GetValue()
		i := len(got[id])
		if i >= len(want[id]) || st.GetState() != want[id][i] {
			a.t.Fatalf("agent: update %v (%q) of task %q; that task so far %v, want %v", st.GetState(), st.GetMessage(), id,
				stateNames(got[id]), want[id])
		}
		got[id] = append(got[id], st)
		left--
	}
	return got
}

// taskFile returns the path of a file in a task's sandbox.
func (r *execRun) taskFile(id, name string) string {
	return filepath.Join(r.sandbox, TasksDir, id, name)
}

// release creates the file "go" in a task's sandbox, which waitForGo waits for.
func (r *execRun) release(t *testing.T, id string) {
	t.Helper()
	if err := os.WriteFile(r.taskFile(id, "go"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		t.Fatalf("not a number: %q", s)
	}
	return n
}

// waitForGo is a task command that ends with status 0 once its sandbox has a file "go".
const waitForGo = `while [ ! -e go ]; do sleep 0.05; done`

func TestGroupLaunch(t *testing.T) {
	forCodecs(t, func(t *testing.T, c codec.Codec) {
		script := func(id string) string {
			return `echo out-` + id + `; echo err-` + id + ` >&2; printf '%s|%s' "$MESOS_SANDBOX" "$(pwd -P)" > env.out`
		}
		a := newGroupAgent(t, c, []*mesospb.TaskInfo{groupTask("a", script("a")), groupTask("b", script("b"))})
		r := startDefault(t, a, func(cfg *Config) { cfg.AckTimeout = time.Minute })
		got := a.expectTasks(wait, map[string]states{"a": {starting, running, finished}, "b": {starting, running, finished}})
		// Exiting well before the ack timeout shows that the acknowledgements ended the executor.
		if err := r.wait(t, wait); err != nil {
			t.Fatalf("Run: %v", err)
		}

		ids := map[string]bool{}
		for _, id := range []string{"a", "b"} {
			cs := got[id][1].GetContainerStatus()
			if cs.GetExecutorPid() != uint32(os.Getpid()) || cs.GetContainerId().GetParent().GetValue() != "container-1" ||
				cs.GetContainerId().GetValue() == "" || len(cs.GetNetworkInfos()) != 1 {
				t.Errorf("RUNNING of %s: container status %v", id, cs)
			}
			ids[cs.GetContainerId().GetValue()] = true
			if msg := got[id][2].GetMessage(); msg != "Command exited with status 0" {
				t.Errorf("FINISHED of %s: message %q", id, msg)
			}
			dir := filepath.Join(r.sandbox, TasksDir, id)
			real, err := filepath.EvalSymlinks(dir)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := r.readFile(t, filepath.Join(TasksDir, id, "env.out"), time.Second), dir+"|"+real; got != want {
				t.Errorf("task %s saw MESOS_SANDBOX|cwd %q, want %q", id, got, want)
			}
			if out := r.readFile(t, filepath.Join(TasksDir, id, "stdout"), time.Second); out != "out-"+id+"\n" {
				t.Errorf("task %s stdout %q", id, out)
			}
			if out := r.readFile(t, filepath.Join(TasksDir, id, "stderr"), time.Second); out != "err-"+id+"\n" {
				t.Errorf("task %s stderr %q", id, out)
			}
		}
		if len(ids) != 2 {
			t.Errorf("the tasks share a container id: %v", ids)
		}
		if b, _ := os.ReadFile(filepath.Join(r.sandbox, "stdout")); strings.Contains(string(b), "out-") {
			t.Errorf("task output in the executor's stdout: %q", b)
		}
		a.noMore(100 * time.Millisecond)
	})
}

func TestGroupFailureKillsSiblings(t *testing.T) {
	forCodecs(t, func(t *testing.T, c codec.Codec) {
		// The failer fails once the sleeper's process tree is complete (three pids).
		failer := `until [ -s ../sleeper/pids ] && [ $(wc -l < ../sleeper/pids) -ge 3 ]; do sleep 0.05; done; exit 3`
		sleeper := groupTask("sleeper", trapScript)
		sleeper.KillPolicy = killPolicy(300 * time.Millisecond)
		a := newGroupAgent(t, c, []*mesospb.TaskInfo{sleeper, groupTask("failer", failer)},
			mesospb.FrameworkInfo_Capability_TASK_KILLING_STATE)
		r := startDefault(t, a, nil)
		got := a.expectTasks(wait, map[string]states{
			"sleeper": {starting, running, killing, killed},
			"failer":  {starting, running, failed},
		})
		if msg := got["failer"][2].GetMessage(); msg != "Command exited with status 3" {
			t.Errorf("FAILED message %q", msg)
		}
		if msg := got["sleeper"][3].GetMessage(); msg != "Command terminated with signal Killed" {
			t.Errorf("KILLED message %q, want SIGKILL after the task's grace period", msg)
		}
		if err := r.wait(t, wait); err != nil {
			t.Fatalf("Run: %v", err)
		}
		var pids []int
		for _, f := range strings.Fields(r.readFile(t, filepath.Join(TasksDir, "sleeper", "pids"), time.Second)) {
			pids = append(pids, atoi(t, f))
		}
		checkGone(t, pids)
		a.noMore(100 * time.Millisecond)
	})
}

func TestGroupKillOneKillsAll(t *testing.T) {
	forCodecs(t, func(t *testing.T, c codec.Codec) {
		a := newGroupAgent(t, c, []*mesospb.TaskInfo{groupTask("x", "echo $$ > pid; exec sleep 100"), groupTask("y", "echo $$ > pid; exec sleep 100")})
		r := startDefault(t, a, nil)
		a.expectTasks(wait, map[string]states{"x": {starting, running}, "y": {starting, running}})
		var pids []int
		for _, id := range []string{"x", "y"} {
			pids = append(pids, atoi(t, r.readFile(t, filepath.Join(TasksDir, id, "pid"), wait)))
		}
		a.killTask("y", killPolicy(time.Second))
		// Without TASK_KILLING_STATE there is no TASK_KILLING.
		got := a.expectTasks(wait, map[string]states{"x": {killed}, "y": {killed}})
		for id, sts := range got {
			if msg := sts[0].GetMessage(); msg != "Command terminated with signal Terminated" {
				t.Errorf("KILLED of %s: message %q", id, msg)
			}
		}
		if err := r.wait(t, wait); err != nil {
			t.Fatalf("Run: %v", err)
		}
		checkGone(t, pids)
	})
}

func TestGroupFinishedLeavesSiblingsRunning(t *testing.T) {
	forCodecs(t, func(t *testing.T, c codec.Codec) {
		a := newGroupAgent(t, c, []*mesospb.TaskInfo{groupTask("quick", "exit 0"), groupTask("slow", waitForGo)},
			mesospb.FrameworkInfo_Capability_TASK_KILLING_STATE)
		r := startDefault(t, a, nil)
		a.expectTasks(wait, map[string]states{"quick": {starting, running, finished}, "slow": {starting, running}})
		a.noMore(300 * time.Millisecond) // in particular no TASK_KILLING for "slow"
		select {
		case err := <-r.done:
			t.Fatalf("the executor exited (%v) while a task still runs", err)
		default:
		}
		r.release(t, "slow")
		a.expectTasks(wait, map[string]states{"slow": {finished}})
		if err := r.wait(t, wait); err != nil {
			t.Fatalf("Run: %v", err)
		}
	})
}

func TestMultipleGroups(t *testing.T) {
	forCodecs(t, func(t *testing.T, c codec.Codec) {
		a := newGroupAgent(t, c, []*mesospb.TaskInfo{groupTask("first", waitForGo)})
		r := startDefault(t, a, nil)
		a.expectTasks(wait, map[string]states{"first": {starting, running}})

		// A second group whose task fails is killed as a whole; the first group is not touched.
		a.send(launchGroupEvent(groupTask("second-a", "exit 1"), groupTask("second-b", "exec sleep 100")))
		a.expectTasks(wait, map[string]states{"second-a": {starting, running, failed}, "second-b": {starting, running, killed}})
		a.noMore(200 * time.Millisecond)

		// A task id that is taken already is not launched again.
		a.send(launchGroupEvent(groupTask("first", "exit 1"), groupTask("third", "exit 0")))
		a.expectTasks(wait, map[string]states{"third": {starting, running, finished}})
		a.noMore(200 * time.Millisecond)

		r.release(t, "first")
		a.expectTasks(wait, map[string]states{"first": {finished}})
		if err := r.wait(t, wait); err != nil {
			t.Fatalf("Run: %v", err)
		}
	})
}

func TestDefaultExecutorRefusesLaunch(t *testing.T) {
	t.Parallel()
	a := newStubAgent(t, codec.Protobuf, commandTask("touch launched"))
	r := startDefault(t, a, nil)
	if err := r.wait(t, wait); err != nil {
		t.Fatalf("Run: %v", err)
	}
	a.noMore(100 * time.Millisecond)
	if _, err := os.Stat(filepath.Join(r.sandbox, "launched")); err == nil {
		t.Error("the default executor ran the task of a LAUNCH")
	}
}

// Without the agent's podman service a task with an image cannot be
// prepared: it fails, and the rest of its group ends without having run.
func TestGroupImageWithoutPodman(t *testing.T) {
	forCodecs(t, func(t *testing.T, c codec.Codec) {
		img := groupTask("img", "touch ran")
		img.Container = &mesospb.ContainerInfo{
			Type: mesospb.ContainerInfo_MESOS.Enum(),
			Mesos: &mesospb.ContainerInfo_MesosInfo{Image: &mesospb.Image{
				Type:   mesospb.Image_DOCKER.Enum(),
				Docker: &mesospb.Image_Docker{Name: proto.String("busybox:latest")},
			}},
		}
		a := newGroupAgent(t, c, []*mesospb.TaskInfo{img, groupTask("plain", "touch ran")})
		r := startDefault(t, a, nil)
		got := a.expectTasks(wait, map[string]states{"img": {starting, failed}, "plain": {starting, killed}})
		st := got["img"][1]
		if st.GetReason() != mesospb.TaskStatus_REASON_CONTAINER_LAUNCH_FAILED || st.Reason == nil ||
			!strings.Contains(st.GetMessage(), EnvPodmanSocket) || !strings.Contains(st.GetMessage(), "cannot run image containers") {
			t.Errorf("FAILED of the image task: reason %v message %q", st.GetReason(), st.GetMessage())
		}
		if msg := got["plain"][1].GetMessage(); !strings.Contains(msg, "not launched") {
			t.Errorf("KILLED of the plain task: message %q", msg)
		}
		if err := r.wait(t, wait); err != nil {
			t.Fatalf("Run: %v", err)
		}
		for _, id := range []string{"img", "plain"} {
			if _, err := os.Stat(r.taskFile(id, "ran")); err == nil {
				t.Errorf("task %s ran", id)
			}
		}
	})
}

func TestGroupHealthCheckFailureKillsGroup(t *testing.T) {
	forCodecs(t, func(t *testing.T, c codec.Codec) {
		sick := groupTask("sick", "exec sleep 100")
		// The check runs in the task's sandbox with the task's MESOS_SANDBOX.
		sick.HealthCheck = quickCheck(`echo "$MESOS_SANDBOX" > checked; exit 1`, 1)
		a := newGroupAgent(t, c, []*mesospb.TaskInfo{sick, groupTask("well", "exec sleep 100")})
		r := startDefault(t, a, nil)
		got := a.expectTasks(wait, map[string]states{"sick": {starting, running, running, killed}, "well": {starting, running, killed}})
		if h := got["sick"][2]; h.Healthy == nil || h.GetHealthy() || h.GetReason() != mesospb.TaskStatus_REASON_TASK_HEALTH_CHECK_STATUS_UPDATED {
			t.Errorf("health update healthy=%v reason=%v", h.Healthy, h.GetReason())
		}
		if k := got["sick"][3]; k.Healthy == nil || k.GetHealthy() {
			t.Errorf("TASK_KILLED of the unhealthy task: healthy = %v, want false", k.Healthy)
		}
		if err := r.wait(t, wait); err != nil {
			t.Fatalf("Run: %v", err)
		}
		if got := strings.TrimSpace(r.readFile(t, filepath.Join(TasksDir, "sick", "checked"), time.Second)); got != filepath.Join(r.sandbox, TasksDir, "sick") {
			t.Errorf("the health check saw MESOS_SANDBOX %q", got)
		}
	})
}

func TestGroupShutdownAndResubscribe(t *testing.T) {
	forCodecs(t, func(t *testing.T, c codec.Codec) {
		a := newGroupAgent(t, c, []*mesospb.TaskInfo{groupTask("p", "exec sleep 100"), groupTask("q", "exec sleep 100")})
		a.setAutoAck(false)
		r := startDefault(t, a, func(cfg *Config) {
			cfg.Checkpoint = true
			cfg.RecoveryTimeout = 20 * time.Second
			cfg.SubscriptionBackoffMax = 200 * time.Millisecond
		})
		a.expectTasks(wait, map[string]states{"p": {starting, running}, "q": {starting, running}})

		// After a reconnection, both tasks and their four updates go with SUBSCRIBE.
		a.dropStream()
		sub := a.waitSubscribes(2, wait)[1].GetSubscribe()
		if n := len(sub.GetUnacknowledgedUpdates()); n != 4 {
			t.Errorf("resubscription has %d unacknowledged updates, want 4", n)
		}
		var tasks []string
		for _, ti := range sub.GetUnacknowledgedTasks() {
			tasks = append(tasks, ti.GetTaskId().GetValue())
		}
		if strings.Join(tasks, ",") != "p,q" {
			t.Errorf("resubscription unacknowledged tasks %v, want p and q", tasks)
		}

		a.setAutoAck(true)
		a.send(&executorpb.Event{Type: executorpb.Event_SHUTDOWN.Enum()})
		a.expectTasks(wait, map[string]states{"p": {killed}, "q": {killed}})
		if err := r.wait(t, wait); err != nil {
			t.Fatalf("Run: %v", err)
		}
	})
}

// The default executor as a process, configured by the environment the agent gives it (no
// MESOS_HTTP_COMMAND_EXECUTOR): its tasks do not see its authentication token.
func TestDefaultExecutorProcess(t *testing.T) {
	t.Parallel()
	a := newGroupAgent(t, codec.Protobuf, []*mesospb.TaskInfo{
		groupTask("t1", `echo "token=${MESOS_EXECUTOR_AUTHENTICATION_TOKEN-unset}"`),
	})
	_, sandbox, done := executorProcess(t, a, EnvHTTPCommandExecutor+"=")
	a.expectTasks(wait, map[string]states{"t1": {starting, running, finished}})
	waitProcess(t, done)
	out, _ := os.ReadFile(filepath.Join(sandbox, TasksDir, "t1", "stdout"))
	if !strings.Contains(string(out), "token=unset") {
		t.Errorf("task output %q: the task saw the executor's token", out)
	}
	log, _ := os.ReadFile(filepath.Join(sandbox, "stderr"))
	if !strings.Contains(string(log), "Starting the default executor") {
		t.Errorf("executor log lacks its start:\n%s", log)
	}
}

func TestGroupFetchesURIs(t *testing.T) {
	t.Parallel()
	src := filepath.Join(t.TempDir(), "data.txt")
	if err := os.WriteFile(src, []byte("fetched data\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Run("fetched into the task's sandbox", func(t *testing.T) {
		t.Parallel()
		reader := groupTask("reader", "cat data.txt")
		reader.Command.Uris = []*mesospb.CommandInfo_URI{{Value: proto.String(src)}}
		a := newGroupAgent(t, codec.Protobuf, []*mesospb.TaskInfo{reader, groupTask("other", "exit 0")})
		r := startDefault(t, a, nil)
		a.expectTasks(wait, map[string]states{"reader": {starting, running, finished}, "other": {starting, running, finished}})
		if err := r.wait(t, wait); err != nil {
			t.Fatalf("Run: %v", err)
		}
		if got := r.readFile(t, filepath.Join(TasksDir, "reader", "stdout"), time.Second); got != "fetched data\n" {
			t.Errorf("reader stdout %q", got)
		}
		if log := r.readFile(t, filepath.Join(TasksDir, "reader", "stderr"), time.Second); !strings.Contains(log, "Fetching URI") {
			t.Errorf("the fetcher's log is not in the task's stderr: %q", log)
		}
	})
	t.Run("a failed fetch fails the group", func(t *testing.T) {
		t.Parallel()
		broken := groupTask("broken", "touch ran")
		broken.Command.Uris = []*mesospb.CommandInfo_URI{{Value: proto.String(filepath.Join(filepath.Dir(src), "missing.txt"))}}
		a := newGroupAgent(t, codec.JSON, []*mesospb.TaskInfo{broken, groupTask("other", "touch ran")})
		r := startDefault(t, a, nil)
		got := a.expectTasks(wait, map[string]states{"broken": {starting, failed}, "other": {starting, killed}})
		if st := got["broken"][1]; !strings.Contains(st.GetMessage(), "fetch") ||
			st.GetReason() != mesospb.TaskStatus_REASON_CONTAINER_LAUNCH_FAILED {
			t.Errorf("FAILED of the task whose fetch failed: reason %v message %q", st.GetReason(), st.GetMessage())
		}
		if err := r.wait(t, wait); err != nil {
			t.Fatalf("Run: %v", err)
		}
		for _, id := range []string{"broken", "other"} {
			if _, err := os.Stat(r.taskFile(id, "ran")); err == nil {
				t.Errorf("task %s ran", id)
			}
		}
	})
}

// A KILL while the group's URIs are being fetched cancels the fetch and ends the group without
// running it.
func TestGroupKillDuringFetch(t *testing.T) {
	t.Parallel()
	requested := make(chan struct{}, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requested <- struct{}{}
		<-r.Context().Done() // never answers
	}))
	t.Cleanup(srv.Close)
	slow := groupTask("slow", "touch ran")
	slow.Command.Uris = []*mesospb.CommandInfo_URI{{Value: proto.String(srv.URL + "/artifact.tgz")}}
	a := newGroupAgent(t, codec.Protobuf, []*mesospb.TaskInfo{slow, groupTask("quick", "touch ran")})
	r := startDefault(t, a, nil)
	a.expectTasks(wait, map[string]states{"slow": {starting}, "quick": {starting}})
	select {
	case <-requested:
	case <-time.After(wait):
		t.Fatal("the fetcher did not ask for the URI")
	}
	a.killTask("quick", nil)
	got := a.expectTasks(wait, map[string]states{"slow": {killed}, "quick": {killed}})
	if msg := got["quick"][0].GetMessage(); !strings.Contains(msg, "killed before it started") {
		t.Errorf("KILLED message %q", msg)
	}
	if err := r.wait(t, wait); err != nil {
		t.Fatalf("Run: %v", err)
	}
	for _, id := range []string{"slow", "quick"} {
		if _, err := os.Stat(r.taskFile(id, "ran")); err == nil {
			t.Errorf("task %s ran", id)
		}
	}
}
