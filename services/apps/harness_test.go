package apps_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"testing"
	"time"

	"strata/kernel/e2e/cluster"
	"strata/kernel/e2e/procs"
	"strata/kernel/e2e/stratabin"
	"strata/services/apps"
)

// strataBin is the strata binary the agent runs as `strata executor`: $STRATA_BIN (make test
// sets it), or one built by TestMain.
var strataBin string

func TestMain(m *testing.M) {
	code := stratabin.Main(m, &strataBin)
	os.Exit(code)
}

func quietLogger() *slog.Logger { return cluster.QuietLogger() }

// startCluster runs a real master and one real agent in this process on free loopback ports
// and returns the master's address. Both stop (and the agent kills its tasks) at cleanup.
func startCluster(t *testing.T) string {
	t.Helper()
	return cluster.Start(t, cluster.Options{Executable: strataBin, Logger: quietLogger()})
}

// service is an apps service run by a test.
type service struct {
	url    string
	cancel context.CancelFunc
	done   chan error
}

// startService runs the apps service against master with its state in workDir.
func startService(t *testing.T, masterAddr, workDir string, mutate ...func(*apps.Config)) *service {
	t.Helper()
	cfg := apps.Config{
		Masters: []string{masterAddr}, Listen: "127.0.0.1:0", WorkDir: workDir,
		FrameworkName: "marathon-test", Logger: quietLogger(),
	}
	for _, m := range mutate {
		m(&cfg)
	}
	svc, err := apps.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &service{cancel: cancel, done: make(chan error, 1)}
	go func() { s.done <- svc.Run(ctx) }()
	select {
	case <-svc.Ready():
	case err := <-s.done:
		t.Fatalf("apps service: %v", err)
	case <-time.After(20 * time.Second):
		t.Fatal("apps service not ready")
	}
	s.url = "http://" + svc.Addr()
	t.Cleanup(func() { s.stop(t) })
	return s
}

func (s *service) stop(t *testing.T) {
	t.Helper()
	if s.cancel == nil {
		return
	}
	s.cancel()
	s.cancel = nil
	select {
	case err := <-s.done:
		if err != nil {
			t.Errorf("apps service: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Error("apps service did not stop")
	}
}

// response is an HTTP answer.
type response struct {
	code   int
	header http.Header
	body   string
}

func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(r.body), &m); err != nil {
		t.Fatalf("answer %d is not a JSON object: %v\n%s", r.code, err, r.body)
	}
	return m
}

func do(t *testing.T, method, url, body string, header ...string) response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = bytes.NewBufferString(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	client := &http.Client{Timeout: 20 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{code: resp.StatusCode, header: resp.Header, body: string(b)}
}

func call(t *testing.T, method, url, body string) (int, string) {
	r := do(t, method, url, body)
	return r.code, r.body
}

func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	procs.Eventually(t, within, what, cond)
}

// appState is what clients read from GET /v2/apps/{id}.
type appState struct {
	Instances      int                 `json:"instances"`
	TasksStaged    int                 `json:"tasksStaged"`
	TasksRunning   int                 `json:"tasksRunning"`
	TasksHealthy   int                 `json:"tasksHealthy"`
	TasksUnhealthy int                 `json:"tasksUnhealthy"`
	Deployments    []map[string]string `json:"deployments"`
	Version        string              `json:"version"`
	VersionInfo    map[string]string   `json:"versionInfo"`
	Tasks          []struct {
		ID        string `json:"id"`
		State     string `json:"state"`
		Version   string `json:"version"`
		StartedAt string `json:"startedAt"`
		Ports     []int  `json:"ports"`
		Host      string `json:"host"`
	} `json:"tasks"`
	LastTaskFailure map[string]any `json:"lastTaskFailure"`
}

func getApp(t *testing.T, s *service, id string) (appState, int) {
	t.Helper()
	r := do(t, "GET", s.url+"/v2/apps"+id, "")
	if r.code != 200 {
		return appState{}, r.code
	}
	var out struct {
		App appState `json:"app"`
	}
	if err := json.Unmarshal([]byte(r.body), &out); err != nil {
		t.Fatalf("GET app: %v\n%s", err, r.body)
	}
	return out.App, r.code
}

// waitRunning is a client's waiting loop: done when tasksRunning == instances == n and no
// deployment runs.
func waitRunning(t *testing.T, s *service, id string, n int) appState {
	t.Helper()
	var a appState
	eventually(t, 30*time.Second, fmt.Sprintf("%s to run %d tasks", id, n), func() bool {
		a, _ = getApp(t, s, id)
		return a.Instances == n && a.TasksRunning == n && len(a.Tasks) == n && len(a.Deployments) == 0
	})
	return a
}

func taskIDs(a appState) map[string]bool {
	out := map[string]bool{}
	for _, tk := range a.Tasks {
		out[tk.ID] = true
	}
	return out
}
