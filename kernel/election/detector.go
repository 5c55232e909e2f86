package election

import (
	"context"
	"errors"

	"strata/kernel/mesos/mesospb"
)

var errNoInfo = errors.New("election: a candidate needs a MasterInfo with an id")

// Detector follows the leading master without contending: what agents, schedulers and the
// DNS server use with a zk:// master URL.
type Detector struct{ g *group }

// NewDetector returns a detector of the group at cfg.URL.
func NewDetector(cfg Config) (*Detector, error) {
	g, err := newGroup(cfg, nil)
	if err != nil {
		return nil, err
	}
	return &Detector{g: g}, nil
}

// Run follows the leader until ctx ends.
func (d *Detector) Run(ctx context.Context) error { return d.g.run(ctx) }

// Leader returns the leading master's host:port and whether one is known.
func (d *Detector) Leader() (string, bool) { return d.g.Leader() }

// LeaderInfo returns the leading master's MasterInfo, or nil.
func (d *Detector) LeaderInfo() *mesospb.MasterInfo { return d.g.LeaderInfo() }

// Changed returns a channel closed at the next change of leader.
func (d *Detector) Changed() <-chan struct{} { return d.g.Changed() }

// WaitLeader waits until a leader is known and returns its host:port.
func (d *Detector) WaitLeader(ctx context.Context) (string, error) { return d.g.WaitLeader(ctx) }

// WaitOther waits until a leader other than from (host:port) is known and returns it: how
// a client bound to one master learns that it was deposed.
func (d *Detector) WaitOther(ctx context.Context, from string) (string, error) {
	return d.g.WaitOther(ctx, from)
}
