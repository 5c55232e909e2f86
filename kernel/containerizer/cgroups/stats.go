package cgroups

import (
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
)

// userHZ is the unit of v1 cpuacct.stat (clock ticks per second). The
// kernel exports USER_HZ = 100 on every architecture Go supports on Linux.
const userHZ = 100

// unlimitedV1Min: a v1 limit at or above this (the kernel shows
// PAGE_COUNTER_MAX pages, 0x7FFFFFFFFFFFF000 on 64-bit) means no limit.
const unlimitedV1Min = 1 << 62

// Stats is one sample of a container's usage. Fields whose controller is not
// available stay 0.
type Stats struct {
	CPUUserSecs      float64 // v1 cpuacct.stat user / USER_HZ; v2 cpu.stat user_usec
	CPUSystemSecs    float64 // v1 cpuacct.stat system / USER_HZ; v2 cpu.stat system_usec
	CPUPeriods       uint64  // CFS periods elapsed (cpu.stat nr_periods; only with a quota)
	CPUThrottled     uint64  // periods in which the quota ran out (nr_throttled)
	CPUThrottledSecs float64 // time throttled (v1 throttled_time ns, v2 throttled_usec)
	MemRSSBytes      uint64  // anonymous memory: v1 memory.stat total_rss (rss), v2 memory.stat anon
	MemCacheBytes    uint64  // page cache: v1 total_cache (cache), v2 file
	MemTotalBytes    uint64  // usage: v1 memory.usage_in_bytes, v2 memory.current
	MemLimitBytes    uint64  // hard limit; 0 when there is none
	OOMKills         uint64  // processes the kernel OOM-killed (v1 memory.oom_control oom_kill, Linux ≥ 4.13; v2 memory.events oom_kill)
	Processes        uint64  // entries of cgroup.procs
	Threads          uint64  // entries of tasks (v1) or cgroup.threads (v2)
}

// Stats samples the container's usage.
func (m *Manager) Stats(id string) (Stats, error) {
	var s Stats
	if err := validID(id); err != nil {
		return s, err
	}
	if !m.Exists(id) {
		return s, fmt.Errorf("cgroups: stats %s: %w", id, fs.ErrNotExist)
	}
	v2dir := ""
	if m.v2 != "" {
		v2dir = filepath.Join(m.v2, id)
	}
	var err error
	switch {
	case m.v1["cpuacct"] != "":
		err = readCPUAcctV1(filepath.Join(m.v1["cpuacct"], id), &s)
	case v2dir != "":
		err = readCPUV2(v2dir, &s) // the core part of cpu.stat needs no controller
	}
	if err != nil {
		return s, fmt.Errorf("cgroups: stats %s: %w", id, err)
	}
	switch {
	case m.v1["cpu"] != "":
		err = readCPUThrottleV1(filepath.Join(m.v1["cpu"], id), &s)
	case v2dir != "" && slices.Contains(m.v2ctrl, "cpu"):
		err = readCPUV2(v2dir, &s)
	}
	if err != nil {
		return s, fmt.Errorf("cgroups: stats %s: %w", id, err)
	}
	switch {
	case m.v1["memory"] != "":
		err = readMemoryV1(filepath.Join(m.v1["memory"], id), &s)
	case v2dir != "" && slices.Contains(m.v2ctrl, "memory"):
		err = readMemoryV2(v2dir, &s)
	}
	if err != nil {
		return s, fmt.Errorf("cgroups: stats %s: %w", id, err)
	}
	switch {
	case v2dir != "":
		err = countTasks(v2dir, "cgroup.threads", &s)
	case len(m.v1dirs) > 0:
		d := m.v1dirs[0]
		if f := m.v1["freezer"]; f != "" {
			d = f
		}
		err = countTasks(filepath.Join(d, id), "tasks", &s)
	}
	if err != nil {
		return s, fmt.Errorf("cgroups: stats %s: %w", id, err)
	}
	return s, nil
}

