package executor

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"strata/kernel/mesos/codec"
	"strata/kernel/mesos/executorpb"
	"strata/kernel/mesos/mesospb"
	"strata/kernel/mesos/recordio"
)

const (
	testFrameworkID = "fw-0001"
	testTaskID      = "task-1"
	testAgentID     = "agent-S1"
)

// stubAgent is the agent's side of the executor API, enough to drive an
// executor: SUBSCRIBE answers with a stream that starts with SUBSCRIBED
// (and LAUNCH or LAUNCH_GROUP on the first subscription), UPDATE calls are
// recorded and, if autoAck is on, acknowledged on the stream.
type stubAgent struct {
	t     *testing.T
	codec codec.Codec
	srv   *httptest.Server

	framework *mesospb.FrameworkInfo
	launch    *mesospb.TaskInfo // sent after the first SUBSCRIBED; nil: none
	// agentID and containerID are what SUBSCRIBED names (set them before
	// the executor starts).
	agentID, containerID string

	mu      sync.Mutex
	autoAck bool
	// group, if set, is sent as LAUNCH_GROUP after the first SUBSCRIBED.
	group      *mesospb.TaskGroupInfo
	subscribes []*executorpb.Call
	statuses   []*mesospb.TaskStatus
	stream     *stubStream
	streamUp   chan struct{} // closed and replaced whenever a stream opens

	updates chan *mesospb.TaskStatus
}

type stubStream struct {
	events chan *executorpb.Event
	drop   chan struct{}
	once   sync.Once
}

func (s *stubStream) close() { s.once.Do(func() { close(s.drop) }) }

func newStubAgent(t *testing.T, c codec.Codec, task *mesospb.TaskInfo, caps ...mesospb.FrameworkInfo_Capability_Type) *stubAgent {
	t.Helper()
	name := "root"
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	fw := &mesospb.FrameworkInfo{
		User: proto.String(name),
		Name: proto.String("stub framework"),
		Id:   &mesospb.FrameworkID{Value: proto.String(testFrameworkID)},
	}
	for _, c := range caps {
		fw.Capabilities = append(fw.Capabilities, &mesospb.FrameworkInfo_Capability{Type: c.Enum()})
	}
	a := &stubAgent{
		t:           t,
		codec:       c,
		framework:   fw,
		launch:      task,
		agentID:     testAgentID,
		containerID: "container-1",
		autoAck:     true,
		streamUp:    make(chan struct{}),
		updates:     make(chan *mesospb.TaskStatus, 100),
	}
	a.srv = httptest.NewServer(http.HandlerFunc(a.serve))
	t.Cleanup(func() {
		a.mu.Lock()
		if a.stream != nil {
			a.stream.close()
		}
		a.mu.Unlock()
		a.srv.CloseClientConnections()
		a.srv.Close()
	})
	return a
}

func (a *stubAgent) endpoint() string { return a.srv.Listener.Addr().String() }

func (a *stubAgent) setAutoAck(on bool) {
	a.mu.Lock()
	a.autoAck = on
	a.mu.Unlock()
}

