package posix

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
	"google.golang.org/protobuf/proto"

	"strata/kernel/containerizer"
	"strata/kernel/mesos/mesospb"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func newTest(t *testing.T) (*Containerizer, string) {
	t.Helper()
	dir := t.TempDir()
	c, err := New(Config{StateDir: filepath.Join(dir, "state"), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c, dir
}

func shell(id, dir, script string) containerizer.ContainerConfig {
	return containerizer.ContainerConfig{
		ID:        id,
		Directory: dir,
		Command:   containerizer.Command{Path: "/bin/sh", Args: []string{"sh", "-c", script}, Env: []string{"PATH=/usr/bin:/bin"}},
	}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestLaunchExitStatusAndOutput(t *testing.T) {
	c, dir := newTest(t)
	ctx := ctxT(t)
	if _, err := c.Launch(ctx, shell("c1", dir, "echo hello; echo oops >&2; exit 3")); err != nil {
		t.Fatal(err)
	}
	term, err := c.Wait(ctx, "c1")
	if err != nil {
		t.Fatal(err)
	}
	if !term.HasStatus || !term.WaitStatus.Exited() || term.WaitStatus.ExitStatus() != 3 {
		t.Fatalf("termination = %+v, want exit 3", term)
	}
	if term.Message != "Executor exited with status 3" {
		t.Fatalf("message = %q", term.Message)
	}
	out, _ := os.ReadFile(filepath.Join(dir, "stdout"))
	errOut, _ := os.ReadFile(filepath.Join(dir, "stderr"))
	if string(out) != "hello\n" || string(errOut) != "oops\n" {
		t.Fatalf("stdout %q stderr %q", out, errOut)
	}
	if _, err := os.Stat(c.statePath("c1")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("state file still there: %v", err)
	}
	if _, err := c.Launch(ctx, shell("c1", dir, "true")); !errors.Is(err, containerizer.ErrExists) {
		t.Fatalf("relaunch of known id: %v", err)
	}
	c.Forget("c1")
	if _, err := c.Wait(ctx, "c1"); !errors.Is(err, containerizer.ErrUnknownContainer) {
		t.Fatalf("wait after forget: %v", err)
	}
}

// readPids waits for a file of pids written by the container's script.
func readPids(t *testing.T, path string, n int) []int {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		b, _ := os.ReadFile(path)
		f := strings.Fields(string(b))
		if len(f) >= n {
			var pids []int
			for _, s := range f {
				p, err := strconv.Atoi(s)
				if err != nil {
					t.Fatal(err)
				}
				pids = append(pids, p)
			}
			return pids
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s: fewer than %d pids", path, n)
	return nil
}

func alive(pid int) bool {
	s, err := readStat(pid)
	return err == nil && s.alive()
}

func TestDestroyKillsWholeSession(t *testing.T) {
	c, dir := newTest(t)
	ctx := ctxT(t)
	pidFile := filepath.Join(dir, "pids")
	// A child in its own process group and a grandchild that starts its own
	// session: both must die with the container.
	script := `sleep 300 & echo $! >> ` + pidFile + `
setsid sh -c 'echo $$ >> ` + pidFile + `; exec sleep 300' &
sleep 300`
	l, err := c.Launch(ctx, shell("c2", dir, script))
	if err != nil {
		t.Fatal(err)
	}
	pids := readPids(t, pidFile, 2)
	if sid, _ := unix.Getsid(l.Pid); sid != l.Pid {
		t.Fatalf("executor sid = %d, want its own session %d", sid, l.Pid)
	}
	stats, err := c.Usage(ctx, "c2")
	if err != nil {
		t.Fatal(err)
	}
	if stats.GetProcesses() < 3 {
		t.Fatalf("processes = %d, want >= 3", stats.GetProcesses())
	}
	term, err := c.Destroy(ctx, "c2")
	if err != nil {
		t.Fatal(err)
	}
	// The shell is SIGKILLed, or exits 137 when its foreground child died
	// a moment before it.
	killed := term.WaitStatus.Signaled() && term.WaitStatus.Signal() == syscall.SIGKILL
	if !term.Destroyed || !(killed || term.WaitStatus.ExitStatus() == 137) {
		t.Fatalf("termination = %+v", term)
	}
	for _, p := range append(pids, l.Pid) {
		if alive(p) {
			b, _ := os.ReadFile("/proc/" + strconv.Itoa(p) + "/stat")
			t.Errorf("pid %d survived destroy: %s (all pids %v, leader %d)", p, b, pids, l.Pid)
		}
	}
}

func TestLeftoversKilledWhenExecutorExits(t *testing.T) {
	c, dir := newTest(t)
	ctx := ctxT(t)
	pidFile := filepath.Join(dir, "pids")
	if _, err := c.Launch(ctx, shell("c3", dir, `sleep 300 & echo $! > `+pidFile+`; exit 0`)); err != nil {
		t.Fatal(err)
	}
	pids := readPids(t, pidFile, 1)
	term, err := c.Wait(ctx, "c3")
	if err != nil {
		t.Fatal(err)
	}
	if term.Destroyed || term.WaitStatus.ExitStatus() != 0 {
		t.Fatalf("termination = %+v", term)
	}
	if alive(pids[0]) {
		t.Fatalf("leftover %d still alive", pids[0])
	}
}

func TestRLimits(t *testing.T) {
	c, dir := newTest(t)
	ctx := ctxT(t)
	cfg := shell("c4", dir, "sleep 0.3; ulimit -n")
	cfg.Container = &mesospb.ContainerInfo{RlimitInfo: &mesospb.RLimitInfo{Rlimits: []*mesospb.RLimitInfo_RLimit{{
		Type: mesospb.RLimitInfo_RLimit_RLMT_NOFILE.Enum(), Soft: proto.Uint64(77), Hard: proto.Uint64(77),
	}}}}
	if _, err := c.Launch(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Wait(ctx, "c4"); err != nil {
		t.Fatal(err)
	}
	out, _ := os.ReadFile(filepath.Join(dir, "stdout"))
	if strings.TrimSpace(string(out)) != "77" {
		t.Fatalf("ulimit -n = %q, want 77", out)
	}

	bad := shell("c5", dir, "true")
	bad.Container = &mesospb.ContainerInfo{RlimitInfo: &mesospb.RLimitInfo{Rlimits: []*mesospb.RLimitInfo_RLimit{{
		Type: mesospb.RLimitInfo_RLimit_RLMT_NOFILE.Enum(), Soft: proto.Uint64(10),
	}}}}
	if _, err := c.Launch(ctx, bad); err == nil {
		t.Fatal("launch with half-set rlimit succeeded")
	}
	if got := c.Containers(); len(got) != 1 || got[0] != "c4" {
		t.Fatalf("containers = %v", got)
	}
}

func TestRecoverReattachesKnownAndKillsOrphans(t *testing.T) {
	c1, dir := newTest(t)
	ctx := ctxT(t)
	known, err := c1.Launch(ctx, shell("known", dir, "sleep 300"))
	if err != nil {
		t.Fatal(err)
	}
	orphan, err := c1.Launch(ctx, shell("orphan", dir, "sleep 300"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(known.Pid, syscall.SIGKILL)
		_ = syscall.Kill(orphan.Pid, syscall.SIGKILL)
	})

	// A second containerizer over the same state plays the restarted agent.
	c2, err := New(Config{StateDir: c1.cfg.StateDir, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	res, err := c2.Recover(ctx, []string{"known", "gone"})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Recovered) != 1 || res.Recovered[0] != "known" ||
		len(res.Orphans) != 1 || res.Orphans[0] != "orphan" ||
		len(res.Missing) != 1 || res.Missing[0] != "gone" {
		t.Fatalf("recover = %+v", res)
	}
	if _, err := c1.Wait(ctx, "orphan"); err != nil {
		t.Fatal(err)
	}
	if alive(orphan.Pid) {
		t.Fatal("orphan still alive")
	}
	st, err := c2.Status(ctx, "known")
	if err != nil || int(st.GetExecutorPid()) != known.Pid {
		t.Fatalf("status = %v, %v", st, err)
	}
	select {
	case <-c2.containers["known"].done:
		t.Fatal("recovered container reported terminated while running")
	case <-time.After(100 * time.Millisecond):
	}
	_ = syscall.Kill(known.Pid, syscall.SIGTERM)
	term, err := c2.Wait(ctx, "known")
	if err != nil {
		t.Fatal(err)
	}
	if term.HasStatus {
		t.Fatalf("recovered termination claims a status: %+v", term)
	}
}

func TestParseStat(t *testing.T) {
	line := "1234 (we ird) name)) S 1 1234 1234 0 -1 4194560 100 0 0 0 7 3 2 1 20 0 4 0 5555 1000 250 18446744073709551615"
	s, err := parseStat([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	want := stat{pid: 1234, state: 'S', ppid: 1, session: 1234, utime: 7, stime: 3, cutime: 2, cstime: 1, threads: 4, start: 5555, rss: 250}
	if s != want {
		t.Fatalf("got %+v want %+v", s, want)
	}
	for _, bad := range []string{"", "x (a) S", "12 (a) S 1 2", "12 a) S"} {
		if _, err := parseStat([]byte(bad)); err == nil {
			t.Errorf("parseStat(%q) succeeded", bad)
		}
	}
}
