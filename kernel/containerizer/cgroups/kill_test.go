package cgroups

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// killVariant is one way Kill can work on this host.
type killVariant struct {
	name   string
	info   Info
	ok     bool // the host has the hierarchies this variant needs
	noKill bool // force the freeze path on v2
	needs  string
}

// killVariants are: the host as detected (on a hybrid host: cgroup.kill of
// the unified hierarchy), its v1 hierarchies alone (the v1 freezer), and its
// unified hierarchy alone with cgroup.kill and with the v2 freezer.
func killVariants(info Info) []killVariant {
	v1, v1ok := v1Only(info)
	v2, v2ok := v2Only(info)
	return []killVariant{
		{name: "as detected", info: info, ok: true},
		{name: "v1 freezer", info: v1, ok: v1ok && v1.Usable("freezer"), needs: "a usable v1 freezer hierarchy"},
		{name: "v2 cgroup.kill", info: v2, ok: v2ok, needs: "a usable cgroup2 mount"},
		{name: "v2 freeze", info: v2, ok: v2ok, noKill: true, needs: "a usable cgroup2 mount"},
	}
}

// usable returns the variant's Info, or skips: a host is either pure v2 or
// not, so one of the variants never applies. That is the shape of the host,
// not a missing dependency (the "as detected" variant always runs, and
// fails under CI=true when cgroups are missing), so it skips even in CI.
func (v killVariant) usable(t *testing.T) Info {
	t.Helper()
	if !v.ok {
		t.Skipf("this host has no %s (host shape, not a missing dependency)", v.needs)
	}
	return v.info
}

// daemonScript starts a double-forked daemon in a session of its own, whose
// pid goes to $1, then waits on two children of its own.
const daemonScript = `(setsid sh -c 'sleep 600 & echo $! > "$1"' sh "$1" &); sleep 600 & sleep 600 & wait`

// TestKillDoubleForkDaemon kills a container whose daemon left both its
// parent and its session, through each kill path this host offers.
func TestKillDoubleForkDaemon(t *testing.T) {
	info := hostInfo(t)
	if _, err := os.Stat("/usr/bin/setsid"); err != nil {
		if _, err := os.Stat("/bin/setsid"); err != nil {
			skipOrFail(t, "setsid (util-linux) not installed")
		}
	}
	for _, v := range killVariants(info) {
		t.Run(v.name, func(t *testing.T) {
			inf := v.usable(t)
			m := newManager(t, inf)
			m.noCgroupKill = v.noKill
			const id = "daemon"
			if err := m.Create(id, Limits{CPUs: 0.5, MemBytes: 64 * mib}); err != nil {
				t.Fatal(err)
			}
			pidFile := filepath.Join(t.TempDir(), "daemon.pid")
			p := start(t, m, id, nil, "/bin/sh", "-c", daemonScript, "sh", pidFile)
			daemon := readPidFile(t, pidFile)
			_, ppid, sid, err := procStat(daemon)
			if err != nil {
				t.Fatal(err)
			}
			_, _, topSid, err := procStat(p.cmd.Process.Pid)
			if err != nil {
				t.Fatal(err)
			}
			if sid == topSid || ppid == p.cmd.Process.Pid {
				t.Fatalf("daemon %d did not escape: ppid %d sid %d, container sid %d", daemon, ppid, sid, topSid)
			}
			eventually(t, 10*time.Second, "daemon and both sleeps in the container", func() bool {
				pids, err := m.Pids(id)
				return err == nil && len(pids) == 4 && slices.Contains(pids, daemon)
			})

			if err := m.Kill(id); err != nil {
				t.Fatal(err)
			}
			if !gone(daemon) {
				t.Errorf("daemon %d survived Kill", daemon)
			}
			if sig := p.wait(t, 10*time.Second); sig != syscall.SIGKILL {
				t.Errorf("container init ended with %v, want SIGKILL", sig)
			}
			if pids, err := m.Pids(id); err != nil || len(pids) != 0 {
				t.Errorf("after Kill: pids %v, %v", pids, err)
			}
			if d := m.v1["freezer"]; d != "" {
				if s, _ := readString(filepath.Join(d, id), "freezer.state"); s != "THAWED" {
					t.Errorf("freezer.state %q after Kill", s)
				}
			}
			if !m.Exists(id) {
				t.Error("Kill removed the cgroups")
			}

			if err := m.Destroy(id); err != nil {
				t.Fatal(err)
			}
			for _, d := range m.dirs(id) {
				if _, err := os.Stat(d); !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("%s left behind: %v", d, err)
				}
			}
			if ids, _ := m.List(); len(ids) != 0 || m.Exists(id) {
				t.Errorf("after Destroy: List %v", ids)
			}
		})
	}
}

