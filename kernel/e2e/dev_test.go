package e2e

import (
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"strata/kernel/mesos/mesospb"
)

// TestDevExecuteAndCleanShutdown runs `strata dev` as a user would, runs tasks with
// `strata execute`, and checks that SIGTERM leaves no task process behind.
func TestDevExecuteAndCleanShutdown(t *testing.T) {
	dev, master, _ := startDev(t)
	if out := dev.Output(); !strings.Contains(out, "Try it:") || !strings.Contains(out, master) {
		t.Fatalf("dev banner missing the URLs or the first command:\n%s", out)
	}

	out, err := exec.Command(strataBin, "execute", "--master", master, "--name", "hello", "--command", "echo hello-e2e").CombinedOutput()
	if err != nil {
		t.Fatalf("strata execute hello: %v\n%s", err, out)
	}
	for _, want := range []string{"TASK_STARTING", "TASK_RUNNING", "TASK_FINISHED", "Command exited with status 0"} {
		if !strings.Contains(string(out), want) {
			t.Fatalf("execute output lacks %q:\n%s", want, out)
		}
	}
	cmd := exec.Command(strataBin, "execute", "--master", master, "--name", "fails", "--command", "exit 3", "--codec", "json")
	out, err = cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("strata execute of a failing command: err %v, want exit status 1\n%s", err, out)
	}
	if !strings.Contains(string(out), "TASK_FAILED") || !strings.Contains(string(out), "Command exited with status 3") {
		t.Fatalf("execute output of a failing command:\n%s", out)
	}

	// A long task with a child, then SIGTERM to dev: nothing may survive.
	fw := startFramework(t, master, false)
	fw.launch("sleeper", "sleep 300.4242 & sleep 300.4242; wait")
	fw.waitState("sleeper", mesospb.TaskState_TASK_RUNNING, 20*time.Second)
	eventually(t, 10*time.Second, "both sleeps to start", func() bool { return len(processesWith("300.4242")) >= 3 })
	dev.Signal(t, syscall.SIGTERM)
	eventually(t, 5*time.Second, "every task process to be gone", func() bool { return len(processesWith("300.4242")) == 0 })
	if !strings.Contains(dev.Output(), "strata dev stopped") {
		t.Fatalf("dev did not report a clean stop:\n%s", dev.Output())
	}
}
