package executor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"strata/kernel/containerizer/podman"
	"strata/kernel/containerizer/podman/podmantest"
	"strata/kernel/mesos/codec"
	"strata/kernel/mesos/mesospb"
)

// ctrEnv is one test's podman service and stub agent, for image tasks run by
// the executor in-process.
type ctrEnv struct {
	t       *testing.T
	workDir string
	svc     *podman.Service
	client  *podman.Client
	agent   *stubAgent
	agentID string
	cid     string
}

// newCtrEnv starts a podman service of the test's own and a stub agent that
// launches task, naming a fresh agent id and container id in SUBSCRIBED.
// The test's containers are removed and the service stopped at the end.
func newCtrEnv(t *testing.T, task *mesospb.TaskInfo, caps ...mesospb.FrameworkInfo_Capability_Type) *ctrEnv {
	t.Helper()
	podmantest.BusyboxImage(t)
	e := &ctrEnv{t: t, workDir: podmantest.WorkDir(t), agentID: podmantest.AgentID(t)}
	e.cid = "c-" + e.agentID
	e.startService()
	t.Cleanup(func() {
		podmantest.RemoveContainers(t, e.agentID)
		e.client.Close()
		e.svc.Close()
	})
	e.agent = newStubAgent(t, codec.Protobuf, task, caps...)
	e.agent.agentID, e.agent.containerID = e.agentID, e.cid
	return e
}

func (e *ctrEnv) startService() {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	log := slog.New(slog.NewTextHandler(&testLog{t: e.t}, nil))
	svc, err := podman.Start(ctx, podman.Options{WorkDir: e.workDir, Logger: log})
	if err != nil {
		e.t.Fatal(err)
	}
	client, err := svc.Connect(ctx, log)
	if err != nil {
		svc.Close()
		e.t.Fatal(err)
	}
	e.svc, e.client = svc, client
}

// start runs the executor in command mode with the service's socket.
func (e *ctrEnv) start(mod func(*Config)) *execRun {
	e.t.Helper()
	return startExecutor(e.t, e.agent, func(c *Config) {
		c.Mode = CommandMode
		c.PodmanSocket = e.svc.Socket()
		c.RecoveryTimeout = 30 * time.Second
		if mod != nil {
			mod(c)
		}
	})
}

// containerGone reports whether the task's container no longer exists.
func (e *ctrEnv) containerGone() bool {
	_, err := e.client.Inspect(context.Background(), "strata-"+e.cid)
	return errors.Is(err, podman.ErrNotFound)
}

func scalar(name string, v float64) *mesospb.Resource {
	return &mesospb.Resource{Name: proto.String(name), Type: mesospb.Value_SCALAR.Enum(), Scalar: &mesospb.Value_Scalar{Value: proto.Float64(v)}}
}

func portsResource(begin, end uint64) *mesospb.Resource {
	return &mesospb.Resource{Name: proto.String("ports"), Type: mesospb.Value_RANGES.Enum(),
		Ranges: &mesospb.Value_Ranges{Range: []*mesospb.Value_Range{{Begin: proto.Uint64(begin), End: proto.Uint64(end)}}}}
}

// imageTask is a task running a shell command in the test image.
func imageTask(cmd string, mods ...func(*mesospb.TaskInfo)) *mesospb.TaskInfo {
	t := commandTask(cmd)
	t.Resources = []*mesospb.Resource{scalar("cpus", 0.1), scalar("mem", 32)}
	t.Container = &mesospb.ContainerInfo{
		Type:   mesospb.ContainerInfo_DOCKER.Enum(),
		Docker: &mesospb.ContainerInfo_DockerInfo{Image: proto.String(podmantest.Image)},
	}
	for _, m := range mods {
		m(t)
	}
	return t
}

