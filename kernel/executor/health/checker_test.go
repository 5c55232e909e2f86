package health

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// result is one OnResult or OnKill call.
type result struct {
	healthy  bool
	failures int
	msg      string
	kill     bool
	at       time.Time
}

func (r result) String() string {
	switch {
	case r.kill:
		return "kill"
	case r.healthy:
		return "healthy"
	default:
		return fmt.Sprintf("unhealthy(%d)", r.failures)
	}
}

// recorder collects callbacks.
type recorder struct {
	mu      sync.Mutex
	results []result
	changed chan struct{}
}

func newRecorder() *recorder { return &recorder{changed: make(chan struct{}, 1000)} }

func (r *recorder) add(res result) {
	res.at = time.Now()
	r.mu.Lock()
	r.results = append(r.results, res)
	r.mu.Unlock()
	r.changed <- struct{}{}
}

func (r *recorder) options() Options {
	return Options{
		OnResult: func(healthy bool, n int, msg string) { r.add(result{healthy: healthy, failures: n, msg: msg}) },
		OnKill:   func(reason string) { r.add(result{kill: true, msg: reason}) },
	}
}

func (r *recorder) snapshot() []result {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]result(nil), r.results...)
}

// waitFor waits until n results were recorded.
func (r *recorder) waitFor(t *testing.T, n int) []result {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		if got := r.snapshot(); len(got) >= n {
			return got
		}
		select {
		case <-r.changed:
		case <-deadline:
			t.Fatalf("timed out waiting for %d results; got %v", n, r.snapshot())
		}
	}
}

func names(rs []result) string {
	var s []string
	for _, r := range rs {
		s = append(s, r.String())
	}
	return strings.Join(s, " ")
}

// fast makes a check run every few milliseconds, with no delay or grace.
func fast(c Check) Check {
	c.Interval = 5 * time.Millisecond
	c.Timeout = 2 * time.Second
	c.ConsecutiveFailures = 3
	c.Explicit = AllFields
	return c.Defaults()
}

func startChecker(t *testing.T, c Check, opts Options) *Checker {
	t.Helper()
	ch, err := New(c, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := ch.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(ch.Stop)
	return ch
}

// scriptedServer answers with codes[i] for the i-th request, repeating the
// last code afterwards.
func scriptedServer(t *testing.T, codes ...int) (port uint32, requests *atomic.Int64) {
	t.Helper()
	requests = new(atomic.Int64)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := int(requests.Add(1)) - 1
		w.WriteHeader(codes[min(i, len(codes)-1)])
	}))
	t.Cleanup(srv.Close)
	return serverPort(t, srv), requests
}

func serverPort(t *testing.T, srv *httptest.Server) uint32 {
	t.Helper()
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	p, err := strconv.Atoi(u.Port())
	if err != nil {
		t.Fatal(err)
	}
	return uint32(p)
}

// settle lets a checker run a number of intervals and returns what it
// reported by then.
func settle(r *recorder) []result {
	time.Sleep(100 * time.Millisecond)
	return r.snapshot()
}

func TestFirstHealthyOnlyReporting(t *testing.T) {
	port, requests := scriptedServer(t, 200, 200, 500, 500, 200, 200, 200)
	rec := newRecorder()
	c := fast(Check{Type: HTTP, Port: port})
	c.ConsecutiveFailures = 5
	startChecker(t, c, rec.options())
	rec.waitFor(t, 4)
	for requests.Load() < 12 {
		time.Sleep(5 * time.Millisecond)
	}
	got := rec.snapshot()
	if want := "healthy unhealthy(1) unhealthy(2) healthy"; names(got) != want {
		t.Fatalf("reported %q, want %q", names(got), want)
	}
	if !strings.Contains(got[1].msg, "HTTP health check failed: unexpected HTTP response code 500 Internal Server Error") {
		t.Fatalf("message %q", got[1].msg)
	}
}

func TestKillAfterConsecutiveFailures(t *testing.T) {
	port, _ := scriptedServer(t, 503)
	rec := newRecorder()
	startChecker(t, fast(Check{Type: HTTP, Port: port, HTTPPath: "/health"}), rec.options())
	got := rec.waitFor(t, 6)
	if want := "unhealthy(1) unhealthy(2) unhealthy(3) kill unhealthy(4) unhealthy(5)"; names(got[:6]) != want {
		t.Fatalf("reported %q, want %q", names(got[:6]), want)
	}
	if !strings.Contains(got[3].msg, "health check failed 3 times consecutively: HTTP health check failed") {
		t.Fatalf("kill reason %q", got[3].msg)
	}
	kills := 0
	for _, r := range settle(rec) {
		if r.kill {
			kills++
		}
	}
	if kills != 1 {
		t.Fatalf("OnKill called %d times", kills)
	}
}

