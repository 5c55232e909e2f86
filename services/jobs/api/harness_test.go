package api

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"strata/kernel/mesos/mesospb"
	"strata/services/jobs/engine"
	"strata/services/jobs/launcher"
	"strata/services/jobs/runs"
	"strata/services/jobs/store"
)

// recorder stands in for the launcher, which needs a Mesos master. It is acceptable here only
// because these tests check the HTTP layer: the engine and the store behind the API are real,
// the engine is never served (Serve), so no schedule fires and runs stay INITIAL. Launch and
// Kill calls are recorded; Kill reports that nothing was queued, so a stopped run fails at once.
// Tests that need a finished run play the launcher's part towards the engine (Launching,
// Update), as the launcher does when a task starts and ends.
type recorder struct {
	mu       sync.Mutex
	launched []string
	killed   []string
}

func (r *recorder) Launch(taskID, name string, spec launcher.Spec) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.launched = append(r.launched, taskID)
	return nil
}

func (r *recorder) Track(taskID, agentID string) {}

func (r *recorder) Kill(taskID string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.killed = append(r.killed, taskID)
	return false
}

func (r *recorder) Reconciled() bool { return true }

// clock is a settable clock shared by the engine and the API.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// quiet discards the logs of the engine and the API.
var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// t0 is the harness's start time: Saturday 21 November 2026, 12:00 UTC.
var t0 = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

type harness struct {
	t     testing.TB
	eng   *engine.Engine
	store *store.Store
	clock *clock
	rec   *recorder
	srv   *httptest.Server
}

// newEngine builds a real engine over a real SQLite store in a temporary directory.
func newEngine(t testing.TB) (*engine.Engine, *store.Store, *clock, *recorder) {
	t.Helper()
	st, err := store.OpenSQLite(filepath.Join(t.TempDir(), "jobs.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	clk := &clock{t: t0}
	rec := &recorder{}
	eng, err := engine.New(engine.Config{Store: st, Launcher: rec, Now: clk.Now, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	return eng, st, clk, rec
}

func newHarness(t testing.TB) *harness {
	t.Helper()
	eng, st, clk, rec := newEngine(t)
	srv := httptest.NewServer(New(Config{Engine: eng, Leader: "jobs.example:9000", Now: clk.Now, Logger: quiet}))
	t.Cleanup(srv.Close)
	return &harness{t: t, eng: eng, store: st, clock: clk, rec: rec, srv: srv}
}

// do sends a request and returns the status and the body.
func (h *harness) do(method, path, body string) (int, string) {
	h.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, h.srv.URL+path, rd)
	if err != nil {
		h.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := h.srv.Client().Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// must sends a request, checks the status and decodes a JSON answer (nil for an empty one).
func (h *harness) must(method, path, body string, want int) any {
	h.t.Helper()
	code, out := h.do(method, path, body)
	if code != want {
		h.t.Fatalf("%s %s: status %d, want %d; body %s", method, path, code, want, out)
	}
	if strings.TrimSpace(out) == "" {
		return nil
	}
	var v any
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		h.t.Fatalf("%s %s: answer is not JSON: %v: %s", method, path, err, out)
	}
	return v
}

// obj and arr assert a JSON shape.
func obj(t testing.TB, v any) map[string]any {
	t.Helper()
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("want a JSON object, got %#v", v)
	}
	return m
}

func arr(t testing.TB, v any) []any {
	t.Helper()
	a, ok := v.([]any)
	if !ok {
		t.Fatalf("want a JSON array, got %#v", v)
	}
	return a
}

// finishRun plays the launcher for the run's first task: launched on agent a1, running, then
// ended in state final after d.
func (h *harness) finishRun(jobID, runID string, final mesospb.TaskState, d time.Duration, msg string) {
	h.t.Helper()
	ctx := context.Background()
	task := runs.TaskID(jobID, runID, 1)
	sandbox := "http://agent1:5051/files/browse?path=/var/lib/strata/sandbox/" + task
	if err := h.eng.Launching(ctx, launcher.Launched{TaskID: task, AgentID: "a1", Hostname: "agent1", Sandbox: sandbox, At: h.clock.Now()}); err != nil {
		h.t.Fatal(err)
	}
	if err := h.eng.Update(ctx, launcher.Update{TaskID: task, State: mesospb.TaskState_TASK_RUNNING, At: h.clock.Now()}); err != nil {
		h.t.Fatal(err)
	}
	h.clock.Advance(d)
	if err := h.eng.Update(ctx, launcher.Update{TaskID: task, State: final, Message: msg, At: h.clock.Now()}); err != nil {
		h.t.Fatal(err)
	}
}

// minimal is a valid Metronome job body.
func minimal(id string) string {
	return `{"id":"` + id + `","run":{"cmd":"echo hi","cpus":0.1,"mem":32,"disk":0}}`
}

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
