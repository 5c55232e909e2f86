package posix

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"google.golang.org/protobuf/proto"

	"strata/kernel/containerizer"
	"strata/kernel/containerizer/cgroups"
	"strata/kernel/mesos/mesospb"
)

const mib = 1 << 20

// defaultDiskWatchInterval is how often the sandbox's disk usage is
// measured for enforcement (Mesos' disk/du isolator: 15 s).
const defaultDiskWatchInterval = 15 * time.Second

// oomPollInterval is how often a container's OOM counter is read when no
// notification woke the watcher first.
const oomPollInterval = time.Second

// cgroupLimits turns a container's resources and limits into cgroup limits:
// cpus are the weight (and the CFS quota with Config.CFSQuota or a cpus
// limit), mem the request and, unless limits.mem says otherwise, the hard
// limit.
func (c *Containerizer) cgroupLimits(resources []*mesospb.Resource, limits map[string]*mesospb.Value_Scalar) cgroups.Limits {
	cpus := containerizer.ScalarResource(resources, "cpus")
	mem := containerizer.ScalarResource(resources, "mem")
	l := cgroups.Limits{CPUs: cpus, MemBytes: uint64(mem * mib), PidsMax: c.cfg.PidsMax}
	if c.cfg.CFSQuota {
		l.CPULimit = cpus
	}
	if v, ok := limits["cpus"]; ok {
		l.CPULimit = v.GetValue()
		if math.IsInf(l.CPULimit, 1) {
			l.CPULimit = 0
		}
	}
	if v, ok := limits["mem"]; ok {
		if math.IsInf(v.GetValue(), 1) {
			l.MemLimitBytes = cgroups.Unlimited
		} else {
			l.MemLimitBytes = max(uint64(v.GetValue()*mib), l.MemBytes)
		}
	}
	return l
}

// createCgroup creates cgroup id with limits and moves pid into it. Moving a
// process is the slow part on v1 (every write to cgroup.procs waits for an
// RCU grace period, once per hierarchy: 10 to 20 ms in all), which is why
// standbys get their cgroup when they start rather than at launch.
func (c *Containerizer) createCgroup(id string, pid int, l cgroups.Limits) error {
	if err := c.cfg.Cgroups.Create(id, l); err != nil {
		return err
	}
	if err := c.cfg.Cgroups.Add(id, pid); err != nil {
		_ = c.cfg.Cgroups.Destroy(id)
		return err
	}
	return nil
}

// kill kills every process of a launched container: the whole cgroup when
// it has one, else its session and the descendants found through /proc.
func (c *Containerizer) kill(ct *container) error {
	c.mu.Lock()
	pid, start, cgid := ct.pid, ct.start, ct.cgroupID
	c.mu.Unlock()
	if cgid != "" && c.cfg.Cgroups != nil {
		// The container's first process joins its cgroup before it is
		// handed anything to run, so everything of the container is in the
		// cgroup: the /proc scan of the session is only the fallback when
		// the cgroup kill fails.
		err := c.cfg.Cgroups.Kill(cgid)
		if err == nil {
			return nil
		}
		return errors.Join(err, killSession(pid, start))
	}
	return killSession(pid, start)
}

// removeCgroup kills what is left of the container's cgroup and removes it.
func (c *Containerizer) removeCgroup(ct *container) {
	c.mu.Lock()
	id, cgid := ct.id, ct.cgroupID
	c.mu.Unlock()
	if cgid == "" || c.cfg.Cgroups == nil {
		return
	}
	if err := c.cfg.Cgroups.Destroy(cgid); err != nil {
		c.log.Warn("remove container cgroup", "container", id, "cgroup", cgid, "error", err)
	}
}

// superviseLimits watches a running container for limitations: an OOM kill
// (from the cgroup), and, when disk enforcement is on, a sandbox larger than
// the container's disk. The first one found is recorded and the container is
// destroyed; its Termination then says FAILED with the limitation's reason.
func (c *Containerizer) superviseLimits(ct *container) {
	c.mu.Lock()
	id, cgid := ct.id, ct.cgroupID
	c.mu.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-ct.done:
		case <-c.stop:
		}
		cancel()
	}()
	var ooms <-chan cgroups.OOM
	if cgid != "" && c.cfg.Cgroups != nil {
		ch, err := c.cfg.Cgroups.WatchOOM(ctx, cgid, oomPollInterval)
		if err != nil {
			c.log.Warn("cannot watch the container for OOM kills", "container", id, "error", err)
		} else {
			ooms = ch
		}
	}
	var disk <-chan time.Time
	if c.cfg.EnforceDiskQuota {
		interval := c.cfg.DiskWatchInterval
		if interval <= 0 {
			interval = defaultDiskWatchInterval
		}
		t := time.NewTicker(interval)
		defer t.Stop()
		disk = t.C
	}
	if ooms == nil && disk == nil {
		return
	}
	for {
		select {
		case <-ctx.Done():
			return
		case o, ok := <-ooms:
			if !ok {
				ooms = nil
				continue
			}
			if o.Kills == 0 {
				continue
			}
			c.limit(ct, memoryLimitation(o))
			return
		case <-disk:
			if term := c.diskLimitation(ctx, ct); term != nil {
				c.limit(ct, term)
				return
			}
		}
	}
}

// limit records a limitation and destroys the container for it.
func (c *Containerizer) limit(ct *container, term *containerizer.Termination) {
	c.mu.Lock()
	if ct.limitation == nil {
		ct.limitation = term
	}
	id := ct.id
	c.mu.Unlock()
	c.log.Warn("container limitation: destroying the container", "container", id, "reason", term.Reason.String(),
		"message", term.Message)
	if _, err := c.Destroy(context.Background(), id); err != nil {
		c.log.Warn("destroy limited container", "container", id, "error", err)
	}
}

