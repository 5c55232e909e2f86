package scheduler

import (
	"context"
	"errors"
	"fmt"
)

// IDStore keeps a framework's id across restarts of the scheduler process.
type IDStore interface {
	FrameworkID(ctx context.Context) (string, error)
	SetFrameworkID(ctx context.Context, id string) error
}

// RunWithStoredID is the life of a framework that outlives its process: it
// subscribes with the id ids holds (none: a new registration), through a
// client built from configFor(id), and serves h until ctx ends (then it
// returns nil). started is told each new client before it subscribes (so
// calls can be made through it) with the id it subscribes with. When the
// master has removed the framework (its failover timeout expired, or it
// was torn down), the id is dead: RunWithStoredID clears it and registers
// anew; reconciliation then finds the old tasks gone. The handler stores
// the id the master assigns (from Handler.Subscribed).
func RunWithStoredID(ctx context.Context, ids IDStore, configFor func(id string) Config,
	started func(c *Client, id string), h Handler) error {
	for {
		id, err := ids.FrameworkID(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil // ended while reading the id: a shutdown, not a failure
			}
			return fmt.Errorf("scheduler: framework id: %w", err)
		}
		c, err := New(configFor(id))
		if err != nil {
			return err
		}
		started(c, id)
		err = c.Run(ctx, h)
		switch {
		case ctx.Err() != nil:
			return nil
		case errors.Is(err, ErrFrameworkRemoved):
			c.log.Error("the master removed the framework; registering anew", "framework_id", id, "err", err)
			if err := ids.SetFrameworkID(ctx, ""); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return fmt.Errorf("scheduler: clear framework id: %w", err)
			}
		default:
			return err
		}
	}
}
