package election

import (
	"context"

	"strata/kernel/mesos/mesospb"
)

// Candidate is a master contending for leadership. It implements the master's Leadership
// (Leader, IsLeader). Run it for as long as the master runs.
type Candidate struct{ g *group }

// NewCandidate returns a candidate publishing info (its id must be set: a master's id is
// fresh for every run).
func NewCandidate(cfg Config, info *mesospb.MasterInfo) (*Candidate, error) {
	if info == nil || info.GetId() == "" {
		return nil, errNoInfo
	}
	g, err := newGroup(cfg, info)
	if err != nil {
		return nil, err
	}
	return &Candidate{g: g}, nil
}

// Run contends and follows the leader until ctx ends; closing the session deletes the
// candidate's child.
func (c *Candidate) Run(ctx context.Context) error { return c.g.run(ctx) }

// Leader returns the leading master's host:port and whether one is known.
func (c *Candidate) Leader() (string, bool) { return c.g.Leader() }

// LeaderInfo returns the leading master's MasterInfo, or nil.
func (c *Candidate) LeaderInfo() *mesospb.MasterInfo { return c.g.LeaderInfo() }

// IsLeader reports whether this candidate leads now.
func (c *Candidate) IsLeader() bool {
	c.g.mu.Lock()
	defer c.g.mu.Unlock()
	return c.g.leading
}

// Elected is closed when the candidate becomes the leader.
func (c *Candidate) Elected() <-chan struct{} { return c.g.elected }

// Lost is closed when a candidate that led gives leadership up (session expired or
// disconnected too long, or its child deleted). It never leads again.
func (c *Candidate) Lost() <-chan struct{} { return c.g.lost }

// Sequence is the sequence number of the candidate's child, -1 while it has none.
func (c *Candidate) Sequence() int64 {
	c.g.mu.Lock()
	defer c.g.mu.Unlock()
	return c.g.seq
}

// Changed returns a channel closed at the next change of leader or of this candidate's
// leadership.
func (c *Candidate) Changed() <-chan struct{} { return c.g.Changed() }
