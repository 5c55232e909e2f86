package agent

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"strata/kernel/mesos/agentpb"
	"strata/kernel/mesos/codec"
	"strata/kernel/mesos/internalpb"
	"strata/kernel/mesos/mesospb"
)

// stateDoc is the part of /state the tests read.
type stateDoc struct {
	ID         string         `json:"id"`
	Pid        string         `json:"pid"`
	Hostname   string         `json:"hostname"`
	Resources  map[string]any `json:"resources"`
	Attributes map[string]any `json:"attributes"`
	Flags      map[string]string
	Frameworks []struct {
		ID         string    `json:"id"`
		Checkpoint bool      `json:"checkpoint"`
		Executors  []execDoc `json:"executors"`
		Completed  []execDoc `json:"completed_executors"`
	} `json:"frameworks"`
	CompletedFrameworks []struct {
		ID        string    `json:"id"`
		Completed []execDoc `json:"completed_executors"`
	} `json:"completed_frameworks"`
}

type execDoc struct {
	ID        string         `json:"id"`
	Name      string         `json:"name"`
	Source    string         `json:"source"`
	Container string         `json:"container"`
	Directory string         `json:"directory"`
	Resources map[string]any `json:"resources"`
	Tasks     []taskDoc      `json:"tasks"`
	Queued    []taskDoc      `json:"queued_tasks"`
	Completed []taskDoc      `json:"completed_tasks"`
}

type taskDoc struct {
	ID    string `json:"id"`
	State string `json:"state"`
}

func findExecutor(st stateDoc, fid, eid string) (execDoc, bool) {
	for _, f := range st.Frameworks {
		if f.ID != fid {
			continue
		}
		for _, e := range f.Executors {
			if e.ID == eid {
				return e, true
			}
		}
	}
	return execDoc{}, false
}

func readFile(t *testing.T, a *runningAgent, path string) string {
	t.Helper()
	var out struct {
		Data   string `json:"data"`
		Offset int64  `json:"offset"`
	}
	getJSON(t, a.url("/files/read?"+url.Values{"path": {path}, "offset": {"0"}}.Encode()), &out)
	return out.Data
}