func TestGracePeriodIgnoresFailuresUntilFirstSuccess(t *testing.T) {
	// Three failures inside the (long) grace period are ignored; once the
	// check has passed, the grace period no longer applies.
	port, requests := scriptedServer(t, 500, 500, 500, 200, 500)
	rec := newRecorder()
	c := fast(Check{Type: HTTP, Port: port})
	c.GracePeriod = time.Hour
	startChecker(t, c, rec.options())
	got := rec.waitFor(t, 5)
	if want := "healthy unhealthy(1) unhealthy(2) unhealthy(3) kill"; names(got[:5]) != want {
		t.Fatalf("reported %q, want %q", names(got[:5]), want)
	}
	if requests.Load() < 7 {
		t.Fatalf("only %d requests", requests.Load())
	}
}

func TestGracePeriodExpires(t *testing.T) {
	port, _ := scriptedServer(t, 500)
	rec := newRecorder()
	c := fast(Check{Type: HTTP, Port: port})
	c.GracePeriod = 150 * time.Millisecond
	c.Delay = 50 * time.Millisecond // the grace period includes the delay
	begin := time.Now()
	startChecker(t, c, rec.options())
	got := rec.waitFor(t, 4)
	if el := got[0].at.Sub(begin); el < c.GracePeriod {
		t.Fatalf("first failure reported after %v, inside the %v grace period", el, c.GracePeriod)
	}
	if want := "unhealthy(1) unhealthy(2) unhealthy(3) kill"; names(got[:4]) != want {
		t.Fatalf("reported %q, want %q", names(got[:4]), want)
	}
}

func TestGracePeriodUsesInjectedClock(t *testing.T) {
	port, _ := scriptedServer(t, 500)
	rec := newRecorder()
	var fake atomic.Int64 // seconds since the start
	base := time.Now()
	opts := rec.options()
	opts.Now = func() time.Time { return base.Add(time.Duration(fake.Load()) * time.Second) }
	c := fast(Check{Type: HTTP, Port: port})
	c.GracePeriod = 10 * time.Second
	startChecker(t, c, opts)
	if got := settle(rec); len(got) != 0 {
		t.Fatalf("reported %v inside the grace period", names(got))
	}
	fake.Store(11)
	if got := rec.waitFor(t, 1); got[0].healthy || got[0].failures != 1 {
		t.Fatalf("reported %v after the grace period", names(got))
	}
}

func TestDelay(t *testing.T) {
	var first atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		first.CompareAndSwap(0, time.Now().UnixNano())
	}))
	defer srv.Close()
	rec := newRecorder()
	c := fast(Check{Type: HTTP, Port: serverPort(t, srv)})
	c.Delay = 150 * time.Millisecond
	begin := time.Now()
	startChecker(t, c, rec.options())
	rec.waitFor(t, 1)
	if el := time.Unix(0, first.Load()).Sub(begin); el < c.Delay {
		t.Fatalf("first check after %v, before the %v delay", el, c.Delay)
	}
}

func TestHTTPStatusesAndRedirects(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/redirect", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/ok", http.StatusFound) })
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) {})
	mux.HandleFunc("/teapot", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	mux.HandleFunc("/notmodified", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNotModified) })
	srv := httptest.NewServer(mux)
	defer srv.Close()
	port := serverPort(t, srv)
	tests := []struct {
		path     string
		statuses []uint32
		healthy  bool
	}{
		{"/ok", nil, true},
		{"/redirect", nil, true},
		{"/notmodified", nil, true},
		{"/missing", nil, false},
		{"/teapot", nil, false},
		{"/teapot", []uint32{418}, true},
		{"/ok", []uint32{418}, false},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%s %v", tc.path, tc.statuses), func(t *testing.T) {
			rec := newRecorder()
			startChecker(t, fast(Check{Type: HTTP, Port: port, HTTPPath: tc.path, Statuses: tc.statuses}), rec.options())
			if got := rec.waitFor(t, 1); got[0].healthy != tc.healthy {
				t.Fatalf("healthy = %v (%q), want %v", got[0].healthy, got[0].msg, tc.healthy)
			}
		})
	}
}

