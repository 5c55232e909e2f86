package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"

	"strata/kernel/e2e/procs"
	"strata/kernel/e2e/stratabin"
)

var strataBin string

func TestMain(m *testing.M) {
	code := stratabin.Main(m, &strataBin)
	os.Exit(code)
}

// busybox returns the path of busybox, which the test apps run; under CI=true its absence
// fails the test.
func busybox(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("busybox")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("busybox is required (apt-get install busybox-static): %v", err)
		}
		t.Skipf("busybox not installed: %v", err)
	}
	return p
}

func freePort(t *testing.T) int { return procs.FreePort(t) }

type proc = procs.Proc

// start runs strata with args; the process is stopped at the end of the test if still running.
func start(t *testing.T, args ...string) *proc { return procs.Start(t, strataBin, args...) }

func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	procs.Eventually(t, within, what, cond)
}

func request(method, url, body string) (int, string) { return procs.Request(method, url, body) }

func mustRequest(t *testing.T, method, url, body string, want int) map[string]any {
	t.Helper()
	code, out := request(method, url, body)
	if code != want {
		t.Fatalf("%s %s: %d, want %d: %s", method, url, code, want, out)
	}
	var m map[string]any
	_ = json.Unmarshal([]byte(out), &m)
	return m
}

// appView is what a client's waiting loop reads from GET /v2/apps/{id}.
type appView struct {
	Instances    int    `json:"instances"`
	TasksRunning int    `json:"tasksRunning"`
	TasksHealthy int    `json:"tasksHealthy"`
	Version      string `json:"version"`
	Deployments  []struct {
		ID string `json:"id"`
	} `json:"deployments"`
	Tasks []struct {
		ID                 string `json:"id"`
		State              string `json:"state"`
		Host               string `json:"host"`
		Ports              []int  `json:"ports"`
		Version            string `json:"version"`
		StartedAt          string `json:"startedAt"`
		HealthCheckResults []struct {
			Alive bool `json:"alive"`
		} `json:"healthCheckResults"`
	} `json:"tasks"`
}

func getApp(base, id string) (appView, bool) {
	code, body := request("GET", base+"/v2/apps"+id, "")
	if code != 200 {
		return appView{}, false
	}
	var out struct {
		App appView `json:"app"`
	}
	if json.Unmarshal([]byte(body), &out) != nil {
		return appView{}, false
	}
	return out.App, true
}

// healthy is the "healthy" condition clients wait for: instances == n, tasks present,
// tasksRunning == tasksHealthy == n, every task's every health check result alive (none
// missing), no deployment.
func (a appView) healthy(n int) bool {
	if a.Instances != n || a.TasksRunning != n || a.TasksHealthy != n || len(a.Tasks) != n || len(a.Deployments) != 0 {
		return false
	}
	for _, tk := range a.Tasks {
		if len(tk.HealthCheckResults) == 0 {
			return false
		}
		for _, r := range tk.HealthCheckResults {
			if !r.Alive {
				return false
			}
		}
	}
	return true
}

func (a appView) ids() map[string]bool {
	out := map[string]bool{}
	for _, tk := range a.Tasks {
		out[tk.ID] = true
	}
	return out
}

func waitHealthy(t *testing.T, base, id string, n int) appView {
	t.Helper()
	var a appView
	eventually(t, 60*time.Second, fmt.Sprintf("%s: %d healthy tasks", id, n), func() bool {
		a, _ = getApp(base, id)
		return a.healthy(n)
	})
	return a
}

// masterTasks returns the states of the tasks the master knows, by id.
func masterTasks(t *testing.T, master string) map[string]string {
	t.Helper()
	code, body := request("GET", "http://"+master+"/master/tasks?limit=1000", "")
	if code != 200 {
		t.Fatalf("/master/tasks: %d %s", code, body)
	}
	var out struct {
		Tasks []struct {
			ID    string `json:"id"`
			State string `json:"state"`
		} `json:"tasks"`
	}
	if err := json.Unmarshal([]byte(body), &out); err != nil {
		t.Fatalf("/master/tasks: %v", err)
	}
	m := map[string]string{}
	for _, tk := range out.Tasks {
		m[tk.ID] = tk.State
	}
	return m
}