// readCPUAcctV1 reads user and system time from a v1 cpuacct cgroup.
func readCPUAcctV1(dir string, s *Stats) error {
	st, err := readKeyed(dir, "cpuacct.stat")
	if err != nil {
		return err
	}
	s.CPUUserSecs = float64(st["user"]) / userHZ
	s.CPUSystemSecs = float64(st["system"]) / userHZ
	return nil
}

// readCPUThrottleV1 reads the CFS bandwidth counters of a v1 cpu cgroup.
func readCPUThrottleV1(dir string, s *Stats) error {
	st, err := readKeyed(dir, "cpu.stat")
	if err != nil {
		return err
	}
	s.CPUPeriods = st["nr_periods"]
	s.CPUThrottled = st["nr_throttled"]
	s.CPUThrottledSecs = float64(st["throttled_time"]) / 1e9
	return nil
}

// readCPUV2 reads v2 cpu.stat: usage always, bandwidth counters when the cpu
// controller is enabled (absent keys read as 0).
func readCPUV2(dir string, s *Stats) error {
	st, err := readKeyed(dir, "cpu.stat")
	if err != nil {
		return err
	}
	s.CPUUserSecs = float64(st["user_usec"]) / 1e6
	s.CPUSystemSecs = float64(st["system_usec"]) / 1e6
	s.CPUPeriods = st["nr_periods"]
	s.CPUThrottled = st["nr_throttled"]
	s.CPUThrottledSecs = float64(st["throttled_usec"]) / 1e6
	return nil
}

// readMemoryV1 reads a v1 memory cgroup. The total_* keys include
// sub-cgroups; kernels without them get the local values.
func readMemoryV1(dir string, s *Stats) error {
	st, err := readKeyed(dir, "memory.stat")
	if err != nil {
		return err
	}
	s.MemRSSBytes = pick(st, "total_rss", "rss")
	s.MemCacheBytes = pick(st, "total_cache", "cache")
	if s.MemTotalBytes, err = readUint(dir, "memory.usage_in_bytes"); err != nil {
		return err
	}
	limit, err := readUint(dir, "memory.limit_in_bytes")
	if err != nil {
		return err
	}
	if limit < unlimitedV1Min {
		s.MemLimitBytes = limit
	}
	oc, err := readKeyed(dir, "memory.oom_control")
	if err != nil {
		return err
	}
	s.OOMKills = oc["oom_kill"]
	return nil
}

// readMemoryV2 reads a v2 cgroup with the memory controller enabled.
func readMemoryV2(dir string, s *Stats) error {
	st, err := readKeyed(dir, "memory.stat")
	if err != nil {
		return err
	}
	s.MemRSSBytes = st["anon"]
	s.MemCacheBytes = st["file"]
	if s.MemTotalBytes, err = readUint(dir, "memory.current"); err != nil {
		return err
	}
	limit, err := readUint(dir, "memory.max")
	if err != nil {
		return err
	}
	if limit != Unlimited {
		s.MemLimitBytes = limit
	}
	ev, err := readKeyed(dir, "memory.events")
	if err != nil {
		return err
	}
	s.OOMKills = ev["oom_kill"]
	return nil
}

// countTasks counts processes (cgroup.procs) and threads (threadsFile) in
// dir's subtree.
func countTasks(dir, threadsFile string, s *Stats) error {
	var err error
	if s.Processes, err = countIn(dir, "cgroup.procs"); err != nil {
		return err
	}
	s.Threads, err = countIn(dir, threadsFile)
	return err
}

func pick(m map[string]uint64, keys ...string) uint64 {
	for _, k := range keys {
		if v, ok := m[k]; ok {
			return v
		}
	}
	return 0
}

// memoryDir returns the container's cgroup holding the memory controller
// and its version, or an error wrapping ErrUnavailable.
func (m *Manager) memoryDir(id string) (string, int, error) {
	switch {
	case m.v1["memory"] != "":
		return filepath.Join(m.v1["memory"], id), 1, nil
	case m.v2 != "" && slices.Contains(m.v2ctrl, "memory"):
		return filepath.Join(m.v2, id), 2, nil
	}
	return "", 0, fmt.Errorf("%w: no memory controller", ErrUnavailable)
}
