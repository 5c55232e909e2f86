package agent

import (
	"context"
	"runtime"
	"sync"
	"time"
)

// maxPacedStart is the longest an executor holds its start slot: one that
// takes longer to subscribe no longer holds up the executors behind it.
const maxPacedStart = time.Second

// launchPacer bounds how many command executors start at once, to one per
// CPU. Starting one is CPU-bound (the new process initialises the Go
// runtime and every package of the strata binary: 10 to 20 ms of CPU), so
// when a burst starts them all together they share the CPUs, subscribe at
// about the same time at the end of the burst, and every task of the burst
// waits for the whole burst; the status updates of the first tasks also
// crawl through an agent and master starved of CPU. Started a few at a time,
// in arrival order, the first tasks run while the later executors start: the
// same work in about the same time, but most tasks reach TASK_RUNNING much
// sooner. A slot is taken before the sandbox is made (or after the fetch,
// which is not CPU-bound and may be slow, when there are URIs) and held until
// the executor subscribes, ends, or maxPacedStart has passed. Custom
// executors are not paced: how they start is unknown.
type launchPacer struct {
	slots   chan struct{}
	maxHold time.Duration
}

// newLaunchPacer returns a pacer of n slots (zero: one per CPU, at least
// two), each held at most maxHold (zero: maxPacedStart).
func newLaunchPacer(n int, maxHold time.Duration) *launchPacer {
	if n <= 0 {
		n = max(2, runtime.NumCPU())
	}
	if maxHold <= 0 {
		maxHold = maxPacedStart
	}
	return &launchPacer{slots: make(chan struct{}, n), maxHold: maxHold}
}

// acquire waits for a start slot (false if ctx ended first) and returns the
// function that releases it; it may be called any number of times.
func (p *launchPacer) acquire(ctx context.Context) (func(), bool) {
	select {
	case p.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, false
	}
	var once sync.Once
	release := func() { once.Do(func() { <-p.slots }) }
	time.AfterFunc(p.maxHold, release)
	return release, true
}
