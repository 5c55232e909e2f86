package e2e

import (
	"context"
	"encoding/json"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The Node project in testdata/mesos-framework drives Strata with the npm package mesos-framework
// (0.5.3, pinned by its package-lock.json): a third-party Mesos v1 HTTP API client for schedulers and
// executors that we did not write. The library speaks JSON only (it hard-codes
// Content-Type: application/json and JSON.parse on events), so there is no protobuf variant.

// nodeTool finds a command the interop test needs. A missing one skips the test on a developer's
// machine and fails it under CI=true, where scripts/install-deps.sh must have installed it.
func nodeTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is not installed (scripts/install-deps.sh installs it): %v", name, err)
	}
	t.Skipf("%s is not installed; run scripts/install-deps.sh", name)
	return ""
}

// nodeProject copies testdata/mesos-framework (without any node_modules) into a temporary
// directory and installs its locked dependencies there with `npm ci`. The directory is under
// /var/tmp, not /tmp: executor.js runs from it as a custom executor, and an isolating agent gives
// every container a private /tmp, where the host's /tmp is out of sight (as an executor installed
// under /tmp would be on a Mesos agent with a private /tmp).
func nodeProject(t *testing.T) string {
	t.Helper()
	npm := nodeTool(t, "npm")
	src := filepath.Join("testdata", "mesos-framework")
	dir, err := os.MkdirTemp("/var/tmp", "strata-interop-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	for _, name := range []string{"package.json", "package-lock.json", "scheduler.js", "executor.js"} {
		b, err := os.ReadFile(filepath.Join(src, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund", "--loglevel=error")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("npm ci: %v\n%s", err, out)
		}
		t.Skipf("npm ci failed (is the npm registry reachable?): %v\n%s", err, out)
	}
	return dir
}

// runNodeScheduler runs scheduler.js for one scenario against master and returns its output.
func runNodeScheduler(t *testing.T, node, dir, master, scenario string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "scheduler.js")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "STRATA_MASTER="+master, "SCENARIO="+scenario, "MF_LOG_DIR="+t.TempDir())
	start := time.Now()
	outb, err := cmd.CombinedOutput()
	out := string(outb)
	if err != nil {
		t.Fatalf("node scheduler.js (SCENARIO=%s): %v after %s\n%s", scenario, err, time.Since(start).Round(time.Millisecond), out)
	}
	t.Logf("node scheduler.js (SCENARIO=%s) passed in %s", scenario, time.Since(start).Round(time.Millisecond))
	return out
}

// sandboxFile reads a file from the sandbox of an executor of framework fwID through the agent's
// /state and /files/download endpoints, as a user of the Mesos UI would.
func sandboxFile(t *testing.T, agent, fwID, executorID, name string) string {
	t.Helper()
	type executor struct {
		ID        string `json:"id"`
		Directory string `json:"directory"`
	}
	type framework struct {
		ID                 string     `json:"id"`
		Executors          []executor `json:"executors"`
		CompletedExecutors []executor `json:"completed_executors"`
	}
	var dir string
	eventually(t, 10*time.Second, "executor "+executorID+" in the agent's /state", func() bool {
		var st struct {
			Frameworks          []framework `json:"frameworks"`
			CompletedFrameworks []framework `json:"completed_frameworks"`
		}
		if json.Unmarshal([]byte(getBody(t, "http://"+agent+"/state")), &st) != nil {
			return false
		}
		for _, f := range append(st.Frameworks, st.CompletedFrameworks...) {
			if f.ID != fwID {
				continue
			}
			for _, e := range append(f.Executors, f.CompletedExecutors...) {
				if e.ID == executorID {
					dir = e.Directory
					return true
				}
			}
		}
		return false
	})
	return getBody(t, "http://"+agent+"/files/download?path="+url.QueryEscape(dir+"/"+name))
}

// completedTaskState returns the state the master's /master/state reports for task id of the torn
// down framework fwID, or "" if the framework is not among the completed ones.
func completedTaskState(t *testing.T, master, fwID, taskID string) string {
	t.Helper()
	type task struct {
		ID    string `json:"id"`
		State string `json:"state"`
	}
	var st struct {
		CompletedFrameworks []struct {
			ID             string `json:"id"`
			Tasks          []task `json:"tasks"`
			CompletedTasks []task `json:"completed_tasks"`
		} `json:"completed_frameworks"`
	}
	if json.Unmarshal([]byte(getBody(t, "http://"+master+"/master/state")), &st) != nil {
		return ""
	}
	for _, f := range st.CompletedFrameworks {
		if f.ID != fwID {
			continue
		}
		for _, tk := range append(f.Tasks, f.CompletedTasks...) {
			if tk.ID == taskID {
				return tk.State
			}
		}
	}
	return ""
}

