package proc

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// waitTimeout waits for p with a deadline so a broken test cannot hang.
func waitTimeout(t *testing.T, p *Process, d time.Duration) ExitStatus {
	t.Helper()
	select {
	case <-p.Done():
	case <-time.After(d):
		_ = syscall.Kill(-p.Pid(), syscall.SIGKILL)
		t.Fatalf("process %d did not exit within %v", p.Pid(), d)
	}
	st, err := p.Wait()
	if err != nil {
		t.Fatalf("Wait: %v", err)
	}
	return st
}

func start(t *testing.T, spec Spec) *Process {
	t.Helper()
	p, err := Start(spec)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { _ = p.Kill(0) })
	return p
}

func TestExitStatus(t *testing.T) {
	tests := []struct {
		name string
		spec Spec
		want ExitStatus
		msg  string
	}{
		{"shell success", Spec{Shell: true, Command: "exit 0"}, ExitStatus{Code: 0}, "Command exited with status 0"},
		{"shell failure", Spec{Shell: true, Command: "exit 3"}, ExitStatus{Code: 3}, "Command exited with status 3"},
		{"argv lookup", Spec{Command: "sh", Args: []string{"sh", "-c", "exit 7"}}, ExitStatus{Code: 7}, "Command exited with status 7"},
		{"argv no args", Spec{Command: "true"}, ExitStatus{Code: 0}, "Command exited with status 0"},
		{"terminated", Spec{Shell: true, Command: "kill -TERM $$"},
			ExitStatus{Code: -1, Signaled: true, Signal: syscall.SIGTERM}, "Command terminated with signal Terminated"},
		{"killed", Spec{Shell: true, Command: "kill -KILL $$"},
			ExitStatus{Code: -1, Signaled: true, Signal: syscall.SIGKILL}, "Command terminated with signal Killed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := start(t, tc.spec)
			got := waitTimeout(t, p, 10*time.Second)
			if got != tc.want {
				t.Fatalf("status = %+v, want %+v", got, tc.want)
			}
			if d := Describe(got); d != tc.msg {
				t.Fatalf("Describe = %q, want %q", d, tc.msg)
			}
			if got.Success() != (tc.want.Code == 0 && !tc.want.Signaled) {
				t.Fatalf("Success() = %v for %+v", got.Success(), got)
			}
		})
	}
}

func TestDescribe(t *testing.T) {
	tests := []struct {
		st   ExitStatus
		want string
	}{
		{ExitStatus{Code: 1}, "Command exited with status 1"},
		{ExitStatus{Code: 255}, "Command exited with status 255"},
		{ExitStatus{Code: -1, Signaled: true, Signal: syscall.SIGSEGV, CoreDumped: true},
			"Command terminated with signal Segmentation fault (core dumped)"},
		{ExitStatus{Code: -1, Signaled: true, Signal: syscall.SIGHUP}, "Command terminated with signal Hangup"},
		{ExitStatus{Code: -1, Signaled: true, Signal: syscall.SIGINT}, "Command terminated with signal Interrupt"},
		{ExitStatus{Code: -1, Signaled: true, Signal: syscall.Signal(77)}, "Command terminated with signal Unknown signal 77"},
	}
	for _, tc := range tests {
		if got := Describe(tc.st); got != tc.want {
			t.Errorf("Describe(%+v) = %q, want %q", tc.st, got, tc.want)
		}
	}
}

func TestArgvPassedExactly(t *testing.T) {
	var out bytes.Buffer
	// sh -c CMD NAME ARG: NAME becomes $0; argv[0] itself is only in cmdline.
	p := start(t, Spec{Command: "/bin/sh", Args: []string{"custom-argv0", "-c",
		`echo "$(tr '\0' ' ' < /proc/$$/cmdline | cut -d' ' -f1)|$0|$1"`, "one two", "three"}, Stdout: &out})
	if st := waitTimeout(t, p, 10*time.Second); !st.Success() {
		t.Fatalf("status %+v", st)
	}
	if got := strings.TrimSpace(out.String()); got != "custom-argv0|one two|three" {
		t.Fatalf("output %q", got)
	}
}

func TestShellIgnoresArgs(t *testing.T) {
	var out bytes.Buffer
	p := start(t, Spec{Shell: true, Command: "echo hi", Args: []string{"ignored", "args"}, Stdout: &out})
	waitTimeout(t, p, 10*time.Second)
	if got := out.String(); got != "hi\n" {
		t.Fatalf("output %q", got)
	}
}

