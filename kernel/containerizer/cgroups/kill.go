package cgroups

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"time"
)

// freezeWait bounds how long one kill round waits for a freeze to complete.
// A task in uninterruptible sleep can keep a cgroup FREEZING; the round then
// SIGKILLs what it sees anyway, thaws and tries again.
const freezeWait = 500 * time.Millisecond

// Kill SIGKILLs every process of the container, grandchildren and daemons
// that left their session included, and returns once none is left (no pid in
// cgroup.procs of any of its cgroups) or, after Config.KillTimeout, with an
// error naming the survivors. The cgroups stay; Destroy removes them.
//
// With the unified hierarchy and cgroup.kill (Linux ≥ 5.14) one write kills
// the whole subtree, forks racing the kill included. Otherwise each round
// freezes the container (v1 freezer.state, v2 cgroup.freeze), so that nothing
// forks while the pids are read, SIGKILLs every pid, and thaws, so that the
// signals are delivered; rounds repeat until the cgroups are empty.
func (m *Manager) Kill(id string) error { return m.kill(id, 0) }

// KillExcept SIGKILLs every process of the container but keep (its executor,
// whose tasks have all ended), and returns once keep is the only one left.
// Each round freezes the container so that nothing forks while the pids are
// read; cgroup.kill cannot spare a process, so it is not used.
func (m *Manager) KillExcept(id string, keep int) error { return m.kill(id, keep) }

// kill runs kill rounds until no process of the container but keep (0: none)
// is left, or the kill timeout has passed.
func (m *Manager) kill(id string, keep int) error {
	if err := validID(id); err != nil {
		return err
	}
	deadline := time.Now().Add(m.killTimeout)
	delay := time.Millisecond
	for {
		pids, err := m.procs(id)
		if err != nil {
			return fmt.Errorf("cgroups: kill %s: %w", id, err)
		}
		pids = slices.DeleteFunc(pids, func(p int) bool { return p == keep })
		if len(pids) == 0 {
			return nil
		}
		if slices.Contains(pids, os.Getpid()) {
			// Someone moved this process in; killing the container would
			// kill the caller too.
			return fmt.Errorf("cgroups: kill %s: the calling process (pid %d) is in the container", id, os.Getpid())
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("cgroups: kill %s: %d processes survive SIGKILL after %s: %v",
				id, len(pids), m.killTimeout, pids[:min(len(pids), 10)])
		}
		if err := m.killRound(id, keep); err != nil {
			return fmt.Errorf("cgroups: kill %s: %w", id, err)
		}
		time.Sleep(delay)
		delay = min(2*delay, 100*time.Millisecond)
	}
}

// killRound sends SIGKILL to everything in the container but keep (0: none)
// once.
func (m *Manager) killRound(id string, keep int) error {
	if m.v2 != "" && !m.noCgroupKill && keep == 0 {
		err := writeString(filepath.Join(m.v2, id), "cgroup.kill", "1")
		if err == nil || !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		// No cgroup.kill before Linux 5.14: freeze and kill below.
	}
	thaw, err := m.freeze(id)
	if err != nil {
		return err
	}
	pids, err := m.procs(id)
	if err == nil {
		for _, pid := range pids {
			if pid == keep {
				continue
			}
			if kerr := syscall.Kill(pid, syscall.SIGKILL); kerr != nil && !errors.Is(kerr, syscall.ESRCH) {
				err = fmt.Errorf("signal %d: %w", pid, kerr)
				break
			}
		}
	}
	return errors.Join(err, thaw())
}

// freeze stops every process of the container with the v1 freezer or the
// v2 core freezer, waits up to freezeWait for the freeze to complete, and
// returns the function that thaws it again. Without a freezer it does
// nothing.
func (m *Manager) freeze(id string) (thaw func() error, err error) {
	if d := m.v1["freezer"]; d != "" {
		dir := filepath.Join(d, id)
		err := writeString(dir, "freezer.state", "FROZEN")
		if errors.Is(err, fs.ErrNotExist) {
			return func() error { return nil }, nil // no freezer cgroup: kill without
		}
		if err != nil {
			return nil, err
		}
		waitFor(func() bool {
			s, err := readString(dir, "freezer.state")
			return err != nil || s == "FROZEN"
		})
		return func() error { return writeString(dir, "freezer.state", "THAWED") }, nil
	}
	if m.v2 != "" {
		dir := filepath.Join(m.v2, id)
		err := writeString(dir, "cgroup.freeze", "1")
		if errors.Is(err, fs.ErrNotExist) {
			return func() error { return nil }, nil // Linux < 5.2: no v2 freezer
		}
		if err != nil {
			return nil, err
		}
		waitFor(func() bool {
			ev, err := readKeyed(dir, "cgroup.events")
			return err != nil || ev["frozen"] == 1
		})
		return func() error { return writeString(dir, "cgroup.freeze", "0") }, nil
	}
	return func() error { return nil }, nil
}

// waitFor polls done until it is true or freezeWait has passed.
func waitFor(done func() bool) {
	deadline := time.Now().Add(freezeWait)
	delay := 500 * time.Microsecond
	for !done() && time.Now().Before(deadline) {
		time.Sleep(delay)
		delay = min(2*delay, 20*time.Millisecond)
	}
}

// procs returns the pids in the container's cgroups, all hierarchies and
// sub-cgroups, without duplicates.
func (m *Manager) procs(id string) ([]int, error) {
	var all []int
	for _, d := range m.dirs(id) {
		dirs, err := subtree(d)
		if err != nil {
			return nil, err
		}
		for _, sd := range dirs {
			pids, err := readPids(sd, "cgroup.procs")
			if errors.Is(err, fs.ErrNotExist) {
				continue // removed meanwhile
			}
			if err != nil {
				return nil, err
			}
			all = append(all, pids...)
		}
	}
	slices.Sort(all)
	return slices.Compact(all), nil
}

// Pids returns the processes of the container (a snapshot).
func (m *Manager) Pids(id string) ([]int, error) {
	if err := validID(id); err != nil {
		return nil, err
	}
	return m.procs(id)
}
