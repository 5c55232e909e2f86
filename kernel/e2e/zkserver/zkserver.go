package zkserver

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"strata/kernel/e2e/procs"
)

// Script is Debian's ZooKeeper launcher.
const Script = "/usr/share/zookeeper/bin/zkServer.sh"

// Require fails the test under CI=true, and skips it elsewhere, when ZooKeeper or Java is
// not installed (scripts/install-deps.sh installs them).
func Require(t testing.TB) {
	t.Helper()
	_, errScript := os.Stat(Script)
	_, errJava := exec.LookPath("java")
	if errScript == nil && errJava == nil {
		return
	}
	procs.Missing(t, "ZooKeeper is not installed (apt-get install zookeeper; scripts/install-deps.sh does it)")
}

// Member is one ZooKeeper server.
type Member struct {
	ID         int
	Host       string // the address clients are served on
	ClientPort int
	dir        string
	proc       *procs.Proc
	t          testing.TB
}

// Ensemble is a running set of ZooKeeper servers.
type Ensemble struct {
	Members []*Member
	t       testing.TB
}

// Start runs an ensemble of n members (n = 1: a standalone server) and waits until it serves.
func Start(t testing.TB, n int) *Ensemble { return StartOn(t, n, "127.0.0.1") }

// StartOn is Start with the members' clients served on host (an address of this machine that
// clients in other network namespaces reach) instead of 127.0.0.1.
func StartOn(t testing.TB, n int, host string) *Ensemble {
	t.Helper()
	Require(t)
	e := &Ensemble{t: t}
	peers := make([][2]int, n)
	for i := range n {
		peers[i] = [2]int{procs.FreePort(t), procs.FreePort(t)}
	}
	for i := range n {
		m := &Member{ID: i + 1, Host: host, ClientPort: procs.FreePort(t), dir: t.TempDir(), t: t}
		var cfg strings.Builder
		fmt.Fprintf(&cfg, "tickTime=200\ninitLimit=50\nsyncLimit=25\ndataDir=%s\nclientPort=%d\nclientPortAddress=%s\n",
			filepath.Join(m.dir, "data"), m.ClientPort, host)
		cfg.WriteString("admin.enableServer=false\n4lw.commands.whitelist=srvr,ruok\nmaxSessionTimeout=60000\n")
		if n > 1 {
			for j := range n {
				fmt.Fprintf(&cfg, "server.%d=127.0.0.1:%d:%d\n", j+1, peers[j][0], peers[j][1])
			}
		}
		if err := os.MkdirAll(filepath.Join(m.dir, "data"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(m.dir, "data", "myid"), []byte(fmt.Sprint(m.ID)), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(m.dir, "zoo.cfg"), []byte(cfg.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		e.Members = append(e.Members, m)
	}
	for _, m := range e.Members {
		m.Start()
	}
	for _, m := range e.Members {
		m.WaitServing(60 * time.Second)
	}
	return e
}

// Servers are the members' client addresses.
func (e *Ensemble) Servers() []string {
	out := make([]string, len(e.Members))
	for i, m := range e.Members {
		out[i] = m.Addr()
	}
	return out
}

// URL is the zk:// URL of path on the ensemble ("/mesos").
func (e *Ensemble) URL(path string) string {
	return "zk://" + strings.Join(e.Servers(), ",") + path
}

// Addr is the member's client address.
func (m *Member) Addr() string { return fmt.Sprintf("%s:%d", m.Host, m.ClientPort) }

// Start starts the member (again).
func (m *Member) Start() {
	m.t.Helper()
	m.proc = procs.StartEnv(m.t, []string{
		"ZOO_LOG_DIR=" + m.dir, "ZOO_LOG4J_PROP=WARN,CONSOLE", "JVMFLAGS=-Xmx256m -XX:+UseSerialGC",
	}, Script, "start-foreground", filepath.Join(m.dir, "zoo.cfg"))
}

// Stop stops the member with SIGTERM; Kill with SIGKILL.
func (m *Member) Stop() { m.proc.Signal(m.t, syscall.SIGTERM) }

// Kill stops the member with SIGKILL.
func (m *Member) Kill() { m.proc.Signal(m.t, syscall.SIGKILL) }

// Mode asks the member for its mode ("leader", "follower", "standalone"), "" if it does not
// serve.
func (m *Member) Mode() string {
	c, err := net.DialTimeout("tcp", m.Addr(), time.Second)
	if err != nil {
		return ""
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write([]byte("srvr")); err != nil {
		return ""
	}
	b := make([]byte, 4096)
	var out []byte
	for {
		n, err := c.Read(b)
		out = append(out, b[:n]...)
		if err != nil {
			break
		}
	}
	for _, line := range strings.Split(string(out), "\n") {
		if mode, ok := strings.CutPrefix(line, "Mode: "); ok {
			return strings.TrimSpace(mode)
		}
	}
	return ""
}

// WaitServing waits until the member serves clients.
func (m *Member) WaitServing(within time.Duration) {
	m.t.Helper()
	deadline := time.Now().Add(within)
	for m.Mode() == "" {
		if time.Now().After(deadline) {
			m.t.Fatalf("zookeeper member %d (%s) not serving within %s:\n%s", m.ID, m.Addr(), within, m.proc.Output())
		}
		select {
		case <-m.proc.Done():
			m.t.Fatalf("zookeeper member %d exited:\n%s", m.ID, m.proc.Output())
		case <-time.After(200 * time.Millisecond):
		}
	}
}
