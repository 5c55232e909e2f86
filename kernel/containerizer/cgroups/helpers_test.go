package cgroups

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// workloadBin is the testdata/workload command, built on first use into a
// directory removed when the tests end.
var (
	workloadDir  string
	workloadOnce sync.Once
	workloadBin  string
	workloadErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if workloadDir != "" {
		os.RemoveAll(workloadDir)
	}
	os.Exit(code)
}

func workload(t *testing.T) string {
	t.Helper()
	workloadOnce.Do(func() {
		goTool, err := exec.LookPath("go")
		if err != nil {
			goTool = filepath.Join(runtime.GOROOT(), "bin", "go")
		}
		if workloadDir, workloadErr = os.MkdirTemp("", "cgroups-workload-"); workloadErr != nil {
			return
		}
		bin := filepath.Join(workloadDir, "workload")
		cmd := exec.Command(goTool, "build", "-o", bin, "./testdata/workload")
		if out, err := cmd.CombinedOutput(); err != nil {
			workloadErr = fmt.Errorf("build workload: %v\n%s", err, out)
			return
		}
		workloadBin = bin
	})
	if workloadErr != nil {
		t.Fatal(workloadErr)
	}
	return workloadBin
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// skipOrFail skips a test whose dependency is missing, or fails it under
// CI=true.
func skipOrFail(t *testing.T, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI=true and a dependency is missing: %s", msg)
	}
	t.Skipf("%s (with CI=true this fails)", msg)
}

// hostInfo detects the host's cgroups and requires root and at least one
// usable hierarchy.
func hostInfo(t *testing.T) Info {
	t.Helper()
	if os.Geteuid() != 0 {
		skipOrFail(t, "cgroup tests need root")
	}
	info, err := Detect()
	if err != nil {
		t.Fatal(err)
	}
	usable := info.UnifiedUsable
	for _, c := range info.Controllers {
		usable = usable || c.Usable
	}
	if !usable {
		skipOrFail(t, "no usable cgroup hierarchy: %s", info)
	}
	return info
}

// requireControllers fails or skips unless every named controller is usable.
func requireControllers(t *testing.T, info Info, names ...string) {
	t.Helper()
	for _, n := range names {
		if !info.Usable(n) {
			skipOrFail(t, "controller %s not usable: %s", n, info.Controllers[n].Reason)
		}
	}
}

// v1Only is info without the unified hierarchy, or ok=false when the host
// has no v1 hierarchies.
func v1Only(info Info) (Info, bool) {
	out := info
	out.Unified, out.UnifiedUsable, out.UnifiedControllers = "", false, nil
	out.Controllers = make(map[string]Controller)
	any := false
	for n, c := range info.Controllers {
		if c.Version != 1 {
			c = Controller{Name: n, Reason: "test: v1 only"}
		}
		any = any || c.Usable
		out.Controllers[n] = c
	}
	out.Mode = ModeV1
	return out, any
}

// v2Only is info without the v1 hierarchies, or ok=false when the host has
// no usable unified hierarchy.
func v2Only(info Info) (Info, bool) {
	out := info
	out.V1 = map[string]string{}
	out.Controllers = make(map[string]Controller)
	for _, n := range used {
		c := Controller{Name: n, Reason: "test: v2 only"}
		if n == "cpuacct" || n == "freezer" || containsStr(info.UnifiedControllers, n) {
			c = Controller{Name: n, Version: 2, Mount: info.Unified, Usable: info.UnifiedUsable, Reason: info.UnifiedReason}
		}
		out.Controllers[n] = c
	}
	out.Mode = ModeV2
	return out, info.Unified != "" && info.UnifiedUsable
}

