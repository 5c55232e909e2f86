package posix

import (
	"context"
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

	"strata/kernel/containerizer"
	"strata/kernel/containerizer/cgroups"
	"strata/kernel/mesos/mesospb"
)

var (
	initOnce sync.Once
	initBin  string
	initErr  error
)

// testInit builds testdata/init, the stand-in for the strata executable.
func testInit(t *testing.T) string {
	t.Helper()
	initOnce.Do(func() {
		dir, err := os.MkdirTemp("", "posix-init-")
		if err != nil {
			initErr = err
			return
		}
		initBin = filepath.Join(dir, "init")
		out, err := exec.Command("go", "build", "-o", initBin, "./testdata/init").CombinedOutput()
		if err != nil {
			initErr = fmt.Errorf("build testdata/init: %v: %s", err, out)
		}
	})
	if initErr != nil {
		t.Fatal(initErr)
	}
	return initBin
}

func skipOrFail(t *testing.T, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf(format, args...)
	}
	t.Skipf(format, args...)
}

// newIsolated returns a containerizer with cgroups and namespaces under a
// root of its own, removed at the end.
func newIsolated(t *testing.T, tune func(*Config)) (*Containerizer, string) {
	t.Helper()
	if os.Geteuid() != 0 {
		skipOrFail(t, "isolation needs root")
	}
	info, err := cgroups.Detect()
	if err != nil || !info.Usable("memory") || !info.Usable("cpu") || !info.Usable("pids") {
		skipOrFail(t, "isolation needs the cpu, memory and pids cgroup controllers: %v (%s)", err, info)
	}
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	root, _ := cgroups.RootFor(dir)
	m, err := cgroups.New(cgroups.Config{Root: root, Info: &info, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if ids, err := m.List(); err == nil {
			for _, id := range ids {
				_ = m.Destroy(id)
			}
		}
		_ = m.RemoveRoot()
	})
	cfg := Config{StateDir: filepath.Join(dir, "state"), Logger: quiet, Init: testInit(t), Namespaces: true, Cgroups: m}
	if tune != nil {
		tune(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c, dir
}

func sandbox(t *testing.T, dir, id string) string {
	t.Helper()
	d := filepath.Join(dir, "sandboxes", id)
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
	os.Chmod(filepath.Join(dir, "sandboxes"), 0o755)
	return d
}

func scalar(name string, v float64) *mesospb.Resource {
	return &mesospb.Resource{Name: proto.String(name), Type: mesospb.Value_SCALAR.Enum(), Scalar: &mesospb.Value_Scalar{Value: proto.Float64(v)}}
}

func TestIsolatedLaunchUserCgroupAndPrivateTmp(t *testing.T) {
	c, dir := newIsolated(t, nil)
	ctx := ctxT(t)
	sb := sandbox(t, dir, "c1")
	os.Chown(sb, 65534, 65534)
	cfg := shell("c1", sb, `id -u; cat /proc/self/cgroup; echo private > /tmp/marker; ls /tmp`)
	cfg.User = "nobody"
	cfg.Resources = []*mesospb.Resource{scalar("cpus", 0.5), scalar("mem", 64)}
	if !strings.HasPrefix(c.Isolation(), "process (cgroups") {
		t.Fatalf("Isolation() = %q", c.Isolation())
	}
	if _, err := c.Launch(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	term, err := c.Wait(ctx, "c1")
	if err != nil {
		t.Fatal(err)
	}
	out, _ := os.ReadFile(filepath.Join(sb, "stdout"))
	errOut, _ := os.ReadFile(filepath.Join(sb, "stderr"))
	if !term.HasStatus || term.WaitStatus.ExitStatus() != 0 {
		t.Fatalf("termination %+v; stdout %q stderr %q", term, out, errOut)
	}
	root := c.cfg.Cgroups.Root()
	if !strings.HasPrefix(string(out), "65534\n") || !strings.Contains(string(out), ":memory:/"+root+"/c1\n") ||
		!strings.Contains(string(out), "\nmarker\n") {
		t.Fatalf("stdout = %q", out)
	}
	if b, err := os.ReadFile(filepath.Join(sb, "tmp", "marker")); err != nil || string(b) != "private\n" {
		t.Fatalf("the task's /tmp is not the sandbox's tmp: %q %v", b, err)
	}
	if c.cfg.Cgroups.Exists("c1") {
		t.Fatal("the cgroup outlived the container")
	}
}

func TestIsolatedInitCommandRunsDirectly(t *testing.T) {
	c, dir := newIsolated(t, nil)
	ctx := ctxT(t)
	sb := sandbox(t, dir, "c2")
	cfg := containerizer.ContainerConfig{ID: "c2", Directory: sb,
		Command: containerizer.Command{Path: c.cfg.Init, Args: []string{c.cfg.Init, "report"}, Env: []string{}}}
	if _, err := c.Launch(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	if term, err := c.Wait(ctx, "c2"); err != nil || term.WaitStatus.ExitStatus() != 0 {
		t.Fatalf("wait: %+v %v", term, err)
	}
	out, _ := os.ReadFile(filepath.Join(sb, "stdout"))
	if !strings.Contains(string(out), "uid=0\n") || !strings.Contains(string(out), "/c2\n") {
		t.Fatalf("stdout = %q", out)
	}
}

func TestIsolatedOOMIsALimitation(t *testing.T) {
	c, dir := newIsolated(t, nil)
	ctx := ctxT(t)
	sb := sandbox(t, dir, "oom")
	// tail keeps the whole "line" of an endless stream without newlines in
	// memory.
	cfg := shell("oom", sb, `tail /dev/zero`)
	cfg.Resources = []*mesospb.Resource{scalar("cpus", 0.5), scalar("mem", 32)}
	if _, err := c.Launch(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	term, err := c.Wait(ctx, "oom")
	if err != nil {
		t.Fatal(err)
	}
	if reasonOf(term) != mesospb.TaskStatus_REASON_CONTAINER_LIMITATION_MEMORY || term.State.Enum().String() != "TASK_FAILED" ||
		!strings.HasPrefix(term.Message, "Memory limit exceeded: Requested: 32MB") {
		t.Fatalf("termination = %+v", term)
	}
}

func TestIsolatedDestroyKillsEscapedDaemons(t *testing.T) {
	c, dir := newIsolated(t, nil)
	ctx := ctxT(t)
	sb := sandbox(t, dir, "tree")
	pidFile := filepath.Join(sb, "daemon.pid")
	// A grandchild that starts a session of its own and double-forks: it
	// is neither in the executor's session nor its descendant.
	cfg := shell("tree", sb, fmt.Sprintf(`setsid sh -c 'sleep 1000 & echo $! > %s' & sleep 1000`, pidFile))
	cfg.Resources = []*mesospb.Resource{scalar("cpus", 0.1), scalar("mem", 64)}
	if _, err := c.Launch(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	var daemon int
	for deadline := time.Now().Add(5 * time.Second); daemon == 0 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		b, _ := os.ReadFile(pidFile)
		fmt.Sscan(string(b), &daemon)
	}
	if daemon == 0 {
		t.Fatal("the daemon did not start")
	}
	if _, err := c.Destroy(ctx, "tree"); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(daemon, 0); err == nil {
		if st, _ := readStat(daemon); st.alive() {
			t.Fatalf("daemon %d survived the destroy", daemon)
		}
	}
}

func TestIsolatedUsageFromCgroup(t *testing.T) {
	c, dir := newIsolated(t, func(cfg *Config) { cfg.CFSQuota = true })
	ctx := ctxT(t)
	sb := sandbox(t, dir, "busy")
	cfg := shell("busy", sb, `while :; do :; done`)
	cfg.Resources = []*mesospb.Resource{scalar("cpus", 0.2), scalar("mem", 64)}
	if _, err := c.Launch(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	defer c.Destroy(context.Background(), "busy")
	time.Sleep(700 * time.Millisecond)
	st, err := c.Usage(ctx, "busy")
	if err != nil {
		t.Fatal(err)
	}
	if st.GetProcesses() < 1 || st.GetThreads() < 1 || st.GetCpusUserTimeSecs()+st.GetCpusSystemTimeSecs() <= 0 ||
		st.GetMemLimitBytes() != 64<<20 || st.GetCpusNrPeriods() == 0 || st.GetCpusNrThrottled() == 0 {
		t.Fatalf("statistics = %v", st)
	}
	// The quota holds the busy loop to about 0.2 cpu.
	if used := st.GetCpusUserTimeSecs() + st.GetCpusSystemTimeSecs(); used > 0.5 {
		t.Fatalf("a busy loop under a 0.2 cpu quota used %.2fs of CPU in 0.7s", used)
	}
}

func TestIsolatedPidsBoundForkBomb(t *testing.T) {
	c, dir := newIsolated(t, func(cfg *Config) { cfg.PidsMax = 32 })
	ctx := ctxT(t)
	sb := sandbox(t, dir, "bomb")
	cfg := shell("bomb", sb, `i=0; while [ $i -lt 200 ]; do sleep 30 & i=$((i+1)); done; wait`)
	cfg.Resources = []*mesospb.Resource{scalar("cpus", 0.1), scalar("mem", 64)}
	if _, err := c.Launch(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	defer c.Destroy(context.Background(), "bomb")
	var peak uint32
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		st, err := c.Usage(ctx, "bomb")
		if err != nil {
			break
		}
		peak = max(peak, st.GetThreads())
	}
	if peak == 0 || peak > 32 {
		t.Fatalf("peak threads = %d, want 1..32", peak)
	}
	errOut, _ := os.ReadFile(filepath.Join(sb, "stderr"))
	if !strings.Contains(string(errOut), "fork") {
		t.Fatalf("no fork failure in stderr: %q", errOut)
	}
}

func TestIsolatedDiskQuota(t *testing.T) {
	c, dir := newIsolated(t, func(cfg *Config) {
		cfg.EnforceDiskQuota = true
		cfg.DiskWatchInterval = 100 * time.Millisecond
	})
	ctx := ctxT(t)
	sb := sandbox(t, dir, "disk")
	cfg := shell("disk", sb, `dd if=/dev/zero of=big bs=1M count=4 2>/dev/null; sleep 30`)
	cfg.Resources = []*mesospb.Resource{scalar("cpus", 0.1), scalar("mem", 64), scalar("disk", 1)}
	if _, err := c.Launch(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	term, err := c.Wait(ctx, "disk")
	if err != nil {
		t.Fatal(err)
	}
	if reasonOf(term) != mesospb.TaskStatus_REASON_CONTAINER_LIMITATION_DISK || !strings.Contains(term.Message, "exceeds quota (1MB)") {
		t.Fatalf("termination = %+v", term)
	}
}

func TestIsolatedRecoverRemovesOrphanCgroups(t *testing.T) {
	c, dir := newIsolated(t, nil)
	ctx := ctxT(t)
	sb := sandbox(t, dir, "kept")
	cfg := shell("kept", sb, `sleep 30`)
	cfg.Resources = []*mesospb.Resource{scalar("cpus", 0.1), scalar("mem", 64)}
	if _, err := c.Launch(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	defer c.Destroy(context.Background(), "kept")
	if err := c.cfg.Cgroups.Create("stray", cgroups.Limits{CPUs: 0.1}); err != nil {
		t.Fatal(err)
	}
	// A new containerizer on the same state, as after an agent restart.
	c2, err := New(c.cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	res, err := c2.Recover(ctx, []string{"kept"})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Recovered) != 1 || len(res.Orphans) != 1 || res.Orphans[0] != "stray" {
		t.Fatalf("recover = %+v", res)
	}
	if !c2.cfg.Cgroups.Exists("kept") || c2.cfg.Cgroups.Exists("stray") {
		t.Fatal("wrong cgroups kept")
	}
	if _, err := c2.Destroy(ctx, "kept"); err != nil {
		t.Fatal(err)
	}
	if c2.cfg.Cgroups.Exists("kept") {
		t.Fatal("destroy left the cgroup")
	}
}

func reasonOf(t *containerizer.Termination) mesospb.TaskStatus_Reason {
	if t.Reason == nil {
		return mesospb.TaskStatus_REASON_COMMAND_EXECUTOR_FAILED
	}
	return *t.Reason
}

func TestIsolatedPIDNamespace(t *testing.T) {
	c, dir := newIsolated(t, func(cfg *Config) { cfg.PIDNamespace = true })
	ctx := ctxT(t)
	sb := sandbox(t, dir, "pidns")
	cfg := shell("pidns", sb, `echo $$; sleep 1000 & ls /proc | grep -c '^[0-9]'`)
	cfg.Resources = []*mesospb.Resource{scalar("cpus", 0.1), scalar("mem", 64)}
	if _, err := c.Launch(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	term, err := c.Wait(ctx, "pidns")
	if err != nil {
		t.Fatal(err)
	}
	out, _ := os.ReadFile(filepath.Join(sb, "stdout"))
	errOut, _ := os.ReadFile(filepath.Join(sb, "stderr"))
	// sh is PID 1; /proc lists sh, sleep and ls (grep may have ended).
	if term.WaitStatus.ExitStatus() != 0 || !strings.HasPrefix(string(out), "1\n") {
		t.Fatalf("termination %+v, stdout %q, stderr %q", term, out, errOut)
	}
	var n int
	fmt.Sscan(strings.Split(string(out), "\n")[1], &n)
	if n < 2 || n > 4 {
		t.Fatalf("the container sees %d processes in /proc", n)
	}
	if !strings.Contains(c.Isolation(), "pid") {
		t.Fatalf("Isolation() = %q", c.Isolation())
	}
}

// TestIsolatedStandbyJoinsItsCgroupEarly launches a container with a standby
// started ahead of demand: it was moved into a cgroup of its own when it
// started, and the launch gives that cgroup the container's limits.
func TestIsolatedStandbyJoinsItsCgroupEarly(t *testing.T) {
	c, dir := newIsolated(t, nil)
	ctx := ctxT(t)
	cmd := containerizer.Command{Path: c.cfg.Init, Args: []string{c.cfg.Init, "report"}, Env: []string{}}
	s, err := c.StartStandby(cmd, "")
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.Ready():
	case <-time.After(10 * time.Second):
		t.Fatal("standby not ready")
	}
	ids, _ := c.cfg.Cgroups.List()
	if len(ids) != 1 || !strings.HasPrefix(ids[0], "standby-") {
		t.Fatalf("cgroups before the launch: %v", ids)
	}
	sb := sandbox(t, dir, "early")
	cfg := containerizer.ContainerConfig{ID: "early", Directory: sb, Command: cmd,
		Resources: []*mesospb.Resource{scalar("cpus", 0.25), scalar("mem", 48)}}
	if _, err := c.LaunchStandby(ctx, s, cfg); err != nil {
		t.Fatal(err)
	}
	st, err := c.Usage(ctx, "early")
	if err == nil && st.GetMemLimitBytes() != 48<<20 {
		t.Fatalf("memory limit after launch = %d", st.GetMemLimitBytes())
	}
	if _, err := c.Wait(ctx, "early"); err != nil {
		t.Fatal(err)
	}
	out, _ := os.ReadFile(filepath.Join(sb, "stdout"))
	if !strings.Contains(string(out), ":memory:/"+c.cfg.Cgroups.Root()+"/"+ids[0]+"\n") {
		t.Fatalf("stdout = %q", out)
	}
	if left, _ := c.cfg.Cgroups.List(); len(left) != 0 {
		t.Fatalf("cgroups left: %v", left)
	}
}
