package cgroups

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const mib = 1 << 20

func TestWeight(t *testing.T) {
	tests := map[float64]uint64{0: 1, 0.001: 1, 0.01: 1, 0.5: 50, 1: 100, 1.5: 150, 16: 1600, 100: 10000, 1000: 10000}
	for cpus, want := range tests {
		if got := (Limits{CPUs: cpus}).weight(); got != want {
			t.Errorf("weight of %v cpus = %d, want %d", cpus, got, want)
		}
	}
}

func TestLimitsDerived(t *testing.T) {
	tests := []struct {
		name       string
		l          Limits
		shares     uint64
		quota      int64
		soft, hard uint64
	}{
		{"one cpu", Limits{CPUs: 1, MemBytes: 64 * mib}, 1024, 0, 64 * mib, 64 * mib},
		{"fraction", Limits{CPUs: 0.25, CPULimit: 0.5, MemBytes: 64 * mib, MemLimitBytes: 128 * mib}, 256, 50000, 64 * mib, 128 * mib},
		{"minimums", Limits{CPUs: 0.001, CPULimit: 0.001, MemBytes: 1 * mib}, 2, 1000, MinMemory, MinMemory},
		{"no cpus", Limits{}, 2, 0, Unlimited, Unlimited},
		{"infinite cpu limit", Limits{CPUs: 2, CPULimit: math.Inf(1)}, 2048, 0, Unlimited, Unlimited},
		{"unlimited hard memory", Limits{CPUs: 1, MemBytes: 64 * mib, MemLimitBytes: Unlimited}, 1024, 0, 64 * mib, Unlimited},
		{"limit without request", Limits{CPUs: 1, MemLimitBytes: 100 * mib}, 1024, 0, Unlimited, 100 * mib},
		{"small limit raised", Limits{CPUs: 1, MemBytes: 4 * mib, MemLimitBytes: 8 * mib}, 1024, 0, MinMemory, MinMemory},
		{"huge cpus capped", Limits{CPUs: 1000, CPULimit: 4}, maxShares, 400000, Unlimited, Unlimited},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.l.Validate(); err != nil {
				t.Fatal(err)
			}
			if got := tt.l.shares(); got != tt.shares {
				t.Errorf("shares %d, want %d", got, tt.shares)
			}
			if got := tt.l.quotaUS(); got != tt.quota {
				t.Errorf("quota %d, want %d", got, tt.quota)
			}
			soft, hard := tt.l.memory()
			if soft != tt.soft || hard != tt.hard {
				t.Errorf("memory soft %d hard %d, want %d %d", soft, hard, tt.soft, tt.hard)
			}
		})
	}
}

func TestLimitsValidate(t *testing.T) {
	tests := []struct {
		name string
		l    Limits
		want string
	}{
		{"negative cpus", Limits{CPUs: -1}, "cpus"},
		{"NaN cpus", Limits{CPUs: math.NaN()}, "cpus"},
		{"infinite cpus", Limits{CPUs: math.Inf(1)}, "cpus"},
		{"negative cpu limit", Limits{CPUs: 1, CPULimit: -0.5}, "cpu limit"},
		{"NaN cpu limit", Limits{CPUs: 1, CPULimit: math.NaN()}, "cpu limit"},
		{"limit below request", Limits{CPUs: 1, MemBytes: 128 * mib, MemLimitBytes: 64 * mib}, "below the memory request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.l.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "cgroups: ") {
				t.Errorf("Validate() = %v, want an error about %q", err, tt.want)
			}
		})
	}
}

// readAll returns the trimmed content of the named files of dir.
func readAll(t *testing.T, dir string, names ...string) map[string]string {
	t.Helper()
	out := make(map[string]string)
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			t.Fatal(err)
		}
		out[n] = strings.TrimSpace(string(b))
	}
	return out
}

// TestWriteV1 writes limits into a temp dir holding the v1 interface files.
func TestWriteV1(t *testing.T) {
	tests := []struct {
		name string
		l    Limits
		want map[string]string
	}{
		{"request only", Limits{CPUs: 1.5, MemBytes: 64 * mib}, map[string]string{
			"cpu.shares": "1536", "cpu.cfs_quota_us": "-1", "cpu.cfs_period_us": "",
			"memory.soft_limit_in_bytes": "67108864", "memory.limit_in_bytes": "67108864", "pids.max": "max",
		}},
		{"all limits", Limits{CPUs: 0.25, CPULimit: 0.5, MemBytes: 64 * mib, MemLimitBytes: 128 * mib, PidsMax: 50}, map[string]string{
			"cpu.shares": "256", "cpu.cfs_quota_us": "50000", "cpu.cfs_period_us": "100000",
			"memory.soft_limit_in_bytes": "67108864", "memory.limit_in_bytes": "134217728", "pids.max": "50",
		}},
		{"no memory limits", Limits{CPUs: 2}, map[string]string{
			"cpu.shares": "2048", "cpu.cfs_quota_us": "-1",
			"memory.soft_limit_in_bytes": "-1", "memory.limit_in_bytes": "-1", "pids.max": "max",
		}},
		{"unlimited hard memory", Limits{CPUs: 1, MemBytes: 64 * mib, MemLimitBytes: Unlimited}, map[string]string{
			"memory.soft_limit_in_bytes": "67108864", "memory.limit_in_bytes": "-1",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			// No memory.memsw.* files: swap accounting off must not matter.
			touchFiles(t, dir, "cpu.shares", "cpu.cfs_quota_us", "cpu.cfs_period_us",
				"memory.soft_limit_in_bytes", "memory.limit_in_bytes", "pids.max")
			if err := writeCPUV1(dir, tt.l); err != nil {
				t.Fatal(err)
			}
			if err := writeMemoryV1(dir, tt.l); err != nil {
				t.Fatal(err)
			}
			if err := writePids(dir, tt.l); err != nil {
				t.Fatal(err)
			}
			for name, want := range tt.want {
				if got := readAll(t, dir, name)[name]; got != want {
					t.Errorf("%s = %q, want %q", name, got, want)
				}
			}
		})
	}
}

