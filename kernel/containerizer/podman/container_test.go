package podman

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestOutputAndExitCode(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name       string
		shell      string
		args       []string
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{"streams", `echo out; echo err >&2; printf 'no newline'`, nil, 0, "out\nno newline", "err\n"},
		{"exit code", `echo bye; exit 3`, nil, 3, "bye\n", ""},
		// PID 1 cannot be killed from inside; its child can, and the
		// shell reports that as 128+9.
		{"child killed by a signal", `sh -c 'kill -9 $$'; exit $?`, nil, 137, "", "Killed\n"},
		{"argv form", "", []string{"/bin/echo", "a  b", "$HOME"}, 0, "a  b $HOME\n", ""},
		{"many lines", `i=0; while [ $i -lt 2000 ]; do echo line $i; i=$((i+1)); done`, nil, 0, manyLines(2000), ""},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := e.spec(fmt.Sprintf("out%d", i), tt.shell)
			if tt.args != nil {
				s.Entrypoint, s.Args = []string{}, tt.args
			}
			exit, stdout, stderr := e.runToEnd(s)
			if exit.Code != tt.wantCode || exit.OOMKilled {
				t.Errorf("exit %+v, want code %d and no OOM kill", exit, tt.wantCode)
			}
			if stdout != tt.wantStdout || stderr != tt.wantStderr {
				t.Errorf("stdout %q stderr %q, want %q and %q", stdout, stderr, tt.wantStdout, tt.wantStderr)
			}
		})
	}
}

func manyLines(n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "line %d\n", i)
	}
	return b.String()
}

