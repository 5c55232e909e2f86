package cgroups

import (
	"errors"
	"fmt"
	"math"
	"strconv"
)

// Unlimited as Limits.MemLimitBytes removes the hard memory limit.
const Unlimited = math.MaxUint64

// Constants of the Mesos cgroups isolators (cgroups/constants.hpp).
const (
	SharesPerCPU = 1024         // cpu.shares per cpu
	MinShares    = 2            // the kernel's minimum cpu.shares
	CFSPeriodUS  = 100_000      // CFS period: 100 ms, the kernel default
	MinQuotaUS   = 1_000        // smallest CFS quota written: 1 ms
	MinMemory    = 32 << 20     // smallest memory request or limit: 32 MiB
	maxShares    = 262_144      // the kernel's maximum cpu.shares
	maxWeight    = 10_000       // the kernel's maximum cpu.weight
	unlimitedV1  = "-1"         // v1: no limit
	unlimitedV2  = "max"        // v2: no limit
	quotaNoneV2  = "max 100000" // v2 cpu.max without quota
)

// Limits are the resources of one container, as the agent allocates them.
type Limits struct {
	// CPUs is the cpu request: v1 cpu.shares = 1024 × CPUs (at least 2);
	// v2 cpu.weight converted from those shares as runc does. 0 gives the
	// minimum.
	CPUs float64
	// CPULimit, when above 0 and finite, caps usage at CPULimit cpus with a
	// CFS quota of CPULimit × 100 ms per 100 ms period (at least 1 ms).
	CPULimit float64
	// MemBytes is the memory request: v1 memory.soft_limit_in_bytes, v2
	// memory.low, and also the hard limit (memory.limit_in_bytes,
	// memory.max) unless MemLimitBytes is set. Raised to MinMemory; 0 sets no
	// memory limit at all.
	MemBytes uint64
	// MemLimitBytes, when set, is the hard limit instead of MemBytes; it may
	// not be below MemBytes. Unlimited removes the hard limit.
	MemLimitBytes uint64
	// PidsMax bounds the number of processes and threads; 0 is no bound.
	PidsMax uint64
}

// Validate checks that the limits can be written.
func (l Limits) Validate() error {
	switch {
	case math.IsNaN(l.CPUs) || math.IsInf(l.CPUs, 0) || l.CPUs < 0:
		return fmt.Errorf("cgroups: limits: cpus %v is not a finite non-negative number", l.CPUs)
	case math.IsNaN(l.CPULimit) || math.IsInf(l.CPULimit, -1) || l.CPULimit < 0:
		return fmt.Errorf("cgroups: limits: cpu limit %v is not a non-negative number", l.CPULimit)
	case l.MemLimitBytes != 0 && l.MemLimitBytes < l.MemBytes:
		return fmt.Errorf("cgroups: limits: memory limit %d is below the memory request %d", l.MemLimitBytes, l.MemBytes)
	}
	return nil
}

// shares is v1 cpu.shares for the request.
func (l Limits) shares() uint64 {
	s := uint64(math.Round(l.CPUs * SharesPerCPU))
	return min(max(s, MinShares), maxShares)
}

// quotaUS is the CFS quota in microseconds, or 0 without a quota.
func (l Limits) quotaUS() int64 {
	if l.CPULimit <= 0 || math.IsInf(l.CPULimit, 1) {
		return 0
	}
	q := math.Round(l.CPULimit * CFSPeriodUS)
	if q > math.MaxInt64/2 {
		return 0
	}
	return max(int64(q), MinQuotaUS)
}

// memory returns the soft and hard limits; Unlimited means none.
func (l Limits) memory() (soft, hard uint64) {
	soft, hard = Unlimited, Unlimited
	if l.MemBytes > 0 {
		soft = max(l.MemBytes, MinMemory)
		hard = soft
	}
	switch {
	case l.MemLimitBytes == Unlimited:
		hard = Unlimited
	case l.MemLimitBytes != 0:
		hard = max(l.MemLimitBytes, MinMemory)
		if soft != Unlimited {
			hard = max(hard, soft) // never below the request
		}
	}
	return soft, hard
}

