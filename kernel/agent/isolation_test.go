package agent

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"strata/kernel/containerizer/cgroups"
	"strata/kernel/mesos/internalpb"
	"strata/kernel/mesos/mesospb"
)

func TestParseIsolation(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
		err  bool
	}{
		{"", []string{IsolationCgroups, IsolationNamespaces}, false},
		{"cgroups", []string{IsolationCgroups}, false},
		{"pid-namespace", []string{IsolationNamespaces, IsolationPIDNamespace}, false},
		{"none", []string{IsolationNone}, false},
		{"none,cgroups", nil, true},
		{"selinux", nil, true},
	} {
		got, err := parseIsolation(tc.in)
		if (err != nil) != tc.err {
			t.Fatalf("%q: err = %v", tc.in, err)
		}
		if err != nil {
			continue
		}
		if len(got) != len(tc.want) {
			t.Fatalf("%q: got %v, want %v", tc.in, got, tc.want)
		}
		for _, w := range tc.want {
			if !got[w] {
				t.Fatalf("%q: got %v, want %v", tc.in, got, tc.want)
			}
		}
	}
}

// requireIsolation skips (fails under CI) unless the agent can isolate.
func requireIsolation(t *testing.T) {
	t.Helper()
	info, err := cgroups.Detect()
	if os.Geteuid() == 0 && err == nil && info.Usable("memory") {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("isolation needs root and the memory cgroup controller (%v, %s)", err, info)
	}
	t.Skip("isolation needs root and the memory cgroup controller")
}

// startIsolatedAgent starts an agent that isolates (the test binary is its
// executable, with standbys standby executors) and waits for it to register.
func startIsolatedAgent(t *testing.T, standbys int) (*testMaster, Config, *runningAgent) {
	t.Helper()
	requireIsolation(t)
	m := newTestMaster(t)
	cfg := testConfig(t, m)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cfg.Executable, cfg.StandbyExecutors = exe, standbys
	a := startAgent(t, cfg)
	m.waitCall("REGISTER", 10*time.Second, isType(internalpb.AgentCall_REGISTER))
	return m, cfg, a
}

// TestCommandTaskOOMIsAMemoryLimitation runs a command task that outgrows
// its memory: the kernel OOM-kills it in its cgroup, and the update says so
// with Mesos' reason and message.
func TestCommandTaskOOMIsAMemoryLimitation(t *testing.T) {
	m, _, a := startIsolatedAgent(t, 0)
	var sd stateDoc
	getJSON(t, a.url("/state"), &sd)
	if iso := sd.Flags["isolation"]; !strings.HasPrefix(iso, "process (cgroups") {
		t.Fatalf("/state flags isolation = %q", iso)
	}
	ti := &mesospb.TaskInfo{
		Name:      proto.String("hog"),
		TaskId:    &mesospb.TaskID{Value: proto.String("hog")},
		AgentId:   &mesospb.AgentID{Value: proto.String(m.agentID)},
		Resources: []*mesospb.Resource{scalar("cpus", 0.1), scalar("mem", 32)},
		Command:   &mesospb.CommandInfo{Value: proto.String("tail /dev/zero")},
	}
	m.send(runTask(frameworkInfo(t, "fw-oom", false), ti))
	m.ack(m.waitUpdate("hog", mesospb.TaskState_TASK_STARTING))
	m.ack(m.waitUpdate("hog", mesospb.TaskState_TASK_RUNNING))
	u := m.waitUpdate("hog", mesospb.TaskState_TASK_FAILED)
	st := u.GetStatus()
	if st.GetReason() != mesospb.TaskStatus_REASON_CONTAINER_LIMITATION_MEMORY ||
		!strings.HasPrefix(st.GetMessage(), "Memory limit exceeded: Requested: ") {
		t.Fatalf("TASK_FAILED status = %v", st)
	}
	m.ack(u)
}

