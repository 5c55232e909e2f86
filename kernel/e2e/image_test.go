package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"strata/kernel/containerizer/podman/podmantest"
	"strata/kernel/mesos/mesospb"
	"strata/kernel/scheduler"
)

// missingImage names an image no registry reachable from here has.
const missingImage = "docker.io/library/strata-no-such-image:latest"

// inImage runs a task in a DOCKER container of image.
func inImage(image string) func(*mesospb.TaskInfo) {
	return func(ti *mesospb.TaskInfo) {
		ti.Container = &mesospb.ContainerInfo{
			Type:   mesospb.ContainerInfo_DOCKER.Enum(),
			Docker: &mesospb.ContainerInfo_DockerInfo{Image: proto.String(image)},
		}
	}
}

// bridged puts a task's container on the bridge network, publishing
// containerPort on hostPort (which the task takes as a port resource).
func bridged(hostPort, containerPort uint32) func(*mesospb.TaskInfo) {
	return func(ti *mesospb.TaskInfo) {
		ti.Resources = append(ti.Resources, &mesospb.Resource{Name: proto.String("ports"), Type: mesospb.Value_RANGES.Enum(),
			Ranges: &mesospb.Value_Ranges{Range: []*mesospb.Value_Range{{Begin: proto.Uint64(uint64(hostPort)), End: proto.Uint64(uint64(hostPort))}}}})
		ti.Container.Docker.Network = mesospb.ContainerInfo_DockerInfo_BRIDGE.Enum()
		ti.Container.Docker.PortMappings = []*mesospb.ContainerInfo_DockerInfo_PortMapping{
			{HostPort: proto.Uint32(hostPort), ContainerPort: proto.Uint32(containerPort)}}
	}
}

// awaitStates reads the framework's updates until every task in want has
// reached its state, and returns those updates.
func (f *framework) awaitStates(within time.Duration, want map[string]mesospb.TaskState) map[string]*mesospb.TaskStatus {
	f.t.Helper()
	got := make(map[string]*mesospb.TaskStatus)
	timeout := time.After(within)
	for len(got) < len(want) {
		select {
		case st := <-f.updates:
			id := st.GetTaskId().GetValue()
			f.t.Logf("task %s: %s %s", id, st.GetState(), st.GetMessage())
			if w, ok := want[id]; ok && st.GetState() == w && got[id] == nil {
				got[id] = st
			}
		case <-timeout:
			f.t.Fatalf("tasks did not reach %v within %s (reached: %d)", want, within, len(got))
		}
	}
	return got
}

// freeOfferedPort returns a port of the agent's default range (31000-32000)
// that is free on this host.
func freeOfferedPort(t *testing.T) uint32 {
	t.Helper()
	start := 31000 + os.Getpid()%900
	for p := start; p < start+100; p++ {
		ln, err := net.Listen("tcp", fmt.Sprintf(":%d", p))
		if err == nil {
			ln.Close()
			return uint32(p)
		}
	}
	t.Fatal("no free port in the agent's range")
	return 0
}

// podmanExists reports whether podman has a container of that name.
func podmanExists(t *testing.T, name string) bool {
	t.Helper()
	err := exec.Command("podman", "container", "exists", name).Run()
	if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() == 1 {
		return false
	}
	if err != nil {
		t.Fatalf("podman container exists %s: %v", name, err)
	}
	return true
}

// agentState fetches the agent's /state.
func agentState(t *testing.T, agent string) map[string]any {
	t.Helper()
	var st map[string]any
	if err := json.Unmarshal([]byte(getBody(t, "http://"+agent+"/state")), &st); err != nil {
		t.Fatalf("agent /state: %v", err)
	}
	return st
}

// executorDir finds the sandbox directory of an executor, running or
// completed, in the agent's /state.
func executorDir(t *testing.T, agent, eid string) string {
	t.Helper()
	var find func(v any) string
	find = func(v any) string {
		switch v := v.(type) {
		case map[string]any:
			if v["id"] == eid {
				if d, ok := v["directory"].(string); ok && d != "" {
					return d
				}
			}
			for _, x := range v {
				if d := find(x); d != "" {
					return d
				}
			}
		case []any:
			for _, x := range v {
				if d := find(x); d != "" {
					return d
				}
			}
		}
		return ""
	}
	d := find(agentState(t, agent))
	if d == "" {
		t.Fatalf("agent /state has no executor %s with a directory", eid)
	}
	return d
}