func (a *stubAgent) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != APIPath {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	ct := r.Header.Get("Content-Type")
	if ct != a.codec.ContentType() {
		a.t.Errorf("agent: call with Content-Type %q, want %q", ct, a.codec.ContentType())
	}
	c, err := codec.ForContentType(ct)
	if err != nil {
		http.Error(w, err.Error(), http.StatusUnsupportedMediaType)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	call := &executorpb.Call{}
	if err := c.Unmarshal(body, call); err != nil {
		a.t.Errorf("agent: undecodable call: %v", err)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if call.GetFrameworkId().GetValue() != testFrameworkID || call.GetExecutorId().GetValue() != testTaskID {
		a.t.Errorf("agent: call with framework %q executor %q", call.GetFrameworkId().GetValue(), call.GetExecutorId().GetValue())
	}
	switch call.GetType() {
	case executorpb.Call_SUBSCRIBE:
		a.subscribe(w, r, c, call)
	case executorpb.Call_UPDATE:
		st := call.GetUpdate().GetStatus()
		a.mu.Lock()
		a.statuses = append(a.statuses, st)
		ack := a.autoAck
		a.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
		a.updates <- st
		if ack {
			a.tryAck(st)
		}
	default:
		w.WriteHeader(http.StatusAccepted)
	}
}

func (a *stubAgent) subscribe(w http.ResponseWriter, r *http.Request, c codec.Codec, call *executorpb.Call) {
	resp, ok := codec.Negotiate(r.Header.Values("Accept"))
	if !ok || resp != c {
		a.t.Errorf("agent: SUBSCRIBE accepts %q", r.Header.Values("Accept"))
	}
	st := &stubStream{events: make(chan *executorpb.Event, 100), drop: make(chan struct{})}
	a.mu.Lock()
	first := len(a.subscribes) == 0 // an executor subscribes once at a time
	group := a.group
	a.mu.Unlock()

	// SUBSCRIBED (and LAUNCH) go first, before the stream is published for
	// events sent by the test.
	st.events <- &executorpb.Event{
		Type: executorpb.Event_SUBSCRIBED.Enum(),
		Subscribed: &executorpb.Event_Subscribed{
			ExecutorInfo: &mesospb.ExecutorInfo{
				ExecutorId:  &mesospb.ExecutorID{Value: proto.String(testTaskID)},
				FrameworkId: &mesospb.FrameworkID{Value: proto.String(testFrameworkID)},
			},
			FrameworkInfo: a.framework,
			AgentInfo: &mesospb.AgentInfo{
				Hostname: proto.String("stub-agent"),
				Id:       &mesospb.AgentID{Value: proto.String(a.agentID)},
			},
			ContainerId: &mesospb.ContainerID{Value: proto.String(a.containerID)},
		},
	}
	if first && a.launch != nil {
		st.events <- &executorpb.Event{
			Type:   executorpb.Event_LAUNCH.Enum(),
			Launch: &executorpb.Event_Launch{Task: a.launch},
		}
	}
	if first && group != nil {
		st.events <- launchGroupEvent(group.GetTasks()...)
	}

	a.mu.Lock()
	a.subscribes = append(a.subscribes, call)
	if a.stream != nil {
		a.stream.close()
	}
	a.stream = st
	close(a.streamUp)
	a.streamUp = make(chan struct{})
	a.mu.Unlock()

	w.Header().Set("Content-Type", c.ContentType())
	w.WriteHeader(http.StatusOK)
	rw := recordio.NewWriter(w)
	for {
		select {
		case ev := <-st.events:
			b, err := c.Marshal(ev)
			if err != nil {
				a.t.Errorf("agent: encode event: %v", err)
				return
			}
			if err := rw.WriteRecord(b); err != nil {
				return
			}
		case <-st.drop:
			return
		case <-r.Context().Done():
			return
		}
	}
}

// send queues an event on the current stream, waiting for one to exist.
func (a *stubAgent) send(ev *executorpb.Event) {
	a.t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		a.mu.Lock()
		st, up := a.stream, a.streamUp
		a.mu.Unlock()
		if st != nil {
			st.events <- ev
			return
		}
		select {
		case <-up:
		case <-deadline:
			a.t.Fatalf("agent: no stream to send %v on", ev.GetType())
		}
	}
}

// tryAck acknowledges on the current stream if there is one: an update that arrives while the
// executor has no stream (it lost it and is shutting down) is not acknowledged, as a real agent
// could not either.
func (a *stubAgent) tryAck(st *mesospb.TaskStatus) {
	a.mu.Lock()
	stream := a.stream
	a.mu.Unlock()
	if stream == nil {
		return
	}
	stream.events <- &executorpb.Event{
		Type:         executorpb.Event_ACKNOWLEDGED.Enum(),
		Acknowledged: &executorpb.Event_Acknowledged{TaskId: st.GetTaskId(), Uuid: st.GetUuid()},
	}
}

func (a *stubAgent) ack(st *mesospb.TaskStatus) {
	a.send(&executorpb.Event{
		Type:         executorpb.Event_ACKNOWLEDGED.Enum(),
		Acknowledged: &executorpb.Event_Acknowledged{TaskId: st.GetTaskId(), Uuid: st.GetUuid()},
	})
}

func (a *stubAgent) kill(policy *mesospb.KillPolicy) { a.killTask(testTaskID, policy) }

func (a *stubAgent) killTask(id string, policy *mesospb.KillPolicy) {
	a.send(&executorpb.Event{
		Type: executorpb.Event_KILL.Enum(),
		Kill: &executorpb.Event_Kill{TaskId: &mesospb.TaskID{Value: proto.String(id)}, KillPolicy: policy},
	})
}

func launchGroupEvent(tasks ...*mesospb.TaskInfo) *executorpb.Event {
	return &executorpb.Event{
		Type:        executorpb.Event_LAUNCH_GROUP.Enum(),
		LaunchGroup: &executorpb.Event_LaunchGroup{TaskGroup: &mesospb.TaskGroupInfo{Tasks: tasks}},
	}
}

// dropStream ends the current event stream, as an agent restart would.
func (a *stubAgent) dropStream() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.stream != nil {
		a.stream.close()
		a.stream = nil
	}
}

// waitSubscribes waits until n SUBSCRIBE calls arrived and returns them.
func (a *stubAgent) waitSubscribes(n int, timeout time.Duration) []*executorpb.Call {
	a.t.Helper()
	deadline := time.After(timeout)
	for {
		a.mu.Lock()
		subs, up := append([]*executorpb.Call(nil), a.subscribes...), a.streamUp
		a.mu.Unlock()
		if len(subs) >= n {
			return subs
		}
		select {
		case <-up:
		case <-deadline:
			a.t.Fatalf("agent: %d SUBSCRIBE calls after %v, want %d", len(subs), timeout, n)
		}
	}
}

