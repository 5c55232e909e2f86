package apps_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// busybox returns the path of busybox, whose httpd the test apps run; under CI=true its absence
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

// sharedDir returns a new directory that the tasks see too: the agent gives them a private
// /tmp, so it lies under /var/tmp. It is removed at the end of the test.
func sharedDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("/var/tmp", "strata-apps-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// readinessResult is Marathon's TaskReadinessCheckResult.
type readinessResult struct {
	Name         string `json:"name"`
	TaskID       string `json:"taskId"`
	Ready        bool   `json:"ready"`
	LastResponse *struct {
		Status      int    `json:"status"`
		ContentType string `json:"contentType"`
		Body        string `json:"body"`
	} `json:"lastResponse"`
}

// deploymentView is one entry of GET /v2/deployments.
type deploymentView struct {
	ID             string `json:"id"`
	CurrentActions []struct {
		Action                string            `json:"action"`
		App                   string            `json:"app"`
		ReadinessCheckResults []readinessResult `json:"readinessCheckResults"`
	} `json:"currentActions"`
}

func runningDeployment(t *testing.T, s *service, id string) (deploymentView, bool) {
	t.Helper()
	var list []deploymentView
	r := do(t, "GET", s.url+"/v2/deployments", "")
	if err := json.Unmarshal([]byte(r.body), &list); err != nil {
		t.Fatalf("GET /v2/deployments: %v\n%s", err, r.body)
	}
	for _, d := range list {
		if d.ID == id {
			return d, true
		}
	}
	return deploymentView{}, false
}

// appReadiness is GET /v2/apps/{id}?embed=app.readiness's readinessCheckResults.
func appReadiness(t *testing.T, s *service, id string) []readinessResult {
	t.Helper()
	var out struct {
		App struct {
			ReadinessCheckResults *[]readinessResult `json:"readinessCheckResults"`
		} `json:"app"`
	}
	r := do(t, "GET", s.url+"/v2/apps"+id+"?embed=app.readiness", "")
	if err := json.Unmarshal([]byte(r.body), &out); err != nil || out.App.ReadinessCheckResults == nil {
		t.Fatalf("GET %s?embed=app.readiness: %v, no readinessCheckResults\n%s", id, err, r.body)
	}
	return *out.App.ReadinessCheckResults
}

// notReadyYet waits until the deployment shows one result, not ready, for a task other than
// the ones in old, with the 404 the task answers while the flag file is missing, and returns it.
func notReadyYet(t *testing.T, s *service, dep string, old map[string]bool) readinessResult {
	t.Helper()
	var res readinessResult
	eventually(t, 30*time.Second, "a readiness result of a new task in the deployment", func() bool {
		d, ok := runningDeployment(t, s, dep)
		if !ok || len(d.CurrentActions) != 1 || len(d.CurrentActions[0].ReadinessCheckResults) != 1 {
			return false
		}
		res = d.CurrentActions[0].ReadinessCheckResults[0]
		// Until the server listens, the GETs fail as 504s.
		return !old[res.TaskID] && res.LastResponse != nil && res.LastResponse.Status != 504
	})
	if res.Ready || res.Name != "readinessCheck" || res.LastResponse.Status != 404 {
		t.Fatalf("readiness result %+v", res)
	}
	return res
}

// TestReadinessGatesDeployments: an app whose readiness endpoint answers 404 until a flag file
// exists runs, but its deployment does not finish, and the deployment and the app show the
// result (with the last response, preserveLastResponse); once ready, the deployment finishes. A
// rolling restart keeps the old instance until the new one is ready.
func TestReadinessGatesDeployments(t *testing.T) {
	bb := busybox(t)
	master := startCluster(t)
	s := startService(t, master, t.TempDir())
	flag := filepath.Join(sharedDir(t), "ready")
	const id = "/warm"
	body := fmt.Sprintf(`{"id":%q,"instances":1,"cpus":0.05,"mem":16,
		"cmd":"mkdir -p www && ln -s %s www/ready && exec %s httpd -f -p $PORT0 -h www",
		"portDefinitions":[{"port":0,"name":"http-api"}],
		"readinessChecks":[{"path":"/ready","portName":"http-api","intervalSeconds":2,"timeoutSeconds":1,"preserveLastResponse":true}]}`,
		id, flag, bb)
	r := do(t, "POST", s.url+"/v2/apps", body)
	if r.code != 201 {
		t.Fatalf("POST: %d %s", r.code, r.body)
	}
	dep := r.header.Get("Marathon-Deployment-Id")
	first := notReadyYet(t, s, dep, nil)
	if got := appReadiness(t, s, id); len(got) != 1 || got[0].TaskID != first.TaskID || got[0].Ready {
		t.Fatalf("app readinessCheckResults %+v", got)
	}
	var list struct {
		Apps []struct {
			ReadinessCheckResults []readinessResult `json:"readinessCheckResults"`
		} `json:"apps"`
	}
	r = do(t, "GET", s.url+"/v2/apps?embed=apps.readiness", "")
	if err := json.Unmarshal([]byte(r.body), &list); err != nil || len(list.Apps) != 1 || len(list.Apps[0].ReadinessCheckResults) != 1 {
		t.Fatalf("GET /v2/apps?embed=apps.readiness: %v\n%s", err, r.body)
	}
	if a, _ := getApp(t, s, id); a.TasksRunning != 1 || len(a.Deployments) != 1 {
		t.Fatalf("while not ready: %+v", a)
	}
	time.Sleep(2500 * time.Millisecond) // more than an interval: still not done
	if _, ok := runningDeployment(t, s, dep); !ok {
		t.Fatal("the deployment finished before the task was ready")
	}

	if err := os.WriteFile(flag, []byte("ready"), 0o644); err != nil {
		t.Fatal(err)
	}
	running := waitRunning(t, s, id, 1)
	if got := appReadiness(t, s, id); len(got) != 0 {
		t.Fatalf("readinessCheckResults after the deployment: %+v", got)
	}

	// A rolling restart: the new instance is not ready, so the old one keeps running.
	if err := os.Remove(flag); err != nil {
		t.Fatal(err)
	}
	r = do(t, "POST", s.url+"/v2/apps"+id+"/restart", "{}")
	if r.code != 200 {
		t.Fatalf("restart: %d %s", r.code, r.body)
	}
	dep = r.json(t)["deploymentId"].(string)
	notReadyYet(t, s, dep, taskIDs(running))
	time.Sleep(2500 * time.Millisecond)
	a, _ := getApp(t, s, id)
	if !taskIDs(a)[running.Tasks[0].ID] {
		t.Fatalf("the old task was killed before the new one was ready: %+v", a)
	}
	if err := os.WriteFile(flag, []byte("ready"), 0o644); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "the restart to finish", func() bool {
		_, ok := runningDeployment(t, s, dep)
		a, _ := getApp(t, s, id)
		return !ok && len(a.Tasks) == 1 && !taskIDs(a)[running.Tasks[0].ID]
	})
}
