package cgroups

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Stats and OOM readers against temp dirs holding sample interface files,
// one table per cgroup version.

func TestReadStatsV1(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  Stats
	}{
		{
			name: "hierarchical keys",
			files: map[string]string{
				"cpuacct.stat":          "user 250\nsystem 75\n",
				"cpu.stat":              "nr_periods 40\nnr_throttled 12\nthrottled_time 1500000000\nnr_bursts 0\nburst_time 0\n",
				"memory.stat":           "cache 4096\nrss 8192\nswap 0\ntotal_cache 40960\ntotal_rss 81920\n",
				"memory.usage_in_bytes": "131072\n",
				"memory.limit_in_bytes": "67108864\n",
				"memory.oom_control":    "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n",
			},
			want: Stats{CPUUserSecs: 2.5, CPUSystemSecs: 0.75, CPUPeriods: 40, CPUThrottled: 12, CPUThrottledSecs: 1.5,
				MemRSSBytes: 81920, MemCacheBytes: 40960, MemTotalBytes: 131072, MemLimitBytes: 64 * mib, OOMKills: 2},
		},
		{
			name: "old kernel, no limit",
			files: map[string]string{
				"cpuacct.stat":          "user 1\nsystem 0\n",
				"cpu.stat":              "nr_periods 0\nnr_throttled 0\nthrottled_time 0\n",
				"memory.stat":           "cache 100\nrss 200\n",
				"memory.usage_in_bytes": "300\n",
				"memory.limit_in_bytes": "9223372036854771712\n",
				"memory.oom_control":    "oom_kill_disable 0\nunder_oom 0\n",
			},
			want: Stats{CPUUserSecs: 0.01, MemRSSBytes: 200, MemCacheBytes: 100, MemTotalBytes: 300},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, tt.files)
			var s Stats
			for _, read := range []func(string, *Stats) error{readCPUAcctV1, readCPUThrottleV1, readMemoryV1} {
				if err := read(dir, &s); err != nil {
					t.Fatal(err)
				}
			}
			if s != tt.want {
				t.Errorf("got  %+v\nwant %+v", s, tt.want)
			}
		})
	}
}

func TestReadStatsV2(t *testing.T) {
	tests := []struct {
		name   string
		files  map[string]string
		memory bool
		want   Stats
	}{
		{
			name: "all controllers",
			files: map[string]string{
				"cpu.stat":       "usage_usec 3500000\nuser_usec 3000000\nsystem_usec 500000\nnr_periods 20\nnr_throttled 5\nthrottled_usec 250000\nnr_bursts 0\nburst_usec 0\n",
				"memory.stat":    "anon 1048576\nfile 2097152\nkernel 4096\nshmem 0\n",
				"memory.current": "3200000\n",
				"memory.max":     "134217728\n",
				"memory.events":  "low 0\nhigh 0\nmax 7\noom 1\noom_kill 1\noom_group_kill 0\n",
			},
			memory: true,
			want: Stats{CPUUserSecs: 3, CPUSystemSecs: 0.5, CPUPeriods: 20, CPUThrottled: 5, CPUThrottledSecs: 0.25,
				MemRSSBytes: 1048576, MemCacheBytes: 2097152, MemTotalBytes: 3200000, MemLimitBytes: 128 * mib, OOMKills: 1},
		},
		{
			name: "no memory limit",
			files: map[string]string{
				"cpu.stat":       "usage_usec 10\nuser_usec 7\nsystem_usec 3\n",
				"memory.stat":    "anon 5\nfile 6\n",
				"memory.current": "11\n",
				"memory.max":     "max\n",
				"memory.events":  "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n",
			},
			memory: true,
			want:   Stats{CPUUserSecs: 7e-6, CPUSystemSecs: 3e-6, MemRSSBytes: 5, MemCacheBytes: 6, MemTotalBytes: 11},
		},
		{
			name: "core only (no controllers)",
			files: map[string]string{
				"cpu.stat": "usage_usec 2000000\nuser_usec 1500000\nsystem_usec 500000\nnice_usec 0\n",
			},
			want: Stats{CPUUserSecs: 1.5, CPUSystemSecs: 0.5},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, tt.files)
			var s Stats
			if err := readCPUV2(dir, &s); err != nil {
				t.Fatal(err)
			}
			if tt.memory {
				if err := readMemoryV2(dir, &s); err != nil {
					t.Fatal(err)
				}
			}
			if s != tt.want {
				t.Errorf("got  %+v\nwant %+v", s, tt.want)
			}
		})
	}
}