// next returns the next status update.
func (a *stubAgent) next(timeout time.Duration) *mesospb.TaskStatus {
	a.t.Helper()
	select {
	case st := <-a.updates:
		return st
	case <-time.After(timeout):
		a.t.Fatalf("agent: no status update within %v", timeout)
		return nil
	}
}

// expect reads status updates and checks their states, in order.
func (a *stubAgent) expect(timeout time.Duration, states ...mesospb.TaskState) []*mesospb.TaskStatus {
	a.t.Helper()
	var got []*mesospb.TaskStatus
	for _, want := range states {
		st := a.next(timeout)
		got = append(got, st)
		if st.GetState() != want {
			a.t.Fatalf("agent: update %d is %v (%q), want %v; so far %v", len(got), st.GetState(), st.GetMessage(), want, stateNames(got))
		}
	}
	return got
}

// noMore checks that no further update arrives within d.
func (a *stubAgent) noMore(d time.Duration) {
	a.t.Helper()
	select {
	case st := <-a.updates:
		a.t.Errorf("agent: unexpected update %v (%q)", st.GetState(), st.GetMessage())
	case <-time.After(d):
	}
}

func stateNames(sts []*mesospb.TaskStatus) []string {
	var out []string
	for _, st := range sts {
		out = append(out, st.GetState().String())
	}
	return out
}

// testLog sends log lines to t.Log until the test ends.
type testLog struct {
	mu   sync.Mutex
	t    *testing.T
	done bool
}

func (w *testLog) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

// execRun is an executor running in-process against a stub agent.
type execRun struct {
	cfg     Config
	sandbox string
	done    chan error
}

// startExecutor runs the executor with a sandbox of its own; mod adjusts
// the configuration first.
func startExecutor(t *testing.T, a *stubAgent, mod func(*Config)) *execRun {
	t.Helper()
	// The test's context ends as the test ends: the executor shuts down.
	return startExecutorCtx(t, t.Context(), a, mod)
}

// startExecutorCtx is startExecutor with the context given to Run.
func startExecutorCtx(t *testing.T, ctx context.Context, a *stubAgent, mod func(*Config)) *execRun {
	t.Helper()
	sandbox := t.TempDir()
	open := func(name string) *os.File {
		f, err := os.OpenFile(filepath.Join(sandbox, name), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return f
	}
	lw := &testLog{t: t}
	t.Cleanup(func() { lw.mu.Lock(); lw.done = true; lw.mu.Unlock() })
	cfg := Config{
		FrameworkID:         testFrameworkID,
		ExecutorID:          testTaskID,
		Directory:           sandbox,
		Sandbox:             sandbox,
		AgentEndpoint:       a.endpoint(),
		ShutdownGracePeriod: 5 * time.Second,
		Codec:               a.codec,
		Env:                 append(os.Environ(), "MESOS_SANDBOX="+sandbox),
		Stdout:              open("stdout"),
		Stderr:              open("stderr"),
		Logger:              slog.New(slog.NewTextHandler(lw, &slog.HandlerOptions{Level: slog.LevelDebug})),
		AckTimeout:          5 * time.Second,
		RegistrationTimeout: 5 * time.Second,
	}
	if mod != nil {
		mod(&cfg)
	}
	r := &execRun{cfg: cfg, sandbox: sandbox, done: make(chan error, 1)}
	go func() { r.done <- Run(ctx, cfg) }()
	t.Cleanup(func() {
		select {
		case <-r.done:
		case <-time.After(20 * time.Second):
			t.Errorf("executor still running at the end of the test")
		}
	})
	return r
}

// wait waits for Run to return.
func (r *execRun) wait(t *testing.T, timeout time.Duration) error {
	t.Helper()
	select {
	case err := <-r.done:
		r.done <- err // for the cleanup
		return err
	case <-time.After(timeout):
		t.Fatalf("executor did not exit within %v", timeout)
		return nil
	}
}

// readFile waits for a file in the sandbox to have content and returns it.
func (r *execRun) readFile(t *testing.T, name string, timeout time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		b, err := os.ReadFile(filepath.Join(r.sandbox, name))
		if err == nil && len(b) > 0 {
			return string(b)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still empty after %v (err %v)", name, timeout, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// commandTask returns a task running a shell command.
func commandTask(cmd string) *mesospb.TaskInfo {
	return &mesospb.TaskInfo{
		Name:    proto.String("test task"),
		TaskId:  &mesospb.TaskID{Value: proto.String(testTaskID)},
		AgentId: &mesospb.AgentID{Value: proto.String(testAgentID)},
		Command: &mesospb.CommandInfo{Shell: proto.Bool(true), Value: proto.String(cmd)},
	}
}

func killPolicy(d time.Duration) *mesospb.KillPolicy {
	return &mesospb.KillPolicy{GracePeriod: &mesospb.DurationInfo{Nanoseconds: proto.Int64(int64(d))}}
}
