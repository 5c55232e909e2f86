package readiness

import (
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"strata/services/apps/app"
	"strata/services/apps/instance"
)

func normalized(t *testing.T, body string) *app.App {
	t.Helper()
	a, err := app.Decode([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Normalize(); err != nil {
		t.Fatal(err)
	}
	if err := a.Validate(); err != nil {
		t.Fatal(err)
	}
	return a
}

func TestSpecs(t *testing.T) {
	host := normalized(t, `{"id":"/h","cmd":"x","portDefinitions":[{"name":"admin"},{"name":"http-api"}],
		"readinessChecks":[{"path":"/ready","intervalSeconds":3,"timeoutSeconds":2,"httpStatusCodesForReady":[200,204],"preserveLastResponse":true}]}`)
	container := normalized(t, `{"id":"/c","container":{"type":"DOCKER","docker":{"image":"i"},
		"portMappings":[{"containerPort":8080,"name":"web"}]},"networks":[{"mode":"container","name":"net"}],
		"readinessChecks":[{"portName":"web","protocol":"HTTPS"}]}`)
	tests := []struct {
		name    string
		a       *app.App
		i       *instance.Instance
		url     string
		noAddr  bool
		nothing bool
	}{
		{"host port", host, &instance.Instance{TaskID: "h.1", Host: "agent-1", Ports: []int{31001, 31002}}, "http://agent-1:31002/ready", false, false},
		{"not placed yet", host, &instance.Instance{TaskID: "h.2"}, "", true, false},
		{"container port on the task's IP", container, &instance.Instance{TaskID: "c.1", Host: "agent-1", Ports: []int{0},
			IPAddresses: []string{"fd00::5", "10.0.0.5"}}, "https://[fd00::5]:8080/", false, false},
		{"container without an IP yet", container, &instance.Instance{TaskID: "c.2", Host: "agent-1", Ports: []int{0}}, "", true, false},
		{"no readiness checks", normalized(t, `{"id":"/n","cmd":"x"}`), &instance.Instance{TaskID: "n.1"}, "", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			specs, err := Specs(tt.a, tt.i)
			switch {
			case tt.noAddr:
				if !errors.Is(err, ErrNoAddress) {
					t.Fatalf("got %v %v, want ErrNoAddress", specs, err)
				}
				return
			case err != nil:
				t.Fatal(err)
			case tt.nothing:
				if len(specs) != 0 {
					t.Fatalf("specs %+v", specs)
				}
				return
			}
			if len(specs) != 1 || specs[0].URL != tt.url || specs[0].TaskID != tt.i.TaskID || specs[0].AppID != tt.a.ID {
				t.Fatalf("specs %+v, want one for %s", specs, tt.url)
			}
		})
	}
	s, _ := Specs(host, tests[0].i)
	if s[0].Interval != 3*time.Second || s[0].Timeout != 2*time.Second || !s[0].PreserveLastResponse ||
		len(s[0].StatusCodes) != 2 || s[0].Name != "readinessCheck" {
		t.Errorf("spec %+v", s[0])
	}
}

// server answers 503 "warming up" until ready is set, then 200 "ready" as JSON; it counts GETs.
type server struct {
	ready atomic.Bool
	gets  atomic.Int32
	*httptest.Server
}

func newServer(t *testing.T) *server {
	s := &server{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.gets.Add(1)
		switch {
		case r.URL.Path == "/redirect":
			http.Redirect(w, r, "/ready", http.StatusFound)
		case r.URL.Path == "/big":
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			_, _ = w.Write([]byte(strings.Repeat("x", MaxBody+100)))
		case r.URL.Path == "/slow":
			time.Sleep(300 * time.Millisecond)
		case s.ready.Load():
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			_, _ = w.Write([]byte(`{"ready":true}`))
		default:
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte("warming up"))
		}
	}))
	t.Cleanup(s.Close)
	return s
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func spec(taskID, url string, preserve bool) Spec {
	return Spec{AppID: "/app", TaskID: taskID, Name: "readinessCheck", URL: url, Interval: 20 * time.Millisecond,
		Timeout: 100 * time.Millisecond, StatusCodes: []int{200}, PreserveLastResponse: preserve}
}

