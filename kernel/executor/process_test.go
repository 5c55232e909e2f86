package executor

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"strata/kernel/mesos/codec"
	"strata/kernel/mesos/mesospb"
)

// envRunExecutor makes the test binary act as `strata executor`.
const envRunExecutor = "STRATA_TEST_RUN_EXECUTOR"

func TestMain(m *testing.M) {
	if os.Getenv(envRunExecutor) == "1" {
		cfg, err := ConfigFromEnv(os.Environ())
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
		err = Run(ctx, cfg)
		stop()
		if err != nil {
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// executorProcess starts the test binary as an executor process configured
// only by its environment, as the agent starts it, with stdout and stderr
// in sandbox files.
func executorProcess(t *testing.T, a *stubAgent, extraEnv ...string) (*exec.Cmd, string, chan error) {
	t.Helper()
	sandbox := t.TempDir()
	stdout, err := os.Create(filepath.Join(sandbox, "stdout"))
	if err != nil {
		t.Fatal(err)
	}
	defer stdout.Close()
	stderr, err := os.Create(filepath.Join(sandbox, "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	defer stderr.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(),
		envRunExecutor+"=1",
		EnvFrameworkID+"="+testFrameworkID,
		EnvExecutorID+"="+testTaskID,
		EnvDirectory+"="+sandbox,
		EnvSandbox+"="+sandbox,
		EnvAgentEndpoint+"="+a.endpoint(),
		EnvCheckpoint+"=0",
		EnvShutdownGracePeriod+"=5secs",
		EnvAuthenticationToken+"=executor-secret",
		EnvHTTPCommandExecutor+"=1",
	)
	cmd.Env = append(cmd.Env, extraEnv...)
	cmd.Dir = sandbox
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		select {
		case <-done:
		case <-time.After(wait):
			_ = cmd.Process.Kill()
			t.Errorf("executor process still running at the end of the test")
		}
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(sandbox, "stderr"))
			t.Logf("executor stderr:\n%s", b)
		}
	})
	return cmd, sandbox, done
}

func waitProcess(t *testing.T, done chan error) {
	t.Helper()
	select {
	case err := <-done:
		done <- err
		if err != nil {
			t.Fatalf("executor process: %v", err)
		}
	case <-time.After(wait):
		t.Fatalf("executor process did not exit within %v", wait)
	}
}

func TestExecutorProcess(t *testing.T) {
	t.Parallel()
	t.Run("task output goes to the sandbox files", func(t *testing.T) {
		t.Parallel()
		a := newStubAgent(t, codec.Protobuf, commandTask(
			`echo hello-from-task; echo oops-from-task >&2; echo "token=${MESOS_EXECUTOR_AUTHENTICATION_TOKEN-unset}"`))
		cmd, sandbox, done := executorProcess(t, a)
		sts := a.expect(wait, mesospb.TaskState_TASK_STARTING, mesospb.TaskState_TASK_RUNNING, mesospb.TaskState_TASK_FINISHED)
		waitProcess(t, done)
		if pid := sts[1].GetContainerStatus().GetExecutorPid(); int(pid) != cmd.Process.Pid {
			t.Errorf("executor_pid = %d, want %d", pid, cmd.Process.Pid)
		}
		out, _ := os.ReadFile(filepath.Join(sandbox, "stdout"))
		errOut, _ := os.ReadFile(filepath.Join(sandbox, "stderr"))
		if !strings.Contains(string(out), "hello-from-task") || !strings.Contains(string(errOut), "oops-from-task") {
			t.Errorf("task output missing: stdout %q, stderr %q", out, errOut)
		}
		if !strings.Contains(string(out), "token=unset") {
			t.Errorf("the task saw the executor's authentication token: %q", out)
		}
		for _, line := range []string{"Starting task task-1", "Forked command at", "Command exited with status 0"} {
			if !strings.Contains(string(errOut), line) {
				t.Errorf("executor log lacks %q", line)
			}
		}
	})
	t.Run("SIGTERM kills the task", func(t *testing.T) {
		t.Parallel()
		a := newStubAgent(t, codec.JSON, commandTask("sleep 100"))
		cmd, _, done := executorProcess(t, a, EnvCodec+"=json")
		a.expect(wait, mesospb.TaskState_TASK_STARTING, mesospb.TaskState_TASK_RUNNING)
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		a.expect(wait, mesospb.TaskState_TASK_KILLED)
		waitProcess(t, done)
	})
	t.Run("missing environment", func(t *testing.T) {
		t.Parallel()
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = []string{envRunExecutor + "=1", "PATH=" + os.Getenv("PATH")}
		out, err := cmd.CombinedOutput()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 || !strings.Contains(string(out), "MESOS_FRAMEWORK_ID") {
			t.Errorf("exit %v, output %q", err, out)
		}
	})
}
