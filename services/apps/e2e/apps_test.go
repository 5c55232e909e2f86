package e2e

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// webApp is an app of n busybox httpd instances on $PORT0 with a MESOS_HTTP health check; the
// command first writes its environment where it serves it. wait delays the server's start
// (the new version of a rolling restart that takes a while to get healthy).
func webApp(bb, id string, n int, wait int) string {
	cmd := fmt.Sprintf("mkdir -p www && echo ok > www/index.html && env > www/env.txt && sleep %d && exec %s httpd -f -p $PORT0 -h www", wait, bb)
	return fmt.Sprintf(`{"id":%q,"cmd":%q,"instances":%d,"cpus":0.05,"mem":32,
		"portDefinitions":[{"port":0,"name":"http"}],
		"healthChecks":[{"protocol":"MESOS_HTTP","path":"/","portIndex":0,"gracePeriodSeconds":30,
			"intervalSeconds":1,"timeoutSeconds":1,"delaySeconds":0,"maxConsecutiveFailures":3}]}`, id, cmd, n)
}

// scaleBody is the scale request clients send (reference §10).
func scaleBody(id string, n int) string {
	return fmt.Sprintf(`{"id":%q,"instances":%d,"ports":null,"dependencies":null}`, id, n)
}

// TestDevAppLifecycle runs `strata dev` and drives an app of busybox web servers through its
// life: deploy and wait for health, scale up and down, a killed task replaced, a rolling
// restart that never drops below the minimum healthy capacity.
func TestDevAppLifecycle(t *testing.T) {
	bb := busybox(t)
	mp, ap, pp := freePort(t), freePort(t), freePort(t)
	dev := start(t, "dev", "--jobs=false", "--work-dir", t.TempDir(), "--master-port", fmt.Sprint(mp), "--agent-port", fmt.Sprint(ap),
		"--apps-port", fmt.Sprint(pp))
	base := fmt.Sprintf("http://127.0.0.1:%d", pp)
	eventually(t, 30*time.Second, "the apps service", func() bool {
		code, body := request("GET", base+"/ping", "")
		return code == 200 && body == "pong"
	})
	eventually(t, 30*time.Second, "the dev banner to name the apps service at "+base, func() bool {
		return strings.Contains(dev.Output(), "apps     "+base)
	})

	mustRequest(t, "POST", base+"/v2/apps", webApp(bb, "/web", 3, 0), 201)
	first := waitHealthy(t, base, "/web", 3)

	// The servers serve, with Marathon's environment.
	for _, tk := range first.Tasks {
		code, env := request("GET", fmt.Sprintf("http://%s:%d/env.txt", tk.Host, tk.Ports[0]), "")
		if code != 200 {
			t.Fatalf("task %s does not serve on %s:%d: %d", tk.ID, tk.Host, tk.Ports[0], code)
		}
		for _, want := range []string{
			"MARATHON_APP_ID=/web", "MARATHON_APP_VERSION=" + first.Version, "MESOS_TASK_ID=" + tk.ID,
			fmt.Sprintf("PORT0=%d", tk.Ports[0]), fmt.Sprintf("PORT_HTTP=%d", tk.Ports[0]), fmt.Sprintf("PORTS=%d", tk.Ports[0]),
			"HOST=" + tk.Host, "MARATHON_APP_RESOURCE_MEM=32.0",
		} {
			if !strings.Contains(env, want+"\n") {
				t.Errorf("task %s environment lacks %s:\n%s", tk.ID, want, env)
			}
		}
	}

	// Scale up, then down, with the body clients send: no restarts, the youngest go.
	mustRequest(t, "PUT", base+"/v2/apps/web", scaleBody("/web", 5), 200)
	five := waitHealthy(t, base, "/web", 5)
	for id := range first.ids() {
		if !five.ids()[id] {
			t.Fatalf("scaling up restarted task %s", id)
		}
	}
	mustRequest(t, "PUT", base+"/v2/apps/web", scaleBody("/web", 2), 200)
	two := waitHealthy(t, base, "/web", 2)
	for id := range two.ids() {
		if !first.ids()[id] {
			t.Fatalf("scaling down kept the young task %s (YOUNGEST_FIRST)", id)
		}
	}

	// A killed task is replaced.
	victim := two.Tasks[0].ID
	mustRequest(t, "DELETE", base+"/v2/apps/web/tasks/"+victim, "", 200)
	var replaced appView
	eventually(t, 60*time.Second, "the killed task to be replaced", func() bool {
		replaced, _ = getApp(base, "/web")
		return replaced.healthy(2) && !replaced.ids()[victim]
	})

	// A rolling restart: with minimumHealthCapacity 1, never fewer than 2 healthy tasks.
	dep := mustRequest(t, "POST", base+"/v2/apps/web/restart", "{}", 200)["deploymentId"].(string)
	deadline := time.Now().Add(60 * time.Second)
	polls := 0
	for {
		if time.Now().After(deadline) {
			t.Fatal("the rolling restart did not finish within 60s")
		}
		a, ok := getApp(base, "/web")
		if ok {
			polls++
			if a.TasksHealthy < 2 {
				t.Fatalf("healthy capacity dropped to %d during the rolling restart: %+v", a.TasksHealthy, a)
			}
			code, body := request("GET", base+"/v2/deployments", "")
			if code == 200 && !strings.Contains(body, dep) && a.healthy(2) {
				for _, tk := range a.Tasks {
					if replaced.ids()[tk.ID] || tk.Version != a.Version {
						t.Fatalf("after the restart task %s (version %s, app %s) is an old one", tk.ID, tk.Version, a.Version)
					}
				}
				break
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	if polls < 3 {
		t.Logf("the restart finished within %d polls", polls)
	}

	mustRequest(t, "DELETE", base+"/v2/apps/web", "", 200)
	eventually(t, 30*time.Second, "the app's tasks to end", func() bool {
		code, body := request("GET", base+"/v2/tasks", "")
		return code == 200 && strings.TrimSpace(body) == `{"tasks":[]}`
	})
}

// TestAppsServiceRestartMidDeployment stops `strata apps` (a process of its own next to
// `strata dev --apps=false`) in the middle of a rolling restart and starts it again: no task
// is killed by the restart, neither the healthy old ones nor the new ones already launched, and
// the deployment finishes with those new ones.
func TestAppsServiceRestartMidDeployment(t *testing.T) {
	bb := busybox(t)
	mp, ap, pp := freePort(t), freePort(t), freePort(t)
	start(t, "dev", "--jobs=false", "--work-dir", t.TempDir(), "--master-port", fmt.Sprint(mp), "--agent-port", fmt.Sprint(ap), "--apps=false")
	master := fmt.Sprintf("127.0.0.1:%d", mp)
	eventually(t, 30*time.Second, "the master and agent", func() bool {
		code, body := request("GET", "http://"+master+"/master/slaves", "")
		return code == 200 && strings.Contains(body, `"active":true`)
	})
	workDir := t.TempDir()
	args := []string{"apps", "--master", master, "--ip", "127.0.0.1", "--port", fmt.Sprint(pp), "--work-dir", workDir}
	base := fmt.Sprintf("http://127.0.0.1:%d", pp)
	up := func() {
		eventually(t, 30*time.Second, "the apps service", func() bool {
			code, _ := request("GET", base+"/ping", "")
			return code == 200
		})
	}
	svc := start(t, args...)
	up()
	mustRequest(t, "POST", base+"/v2/apps", webApp(bb, "/svc", 2, 0), 201)
	old := waitHealthy(t, base, "/svc", 2)

	// The new version takes 12 s to serve, so the deployment is still running when the service
	// stops.
	update := webApp(bb, "/svc", 2, 12)
	mustRequest(t, "PUT", base+"/v2/apps/svc", update, 200)
	var mid appView
	eventually(t, 30*time.Second, "the new instances to run", func() bool {
		mid, _ = getApp(base, "/svc")
		running := 0
		for _, tk := range mid.Tasks {
			if !old.ids()[tk.ID] && tk.State == "TASK_RUNNING" {
				running++
			}
		}
		return running == 2
	})
	if len(mid.Deployments) != 1 || mid.TasksHealthy != 2 {
		t.Fatalf("mid-deployment state: %+v", mid)
	}
	svc.Stop(t)
	for id := range mid.ids() {
		if st := masterTasks(t, master)[id]; st != "TASK_RUNNING" {
			t.Fatalf("task %s is %q after the apps service stopped", id, st)
		}
	}

	start(t, args...)
	up()
	// After reconciliation every task still runs: old ones healthy, new ones coming up.
	eventually(t, 20*time.Second, "the restarted service to report all 4 tasks", func() bool {
		a, ok := getApp(base, "/svc")
		return ok && len(a.Tasks) == 4 && a.TasksRunning == 4 && len(a.Deployments) == 1
	})
	final := waitHealthy(t, base, "/svc", 2)
	for id := range final.ids() {
		if old.ids()[id] || !mid.ids()[id] {
			t.Fatalf("after the deployment: task %s; want the two launched before the restart (%v)", id, mid.ids())
		}
	}
	states := masterTasks(t, master)
	for id := range old.ids() {
		if s := states[id]; s != "TASK_KILLED" {
			t.Errorf("old task %s ended %q, want TASK_KILLED by the deployment", id, s)
		}
	}
	if os.Getenv("STRATA_E2E_VERBOSE") != "" {
		t.Logf("final %+v", final)
	}
}
