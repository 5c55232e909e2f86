package podmancz

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"strata/kernel/containerizer"
	"strata/kernel/containerizer/podman"
	"strata/kernel/containerizer/podman/podmantest"
	"strata/kernel/mesos/mesospb"
)

// executorConfig is an "executor" running the shell command cmd in the test
// image, with 32 MB of memory and the agent at endpoint.
func executorConfig(t *testing.T, cid, cmd, endpoint string) containerizer.ContainerConfig {
	return containerizer.ContainerConfig{
		ID:        cid,
		Directory: t.TempDir(),
		Command: containerizer.Command{Env: []string{
			"MESOS_AGENT_ENDPOINT=" + endpoint, "MESOS_SANDBOX=" + podman.SandboxPath, "LIBPROCESS_IP=10.1.2.3", "GREETING=hi"}},
		CommandInfo: &mesospb.CommandInfo{Value: proto.String(cmd)},
		Container: &mesospb.ContainerInfo{Type: mesospb.ContainerInfo_DOCKER.Enum(),
			Docker: &mesospb.ContainerInfo_DockerInfo{Image: proto.String(podmantest.Image)}},
		Resources: []*mesospb.Resource{{Name: proto.String("mem"), Type: mesospb.Value_SCALAR.Enum(),
			Scalar: &mesospb.Value_Scalar{Value: proto.Float64(32)}}},
	}
}

func sandboxFile(t *testing.T, cfg containerizer.ContainerConfig, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(cfg.Directory, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Custom executors in containers of their images: how they end (exit
// status, OOM kill, destroy with a grace period), their output, and their
// re-attachment by a containerizer of a restarted agent.
func TestExecutorContainers(t *testing.T) {
	podmantest.BusyboxImage(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	svc, err := podman.Start(ctx, podman.Options{WorkDir: podmantest.WorkDir(t), Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	newContainers := func() *Containers {
		c, err := New(Config{Socket: svc.Socket(), Logger: testLogger(t)})
		if err != nil {
			t.Fatal(err)
		}
		c.Start(ctx)
		if why := c.Unavailable(); why != "" {
			t.Fatal(why)
		}
		return c
	}
	agentID := podmantest.AgentID(t)
	t.Cleanup(func() { podmantest.RemoveContainers(t, agentID) })
	c := newContainers()
	defer c.Close()

	exit := executorConfig(t, "exit-"+agentID, `echo "$GREETING in $MESOS_SANDBOX"; echo oops >&2; exit 3`, "127.0.0.1:5051")
	oom := executorConfig(t, "oom-"+agentID, `tail /dev/zero`, "127.0.0.1:5051")
	stay := executorConfig(t, "stay-"+agentID, `trap "echo stopping; exit 0" TERM; echo up; while true; do sleep 0.1; done`, "127.0.0.1:5051")
	for _, cfg := range []containerizer.ContainerConfig{exit, oom, stay} {
		launched, err := c.Launch(ctx, agentID, cfg)
		if err != nil || launched.Pid <= 0 {
			t.Fatalf("Launch %s: %v, %v", cfg.ID, launched, err)
		}
	}
	if _, err := c.Launch(ctx, agentID, stay); !errors.Is(err, containerizer.ErrExists) {
		t.Errorf("a second Launch of %s: %v", stay.ID, err)
	}

	term, err := c.Wait(ctx, exit.ID)
	if err != nil || !term.HasStatus || term.WaitStatus.ExitStatus() != 3 || term.State != nil ||
		term.Message != "Executor's container exited with status 3" {
		t.Errorf("Wait %s: %+v, %v", exit.ID, term, err)
	}
	if out, errOut := sandboxFile(t, exit, "stdout"), sandboxFile(t, exit, "stderr"); out != "hi in /mnt/mesos/sandbox\n" || errOut != "oops\n" {
		t.Errorf("sandbox stdout %q stderr %q", out, errOut)
	}
	term, err = c.Wait(ctx, oom.ID)
	if err != nil || term.Reason == nil || *term.Reason != mesospb.TaskStatus_REASON_CONTAINER_LIMITATION_MEMORY ||
		term.State == nil || *term.State != mesospb.TaskState_TASK_FAILED || term.Limitation == nil ||
		!strings.HasPrefix(term.Message, "Memory limit exceeded: Requested: 32MB") {
		t.Errorf("Wait %s: %+v, %v", oom.ID, term, err)
	}

	// The agent stops (its containerizer closes); the container lives on,
	// and the containerizer of the next agent re-attaches it and destroys
	// it: SIGTERM, which it handles.
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	next := newContainers()
	defer next.Close()
	found, err := next.Recover(ctx, agentID, map[string]string{stay.ID: stay.Directory, "gone-" + agentID: t.TempDir()})
	if err != nil || len(found) != 1 || found[0] != stay.ID {
		t.Fatalf("Recover = %v, %v; want [%s]", found, err, stay.ID)
	}
	usage, err := next.Usage(ctx, agentID)
	if err != nil || usage[stay.ID].GetMemLimitBytes() != 32<<20 || usage[stay.ID].GetProcesses() < 2 {
		t.Errorf("Usage: %v, %v; want the executor's 32 MB", usage, err)
	}
	term, err = next.Destroy(ctx, stay.ID, 5*time.Second)
	if err != nil || !term.Destroyed || term.WaitStatus.ExitStatus() != 0 {
		t.Errorf("Destroy: %+v, %v", term, err)
	}
	if out := sandboxFile(t, stay, "stdout"); out != "up\nstopping\n" {
		t.Errorf("stdout across the restart = %q", out)
	}
	next.Forget(stay.ID)
	if _, err := next.Wait(ctx, stay.ID); !errors.Is(err, containerizer.ErrUnknownContainer) {
		t.Errorf("Wait after Forget: %v", err)
	}
}

// An executor must reach the agent from its container's network.
func TestExecutorNetworkReachesAgent(t *testing.T) {
	bridge := func(endpoint string) podman.Spec {
		return podman.Spec{Network: podman.NetworkBridge, Env: map[string]string{"MESOS_AGENT_ENDPOINT": endpoint, "LIBPROCESS_IP": "10.0.0.5"}}
	}
	tests := []struct {
		name string
		spec podman.Spec
		err  string
	}{
		{"host network", podman.Spec{Network: podman.NetworkHost, Env: map[string]string{"MESOS_AGENT_ENDPOINT": "127.0.0.1:5051"}}, ""},
		{"bridge to a host address", bridge("10.0.0.5:5051"), ""},
		{"bridge to loopback", bridge("127.0.0.1:5051"), "--ip"},
		{"bridge to a host name", bridge("localhost:5051"), "out of reach"},
		{"no network", podman.Spec{Network: podman.NetworkNone, Env: map[string]string{"MESOS_AGENT_ENDPOINT": "10.0.0.5:5051"}}, "NONE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := reachesAgent(&tt.spec)
			if tt.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				if _, ok := tt.spec.Env["LIBPROCESS_IP"]; ok && tt.spec.Network != podman.NetworkHost {
					t.Error("LIBPROCESS_IP is kept for a bridged executor")
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("err = %v, want %q", err, tt.err)
			}
		})
	}
}