func TestContainerTaskEnds(t *testing.T) {
	tests := []struct {
		name       string
		cmd        string
		state      mesospb.TaskState
		message    string
		wantStdout string
		wantStderr string
	}{
		{"finished", `echo "$MESOS_SANDBOX $MESOS_TASK_ID $GREETING $PORT0 $(id -u)"; echo to-stderr >&2; echo file > $MESOS_SANDBOX/out.txt`,
			mesospb.TaskState_TASK_FINISHED, "Container exited with status 0", "/mnt/mesos/sandbox task-1 hello 31001 0\n", "to-stderr\n"},
		{"failed", `echo bye; exit 3`, mesospb.TaskState_TASK_FAILED, "Container exited with status 3", "bye\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			task := imageTask(tt.cmd, func(ti *mesospb.TaskInfo) {
				ti.Command.Environment = &mesospb.Environment{Variables: []*mesospb.Environment_Variable{
					{Name: proto.String("GREETING"), Value: proto.String("hello")}}}
			})
			e := newCtrEnv(t, task)
			r := e.start(func(c *Config) { c.Env = append(c.Env, "PORT0=31001") })
			sts := e.agent.expect(30*time.Second, mesospb.TaskState_TASK_STARTING, mesospb.TaskState_TASK_RUNNING, tt.state)
			cs := sts[1].GetContainerStatus()
			if cs.GetExecutorPid() != uint32(os.Getpid()) || cs.GetContainerId().GetValue() != e.cid || len(cs.GetNetworkInfos()) != 1 {
				t.Errorf("RUNNING container_status = %v", cs)
			}
			if got := sts[2].GetMessage(); got != tt.message {
				t.Errorf("message %q, want %q", got, tt.message)
			}
			if err := r.wait(t, 20*time.Second); err != nil {
				t.Fatal(err)
			}
			stdout := readSandbox(t, r, "stdout")
			stderr := readSandbox(t, r, "stderr")
			if !strings.Contains(stdout, tt.wantStdout) || !strings.Contains(stderr, tt.wantStderr) {
				t.Errorf("stdout %q stderr %q, want them to contain %q and %q", stdout, stderr, tt.wantStdout, tt.wantStderr)
			}
			if !e.containerGone() {
				t.Error("the container is still there after the executor exited")
			}
		})
	}
}

func readSandbox(t *testing.T, r *execRun, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(r.sandbox, name))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	return string(b)
}