// memoryLimitation describes an OOM kill the way Mesos' memory isolator does.
func memoryLimitation(o cgroups.OOM) *containerizer.Termination {
	used := max(o.MaxUsageBytes, o.UsageBytes)
	msg := fmt.Sprintf("Memory limit exceeded: Requested: %s, Maximum Used: %s (the kernel OOM-killed %d process(es) of the container)",
		formatBytes(o.LimitBytes), formatBytes(used), o.Kills)
	mem := &mesospb.Resource{Name: proto.String("mem"), Type: mesospb.Value_SCALAR.Enum(),
		Scalar: &mesospb.Value_Scalar{Value: proto.Float64(float64(o.LimitBytes) / mib)}}
	return &containerizer.Termination{
		State:      mesospb.TaskState_TASK_FAILED.Enum(),
		Reason:     mesospb.TaskStatus_REASON_CONTAINER_LIMITATION_MEMORY.Enum(),
		Message:    msg,
		Limitation: &mesospb.TaskResourceLimitation{Resources: []*mesospb.Resource{mem}},
	}
}

// diskLimitation measures the sandbox and returns a limitation when it is
// larger than the container's disk resource.
func (c *Containerizer) diskLimitation(ctx context.Context, ct *container) *containerizer.Termination {
	c.mu.Lock()
	dir, diskMB := ct.dir, ct.diskMB
	c.mu.Unlock()
	if dir == "" || diskMB <= 0 {
		return nil
	}
	used := diskUsage(ctx, dir)
	quota := uint64(diskMB * mib)
	if used <= quota {
		return nil
	}
	disk := &mesospb.Resource{Name: proto.String("disk"), Type: mesospb.Value_SCALAR.Enum(),
		Scalar: &mesospb.Value_Scalar{Value: proto.Float64(diskMB)}}
	return &containerizer.Termination{
		State:      mesospb.TaskState_TASK_FAILED.Enum(),
		Reason:     mesospb.TaskStatus_REASON_CONTAINER_LIMITATION_DISK.Enum(),
		Message:    fmt.Sprintf("Disk usage (%s) exceeds quota (%s)", formatBytes(used), formatBytes(quota)),
		Limitation: &mesospb.TaskResourceLimitation{Resources: []*mesospb.Resource{disk}},
	}
}

// Limitation reports a resource limitation the container hit, checking the
// cgroup's OOM counter now rather than waiting for the watcher: the agent
// asks when an executor reports a task's failure, which may be an OOM kill
// the watcher has not noticed yet. It returns nil when there is none.
func (c *Containerizer) Limitation(id string) *containerizer.Termination {
	ct, err := c.get(id)
	if err != nil {
		return nil
	}
	c.mu.Lock()
	lim, cgid := ct.limitation, ct.cgroupID
	c.mu.Unlock()
	if lim != nil || cgid == "" || c.cfg.Cgroups == nil {
		return lim
	}
	o, err := c.cfg.Cgroups.OOMState(cgid)
	if err != nil || o.Kills == 0 {
		return nil
	}
	return memoryLimitation(o)
}

// formatBytes renders a size as Mesos does in limitation messages ("64MB").
func formatBytes(b uint64) string {
	switch {
	case b >= 1<<30 && b%(1<<30) == 0:
		return fmt.Sprintf("%dGB", b>>30)
	case b >= mib:
		return fmt.Sprintf("%.0fMB", float64(b)/mib)
	case b >= 1<<10:
		return fmt.Sprintf("%.0fKB", float64(b)/(1<<10))
	}
	return fmt.Sprintf("%dB", b)
}

// cgroupUsage fills stats from cgroup cgid.
func (c *Containerizer) cgroupUsage(cgid string, stats *mesospb.ResourceStatistics) error {
	s, err := c.cfg.Cgroups.Stats(cgid)
	if err != nil {
		return err
	}
	stats.Processes = proto.Uint32(uint32(s.Processes))
	stats.Threads = proto.Uint32(uint32(s.Threads))
	stats.CpusUserTimeSecs = proto.Float64(s.CPUUserSecs)
	stats.CpusSystemTimeSecs = proto.Float64(s.CPUSystemSecs)
	if s.CPUPeriods > 0 || s.CPUThrottled > 0 {
		stats.CpusNrPeriods = proto.Uint32(uint32(s.CPUPeriods))
		stats.CpusNrThrottled = proto.Uint32(uint32(s.CPUThrottled))
		stats.CpusThrottledTimeSecs = proto.Float64(s.CPUThrottledSecs)
	}
	stats.MemRssBytes = proto.Uint64(s.MemRSSBytes)
	stats.MemCacheBytes = proto.Uint64(s.MemCacheBytes)
	stats.MemTotalBytes = proto.Uint64(s.MemTotalBytes)
	if s.MemLimitBytes > 0 {
		stats.MemLimitBytes = proto.Uint64(s.MemLimitBytes)
	}
	return nil
}

// KillAllButExecutor kills every process of a running container except its
// executor (the container's first process): what is left of tasks that have
// all ended, daemons that escaped their process group included. Without a
// cgroup the container's processes cannot all be found, and it does nothing.
func (c *Containerizer) KillAllButExecutor(id string) error {
	ct, err := c.get(id)
	if err != nil {
		return err
	}
	c.mu.Lock()
	pid, cgid, ended := ct.pid, ct.cgroupID, ct.term != nil
	c.mu.Unlock()
	if cgid == "" || ended || c.cfg.Cgroups == nil {
		return nil
	}
	if err := c.cfg.Cgroups.KillExcept(cgid, pid); err != nil {
		return fmt.Errorf("posix: %w", err)
	}
	return nil
}
