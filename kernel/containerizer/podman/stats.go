package podman

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/containers/podman/v4/pkg/bindings/containers"
)

// Stats is one sample of a container's resource usage, in the units of
// Mesos' ResourceStatistics.
type Stats struct {
	Timestamp time.Time
	// CPUUserSecs and CPUSystemSecs are the CPU time the container's
	// processes have used (cpus_user_time_secs, cpus_system_time_secs).
	CPUUserSecs   float64
	CPUSystemSecs float64
	// MemTotalBytes is the memory podman says the container uses (a 4.3
	// service reports the cgroup's usage, page cache included:
	// mem_total_bytes).
	MemTotalBytes uint64
	// MemRSSBytes and MemCacheBytes are the container's anonymous memory
	// and page cache from its cgroup's memory.stat (mem_rss_bytes,
	// mem_cache_bytes). Without access to the cgroup, MemRSSBytes is
	// MemTotalBytes and MemCacheBytes is 0.
	MemRSSBytes   uint64
	MemCacheBytes uint64
	// MemLimitBytes is the container's memory limit (the host's memory
	// when it has none).
	MemLimitBytes uint64
	// Processes is the number of processes (tasks) in the container.
	Processes uint64
}

// Stats samples the resource usage of a running container. A container that
// is not running gives ErrNotRunning, one that does not exist ErrNotFound.
func (c *Client) Stats(ctx context.Context, name string) (*Stats, error) {
	info, err := c.Inspect(ctx, name)
	if err != nil {
		return nil, err
	}
	if !info.Running {
		return nil, fmt.Errorf("podman: stats of container %s: %w (it is %s)", name, ErrNotRunning, info.State)
	}
	stream := false
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ch, err := containers.Stats(c.withConn(ctx), []string{info.ID}, &containers.StatsOptions{Stream: &stream})
	if err != nil {
		return nil, apiError("stats of container", name, err)
	}
	report, ok := <-ch
	// Drain so that the bindings' reader goroutine can end.
	go func() {
		for range ch {
		}
	}()
	if !ok || report.Error != nil || len(report.Stats) == 0 {
		// A 4.3 service reports a container that stopped meanwhile in a
		// way the 4.9 bindings cannot decode; ask what is the matter.
		return nil, c.statsFailure(ctx, name, report.Error)
	}
	s := report.Stats[0]
	system := float64(s.CPUSystemNano) / 1e9
	total := float64(s.CPUNano) / 1e9
	st := &Stats{
		Timestamp:     time.Now(),
		CPUUserSecs:   max(total-system, 0),
		CPUSystemSecs: system,
		MemTotalBytes: s.MemUsage,
		MemRSSBytes:   s.MemUsage,
		MemLimitBytes: s.MemLimit,
		Processes:     s.PIDs,
	}
	if rss, cache, err := cgroupMemory(info.Pid); err == nil {
		st.MemRSSBytes, st.MemCacheBytes = rss, cache
	} else {
		c.log.Debug("no cgroup memory.stat; reporting podman's usage as rss", "name", name, "err", err)
	}
	return st, nil
}

// statsFailure explains why a container has no stats: it does not exist, it
// is not running, or the service failed (cause).
func (c *Client) statsFailure(ctx context.Context, name string, cause error) error {
	info, err := c.Inspect(ctx, name)
	if err != nil {
		return fmt.Errorf("podman: stats of container %s: %w", name, err)
	}
	if !info.Running {
		return fmt.Errorf("podman: stats of container %s: %w (it is %s)", name, ErrNotRunning, info.State)
	}
	if cause == nil {
		cause = errors.New("no statistics in the answer")
	}
	return fmt.Errorf("podman: stats of container %s: %w", name, cause)
}

// cgroupMemory reads the anonymous memory and page cache of the memory
// cgroup of process pid: total_rss and total_cache on cgroup v1, anon and
// file on cgroup v2.
func cgroupMemory(pid int) (rss, cache uint64, err error) {
	if pid <= 0 {
		return 0, 0, errors.New("no pid")
	}
	dir, err := memoryCgroupV1(pid)
	if err != nil {
		return 0, 0, err
	}
	rssKey, cacheKey := "total_rss", "total_cache"
	if dir == "" {
		if dir, err = unifiedCgroup(pid); err != nil {
			return 0, 0, err
		}
		rssKey, cacheKey = "anon", "file"
	}
	f, err := os.Open(filepath.Join(dir, "memory.stat"))
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	found := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), " ")
		if !ok || (k != rssKey && k != cacheKey) {
			continue
		}
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("memory.stat %s: %w", k, err)
		}
		if k == rssKey {
			rss = n
		} else {
			cache = n
		}
		found++
	}
	if err := sc.Err(); err != nil {
		return 0, 0, err
	}
	if found != 2 {
		return 0, 0, fmt.Errorf("memory.stat lacks %s or %s", rssKey, cacheKey)
	}
	return rss, cache, nil
}

// unifiedCgroup returns the cgroup v2 directory of process pid.
func unifiedCgroup(pid int) (string, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rel, ok := strings.CutPrefix(line, "0::"); ok {
			return filepath.Join("/sys/fs/cgroup", rel), nil
		}
	}
	return "", errors.New("process has no cgroup v2 path")
}
