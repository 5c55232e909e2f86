package standby

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The test binary doubles as a standby: with STANDBY_TEST_CHILD set it awaits
// its launch, then reports what it became on its (new) stdout and stderr.
func TestMain(m *testing.M) {
	if os.Getenv("STANDBY_TEST_CHILD") != "" {
		os.Exit(child())
	}
	os.Exit(m.Run())
}

// report is what the child writes to its stdout once launched.
type report struct {
	Cwd    string
	Env    []string
	FDOpen bool // descriptor ChildFD still open after the launch
}

func child() int {
	ok, err := Await()
	if errors.Is(err, ErrDiscarded) {
		return 7
	}
	if err != nil || !ok {
		fmt.Fprintln(os.Stderr, "await:", ok, err)
		return 1
	}
	cwd, _ := os.Getwd()
	var st syscall.Stat_t
	open := syscall.Fstat(ChildFD, &st) == nil
	_ = json.NewEncoder(os.Stdout).Encode(report{Cwd: cwd, Env: os.Environ(), FDOpen: open})
	fmt.Fprintln(os.Stderr, "to stderr")
	return 0
}

// startChild starts the test binary as a standby.
func startChild(t *testing.T) (*Conn, *exec.Cmd) {
	t.Helper()
	conn, fd, err := NewPair()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "STANDBY_TEST_CHILD=1", EnvFD+"=3")
	cmd.ExtraFiles = []*os.File{fd}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	fd.Close()
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return conn, cmd
}

func outputs(t *testing.T, dir string) (*os.File, *os.File) {
	t.Helper()
	var files []*os.File
	for _, name := range []string{"stdout", "stderr"} {
		f, err := os.OpenFile(filepath.Join(dir, name), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		files = append(files, f)
	}
	return files[0], files[1]
}

func waitExit(t *testing.T, cmd *exec.Cmd) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("child did not exit")
	}
	return cmd.ProcessState.ExitCode()
}

func TestLaunch(t *testing.T) {
	big := strings.Repeat("x", 300<<10) // more than one write of the socket
	for _, tc := range []struct {
		name       string
		afterReady bool
		env        []string
	}{
		{"after ready", true, []string{"A=1", "B=two=2", "A=3"}},
		{"before ready", false, []string{"A=1"}},
		{"large environment", true, []string{"A=1", "BIG=" + big}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn, cmd := startChild(t)
			dir := t.TempDir()
			stdout, stderr := outputs(t, dir)
			if tc.afterReady {
				select {
				case <-conn.Ready():
				case <-time.After(20 * time.Second):
					t.Fatal("standby never ready")
				}
			}
			if err := conn.Send(Launch{Dir: dir, Env: tc.env, Stdout: stdout, Stderr: stderr}); err != nil {
				t.Fatal(err)
			}
			conn.Close() // before the child has read anything, in "before ready"
			if code := waitExit(t, cmd); code != 0 {
				b, _ := os.ReadFile(filepath.Join(dir, "stderr"))
				t.Fatalf("child exit code %d: %s", code, b)
			}
			b, err := os.ReadFile(filepath.Join(dir, "stdout"))
			if err != nil {
				t.Fatal(err)
			}
			var r report
			if err := json.Unmarshal(b, &r); err != nil {
				t.Fatalf("child stdout %q: %v", b, err)
			}
			if want, _ := filepath.EvalSymlinks(dir); r.Cwd != want && r.Cwd != dir {
				t.Errorf("cwd = %q, want %q", r.Cwd, dir)
			}
			if r.FDOpen {
				t.Error("the standby socket is still open after the launch")
			}
			env := map[string]string{}
			for _, kv := range r.Env {
				k, v, _ := strings.Cut(kv, "=")
				env[k] = v
			}
			if _, ok := env[EnvFD]; ok || env["STANDBY_TEST_CHILD"] != "" {
				t.Errorf("the start environment survived the launch: %v", r.Env)
			}
			want := map[string]string{}
			for _, kv := range tc.env {
				k, v, _ := strings.Cut(kv, "=")
				want[k] = v // the last value of a name wins, as with exec
			}
			if len(env) != len(want) {
				t.Errorf("environment has %d names, want %d", len(env), len(want))
			}
			for k, v := range want {
				if env[k] != v {
					t.Errorf("%s has %d bytes, want %d", k, len(env[k]), len(v))
				}
			}
			if b, _ := os.ReadFile(filepath.Join(dir, "stderr")); string(b) != "to stderr\n" {
				t.Errorf("stderr = %q", b)
			}
		})
	}
}

