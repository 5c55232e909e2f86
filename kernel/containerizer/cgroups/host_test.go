package cgroups

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// Integration tests on this machine's cgroups, through whichever hierarchy
// holds each controller (v1 here on a hybrid host, v2 on a pure v2 host).

// unlimited in a want column: the kernel's "no limit" value.
const noLimit = ^uint64(0)

// checkLimits reads back what the kernel stored for the container.
func checkLimits(t *testing.T, m *Manager, id string, shares uint64, quota int64, soft, hard uint64, pids string) {
	t.Helper()
	eq := func(dir, file, want string) {
		t.Helper()
		got, err := readString(dir, file)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("%s = %q, want %q", file, got, want)
		}
	}
	atLeast := func(dir, file string, want uint64) {
		t.Helper()
		got, err := readUint(dir, file)
		if err != nil {
			t.Fatal(err)
		}
		if want == noLimit && got < unlimitedV1Min || want != noLimit && got != want {
			t.Errorf("%s = %d, want %d", file, got, want)
		}
	}
	v2dir := filepath.Join(m.v2, id)
	switch {
	case m.v1["cpu"] != "":
		d := filepath.Join(m.v1["cpu"], id)
		eq(d, "cpu.shares", strconv.FormatUint(shares, 10))
		if quota < 0 {
			eq(d, "cpu.cfs_quota_us", "-1")
		} else {
			eq(d, "cpu.cfs_period_us", "100000")
			eq(d, "cpu.cfs_quota_us", strconv.FormatInt(quota, 10))
		}
	case slices.Contains(m.v2ctrl, "cpu"):
		eq(v2dir, "cpu.weight", strconv.FormatUint(min(max((shares*100+512)/1024, 1), 10000), 10))
		if quota < 0 {
			eq(v2dir, "cpu.max", "max 100000")
		} else {
			eq(v2dir, "cpu.max", strconv.FormatInt(quota, 10)+" 100000")
		}
	}
	switch {
	case m.v1["memory"] != "":
		d := filepath.Join(m.v1["memory"], id)
		atLeast(d, "memory.soft_limit_in_bytes", soft)
		atLeast(d, "memory.limit_in_bytes", hard)
	case slices.Contains(m.v2ctrl, "memory"):
		if soft == noLimit {
			soft = 0
		}
		atLeast(v2dir, "memory.low", soft)
		atLeast(v2dir, "memory.max", hard)
	}
	switch {
	case m.v1["pids"] != "":
		eq(filepath.Join(m.v1["pids"], id), "pids.max", pids)
	case slices.Contains(m.v2ctrl, "pids"):
		eq(v2dir, "pids.max", pids)
	}
}

func TestCreateUpdateLimits(t *testing.T) {
	info := hostInfo(t)
	requireControllers(t, info, "cpu", "memory", "pids")
	m := newManager(t, info)
	steps := []struct {
		name       string
		l          Limits
		shares     uint64
		quota      int64
		soft, hard uint64
		pids       string
	}{
		{"create with a request", Limits{CPUs: 1.5, MemBytes: 64 * mib}, 1536, -1, 64 * mib, 64 * mib, "max"},
		{"add every limit", Limits{CPUs: 0.25, CPULimit: 0.5, MemBytes: 64 * mib, MemLimitBytes: 128 * mib, PidsMax: 50}, 256, 50000, 64 * mib, 128 * mib, "50"},
		{"minimums", Limits{CPUs: 0.001, CPULimit: 0.001, MemBytes: 1 * mib}, 2, 1000, 32 * mib, 32 * mib, "max"},
		{"unlimited hard memory", Limits{CPUs: 2, MemBytes: 64 * mib, MemLimitBytes: Unlimited}, 2048, -1, 64 * mib, noLimit, "max"},
		{"no memory limits", Limits{CPUs: 1}, 1024, -1, noLimit, noLimit, "max"},
	}
	for i, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			var err error
			if i == 0 {
				err = m.Create("limits", st.l)
			} else {
				err = m.Update("limits", st.l)
			}
			if err != nil {
				t.Fatal(err)
			}
			checkLimits(t, m, "limits", st.shares, st.quota, st.soft, st.hard, st.pids)
		})
	}
}

