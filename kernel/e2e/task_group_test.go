package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// groupJSON is a TaskGroupInfo in Mesos JSON with one shell task per id (agent_id left out, as
// mesos-execute's --task_group allows).
func groupJSON(t *testing.T, commands map[string]string, order ...string) string {
	t.Helper()
	type scalar struct {
		Value float64 `json:"value"`
	}
	type resource struct {
		Name   string `json:"name"`
		Type   string `json:"type"`
		Scalar scalar `json:"scalar"`
	}
	type id struct {
		Value string `json:"value"`
	}
	type command struct {
		Value string `json:"value"`
	}
	type task struct {
		Name      string     `json:"name"`
		TaskID    id         `json:"task_id"`
		Resources []resource `json:"resources"`
		Command   command    `json:"command"`
	}
	var group struct {
		Tasks []task `json:"tasks"`
	}
	for _, name := range order {
		group.Tasks = append(group.Tasks, task{
			Name: name, TaskID: id{name}, Command: command{commands[name]},
			Resources: []resource{{"cpus", "SCALAR", scalar{0.1}}, {"mem", "SCALAR", scalar{32}}},
		})
	}
	b, err := json.Marshal(group)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "group.json")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

var reFrameworkID = regexp.MustCompile(`(?m)^Subscribed with framework id (\S+)`)

// TestExecuteTaskGroup runs task groups with `strata execute --task-group` against `strata dev`:
// the agent runs them under the built-in default executor, each task in its own sandbox
// tasks/<id>, and a failing task takes its group down.
func TestExecuteTaskGroup(t *testing.T) {
	_, master, agent := startDev(t)

	group := groupJSON(t, map[string]string{
		"web":     `echo "hello from web in $MESOS_SANDBOX"; sleep 0.5`,
		"sidecar": `echo hello from sidecar`,
	}, "web", "sidecar")
	cmd := exec.Command(strataBin, "execute", "--master", master, "--task-group", group)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("strata execute --task-group: %v\n%s", err, out)
	}
	for _, want := range []string{
		"Launching task group with tasks [web, sidecar]",
		"Received status update TASK_STARTING for task 'web'", "Received status update TASK_RUNNING for task 'web'",
		"Received status update TASK_FINISHED for task 'web'",
		"Received status update TASK_STARTING for task 'sidecar'", "Received status update TASK_RUNNING for task 'sidecar'",
		"Received status update TASK_FINISHED for task 'sidecar'",
	} {
		if !strings.Contains(string(out), want) {
			t.Fatalf("execute output lacks %q:\n%s", want, out)
		}
	}
	fwID := submatch(t, reFrameworkID, string(out))[1]

	// Each task's output is in its own sandbox inside the executor's, readable through /files.
	if got := sandboxFile(t, agent, fwID, "default-executor", "tasks/sidecar/stdout"); got != "hello from sidecar\n" {
		t.Fatalf("tasks/sidecar/stdout = %q", got)
	}
	if got := sandboxFile(t, agent, fwID, "default-executor", "tasks/web/stdout"); !strings.HasPrefix(got, "hello from web in /") ||
		!strings.HasSuffix(got, "/tasks/web\n") {
		t.Fatalf("tasks/web/stdout = %q", got)
	}
	eventually(t, 10*time.Second, "the master to list the group's tasks as finished", func() bool {
		return completedTaskState(t, master, fwID, "web") == "TASK_FINISHED" &&
			completedTaskState(t, master, fwID, "sidecar") == "TASK_FINISHED"
	})

	// One task fails: the other is killed, and strata execute exits 1.
	group = groupJSON(t, map[string]string{"failing": `sleep 0.3; exit 3`, "server": `exec sleep 300.4343`}, "failing", "server")
	out, err = exec.Command(strataBin, "execute", "--master", master, "--task-group", group, "--codec", "json").CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("strata execute of a failing group: err %v, want exit status 1\n%s", err, out)
	}
	for _, want := range []string{
		"Received status update TASK_FAILED for task 'failing'", "Command exited with status 3",
		"Received status update TASK_KILLING for task 'server'", "Received status update TASK_KILLED for task 'server'",
	} {
		if !strings.Contains(string(out), want) {
			t.Fatalf("execute output of a failing group lacks %q:\n%s", want, out)
		}
	}
	eventually(t, 10*time.Second, "the killed task's process to be gone", func() bool { return len(processesWith("300.4343")) == 0 })
}