func TestDiscarded(t *testing.T) {
	conn, cmd := startChild(t)
	<-conn.Ready()
	conn.Close()
	if code := waitExit(t, cmd); code != 7 {
		t.Fatalf("discarded standby exit code %d, want 7 (ErrDiscarded)", code)
	}
}

func TestNotAStandby(t *testing.T) {
	if _, ok := os.LookupEnv(EnvFD); ok {
		t.Fatalf("%s set in the test process", EnvFD)
	}
	ok, err := Await()
	if ok || err != nil {
		t.Fatalf("Await outside a standby = %v, %v", ok, err)
	}
	t.Setenv(EnvFD, "1")
	if ok, err := Await(); !ok || err == nil {
		t.Fatalf("Await with %s=1 = %v, %v; want an error", EnvFD, ok, err)
	}
}

func TestSendNeedsOutputs(t *testing.T) {
	conn, fd, err := NewPair()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	defer fd.Close()
	if err := conn.Send(Launch{Dir: "/"}); err == nil {
		t.Fatal("Send without stdout and stderr succeeded")
	}
}

// TestLaunchIsolatedExec starts a standby in a mount namespace of its own and
// launches it with a private /tmp, another user and a program to exec.
func TestLaunchIsolatedExec(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("needs root")
		}
		t.Skip("needs root")
	}
	conn, fd, err := NewPair()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "STANDBY_TEST_CHILD=1", EnvFD+"=3")
	cmd.ExtraFiles = []*os.File{fd}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Cloneflags: syscall.CLONE_NEWNS}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	fd.Close()
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	stdout, stderr := outputs(t, dir)
	marker := "strata-standby-" + filepath.Base(dir)
	// A kept directory (like the agent's podman socket directory) stays
	// visible in the private /tmp; a missing one is skipped.
	kept := t.TempDir()
	if err := os.WriteFile(filepath.Join(kept, "kept.txt"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	err = conn.Send(Launch{
		Dir: dir, Env: []string{"PATH=/usr/bin:/bin", "MARK=" + marker, "KEPT=" + kept}, Stdout: stdout, Stderr: stderr,
		Mounts: &Mounts{PrivateTmp: filepath.Join(dir, "tmp"), Keep: []string{kept, filepath.Join(kept, "missing")}},
		User:   &Credential{UID: 65534, GID: 65534},
		Exec: &Exec{Path: "sh", Args: []string{"sh", "-c",
			`id -u; id -g; touch /tmp/$MARK && ls /tmp && test -f "$KEPT/kept.txt" && test -f "$PWD/stdout" && echo sandbox-visible`}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		b, _ := os.ReadFile(filepath.Join(dir, "stderr"))
		t.Fatalf("child: %v: %s", err, b)
	}
	out, _ := os.ReadFile(filepath.Join(dir, "stdout"))
	if !strings.HasPrefix(string(out), "65534\n65534\n") || !strings.Contains(string(out), "\n"+marker+"\n") ||
		!strings.HasSuffix(string(out), "sandbox-visible\n") {
		t.Fatalf("stdout = %q", out)
	}
	if _, err := os.Stat(filepath.Join(dir, "tmp", marker)); err != nil {
		t.Fatalf("file not in the private /tmp on the host: %v", err)
	}
	if _, err := os.Stat(filepath.Join("/tmp", marker)); err == nil {
		os.Remove(filepath.Join("/tmp", marker))
		t.Fatal("the file landed in the host's /tmp")
	}
}
