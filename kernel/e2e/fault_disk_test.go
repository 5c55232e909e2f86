package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"strata/kernel/e2e/procs"
	"strata/kernel/mesos/mesospb"
	"strata/kernel/mesos/taskstate"
)

// faultTmpfs mounts a tmpfs of size (e.g. "8m") on a new directory and unmounts it at the end
// of the test (after the processes the test starts later are stopped).
func faultTmpfs(t *testing.T, size string) string {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		procs.Missing(t, "cannot mount a tmpfs (needs root): "+strings.TrimSpace(string(out)))
	}
	t.Cleanup(func() {
		for i := 0; ; i++ {
			out, err := exec.Command("umount", dir).CombinedOutput()
			if err == nil {
				return
			}
			if i == 50 {
				t.Errorf("umount %s: %v: %s; detaching it", dir, err, out)
				_ = exec.Command("umount", "-l", dir).Run()
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	return dir
}

// TestFaultAgentDiskFull runs an agent whose work dir (sandboxes, checkpoints, container state)
// is a tmpfs of 8 MiB, and a task that writes into its sandbox until the disk is full
// (dd if=/dev/zero of=big bs=1M).
//
// Outcome: the filling task fails: TASK_FAILED "Command exited with status 1" (dd got ENOSPC),
// or, when even that update could not be checkpointed, TASK_FAILED REASON_EXECUTOR_TERMINATED
// "Executor exited with status 0; the agent could not checkpoint its status updates: ... no
// space left on device" (the agent refuses updates it cannot make durable; the executor gives up
// and exits, and the agent's own update about it goes out even though it cannot be
// checkpointed either), or, rarely, REASON_CONTAINER_LAUNCH_FAILED "Failed to launch the
// container: posix: write state of ...: no space left on device" when dd filled the disk before
// the agent wrote the state of the task's container (a standby executor is handed its launch
// before that write; the launch then fails rather than start a second executor).
// Tasks launched while the disk is full (echo hello) all reach a terminal state: they may still
// run (TASK_FINISHED, when the few KiB freed by failed writes suffice), fail on their own
// ("Command exited with status 1": echo could not write to the sandbox), or fail with
// REASON_CONTAINER_LAUNCH_FAILED ("... no space left on device": the container's state could
// not be written) or with REASON_EXECUTOR_TERMINATED ("...; the agent could not checkpoint its
// status updates: ... no space left on device": the agent refused the executor's updates it
// could not make durable). The agent logs each failed checkpoint, never crashes, keeps
// answering /health and /state, and restarts (SIGKILL, then started again while the disk is
// still full) and re-registers. The agent does not garbage-collect sandboxes: once the big file
// is removed, new tasks run to TASK_FINISHED again.
func TestFaultAgentDiskFull(t *testing.T) {
	work := faultTmpfs(t, "8m")
	_, master, _, _ := startCluster(t)
	args, agentAddr := agentArgsFor(t, master, work, "--podman", "off", "--cgroups-root", faultCgroupsRoot(t, 0))
	agent := start(t, args...)
	eventually(t, 20*time.Second, "the agent to register", func() bool { return activeAgents(t, master) == 1 })
	fw := startFramework(t, master, true)
	defer faultTeardown(t, []*framework{fw}, agentAddr)
	tr := faultTrack(t, fw)

	fw.launch("fill", "dd if=/dev/zero of=big bs=1M")
	st := tr.awaitState("fill", mesospb.TaskState_TASK_FAILED, 0, 60*time.Second)
	if st.GetMessage() != "Command exited with status 1" && !strings.Contains(st.GetMessage(), "no space left on device") {
		t.Errorf("fill: %s %q, want \"Command exited with status 1\" or a failure naming ENOSPC", st.GetState(), st.GetMessage())
	}
	t.Logf("fill: %s %s %q", st.GetState(), faultReason(st), st.GetMessage())
	// Full, but for the odd page a failed write (of the agent or the executor) gave back.
	if free := faultFreeKiB(t, work); free > 64 {
		t.Fatalf("%d KiB still free after dd", free)
	}

	// Tasks launched while the disk is full end, one way or another.
	full := []string{"while-full-1", "while-full-2", "while-full-3"}
	mark := tr.mark()
	for _, id := range full {
		fw.launch(id, "echo hello")
	}
	outcomes := map[string]*mesospb.TaskStatus{}
	tr.await(60*time.Second, "the tasks launched while the disk is full to end", func() bool {
		for _, st := range tr.all[mark:] {
			if taskstate.IsTerminal(st.GetState()) {
				outcomes[st.GetTaskId().GetValue()] = st
			}
		}
		return len(outcomes) == len(full)
	})
	for _, id := range full {
		st := outcomes[id]
		t.Logf("%s: %s %s %q", id, st.GetState(), faultReason(st), st.GetMessage())
		switch {
		case st.GetState() == mesospb.TaskState_TASK_FINISHED:
		case st.GetState() == mesospb.TaskState_TASK_FAILED && st.GetSource() == mesospb.TaskStatus_SOURCE_EXECUTOR &&
			st.GetMessage() == "Command exited with status 1":
			// echo could not write its output: the command's own ENOSPC.
		case st.GetState() == mesospb.TaskState_TASK_FAILED && strings.Contains(st.GetMessage(), "no space left on device") &&
			(st.GetReason() == mesospb.TaskStatus_REASON_CONTAINER_LAUNCH_FAILED || st.GetReason() == mesospb.TaskStatus_REASON_EXECUTOR_TERMINATED):
		default:
			t.Errorf("%s launched while the disk is full: %s %s %q", id, st.GetState(), faultReason(st), st.GetMessage())
		}
	}
	if code, _ := procs.Request("GET", "http://"+agentAddr+"/health", ""); code != 200 {
		t.Fatalf("agent /health: %d", code)
	}
	if n := faultAgentExecutors(t, agentAddr); n < 0 {
		t.Fatal("agent /state does not answer")
	}

	// A restart while the disk is still full.
	agent.Signal(t, syscall.SIGKILL)
	agent = start(t, args...)
	eventually(t, 30*time.Second, "the agent to re-register with a full disk", func() bool { return activeAgents(t, master) == 1 })

	// Free the disk: sandboxes are not garbage-collected, the operator removes the file.
	matches, _ := filepath.Glob(filepath.Join(work, "slaves", "*", "frameworks", "*", "executors", "fill", "runs", "*", "big"))
	for _, m := range matches {
		if err := os.Remove(m); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
	if free := faultFreeKiB(t, work); free < 4096 {
		t.Fatalf("only %d KiB free after removing the big file", free)
	}
	mark = tr.mark()
	fw.launch("after", "echo hello")
	tr.awaitState("after", mesospb.TaskState_TASK_FINISHED, mark, 30*time.Second)
	select {
	case <-agent.Done():
		t.Fatalf("the agent exited:\n%s", agent.Output())
	default:
	}
}

// faultFreeKiB is the free space of the file system of dir.
func faultFreeKiB(t *testing.T, dir string) uint64 {
	t.Helper()
	var fs syscall.Statfs_t
	if err := syscall.Statfs(dir, &fs); err != nil {
		t.Fatal(err)
	}
	return fs.Bavail * uint64(fs.Bsize) / 1024
}

// faultReason is a status's reason, "-" when it has none.
func faultReason(st *mesospb.TaskStatus) string {
	if st.Reason == nil {
		return "-"
	}
	return st.GetReason().String()
}