// TestWriteV2 writes limits into a temp dir that mimics a v2 cgroup with the
// cpu, memory and pids controllers, which this host's unified hierarchy
// lacks.
func TestWriteV2(t *testing.T) {
	tests := []struct {
		name    string
		l       Limits
		update  bool
		current string // memory.current
		want    map[string]string
		err     error
	}{
		{"request only", Limits{CPUs: 1, MemBytes: 64 * mib}, false, "0", map[string]string{
			"cpu.weight": "100", "cpu.max": "max 100000", "memory.low": "67108864", "memory.max": "67108864", "pids.max": "max",
		}, nil},
		{"all limits", Limits{CPUs: 0.5, CPULimit: 1.5, MemBytes: 64 * mib, MemLimitBytes: 256 * mib, PidsMax: 100}, false, "0", map[string]string{
			"cpu.weight": "50", "cpu.max": "150000 100000", "memory.low": "67108864", "memory.max": "268435456", "pids.max": "100",
		}, nil},
		{"minimum weight", Limits{CPUs: 0}, false, "0", map[string]string{
			"cpu.weight": "1", "cpu.max": "max 100000", "memory.low": "0", "memory.max": "max",
		}, nil},
		{"unlimited hard memory", Limits{CPUs: 1, MemBytes: 64 * mib, MemLimitBytes: Unlimited}, true, "500000000", map[string]string{
			"memory.low": "67108864", "memory.max": "max",
		}, nil},
		{"raise above usage", Limits{CPUs: 1, MemBytes: 64 * mib}, true, "1048576", map[string]string{
			"memory.max": "67108864",
		}, nil},
		{"refuse below usage", Limits{CPUs: 1, MemBytes: 64 * mib}, true, "100000000", map[string]string{
			"memory.low": "", "memory.max": "",
		}, errBelowUsage},
		{"create ignores usage", Limits{CPUs: 1, MemBytes: 64 * mib}, false, "100000000", map[string]string{
			"memory.max": "67108864",
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			touchFiles(t, dir, "cpu.weight", "cpu.max", "memory.low", "memory.max", "pids.max")
			writeFiles(t, dir, map[string]string{"memory.current": tt.current + "\n"})
			if err := writeCPUV2(dir, tt.l); err != nil {
				t.Fatal(err)
			}
			err := writeMemoryV2(dir, tt.l, tt.update)
			if !errors.Is(err, tt.err) {
				t.Fatalf("writeMemoryV2: %v, want %v", err, tt.err)
			}
			if err := writePids(dir, tt.l); err != nil {
				t.Fatal(err)
			}
			for name, want := range tt.want {
				if got := readAll(t, dir, name)[name]; got != want {
					t.Errorf("%s = %q, want %q", name, got, want)
				}
			}
		})
	}
}

func TestWriteMissingFile(t *testing.T) {
	// cgroupfs files are never created: a missing controller is an error.
	dir := t.TempDir()
	err := writePids(dir, Limits{PidsMax: 3})
	if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), filepath.Join(dir, "pids.max")) {
		t.Errorf("writePids in an empty dir: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "pids.max")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("pids.max was created")
	}
}

func TestValidNames(t *testing.T) {
	ids := map[string]bool{
		"0e9a5b4c-7f6d-4b1a-9c3e-2d8f7a6b5c4d": true, "task_1.2-x": true, "leaf": true,
		"": false, ".": false, "..": false, "a/b": false, "a b": false, "x\x00": false, strings.Repeat("a", 201): false,
	}
	for id, ok := range ids {
		if got := validID(id) == nil; got != ok {
			t.Errorf("validID(%q) ok=%v, want %v", id, got, ok)
		}
	}
	roots := map[string]bool{
		"strata": true, "strata/abc123": true, "a/b/c": true,
		"": false, ".": false, "/strata": false, "strata/": false, "strata/../x": false, "../x": false, "a//b": false, "a b": false,
	}
	for r, ok := range roots {
		if got := validRoot(r) == nil; got != ok {
			t.Errorf("validRoot(%q) ok=%v, want %v", r, got, ok)
		}
	}
}

func TestRootFor(t *testing.T) {
	a, err := RootFor("/var/lib/strata/agent1")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := RootFor("/var/lib/strata/agent2")
	a2, _ := RootFor("/var/lib/strata/./agent1")
	if a == b || a != a2 || !strings.HasPrefix(a, "strata/") || validRoot(a) != nil {
		t.Errorf("RootFor: %q %q %q", a, b, a2)
	}
}