// weight is v2 cpu.weight for the request: 100 × CPUs, as Mesos' cgroups v2
// isolator writes it (so 1 cpu is the kernel's default weight), between 1
// and 10000.
func (l Limits) weight() uint64 {
	w := uint64(math.Round(l.CPUs * 100))
	return min(max(w, 1), maxWeight)
}

func formatV1(v uint64) string {
	if v == Unlimited {
		return unlimitedV1
	}
	return strconv.FormatUint(v, 10)
}

func formatV2(v uint64) string {
	if v == Unlimited {
		return unlimitedV2
	}
	return strconv.FormatUint(v, 10)
}

// writeCPUV1 sets cpu.shares and the CFS quota in a v1 cpu cgroup.
func writeCPUV1(dir string, l Limits) error {
	if err := writeString(dir, "cpu.shares", strconv.FormatUint(l.shares(), 10)); err != nil {
		return err
	}
	q := l.quotaUS()
	if q == 0 {
		return writeString(dir, "cpu.cfs_quota_us", unlimitedV1)
	}
	if err := writeString(dir, "cpu.cfs_period_us", strconv.Itoa(CFSPeriodUS)); err != nil {
		return err
	}
	return writeString(dir, "cpu.cfs_quota_us", strconv.FormatInt(q, 10))
}

// writeCPUV2 sets cpu.weight and cpu.max in a v2 cgroup.
func writeCPUV2(dir string, l Limits) error {
	if err := writeString(dir, "cpu.weight", strconv.FormatUint(l.weight(), 10)); err != nil {
		return err
	}
	max := quotaNoneV2
	if q := l.quotaUS(); q != 0 {
		max = fmt.Sprintf("%d %d", q, CFSPeriodUS)
	}
	return writeString(dir, "cpu.max", max)
}

// writeMemoryV1 sets the soft and hard limits of a v1 memory cgroup. The
// memory+swap limit (memory.memsw.*, present only with swap accounting) is
// neither written nor needed. Lowering the hard limit below what the kernel
// can reclaim fails with EBUSY.
func writeMemoryV1(dir string, l Limits) error {
	soft, hard := l.memory()
	// The hard limit first: when the kernel refuses it, nothing has changed.
	if err := writeString(dir, "memory.limit_in_bytes", formatV1(hard)); err != nil {
		return err
	}
	return writeString(dir, "memory.soft_limit_in_bytes", formatV1(soft))
}

// errBelowUsage is returned by writeMemoryV2 instead of lowering memory.max
// below memory.current, which on v2 would make the kernel OOM-kill.
var errBelowUsage = errors.New("below current usage")

// writeMemoryV2 sets memory.low and memory.max of a v2 cgroup. With update
// set, a memory.max below memory.current is refused: v2, unlike v1, would
// reclaim and then OOM-kill the container to meet it (Mesos only raises it).
func writeMemoryV2(dir string, l Limits, update bool) error {
	soft, hard := l.memory()
	if update && hard != Unlimited {
		cur, err := readUint(dir, "memory.current")
		if err != nil {
			return err
		}
		if hard < cur {
			return fmt.Errorf("memory.max %d in %s: %w (%d)", hard, dir, errBelowUsage, cur)
		}
	}
	low := soft
	if low == Unlimited {
		low = 0 // no protection
	}
	if err := writeString(dir, "memory.low", strconv.FormatUint(low, 10)); err != nil {
		return err
	}
	return writeString(dir, "memory.max", formatV2(hard))
}

// writePids sets pids.max (same file and syntax on v1 and v2).
func writePids(dir string, l Limits) error {
	v := unlimitedV2
	if l.PidsMax > 0 {
		v = strconv.FormatUint(l.PidsMax, 10)
	}
	return writeString(dir, "pids.max", v)
}
