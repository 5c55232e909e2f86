package scheduler

import (
	"context"
	"math/rand/v2"
	"time"
)

// backoff produces exponentially growing delays with jitter: each delay is
// drawn uniformly from [d/2, d] where d doubles from min up to max.
type backoff struct {
	min, max time.Duration
	cur      time.Duration
}

func (b *backoff) next() time.Duration {
	switch {
	case b.cur == 0:
		b.cur = b.min
	case b.cur < b.max:
		b.cur *= 2
	}
	if b.cur > b.max {
		b.cur = b.max
	}
	half := b.cur / 2
	if half <= 0 {
		return b.cur
	}
	return half + rand.N(half+1)
}

func (b *backoff) reset() { b.cur = 0 }

// sleepUnless is sleep that also ends, early and without error, when wake is closed.
func sleepUnless(ctx context.Context, d time.Duration, wake <-chan struct{}) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-wake:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// sleep waits for d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error { return sleepUnless(ctx, d, nil) }