func TestEnvDirAndPathLookup(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	if err := os.Mkdir(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	script := "#!/bin/sh\necho \"tool $FOO $(pwd)\"\n"
	if err := os.WriteFile(filepath.Join(bin, "mytool"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	p := start(t, Spec{
		Command: "mytool",
		Env:     []string{"PATH=/usr/bin:/bin:" + bin, "FOO=bar"},
		Dir:     dir,
		Stdout:  &out,
	})
	if st := waitTimeout(t, p, 10*time.Second); !st.Success() {
		t.Fatalf("status %+v", st)
	}
	if got, want := strings.TrimSpace(out.String()), "tool bar "+dir; got != want {
		t.Fatalf("output %q, want %q", got, want)
	}
}

func TestOutputToFiles(t *testing.T) {
	dir := t.TempDir()
	stdout, stderr := filepath.Join(dir, "stdout"), filepath.Join(dir, "stderr")
	if err := os.WriteFile(stdout, []byte("existing\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p := start(t, Spec{Shell: true, Command: "echo out; echo err >&2; exit 2", StdoutPath: stdout, StderrPath: stderr})
	if st := waitTimeout(t, p, 10*time.Second); st.Code != 2 {
		t.Fatalf("status %+v", st)
	}
	for path, want := range map[string]string{stdout: "existing\nout\n", stderr: "err\n"} {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != want {
			t.Errorf("%s = %q, want %q", filepath.Base(path), b, want)
		}
	}
}

func TestStartErrors(t *testing.T) {
	tests := []struct {
		name string
		spec Spec
		want string
	}{
		{"empty", Spec{}, "empty command"},
		{"not found", Spec{Command: "no-such-program-strata"}, `"no-such-program-strata"`},
		{"bad dir", Spec{Shell: true, Command: "true", Dir: "/no/such/dir"}, "no such file"},
		{"writer and path", Spec{Shell: true, Command: "true", Stdout: &bytes.Buffer{}, StdoutPath: "/tmp/x"}, "both stdout"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Start(tc.spec)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "proc: ") {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
	if _, err := Start(Spec{Command: "no-such-program-strata"}); !errors.Is(err, exec.ErrNotFound) {
		t.Fatalf("err = %v, want exec.ErrNotFound", err)
	}
}

func TestCredential(t *testing.T) {
	var out bytes.Buffer
	p, err := Start(Spec{Shell: true, Command: "id -u; id -g; id -G", Stdout: &out,
		Credential: &Credential{Uid: 65534, Gid: 65534}})
	if os.Geteuid() != 0 {
		// Without privileges changing user must fail rather than run as us.
		if err == nil {
			waitTimeout(t, p, 10*time.Second)
			t.Fatalf("started as uid 65534 without privileges: %q", out.String())
		}
		return
	}
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	waitTimeout(t, p, 10*time.Second)
	if got := strings.Fields(out.String()); !slices.Equal(got, []string{"65534", "65534", "65534"}) {
		t.Fatalf("id output %q", out.String())
	}
}

func TestParseStat(t *testing.T) {
	line := "1234 (we (ird) name) S 1 1234 1234 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 10 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n"
	s, err := parseStat([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	want := procStat{pid: 1234, state: 'S', ppid: 1, pgrp: 1234, start: 987654}
	if s != want {
		t.Fatalf("parseStat = %+v, want %+v", s, want)
	}
	for _, bad := range []string{"", "1234", "1234 (x) S 1", "x (y) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20"} {
		if _, err := parseStat([]byte(bad)); err == nil {
			t.Errorf("parseStat(%q) succeeded", bad)
		}
	}
}

// readPids waits until path holds n whitespace-separated pids.
func readPids(t *testing.T, path string, n int) []int {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		b, _ := os.ReadFile(path)
		if f := strings.Fields(string(b)); len(f) >= n && strings.HasSuffix(string(b), "\n") {
			var pids []int
			for _, s := range f {
				pid, err := strconv.Atoi(s)
				if err != nil {
					t.Fatalf("bad pid %q in %s", s, path)
				}
				pids = append(pids, pid)
			}
			return pids
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%s never got %d pids", path, n)
	return nil
}

// gone reports whether pid no longer runs (vanished or a zombie no one reaps).
func gone(pid int) bool {
	s, err := readStat(pid)
	return err != nil || !s.alive()
}

func waitGone(t *testing.T, pids []int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for _, pid := range pids {
		for !gone(pid) {
			if time.Now().After(deadline) {
				t.Fatalf("pid %d still alive", pid)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

func TestKillGraceful(t *testing.T) {
	dir := t.TempDir()
	ready := filepath.Join(dir, "ready")
	p := start(t, Spec{Shell: true, Command: "echo $$ > " + ready + "; while :; do sleep 0.05; done"})
	readPids(t, ready, 1)
	begin := time.Now()
	if err := p.Kill(10 * time.Second); err != nil {
		t.Fatalf("Kill: %v", err)
	}
	if el := time.Since(begin); el > 5*time.Second {
		t.Fatalf("Kill waited %v although the process died on SIGTERM", el)
	}
	st := waitTimeout(t, p, 5*time.Second)
	if !st.Signaled || st.Signal != syscall.SIGTERM {
		t.Fatalf("status %+v, want SIGTERM", st)
	}
}

func TestKillEscalatesAfterGrace(t *testing.T) {
	dir := t.TempDir()
	ready := filepath.Join(dir, "ready")
	// The shell traps TERM and keeps running; its sleeps die but it loops.
	p := start(t, Spec{Shell: true,
		Command:    "trap 'echo got TERM' TERM; echo $$ > " + ready + "; while :; do sleep 0.05; done",
		StdoutPath: filepath.Join(dir, "stdout")})
	readPids(t, ready, 1)
	const grace = 400 * time.Millisecond
	begin := time.Now()
	if err := p.Kill(grace); err != nil {
		t.Fatalf("Kill: %v", err)
	}
	st := waitTimeout(t, p, 5*time.Second)
	if el := time.Since(begin); el < grace {
		t.Fatalf("killed after %v, before the %v grace period", el, grace)
	}
	if !st.Signaled || st.Signal != syscall.SIGKILL {
		t.Fatalf("status %+v, want SIGKILL", st)
	}
	out, _ := os.ReadFile(filepath.Join(dir, "stdout"))
	if !strings.Contains(string(out), "got TERM") {
		t.Fatalf("SIGTERM was not delivered first; stdout %q", out)
	}
}

func TestKillZeroGraceIsImmediate(t *testing.T) {
	dir := t.TempDir()
	ready := filepath.Join(dir, "ready")
	p := start(t, Spec{Shell: true, Command: "trap '' TERM; echo $$ > " + ready + "; while :; do sleep 0.05; done"})
	readPids(t, ready, 1)
	if err := p.Kill(0); err != nil {
		t.Fatal(err)
	}
	if st := waitTimeout(t, p, 5*time.Second); st.Signal != syscall.SIGKILL {
		t.Fatalf("status %+v, want SIGKILL", st)
	}
}

func TestKillTree(t *testing.T) {
	dir := t.TempDir()
	pids := filepath.Join(dir, "pids")
	// a: a child in the group; b: a grandchild in the group; c: a child in its
	// own session that ignores SIGTERM; d: c's child, also outside the group.
	script := `
sleep 1000 & a=$!
sh -c 'sleep 1000 & echo $! > ` + dir + `/b; wait' &
setsid sh -c 'trap "" TERM; sleep 1000 & echo $! > ` + dir + `/d; echo $$ > ` + dir + `/c; while :; do sleep 0.05; done' &
while [ ! -s ` + dir + `/b ] || [ ! -s ` + dir + `/c ] || [ ! -s ` + dir + `/d ]; do sleep 0.01; done
echo $a $(cat ` + dir + `/b) $(cat ` + dir + `/c) $(cat ` + dir + `/d) > ` + pids + `
wait
`
	p := start(t, Spec{Shell: true, Command: script})
	tree := readPids(t, pids, 4)

	c := tree[2]
	if s, err := readStat(c); err != nil || s.pgrp == p.Pid() {
		t.Fatalf("setsid child %d should have left the group: %+v %v", c, s, err)
	}
	in := PIDTree(p.Pid())
	if len(in) == 0 || in[0] != p.Pid() {
		t.Fatalf("PIDTree(%d) = %v, want root first", p.Pid(), in)
	}
	for _, pid := range tree {
		if !slices.Contains(in, pid) {
			t.Fatalf("PIDTree(%d) = %v, missing %d", p.Pid(), in, pid)
		}
	}

	begin := time.Now()
	if err := p.Kill(300 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	st := waitTimeout(t, p, 5*time.Second)
	if !st.Signaled {
		t.Fatalf("root status %+v, want signalled", st)
	}
	waitGone(t, tree)
	// c ignores SIGTERM, so only the escalation can have killed it.
	if el := time.Since(begin); el < 300*time.Millisecond {
		t.Fatalf("tree gone after %v, before the grace period", el)
	}
}

func TestKillLeftoverGroupAfterRootExit(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "pid")
	// The root exits at once and leaves a background child in its group.
	p := start(t, Spec{Shell: true, Command: "sleep 1000 & echo $! > " + pidFile})
	pid := readPids(t, pidFile, 1)[0]
	if st := waitTimeout(t, p, 5*time.Second); !st.Success() {
		t.Fatalf("status %+v", st)
	}
	if gone(pid) {
		t.Fatalf("background child %d already gone", pid)
	}
	if err := p.Kill(time.Second); err != nil {
		t.Fatal(err)
	}
	waitGone(t, []int{pid})
}

func TestPIDTreeMissing(t *testing.T) {
	p := start(t, Spec{Shell: true, Command: "exit 0"})
	waitTimeout(t, p, 5*time.Second)
	// A pid that cannot exist.
	if got := PIDTree(1 << 30); got != nil {
		t.Fatalf("PIDTree of a missing pid = %v", got)
	}
	if got := PIDTree(os.Getpid()); len(got) == 0 || got[0] != os.Getpid() {
		t.Fatalf("PIDTree(self) = %v", got)
	}
}

func TestKillAfterExitIsHarmless(t *testing.T) {
	p := start(t, Spec{Shell: true, Command: "exit 4"})
	if st := waitTimeout(t, p, 5*time.Second); st.Code != 4 {
		t.Fatalf("status %+v", st)
	}
	if err := p.Kill(100 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if st, _ := p.Wait(); st.Code != 4 {
		t.Fatalf("status changed to %+v", st)
	}
}
