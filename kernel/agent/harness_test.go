package agent

import (
	"strata/kernel/containerizer/standby"

	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/signal"
	"os/user"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	cmdexec "strata/kernel/executor"
	"strata/kernel/mesos/codec"
	"strata/kernel/mesos/executorpb"
	"strata/kernel/mesos/internalpb"
	"strata/kernel/mesos/mesospb"
	"strata/kernel/mesos/recordio"
)

// The test binary doubles as executor: with STRATA_TEST_EXECUTOR set it is
// a tiny v1 custom executor, and started as `<binary> executor` by the agent
// (directly or as a standby) it is the real built-in executor, as `strata
// executor` runs it: the command executor with MESOS_HTTP_COMMAND_EXECUTOR=1,
// the default executor without.
func TestMain(m *testing.M) {
	if _, ok := os.LookupEnv(standby.EnvFD); ok && (len(os.Args) < 2 || os.Args[1] != "executor") {
		// The first process of a container of an isolating agent: this
		// binary is the agent's executable, so it is started as the
		// container's init (container-init, which executes the program) or
		// as the fake executor itself.
		if _, err := standby.Await(); err != nil {
			if errors.Is(err, standby.ErrDiscarded) {
				os.Exit(0)
			}
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		if mode := os.Getenv("STRATA_TEST_EXECUTOR"); mode != "" {
			os.Exit(fakeExecutor(mode))
		}
		fmt.Fprintln(os.Stderr, "container-init: nothing to execute")
		os.Exit(1)
	}
	if mode := os.Getenv("STRATA_TEST_EXECUTOR"); mode != "" {
		os.Exit(fakeExecutor(mode))
	}
	if len(os.Args) > 1 && os.Args[1] == "executor" {
		if err := cmdexec.AwaitLaunch(); err != nil {
			if errors.Is(err, cmdexec.ErrStandbyDiscarded) {
				os.Exit(0)
			}
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		cfg, err := cmdexec.ConfigFromProcess()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
		defer stop()
		if err := cmdexec.Run(ctx, cfg); err != nil {
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// ---------------------------------------------------------------------------
// The fake custom executor.
//
// Modes: "finish" (RUNNING then FINISHED, exit once acknowledged), "stay"
// (RUNNING, then wait for KILL or SHUTDOWN), "crash" (RUNNING, then exit 3),
// "deaf" (like stay, but never re-subscribes after losing the agent).
// MESSAGE events are echoed back as "echo:<data>". With MESOS_CHECKPOINT=1 a
// broken stream is re-subscribed (with the unacknowledged tasks and updates)
// for up to 30 s.

type fakeExec struct {
	mode     string
	endpoint string
	fid, eid string
	c        codec.Codec
	tasks    map[string]*mesospb.TaskInfo
	acked    map[string]bool // task ids with an acknowledged update
	terminal map[string]bool
	unacked  []*executorpb.Call_Update
	// subscribed is set once a SUBSCRIBED event arrived.
	subscribed bool
}

func fakeExecutor(mode string) int {
	e := &fakeExec{
		mode:     mode,
		endpoint: os.Getenv("MESOS_AGENT_ENDPOINT"),
		fid:      os.Getenv("MESOS_FRAMEWORK_ID"),
		eid:      os.Getenv("MESOS_EXECUTOR_ID"),
		c:        codec.JSON,
		tasks:    map[string]*mesospb.TaskInfo{},
		acked:    map[string]bool{},
		terminal: map[string]bool{},
	}
	for _, v := range []string{"MESOS_FRAMEWORK_ID", "MESOS_EXECUTOR_ID", "MESOS_DIRECTORY", "MESOS_SANDBOX",
		"MESOS_AGENT_ENDPOINT", "MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD", "MESOS_CHECKPOINT"} {
		if os.Getenv(v) == "" {
			fmt.Fprintln(os.Stderr, "fake executor: missing", v)
			return 2
		}
	}
	checkpoint := os.Getenv("MESOS_CHECKPOINT") == "1"
	if checkpoint && (os.Getenv("MESOS_RECOVERY_TIMEOUT") == "" || os.Getenv("MESOS_SUBSCRIPTION_BACKOFF_MAX") == "") {
		fmt.Fprintln(os.Stderr, "fake executor: missing recovery variables")
		return 2
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		done, err := e.session()
		if done {
			return 0
		}
		fmt.Fprintln(os.Stderr, "fake executor: stream ended:", err)
		if !checkpoint || time.Now().After(deadline) || (e.subscribed && mode == "deaf") {
			if mode == "deaf" {
				time.Sleep(time.Hour)
			}
			return 1
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (e *fakeExec) post(call *executorpb.Call) (*http.Response, error) {
	call.FrameworkId = &mesospb.FrameworkID{Value: proto.String(e.fid)}
	call.ExecutorId = &mesospb.ExecutorID{Value: proto.String(e.eid)}
	b, err := e.c.Marshal(call)
	if err != nil {
		return nil, err
	}
	req, _ := http.NewRequest(http.MethodPost, "http://"+e.endpoint+"/api/v1/executor", bytes.NewReader(b))
	req.Header.Set("Content-Type", e.c.ContentType())
	req.Header.Set("Accept", e.c.ContentType())
	return http.DefaultClient.Do(req)
}

func (e *fakeExec) update(tid string, state mesospb.TaskState, msg string) {
	uuid := make([]byte, 16)
	_, _ = rand.Read(uuid)
	u := &executorpb.Call_Update{Status: &mesospb.TaskStatus{
		TaskId:  &mesospb.TaskID{Value: proto.String(tid)},
		State:   state.Enum(),
		Source:  mesospb.TaskStatus_SOURCE_EXECUTOR.Enum(),
		Message: proto.String(msg),
		Uuid:    uuid,
	}}
	e.unacked = append(e.unacked, u)
	if isTerminal(state) {
		e.terminal[tid] = true
	}
	resp, err := e.post(&executorpb.Call{Type: executorpb.Call_UPDATE.Enum(), Update: u})
	if err == nil {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			fmt.Fprintln(os.Stderr, "fake executor: update answered", resp.Status)
		}
	}
}

// finished reports whether every task is terminal and acknowledged.
func (e *fakeExec) finished() bool {
	if len(e.unacked) > 0 || len(e.tasks) == 0 {
		return false
	}
	for tid := range e.tasks {
		if !e.terminal[tid] {
			return false
		}
	}
	return true
}

// session subscribes and handles events until the stream ends. done means
// the executor is finished and should exit 0.
func (e *fakeExec) session() (bool, error) {
	sub := &executorpb.Call_Subscribe{UnacknowledgedUpdates: e.unacked}
	for tid, t := range e.tasks {
		if !e.acked[tid] {
			sub.UnacknowledgedTasks = append(sub.UnacknowledgedTasks, t)
		}
	}
	resp, err := e.post(&executorpb.Call{Type: executorpb.Call_SUBSCRIBE.Enum(), Subscribe: sub})
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return false, fmt.Errorf("subscribe: %s", resp.Status)
	}
	if ct := resp.Header.Get("Content-Type"); ct != e.c.ContentType() {
		return false, fmt.Errorf("subscribe: Content-Type %q", ct)
	}
	rd := recordio.NewReader(resp.Body)
	for {
		rec, err := rd.ReadRecord()
		if err != nil {
			return false, err
		}
		ev := &executorpb.Event{}
		if err := e.c.Unmarshal(rec, ev); err != nil {
			return false, err
		}
		switch ev.GetType() {
		case executorpb.Event_SUBSCRIBED:
			e.subscribed = true
		case executorpb.Event_HEARTBEAT:
			fmt.Println("heartbeat")
		case executorpb.Event_LAUNCH, executorpb.Event_LAUNCH_GROUP:
			var tasks []*mesospb.TaskInfo
			if ev.Launch != nil {
				tasks = append(tasks, ev.GetLaunch().GetTask())
			}
			tasks = append(tasks, ev.GetLaunchGroup().GetTaskGroup().GetTasks()...)
			for _, t := range tasks {
				tid := t.GetTaskId().GetValue()
				e.tasks[tid] = t
				fmt.Printf("hello from %s\n", tid)
				e.update(tid, mesospb.TaskState_TASK_RUNNING, "running")
				switch e.mode {
				case "finish":
					e.update(tid, mesospb.TaskState_TASK_FINISHED, "done")
				case "crash":
					time.Sleep(200 * time.Millisecond)
					os.Exit(3)
				}
			}
		case executorpb.Event_ACKNOWLEDGED:
			a := ev.GetAcknowledged()
			e.acked[a.GetTaskId().GetValue()] = true
			for i, u := range e.unacked {
				if bytes.Equal(u.GetStatus().GetUuid(), a.GetUuid()) {
					e.unacked = append(e.unacked[:i], e.unacked[i+1:]...)
					break
				}
			}
			if e.finished() {
				return true, nil
			}
		case executorpb.Event_KILL:
			tid := ev.GetKill().GetTaskId().GetValue()
			if !e.terminal[tid] {
				e.update(tid, mesospb.TaskState_TASK_KILLED, "killed")
			}
		case executorpb.Event_SHUTDOWN:
			for tid := range e.tasks {
				if !e.terminal[tid] {
					e.update(tid, mesospb.TaskState_TASK_KILLED, "shut down")
				}
			}
			if e.finished() {
				return true, nil
			}
		case executorpb.Event_MESSAGE:
			data := append([]byte("echo:"), ev.GetMessage().GetData()...)
			resp, err := e.post(&executorpb.Call{Type: executorpb.Call_MESSAGE.Enum(),
				Message: &executorpb.Call_Message{Data: data}})
			if err == nil {
				resp.Body.Close()
			}
		}
	}
}

// ---------------------------------------------------------------------------
// The test master: the master side of the internal protocol, recording
// every call.

type testMaster struct {
	t           *testing.T
	srv         *httptest.Server
	agentID     string
	pingSeconds float64
	maxPings    uint32
	redirectTo  string // answer 307 to this host:port instead

	events chan *internalpb.AgentEvent
	kick   chan struct{} // closes the current stream

	mu       sync.Mutex
	streamID string
	calls    []*internalpb.AgentCall
	used     map[int]bool
	notify   chan struct{}
	streams  int
}

func newTestMaster(t *testing.T) *testMaster {
	m := &testMaster{
		t: t, agentID: "test-agent-S0", pingSeconds: 60, maxPings: 5,
		events: make(chan *internalpb.AgentEvent, 100), kick: make(chan struct{}, 1),
		used: map[int]bool{}, notify: make(chan struct{}),
	}
	m.srv = httptest.NewServer(m)
	t.Cleanup(m.srv.Close)
	return m
}

func (m *testMaster) addr() string { return strings.TrimPrefix(m.srv.URL, "http://") }

func (m *testMaster) record(c *internalpb.AgentCall) {
	m.mu.Lock()
	m.calls = append(m.calls, c)
	close(m.notify)
	m.notify = make(chan struct{})
	m.mu.Unlock()
}

func (m *testMaster) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != agentAPIPath || r.Method != http.MethodPost {
		http.NotFound(w, r)
		return
	}
	if m.redirectTo != "" {
		w.Header().Set("Location", "//"+m.redirectTo+agentAPIPath)
		w.WriteHeader(http.StatusTemporaryRedirect)
		return
	}
	body, _ := io.ReadAll(r.Body)
	call := &internalpb.AgentCall{}
	if err := proto.Unmarshal(body, call); err != nil || r.Header.Get("Content-Type") != codec.ContentTypeProtobuf {
		http.Error(w, "bad call", http.StatusBadRequest)
		return
	}
	switch call.GetType() {
	case internalpb.AgentCall_REGISTER, internalpb.AgentCall_REREGISTER:
		m.stream(w, r, call)
	default:
		m.mu.Lock()
		sid := m.streamID
		m.mu.Unlock()
		if r.Header.Get(streamIDHeader) != sid || call.GetAgentId().GetValue() != m.agentID {
			http.Error(w, "stale stream", http.StatusBadRequest)
			return
		}
		m.record(call)
		w.WriteHeader(http.StatusAccepted)
	}
}

func (m *testMaster) stream(w http.ResponseWriter, r *http.Request, call *internalpb.AgentCall) {
	m.mu.Lock()
	m.streams++
	m.streamID = fmt.Sprintf("stream-%d", m.streams)
	sid := m.streamID
	m.mu.Unlock()
	m.record(call)
	w.Header().Set("Content-Type", codec.ContentTypeProtobuf)
	w.Header().Set(streamIDHeader, sid)
	w.WriteHeader(http.StatusOK)
	rw := recordio.NewWriter(w)
	write := func(ev *internalpb.AgentEvent) error {
		b, err := proto.Marshal(ev)
		if err != nil {
			return err
		}
		return rw.WriteRecord(b)
	}
	id := &mesospb.AgentID{Value: proto.String(m.agentID)}
	mi := &mesospb.MasterInfo{Id: proto.String("test-master"), Ip: proto.Uint32(16777343), Port: proto.Uint32(5050),
		Hostname: proto.String("localhost")}
	first := &internalpb.AgentEvent{Type: internalpb.AgentEvent_REGISTERED.Enum(), Registered: &internalpb.AgentEvent_Registered{
		AgentId: id, MasterInfo: mi, PingIntervalSeconds: &m.pingSeconds, MaxPingTimeouts: &m.maxPings}}
	if call.GetType() == internalpb.AgentCall_REREGISTER {
		first = &internalpb.AgentEvent{Type: internalpb.AgentEvent_REREGISTERED.Enum(), Reregistered: &internalpb.AgentEvent_Reregistered{
			AgentId: id, MasterInfo: mi, PingIntervalSeconds: &m.pingSeconds, MaxPingTimeouts: &m.maxPings}}
	}
	if write(first) != nil {
		return
	}
	for {
		select {
		case ev := <-m.events:
			if err := write(ev); err != nil {
				m.events <- ev
				return
			}
		case <-m.kick:
			return
		case <-r.Context().Done():
			return
		}
	}
}

func (m *testMaster) send(ev *internalpb.AgentEvent) { m.events <- ev }

// waitCall returns the first not yet returned call matching pred.
func (m *testMaster) waitCall(what string, timeout time.Duration, pred func(*internalpb.AgentCall) bool) *internalpb.AgentCall {
	m.t.Helper()
	deadline := time.After(timeout)
	for {
		m.mu.Lock()
		for i, c := range m.calls {
			if !m.used[i] && pred(c) {
				m.used[i] = true
				m.mu.Unlock()
				return c
			}
		}
		ch := m.notify
		m.mu.Unlock()
		select {
		case <-ch:
		case <-deadline:
			m.t.Fatalf("timed out waiting for %s; calls so far: %s", what, m.describe())
			return nil
		}
	}
}

func (m *testMaster) describe() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var parts []string
	for _, c := range m.calls {
		s := c.GetType().String()
		if u := c.GetStatusUpdate(); u != nil {
			s += fmt.Sprintf("(%s %s %q)", u.GetStatus().GetTaskId().GetValue(), u.GetStatus().GetState(), u.GetStatus().GetMessage())
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ", ")
}

func (m *testMaster) countCalls(pred func(*internalpb.AgentCall) bool) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, c := range m.calls {
		if pred(c) {
			n++
		}
	}
	return n
}

func isType(t internalpb.AgentCall_Type) func(*internalpb.AgentCall) bool {
	return func(c *internalpb.AgentCall) bool { return c.GetType() == t }
}

// waitUpdate waits for a STATUS_UPDATE of a task in a state.
func (m *testMaster) waitUpdate(tid string, state mesospb.TaskState) *internalpb.AgentCall_StatusUpdate {
	m.t.Helper()
	c := m.waitCall(fmt.Sprintf("update %s %s", tid, state), 30*time.Second, func(c *internalpb.AgentCall) bool {
		u := c.GetStatusUpdate()
		return c.GetType() == internalpb.AgentCall_STATUS_UPDATE &&
			u.GetStatus().GetTaskId().GetValue() == tid && u.GetStatus().GetState() == state
	})
	return c.GetStatusUpdate()
}

// ack acknowledges an update like a scheduler would through the master.
func (m *testMaster) ack(u *internalpb.AgentCall_StatusUpdate) {
	m.send(&internalpb.AgentEvent{Type: internalpb.AgentEvent_ACKNOWLEDGE_UPDATE.Enum(),
		AcknowledgeUpdate: &internalpb.AgentEvent_AcknowledgeUpdate{
			FrameworkId: u.GetFrameworkId(), TaskId: u.GetStatus().GetTaskId(), Uuid: u.GetStatus().GetUuid()}})
}

// ---------------------------------------------------------------------------
// Agents and tasks.

func testLogger() *slog.Logger {
	if os.Getenv("STRATA_TEST_VERBOSE") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func testConfig(t *testing.T, m *testMaster) Config {
	return Config{
		WorkDir:                   t.TempDir(),
		IP:                        "127.0.0.1",
		Master:                    m.addr(),
		Resources:                 "cpus:2;mem:1024;disk:2048;ports:[31000-31100]",
		Attributes:                "rack:r1;zone:a",
		RegistrationBackoffFactor: 50 * time.Millisecond,
		StatusUpdateRetryMin:      300 * time.Millisecond,
		StatusUpdateRetryMax:      time.Second,
		KillTasksOnExit:           true,
		Logger:                    testLogger(),
	}
}

type runningAgent struct {
	*Agent
	stop func()
}

func startAgent(t *testing.T, cfg Config) *runningAgent {
	t.Helper()
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	select {
	case <-a.Ready():
	case err := <-done:
		t.Fatalf("agent exited: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("agent did not start")
	}
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("agent Run: %v", err)
				}
			case <-time.After(30 * time.Second):
				t.Error("agent did not stop")
			}
		})
	}
	t.Cleanup(stop)
	return &runningAgent{Agent: a, stop: stop}
}

func (a *runningAgent) url(path string) string { return "http://" + a.Addr() + path }

func getJSON(t *testing.T, url string, out any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s %s", url, resp.Status, b)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("GET %s: Content-Type %q", url, ct)
	}
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatalf("GET %s: %v: %s", url, err, b)
	}
}

