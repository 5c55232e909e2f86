package agent

import (
	"context"
	"log/slog"
	"os"
	"os/user"
	"sync"
	"time"

	"strata/kernel/containerizer"
	"strata/kernel/containerizer/posix"
)

// maxStandbyFailures is how many standbys in a row may exit unused (or fail
// to start) before the agent stops keeping them: the executable is then not
// one that can wait as a standby.
const maxStandbyFailures = 3

// standbyPool keeps built-in executors (`strata executor`) started ahead of
// demand (see package standby and posix.Standby). Most of the time from
// RUN_TASK to a subscribed executor is the start of the strata process itself
// (runtime and package initialisation), so a command task or a task group of
// the default executor that finds a standby skips it. Each standby becomes
// that executor, exactly as if it had been started for it (the launch
// environment makes it a command or a default executor); the pool then
// starts a replacement. The pool serves the user of the latest launch (the
// standby runs as that user from the start), and gives up after
// maxStandbyFailures standbys in a row die unused.
type standbyPool struct {
	cz    *posix.Containerizer
	exe   string
	size  int
	pacer *launchPacer
	log   *slog.Logger
	// ctx ends when the pool is closed.
	ctx    context.Context
	cancel context.CancelFunc

	mu       sync.Mutex
	user     string
	idle     []*idleStandby
	starting int
	failures int
	disabled bool
	closed   bool
	wg       sync.WaitGroup
}

// idleStandby is a standby in the pool; released is closed when it leaves
// the pool (taken or discarded), which ends its watch.
type idleStandby struct {
	s        *posix.Standby
	released chan struct{}
	// slot releases the pacer slot the standby holds while it starts.
	slot func()
}

func newStandbyPool(cz *posix.Containerizer, exe string, size int, pacer *launchPacer, log *slog.Logger) *standbyPool {
	ctx, cancel := context.WithCancel(context.Background())
	return &standbyPool{cz: cz, exe: exe, size: size, pacer: pacer, log: log, ctx: ctx, cancel: cancel}
}

// isReady reports whether a standby has finished starting.
func isReady(s *posix.Standby) bool {
	select {
	case <-s.Ready():
		return true
	default:
		return false
	}
}

// defaultStandbyUser is the user the first standbys run as: the agent's own
// user when it can switch users (the user most frameworks name, as a root
// agent usually serves root frameworks), else none (no switching).
func defaultStandbyUser() string {
	if os.Geteuid() != 0 {
		return ""
	}
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return ""
}

// start fills the pool for user.
func (p *standbyPool) start(user string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.user = user
	p.fillLocked()
}

// command is the standby's command: that of every built-in executor, with
// the agent's environment (the launch replaces it).
func (p *standbyPool) command() containerizer.Command {
	return containerizer.Command{Path: p.exe, Args: []string{p.exe, "executor"}, Env: os.Environ()}
}

// take returns a standby for a built-in executor running as user, or nil. A
// standby that is still starting is taken too: it is further along than a
// new process. The pool then starts a replacement (for user: the pool
// follows the users launches ask for).
func (p *standbyPool) take(user string) *posix.Standby {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || p.disabled {
		return nil
	}
	if user != p.user {
		p.user = user
		for _, in := range p.idle {
			close(in.released)
			go in.s.Discard()
		}
		p.idle = nil
	}
	i := -1
	for j, in := range p.idle {
		if isReady(in.s) {
			i = j
			break
		}
	}
	if i < 0 && len(p.idle) > 0 {
		i = 0
	}
	var found *posix.Standby
	if i >= 0 {
		found = p.idle[i].s
		// The launch holds a start slot of its own.
		p.idle[i].slot()
		close(p.idle[i].released)
		p.idle = append(p.idle[:i:i], p.idle[i+1:]...)
		p.failures = 0
	}
	p.fillLocked()
	return found
}

// fillLocked starts standbys until the pool has its size.
func (p *standbyPool) fillLocked() {
	for !p.closed && !p.disabled && len(p.idle)+p.starting < p.size {
		p.starting++
		p.wg.Add(1)
		go p.startOne(p.user)
	}
}

// startOne starts one standby for user and keeps it until it is taken or
// exits.
func (p *standbyPool) startOne(user string) {
	defer p.wg.Done()
	// A standby's start is an executor start like any other: it takes its
	// turn with the launches (see launchPacer) until it is ready.
	release, ok := p.pacer.acquire(p.ctx)
	if !ok {
		p.mu.Lock()
		p.starting--
		p.mu.Unlock()
		return
	}
	s, err := p.cz.StartStandby(p.command(), user)
	if err != nil {
		release()
	} else {
		go func() {
			select {
			case <-s.Ready():
			case <-s.Done():
			}
			release()
		}()
	}
	p.mu.Lock()
	p.starting--
	if err != nil {
		p.failedLocked("start", err)
		p.mu.Unlock()
		return
	}
	if p.closed || user != p.user {
		p.mu.Unlock()
		s.Discard()
		awaitStandbyExit(s)
		return
	}
	in := &idleStandby{s: s, released: make(chan struct{}), slot: release}
	p.idle = append(p.idle, in)
	p.mu.Unlock()

	select {
	case <-in.released:
		return
	case <-s.Done():
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, t := range p.idle {
		if t == in {
			// It exited unused.
			close(in.released)
			p.idle = append(p.idle[:i:i], p.idle[i+1:]...)
			p.failedLocked("exit", nil)
			return
		}
	}
}

// failedLocked counts a standby that failed; the pool refills, or gives up.
func (p *standbyPool) failedLocked(what string, err error) {
	p.failures++
	if p.failures >= maxStandbyFailures {
		if !p.disabled {
			p.log.Warn("not keeping standby executors any more: they keep failing", "executable", p.exe,
				"failures", p.failures, "last", what, "error", err)
		}
		p.disabled = true
		return
	}
	p.log.Warn("standby executor failed", "executable", p.exe, "what", what, "error", err)
	p.fillLocked()
}

// close discards the standbys and waits for the pool's goroutines.
func (p *standbyPool) close() {
	p.cancel()
	p.mu.Lock()
	p.closed = true
	idle := p.idle
	p.idle = nil
	p.mu.Unlock()
	for _, in := range idle {
		close(in.released)
		in.s.Discard()
	}
	p.wg.Wait()
	// A discarded standby's cgroup goes once its reaper has seen it exit:
	// wait for that (it was SIGKILLed), so that a stopped agent leaves none
	// behind.
	for _, in := range idle {
		awaitStandbyExit(in.s)
	}
}

// awaitStandbyExit waits (a little) for a discarded standby's process to be
// reaped.
func awaitStandbyExit(s *posix.Standby) {
	select {
	case <-s.Done():
	case <-time.After(5 * time.Second):
	}
}
