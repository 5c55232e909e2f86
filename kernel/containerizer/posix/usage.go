package posix

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"google.golang.org/protobuf/proto"

	"strata/kernel/mesos/mesospb"
)

// Usage implements containerizer.Containerizer. CPU times include the
// children that processes of the container have reaped; disk usage is the
// allocated size of the sandbox.
func (c *Containerizer) Usage(ctx context.Context, id string) (*mesospb.ResourceStatistics, error) {
	ct, err := c.get(id)
	if err != nil {
		return nil, err
	}
	stats := &mesospb.ResourceStatistics{
		Timestamp: proto.Float64(float64(time.Now().UnixNano()) / 1e9),
	}
	c.mu.Lock()
	cpus, memMB, pid, start, cgid := ct.cpus, ct.memMB, ct.pid, ct.start, ct.cgroupID
	c.mu.Unlock()
	if cpus > 0 {
		stats.CpusLimit = proto.Float64(cpus)
	}
	if memMB > 0 {
		stats.MemLimitBytes = proto.Uint64(uint64(memMB * 1024 * 1024))
	}
	if cgid != "" && c.cfg.Cgroups != nil {
		running := true
		select {
		case <-ct.done:
			running = false
		default:
		}
		if running {
			if err := c.cgroupUsage(cgid, stats); err != nil {
				return nil, fmt.Errorf("posix: usage of %s: %w", id, err)
			}
		}
		if ct.dir != "" {
			stats.DiskUsedBytes = proto.Uint64(diskUsage(ctx, ct.dir))
		}
		return stats, nil
	}
	var procs, threads uint32
	var user, sys, rss uint64
	select {
	case <-ct.done:
	default:
		all, err := snapshot()
		if err != nil {
			return nil, err
		}
		for _, m := range members(all, pid, start) {
			procs++
			threads += uint32(m.threads)
			user += m.utime + m.cutime
			sys += m.stime + m.cstime
			rss += m.rss
		}
	}
	stats.Processes = proto.Uint32(procs)
	stats.Threads = proto.Uint32(threads)
	stats.CpusUserTimeSecs = proto.Float64(float64(user) / clockTicks)
	stats.CpusSystemTimeSecs = proto.Float64(float64(sys) / clockTicks)
	stats.MemRssBytes = proto.Uint64(rss * uint64(os.Getpagesize()))
	stats.MemTotalBytes = proto.Uint64(rss * uint64(os.Getpagesize()))
	if ct.dir != "" {
		stats.DiskUsedBytes = proto.Uint64(diskUsage(ctx, ct.dir))
	}
	return stats, nil
}

// diskUsage is `du -s` of dir in bytes (allocated blocks, hard links counted
// once).
func diskUsage(ctx context.Context, dir string) uint64 {
	var total uint64
	seen := make(map[uint64]bool)
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		if st, ok := info.Sys().(*syscall.Stat_t); ok {
			if st.Nlink > 1 {
				if seen[st.Ino] {
					return nil
				}
				seen[st.Ino] = true
			}
			total += uint64(st.Blocks) * 512
		}
		return nil
	})
	return total
}
