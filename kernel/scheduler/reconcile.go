package scheduler

import (
	"context"
	"time"
)

// ReconcileRounds is the recommended reconciliation after a subscription:
// an explicit reconciliation of the tasks unanswered lists, repeated with a
// doubling wait (1s, 2s, 4s, 8s, 8s) for the tasks still unanswered, and
// then an implicit one. unanswered is polled while waiting (it reads the
// caller's state: the tasks whose UPDATE has not come back since the
// previous round); stale, when it returns true, ends the rounds early (the
// subscription it was for is gone). It returns the tasks never answered,
// and false when it stopped early (ctx ended or stale).
func (c *Client) ReconcileRounds(ctx context.Context, unanswered func() []ReconcileTask, stale func() bool) ([]ReconcileTask, bool) {
	tasks := unanswered()
	delay := time.Second
	for round := 0; round < 5 && len(tasks) > 0; round++ {
		if err := c.Reconcile(ctx, tasks); err != nil {
			c.log.Warn("explicit reconciliation", "err", err)
		}
		deadline := time.Now().Add(delay)
		for time.Now().Before(deadline) && len(unanswered()) > 0 {
			if sleep(ctx, 20*time.Millisecond) != nil {
				return nil, false
			}
		}
		if stale() {
			return nil, false
		}
		tasks = unanswered()
		delay = min(2*delay, 8*time.Second)
	}
	if err := c.Reconcile(ctx, nil); err != nil {
		c.log.Warn("implicit reconciliation", "err", err)
	}
	return tasks, ctx.Err() == nil && !stale()
}