func TestContainerKillWithGrace(t *testing.T) {
	task := imageTask(`trap 'echo stopping gracefully; exit 0' TERM; echo ready; while true; do sleep 0.1; done`)
	e := newCtrEnv(t, task, mesospb.FrameworkInfo_Capability_TASK_KILLING_STATE)
	r := e.start(nil)
	e.agent.expect(30*time.Second, mesospb.TaskState_TASK_STARTING, mesospb.TaskState_TASK_RUNNING)
	if out := r.readFile(t, "stdout", 10*time.Second); !strings.Contains(out, "ready") {
		t.Fatalf("stdout %q", out)
	}
	e.agent.kill(killPolicy(5 * time.Second))
	sts := e.agent.expect(15*time.Second, mesospb.TaskState_TASK_KILLING, mesospb.TaskState_TASK_KILLED)
	if err := r.wait(t, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	// The TERM handler ran: the container stopped on the signal, well
	// within the grace period.
	if out := readSandbox(t, r, "stdout"); !strings.Contains(out, "stopping gracefully") {
		t.Errorf("stdout %q lacks the TERM handler's output", out)
	}
	if got := sts[1].GetMessage(); got != "Container exited with status 0" {
		t.Errorf("TASK_KILLED message %q", got)
	}
	if !e.containerGone() {
		t.Error("the killed task's container is still there")
	}
}

func TestContainerOOM(t *testing.T) {
	e := newCtrEnv(t, imageTask(`echo start; tail /dev/zero`))
	r := e.start(nil)
	sts := e.agent.expect(30*time.Second, mesospb.TaskState_TASK_STARTING, mesospb.TaskState_TASK_RUNNING, mesospb.TaskState_TASK_FAILED)
	st := sts[2]
	if st.GetReason() != mesospb.TaskStatus_REASON_CONTAINER_LIMITATION_MEMORY ||
		!strings.HasPrefix(st.GetMessage(), "Memory limit exceeded: Requested: 32MB") ||
		st.GetLimitation().GetResources()[0].GetName() != "mem" {
		t.Errorf("TASK_FAILED = %v", st)
	}
	if err := r.wait(t, 20*time.Second); err != nil {
		t.Fatal(err)
	}
}

func TestContainerLaunchFailures(t *testing.T) {
	tests := []struct {
		name   string
		task   *mesospb.TaskInfo
		socket bool
		want   []string
	}{
		{"missing image", imageTask("true", func(ti *mesospb.TaskInfo) {
			ti.Container.Docker.Image = proto.String("docker.io/library/strata-no-such-image:latest")
		}), true, []string{"Failed to launch container", "docker.io/library/strata-no-such-image:latest", "could not be pulled"}},
		{"no podman service", imageTask("true"), false, []string{"STRATA_PODMAN_SOCKET", "cannot run image containers"}},
		{"invalid container", imageTask("true", func(ti *mesospb.TaskInfo) { ti.Container.Docker.Privileged = proto.Bool(true) }),
			true, []string{"privileged containers are not supported"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newCtrEnv(t, tt.task)
			r := e.start(func(c *Config) {
				if !tt.socket {
					c.PodmanSocket = ""
				}
			})
			st := e.agent.expect(60*time.Second, mesospb.TaskState_TASK_STARTING, mesospb.TaskState_TASK_FAILED)[1]
			if st.GetReason() != mesospb.TaskStatus_REASON_CONTAINER_LAUNCH_FAILED {
				t.Errorf("reason %v", st.GetReason())
			}
			for _, w := range tt.want {
				if !strings.Contains(st.GetMessage(), w) {
					t.Errorf("message %q lacks %q", st.GetMessage(), w)
				}
			}
			if err := r.wait(t, 20*time.Second); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// freeTCPPort returns a TCP port that is free on the host right now.
func freeTCPPort(t *testing.T) uint32 {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return uint32(l.Addr().(*net.TCPAddr).Port)
}

// A bridged container: its port mapping publishes busybox httpd on the host,
// container_status has the container's own IP, and an HTTP health check
// reaches the container port on that IP.
func TestContainerBridgeHealthCheck(t *testing.T) {
	port := freeTCPPort(t)
	task := imageTask(`mkdir -p /tmp/www && echo hello-from-httpd > /tmp/www/index.html && exec httpd -f -p 8080 -h /tmp/www`,
		func(ti *mesospb.TaskInfo) {
			ti.Resources = append(ti.Resources, portsResource(uint64(port), uint64(port)))
			ti.Container.Docker.Network = mesospb.ContainerInfo_DockerInfo_BRIDGE.Enum()
			ti.Container.Docker.PortMappings = []*mesospb.ContainerInfo_DockerInfo_PortMapping{
				{HostPort: proto.Uint32(port), ContainerPort: proto.Uint32(8080)}}
			ti.HealthCheck = &mesospb.HealthCheck{
				Type: mesospb.HealthCheck_HTTP.Enum(), Http: &mesospb.HealthCheck_HTTPCheckInfo{Port: proto.Uint32(8080)},
				DelaySeconds: proto.Float64(0), IntervalSeconds: proto.Float64(0.3), GracePeriodSeconds: proto.Float64(10),
			}
		})
	e := newCtrEnv(t, task)
	r := e.start(nil)
	sts := e.agent.expect(30*time.Second, mesospb.TaskState_TASK_STARTING, mesospb.TaskState_TASK_RUNNING)
	ip := sts[1].GetContainerStatus().GetNetworkInfos()[0].GetIpAddresses()[0].GetIpAddress()
	if ip == "" || ip == r.cfg.HostIP || strings.HasPrefix(ip, "127.") {
		t.Errorf("container_status IP %q is not the container's own", ip)
	}
	health := e.agent.next(15 * time.Second)
	if health.GetState() != mesospb.TaskState_TASK_RUNNING || !health.GetHealthy() {
		t.Fatalf("health update %v healthy=%v (%s)", health.GetState(), health.GetHealthy(), health.GetMessage())
	}
	body := httpBody(t, fmt.Sprintf("http://127.0.0.1:%d/", port))
	if body != "hello-from-httpd\n" {
		t.Errorf("GET on the host port: %q", body)
	}
	e.agent.kill(killPolicy(0))
	e.agent.expect(15*time.Second, mesospb.TaskState_TASK_KILLED)
	if err := r.wait(t, 20*time.Second); err != nil {
		t.Fatal(err)
	}
}

func httpBody(t *testing.T, url string) string {
	t.Helper()
	client := &http.Client{Timeout: 2 * time.Second}
	var last error
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		resp, err := client.Get(url)
		if err != nil {
			last = err
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return string(b)
	}
	t.Fatalf("GET %s: %v", url, last)
	return ""
}

// A COMMAND health check runs inside the container: the file it tests
// exists only there.
func TestContainerCommandHealthCheck(t *testing.T) {
	task := imageTask(`touch /tmp/ready-inside; sleep 30`, func(ti *mesospb.TaskInfo) {
		ti.HealthCheck = &mesospb.HealthCheck{
			Type:         mesospb.HealthCheck_COMMAND.Enum(),
			Command:      &mesospb.CommandInfo{Value: proto.String("test -f /tmp/ready-inside && test \"$CHECK\" = yes")},
			DelaySeconds: proto.Float64(0), IntervalSeconds: proto.Float64(0.3), GracePeriodSeconds: proto.Float64(10),
		}
		ti.HealthCheck.Command.Environment = &mesospb.Environment{Variables: []*mesospb.Environment_Variable{
			{Name: proto.String("CHECK"), Value: proto.String("yes")}}}
	})
	e := newCtrEnv(t, task)
	r := e.start(nil)
	e.agent.expect(30*time.Second, mesospb.TaskState_TASK_STARTING, mesospb.TaskState_TASK_RUNNING)
	health := e.agent.next(15 * time.Second)
	if !health.GetHealthy() || health.GetReason() != mesospb.TaskStatus_REASON_TASK_HEALTH_CHECK_STATUS_UPDATED {
		t.Fatalf("health update %v healthy=%v (%s)", health.GetState(), health.GetHealthy(), health.GetMessage())
	}
	e.agent.kill(killPolicy(0))
	e.agent.expect(15*time.Second, mesospb.TaskState_TASK_KILLED)
	if err := r.wait(t, 20*time.Second); err != nil {
		t.Fatal(err)
	}
}

// The podman service goes away while the task runs (as when the agent
// restarts) and the container exits meanwhile: the executor waits for the
// service to come back and reports the exit, with all the output.
func TestContainerSurvivesServiceRestart(t *testing.T) {
	e := newCtrEnv(t, imageTask(`echo before; sleep 1.5; echo after; exit 4`))
	r := e.start(nil)
	e.agent.expect(30*time.Second, mesospb.TaskState_TASK_STARTING, mesospb.TaskState_TASK_RUNNING)
	e.client.Close()
	e.svc.Close()
	time.Sleep(2500 * time.Millisecond) // the container exits while no service runs
	e.startService()
	st := e.agent.expect(30*time.Second, mesospb.TaskState_TASK_FAILED)[0]
	if st.GetMessage() != "Container exited with status 4" {
		t.Errorf("message %q", st.GetMessage())
	}
	if err := r.wait(t, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	if out := readSandbox(t, r, "stdout"); out != "before\nafter\n" {
		t.Errorf("stdout %q", out)
	}
	if !e.containerGone() {
		t.Error("the container is still there")
	}
}