func TestCountTasks(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "leaf")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFiles(t, dir, map[string]string{"cgroup.procs": "", "cgroup.threads": ""})
	writeFiles(t, sub, map[string]string{"cgroup.procs": "10\n20\n", "cgroup.threads": "10\n11\n12\n20\n"})
	var s Stats
	if err := countTasks(dir, "cgroup.threads", &s); err != nil {
		t.Fatal(err)
	}
	if s.Processes != 2 || s.Threads != 4 {
		t.Errorf("processes %d threads %d, want 2 4", s.Processes, s.Threads)
	}
}

func TestReadOOM(t *testing.T) {
	tests := []struct {
		name    string
		version int
		files   map[string]string
		want    OOM
	}{
		{"v1", 1, map[string]string{
			"memory.oom_control":        "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n",
			"memory.limit_in_bytes":     "67108864\n",
			"memory.usage_in_bytes":     "1000000\n",
			"memory.max_usage_in_bytes": "67108864\n",
			"memory.failcnt":            "412\n",
		}, OOM{Kills: 3, LimitBytes: 64 * mib, UsageBytes: 1000000, MaxUsageBytes: 64 * mib, LimitHits: 412}},
		{"v1 unlimited", 1, map[string]string{
			"memory.oom_control":        "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n",
			"memory.limit_in_bytes":     "9223372036854771712\n",
			"memory.usage_in_bytes":     "5\n",
			"memory.max_usage_in_bytes": "6\n",
			"memory.failcnt":            "0\n",
		}, OOM{UsageBytes: 5, MaxUsageBytes: 6}},
		{"v2 with peak", 2, map[string]string{
			"memory.events":  "low 0\nhigh 0\nmax 31\noom 1\noom_kill 1\noom_group_kill 0\n",
			"memory.max":     "67108864\n",
			"memory.current": "4096\n",
			"memory.peak":    "67108864\n",
		}, OOM{Kills: 1, LimitBytes: 64 * mib, UsageBytes: 4096, MaxUsageBytes: 64 * mib, LimitHits: 31}},
		{"v2 before 5.19", 2, map[string]string{
			"memory.events":  "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n",
			"memory.max":     "max\n",
			"memory.current": "4096\n",
		}, OOM{UsageBytes: 4096}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, tt.files)
			got, err := readOOM(dir, tt.version)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestParseKeyed(t *testing.T) {
	got := parseKeyed([]byte("a 1\nb max\n  c 3  \nbad\nd -1\ne x\n"))
	want := map[string]uint64{"a": 1, "b": Unlimited, "c": 3, "d": Unlimited}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %d, want %d", k, got[k], v)
		}
	}
}

// TestInotifyWaker checks the v2 wake-up on a plain file: inotify reports
// writes the same way cgroupfs reports memory.events changes.
func TestInotifyWaker(t *testing.T) {
	p := filepath.Join(t.TempDir(), "memory.events")
	writeFiles(t, filepath.Dir(p), map[string]string{"memory.events": "oom_kill 0\n"})
	w, err := inotifyWaker(p)
	if err != nil {
		t.Fatal(err)
	}
	defer w.close()
	writeFiles(t, filepath.Dir(p), map[string]string{"memory.events": "oom_kill 1\n"})
	select {
	case <-w.wake():
	case <-time.After(10 * time.Second):
		t.Fatal("no wake-up after a write")
	}
}

// TestWatchOOMPollsFiles runs the watcher over a temp dir that mimics a v2
// memory cgroup: a bumped oom_kill counter is reported, a removed cgroup
// closes the channel.
func TestWatchOOMPollsFiles(t *testing.T) {
	mount := t.TempDir()
	dir := filepath.Join(mount, "root", "c1")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	events := func(kills string) map[string]string {
		return map[string]string{
			"memory.events":  "low 0\nhigh 0\nmax 9\noom 1\noom_kill " + kills + "\n",
			"memory.max":     "67108864\n",
			"memory.current": "123\n",
		}
	}
	writeFiles(t, dir, events("0"))
	m := &Manager{root: "root", v1: map[string]string{}, v2: filepath.Join(mount, "root"), v2ctrl: []string{"memory"}, log: quiet}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ch, err := m.WatchOOM(ctx, "c1", 50*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	writeFiles(t, dir, events("2"))
	select {
	case o := <-ch:
		if o.Kills != 2 || o.LimitBytes != 64*mib || o.UsageBytes != 123 || o.LimitHits != 9 {
			t.Errorf("event %+v", o)
		}
	case <-ctx.Done():
		t.Fatal("no OOM event")
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	select {
	case o, ok := <-ch:
		if ok {
			t.Fatalf("unexpected event %+v", o)
		}
	case <-ctx.Done():
		t.Fatal("channel not closed after the cgroup went away")
	}
	if _, err := m.WatchOOM(ctx, "c1", 0); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("watch of a missing cgroup: %v", err)
	}
}
