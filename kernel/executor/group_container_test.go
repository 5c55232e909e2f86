package executor

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"strata/kernel/containerizer/podman"
	"strata/kernel/mesos/mesospb"
)

// The default executor's tasks with an image, each in its own podman
// container, beside tasks that are processes.

// newGroupCtrEnv is a podman service and a stub agent that sends one
// LAUNCH_GROUP of tasks.
func newGroupCtrEnv(t *testing.T, tasks ...*mesospb.TaskInfo) *ctrEnv {
	t.Helper()
	e := newCtrEnv(t, nil)
	e.agent.mu.Lock()
	e.agent.group = &mesospb.TaskGroupInfo{Tasks: tasks}
	e.agent.mu.Unlock()
	return e
}

// startGroup runs a default executor with the service's socket.
func (e *ctrEnv) startGroup() *execRun {
	e.t.Helper()
	return startDefault(e.t, e.agent, func(c *Config) {
		c.PodmanSocket = e.svc.Socket()
		c.RecoveryTimeout = 30 * time.Second
	})
}

// groupImageTask is a task of a group running a shell command in the test
// image.
func groupImageTask(id, cmd string) *mesospb.TaskInfo {
	t := groupTask(id, cmd)
	t.Resources = []*mesospb.Resource{scalar("cpus", 0.1), scalar("mem", 32)}
	t.Container = imageTask(cmd).Container
	return t
}

// nestedName is the podman name of a group task's container.
func (e *ctrEnv) nestedName(st *mesospb.TaskStatus) string {
	return "strata-" + e.cid + "." + st.GetContainerStatus().GetContainerId().GetValue()
}

func (e *ctrEnv) gone(name string) bool {
	_, err := e.client.Inspect(context.Background(), name)
	return errors.Is(err, podman.ErrNotFound)
}

// A group of a task with an image and a process task: the image task runs
// in its own container with its sandbox (tasks/<id>) at /mnt/mesos/sandbox,
// its COMMAND health check runs inside the container, both FINISH, and the
// container is removed after the terminal update.
func TestGroupImageAndProcessTasks(t *testing.T) {
	img := groupImageTask("img", `cd "$MESOS_SANDBOX" && echo "$MESOS_SANDBOX" > where && touch ready && while [ ! -e go ]; do sleep 0.05; done; echo out-img`)
	img.HealthCheck = quickCheck(`test -e "$MESOS_SANDBOX/ready" && echo "$MESOS_SANDBOX" > "$MESOS_SANDBOX/checked"`, 3)
	img.HealthCheck.GracePeriodSeconds = proto.Float64(10) // failures before the task is ready do not count
	e := newGroupCtrEnv(t, img, groupTask("proc", `echo out-proc`))
	r := e.startGroup()
	got := e.agent.expectTasks(30*time.Second, map[string]states{"img": {starting, running, running}, "proc": {starting, running, finished}})
	run, health := got["img"][1], got["img"][2]
	cs := run.GetContainerStatus()
	if cs.GetContainerId().GetParent().GetValue() != e.cid || cs.GetContainerId().GetValue() == "" {
		t.Errorf("RUNNING container_status %v: want a container nested in %s", cs, e.cid)
	}
	if !health.GetHealthy() || health.GetReason() != mesospb.TaskStatus_REASON_TASK_HEALTH_CHECK_STATUS_UPDATED {
		t.Fatalf("health update healthy=%v reason=%v", health.GetHealthy(), health.GetReason())
	}
	name := e.nestedName(run)
	info, err := e.client.Inspect(context.Background(), name)
	if err != nil || info.Labels[podman.LabelContainer] != e.cid || info.Labels[podman.LabelAgent] != e.agentID || info.MemoryLimit != 32<<20 {
		t.Fatalf("the image task's container %s: %+v, %v", name, info, err)
	}
	r.release(t, "img")
	fin := e.agent.next(30 * time.Second)
	for fin.GetState() == running { // later health results
		fin = e.agent.next(30 * time.Second)
	}
	if fin.GetState() != finished || fin.GetTaskId().GetValue() != "img" {
		t.Fatalf("update %v of %s, want TASK_FINISHED of img", fin.GetState(), fin.GetTaskId().GetValue())
	}
	if fin.GetMessage() != "Container exited with status 0" {
		t.Errorf("FINISHED message %q", fin.GetMessage())
	}
	if err := r.wait(t, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	for file, want := range map[string]string{"where": podman.SandboxPath, "checked": podman.SandboxPath, "stdout": "out-img"} {
		if b, err := os.ReadFile(r.taskFile("img", file)); err != nil || !strings.Contains(string(b), want) {
			t.Errorf("tasks/img/%s = %q, %v; want %q", file, b, err, want)
		}
	}
	if b, _ := os.ReadFile(r.taskFile("proc", "stdout")); !strings.Contains(string(b), "out-proc") {
		t.Errorf("tasks/proc/stdout = %q", b)
	}
	if !e.gone(name) {
		t.Errorf("container %s is left after the task ended", name)
	}
}

// A task with an image that fails kills its group: the process sibling is
// killed, the image sibling's container stopped.
func TestGroupImageTaskFailureKillsSiblings(t *testing.T) {
	e := newGroupCtrEnv(t,
		groupImageTask("bad", `sleep 0.3; exit 2`),
		groupImageTask("ctr", `trap "exit 0" TERM; while true; do sleep 0.1; done`),
		groupTask("proc", `exec sleep 100`))
	r := e.startGroup()
	got := e.agent.expectTasks(30*time.Second, map[string]states{
		"bad": {starting, running, failed}, "ctr": {starting, running, killed}, "proc": {starting, running, killed}})
	if m := got["bad"][2].GetMessage(); m != "Container exited with status 2" {
		t.Errorf("FAILED message %q", m)
	}
	if err := r.wait(t, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"bad", "ctr"} {
		if name := e.nestedName(got[id][1]); !e.gone(name) {
			t.Errorf("container %s of task %s is left", name, id)
		}
	}
	if proto.Equal(got["bad"][1].GetContainerStatus().GetContainerId(), got["ctr"][1].GetContainerStatus().GetContainerId()) {
		t.Error("two tasks share a container")
	}
}
