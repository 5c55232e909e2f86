package e2e

import (
	"context"
	"debug/elf"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"strata/kernel/containerizer/podman/podmantest"
	"strata/kernel/mesos/mesospb"
)

var (
	staticOnce sync.Once
	staticBin  string
	staticErr  error
	// staticDir holds the static binary the tests built, removed by TestMain.
	staticDir string
)

// staticStrata returns a statically linked strata binary, which runs in the busybox test image
// (it has no C library): strataBin if it is one, else one built once with CGO_ENABLED=0 and the
// Makefile's tags.
func staticStrata(t *testing.T) string {
	t.Helper()
	staticOnce.Do(func() {
		f, err := elf.Open(strataBin)
		if err != nil {
			staticErr = fmt.Errorf("read %s: %w", strataBin, err)
			return
		}
		dynamic := false
		for _, p := range f.Progs {
			dynamic = dynamic || p.Type == elf.PT_INTERP
		}
		f.Close()
		if !dynamic {
			staticBin = strataBin
			return
		}
		if staticDir, err = os.MkdirTemp("", "strata-e2e-static"); err != nil {
			staticErr = err
			return
		}
		tags, err := exec.Command("make", "-s", "-C", "../..", "print-tags").Output()
		if err != nil {
			staticErr = fmt.Errorf("make print-tags: %w", err)
			return
		}
		bin := filepath.Join(staticDir, "strata")
		build := exec.Command("go", "build", "-tags", strings.TrimSpace(string(tags)), "-o", bin, "strata")
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := build.CombinedOutput(); err != nil {
			staticErr = fmt.Errorf("build a static strata: %w\n%s", err, out)
			return
		}
		staticBin = bin
	})
	if staticErr != nil {
		t.Fatal(staticErr)
	}
	return staticBin
}

// registeredID waits for the agent to know its id, and returns it.
func registeredID(t *testing.T, agent string) string {
	t.Helper()
	var id string
	eventually(t, 10*time.Second, "the agent to know its id", func() bool {
		id, _ = agentState(t, agent)["id"].(string)
		return id != ""
	})
	return id
}

// strataExecutorInImage is a CUSTOM executor that runs `strata executor` (the default executor,
// which runs task groups) in a container of image, the binary bind-mounted read-only at /strata.
func strataExecutorInImage(eid, image, bin string) *mesospb.ExecutorInfo {
	return &mesospb.ExecutorInfo{
		Type:       mesospb.ExecutorInfo_CUSTOM.Enum(),
		ExecutorId: &mesospb.ExecutorID{Value: proto.String(eid)},
		Name:       proto.String("strata executor in " + image),
		Resources:  smallResources(),
		Command:    &mesospb.CommandInfo{Value: proto.String("/strata executor")},
		Container: &mesospb.ContainerInfo{
			Type:   mesospb.ContainerInfo_DOCKER.Enum(),
			Docker: &mesospb.ContainerInfo_DockerInfo{Image: proto.String(image)},
			Volumes: []*mesospb.Volume{{HostPath: proto.String(bin), ContainerPath: proto.String("/strata"),
				Mode: mesospb.Volume_RO.Enum()}},
		},
	}
}

// executorInImage makes a task run under a CUSTOM executor whose command is the shell command
// cmd in a container of image (an executor that never subscribes).
func executorInImage(eid, image, cmd string) func(*mesospb.TaskInfo) {
	return func(ti *mesospb.TaskInfo) {
		ti.Command = nil
		ti.Executor = &mesospb.ExecutorInfo{
			ExecutorId: &mesospb.ExecutorID{Value: proto.String(eid)},
			Resources:  smallResources(),
			Command:    &mesospb.CommandInfo{Value: proto.String(cmd)},
			Container: &mesospb.ContainerInfo{Type: mesospb.ContainerInfo_DOCKER.Enum(),
				Docker: &mesospb.ContainerInfo_DockerInfo{Image: proto.String(image)}},
		}
	}
}

// defaultExecutor is the built-in default executor of a task group.
func defaultExecutor(eid string) *mesospb.ExecutorInfo {
	return &mesospb.ExecutorInfo{
		Type:       mesospb.ExecutorInfo_DEFAULT.Enum(),
		ExecutorId: &mesospb.ExecutorID{Value: proto.String(eid)},
		Resources:  smallResources(),
	}
}

func smallResources() []*mesospb.Resource {
	return []*mesospb.Resource{
		{Name: proto.String("cpus"), Type: mesospb.Value_SCALAR.Enum(), Scalar: &mesospb.Value_Scalar{Value: proto.Float64(0.1)}},
		{Name: proto.String("mem"), Type: mesospb.Value_SCALAR.Enum(), Scalar: &mesospb.Value_Scalar{Value: proto.Float64(32)}},
	}
}

