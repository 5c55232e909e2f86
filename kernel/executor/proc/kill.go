package proc

import (
	"errors"
	"fmt"
	"syscall"
	"time"
)

// maxPoll bounds the interval at which Kill checks whether the tree is gone.
const maxPoll = 50 * time.Millisecond

// Kill terminates the task's process tree: SIGTERM to the process group and
// to every descendant of the root (including those that left the group),
// then, if anything of the tree is still alive after grace, SIGKILL to the
// group and to every descendant still alive. A grace of zero or less sends
// SIGKILL straight away.
//
// Descendants are found by walking /proc parent links from the root, and the
// walk is done before any signal is sent (children of a dying parent are
// reparented and lose their link to the tree). Processes that join the tree
// during the grace period are picked up by later walks. A double-forked
// daemon that left both the tree and the process group before Kill was
// called cannot be found this way; see the package documentation.
//
// Kill returns once the tree is gone or SIGKILL has been sent; use Wait to
// collect the root's exit status. It is safe to call more than once and
// concurrently with Wait. The error reports only a failure to read /proc; the
// process group is signalled regardless.
func (p *Process) Kill(grace time.Duration) error {
	// Fast path: once the root has been reaped its children have lost their parent link, so only
	// the process group can still hold the tree; an empty group means nothing is left to kill and
	// spares the walk over every process on the host (an executor does this on every exit).
	if p.exited() && errors.Is(syscall.Kill(-p.pid, 0), syscall.ESRCH) {
		return nil
	}
	known := make(map[int]uint64) // pid -> start time
	all, err := snapshot()
	if err != nil {
		p.signal(nil, known, syscall.SIGKILL)
		return fmt.Errorf("proc: kill %d: %w", p.pid, err)
	}
	p.track(all, known)

	if grace > 0 {
		p.signal(all, known, syscall.SIGTERM)
		deadline := time.Now().Add(grace)
		poll := time.Millisecond
		for {
			remaining := time.Until(deadline)
			if remaining <= 0 {
				break
			}
			timer := time.NewTimer(min(poll, remaining))
			select {
			case <-timer.C:
			case <-p.done:
				timer.Stop()
			}
			poll = min(2*poll, maxPoll)
			if all, err = snapshot(); err != nil {
				break
			}
			p.track(all, known)
			if !p.treeAlive(all, known) {
				return nil
			}
		}
	}

	all, err = snapshot()
	if err != nil {
		all = nil
	}
	p.track(all, known)
	p.signal(all, known, syscall.SIGKILL)
	if err != nil {
		return fmt.Errorf("proc: kill %d: %w", p.pid, err)
	}
	return nil
}

// Signal sends sig to the task's process group (not to descendants that left
// it).
func (p *Process) Signal(sig syscall.Signal) error {
	if err := syscall.Kill(-p.pid, sig); err != nil {
		if errors.Is(err, syscall.ESRCH) {
			return nil
		}
		return fmt.Errorf("proc: signal group %d: %w", p.pid, err)
	}
	return nil
}

// rootRunning reports whether the root pid in the snapshot is still the
// task's root process (not yet reaped, not a recycled pid).
func (p *Process) rootRunning(all map[int]procStat) bool {
	if p.exited() {
		return false
	}
	s, ok := all[p.pid]
	return ok && (p.start == 0 || s.start == p.start)
}

// track adds to known (pid -> start time) every live member of the task's
// process group and every descendant of the root and of the processes
// already known.
func (p *Process) track(all map[int]procStat, known map[int]uint64) {
	if all == nil {
		return
	}
	var roots []int
	if p.rootRunning(all) {
		roots = append(roots, p.pid)
	}
	for pid, start := range known {
		if s, ok := all[pid]; ok && s.start == start && s.alive() {
			roots = append(roots, pid)
		}
	}
	for _, s := range all {
		if s.pgrp == p.pid && s.alive() {
			roots = append(roots, s.pid)
		}
	}
	for _, r := range roots {
		for _, pid := range descendants(all, r) {
			if _, ok := known[pid]; !ok {
				known[pid] = all[pid].start
			}
		}
	}
}

// treeAlive reports whether any part of the tree can still run.
func (p *Process) treeAlive(all map[int]procStat, known map[int]uint64) bool {
	if !p.exited() {
		return true
	}
	for _, s := range all {
		if s.pgrp == p.pid && s.alive() {
			return true
		}
	}
	for pid, start := range known {
		if s, ok := all[pid]; ok && s.start == start && s.alive() {
			return true
		}
	}
	return false
}

// signal sends sig to the process group and to each known process that is
// still the same process (same start time) and alive.
func (p *Process) signal(all map[int]procStat, known map[int]uint64, sig syscall.Signal) {
	groupMayExist := !p.exited() || all == nil
	for _, s := range all {
		if s.pgrp == p.pid {
			groupMayExist = true
			break
		}
	}
	if groupMayExist {
		_ = syscall.Kill(-p.pid, sig)
	}
	for pid, start := range known {
		s, err := readStat(pid)
		if err != nil || s.start != start || !s.alive() {
			continue
		}
		_ = syscall.Kill(pid, sig)
	}
}
