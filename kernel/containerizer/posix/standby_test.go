package posix

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"strata/kernel/containerizer"
	"strata/kernel/containerizer/standby"
	"strata/kernel/mesos/mesospb"
)

// The test binary doubles as a standby: with POSIX_TEST_STANDBY set it waits
// for its launch and then execs `sh -c $SCRIPT`, the container's command.
func TestMain(m *testing.M) {
	if os.Getenv("POSIX_TEST_STANDBY") != "" {
		if ok, err := standby.Await(); !ok || err != nil {
			os.Exit(7)
		}
		_ = syscall.Exec("/bin/sh", []string{"sh", "-c", os.Getenv("SCRIPT")}, os.Environ())
		os.Exit(1)
	}
	os.Exit(m.Run())
}

func standbyCommand(env ...string) containerizer.Command {
	return containerizer.Command{Path: os.Args[0], Args: []string{os.Args[0], "-test.run=^$"},
		Env: append([]string{"POSIX_TEST_STANDBY=1"}, env...)}
}

func startStandby(t *testing.T, c *Containerizer) *Standby {
	t.Helper()
	s, err := c.StartStandby(standbyCommand(), "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Discard)
	return s
}

func waitReady(t *testing.T, s *Standby) {
	t.Helper()
	select {
	case <-s.Ready():
	case <-time.After(20 * time.Second):
		t.Fatal("standby never became ready")
	}
}

func waitDone(t *testing.T, s *Standby) {
	t.Helper()
	select {
	case <-s.Done():
	case <-time.After(20 * time.Second):
		t.Fatal("standby process did not exit")
	}
}

func TestStandbyBecomesTheContainer(t *testing.T) {
	c, dir := newTest(t)
	ctx := ctxT(t)
	s := startStandby(t, c)
	if ids := c.Containers(); len(ids) != 0 {
		t.Fatalf("a standby is listed as a container: %v", ids)
	}
	waitReady(t, s)
	script := `pwd; echo "x=$X"; echo "fd=${STRATA_STANDBY_FD-unset}"; ulimit -n; echo oops >&2
while [ ! -e go ]; do sleep 0.01; done; exit 3`
	cfg := containerizer.ContainerConfig{
		ID: "c1", Directory: dir,
		Command:   standbyCommand("PATH=/usr/bin:/bin", "X=y", "SCRIPT="+script),
		Resources: []*mesospb.Resource{{Name: proto.String("cpus"), Type: mesospb.Value_SCALAR.Enum(), Scalar: &mesospb.Value_Scalar{Value: proto.Float64(0.5)}}},
		Container: &mesospb.ContainerInfo{RlimitInfo: &mesospb.RLimitInfo{Rlimits: []*mesospb.RLimitInfo_RLimit{{
			Type: mesospb.RLimitInfo_RLimit_RLMT_NOFILE.Enum(), Soft: proto.Uint64(64), Hard: proto.Uint64(64),
		}}}},
	}
	l, err := c.LaunchStandby(ctx, s, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if l.Pid != s.Pid() {
		t.Fatalf("container pid %d, standby pid %d", l.Pid, s.Pid())
	}
	if ids := c.Containers(); len(ids) != 1 || ids[0] != "c1" {
		t.Fatalf("containers = %v", ids)
	}
	if _, err := os.Stat(c.statePath("c1")); err != nil {
		t.Fatalf("no state file for the launched standby: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	term, err := c.Wait(ctx, "c1")
	if err != nil {
		t.Fatal(err)
	}
	if !term.HasStatus || term.WaitStatus.ExitStatus() != 3 {
		t.Fatalf("termination = %+v", term)
	}
	out, _ := os.ReadFile(filepath.Join(dir, "stdout"))
	real, _ := filepath.EvalSymlinks(dir)
	want := real + "\nx=y\nfd=unset\n64\n"
	if string(out) != want {
		t.Fatalf("stdout = %q, want %q", out, want)
	}
	if errOut, _ := os.ReadFile(filepath.Join(dir, "stderr")); string(errOut) != "oops\n" {
		t.Fatalf("stderr = %q", errOut)
	}
	if _, err := os.Stat(c.statePath("c1")); !os.IsNotExist(err) {
		t.Fatalf("state file left after the container ended: %v", err)
	}
}

func TestStandbyRefusedLeavesNothing(t *testing.T) {
	c, dir := newTest(t)
	ctx := ctxT(t)
	s := startStandby(t, c)
	for _, cfg := range []containerizer.ContainerConfig{
		shell("c1", dir, "exit 0"), // another command
		{ID: "c1", Command: standbyCommand(), User: "root"},
		{ID: "c1", Command: standbyCommand()}, // no sandbox
	} {
		if cfg.User == "root" && os.Geteuid() != 0 {
			continue
		}
		s := startStandby(t, c)
		if _, err := c.LaunchStandby(ctx, s, cfg); err == nil {
			t.Fatalf("LaunchStandby(%+v) succeeded", cfg)
		}
		waitDone(t, s)
	}
	// The id is free for a launch with a new process.
	if _, err := c.Launch(ctx, shell("c1", dir, "exit 0")); err != nil {
		t.Fatal(err)
	}
	if term, err := c.Wait(ctx, "c1"); err != nil || term.WaitStatus.ExitStatus() != 0 {
		t.Fatalf("Wait = %+v, %v", term, err)
	}
	// A standby is launched once.
	cfg := containerizer.ContainerConfig{ID: "c2", Directory: dir, Command: standbyCommand("SCRIPT=exit 0")}
	if _, err := c.LaunchStandby(ctx, s, cfg); err != nil {
		t.Fatal(err)
	}
	cfg.ID = "c3"
	if _, err := c.LaunchStandby(ctx, s, cfg); err == nil || !strings.Contains(err.Error(), "already used") {
		t.Fatalf("second launch of a standby: %v", err)
	}
	if _, err := c.Wait(ctx, "c2"); err != nil {
		t.Fatal(err)
	}
}

func TestStandbyDiscardAndExit(t *testing.T) {
	c, _ := newTest(t)
	s := startStandby(t, c)
	waitReady(t, s)
	s.Discard()
	waitDone(t, s)
	if ids := c.Containers(); len(ids) != 0 {
		t.Fatalf("containers = %v", ids)
	}
	if entries, _ := os.ReadDir(c.cfg.StateDir); len(entries) != 0 {
		t.Fatalf("state files left: %v", entries)
	}
	// A standby whose process ended cannot be launched.
	ctx := ctxT(t)
	if _, err := c.LaunchStandby(ctx, s, containerizer.ContainerConfig{ID: "c1", Directory: t.TempDir(), Command: standbyCommand()}); err == nil {
		t.Fatal("launch of a discarded standby succeeded")
	}
}

func TestUpdateRewritesStateOnlyOnChange(t *testing.T) {
	c, dir := newTest(t)
	ctx := ctxT(t)
	res := func(cpus float64) []*mesospb.Resource {
		return []*mesospb.Resource{{Name: proto.String("cpus"), Type: mesospb.Value_SCALAR.Enum(),
			Scalar: &mesospb.Value_Scalar{Value: proto.Float64(cpus)}}}
	}
	cfg := shell("c1", dir, "sleep 30")
	cfg.Resources = res(1)
	if _, err := c.Launch(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = c.Destroy(ctxT(t), "c1") })
	inode := func() uint64 {
		t.Helper()
		fi, err := os.Stat(c.statePath("c1"))
		if err != nil {
			t.Fatal(err)
		}
		return fi.Sys().(*syscall.Stat_t).Ino
	}
	before := inode()
	if err := c.Update(ctx, "c1", res(1), nil); err != nil {
		t.Fatal(err)
	}
	if inode() != before {
		t.Fatal("Update with the same resources rewrote the state file")
	}
	if err := c.Update(ctx, "c1", res(2), nil); err != nil {
		t.Fatal(err)
	}
	if inode() == before {
		t.Fatal("Update with new resources did not rewrite the state file")
	}
	if b, _ := os.ReadFile(c.statePath("c1")); !strings.Contains(string(b), `"cpus":2`) {
		t.Fatalf("state = %s", b)
	}
}