// groupTask is a task of a task group running a shell command.
func groupTask(id, cmd string, mutate ...func(*mesospb.TaskInfo)) *mesospb.TaskInfo {
	t := &mesospb.TaskInfo{
		Name:      proto.String(id),
		TaskId:    &mesospb.TaskID{Value: proto.String(id)},
		Resources: smallResources(),
		Command:   &mesospb.CommandInfo{Value: proto.String(cmd)},
	}
	for _, m := range mutate {
		m(t)
	}
	return t
}

// TestImageExecutors runs executors and task group tasks in podman containers on `strata dev`:
// `strata executor` as a CUSTOM executor in the busybox image (its tasks run inside, it reaches
// the agent on the host network, the agent copies its output, limits it, waits for it and removes
// its container), executors in images that are OOM-killed or exit, a bridged executor the agent
// cannot be reached from, and task groups of the default executor mixing tasks with images and
// processes.
func TestImageExecutors(t *testing.T) {
	image := podmantest.BusyboxImage(t)
	bin := staticStrata(t)
	dev, master, agent := startDev(t)
	agentID := registeredID(t, agent)
	t.Cleanup(func() { podmantest.RemoveContainers(t, agentID) })

	fw := startFramework(t, master, false)
	fw.launchGroup(strataExecutorInImage("in-image", image, bin),
		groupTask("ce-hello", `echo "sandbox=$MESOS_SANDBOX directory=$MESOS_DIRECTORY"; test -x /strata && test ! -e /usr`),
		groupTask("ce-long", `trap "exit 0" TERM; while true; do sleep 0.2; done`))
	fw.launch("oom-task", "true", executorInImage("oom-exec", image, "tail /dev/zero"))
	fw.launch("exit-task", "true", executorInImage("exit-exec", image, "echo bye; exit 3"))
	fw.launch("bridge-task", "true", executorInImage("bridge-exec", image, "true"), func(ti *mesospb.TaskInfo) {
		ti.Executor.Container.Docker.Network = mesospb.ContainerInfo_DockerInfo_BRIDGE.Enum()
	})
	fw.launchGroup(defaultExecutor("mixed"),
		groupTask("g-img", `echo "image task in $MESOS_SANDBOX"`, inImage(image)),
		groupTask("g-proc", `echo "process task in $MESOS_SANDBOX"`))
	fw.launchGroup(defaultExecutor("failing"),
		groupTask("f-img", `sleep 0.5; exit 2`, inImage(image)),
		groupTask("f-proc", `exec sleep 300.5151`))
	got := fw.awaitStates(90*time.Second, map[string]mesospb.TaskState{
		"ce-hello":    mesospb.TaskState_TASK_FINISHED,
		"ce-long":     mesospb.TaskState_TASK_RUNNING,
		"oom-task":    mesospb.TaskState_TASK_FAILED,
		"exit-task":   mesospb.TaskState_TASK_FAILED,
		"bridge-task": mesospb.TaskState_TASK_FAILED,
		"g-img":       mesospb.TaskState_TASK_FINISHED,
		"g-proc":      mesospb.TaskState_TASK_FINISHED,
		"f-img":       mesospb.TaskState_TASK_FAILED,
		"f-proc":      mesospb.TaskState_TASK_KILLED,
	})

	// strata executor ran in the image, with the sandbox mounted at /mnt/mesos/sandbox.
	dir := executorDir(t, agent, "in-image")
	if out, err := os.ReadFile(filepath.Join(dir, "tasks", "ce-hello", "stdout")); err != nil ||
		string(out) != "sandbox=/mnt/mesos/sandbox/tasks/ce-hello directory="+dir+"\n" {
		t.Errorf("ce-hello's stdout = %q, %v", out, err)
	}
	cid := got["ce-long"].GetContainerStatus().GetContainerId().GetParent().GetValue()
	name := "strata-" + cid
	var inspect []struct {
		Config struct {
			Labels map[string]string `json:"Labels"`
			Env    []string          `json:"Env"`
		} `json:"Config"`
		HostConfig struct {
			Memory int64 `json:"Memory"`
		} `json:"HostConfig"`
		Mounts []struct {
			Source      string `json:"Source"`
			Destination string `json:"Destination"`
			RW          bool   `json:"RW"`
		} `json:"Mounts"`
	}
	out, err := exec.Command("podman", "inspect", name).Output()
	if err != nil || json.Unmarshal(out, &inspect) != nil || len(inspect) != 1 {
		t.Fatalf("podman inspect %s: %v\n%s", name, err, out)
	}
	ins := inspect[0]
	if ins.Config.Labels["strata.agent"] != agentID || ins.Config.Labels["strata.container"] != cid {
		t.Errorf("labels %v, want agent %s container %s", ins.Config.Labels, agentID, cid)
	}
	// The executor's 32 MB and its two tasks' 32 MB each.
	if ins.HostConfig.Memory != 96<<20 {
		t.Errorf("memory limit %d, want 96 MB", ins.HostConfig.Memory)
	}
	env := strings.Join(ins.Config.Env, "\n")
	for _, want := range []string{"MESOS_SANDBOX=/mnt/mesos/sandbox", "MESOS_DIRECTORY=" + dir, "MESOS_EXECUTOR_ID=in-image",
		"MESOS_AGENT_ENDPOINT=" + agent, "MESOS_CONTAINER_NAME=" + name} {
		if !strings.Contains(env, want+"\n") && !strings.HasSuffix(env, want) {
			t.Errorf("the container's environment lacks %s:\n%s", want, env)
		}
	}
	mounts := map[string]string{}
	for _, m := range ins.Mounts {
		mounts[m.Destination] = fmt.Sprintf("%s rw=%v", m.Source, m.RW)
	}
	if mounts["/mnt/mesos/sandbox"] != dir+" rw=true" || mounts["/strata"] != bin+" rw=false" {
		t.Errorf("mounts %v", mounts)
	}

	// The executor's own output (its log) is in the sandbox, copied from the container.
	if b, _ := os.ReadFile(filepath.Join(dir, "stderr")); !strings.Contains(string(b), "Subscribed executor") {
		t.Errorf("the executor's stderr lacks its log:\n%s", b)
	}
	// An executor in an image that the kernel OOM-kills fails its tasks with a memory limitation;
	// one that exits fails them with its exit status; one the agent cannot be reached from does
	// not start.
	if st := got["oom-task"]; st.GetReason() != mesospb.TaskStatus_REASON_CONTAINER_LIMITATION_MEMORY ||
		!strings.HasPrefix(st.GetMessage(), "Memory limit exceeded: Requested: 64MB") {
		t.Errorf("oom-task: %v %q", st.GetReason(), st.GetMessage())
	}
	if st := got["exit-task"]; st.GetReason() != mesospb.TaskStatus_REASON_EXECUTOR_TERMINATED ||
		st.GetMessage() != "Executor's container exited with status 3" {
		t.Errorf("exit-task: %v %q", st.GetReason(), st.GetMessage())
	}
	if b, _ := os.ReadFile(filepath.Join(executorDir(t, agent, "exit-exec"), "stdout")); string(b) != "bye\n" {
		t.Errorf("exit-exec's stdout = %q", b)
	}
	if st := got["bridge-task"]; st.GetReason() != mesospb.TaskStatus_REASON_CONTAINER_LAUNCH_FAILED ||
		!strings.Contains(st.GetMessage(), "BRIDGE network") || !strings.Contains(st.GetMessage(), "--ip") {
		t.Errorf("bridge-task: %v %q", st.GetReason(), st.GetMessage())
	}

	// Task groups: each task with an image in a container of its own, beside process tasks.
	mixed := executorDir(t, agent, "mixed")
	for id, want := range map[string]string{"g-img": "image task in /mnt/mesos/sandbox\n",
		"g-proc": "process task in " + filepath.Join(mixed, "tasks", "g-proc") + "\n"} {
		if b, err := os.ReadFile(filepath.Join(mixed, "tasks", id, "stdout")); err != nil || string(b) != want {
			t.Errorf("%s's stdout = %q, %v; want %q", id, b, err, want)
		}
	}
	if m := got["f-img"].GetMessage(); m != "Container exited with status 2" {
		t.Errorf("f-img: %q", m)
	}
	eventually(t, 10*time.Second, "the killed sibling's process to be gone", func() bool { return len(processesWith("300.5151")) == 0 })

	// Killing the last task of the executor in the image ends it: its container exits and goes.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := fw.client.Kill(ctx, &mesospb.TaskID{Value: proto.String("ce-long")}, fw.agentOf("ce-long"), nil); err != nil {
		t.Fatal(err)
	}
	fw.waitState("ce-long", mesospb.TaskState_TASK_KILLED, 20*time.Second)
	eventually(t, 20*time.Second, "the ended executors' containers to be removed", func() bool {
		return strings.TrimSpace(podmanPS(t, agentID)) == ""
	})
	dev.Signal(t, syscall.SIGTERM)
}