// TestChecker: a check polls until its task is ready, then stops and stays ready; the last
// response is kept only with preserveLastResponse; failures are 504s naming the error; Retain
// forgets tasks.
func TestChecker(t *testing.T) {
	srv := newServer(t)
	var results atomic.Int32
	c := New(Options{OnResult: func() { results.Add(1) }})
	defer c.Close()

	closed, _ := net.Listen("tcp", "127.0.0.1:0")
	refused := "http://" + closed.Addr().String() + "/"
	closed.Close()

	c.Ensure([]Spec{spec("t1", srv.URL+"/ready", true), spec("t2", srv.URL+"/ready", false), spec("t3", refused, true)})
	c.Ensure([]Spec{spec("t1", srv.URL+"/ready", true)}) // already running: no second check
	eventually(t, "a few results", func() bool { return results.Load() >= 6 })
	if c.Ready("t1") || c.Ready("t2") || c.Ready("t3") || c.Ready("unknown") {
		t.Fatal("a task is ready before its endpoint says so")
	}
	byTask := map[string]Result{}
	for _, r := range c.Results("/app") {
		byTask[r.TaskID] = r
	}
	if lr := byTask["t1"].LastResponse; lr == nil || lr.Status != 503 || lr.ContentType != "text/plain" || lr.Body != "warming up" {
		t.Errorf("t1 last response %+v", lr)
	}
	if byTask["t2"].LastResponse != nil {
		t.Errorf("t2 keeps its response without preserveLastResponse: %+v", byTask["t2"].LastResponse)
	}
	if lr := byTask["t3"].LastResponse; lr == nil || lr.Status != 504 || !strings.Contains(lr.Body, "could not query "+refused) {
		t.Errorf("t3 (nothing listens) last response %+v", lr)
	}
	if got := c.Results("/other"); len(got) != 0 {
		t.Errorf("results of another app: %+v", got)
	}

	srv.ready.Store(true)
	eventually(t, "t1 and t2 to be ready", func() bool { return c.Ready("t1") && c.Ready("t2") })
	for _, r := range c.Results("/app") {
		if r.TaskID == "t1" && (r.LastResponse == nil || r.LastResponse.Status != 200 || r.LastResponse.ContentType != "application/json" ||
			r.LastResponse.Body != `{"ready":true}`) {
			t.Errorf("t1 ready response %+v", r.LastResponse)
		}
	}
	// Ready checks stop: the server sees no more GETs for them.
	time.Sleep(50 * time.Millisecond)
	n := srv.gets.Load()
	srv.ready.Store(false)
	time.Sleep(100 * time.Millisecond)
	if got := srv.gets.Load(); got != n || !c.Ready("t1") {
		t.Errorf("ready checks go on: %d GETs, then %d; ready %v", n, got, c.Ready("t1"))
	}

	c.Retain(map[string]bool{"t1": true})
	if c.Ready("t2") || len(c.Results("/app")) != 1 {
		t.Errorf("after Retain(t1): t2 ready %v, results %+v", c.Ready("t2"), c.Results("/app"))
	}
}

// TestCheckerResponses: redirects are not followed, bodies are cut at MaxBody, a GET slower
// than the timeout fails.
func TestCheckerResponses(t *testing.T) {
	srv := newServer(t)
	c := New(Options{})
	defer c.Close()
	tests := []struct {
		path   string
		status int
		check  func(HTTPResponse) bool
	}{
		{"/redirect", http.StatusFound, func(r HTTPResponse) bool { return true }},
		{"/big", http.StatusOK, func(r HTTPResponse) bool { return len(r.Body) == MaxBody && r.ContentType == "text/plain" }},
		{"/slow", http.StatusGatewayTimeout, func(r HTTPResponse) bool { return strings.Contains(r.Body, "deadline exceeded") }},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			s := spec("task"+tt.path, srv.URL+tt.path, true)
			s.StatusCodes = []int{299} // never ready: the check keeps its last response
			c.Ensure([]Spec{s})
			var got *HTTPResponse
			eventually(t, "a response", func() bool {
				for _, r := range c.Results("/app") {
					if r.TaskID == s.TaskID && r.LastResponse != nil {
						got = r.LastResponse
						return true
					}
				}
				return false
			})
			if got.Status != tt.status || !tt.check(*got) {
				t.Errorf("response %d %q (%d bytes), want %d", got.Status, got.ContentType, len(got.Body), tt.status)
			}
		})
	}
}