func currentUser(t *testing.T) string {
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	return u.Username
}

func frameworkInfo(t *testing.T, id string, checkpoint bool) *mesospb.FrameworkInfo {
	return &mesospb.FrameworkInfo{
		Id:         &mesospb.FrameworkID{Value: proto.String(id)},
		Name:       proto.String("test-" + id),
		User:       proto.String(currentUser(t)),
		Checkpoint: proto.Bool(checkpoint),
	}
}

func scalar(name string, v float64) *mesospb.Resource {
	return &mesospb.Resource{Name: proto.String(name), Type: mesospb.Value_SCALAR.Enum(),
		Scalar: &mesospb.Value_Scalar{Value: proto.Float64(v)}}
}

// customTask is a task for the fake executor in the given mode.
func customTask(t *testing.T, fid, eid, tid, mode string) *mesospb.TaskInfo {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return &mesospb.TaskInfo{
		Name:      proto.String("task " + tid),
		TaskId:    &mesospb.TaskID{Value: proto.String(tid)},
		AgentId:   &mesospb.AgentID{Value: proto.String("test-agent-S0")},
		Resources: []*mesospb.Resource{scalar("cpus", 0.1), scalar("mem", 32)},
		Executor: &mesospb.ExecutorInfo{
			ExecutorId:  &mesospb.ExecutorID{Value: proto.String(eid)},
			FrameworkId: &mesospb.FrameworkID{Value: proto.String(fid)},
			Name:        proto.String("fake executor"),
			Resources:   []*mesospb.Resource{scalar("cpus", 0.1), scalar("mem", 32)},
			Command: &mesospb.CommandInfo{
				Shell:     proto.Bool(false),
				Value:     proto.String(exe),
				Arguments: []string{exe},
				Environment: &mesospb.Environment{Variables: []*mesospb.Environment_Variable{
					{Name: proto.String("STRATA_TEST_EXECUTOR"), Value: proto.String(mode)},
				}},
			},
		},
	}
}

func runTask(fi *mesospb.FrameworkInfo, ti *mesospb.TaskInfo) *internalpb.AgentEvent {
	return &internalpb.AgentEvent{Type: internalpb.AgentEvent_RUN_TASK.Enum(),
		RunTask: &internalpb.AgentEvent_RunTask{Framework: fi, Task: ti}}
}

func killTask(fid, tid string) *internalpb.AgentEvent {
	return &internalpb.AgentEvent{Type: internalpb.AgentEvent_KILL_TASK.Enum(),
		KillTask: &internalpb.AgentEvent_KillTask{
			FrameworkId: &mesospb.FrameworkID{Value: proto.String(fid)},
			TaskId:      &mesospb.TaskID{Value: proto.String(tid)}}}
}

// eventually retries f until it returns nil.
func eventually(t *testing.T, timeout time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func pidAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i > 0 && len(s) > i+2 && s[i+2] != 'Z'
}
