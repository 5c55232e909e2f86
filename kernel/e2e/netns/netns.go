package netns

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// NS is a network namespace joined to the host by a veth pair.
type NS struct {
	Name   string // the namespace, as `ip netns` names it
	HostIf string // the host side of the veth pair
	NSIf   string // the namespace side
	HostIP string // 10.213.N.1, on HostIf
	NSIP   string // 10.213.N.2, on NSIf

	mu      sync.Mutex
	deleted bool
}

// namePrefix starts every namespace this package creates; the test process's pid follows, so
// that a namespace left behind by a killed run can be told from one in use.
const namePrefix = "strata-nt-"

var (
	seqMu sync.Mutex
	seq   int
	taken = map[int]bool{} // subnets handed out by this process
)

// Available reports why namespaces cannot be created here (nil when they can): they need root,
// iproute2's ip and util-linux's nsenter.
func Available() error {
	if os.Geteuid() != 0 {
		return errors.New("netns: network namespaces need root")
	}
	for _, tool := range []string{"ip", "nsenter"} {
		if _, err := lookPath(tool); err != nil {
			return fmt.Errorf("netns: %s not found (apt-get install iproute2 util-linux): %w", tool, err)
		}
	}
	return nil
}

// lookPath finds a tool in PATH or in the sbin directories a non-login PATH may lack.
func lookPath(tool string) (string, error) {
	if p, err := exec.LookPath(tool); err == nil {
		return p, nil
	}
	for _, dir := range []string{"/usr/sbin", "/sbin", "/usr/bin", "/bin"} {
		p := filepath.Join(dir, tool)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", exec.ErrNotFound
}

// ip runs `ip args...` and returns its error with the tool's output.
func ip(args ...string) error {
	bin, err := lookPath("ip")
	if err != nil {
		return fmt.Errorf("netns: ip: %w", err)
	}
	out, err := exec.Command(bin, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("netns: ip %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// Create makes a namespace with a veth pair to the host on a free /30 and registers its
// deletion with t.Cleanup. tag (a short word, e.g. "a") goes into the namespace's name.
func Create(t testing.TB, tag string) *NS {
	t.Helper()
	if err := Available(); err != nil {
		t.Fatal(err)
	}
	sweepStale()
	seqMu.Lock()
	seq++
	n := seq
	seqMu.Unlock()
	pid := os.Getpid()
	ns := &NS{
		Name:   fmt.Sprintf("%s%d-%d%s", namePrefix, pid, n, tag),
		HostIf: fmt.Sprintf("st%d-%dh", pid, n),
		NSIf:   fmt.Sprintf("st%d-%dn", pid, n),
	}
	if len(ns.HostIf) > 15 { // IFNAMSIZ-1
		ns.HostIf, ns.NSIf = fmt.Sprintf("st%d-%dh", pid%1000000, n), fmt.Sprintf("st%d-%dn", pid%1000000, n)
	}
	subnet, err := freeSubnet()
	if err != nil {
		t.Fatal(err)
	}
	ns.HostIP, ns.NSIP = fmt.Sprintf("10.213.%d.1", subnet), fmt.Sprintf("10.213.%d.2", subnet)
	t.Cleanup(func() {
		if err := ns.Delete(); err != nil {
			t.Errorf("netns cleanup: %v", err)
		}
		seqMu.Lock()
		delete(taken, subnet)
		seqMu.Unlock()
	})
	steps := [][]string{
		{"netns", "add", ns.Name},
		{"link", "add", ns.HostIf, "type", "veth", "peer", "name", ns.NSIf},
		{"link", "set", ns.NSIf, "netns", ns.Name},
		{"addr", "add", ns.HostIP + "/30", "dev", ns.HostIf},
		{"link", "set", ns.HostIf, "up"},
		{"-n", ns.Name, "addr", "add", ns.NSIP + "/30", "dev", ns.NSIf},
		{"-n", ns.Name, "link", "set", ns.NSIf, "up"},
		{"-n", ns.Name, "link", "set", "lo", "up"},
		// Every host address (a HostAddress too) is reached through the host side.
		{"-n", ns.Name, "route", "add", "default", "via", ns.HostIP},
	}
	for _, s := range steps {
		if err := ip(s...); err != nil {
			t.Fatal(err)
		}
	}
	return ns
}

var hostAddr = regexp.MustCompile(`\b10\.213\.(\d+)\.\d+/`)

// freeSubnet picks N for 10.213.N.0/30 that no host interface uses and this process has not
// handed out.
func freeSubnet() (int, error) {
	bin, err := lookPath("ip")
	if err != nil {
		return 0, fmt.Errorf("netns: ip: %w", err)
	}
	out, err := exec.Command(bin, "-o", "-4", "addr", "show").Output()
	if err != nil {
		return 0, fmt.Errorf("netns: ip addr show: %w", err)
	}
	used := map[int]bool{}
	for _, m := range hostAddr.FindAllStringSubmatch(string(out), -1) {
		n, _ := strconv.Atoi(m[1])
		used[n] = true
	}
	seqMu.Lock()
	defer seqMu.Unlock()
	start := rand.IntN(254)
	for k := 0; k < 254; k++ {
		n := 1 + (start+k)%254
		if !used[n] && !taken[n] {
			taken[n] = true
			return n, nil
		}
	}
	return 0, errors.New("netns: no free /30 left in 10.213.0.0/16")
}

// sweepStale deletes namespaces this package created in runs that are gone (their pid no longer
// exists) and that hold no process any more: what a killed test run leaves behind.
func sweepStale() {
	entries, err := os.ReadDir("/run/netns")
	if err != nil {
		return
	}
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), namePrefix)
		if !ok {
			continue
		}
		pidStr, _, _ := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidStr)
		if err != nil || pid == os.Getpid() || syscall.Kill(pid, 0) == nil || errors.Is(syscall.Kill(pid, 0), syscall.EPERM) {
			continue
		}
		if len(pidsIn(e.Name())) > 0 {
			continue
		}
		_ = ip("netns", "del", e.Name())
	}
}

