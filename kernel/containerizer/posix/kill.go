package posix

import (
	"errors"
	"fmt"
	"syscall"
	"time"
)

// killTimeout bounds how long killSession keeps sending SIGKILL to a session
// whose members do not go away (processes stuck in uninterruptible sleep).
const killTimeout = 15 * time.Second

// killSession SIGKILLs every live member of the session sid (and their
// descendants) until none is left. start is the session leader's start time;
// processes started before it are never touched (their session id cannot be
// ours: it belongs to a recycled pid). Every process signalled is remembered
// (with its start time) and waited for in later rounds even after it stops
// looking like a member: a descendant that started its own session is only
// recognisable through its parent, and once that parent is dead the link is
// gone while the descendant may still be on its way out.
func killSession(sid int, start uint64) error {
	if sid <= 1 {
		return fmt.Errorf("posix: refusing to kill session %d", sid)
	}
	deadline := time.Now().Add(killTimeout)
	delay := time.Millisecond
	known := make(map[int]uint64) // pid -> start time
	for {
		all, err := snapshot()
		if err != nil {
			// Without /proc, at least the process group of the leader.
			_ = syscall.Kill(-sid, syscall.SIGKILL)
			return err
		}
		targets := members(all, sid, start)
		for pid, st := range known {
			if s, ok := all[pid]; ok && s.start == st && s.alive() {
				targets = append(targets, s)
			}
		}
		if len(targets) == 0 {
			return nil
		}
		for _, m := range targets {
			known[m.pid] = m.start
			if err := syscall.Kill(m.pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
				return fmt.Errorf("posix: kill %d: %w", m.pid, err)
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("posix: %d processes of session %d survive SIGKILL", len(targets), sid)
		}
		time.Sleep(delay)
		delay = min(2*delay, 100*time.Millisecond)
	}
}
