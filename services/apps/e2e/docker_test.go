package e2e

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"strata/kernel/containerizer/podman/podmantest"
)

// TestDevDockerApp deploys a DOCKER app on `strata dev`: busybox httpd in a podman container of
// the local test image, on a bridge network with container port 80 mapped to a host port the
// offer gave, reachable from the host at the task's host and port. Deleting the app removes its
// container.
func TestDevDockerApp(t *testing.T) {
	image := podmantest.BusyboxImage(t)
	mp, ap, pp := freePort(t), freePort(t), freePort(t)
	start(t, "dev", "--jobs=false", "--work-dir", t.TempDir(), "--master-port", fmt.Sprint(mp), "--agent-port", fmt.Sprint(ap),
		"--apps-port", fmt.Sprint(pp))
	base := fmt.Sprintf("http://127.0.0.1:%d", pp)
	eventually(t, 30*time.Second, "the apps service", func() bool {
		code, _ := request("GET", base+"/ping", "")
		return code == 200
	})
	agentID := registeredAgent(t, fmt.Sprintf("127.0.0.1:%d", mp))
	t.Cleanup(func() { podmantest.RemoveContainers(t, agentID) })

	app := fmt.Sprintf(`{"id":"/docker-web","instances":1,"cpus":0.1,"mem":64,
		"cmd":"mkdir -p /www && echo hello-from-docker > /www/index.html && exec busybox httpd -f -p 80 -h /www",
		"container":{"type":"DOCKER","docker":{"image":%q},"portMappings":[{"containerPort":80,"hostPort":0,"name":"http"}]},
		"networks":[{"mode":"container/bridge"}],
		"healthChecks":[{"protocol":"MESOS_HTTP","portIndex":0,"path":"/","gracePeriodSeconds":30,"intervalSeconds":1,
			"timeoutSeconds":1,"delaySeconds":0}]}`, image)
	mustRequest(t, "POST", base+"/v2/apps", app, 201)
	a := waitHealthy(t, base, "/docker-web", 1)
	tk := a.Tasks[0]
	if len(tk.Ports) != 1 || tk.Ports[0] < 31000 || tk.Ports[0] > 32000 {
		t.Fatalf("task ports %v, want one host port from the agent's range", tk.Ports)
	}
	eventually(t, 20*time.Second, "the container's page on the task's host port", func() bool {
		code, body := request("GET", fmt.Sprintf("http://%s:%d/", tk.Host, tk.Ports[0]), "")
		return code == 200 && body == "hello-from-docker\n"
	})
	if n := len(containers(t, agentID)); n != 1 {
		t.Fatalf("%d containers of the agent, want the app's one", n)
	}

	mustRequest(t, "DELETE", base+"/v2/apps/docker-web", "", 200)
	eventually(t, 30*time.Second, "the app's task to end and its container to go", func() bool {
		code, body := request("GET", base+"/v2/tasks", "")
		return code == 200 && strings.TrimSpace(body) == `{"tasks":[]}` && len(containers(t, agentID)) == 0
	})
}

// registeredAgent waits for the master to list one active agent and returns its id.
func registeredAgent(t *testing.T, master string) string {
	t.Helper()
	var id string
	eventually(t, 30*time.Second, "the agent to register", func() bool {
		code, body := request("GET", "http://"+master+"/master/slaves", "")
		var out struct {
			Slaves []struct {
				ID     string `json:"id"`
				Active bool   `json:"active"`
			} `json:"slaves"`
		}
		if code != 200 || json.Unmarshal([]byte(body), &out) != nil || len(out.Slaves) != 1 || !out.Slaves[0].Active {
			return false
		}
		id = out.Slaves[0].ID
		return true
	})
	return id
}

// containers lists the names of the podman containers of an agent.
func containers(t *testing.T, agentID string) []string {
	t.Helper()
	out, err := exec.Command("podman", "ps", "-a", "--format", "{{.Names}}", "--filter", "label=strata.agent="+agentID).Output()
	if err != nil {
		t.Fatalf("podman ps: %v", err)
	}
	return strings.Fields(string(out))
}