// pidsIn lists the processes in a namespace.
func pidsIn(name string) []int {
	bin, err := lookPath("ip")
	if err != nil {
		return nil
	}
	out, err := exec.Command(bin, "netns", "pids", name).Output()
	if err != nil {
		return nil
	}
	var pids []int
	for _, f := range strings.Fields(string(out)) {
		if p, err := strconv.Atoi(f); err == nil {
			pids = append(pids, p)
		}
	}
	return pids
}

// Path is the namespace's file, for setns(2) and nsenter --net.
func (n *NS) Path() string { return filepath.Join("/run/netns", n.Name) }

// Command prepares name with args to run inside the namespace. It enters the namespace with
// nsenter --net and nothing else: `ip netns exec` would also mount a fresh /sys, which hides
// /sys/fs/cgroup, and an agent there could not isolate its tasks with cgroups. The process is
// the command itself (nsenter execs it), so signals reach it directly.
func (n *NS) Command(name string, args ...string) *exec.Cmd {
	bin, err := lookPath("nsenter")
	if err != nil {
		bin = "nsenter"
	}
	return exec.Command(bin, append([]string{"--net=" + n.Path(), "--", name}, args...)...)
}

// Exec runs name with args inside the namespace, waits at most 30 s for it, and returns its
// combined output.
func (n *NS) Exec(name string, args ...string) ([]byte, error) {
	cmd := n.Command(name, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("netns: %s: %w", name, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			return out.Bytes(), fmt.Errorf("netns: %s in %s: %w: %s", name, n.Name, err, strings.TrimSpace(out.String()))
		}
		return out.Bytes(), nil
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		return out.Bytes(), fmt.Errorf("netns: %s in %s did not finish within 30s", name, n.Name)
	}
}

// LinkDown takes the host side of the veth pair down: the namespace is cut off from the host
// (its side loses carrier; packets either way are dropped, connections see no RST or FIN).
func (n *NS) LinkDown() error { return ip("link", "set", n.HostIf, "down") }

// LinkUp brings the host side back up: the partition heals.
func (n *NS) LinkUp() error { return ip("link", "set", n.HostIf, "up") }

// Holds reports whether process pid runs inside the namespace.
func (n *NS) Holds(pid int) bool {
	want, err := os.Stat(n.Path())
	if err != nil {
		return false
	}
	have, err := os.Stat(fmt.Sprintf("/proc/%d/ns/net", pid))
	if err != nil {
		return false
	}
	return os.SameFile(want, have)
}

// Count counts the processes inside the namespace whose command line is argv (argv[0] compared
// by its base name): a test's task processes, given a command unique to the test.
func (n *NS) Count(argv ...string) int {
	count := 0
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		have := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
		if len(have) != len(argv) || len(argv) == 0 || filepath.Base(have[0]) != filepath.Base(argv[0]) {
			continue
		}
		same := true
		for i := 1; i < len(argv); i++ {
			same = same && have[i] == argv[i]
		}
		if same && n.Holds(pid) {
			count++
		}
	}
	return count
}

// Delete removes the veth pair and the namespace. Processes still inside keep the namespace
// alive (without its name) until they exit: stop them first. Deleting twice is a no-op.
func (n *NS) Delete() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.deleted {
		return nil
	}
	n.deleted = true
	var errs []error
	if _, err := os.Stat("/sys/class/net/" + n.HostIf); err == nil {
		if err := ip("link", "del", n.HostIf); err != nil {
			errs = append(errs, err)
		}
	}
	if _, err := os.Stat(n.Path()); err == nil {
		if err := ip("netns", "del", n.Name); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// HostAddress gives the host an address of its own, 10.213.N.1/32 on the loopback interface,
// that every namespace reaches (through its default route) and that, unlike a veth's host side,
// stays up when a namespace's link goes down: the address for servers that agents in several
// namespaces share (masters, ZooKeeper). The address is removed at the end of the test.
func HostAddress(t testing.TB) string {
	t.Helper()
	if err := Available(); err != nil {
		t.Fatal(err)
	}
	subnet, err := freeSubnet()
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("10.213.%d.1", subnet)
	if err := ip("addr", "add", addr+"/32", "dev", "lo"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := ip("addr", "del", addr+"/32", "dev", "lo"); err != nil {
			t.Errorf("netns cleanup: %v", err)
		}
		seqMu.Lock()
		delete(taken, subnet)
		seqMu.Unlock()
	})
	return addr
}