func TestCustomExecutorLifecycle(t *testing.T) {
	m := newTestMaster(t)
	a := startAgent(t, testConfig(t, m))

	reg := m.waitCall("REGISTER", 10*time.Second, isType(internalpb.AgentCall_REGISTER))
	info := reg.GetRegister().GetAgentInfo()
	if info.Id != nil || info.GetPort() != int32(portOf(t, a.Addr())) {
		t.Fatalf("REGISTER agent_info = %v", info)
	}
	if got := scalarOf(info.GetResources(), "cpus"); got != 2 {
		t.Fatalf("registered cpus = %v, want the --resources override 2", got)
	}
	if reg.GetRegister().GetAddress() != a.Addr() || info.GetHostname() != a.cfg.Hostname {
		t.Fatalf("REGISTER address %q hostname %q", reg.GetRegister().GetAddress(), info.GetHostname())
	}
	if len(info.GetAttributes()) != 2 || reg.GetRegister().GetBootId() == "" {
		t.Fatalf("REGISTER = %v", reg.GetRegister())
	}
	eventually(t, 5*time.Second, func() error {
		if a.ID() != m.agentID || !a.Registered() {
			return fmt.Errorf("agent id %q registered %v", a.ID(), a.Registered())
		}
		return nil
	})

	fi := frameworkInfo(t, "fw-1", false)
	m.send(runTask(fi, customTask(t, "fw-1", "ex-1", "t1", "finish")))

	running := m.waitUpdate("t1", mesospb.TaskState_TASK_RUNNING)
	st := running.GetStatus()
	if st.GetSource() != mesospb.TaskStatus_SOURCE_EXECUTOR || st.GetExecutorId().GetValue() != "ex-1" ||
		st.GetAgentId().GetValue() != m.agentID || len(st.GetUuid()) != 16 {
		t.Fatalf("RUNNING status = %v", st)
	}
	cs := st.GetContainerStatus()
	if cs.GetContainerId().GetValue() == "" || cs.GetExecutorPid() == 0 ||
		cs.GetNetworkInfos()[0].GetIpAddresses()[0].GetIpAddress() != "127.0.0.1" {
		t.Fatalf("container_status = %v", cs)
	}
	if running.GetLatestState() != mesospb.TaskState_TASK_RUNNING && running.GetLatestState() != mesospb.TaskState_TASK_FINISHED {
		t.Fatalf("latest_state = %v", running.GetLatestState())
	}
	// Not acknowledged: the same update comes again, and FINISHED waits
	// behind it (one update in flight per task).
	retry := m.waitUpdate("t1", mesospb.TaskState_TASK_RUNNING)
	if !bytes.Equal(retry.GetStatus().GetUuid(), st.GetUuid()) {
		t.Fatal("retry carries another uuid")
	}
	if retry.GetLatestState() != mesospb.TaskState_TASK_FINISHED {
		t.Fatalf("retry latest_state = %v, want TASK_FINISHED", retry.GetLatestState())
	}
	finishedSent := func(c *internalpb.AgentCall) bool {
		return c.GetStatusUpdate().GetStatus().GetState() == mesospb.TaskState_TASK_FINISHED
	}
	if n := m.countCalls(finishedSent); n != 0 {
		t.Fatalf("FINISHED forwarded before RUNNING was acknowledged (%d times)", n)
	}

	// /state shows the executor and its sandbox; /files serves its stdout.
	var sd stateDoc
	getJSON(t, a.url("/state"), &sd)
	ex, ok := findExecutor(sd, "fw-1", "ex-1")
	if !ok {
		t.Fatalf("executor not in /state: %+v", sd)
	}
	if sd.ID != m.agentID || sd.Pid != "slave(1)@"+a.Addr() || sd.Attributes["rack"] != "r1" || sd.Resources["cpus"] != 2.0 {
		t.Fatalf("/state top level: %+v", sd)
	}
	wantDir := filepath.Join(a.cfg.WorkDir, "slaves", m.agentID, "frameworks", "fw-1", "executors", "ex-1", "runs", ex.Container)
	if ex.Directory != wantDir || ex.Container != cs.GetContainerId().GetValue() {
		t.Fatalf("executor directory %q container %q, want %q", ex.Directory, ex.Container, wantDir)
	}
	if target, err := os.Readlink(filepath.Join(filepath.Dir(ex.Directory), "latest")); err != nil || target != ex.Container {
		t.Fatalf("runs/latest -> %q, %v", target, err)
	}
	if got := readFile(t, a, ex.Directory+"/stdout"); !strings.Contains(got, "hello from t1") {
		t.Fatalf("stdout = %q", got)
	}
	if got := readFile(t, a, "/frameworks/fw-1/executors/ex-1/runs/latest/stdout"); !strings.Contains(got, "hello from t1") {
		t.Fatalf("stdout via virtual path = %q", got)
	}
	resp, err := http.Get(a.url("/files/read?" + url.Values{"path": {ex.Directory + "/../../../../../../../../../etc/passwd"}, "offset": {"0"}}.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("escape attempt answered %s", resp.Status)
	}

	m.ack(running)
	finished := m.waitUpdate("t1", mesospb.TaskState_TASK_FINISHED)
	m.ack(finished)
	exited := m.waitCall("EXITED_EXECUTOR", 20*time.Second, isType(internalpb.AgentCall_EXITED_EXECUTOR))
	if ee := exited.GetExitedExecutor(); ee.GetExecutorId().GetValue() != "ex-1" || ee.GetStatus() != 0 {
		t.Fatalf("EXITED_EXECUTOR = %v", ee)
	}
	// Everything acknowledged: the executor and the framework are completed.
	eventually(t, 10*time.Second, func() error {
		var sd stateDoc
		getJSON(t, a.url("/state"), &sd)
		if len(sd.Frameworks) != 0 || len(sd.CompletedFrameworks) != 1 ||
			len(sd.CompletedFrameworks[0].Completed) != 1 ||
			len(sd.CompletedFrameworks[0].Completed[0].Completed) != 1 {
			return fmt.Errorf("state not completed yet: %+v", sd)
		}
		return nil
	})
	// The sandbox stays browsable.
	if got := readFile(t, a, ex.Directory+"/stdout"); !strings.Contains(got, "hello from t1") {
		t.Fatalf("stdout after completion = %q", got)
	}
}

func portOf(t *testing.T, addr string) int {
	var port int
	if _, err := fmt.Sscanf(addr[strings.LastIndexByte(addr, ':')+1:], "%d", &port); err != nil {
		t.Fatal(err)
	}
	return port
}

func scalarOf(rs []*mesospb.Resource, name string) float64 {
	total := 0.0
	for _, r := range rs {
		if r.GetName() == name {
			total += r.GetScalar().GetValue()
		}
	}
	return total
}

func TestKillMessageAndMonitor(t *testing.T) {
	m := newTestMaster(t)
	cfg := testConfig(t, m)
	cfg.ExecutorHeartbeatInterval = 100 * time.Millisecond
	a := startAgent(t, cfg)
	m.waitCall("REGISTER", 10*time.Second, isType(internalpb.AgentCall_REGISTER))

	fi := frameworkInfo(t, "fw-1", false)
	m.send(runTask(fi, customTask(t, "fw-1", "ex-1", "t1", "stay")))
	running := m.waitUpdate("t1", mesospb.TaskState_TASK_RUNNING)
	m.ack(running)

	// A second task for the running executor is delivered at once.
	t2 := customTask(t, "fw-1", "ex-1", "t2", "stay")
	m.send(runTask(fi, t2))
	m.ack(m.waitUpdate("t2", mesospb.TaskState_TASK_RUNNING))

	var stats []struct {
		FrameworkID string `json:"framework_id"`
		ExecutorID  string `json:"executor_id"`
		Statistics  struct {
			Processes uint32  `json:"processes"`
			RSS       uint64  `json:"mem_rss_bytes"`
			CPULimit  float64 `json:"cpus_limit"`
			Timestamp float64 `json:"timestamp"`
		} `json:"statistics"`
	}
	getJSON(t, a.url("/monitor/statistics"), &stats)
	if len(stats) != 1 || stats[0].ExecutorID != "ex-1" || stats[0].Statistics.Processes < 1 ||
		stats[0].Statistics.RSS == 0 || stats[0].Statistics.CPULimit < 0.29 || stats[0].Statistics.Timestamp == 0 {
		t.Fatalf("/monitor/statistics = %+v", stats)
	}

	// GET_CONTAINERS over protobuf.
	resp := operatorCall(t, a, codec.Protobuf, &agentpb.Call{Type: agentpb.Call_GET_CONTAINERS.Enum()})
	if cs := resp.GetGetContainers().GetContainers(); len(cs) != 1 || cs[0].GetExecutorId().GetValue() != "ex-1" ||
		cs[0].GetResourceStatistics().GetProcesses() == 0 {
		t.Fatalf("GET_CONTAINERS = %v", resp)
	}

	// Framework message round trip.
	m.send(&internalpb.AgentEvent{Type: internalpb.AgentEvent_FRAMEWORK_MESSAGE.Enum(),
		FrameworkMessage: &internalpb.AgentEvent_FrameworkMessage{
			FrameworkId: fi.GetId(), ExecutorId: &mesospb.ExecutorID{Value: proto.String("ex-1")}, Data: []byte("ping")}})
	msg := m.waitCall("EXECUTOR_MESSAGE", 10*time.Second, isType(internalpb.AgentCall_EXECUTOR_MESSAGE))
	if string(msg.GetExecutorMessage().GetData()) != "echo:ping" {
		t.Fatalf("EXECUTOR_MESSAGE = %v", msg)
	}

	// Executor heartbeats.
	eventually(t, 10*time.Second, func() error {
		if got := readFile(t, a, "/frameworks/fw-1/executors/ex-1/runs/latest/stdout"); !strings.Contains(got, "heartbeat") {
			return fmt.Errorf("no HEARTBEAT seen by the executor: %q", got)
		}
		return nil
	})

	m.send(killTask("fw-1", "t1"))
	killed := m.waitUpdate("t1", mesospb.TaskState_TASK_KILLED)
	m.ack(killed)
	// Shutting the executor down kills t2 through the executor.
	m.send(&internalpb.AgentEvent{Type: internalpb.AgentEvent_SHUTDOWN_EXECUTOR.Enum(),
		ShutdownExecutor: &internalpb.AgentEvent_ShutdownExecutor{FrameworkId: fi.GetId(),
			ExecutorId: &mesospb.ExecutorID{Value: proto.String("ex-1")}}})
	m.ack(m.waitUpdate("t2", mesospb.TaskState_TASK_KILLED))
	m.waitCall("EXITED_EXECUTOR", 20*time.Second, isType(internalpb.AgentCall_EXITED_EXECUTOR))
}

func operatorCall(t *testing.T, a *runningAgent, c codec.Codec, call *agentpb.Call) *agentpb.Response {
	t.Helper()
	body, err := c.Marshal(call)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, a.url("/api/v1"), bytes.NewReader(body))
	req.Header.Set("Content-Type", c.ContentType())
	req.Header.Set("Accept", c.ContentType())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != c.ContentType() {
		t.Fatalf("%v: %s %q %s", call.GetType(), resp.Status, resp.Header.Get("Content-Type"), b)
	}
	out := &agentpb.Response{}
	if err := c.Unmarshal(b, out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestFetchFailureFailsTask(t *testing.T) {
	m := newTestMaster(t)
	startAgent(t, testConfig(t, m))
	m.waitCall("REGISTER", 10*time.Second, isType(internalpb.AgentCall_REGISTER))
	ti := customTask(t, "fw-1", "ex-1", "t1", "finish")
	ti.Executor.Command.Uris = []*mesospb.CommandInfo_URI{{Value: proto.String("file:///nonexistent/strata-test/thing.tgz")}}
	m.send(runTask(frameworkInfo(t, "fw-1", false), ti))
	failed := m.waitUpdate("t1", mesospb.TaskState_TASK_FAILED)
	st := failed.GetStatus()
	if st.GetReason() != mesospb.TaskStatus_REASON_CONTAINER_LAUNCH_FAILED || st.GetSource() != mesospb.TaskStatus_SOURCE_AGENT ||
		!strings.Contains(st.GetMessage(), "/nonexistent/strata-test/thing.tgz") {
		t.Fatalf("status = %v", st)
	}
	m.waitCall("EXITED_EXECUTOR", 10*time.Second, isType(internalpb.AgentCall_EXITED_EXECUTOR))
}

func TestExecutorRegistrationTimeout(t *testing.T) {
	m := newTestMaster(t)
	cfg := testConfig(t, m)
	cfg.ExecutorRegistrationTimeout = time.Second
	startAgent(t, cfg)
	m.waitCall("REGISTER", 10*time.Second, isType(internalpb.AgentCall_REGISTER))
	ti := customTask(t, "fw-1", "ex-1", "t1", "finish")
	ti.Executor.Command = &mesospb.CommandInfo{Value: proto.String("echo $$ > pid; exec sleep 60")}
	m.send(runTask(frameworkInfo(t, "fw-1", false), ti))
	st := m.waitUpdate("t1", mesospb.TaskState_TASK_FAILED).GetStatus()
	if st.GetReason() != mesospb.TaskStatus_REASON_EXECUTOR_REGISTRATION_TIMEOUT {
		t.Fatalf("status = %v", st)
	}
	ee := m.waitCall("EXITED_EXECUTOR", 10*time.Second, isType(internalpb.AgentCall_EXITED_EXECUTOR)).GetExitedExecutor()
	if ws := syscall.WaitStatus(ee.GetStatus()); !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("exit status %v: %v", ws, ee)
	}
}

func TestExecutorCrashFailsTasks(t *testing.T) {
	m := newTestMaster(t)
	startAgent(t, testConfig(t, m))
	m.waitCall("REGISTER", 10*time.Second, isType(internalpb.AgentCall_REGISTER))
	m.send(runTask(frameworkInfo(t, "fw-1", false), customTask(t, "fw-1", "ex-1", "t1", "crash")))
	m.ack(m.waitUpdate("t1", mesospb.TaskState_TASK_RUNNING))
	st := m.waitUpdate("t1", mesospb.TaskState_TASK_FAILED).GetStatus()
	if st.GetReason() != mesospb.TaskStatus_REASON_EXECUTOR_TERMINATED || !strings.Contains(st.GetMessage(), "exited with status 3") {
		t.Fatalf("status = %v", st)
	}
	ee := m.waitCall("EXITED_EXECUTOR", 10*time.Second, isType(internalpb.AgentCall_EXITED_EXECUTOR)).GetExitedExecutor()
	if ws := syscall.WaitStatus(ee.GetStatus()); !ws.Exited() || ws.ExitStatus() != 3 {
		t.Fatalf("EXITED_EXECUTOR status = %v", ee)
	}
}

func TestCommandTask(t *testing.T) {
	m := newTestMaster(t)
	cfg := testConfig(t, m)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cfg.Executable = exe
	a := startAgent(t, cfg)
	m.waitCall("REGISTER", 10*time.Second, isType(internalpb.AgentCall_REGISTER))
	ti := &mesospb.TaskInfo{
		Name:      proto.String("cmd"),
		TaskId:    &mesospb.TaskID{Value: proto.String("ct1")},
		AgentId:   &mesospb.AgentID{Value: proto.String(m.agentID)},
		Resources: []*mesospb.Resource{scalar("cpus", 0.5), scalar("mem", 64)},
		Command:   &mesospb.CommandInfo{Value: proto.String("echo hi from the command; sleep 1")},
	}
	m.send(runTask(frameworkInfo(t, "fw-1", false), ti))
	var running *internalpb.AgentCall_StatusUpdate
	for _, state := range []mesospb.TaskState{mesospb.TaskState_TASK_STARTING, mesospb.TaskState_TASK_RUNNING} {
		u := m.waitUpdate("ct1", state)
		if state == mesospb.TaskState_TASK_RUNNING {
			running = u
		}
		m.ack(u)
	}
	_ = running
	var sd stateDoc
	getJSON(t, a.url("/state"), &sd)
	ex, ok := findExecutor(sd, "fw-1", "ct1")
	if !ok {
		t.Fatalf("command executor not in /state: %+v", sd)
	}
	if ex.Name != "Command Executor (Task: ct1) (Command: sh -c 'echo hi from...')" || ex.Source != "ct1" {
		t.Fatalf("executor name %q source %q", ex.Name, ex.Source)
	}
	if cpus := ex.Resources["cpus"].(float64); cpus < 0.599 || cpus > 0.601 {
		t.Fatalf("executor resources = %v, want task + 0.1 cpus", ex.Resources)
	}
	m.ack(m.waitUpdate("ct1", mesospb.TaskState_TASK_FINISHED))
	m.waitCall("EXITED_EXECUTOR", 20*time.Second, isType(internalpb.AgentCall_EXITED_EXECUTOR))
	if got := readFile(t, a, ex.Directory+"/stdout"); !strings.Contains(got, "hi from the command") {
		t.Fatalf("stdout = %q", got)
	}
}

func TestRestartRecoversCheckpointedExecutors(t *testing.T) {
	m := newTestMaster(t)
	cfg := testConfig(t, m)
	cfg.KillTasksOnExit = false
	a1 := startAgent(t, cfg)
	m.waitCall("REGISTER", 10*time.Second, isType(internalpb.AgentCall_REGISTER))

	kept := frameworkInfo(t, "fw-ckpt", true)
	lost := frameworkInfo(t, "fw-plain", false)
	m.send(runTask(kept, customTask(t, "fw-ckpt", "ex-1", "t1", "stay")))
	m.send(runTask(kept, customTask(t, "fw-ckpt", "ex-2", "t2", "deaf")))
	m.send(runTask(lost, customTask(t, "fw-plain", "ex-3", "t3", "stay")))
	pids := map[string]int{}
	t.Cleanup(func() {
		// Executors outlive agents here; never leave one behind.
		for _, pid := range pids {
			if pid > 1 {
				_ = syscall.Kill(-pid, syscall.SIGKILL)
			}
		}
	})
	for _, tid := range []string{"t1", "t2", "t3"} {
		u := m.waitUpdate(tid, mesospb.TaskState_TASK_RUNNING)
		pids[tid] = int(u.GetStatus().GetContainerStatus().GetExecutorPid())
		if pids[tid] <= 1 {
			t.Fatalf("%s: executor pid %d in container_status", tid, pids[tid])
		}
		if tid != "t2" {
			m.ack(u) // t2's RUNNING stays unacknowledged across the restart
		}
	}
	eventually(t, 10*time.Second, func() error {
		for _, k := range [][2]string{{"fw-ckpt", "t1"}, {"fw-plain", "t3"}} {
			if a1.sum.HasPending(k[0], k[1]) {
				return fmt.Errorf("acknowledgement of %s not processed yet", k[1])
			}
		}
		return nil
	})
	a1.stop()
	if !pidAlive(pids["t1"]) || !pidAlive(pids["t2"]) {
		t.Fatal("checkpointing executors did not survive the agent")
	}
	eventually(t, 10*time.Second, func() error {
		if pidAlive(pids["t3"]) {
			return fmt.Errorf("executor of the non-checkpointing framework still alive")
		}
		return nil
	})

	cfg.Port = portOf(t, a1.Addr())
	a2 := startAgent(t, cfg)
	rereg := m.waitCall("REREGISTER", 10*time.Second, isType(internalpb.AgentCall_REREGISTER))
	rr := rereg.GetReregister()
	if rr.GetAgentInfo().GetId().GetValue() != m.agentID || rereg.GetAgentId().GetValue() != m.agentID ||
		rr.GetAddress() != a2.Addr() || rr.GetBootId() == "" {
		t.Fatalf("REREGISTER ids: %v", rereg)
	}
	tasks := map[string]mesospb.TaskState{}
	for _, tk := range rr.GetTasks() {
		tasks[tk.GetTaskId().GetValue()] = tk.GetState()
	}
	if tasks["t1"] != mesospb.TaskState_TASK_RUNNING || tasks["t2"] != mesospb.TaskState_TASK_RUNNING || len(rr.GetFrameworks()) != 1 {
		t.Fatalf("REREGISTER tasks %v frameworks %v", tasks, rr.GetFrameworks())
	}
	if len(rr.GetPendingUpdates()) != 1 || rr.GetPendingUpdates()[0].GetStatus().GetTaskId().GetValue() != "t2" {
		t.Fatalf("pending updates = %v", rr.GetPendingUpdates())
	}
	// The unacknowledged RUNNING of t2 is sent again after re-registration.
	m.ack(m.waitUpdate("t2", mesospb.TaskState_TASK_RUNNING))

	// ex-1 re-subscribes; ex-2 does not and is destroyed.
	st := m.waitUpdate("t2", mesospb.TaskState_TASK_FAILED).GetStatus()
	if st.GetReason() != mesospb.TaskStatus_REASON_EXECUTOR_REREGISTRATION_TIMEOUT {
		t.Fatalf("t2 status = %v", st)
	}
	eventually(t, 10*time.Second, func() error {
		if pidAlive(pids["t2"]) {
			return fmt.Errorf("un-reregistered executor still alive")
		}
		return nil
	})
	var sd stateDoc
	getJSON(t, a2.url("/state"), &sd)
	ex, ok := findExecutor(sd, "fw-ckpt", "ex-1")
	if !ok || len(ex.Tasks) != 1 || ex.Tasks[0].State != "TASK_RUNNING" {
		t.Fatalf("recovered executor in /state: %+v", sd)
	}
	if got := readFile(t, a2, ex.Directory+"/stdout"); !strings.Contains(got, "hello from t1") {
		t.Fatalf("recovered sandbox stdout = %q", got)
	}
	m.send(killTask("fw-ckpt", "t1"))
	m.ack(m.waitUpdate("t1", mesospb.TaskState_TASK_KILLED))
	m.waitCall("EXITED_EXECUTOR ex-1", 20*time.Second, func(c *internalpb.AgentCall) bool {
		return c.GetExitedExecutor().GetExecutorId().GetValue() == "ex-1"
	})
	if n := m.countCalls(func(c *internalpb.AgentCall) bool {
		return c.GetStatusUpdate().GetStatus().GetTaskId().GetValue() == "t1" &&
			c.GetStatusUpdate().GetStatus().GetState() == mesospb.TaskState_TASK_FAILED
	}); n != 0 {
		t.Fatal("re-attached task was failed")
	}
}

func TestExecutorAPIValidation(t *testing.T) {
	m := newTestMaster(t)
	a := startAgent(t, testConfig(t, m))
	post := func(method, ct, accept, body string) (int, string) {
		req, _ := http.NewRequest(method, a.url("/api/v1/executor"), strings.NewReader(body))
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	sub := `{"type":"SUBSCRIBE","framework_id":{"value":"nope"},"executor_id":{"value":"nope"}}`
	upd := `{"type":"UPDATE","framework_id":{"value":"f"},"executor_id":{"value":"e"},"update":{"status":{"task_id":{"value":"t"},"state":"TASK_RUNNING"}}}`
	tests := []struct {
		name, method, ct, accept, body string
		code                           int
		msg                            string
	}{
		{"get", http.MethodGet, "", "", "", 405, ""},
		{"no content type", http.MethodPost, "", "", sub, 400, "Content-Type"},
		{"bad content type", http.MethodPost, "text/plain", "", sub, 415, ""},
		{"bad body", http.MethodPost, "application/json", "", "{", 400, ""},
		{"missing ids", http.MethodPost, "application/json", "", `{"type":"SUBSCRIBE"}`, 400, "required"},
		{"not acceptable", http.MethodPost, "application/json", "text/html", sub, 406, ""},
		{"unknown framework", http.MethodPost, "application/json", "application/json", sub, 400, "Framework cannot be found"},
		{"update without uuid", http.MethodPost, "application/json", "", upd, 400, "uuid"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, body := post(tc.method, tc.ct, tc.accept, tc.body)
			if code != tc.code || !strings.Contains(body, tc.msg) {
				t.Fatalf("got %d %q, want %d containing %q", code, body, tc.code, tc.msg)
			}
		})
	}
}

func TestOperatorEndpoints(t *testing.T) {
	m := newTestMaster(t)
	a := startAgent(t, testConfig(t, m))
	m.waitCall("REGISTER", 10*time.Second, isType(internalpb.AgentCall_REGISTER))
	eventually(t, 5*time.Second, func() error {
		if !a.Registered() {
			return fmt.Errorf("not registered")
		}
		return nil
	})

	// GET_HEALTH in JSON is byte-exact.
	req, _ := http.NewRequest(http.MethodPost, a.url("/api/v1"), strings.NewReader(`{"type":"GET_HEALTH"}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" ||
		string(b) != `{"type":"GET_HEALTH","get_health":{"healthy":true}}` {
		t.Fatalf("GET_HEALTH: %s %q %s", resp.Status, resp.Header.Get("Content-Type"), b)
	}
	for _, c := range []codec.Codec{codec.JSON, codec.Protobuf} {
		r := operatorCall(t, a, c, &agentpb.Call{Type: agentpb.Call_GET_AGENT.Enum()})
		if r.GetGetAgent().GetAgentInfo().GetId().GetValue() != m.agentID {
			t.Fatalf("GET_AGENT = %v", r)
		}
		r = operatorCall(t, a, c, &agentpb.Call{Type: agentpb.Call_GET_STATE.Enum()})
		if r.GetType() != agentpb.Response_GET_STATE || r.GetGetState().GetGetTasks() == nil {
			t.Fatalf("GET_STATE = %v", r)
		}
		r = operatorCall(t, a, c, &agentpb.Call{Type: agentpb.Call_GET_FLAGS.Enum()})
		if len(r.GetGetFlags().GetFlags()) == 0 {
			t.Fatalf("GET_FLAGS = %v", r)
		}
		r = operatorCall(t, a, c, &agentpb.Call{Type: agentpb.Call_GET_VERSION.Enum()})
		if r.GetGetVersion().GetVersionInfo().GetVersion() == "" {
			t.Fatalf("GET_VERSION = %v", r)
		}
	}
	for _, tc := range []struct {
		body string
		code int
	}{
		{`{"type":"LAUNCH_CONTAINER","launch_container":{"container_id":{"value":"x"}}}`, 501},
		{`{"type":"NOPE"}`, 400},
	} {
		req, _ := http.NewRequest(http.MethodPost, a.url("/api/v1"), strings.NewReader(tc.body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.code {
			t.Fatalf("%s: %s", tc.body, resp.Status)
		}
	}

	// Legacy endpoints, also under /slave(1).
	resp, err = http.Get(a.url("/health"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || len(b) != 0 {
		t.Fatalf("/health: %s %q", resp.Status, b)
	}
	var sd stateDoc
	getJSON(t, a.url("/slave(1)/state"), &sd)
	if sd.ID != m.agentID || sd.Flags["work_dir"] != a.cfg.WorkDir {
		t.Fatalf("/slave(1)/state = %+v", sd)
	}
	var flags struct {
		Flags map[string]string `json:"flags"`
	}
	getJSON(t, a.url("/flags"), &flags)
	if flags.Flags["executor_shutdown_grace_period"] != "5secs" {
		t.Fatalf("/flags = %v", flags)
	}
	var snap map[string]float64
	getJSON(t, a.url("/metrics/snapshot"), &snap)
	if snap["slave/registered"] != 1 || snap["slave/cpus_total"] != 2 {
		t.Fatalf("/metrics/snapshot = %v", snap)
	}
	resp, err = http.Get(a.url("/metrics"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"strata_agent_registered 1", "strata_agent_cpus_total 2", "# TYPE strata_agent_tasks_finished_total counter"} {
		if !strings.Contains(string(b), want) {
			t.Fatalf("/metrics lacks %q:\n%s", want, b)
		}
	}
	var debug map[string]string
	getJSON(t, a.url("/files/debug"), &debug)
	var statsDoc []json.RawMessage
	getJSON(t, a.url("/monitor/statistics"), &statsDoc)
	if len(statsDoc) != 0 {
		t.Fatalf("statistics without executors: %s", statsDoc)
	}
}

func TestRedirectPingAndReregistration(t *testing.T) {
	m := newTestMaster(t)
	m.pingSeconds = 0.2
	m.maxPings = 2
	front := newTestMaster(t)
	front.redirectTo = m.addr()
	cfg := testConfig(t, m)
	cfg.Master = front.addr()
	a := startAgent(t, cfg)

	// Redirected to the leader.
	m.waitCall("REGISTER", 10*time.Second, isType(internalpb.AgentCall_REGISTER))
	// PING is answered with PONG and the same seq.
	m.send(&internalpb.AgentEvent{Type: internalpb.AgentEvent_PING.Enum(), Ping: &internalpb.AgentEvent_Ping{Seq: proto.Uint64(42)}})
	pong := m.waitCall("PONG", 10*time.Second, isType(internalpb.AgentCall_PONG))
	if pong.GetPong().GetSeq() != 42 {
		t.Fatalf("PONG = %v", pong)
	}
	// Without pings the agent gives up on the stream (0.4 s) and
	// re-registers with its id.
	rr := m.waitCall("REREGISTER after ping timeout", 10*time.Second, isType(internalpb.AgentCall_REREGISTER))
	if rr.GetAgentId().GetValue() != m.agentID {
		t.Fatalf("REREGISTER = %v", rr)
	}
	// A broken stream also leads to re-registration.
	m.kick <- struct{}{}
	m.waitCall("REREGISTER after stream break", 10*time.Second, isType(internalpb.AgentCall_REREGISTER))
	_ = a
}

// Containers of images on an agent without podman support: a command task
// with an image, a custom executor in an image and a task group with a task
// with an image fail at once, from the agent, saying why; no executor is
// started. So does a default executor that asks for an image itself.
func TestImageTaskWithoutPodmanFails(t *testing.T) {
	m := newTestMaster(t)
	a := startAgent(t, testConfig(t, m))
	m.waitCall("REGISTER", 10*time.Second, isType(internalpb.AgentCall_REGISTER))
	docker := func(image string) *mesospb.ContainerInfo {
		return &mesospb.ContainerInfo{Type: mesospb.ContainerInfo_DOCKER.Enum(),
			Docker: &mesospb.ContainerInfo_DockerInfo{Image: proto.String(image)}}
	}
	const without = "this agent cannot run image containers: the agent was started without podman support"
	fw := frameworkInfo(t, "fw-1", false)

	ti := &mesospb.TaskInfo{
		Name:      proto.String("image task"),
		TaskId:    &mesospb.TaskID{Value: proto.String("img")},
		AgentId:   &mesospb.AgentID{Value: proto.String("test-agent-S0")},
		Resources: []*mesospb.Resource{scalar("cpus", 0.1), scalar("mem", 32)},
		Command:   &mesospb.CommandInfo{Value: proto.String("true")},
		Container: docker("busybox:1.36"),
	}
	custom := customTask(t, "fw-1", "exec-in-image", "custom", "finish")
	custom.Executor.Container = docker("busybox:1.37")
	defaultInImage := defaultExecutorInfo("fw-1", "default-in-image")
	defaultInImage.Container = &mesospb.ContainerInfo{Type: mesospb.ContainerInfo_MESOS.Enum(), Mesos: &mesospb.ContainerInfo_MesosInfo{
		Image: &mesospb.Image{Type: mesospb.Image_DOCKER.Enum(), Docker: &mesospb.Image_Docker{Name: proto.String("busybox:1.39")}}}}
	groupImg := groupCommandTask("group-img", "true")
	groupImg.Container = docker("busybox:1.38")
	m.send(runTask(fw, ti))
	m.send(runTask(fw, custom))
	m.send(runTaskGroup(fw, defaultExecutorInfo("fw-1", "group"), groupImg, groupCommandTask("group-proc", "true")))
	m.send(runTaskGroup(fw, defaultInImage, groupCommandTask("in-default", "true")))
	for _, tt := range []struct{ task, want string }{
		{"img", "'busybox:1.36' (DOCKER container)"},
		{"custom", "'busybox:1.37' (DOCKER container)"},
		{"group-img", "'busybox:1.38' (DOCKER container) for task 'group-img'"},
		{"group-proc", "'busybox:1.38' (DOCKER container) for task 'group-img'"},
		{"in-default", "The default executor cannot run in a container of image 'busybox:1.39' (DOCKER image)"},
	} {
		st := m.waitUpdate(tt.task, mesospb.TaskState_TASK_FAILED).GetStatus()
		if st.GetReason() != mesospb.TaskStatus_REASON_CONTAINER_LAUNCH_FAILED || st.GetSource() != mesospb.TaskStatus_SOURCE_AGENT ||
			!strings.Contains(st.GetMessage(), tt.want) || (tt.task != "in-default" && !strings.Contains(st.GetMessage(), without)) {
			t.Errorf("status of %s = %v", tt.task, st)
		}
	}
	for i := 0; i < 3; i++ { // the executors of img, custom and in-default; the group's never existed
		m.waitCall("EXITED_EXECUTOR", 10*time.Second, isType(internalpb.AgentCall_EXITED_EXECUTOR))
	}
	if n := m.countCalls(isType(internalpb.AgentCall_EXITED_EXECUTOR)); n != 3 {
		t.Errorf("%d EXITED_EXECUTOR calls, want 3", n)
	}
	var flags struct {
		Flags map[string]string `json:"flags"`
	}
	getJSON(t, a.url("/flags"), &flags)
	if flags.Flags["podman"] != "off" || !strings.Contains(flags.Flags["podman_status"], "without podman support") {
		t.Errorf("/flags podman = %q, podman_status = %q", flags.Flags["podman"], flags.Flags["podman_status"])
	}
}