func TestHTTPSWithoutVerification(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	rec := newRecorder()
	startChecker(t, fast(Check{Type: HTTP, HTTPScheme: "https", Port: serverPort(t, srv)}), rec.options())
	if got := rec.waitFor(t, 1); !got[0].healthy {
		t.Fatalf("self-signed https check unhealthy: %q", got[0].msg)
	}
}

func TestHTTPTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	rec := newRecorder()
	c := fast(Check{Type: HTTP, Port: serverPort(t, srv)})
	c.Timeout = 50 * time.Millisecond
	startChecker(t, c, rec.options())
	got := rec.waitFor(t, 1)
	if got[0].healthy || !strings.Contains(got[0].msg, "has not returned after 50ms") {
		t.Fatalf("got %v %q", names(got), got[0].msg)
	}
}

func TestTCP(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			conn.Close()
		}
	}()
	port := uint32(ln.Addr().(*net.TCPAddr).Port)

	rec := newRecorder()
	startChecker(t, fast(Check{Type: TCP, Port: port}), rec.options())
	if got := rec.waitFor(t, 1); !got[0].healthy {
		t.Fatalf("tcp check unhealthy: %q", got[0].msg)
	}

	ln.Close() // nothing listens on the port any more
	got := rec.waitFor(t, 2)
	if got[1].healthy || !strings.Contains(got[1].msg, "TCP health check failed: connect to 127.0.0.1:") {
		t.Fatalf("after close: %v %q", names(got), got[1].msg)
	}
}

func TestCommand(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name    string
		check   Check
		healthy bool
		msg     string
	}{
		{"true", Check{Type: Command, Shell: true, Command: "true"}, true, ""},
		{"false", Check{Type: Command, Shell: true, Command: "false"}, false, "COMMAND health check failed: command exited with status 1"},
		{"argv", Check{Type: Command, Command: "sh", Args: []string{"sh", "-c", "exit 0"}}, true, ""},
		{"env and dir", Check{Type: Command, Shell: true, Command: `[ "$HC_VAR" = yes ] && [ "$(pwd)" = "` + dir + `" ]`,
			Env: []string{"HC_VAR=no", "HC_VAR=yes"}, Dir: dir}, true, ""},
		{"missing program", Check{Type: Command, Command: "no-such-program-strata"}, false, "failed to launch command"},
		{"signalled", Check{Type: Command, Shell: true, Command: "kill -KILL $$"}, false, "command terminated with signal Killed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := newRecorder()
			startChecker(t, fast(tc.check), rec.options())
			got := rec.waitFor(t, 1)
			if got[0].healthy != tc.healthy || !strings.Contains(got[0].msg, tc.msg) {
				t.Fatalf("got healthy=%v %q, want healthy=%v %q", got[0].healthy, got[0].msg, tc.healthy, tc.msg)
			}
		})
	}
}

func TestCommandOutput(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rec := newRecorder()
	startChecker(t, fast(Check{Type: Command, Shell: true, Command: "echo to-stdout; echo to-stderr >&2", Output: f}), rec.options())
	rec.waitFor(t, 1)
	b, _ := os.ReadFile(out)
	if !strings.Contains(string(b), "to-stdout\n") || !strings.Contains(string(b), "to-stderr\n") {
		t.Fatalf("output %q", b)
	}
}

