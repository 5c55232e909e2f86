package scheduler

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"strata/kernel/mesos/codec"
	"strata/kernel/mesos/mesospb"
	"strata/kernel/mesos/recordio"
	"strata/kernel/mesos/schedulerpb"
)

// waitFor bounds every wait in these tests.
const waitFor = 5 * time.Second

// recorded is one request the fake master received.
type recorded struct {
	header http.Header
	call   *schedulerpb.Call
	stream string // for SUBSCRIBE: the stream id the master assigned
}

// fakeMaster is a scripted subset of a master's /api/v1/scheduler.
type fakeMaster struct {
	t     *testing.T
	codec codec.Codec // the codec the client must use
	srv   *httptest.Server
	subs  chan recorded
	calls chan recorded
	done  chan struct{}

	mu   sync.Mutex
	nsub int
	// subscribe serves the n-th SUBSCRIBE (from 0). nil: streamSubscribed.
	subscribe func(n int, s *fakeStream)
	// answer gives the status and body for other calls. nil: 202, or 200
	// for UPDATE_FRAMEWORK.
	answer func(call *schedulerpb.Call) (int, string)
}

func newFakeMaster(t *testing.T, c codec.Codec) *fakeMaster {
	t.Helper()
	m := &fakeMaster{
		t:     t,
		codec: c,
		subs:  make(chan recorded, 100),
		calls: make(chan recorded, 100),
		done:  make(chan struct{}),
	}
	m.srv = httptest.NewServer(http.HandlerFunc(m.serveHTTP))
	t.Cleanup(func() {
		close(m.done)
		m.srv.CloseClientConnections()
		m.srv.Close()
	})
	return m
}

// addr is the master's "host:port".
func (m *fakeMaster) addr() string { return strings.TrimPrefix(m.srv.URL, "http://") }

func (m *fakeMaster) setSubscribe(f func(n int, s *fakeStream)) {
	m.mu.Lock()
	m.subscribe = f
	m.mu.Unlock()
}

func (m *fakeMaster) setAnswer(f func(call *schedulerpb.Call) (int, string)) {
	m.mu.Lock()
	m.answer = f
	m.mu.Unlock()
}

func (m *fakeMaster) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != Path {
		m.t.Errorf("fake master: unexpected %s %s", r.Method, r.URL.Path)
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	if got := r.Header.Get("Content-Type"); got != m.codec.ContentType() {
		m.t.Errorf("fake master: Content-Type = %q, want %q", got, m.codec.ContentType())
	}
	if got := r.Header.Values("Accept"); len(got) != 1 || got[0] != m.codec.ContentType() {
		m.t.Errorf("fake master: Accept = %q, want [%q]", got, m.codec.ContentType())
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		m.t.Errorf("fake master: read body: %v", err)
		return
	}
	call := &schedulerpb.Call{}
	if err := m.codec.Unmarshal(body, call); err != nil {
		m.t.Errorf("fake master: decode call: %v", err)
		http.Error(w, "Failed to parse body", http.StatusBadRequest)
		return
	}
	if call.GetType() != schedulerpb.Call_SUBSCRIBE {
		m.calls <- recorded{header: r.Header.Clone(), call: call}
		m.mu.Lock()
		answer := m.answer
		m.mu.Unlock()
		code, text := http.StatusAccepted, ""
		if call.GetType() == schedulerpb.Call_UPDATE_FRAMEWORK {
			code = http.StatusOK
		}
		if answer != nil {
			code, text = answer(call)
		}
		if text != "" {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		}
		w.WriteHeader(code)
		_, _ = io.WriteString(w, text)
		return
	}

	m.mu.Lock()
	n := m.nsub
	m.nsub++
	script := m.subscribe
	m.mu.Unlock()
	s := &fakeStream{m: m, w: w, r: r, id: fmt.Sprintf("stream-%d", n)}
	m.subs <- recorded{header: r.Header.Clone(), call: call, stream: s.id}
	if script == nil {
		script = streamSubscribed("fw-1", 15)
	}
	script(n, s)
}

// fakeStream is one SUBSCRIBE request being answered.
type fakeStream struct {
	m       *fakeMaster
	w       http.ResponseWriter
	r       *http.Request
	id      string
	codec   codec.Codec
	started bool
}