func TestOOMKillDetected(t *testing.T) {
	info := hostInfo(t)
	requireControllers(t, info, "memory")
	m := newManager(t, info)
	const id = "oom"
	if err := m.Create(id, Limits{CPUs: 1, MemBytes: 64 * mib}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	events, err := m.WatchOOM(ctx, id, 200*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	// The kernel notification on its own, as WatchOOM sets it up.
	dir, version, err := m.memoryDir(id)
	if err != nil {
		t.Fatal(err)
	}
	var w *waker
	if version == 1 {
		w, err = oomEventfd(dir)
	} else {
		w, err = inotifyWaker(filepath.Join(dir, "memory.events"))
	}
	if err != nil {
		t.Fatal(err)
	}
	defer w.close()

	p := startWorkload(t, m, id, 256, false)
	if sig := p.wait(t, 60*time.Second); sig != syscall.SIGKILL {
		t.Fatalf("workload ended with signal %v (%v), want SIGKILL from the OOM killer", sig, p.err)
	}
	select {
	case o := <-events:
		t.Logf("oom: %+v", o)
		if o.Kills < 1 || o.LimitBytes != 64*mib || o.LimitHits == 0 {
			t.Errorf("oom event %+v", o)
		}
		// The kernel charges in batches and may overshoot the limit by a
		// few pages before the OOM killer runs.
		if o.MaxUsageBytes < 48*mib || o.MaxUsageBytes > o.LimitBytes+mib {
			t.Errorf("peak usage %d, want close to the 64 MiB limit", o.MaxUsageBytes)
		}
	case <-ctx.Done():
		t.Fatal("WatchOOM reported nothing")
	}
	select {
	case <-w.wake():
	case <-ctx.Done():
		t.Fatal("no kernel OOM notification")
	}
	st, err := m.Stats(id)
	if err != nil {
		t.Fatal(err)
	}
	if st.OOMKills < 1 || st.MemLimitBytes != 64*mib {
		t.Errorf("stats after OOM: %+v", st)
	}
	o, err := m.OOMState(id)
	if err != nil || o.Kills != st.OOMKills {
		t.Errorf("OOMState %+v, %v", o, err)
	}
	// Destroying the cgroup closes the watch.
	if err := m.Destroy(id); err != nil {
		t.Fatal(err)
	}
	select {
	case _, ok := <-events:
		if ok {
			t.Error("second OOM event")
		}
	case <-ctx.Done():
		t.Fatal("watch not closed by Destroy")
	}
}

// TestPidsMaxBoundsForkBomb runs a shell fork bomb under pids.max, then
// kills it through each kill path that can carry a pids limit.
func TestPidsMaxBoundsForkBomb(t *testing.T) {
	info := hostInfo(t)
	requireControllers(t, info, "pids")
	for _, v := range killVariants(info) {
		if !v.info.Usable("pids") {
			continue // the unified hierarchy of a hybrid host has no pids controller
		}
		t.Run(v.name, func(t *testing.T) {
			m := newManager(t, v.usable(t))
			m.noCgroupKill = v.noKill
			const id, max = "bomb", 16
			if err := m.Create(id, Limits{CPUs: 0.5, CPULimit: 1, MemBytes: 256 * mib, PidsMax: max}); err != nil {
				t.Fatal(err)
			}
			dir := filepath.Join(m.v1["pids"], id)
			if m.v1["pids"] == "" {
				dir = filepath.Join(m.v2, id)
			}
			start(t, m, id, nil, "/bin/sh", "-c", "b() { b | b & }; b; wait")
			eventually(t, 30*time.Second, "a fork refused by pids.max", func() bool {
				cur, err := readUint(dir, "pids.current")
				if err != nil {
					t.Fatal(err)
				}
				if cur > max {
					t.Fatalf("pids.current %d above pids.max %d", cur, max)
				}
				ev, err := readKeyed(dir, "pids.events")
				if err != nil {
					t.Fatal(err)
				}
				return ev["max"] > 0
			})
			if s, err := m.Stats(id); err != nil || s.Processes > max {
				t.Errorf("stats %+v, %v", s, err)
			}
			if err := m.Kill(id); err != nil {
				t.Fatal(err)
			}
			if pids, err := m.Pids(id); err != nil || len(pids) != 0 {
				t.Fatalf("after Kill: %v %v", pids, err)
			}
		})
	}
}

func TestStatsBusyLoop(t *testing.T) {
	info := hostInfo(t)
	requireControllers(t, info, "cpu", "cpuacct", "memory")
	m := newManager(t, info)
	const id = "busy"
	if err := m.Create(id, Limits{CPUs: 1, CPULimit: 0.5, MemBytes: 128 * mib}); err != nil {
		t.Fatal(err)
	}
	startWorkload(t, m, id, 16, true)
	var s Stats
	eventually(t, 30*time.Second, "0.3 s of cpu and 16 MiB", func() bool {
		var err error
		if s, err = m.Stats(id); err != nil {
			t.Fatal(err)
		}
		return s.CPUUserSecs+s.CPUSystemSecs >= 0.3 && s.MemRSSBytes >= 16*mib
	})
	t.Logf("stats: %+v", s)
	if s.CPUUserSecs <= s.CPUSystemSecs {
		t.Errorf("a busy loop should be mostly user time: %+v", s)
	}
	if s.CPUPeriods == 0 || s.CPUThrottled == 0 || s.CPUThrottledSecs <= 0 {
		t.Errorf("a busy loop under a 0.5 cpu quota is throttled: %+v", s)
	}
	if s.MemLimitBytes != 128*mib || s.MemTotalBytes < s.MemRSSBytes || s.OOMKills != 0 {
		t.Errorf("memory: %+v", s)
	}
	if s.Processes != 1 || s.Threads < 2 {
		t.Errorf("one Go process with several threads: %+v", s)
	}
}

func TestUpdateBelowUsage(t *testing.T) {
	info := hostInfo(t)
	requireControllers(t, info, "memory")
	m := newManager(t, info)
	const id = "shrink"
	if err := m.Create(id, Limits{CPUs: 0.5, MemBytes: 128 * mib}); err != nil {
		t.Fatal(err)
	}
	p := startWorkload(t, m, id, 64, false)
	eventually(t, 30*time.Second, "64 MiB in use", func() bool {
		s, err := m.Stats(id)
		if err != nil {
			t.Fatal(err)
		}
		return s.MemRSSBytes >= 64*mib
	})
	err := m.Update(id, Limits{CPUs: 0.5, MemBytes: 32 * mib})
	if !errors.Is(err, syscall.EBUSY) && !errors.Is(err, errBelowUsage) {
		t.Fatalf("lowering the limit below usage: %v, want EBUSY (v1) or errBelowUsage (v2)", err)
	}
	select {
	case <-p.done:
		t.Fatalf("workload died: %v", p.err)
	default:
	}
	s, err := m.Stats(id)
	if err != nil {
		t.Fatal(err)
	}
	if s.MemLimitBytes != 128*mib || s.OOMKills != 0 {
		t.Errorf("limits changed by a refused update: %+v", s)
	}
}

func TestListExistsAcrossRoots(t *testing.T) {
	info := hostInfo(t)
	m1, m2 := newManager(t, info), newManager(t, info)
	for _, id := range []string{"b", "a"} {
		if err := m1.Create(id, Limits{CPUs: 0.1}); err != nil {
			t.Fatal(err)
		}
	}
	if err := m2.Create("c", Limits{CPUs: 0.1}); err != nil {
		t.Fatal(err)
	}
	list := func(m *Manager) []string {
		ids, err := m.List()
		if err != nil {
			t.Fatal(err)
		}
		return ids
	}
	if got := list(m1); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("m1.List() = %v", got)
	}
	if got := list(m2); !slices.Equal(got, []string{"c"}) {
		t.Errorf("m2.List() = %v", got)
	}
	if !m1.Exists("a") || m1.Exists("c") || m2.Exists("a") || m1.Exists("../a") {
		t.Error("Exists mixes up roots")
	}
	if err := m1.Create("a", Limits{CPUs: 0.1}); !errors.Is(err, fs.ErrExist) {
		t.Errorf("second Create: %v", err)
	}
	if !m1.Exists("a") {
		t.Error("a failed second Create removed the first container")
	}
	if err := m1.Update("nope", Limits{CPUs: 1}); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Update of a missing container: %v", err)
	}
	if err := m1.Add("a", os.Getpid()); err == nil {
		t.Error("Add accepted the calling process")
	}
	if err := m1.Create("x/y", Limits{}); err == nil {
		t.Error("Create accepted a path as id")
	}
	for range 2 { // Destroy is idempotent
		if err := m1.Destroy("a"); err != nil {
			t.Fatal(err)
		}
	}
	if got := list(m1); !slices.Equal(got, []string{"b"}) || m1.Exists("a") {
		t.Errorf("after Destroy: %v", got)
	}
	for _, d := range m1.dirs("a") {
		if _, err := os.Stat(d); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s left behind: %v", d, err)
		}
	}
}

func TestNewUnavailable(t *testing.T) {
	none := Info{Mode: ModeNone, Controllers: map[string]Controller{}}
	if _, err := New(Config{Root: "strata/x", Info: &none}); !errors.Is(err, ErrUnavailable) {
		t.Errorf("New without hierarchies: %v", err)
	}
	if _, err := New(Config{Root: "/abs", Info: &none}); err == nil {
		t.Error("New accepted an absolute root")
	}
}
