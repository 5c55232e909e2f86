package posix

import (
	"fmt"
	"math"

	"golang.org/x/sys/unix"

	"strata/kernel/mesos/mesospb"
)

// rlimitResource maps RLimitInfo types to the kernel's RLIMIT_* numbers.
var rlimitResource = map[mesospb.RLimitInfo_RLimit_Type]int{
	mesospb.RLimitInfo_RLimit_RLMT_AS:         unix.RLIMIT_AS,
	mesospb.RLimitInfo_RLimit_RLMT_CORE:       unix.RLIMIT_CORE,
	mesospb.RLimitInfo_RLimit_RLMT_CPU:        unix.RLIMIT_CPU,
	mesospb.RLimitInfo_RLimit_RLMT_DATA:       unix.RLIMIT_DATA,
	mesospb.RLimitInfo_RLimit_RLMT_FSIZE:      unix.RLIMIT_FSIZE,
	mesospb.RLimitInfo_RLimit_RLMT_LOCKS:      unix.RLIMIT_LOCKS,
	mesospb.RLimitInfo_RLimit_RLMT_MEMLOCK:    unix.RLIMIT_MEMLOCK,
	mesospb.RLimitInfo_RLimit_RLMT_MSGQUEUE:   unix.RLIMIT_MSGQUEUE,
	mesospb.RLimitInfo_RLimit_RLMT_NICE:       unix.RLIMIT_NICE,
	mesospb.RLimitInfo_RLimit_RLMT_NOFILE:     unix.RLIMIT_NOFILE,
	mesospb.RLimitInfo_RLimit_RLMT_NPROC:      unix.RLIMIT_NPROC,
	mesospb.RLimitInfo_RLimit_RLMT_RSS:        unix.RLIMIT_RSS,
	mesospb.RLimitInfo_RLimit_RLMT_RTPRIO:     unix.RLIMIT_RTPRIO,
	mesospb.RLimitInfo_RLimit_RLMT_RTTIME:     unix.RLIMIT_RTTIME,
	mesospb.RLimitInfo_RLimit_RLMT_SIGPENDING: unix.RLIMIT_SIGPENDING,
	mesospb.RLimitInfo_RLimit_RLMT_STACK:      unix.RLIMIT_STACK,
}

// toRlimit converts one RLimit: both values unset means unlimited, otherwise
// both must be set with soft <= hard (the Mesos validation rule).
func toRlimit(l *mesospb.RLimitInfo_RLimit) (int, unix.Rlimit, error) {
	res, ok := rlimitResource[l.GetType()]
	if !ok {
		return 0, unix.Rlimit{}, fmt.Errorf("unsupported rlimit type %v", l.GetType())
	}
	switch {
	case l.Hard == nil && l.Soft == nil:
		return res, unix.Rlimit{Cur: math.MaxUint64, Max: math.MaxUint64}, nil
	case l.Hard == nil || l.Soft == nil:
		return 0, unix.Rlimit{}, fmt.Errorf("rlimit %v: soft and hard must both be set or both be unset", l.GetType())
	case l.GetSoft() > l.GetHard():
		return 0, unix.Rlimit{}, fmt.Errorf("rlimit %v: soft limit %d above hard limit %d", l.GetType(), l.GetSoft(), l.GetHard())
	}
	return res, unix.Rlimit{Cur: l.GetSoft(), Max: l.GetHard()}, nil
}

// ValidateRLimits checks an RLimitInfo without applying it.
func ValidateRLimits(info *mesospb.RLimitInfo) error {
	for _, l := range info.GetRlimits() {
		if _, _, err := toRlimit(l); err != nil {
			return fmt.Errorf("posix: %w", err)
		}
	}
	return nil
}

// applyRLimits sets the limits on a started process.
func applyRLimits(pid int, info *mesospb.RLimitInfo) error {
	for _, l := range info.GetRlimits() {
		res, lim, err := toRlimit(l)
		if err != nil {
			return fmt.Errorf("posix: %w", err)
		}
		if err := unix.Prlimit(pid, res, &lim, nil); err != nil {
			return fmt.Errorf("posix: set rlimit %v on %d: %w", l.GetType(), pid, err)
		}
	}
	return nil
}