var (
	reSubscribed = regexp.MustCompile(`(?m)^SUBSCRIBED framework (\S+) stream (\S+)`)
	reFinished   = regexp.MustCompile(`(?m)^STATUS TASK_FINISHED task=(\S+)`)
	reLaunch     = regexp.MustCompile(`(?m)^LAUNCH (\S+) with executor (\S+)`)
)

func submatch(t *testing.T, re *regexp.Regexp, out string) []string {
	t.Helper()
	m := re.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("output lacks a line matching %q:\n%s", re, out)
	}
	return m
}

// TestInteropNodeMesosFramework runs an unmodified third-party Mesos framework library (npm
// mesos-framework) against `strata dev`: a command task through the library's own offer handling,
// then a task run by the library's Executor as a custom executor on the agent's /api/v1/executor.
func TestInteropNodeMesosFramework(t *testing.T) {
	node := nodeTool(t, "node")
	dir := nodeProject(t)
	_, master, agent := startDev(t)

	t.Run("command-task", func(t *testing.T) {
		out := runNodeScheduler(t, node, dir, master, "command")
		for _, want := range []string{
			"STATUS TASK_STARTING", "STATUS TASK_RUNNING", "STATUS TASK_FINISHED",
			`message="Command exited with status 0"`, "ACCEPT answered 202",
			"ACKNOWLEDGE of TASK_FINISHED answered 202", "TEARDOWN answered 202", "RESULT ok",
		} {
			if !strings.Contains(out, want) {
				t.Fatalf("scheduler.js output lacks %q:\n%s", want, out)
			}
		}
		if strings.Contains(out, "LIBRARY ERROR") {
			t.Fatalf("the library reported an error:\n%s", out)
		}
		fwID := submatch(t, reSubscribed, out)[1]
		taskID := submatch(t, reFinished, out)[1]
		// The command executor's id is the task id.
		if got := sandboxFile(t, agent, fwID, taskID, "stdout"); !strings.Contains(got, "interop-ok") {
			t.Fatalf("task stdout = %q, want it to contain interop-ok", got)
		}
		eventually(t, 10*time.Second, "the torn-down framework's task to show TASK_FINISHED in /master/state", func() bool {
			return completedTaskState(t, master, fwID, taskID) == "TASK_FINISHED"
		})
	})

	t.Run("custom-executor", func(t *testing.T) {
		out := runNodeScheduler(t, node, dir, master, "executor")
		for _, want := range []string{
			`STATUS TASK_RUNNING task=`, `message="executor.js runs the command"`,
			`STATUS TASK_FINISHED task=`, `message="executor.js: command printed interop-ok"`,
			"source=SOURCE_EXECUTOR", "ACKNOWLEDGE of TASK_FINISHED answered 202", "RESULT ok",
		} {
			if !strings.Contains(out, want) {
				t.Fatalf("scheduler.js output lacks %q:\n%s", want, out)
			}
		}
		if strings.Contains(out, "LIBRARY ERROR") {
			t.Fatalf("the library reported an error:\n%s", out)
		}
		fwID := submatch(t, reSubscribed, out)[1]
		launch := submatch(t, reLaunch, out)
		taskID, executorID := launch[1], launch[2]
		if got := submatch(t, reFinished, out)[1]; got != taskID {
			t.Fatalf("TASK_FINISHED for %s, launched %s", got, taskID)
		}
		// The executor saw SUBSCRIBED, LAUNCH and the agent's ACKNOWLEDGED of its terminal update.
		// The scheduler may be done before the executor has logged that ACKNOWLEDGED, so wait for it.
		var stdout string
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			stdout = sandboxFile(t, agent, fwID, executorID, "stdout")
			if strings.Contains(stdout, "executor.js: terminal update acknowledged") {
				break
			}
		}
		for _, want := range []string{"executor.js: subscribed to agent", "executor.js: launch " + taskID, "executor.js: terminal update acknowledged"} {
			if !strings.Contains(stdout, want) {
				t.Fatalf("executor.js stdout lacks %q:\n%s", want, stdout)
			}
		}
		if strings.Contains(stdout, "library error") {
			t.Fatalf("the library's Executor reported an error:\n%s", stdout)
		}
		eventually(t, 10*time.Second, "the torn-down framework's task to show TASK_FINISHED in /master/state", func() bool {
			return completedTaskState(t, master, fwID, taskID) == "TASK_FINISHED"
		})
	})
}