// TestUnified exercises the v2 layout on the host's cgroup2 mount (on a
// hybrid host one without controllers): container and leaf, Add, process
// and thread counts, cpu.stat usage, cgroup.events notifications,
// cgroup.kill and removal.
func TestUnified(t *testing.T) {
	info := hostInfo(t)
	inf, ok := v2Only(info)
	if !ok {
		skipOrFail(t, "no usable cgroup2 mount: %s", info)
	}
	m := newManager(t, inf)
	const id = "u1"
	if err := m.Create(id, Limits{CPUs: 1, MemBytes: 64 * mib, PidsMax: 100}); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(m.v2, id)
	for _, d := range []string{dir, filepath.Join(dir, leaf)} {
		if _, err := os.Stat(filepath.Join(d, "cgroup.procs")); err != nil {
			t.Fatalf("cgroup %s: %v", d, err)
		}
	}
	sub, err := readString(dir, "cgroup.subtree_control")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range m.v2ctrl {
		if !slices.Contains(strings.Fields(sub), c) {
			t.Errorf("%s not enabled for the leaf: %q", c, sub)
		}
	}
	t.Logf("%s; enforced %v", m, m.Enforced())

	p := start(t, m, id, nil, "/bin/sh", "-c", "sleep 600 & sleep 600 & wait")
	leafPids, err := readPids(filepath.Join(dir, leaf), "cgroup.procs")
	if err != nil || !slices.Contains(leafPids, p.cmd.Process.Pid) {
		t.Fatalf("leaf holds %v (%v), want %d", leafPids, err, p.cmd.Process.Pid)
	}
	if own, _ := readPids(dir, "cgroup.procs"); len(own) != 0 {
		t.Errorf("processes in the container cgroup itself: %v", own)
	}
	stats := func() Stats {
		s, err := m.Stats(id)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	eventually(t, 10*time.Second, "3 processes", func() bool { s := stats(); return s.Processes == 3 && s.Threads == 3 })

	startWorkload(t, m, id, 0, true)
	var s Stats
	eventually(t, 30*time.Second, "4 processes and cpu time", func() bool {
		s = stats()
		return s.Processes == 4 && s.CPUUserSecs+s.CPUSystemSecs >= 0.2
	})
	if s.Threads <= 4 {
		t.Errorf("threads %d: the Go workload alone has several", s.Threads)
	}

	w, err := inotifyWaker(filepath.Join(dir, "cgroup.events"))
	if err != nil {
		t.Fatal(err)
	}
	defer w.close()
	if err := m.Kill(id); err != nil {
		t.Fatal(err)
	}
	select {
	case <-w.wake():
	case <-time.After(10 * time.Second):
		t.Error("no cgroup.events notification")
	}
	if ev, err := readKeyed(dir, "cgroup.events"); err != nil || ev["populated"] != 0 {
		t.Errorf("cgroup.events %v, %v", ev, err)
	}
	if sig := p.wait(t, 10*time.Second); sig != syscall.SIGKILL {
		t.Errorf("ended with %v", sig)
	}
	if err := m.Destroy(id); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("%s left behind", dir)
	}
}

// TestKillExceptSparesTheExecutor kills everything of a container but its
// init (standing for the executor), the escaped daemon included.
func TestKillExceptSparesTheExecutor(t *testing.T) {
	info := hostInfo(t)
	m := newManager(t, info)
	const id = "spare"
	if err := m.Create(id, Limits{CPUs: 0.5, MemBytes: 64 * mib}); err != nil {
		t.Fatal(err)
	}
	pidFile := filepath.Join(t.TempDir(), "daemon.pid")
	p := start(t, m, id, nil, "/bin/sh", "-c", daemonScript, "sh", pidFile)
	daemon := readPidFile(t, pidFile)
	eventually(t, 10*time.Second, "daemon and both sleeps in the container", func() bool {
		pids, err := m.Pids(id)
		return err == nil && len(pids) == 4
	})
	if err := m.KillExcept(id, p.cmd.Process.Pid); err != nil {
		t.Fatal(err)
	}
	if !gone(daemon) {
		t.Errorf("daemon %d survived KillExcept", daemon)
	}
	// Only the init may be left (it exits on its own once its wait ends).
	pids, err := m.Pids(id)
	if err != nil || len(pids) > 1 || len(pids) == 1 && pids[0] != p.cmd.Process.Pid {
		t.Fatalf("after KillExcept: pids %v, %v (init %d)", pids, err, p.cmd.Process.Pid)
	}
	// The init's children were killed, so its wait returns and it exits.
	if sig := p.wait(t, 10*time.Second); sig != 0 {
		t.Errorf("init ended with %v, want a normal exit", sig)
	}
	if err := m.Destroy(id); err != nil {
		t.Fatal(err)
	}
}