func TestCommandTimeoutKillsProcessGroup(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "pid")
	rec := newRecorder()
	c := fast(Check{Type: Command, Shell: true, Command: "sleep 30 & echo $! > " + pidFile + "; wait"})
	c.Timeout = 100 * time.Millisecond
	begin := time.Now()
	startChecker(t, c, rec.options())
	got := rec.waitFor(t, 1)
	if el := time.Since(begin); el > 5*time.Second {
		t.Fatalf("timed-out check reported after %v", el)
	}
	if got[0].healthy || !strings.Contains(got[0].msg, "command has not returned after 100ms; aborting") {
		t.Fatalf("got %v %q", names(got), got[0].msg)
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	deadline := time.Now().Add(5 * time.Second)
	for {
		stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil || strings.Contains(string(stat), ") Z ") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the timed-out check's child %d is still running", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestStop(t *testing.T) {
	port, requests := scriptedServer(t, 500)
	rec := newRecorder()
	c := fast(Check{Type: HTTP, Port: port})
	c.ConsecutiveFailures = 100
	ch := startChecker(t, c, rec.options())
	rec.waitFor(t, 2)
	ch.Stop()
	n, reqs := len(rec.snapshot()), requests.Load()
	time.Sleep(50 * time.Millisecond)
	if len(rec.snapshot()) != n || requests.Load() != reqs {
		t.Fatalf("checker kept running after Stop")
	}
	ch.Stop() // idempotent
	if err := ch.Start(context.Background()); err == nil {
		t.Fatalf("restarting a stopped checker succeeded")
	}
}

func TestStopFromOnKillDoesNotDeadlock(t *testing.T) {
	port, _ := scriptedServer(t, 500)
	var ch *Checker
	killed := make(chan struct{})
	opts := Options{OnKill: func(string) { ch.Stop(); close(killed) }}
	var err error
	ch, err = New(fast(Check{Type: HTTP, Port: port}), opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-killed:
	case <-time.After(10 * time.Second):
		t.Fatal("OnKill not called or Stop deadlocked")
	}
	ch.Stop() // waits for the goroutine now
}

func TestContextCancelStops(t *testing.T) {
	port, requests := scriptedServer(t, 200)
	ch, err := New(fast(Check{Type: HTTP, Port: port}), Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := ch.Start(ctx); err != nil {
		t.Fatal(err)
	}
	for requests.Load() < 2 {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	ch.Stop()
	reqs := requests.Load()
	time.Sleep(50 * time.Millisecond)
	if requests.Load() != reqs {
		t.Fatal("checker kept running after its context was cancelled")
	}
}

// localRunner runs a Runner's commands as local processes, recording argv.
type localRunner struct {
	mu    sync.Mutex
	argvs [][]string
}

func (r *localRunner) RunCommand(ctx context.Context, argv, env []string, output io.Writer) (int, error) {
	r.mu.Lock()
	r.argvs = append(r.argvs, argv)
	r.mu.Unlock()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = output, output
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) && ctx.Err() == nil {
		return ee.ExitCode(), nil
	}
	return 0, err
}

// A Check with a Runner runs its command through it (inside a container,
// for the executor): the shell form as /bin/sh -c, the argv form as the
// program and the arguments after argv[0].
func TestRunner(t *testing.T) {
	tests := []struct {
		name     string
		check    Check
		wantArgv []string
		healthy  bool
		msg      string
	}{
		{"shell", Check{Type: Command, Shell: true, Command: `[ "$V" = 1 ]`, Env: []string{"V=1"}},
			[]string{"/bin/sh", "-c", `[ "$V" = 1 ]`}, true, ""},
		{"argv", Check{Type: Command, Command: "/bin/sh", Args: []string{"sh", "-c", "exit 3"}},
			[]string{"/bin/sh", "-c", "exit 3"}, false, "command exited with status 3"},
		{"cannot run", Check{Type: Command, Command: "/no/such/program"},
			[]string{"/no/such/program"}, false, "failed to run command"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := &localRunner{}
			tc.check.Runner = r
			rec := newRecorder()
			startChecker(t, fast(tc.check), rec.options())
			got := rec.waitFor(t, 1)
			if got[0].healthy != tc.healthy || !strings.Contains(got[0].msg, tc.msg) {
				t.Fatalf("got healthy=%v %q, want healthy=%v %q", got[0].healthy, got[0].msg, tc.healthy, tc.msg)
			}
			r.mu.Lock()
			defer r.mu.Unlock()
			if len(r.argvs) == 0 || !slices.Equal(r.argvs[0], tc.wantArgv) {
				t.Errorf("argv %q, want %q", r.argvs, tc.wantArgv)
			}
		})
	}
}

// Host points HTTP and TCP checks at another address than 127.0.0.1 (a
// container's IP).
func TestHost(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Fatalf("no 127.0.0.2 on this host: %v", err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	port := uint32(ln.Addr().(*net.TCPAddr).Port)
	for _, typ := range []Type{HTTP, TCP} {
		rec := newRecorder()
		startChecker(t, fast(Check{Type: typ, Port: port, Host: "127.0.0.2"}), rec.options())
		if got := rec.waitFor(t, 1); !got[0].healthy {
			t.Errorf("%v check of 127.0.0.2: %q", typ, got[0].msg)
		}
	}
}
