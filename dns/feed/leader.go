package feed

import (
	"context"
	"net"
	"strconv"
	"time"

	"strata/dns/records"
	"strata/kernel/mesos/mesospb"
)

// This file follows the leading master named by a Detector (ZooKeeper), as Mesos-DNS does with
// its zk setting: which masters a session tries, when a session must give way to a new leader,
// and the leader and masterN names in between.

// Detector names the leading master. *election.Detector (kernel/election) is one; the feed
// only reads it: whoever made it runs it.
type Detector interface {
	// Leader returns the leading master's host:port and whether one is known.
	Leader() (string, bool)
	// LeaderInfo returns the leading master's MasterInfo, or nil.
	LeaderInfo() *mesospb.MasterInfo
	// Changed returns a channel closed at the next change of leader.
	Changed() <-chan struct{}
}

// targets returns the masters the next session tries, best first. Without a Detector: the last
// leader, then every configured master. With one: the leader it names (else the last one it
// named), then the configured masters, which Mesos-DNS also falls back to; with neither a
// detected leader nor configured masters it waits for the Detector. It returns false when ctx
// ends.
func (f *Feed) targets(ctx context.Context) ([]endpoint, bool) {
	det := f.cfg.Detector
	if det == nil {
		f.mu.Lock()
		last := f.leader
		f.mu.Unlock()
		return prepend(last, f.masters), true
	}
	for {
		changed := det.Changed()
		if ep, ok := f.detected(); ok {
			f.lastDetected = ep
		}
		if f.lastDetected.host != "" || len(f.masters) > 0 {
			return prepend(f.lastDetected, f.masters), true
		}
		select {
		case <-ctx.Done():
			return nil, false
		case <-changed:
		}
	}
}

// prepend returns first (unless empty) followed by the masters other than it.
func prepend(first endpoint, masters []endpoint) []endpoint {
	out := make([]endpoint, 0, len(masters)+1)
	if first.host != "" {
		out = append(out, first)
	}
	for _, ep := range masters {
		if ep != first {
			out = append(out, ep)
		}
	}
	return out
}

// detected returns the leader the Detector names, if it names one that parses.
func (f *Feed) detected() (endpoint, bool) {
	addr, ok := f.cfg.Detector.Leader()
	if !ok {
		return endpoint{}, false
	}
	ep, err := parseMaster(addr, f.cfg.Scheme)
	if err != nil {
		f.log.Warn("the detected leader's address is unusable", "leader", addr, "err", err)
		return endpoint{}, false
	}
	return ep, true
}

// followDetector ends the session (cancel with errLeaderChanged) once the Detector names a
// leader other than seen, the leader it named when the session began, and other than the
// master s was opened at or is served by: that master was deposed, or is gone.
func (f *Feed) followDetector(ctx context.Context, cancel context.CancelCauseFunc, seen string, s *stream) {
	for {
		changed := f.cfg.Detector.Changed()
		if ep, ok := f.detected(); ok && ep.host != seen && ep.host != s.dialled.host && ep.host != s.from.host {
			f.log.Info("the detector names a new leading master; dropping the stream", "from", s.from.host, "to", ep.host)
			cancel(errLeaderChanged)
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-changed:
		}
	}
}

// followedChange is called on Run's goroutine when the feed turns to a leader newly named by the
// Detector. It counts the change and, once the Set is loaded, points the leader and master
// names at the new leader at once, before its snapshot arrives.
func (f *Feed) followedChange() {
	f.metrics.leaderChanges.Inc()
	ep, ok := f.detected()
	if !ok {
		return
	}
	f.lastDetected = ep
	if !f.isReady() {
		return
	}
	pid := leaderPID(f.cfg.Detector.LeaderInfo(), ep.host)
	f.viewMu.Lock()
	defer f.viewMu.Unlock()
	if pid == f.view.leader {
		return
	}
	f.view.setMasters(pid, f.masterList(pid))
	f.log.Info("leader names point at the newly detected leading master", "leader", pid)
}

// masterList is the list of masters the masterN names are numbered from: the configured
// masters, and with a Detector the leader first, as Mesos-DNS lists them (its zk leader, then
// its config's masters).
func (f *Feed) masterList(leaderPID string) []string {
	if f.cfg.Detector == nil {
		return f.hosts
	}
	_, host, port, ok := records.ParsePID(leaderPID)
	if !ok {
		return f.hosts
	}
	lead := net.JoinHostPort(host, strconv.Itoa(int(port)))
	out := make([]string, 0, len(f.hosts)+1)
	out = append(out, lead)
	for _, h := range f.hosts {
		if h != lead {
			out = append(out, h)
		}
	}
	return out
}

// checkDetection logs an error when the Detector names no leader: Run calls it once,
// DetectionTimeout after it starts. Mesos-DNS exits there; the feed keeps waiting (or keeps
// serving what the configured masters gave it).
func (f *Feed) checkDetection() {
	if _, ok := f.cfg.Detector.Leader(); ok {
		return
	}
	timeout := f.cfg.DetectionTimeout.Round(time.Millisecond)
	if f.isReady() {
		f.log.Error("feed: no leading master detected within the detection timeout; following the configured masters meanwhile",
			"timeout", timeout, "masters", f.hosts)
		return
	}
	f.log.Error("feed: no leading master detected within the detection timeout; still waiting for one (Mesos-DNS would exit)",
		"timeout", timeout, "masters", f.hosts)
}

// isReady reports whether the first snapshot is in the Set.
func (f *Feed) isReady() bool {
	select {
	case <-f.ready:
		return true
	default:
		return false
	}
}