// TestImageTasks runs command tasks in podman containers on `strata dev`: output, exit codes,
// a published port, usage in /monitor/statistics, a graceful kill, an OOM kill and a missing
// image, then stops dev cleanly.
func TestImageTasks(t *testing.T) {
	image := podmantest.BusyboxImage(t)
	dev, master, agent := startDev(t)
	var flags struct {
		Flags map[string]string `json:"flags"`
	}
	if err := json.Unmarshal([]byte(getBody(t, "http://"+agent+"/flags")), &flags); err != nil {
		t.Fatal(err)
	}
	if s := flags.Flags["podman_status"]; !strings.HasPrefix(s, "podman 4.") || !strings.Contains(s, "(runc) at ") {
		t.Fatalf("/flags podman_status = %q", s)
	}
	agentID := registeredID(t, agent)
	t.Cleanup(func() { podmantest.RemoveContainers(t, agentID) })

	fw := startFramework(t, master, false)
	port := freeOfferedPort(t)
	fw.launch("img-echo", `echo hello-from-image; echo to-stderr >&2`, inImage(image))
	fw.launch("img-fail", `exit 3`, inImage(image))
	fw.launch("img-oom", `tail /dev/zero`, inImage(image))
	fw.launch("img-missing", `true`, inImage(missingImage))
	fw.launch("img-linger", `trap "exit 0" TERM; while true; do sleep 0.2; done`, inImage(image))
	fw.launch("img-web", `mkdir -p /tmp/www && echo hello-over-the-bridge > /tmp/www/index.html && httpd -p 8080 -h /tmp/www &&
trap 'echo graceful-stop; exit 0' TERM; while true; do sleep 0.2; done`, inImage(image), bridged(port, 8080),
		func(ti *mesospb.TaskInfo) {
			ti.KillPolicy = &mesospb.KillPolicy{GracePeriod: &mesospb.DurationInfo{Nanoseconds: proto.Int64(int64(10 * time.Second))}}
		})
	got := fw.awaitStates(60*time.Second, map[string]mesospb.TaskState{
		"img-echo":    mesospb.TaskState_TASK_FINISHED,
		"img-fail":    mesospb.TaskState_TASK_FAILED,
		"img-oom":     mesospb.TaskState_TASK_FAILED,
		"img-missing": mesospb.TaskState_TASK_FAILED,
		"img-web":     mesospb.TaskState_TASK_RUNNING,
		"img-linger":  mesospb.TaskState_TASK_RUNNING,
	})

	if out, err := os.ReadFile(filepath.Join(executorDir(t, agent, "img-echo"), "stdout")); err != nil || !strings.Contains(string(out), "hello-from-image\n") {
		t.Errorf("img-echo's sandbox stdout = %q, %v", out, err)
	}
	if out, _ := os.ReadFile(filepath.Join(executorDir(t, agent, "img-echo"), "stderr")); !strings.Contains(string(out), "to-stderr\n") {
		t.Errorf("img-echo's sandbox stderr lacks the container's stderr:\n%s", out)
	}
	if m := got["img-fail"].GetMessage(); m != "Container exited with status 3" {
		t.Errorf("img-fail: %q", m)
	}
	if st := got["img-oom"]; st.GetReason() != mesospb.TaskStatus_REASON_CONTAINER_LIMITATION_MEMORY ||
		!strings.HasPrefix(st.GetMessage(), "Memory limit exceeded") {
		t.Errorf("img-oom: %v %q", st.GetReason(), st.GetMessage())
	}
	if st := got["img-missing"]; st.GetReason() != mesospb.TaskStatus_REASON_CONTAINER_LAUNCH_FAILED ||
		!strings.Contains(st.GetMessage(), missingImage) {
		t.Errorf("img-missing: %v %q", st.GetReason(), st.GetMessage())
	}

	// The bridged web server answers on the host port, and the container's
	// usage is part of the executor's statistics.
	web := got["img-web"]
	if ip := web.GetContainerStatus().GetNetworkInfos()[0].GetIpAddresses()[0].GetIpAddress(); ip == "127.0.0.1" {
		t.Errorf("img-web's container_status IP is the host's: %v", web.GetContainerStatus())
	}
	eventually(t, 10*time.Second, "the published port to serve the container's page", func() bool {
		return getBody(t, fmt.Sprintf("http://127.0.0.1:%d/", port)) == "hello-over-the-bridge\n"
	})
	var stats []struct {
		ExecutorID string `json:"executor_id"`
		Statistics struct {
			Processes uint32  `json:"processes"`
			MemRSS    uint64  `json:"mem_rss_bytes"`
			CPUUser   float64 `json:"cpus_user_time_secs"`
		} `json:"statistics"`
	}
	if err := json.Unmarshal([]byte(getBody(t, "http://"+agent+"/monitor/statistics")), &stats); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, s := range stats {
		if s.ExecutorID == "img-web" {
			found = true
			// The executor is one process; sh, httpd and sleep are the
			// container's.
			if s.Statistics.Processes < 3 || s.Statistics.MemRSS == 0 {
				t.Errorf("img-web statistics %+v lack the container's usage", s.Statistics)
			}
		}
	}
	if !found {
		t.Errorf("/monitor/statistics has no img-web: %+v", stats)
	}

	cid := web.GetContainerStatus().GetContainerId().GetValue()
	if !podmanExists(t, "strata-"+cid) {
		t.Fatalf("no container strata-%s", cid)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := fw.client.Kill(ctx, &mesospb.TaskID{Value: proto.String("img-web")}, fw.agentOf("img-web"), nil); err != nil {
		t.Fatal(err)
	}
	killed := fw.waitState("img-web", mesospb.TaskState_TASK_KILLED, 20*time.Second)
	if killed.GetMessage() != "Container exited with status 0" {
		t.Errorf("img-web killed: %q (the TERM handler should have ended it)", killed.GetMessage())
	}
	eventually(t, 10*time.Second, "the killed task's container to be removed", func() bool { return !podmanExists(t, "strata-"+cid) })
	if out, _ := os.ReadFile(filepath.Join(executorDir(t, agent, "img-web"), "stdout")); !strings.Contains(string(out), "graceful-stop") {
		t.Errorf("img-web's stdout lacks the TERM handler's output:\n%s", out)
	}
	lingering := "strata-" + got["img-linger"].GetContainerStatus().GetContainerId().GetValue()
	if n := strings.TrimSpace(podmanPS(t, agentID)); n != lingering {
		t.Errorf("containers of the agent after the other tasks ended: %q, want only %s", n, lingering)
	}
	// Stopping dev kills the task that still runs: no container is left.
	dev.Signal(t, syscall.SIGTERM)
	if n := strings.TrimSpace(podmanPS(t, agentID)); n != "" {
		t.Errorf("containers left after strata dev stopped: %s", n)
	}
}

// podmanPS lists the names of the containers labelled with the agent id.
func podmanPS(t *testing.T, agentID string) string {
	t.Helper()
	out, err := exec.Command("podman", "ps", "-a", "--format", "{{.Names}}", "--filter", "label=strata.agent="+agentID).Output()
	if err != nil {
		t.Fatalf("podman ps: %v", err)
	}
	return string(out)
}

// TestImageTaskSurvivesAgentRestart kills the agent with SIGKILL while a checkpointing
// framework's image task and custom executor in an image run: the containers keep running, the
// restarted agent (and its new podman service) recovers the task and re-attaches the executor's
// container, removes a leftover container labelled with its id that no checkpoint owns, and both
// tasks can still be killed.
func TestImageTaskSurvivesAgentRestart(t *testing.T) {
	image := podmantest.BusyboxImage(t)
	_, master, agentArgs, agentAddr := startCluster(t)
	agent := start(t, agentArgs...)
	eventually(t, 20*time.Second, "the agent to register", func() bool { return activeAgents(t, master) == 1 })
	agentID := registeredID(t, agentAddr)
	t.Cleanup(func() { podmantest.RemoveContainers(t, agentID) })

	fw := startFramework(t, master, true)
	fw.launch("durable-img", `echo started; while true; do sleep 0.2; done`, inImage(image))
	// And a custom executor in an image: strata executor, which re-subscribes on its own.
	fw.launchGroup(strataExecutorInImage("durable-exec", image, staticStrata(t)),
		groupTask("in-exec", `echo started-in-executor; while true; do sleep 0.2; done`))
	got := fw.awaitStates(30*time.Second, map[string]mesospb.TaskState{
		"durable-img": mesospb.TaskState_TASK_RUNNING, "in-exec": mesospb.TaskState_TASK_RUNNING})
	running := got["durable-img"]
	name := "strata-" + running.GetContainerStatus().GetContainerId().GetValue()
	execName := "strata-" + got["in-exec"].GetContainerStatus().GetContainerId().GetParent().GetValue()

	// A container of this agent that no checkpoint knows, as a crash
	// between creating a container and checkpointing would leave.
	leftover := "strata-leftover-" + agentID
	if out, err := exec.Command("podman", "create", "--name", leftover, "--label", "strata.agent="+agentID,
		"--label", "strata.container=nobodys", image, "true").CombinedOutput(); err != nil {
		t.Fatalf("podman create: %v: %s", err, out)
	}

	agent.Signal(t, syscall.SIGKILL)
	if !podmanExists(t, name) || !podmanExists(t, execName) {
		t.Fatal("a container died with the agent")
	}
	start(t, agentArgs...)
	eventually(t, 30*time.Second, "the agent to re-register", func() bool { return activeAgents(t, master) == 1 })
	eventually(t, 20*time.Second, "the leftover container to be removed", func() bool { return !podmanExists(t, leftover) })
	for _, n := range []string{name, execName} {
		out, err := exec.Command("podman", "inspect", "--format", "{{.State.Running}}", n).Output()
		if err != nil || strings.TrimSpace(string(out)) != "true" {
			t.Fatalf("container %s after the restart: running=%q, %v", n, out, err)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := fw.client.Reconcile(ctx, []scheduler.ReconcileTask{{TaskID: "durable-img"}, {TaskID: "in-exec"}}); err != nil {
		t.Fatal(err)
	}
	fw.awaitStates(20*time.Second, map[string]mesospb.TaskState{
		"durable-img": mesospb.TaskState_TASK_RUNNING, "in-exec": mesospb.TaskState_TASK_RUNNING})
	for _, id := range []string{"durable-img", "in-exec"} {
		if err := fw.client.Kill(ctx, &mesospb.TaskID{Value: proto.String(id)}, fw.agentOf(id),
			&mesospb.KillPolicy{GracePeriod: &mesospb.DurationInfo{Nanoseconds: proto.Int64(int64(time.Second))}}); err != nil {
			t.Fatal(err)
		}
	}
	// The re-attached executor in its image got the kill over its new subscription, and its
	// container's end, seen by the new agent, ends the executor.
	fw.awaitStates(20*time.Second, map[string]mesospb.TaskState{
		"durable-img": mesospb.TaskState_TASK_KILLED, "in-exec": mesospb.TaskState_TASK_KILLED})
	eventually(t, 20*time.Second, "the killed tasks' containers to be removed", func() bool {
		return !podmanExists(t, name) && !podmanExists(t, execName)
	})
	if out, _ := os.ReadFile(filepath.Join(executorDir(t, agentAddr, "durable-img"), "stdout")); !strings.Contains(string(out), "started") {
		t.Errorf("the task's stdout lacks its output:\n%s", out)
	}
	if out, _ := os.ReadFile(filepath.Join(executorDir(t, agentAddr, "durable-exec"), "tasks", "in-exec", "stdout")); !strings.Contains(string(out), "started-in-executor") {
		t.Errorf("the executor's task's stdout lacks its output:\n%s", out)
	}
}

// TestImageTaskPodmanOff: an agent with --podman=off fails at once, saying why, command tasks
// with images, custom executors in images and task groups with a task with an image.
func TestImageTaskPodmanOff(t *testing.T) {
	_, master, agent := startDev(t, "--podman=off")
	if body := getBody(t, "http://"+agent+"/flags"); !strings.Contains(body, `"podman_status":"off (--podman=off)"`) {
		t.Errorf("/flags: %s", body)
	}
	fw := startFramework(t, master, false)
	fw.launch("img-off", "true", inImage(podmantest.Image))
	fw.launch("exec-off", "true", executorInImage("exec-off", podmantest.Image, "true"))
	fw.launchGroup(defaultExecutor("group-off"), groupTask("group-img-off", "true", inImage(podmantest.Image)),
		groupTask("group-proc-off", "true"))
	got := fw.awaitStates(20*time.Second, map[string]mesospb.TaskState{
		"img-off": mesospb.TaskState_TASK_FAILED, "exec-off": mesospb.TaskState_TASK_FAILED,
		"group-img-off": mesospb.TaskState_TASK_FAILED, "group-proc-off": mesospb.TaskState_TASK_FAILED})
	for id, st := range got {
		if st.GetReason() != mesospb.TaskStatus_REASON_CONTAINER_LAUNCH_FAILED ||
			!strings.Contains(st.GetMessage(), "this agent cannot run image containers: podman is turned off on this agent (--podman=off)") ||
			!strings.Contains(st.GetMessage(), podmantest.Image) {
			t.Errorf("TASK_FAILED of %s: %v %q", id, st.GetReason(), st.GetMessage())
		}
	}
}