// start answers 200 with the stream headers.
func (s *fakeStream) start() {
	c, ok := codec.Negotiate(s.r.Header.Values("Accept"))
	if !ok {
		s.m.t.Errorf("fake master: SUBSCRIBE accepts no codec")
	}
	s.codec = c
	s.w.Header().Set("Content-Type", c.ContentType())
	s.w.Header().Set(headerStreamID, s.id)
	s.w.WriteHeader(http.StatusOK)
	s.w.(http.Flusher).Flush()
	s.started = true
}

// send writes one event record and flushes it; false if the client is gone.
func (s *fakeStream) send(ev *schedulerpb.Event) bool {
	if !s.started {
		s.start()
	}
	b, err := s.codec.Marshal(ev)
	if err != nil {
		s.m.t.Errorf("fake master: encode event: %v", err)
		return false
	}
	if err := recordio.NewWriter(s.w).WriteRecord(b); err != nil {
		return false
	}
	s.w.(http.Flusher).Flush()
	return true
}

// hold keeps the stream open until the client or the test goes away.
func (s *fakeStream) hold() {
	select {
	case <-s.r.Context().Done():
	case <-s.m.done:
	}
}

// streamSubscribed is the default script: SUBSCRIBED, then hold.
func streamSubscribed(fid string, heartbeat float64) func(int, *fakeStream) {
	return func(_ int, s *fakeStream) {
		s.send(subscribedEvent(fid, heartbeat))
		s.hold()
	}
}

func subscribedEvent(fid string, heartbeat float64) *schedulerpb.Event {
	return &schedulerpb.Event{
		Type: schedulerpb.Event_SUBSCRIBED.Enum(),
		Subscribed: &schedulerpb.Event_Subscribed{
			FrameworkId:              &mesospb.FrameworkID{Value: proto.String(fid)},
			HeartbeatIntervalSeconds: proto.Float64(heartbeat),
		},
	}
}

func heartbeatEvent() *schedulerpb.Event {
	return &schedulerpb.Event{Type: schedulerpb.Event_HEARTBEAT.Enum()}
}

func errorEvent(msg string) *schedulerpb.Event {
	return &schedulerpb.Event{
		Type:  schedulerpb.Event_ERROR.Enum(),
		Error: &schedulerpb.Event_Error{Message: proto.String(msg)},
	}
}

func offersEvent(fid string, ids ...string) *schedulerpb.Event {
	ev := &schedulerpb.Event{Type: schedulerpb.Event_OFFERS.Enum(), Offers: &schedulerpb.Event_Offers{}}
	for _, id := range ids {
		ev.Offers.Offers = append(ev.Offers.Offers, &mesospb.Offer{
			Id:          &mesospb.OfferID{Value: proto.String(id)},
			FrameworkId: &mesospb.FrameworkID{Value: proto.String(fid)},
			AgentId:     &mesospb.AgentID{Value: proto.String("agent-1")},
			Hostname:    proto.String("host-1"),
		})
	}
	return ev
}

func updateEvent(task string, uuid []byte) *schedulerpb.Event {
	return &schedulerpb.Event{
		Type: schedulerpb.Event_UPDATE.Enum(),
		Update: &schedulerpb.Event_Update{Status: &mesospb.TaskStatus{
			TaskId:  &mesospb.TaskID{Value: proto.String(task)},
			State:   mesospb.TaskState_TASK_RUNNING.Enum(),
			AgentId: &mesospb.AgentID{Value: proto.String("agent-1")},
			Uuid:    uuid,
		}},
	}
}

// event is one handler invocation seen by recHandler.
type event struct {
	kind string
	msg  proto.Message
	err  error // for Disconnected
}

// recHandler records every event on a channel.
type recHandler struct {
	NopHandler
	events    chan event
	updateErr func(*schedulerpb.Event_Update) error
}

func newRecHandler() *recHandler { return &recHandler{events: make(chan event, 1000)} }

func (h *recHandler) Subscribed(_ context.Context, ev *schedulerpb.Event_Subscribed) error {
	h.events <- event{kind: "SUBSCRIBED", msg: ev}
	return nil
}

func (h *recHandler) Offers(_ context.Context, ev *schedulerpb.Event_Offers) error {
	h.events <- event{kind: "OFFERS", msg: ev}
	return nil
}

func (h *recHandler) Update(_ context.Context, ev *schedulerpb.Event_Update) error {
	h.events <- event{kind: "UPDATE", msg: ev}
	if h.updateErr != nil {
		return h.updateErr(ev)
	}
	return nil
}

func (h *recHandler) Error(_ context.Context, ev *schedulerpb.Event_Error) error {
	h.events <- event{kind: "ERROR", msg: ev}
	return nil
}