// TestKilledTaskLeavesNoProcess kills a command task whose daemon left both
// its process group and its session: by the time TASK_KILLED reaches the
// master, the daemon is gone too.
func TestKilledTaskLeavesNoProcess(t *testing.T) {
	m, cfg, _ := startIsolatedAgent(t, 0)
	ti := &mesospb.TaskInfo{
		Name:      proto.String("daemonizer"),
		TaskId:    &mesospb.TaskID{Value: proto.String("daemonizer")},
		AgentId:   &mesospb.AgentID{Value: proto.String(m.agentID)},
		Resources: []*mesospb.Resource{scalar("cpus", 0.1), scalar("mem", 32)},
		// The pid file goes to the sandbox (the host's /tmp is private).
		Command: &mesospb.CommandInfo{Value: proto.String(
			`(setsid sh -c 'sleep 600 & echo $! > "$MESOS_SANDBOX/daemon.pid"' &); sleep 600`)},
	}
	m.send(runTask(frameworkInfo(t, "fw-daemon", false), ti))
	m.ack(m.waitUpdate("daemonizer", mesospb.TaskState_TASK_STARTING))
	running := m.waitUpdate("daemonizer", mesospb.TaskState_TASK_RUNNING)
	m.ack(running)
	var daemon int
	for deadline := time.Now().Add(10 * time.Second); daemon == 0 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		matches, _ := filepath.Glob(filepath.Join(cfg.WorkDir, "slaves", "*", "frameworks", "fw-daemon", "executors", "daemonizer", "runs", "*", "daemon.pid"))
		if len(matches) > 0 {
			b, _ := os.ReadFile(matches[0])
			fmt.Sscan(string(b), &daemon)
		}
	}
	if daemon == 0 {
		var files []string
		filepath.Walk(cfg.WorkDir, func(p string, _ os.FileInfo, _ error) error { files = append(files, p); return nil })
		t.Fatalf("the daemon did not start; work dir: %v", files)
	}
	m.send(killTask("fw-daemon", "daemonizer"))
	killed := m.waitUpdate("daemonizer", mesospb.TaskState_TASK_KILLED)
	if err := syscall.Kill(daemon, 0); err == nil {
		if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", daemon)); err == nil && !strings.Contains(string(b), ") Z ") {
			t.Fatalf("daemon %d still runs when TASK_KILLED arrives", daemon)
		}
	}
	m.ack(killed)
}

// TestStoppedAgentLeavesNoCgroups stops an agent that ran a task and kept a
// standby: its cgroup root is gone from every hierarchy.
func TestStoppedAgentLeavesNoCgroups(t *testing.T) {
	m, _, a := startIsolatedAgent(t, 1)
	ti := &mesospb.TaskInfo{
		Name:      proto.String("short"),
		TaskId:    &mesospb.TaskID{Value: proto.String("short")},
		AgentId:   &mesospb.AgentID{Value: proto.String(m.agentID)},
		Resources: []*mesospb.Resource{scalar("cpus", 0.1), scalar("mem", 32)},
		Command:   &mesospb.CommandInfo{Value: proto.String("true")},
	}
	m.send(runTask(frameworkInfo(t, "fw-short", false), ti))
	m.ack(m.waitUpdate("short", mesospb.TaskState_TASK_STARTING))
	m.ack(m.waitUpdate("short", mesospb.TaskState_TASK_RUNNING))
	m.ack(m.waitUpdate("short", mesospb.TaskState_TASK_FINISHED))
	root := a.cgroups.Root()
	info, err := cgroups.Detect()
	if err != nil {
		t.Fatal(err)
	}
	mem := filepath.Join(info.V1["memory"], root)
	if info.V1["memory"] == "" {
		mem = filepath.Join(info.Unified, root)
	}
	if _, err := os.Stat(mem); err != nil {
		t.Fatalf("the agent's cgroup root %s is missing while it runs: %v", mem, err)
	}
	a.stop()
	if _, err := os.Stat(mem); !os.IsNotExist(err) {
		entries, _ := os.ReadDir(mem)
		t.Fatalf("the stopped agent left %s behind (%d entries): %v", mem, len(entries), err)
	}
}