func containsStr(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// newManager makes a Manager on a root unique to this test and removes the
// root, with everything in it, when the test ends (failed or not), checking
// that nothing is left behind.
func newManager(t *testing.T, info Info) *Manager {
	t.Helper()
	var rb [4]byte
	_, _ = rand.Read(rb[:])
	name := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		return '_'
	}, t.Name())
	root := fmt.Sprintf("strata-test/%.40s-%d-%s", name, os.Getpid(), hex.EncodeToString(rb[:]))
	m, err := New(Config{Root: root, Info: &info, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := m.RemoveRoot(); err != nil {
			t.Errorf("remove root: %v", err)
		}
		for _, d := range m.rootDirs() {
			if _, err := os.Stat(d); err == nil {
				t.Errorf("root %s left behind", d)
			}
		}
	})
	return m
}

func (m *Manager) rootDirs() []string {
	dirs := append([]string(nil), m.v1dirs...)
	if m.v2 != "" {
		dirs = append(dirs, m.v2)
	}
	return dirs
}

// proc is a process started by a test.
type proc struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error // cmd.Wait's result, set when done is closed
}

// start runs argv gated by a shell that waits for a line on stdin: the
// process is added to container id first and only then released, so that
// everything it does is accounted to the container. The process is killed
// and reaped when the test ends.
func start(t *testing.T, m *Manager, id string, env []string, argv ...string) *proc {
	t.Helper()
	cmd := exec.Command("/bin/sh", append([]string{"-c", `read -r _ && exec "$@"`, "sh"}, argv...)...)
	cmd.Env = append(os.Environ(), env...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, done: make(chan struct{})}
	go func() { p.err = cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.done
	})
	if err := m.Add(id, cmd.Process.Pid); err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(stdin, "go\n"); err != nil {
		t.Fatal(err)
	}
	stdin.Close()
	return p
}

// startWorkload runs the workload command in container id: it allocates mb
// MiB, then spins or sleeps.
func startWorkload(t *testing.T, m *Manager, id string, mb int, spin bool) *proc {
	t.Helper()
	return start(t, m, id, nil, workload(t), "-mb", strconv.Itoa(mb), "-spin="+strconv.FormatBool(spin))
}

// wait waits for the process to exit and returns the signal that killed it
// (0 when it exited).
func (p *proc) wait(t *testing.T, within time.Duration) syscall.Signal {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(within):
		t.Fatalf("process %d still running after %s", p.cmd.Process.Pid, within)
	}
	ws := p.cmd.ProcessState.Sys().(syscall.WaitStatus)
	if ws.Signaled() {
		return ws.Signal()
	}
	return 0
}

// eventually polls cond every 20 ms until it holds or the deadline passes.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", within, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// procStat returns state, ppid and session id of pid from /proc.
func procStat(pid int) (state byte, ppid, sid int, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, 0, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	f := strings.Fields(s[i+1:])
	if len(f) < 4 {
		return 0, 0, 0, fmt.Errorf("short stat %q", s)
	}
	ppid, _ = strconv.Atoi(f[1])
	sid, _ = strconv.Atoi(f[3])
	return f[0][0], ppid, sid, nil
}

// gone says whether pid has exited: no longer in /proc, or a zombie.
func gone(pid int) bool {
	st, _, _, err := procStat(pid)
	return err != nil || st == 'Z' || st == 'X'
}

// readPidFile waits for a file holding one pid.
func readPidFile(t *testing.T, path string) int {
	t.Helper()
	var pid int
	eventually(t, 10*time.Second, "pid file "+path, func() bool {
		f, err := os.Open(path)
		if err != nil {
			return false
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		if !sc.Scan() {
			return false
		}
		pid, err = strconv.Atoi(strings.TrimSpace(sc.Text()))
		return err == nil && pid > 0
	})
	return pid
}

// touchFiles creates empty interface files in dir, for tests that write.
func touchFiles(t *testing.T, dir string, names ...string) {
	t.Helper()
	for _, n := range names {
		if err := os.WriteFile(filepath.Join(dir, n), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// writeFiles creates files in dir with the given contents.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for n, c := range files {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