func (h *recHandler) Heartbeat(context.Context) error {
	h.events <- event{kind: "HEARTBEAT"}
	return nil
}

func (h *recHandler) Disconnected(_ context.Context, err error) {
	h.events <- event{kind: "DISCONNECTED", err: err}
}

// next returns the next event of kind want, failing on any other event.
func (h *recHandler) next(t *testing.T, want string) event {
	t.Helper()
	select {
	case ev := <-h.events:
		if ev.kind != want {
			t.Fatalf("handler got %s (%v), want %s", ev.kind, ev.err, want)
		}
		return ev
	case <-time.After(waitFor):
		t.Fatalf("timed out waiting for %s", want)
	}
	return event{}
}

// skipTo returns the next event of kind want, ignoring others.
func (h *recHandler) skipTo(t *testing.T, want string) event {
	t.Helper()
	deadline := time.After(waitFor)
	for {
		select {
		case ev := <-h.events:
			if ev.kind == want {
				return ev
			}
		case <-deadline:
			t.Fatalf("timed out waiting for %s", want)
		}
	}
}

func nextRecorded(t *testing.T, ch chan recorded, what string) recorded {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(waitFor):
		t.Fatalf("timed out waiting for %s", what)
	}
	return recorded{}
}

func testConfig(c codec.Codec, masters ...string) Config {
	return Config{
		Masters: masters,
		FrameworkInfo: &mesospb.FrameworkInfo{
			User:            proto.String("root"),
			Name:            proto.String("test-framework"),
			FailoverTimeout: proto.Float64(60),
		},
		Codec:       c,
		BackoffMin:  5 * time.Millisecond,
		BackoffMax:  50 * time.Millisecond,
		CallTimeout: 2 * time.Second,
		Logger:      slog.New(slog.DiscardHandler),
	}
}

// runClient starts Run in the background; the returned channel yields its
// result. The test's cleanup cancels it and waits.
func runClient(t *testing.T, cfg Config, h Handler) (*Client, <-chan error) {
	t.Helper()
	c, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	res := make(chan error, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		res <- c.Run(ctx, h)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return c, res
}

func waitRun(t *testing.T, res <-chan error) error {
	t.Helper()
	select {
	case err := <-res:
		return err
	case <-time.After(waitFor):
		t.Fatal("Run did not return")
	}
	return nil
}

var codecs = []struct {
	name  string
	codec codec.Codec
}{
	{"json", codec.JSON},
	{"protobuf", codec.Protobuf},
}

// forEachCodec runs f as a parallel subtest per codec.
func forEachCodec(t *testing.T, f func(t *testing.T, c codec.Codec)) {
	for _, tc := range codecs {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f(t, tc.codec)
		})
	}
}

// checkSubscribe verifies a recorded SUBSCRIBE request.
func checkSubscribe(t *testing.T, r recorded, wantFID string) {
	t.Helper()
	if v := r.header.Values(headerStreamID); len(v) != 0 {
		t.Errorf("SUBSCRIBE carries %s %q", headerStreamID, v)
	}
	if r.call.GetSubscribe().GetFrameworkInfo().GetName() != "test-framework" {
		t.Errorf("SUBSCRIBE framework_info = %v", r.call.GetSubscribe().GetFrameworkInfo())
	}
	if got := r.call.GetFrameworkId().GetValue(); got != wantFID {
		t.Errorf("SUBSCRIBE framework_id = %q, want %q", got, wantFID)
	}
	if got := r.call.GetSubscribe().GetFrameworkInfo().GetId().GetValue(); got != wantFID {
		t.Errorf("SUBSCRIBE framework_info.id = %q, want %q", got, wantFID)
	}
}

// checkCall verifies a recorded call's headers and framework id.
func checkCall(t *testing.T, r recorded, typ schedulerpb.Call_Type, streamID, fid string) {
	t.Helper()
	if r.call.GetType() != typ {
		t.Errorf("call type = %v, want %v", r.call.GetType(), typ)
	}
	if got := r.header.Get(headerStreamID); got != streamID {
		t.Errorf("%v: %s = %q, want %q", typ, headerStreamID, got, streamID)
	}
	if got := r.call.GetFrameworkId().GetValue(); got != fid {
		t.Errorf("%v: framework_id = %q, want %q", typ, got, fid)
	}
}

func isContextErr(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

func frameworkID(id string) *mesospb.FrameworkID {
	return &mesospb.FrameworkID{Value: proto.String(id)}
}

func contextWithCancel(t *testing.T) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	return ctx, cancel
}