func TestEnvUserWorkDirAndSandbox(t *testing.T) {
	e := newEnv(t)
	s := e.spec("env", `echo "$GREETING $MESOS_SANDBOX $(id -u) $(pwd)"; cat $MESOS_SANDBOX/in.txt; echo written > $MESOS_SANDBOX/out.txt; echo "ulimits $(ulimit -n) $(ulimit -u)"`)
	s.Env = map[string]string{"GREETING": "hello world"}
	s.WorkDir = "/tmp"
	if err := os.WriteFile(filepath.Join(s.Sandbox, "in.txt"), []byte("from the host\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	exit, stdout, stderr := e.runToEnd(s)
	if exit.Code != 0 {
		t.Fatalf("exit %+v, stderr %q", exit, stderr)
	}
	limits := map[string]uint64{}
	for _, u := range e.svc.Ulimits() {
		limits[u.Name] = u.Hard
	}
	want := fmt.Sprintf("hello world /mnt/mesos/sandbox 0 /tmp\nfrom the host\nulimits %d %d\n", limits["nofile"], limits["nproc"])
	if stdout != want {
		t.Errorf("stdout %q, want %q", stdout, want)
	}
	if got := readFile(t, filepath.Join(s.Sandbox, "out.txt")); got != "written\n" {
		t.Errorf("out.txt %q", got)
	}

	// Another user, who cannot write to the sandbox (it is root's, 0755).
	s = e.spec("nobody", `id -u; touch $MESOS_SANDBOX/x`)
	s.User = "nobody"
	exit, stdout, _ = e.runToEnd(s)
	if exit.Code == 0 || stdout != "65534\n" {
		t.Errorf("as nobody: exit %+v stdout %q, want uid 65534 and a failed touch", exit, stdout)
	}
}

func TestVolumes(t *testing.T) {
	e := newEnv(t)
	ro, rw := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(ro, "data.txt"), []byte("read me\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := e.spec("vol", `cat /ro/data.txt; if touch /ro/new 2>/dev/null; then echo ro-writable; fi; echo rw > /rw/new.txt`)
	s.Volumes = []Volume{{HostPath: ro, ContainerPath: "/ro", ReadOnly: true}, {HostPath: rw, ContainerPath: "/rw"}}
	exit, stdout, stderr := e.runToEnd(s)
	if exit.Code != 0 || stdout != "read me\n" {
		t.Fatalf("exit %+v stdout %q stderr %q", exit, stdout, stderr)
	}
	if _, err := os.Stat(filepath.Join(ro, "new")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the read-only volume was written to: %v", err)
	}
	if got := readFile(t, filepath.Join(rw, "new.txt")); got != "rw\n" {
		t.Errorf("rw volume file %q", got)
	}
}

// httpGet fetches url and returns the body, or a description of the failure.
func httpGet(url string) (string, error) {
	client := &http.Client{Timeout: 2 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("status %d", resp.StatusCode)
	}
	return string(b), err
}

func TestNetworks(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name    string
		network Network
	}{
		{"bridge with a port mapping", NetworkBridge},
		{"host", NetworkHost},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hostPort := freePort(t)
			s := e.spec(fmt.Sprintf("net%d", i), "")
			s.Network = tt.network
			listen := hostPort
			if tt.network == NetworkBridge {
				listen = 8080
				s.PortMappings = []PortMapping{{HostPort: hostPort, ContainerPort: 8080, Protocol: "tcp"}}
			}
			s.Shell = fmt.Sprintf(`echo served-by-%s > /var/www/index.html; exec httpd -f -p %d -h /var/www`, tt.name[:4], listen)
			st := e.run(s)
			url := fmt.Sprintf("http://127.0.0.1:%d/", hostPort)
			eventually(t, 20*time.Second, "GET "+url, func() (bool, string) {
				body, err := httpGet(url)
				if err != nil {
					return false, err.Error()
				}
				return body == "served-by-"+tt.name[:4]+"\n", body
			})
			info, err := e.client.Inspect(e.ctx, st.Name)
			if err != nil {
				t.Fatal(err)
			}
			if !info.Running || info.State != "running" || info.Labels[LabelAgent] != e.agentID {
				t.Errorf("Inspect = %+v", info)
			}
			if tt.network == NetworkBridge && len(info.IPAddresses) == 0 {
				t.Errorf("a bridged container has no IP address: %+v", info)
			}
			if tt.network == NetworkHost && len(info.IPAddresses) != 0 {
				t.Errorf("a host-network container has IP addresses %v", info.IPAddresses)
			}
			if err := e.client.Stop(e.ctx, st.Name, time.Second); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestOOMKilled(t *testing.T) {
	e := newEnv(t)
	s := e.spec("oom", `echo start; tail /dev/zero`)
	s.MemoryLimit = 32 << 20
	exit, stdout, _ := e.runToEnd(s)
	if !exit.OOMKilled || exit.Code != 137 {
		t.Fatalf("exit %+v, want OOMKilled with code 137", exit)
	}
	if stdout != "start\n" {
		t.Errorf("stdout %q", stdout)
	}
}

func TestStopGracePeriod(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name     string
		shell    string
		grace    time.Duration
		wantCode int
	}{
		// PID 1 that ignores SIGTERM: SIGKILL after the grace period.
		{"ignores TERM", `trap '' TERM; echo ready; while true; do sleep 1; done`, time.Second, 137},
		// PID 1 that handles SIGTERM exits on its own, within the grace
		// period (Stop returns as soon as it has).
		{"handles TERM", `trap 'echo terminated; exit 3' TERM; echo ready; while true; do sleep 0.1; done`, 30 * time.Second, 3},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := e.spec(fmt.Sprintf("stop%d", i), tt.shell)
			st := e.run(s)
			copied := make(chan error, 1)
			go func() { copied <- e.client.CopyLogs(e.ctx, st.Name, s.Sandbox) }()
			eventually(t, 20*time.Second, "ready", func() (bool, string) {
				b, _ := os.ReadFile(filepath.Join(s.Sandbox, "stdout"))
				return strings.Contains(string(b), "ready"), string(b)
			})
			if err := e.client.Stop(e.ctx, st.Name, tt.grace); err != nil {
				t.Fatal(err)
			}
			exit, err := e.client.Wait(e.ctx, st.Name)
			if err != nil {
				t.Fatal(err)
			}
			if exit.Code != tt.wantCode {
				t.Errorf("exit %+v, want code %d", exit, tt.wantCode)
			}
			if err := <-copied; err != nil {
				t.Fatal(err)
			}
			if got := readFile(t, filepath.Join(s.Sandbox, "stdout")); (tt.wantCode == 3) != strings.Contains(got, "terminated") {
				t.Errorf("stdout %q", got)
			}
			info, err := e.client.Inspect(e.ctx, st.Name)
			if err != nil {
				t.Fatal(err)
			}
			if info.Running || info.FinishedAt.IsZero() {
				t.Errorf("after Stop: %+v", info)
			}
			if err := e.client.Stop(e.ctx, st.Name, time.Second); err != nil {
				t.Errorf("stopping a stopped container: %v", err)
			}
		})
	}
}

func TestExec(t *testing.T) {
	e := newEnv(t)
	st := e.run(e.spec("exec", `sleep 1000`))
	res, err := e.client.Exec(e.ctx, st.Name, []string{"sh", "-c", `echo "$CHECK in $(pwd)"; echo warn >&2; exit 4`},
		ExecOptions{Env: map[string]string{"CHECK": "health"}, WorkDir: "/tmp"})
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 4 || string(res.Stdout) != "health in /tmp\n" || string(res.Stderr) != "warn\n" {
		t.Errorf("Exec = code %d stdout %q stderr %q", res.ExitCode, res.Stdout, res.Stderr)
	}
	res, err = e.client.Exec(e.ctx, st.Name, []string{"true"}, ExecOptions{})
	if err != nil || res.ExitCode != 0 {
		t.Errorf("Exec true = %+v, %v", res, err)
	}
	// Output beyond the limit is dropped.
	res, err = e.client.Exec(e.ctx, st.Name, []string{"sh", "-c", "yes | head -c 100000"}, ExecOptions{OutputLimit: 10})
	if err != nil || len(res.Stdout) != 10 {
		t.Errorf("Exec with an output limit = %d bytes, %v", len(res.Stdout), err)
	}
	// A command that cannot run fails, with an error or an exit code.
	res, err = e.client.Exec(e.ctx, st.Name, []string{"/no/such/command"}, ExecOptions{})
	if err == nil && res.ExitCode == 0 {
		t.Errorf("Exec of a missing command succeeded")
	}
	if err == nil {
		t.Logf("Exec of a missing command: code %d, stderr %q", res.ExitCode, res.Stderr)
	}
	if _, err := e.client.Exec(e.ctx, "strata-no-such-container", []string{"true"}, ExecOptions{}); !errors.Is(err, ErrNotFound) {
		t.Errorf("Exec in a missing container: %v, want ErrNotFound", err)
	}
}

func TestStats(t *testing.T) {
	e := newEnv(t)
	// 8 MiB of page cache, a busy loop, and a dd holding a 20 MiB buffer
	// it cannot write out (sleep never reads).
	s := e.spec("stats", `dd if=/dev/zero of=/tmp/cache bs=1M count=8 2>/dev/null; `+
		`sh -c 'while :; do :; done' & dd if=/dev/zero bs=20M count=1 2>/dev/null | sleep 1000`)
	s.MemoryLimit = 64 << 20
	s.CPUShares = CPUShares(0.5)
	st := e.run(s)
	var last *Stats
	eventually(t, 30*time.Second, "CPU time and memory show up", func() (bool, string) {
		stats, err := e.client.Stats(e.ctx, st.Name)
		if err != nil {
			return false, err.Error()
		}
		last = stats
		return stats.CPUUserSecs+stats.CPUSystemSecs >= 0.2 && stats.MemRSSBytes >= 20<<20, fmt.Sprintf("%+v", stats)
	})
	if last.MemLimitBytes != 64<<20 || last.MemRSSBytes > 64<<20 || last.MemTotalBytes < last.MemRSSBytes {
		t.Errorf("memory: %+v", last)
	}
	if last.MemCacheBytes < 8<<20 {
		t.Errorf("page cache %d, want the 8 MiB file: %+v", last.MemCacheBytes, last)
	}
	if info, err := e.client.Inspect(e.ctx, st.Name); err != nil || info.MemoryLimit != 64<<20 {
		t.Errorf("Inspect: memory limit %v, %v", info, err)
	}
	if last.Processes < 4 || last.Processes > 10 {
		t.Errorf("processes %d, want sh, its loop, dd and sleep", last.Processes)
	}
	if last.CPUUserSecs <= 0 {
		t.Errorf("no user CPU time from a busy loop: %+v", last)
	}
	if err := e.client.Stop(e.ctx, st.Name, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.Stats(e.ctx, st.Name); !errors.Is(err, ErrNotRunning) {
		t.Errorf("Stats of a stopped container: %v, want ErrNotRunning", err)
	}
	if err := e.client.Remove(e.ctx, st.Name); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.Stats(e.ctx, st.Name); !errors.Is(err, ErrNotFound) {
		t.Errorf("Stats of a removed container: %v, want ErrNotFound", err)
	}
}

func TestListOnlyOurs(t *testing.T) {
	e := newEnv(t)
	a := e.run(e.spec("list-a", "sleep 1000"))
	b := e.run(e.spec("list-b", "true"))
	other := e.spec("list-other", "sleep 1000")
	other.AgentID = e.agentID + "-other"
	o := e.run(other)
	defer e.client.Remove(context.Background(), o.ID)
	// A container with no agent label at all, made with the podman CLI.
	stranger := "strata-stranger-" + e.agentID
	if out, err := exec.Command("podman", "create", "--name", stranger, e.image, "true").CombinedOutput(); err != nil {
		t.Fatalf("podman create: %v: %s", err, out)
	}
	defer exec.Command("podman", "rm", "-f", stranger).Run()

	list, err := e.client.List(e.ctx, e.agentID)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Summary{}
	for _, s := range list {
		got[s.ID] = s
	}
	if len(got) != 2 || got[a.ID].Name != a.Name || got[b.ID].Name != b.Name {
		t.Fatalf("List = %+v, want exactly %s and %s", list, a.Name, b.Name)
	}
	if got[a.ID].ContainerID != "list-a-"+e.agentID || got[a.ID].State != "running" {
		t.Errorf("summary %+v", got[a.ID])
	}
	for _, s := range list {
		if err := e.client.Remove(e.ctx, s.ID); err != nil {
			t.Fatal(err)
		}
	}
	if list, err := e.client.List(e.ctx, e.agentID); err != nil || len(list) != 0 {
		t.Fatalf("List after removing = %+v, %v", list, err)
	}
	if _, err := e.client.List(e.ctx, ""); err == nil {
		t.Error("List of an empty agent id succeeded")
	}
	// Removing twice, and waiting for nothing.
	if err := e.client.Remove(e.ctx, a.ID); err != nil {
		t.Errorf("second Remove: %v", err)
	}
	if _, err := e.client.Wait(e.ctx, a.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("Wait for a removed container: %v, want ErrNotFound", err)
	}
}

func TestMissingImage(t *testing.T) {
	e := newEnv(t)
	for _, force := range []bool{false, true} {
		s := e.spec(fmt.Sprintf("img%v", force), "true")
		s.Image, s.ForcePull = "busybox:nope", force
		_, err := e.client.Run(e.ctx, s)
		var ie *ImageError
		if !errors.As(err, &ie) || ie.Image != "busybox:nope" {
			t.Fatalf("Run with a missing image: %v, want an *ImageError", err)
		}
		want := "podman: image busybox:nope not found locally and could not be pulled: "
		if force {
			want = "podman: image busybox:nope could not be pulled: "
		}
		if !strings.HasPrefix(err.Error(), want) || len(err.Error()) <= len(want) {
			t.Errorf("error %q, want it to start with %q and give the reason", err, want)
		}
	}
	// The local test image is used without a pull, which would fail here.
	if err := e.client.EnsureImage(e.ctx, e.image, false); err != nil {
		t.Fatal(err)
	}
	if list, _ := e.client.List(e.ctx, e.agentID); len(list) != 0 {
		t.Fatalf("failed runs left containers: %+v", list)
	}
}

// CopyLogs that stops (an executor restart) and starts again copies every
// line exactly once.
func TestCopyLogsResumes(t *testing.T) {
	e := newEnv(t)
	s := e.spec("resume", `echo first; while [ ! -f $MESOS_SANDBOX/go ]; do sleep 0.1; done; echo second; echo third >&2`)
	st := e.run(s)
	ctx, cancel := context.WithCancel(e.ctx)
	copied := make(chan error, 1)
	go func() { copied <- e.client.CopyLogs(ctx, st.Name, s.Sandbox) }()
	eventually(t, 20*time.Second, "first line copied", func() (bool, string) {
		b, _ := os.ReadFile(filepath.Join(s.Sandbox, "stdout"))
		return string(b) == "first\n", string(b)
	})
	cancel()
	if err := <-copied; !errors.Is(err, context.Canceled) {
		t.Fatalf("CopyLogs after cancel: %v", err)
	}
	if err := os.WriteFile(filepath.Join(s.Sandbox, "go"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if exit, err := e.client.Wait(e.ctx, st.Name); err != nil || exit.Code != 0 {
		t.Fatalf("Wait = %+v, %v", exit, err)
	}
	// The container has exited: this CopyLogs copies the rest and returns.
	if err := e.client.CopyLogs(e.ctx, st.Name, s.Sandbox); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(s.Sandbox, "stdout")); got != "first\nsecond\n" {
		t.Errorf("stdout %q", got)
	}
	if got := readFile(t, filepath.Join(s.Sandbox, "stderr")); got != "third\n" {
		t.Errorf("stderr %q", got)
	}
	// Once more, also after the container is gone: nothing is copied twice.
	if err := e.client.CopyLogs(e.ctx, st.Name, s.Sandbox); err != nil {
		t.Fatal(err)
	}
	if err := e.client.Remove(e.ctx, st.Name); err != nil {
		t.Fatal(err)
	}
	if err := e.client.CopyLogs(e.ctx, st.Name, s.Sandbox); err != nil {
		t.Fatalf("CopyLogs of a removed container with its log: %v", err)
	}
	if got := readFile(t, filepath.Join(s.Sandbox, "stdout")); got != "first\nsecond\n" {
		t.Errorf("stdout after more CopyLogs %q", got)
	}
	if err := e.client.CopyLogs(e.ctx, "strata-never-was", s.Sandbox); !errors.Is(err, ErrNotFound) {
		t.Errorf("CopyLogs of an unknown container: %v, want ErrNotFound", err)
	}
}
