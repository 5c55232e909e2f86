package schedule

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// CatchUp is the policy for ticks that came due while nobody handled them.
//
// Under Due's rules the two policies launch the same tick: only an on-time
// tick may run, and the newest due tick is always the least late, so the
// "latest missed tick within the deadline" (RunOnce) is the current tick
// (SkipMissed) whenever either exists. The policy is kept as a value so that
// schedules store and report it, and so that a RunAll policy can be added.
type CatchUp int

const (
	// SkipMissed runs only the current tick (the newest one due), and only
	// while it is on time; every older due tick is recorded as skipped.
	SkipMissed CatchUp = iota
	// RunOnce runs the latest missed tick once if it is still within the
	// starting deadline; every other due tick is recorded as skipped.
	RunOnce
)

// String returns "SkipMissed" or "RunOnce".
func (c CatchUp) String() string {
	switch c {
	case SkipMissed:
		return "SkipMissed"
	case RunOnce:
		return "RunOnce"
	}
	return "CatchUp(" + strconv.Itoa(int(c)) + ")"
}

// Skip is a tick that will not run, and why.
type Skip struct {
	Tick   time.Time
	Reason string
}

// Decision is what Due decided.
type Decision struct {
	// Run is the tick to launch now, when HasRun.
	Run    time.Time
	HasRun bool
	// Skipped lists the newest skipped ticks (at most maxSkips), oldest
	// first; SkippedTotal counts all of them.
	Skipped      []Skip
	SkippedTotal int
	// Next is the next tick to wait for, when HasNext.
	Next    time.Time
	HasNext bool
	// Handled is the newest tick this decision disposes of (run or
	// skipped): persist it as last for the next call. Zero when no tick
	// was due.
	Handled time.Time
}

// maxListedSkips caps the maxSkips argument of Due (memory, not time).
const maxListedSkips = 100000

// stepCap bounds the Next calls spent counting ticks of a Spec that cannot
// count arithmetically (anything but *Cron and *Repeat).
const stepCap = 100000

// Due decides what to do at time now for a schedule whose last handled tick
// (run, or recorded as skipped) is last.
//
// The due ticks are those in (last, now]. A tick t is on time when
// now−t <= startingDeadline; a startingDeadline <= 0 means no deadline: the
// newest due tick stays runnable until the next tick comes due ("no
// lateness allowed beyond the current tick"). At most one tick runs: the
// newest due tick, if it is on time (under both policies; older ticks are
// always later still). Every other due tick is skipped with a reason:
// "missed: service was not running; 3h12m late beyond
// startingDeadlineSeconds=60" when it is past the deadline, "missed:
// superseded by a later tick (...)" when a newer tick runs instead.
//
// policy is recorded for the caller's sake: SkipMissed and RunOnce lead to
// the same decision under these rules (see CatchUp).
//
// A zero last means the schedule was never handled: a *Repeat (or any Spec
// with a Start() time.Time method) considers its ticks from its start, a
// *Cron, which has no beginning, considers none before now. A last after now
// (the clock went back) makes nothing due, so no tick is ever run twice.
//
// The work is bounded whatever the downtime: the newest maxSkips+1 ticks
// (maxSkips is capped at 100000) are found by searching backwards from now,
// and SkippedTotal is computed arithmetically for *Cron and *Repeat (exact);
// for other Spec implementations it counts at most 100000 ticks and is then
// a lower bound.
func Due(spec Spec, last, now time.Time, startingDeadline time.Duration, policy CatchUp, maxSkips int) Decision {
	var d Decision
	maxSkips = min(max(maxSkips, 0), maxListedSkips)
	if last.IsZero() {
		if s, ok := spec.(interface{ Start() time.Time }); ok {
			last = s.Start().Add(-time.Nanosecond)
		} else {
			last = now
		}
	}
	from := last
	if now.After(last) {
		from = now
		ticks := newestTicks(spec, last, now, maxSkips+1)
		if len(ticks) > 0 {
			newest := ticks[len(ticks)-1]
			d.Handled = newest
			total := countDue(spec, last, now, len(ticks))
			onTime := func(t time.Time) bool {
				return startingDeadline <= 0 || now.Sub(t) <= startingDeadline
			}
			// The newest due tick is the current one and the least late: it
			// is the only candidate under either policy (see CatchUp).
			if onTime(newest) {
				d.Run, d.HasRun = newest, true
			}
			skipped := ticks
			if d.HasRun {
				skipped = ticks[:len(ticks)-1]
				total--
			}
			if len(skipped) > maxSkips {
				skipped = skipped[len(skipped)-maxSkips:]
			}
			for _, t := range skipped {
				d.Skipped = append(d.Skipped, Skip{Tick: t, Reason: skipReason(t, now, newest, d.HasRun, startingDeadline)})
			}
			d.SkippedTotal = int(total)
		}
	}
	d.Next, d.HasNext = spec.Next(from)
	return d
}

func skipReason(t, now, newest time.Time, newestRuns bool, deadline time.Duration) string {
	if deadline > 0 && now.Sub(t) > deadline {
		return "missed: service was not running; " + formatLate(now.Sub(t)) + " late beyond " + formatDeadline(deadline)
	}
	if newestRuns {
		return "missed: superseded by a later tick (" + newest.UTC().Format(time.RFC3339) + ")"
	}
	return "missed: superseded by a later tick"
}

func formatDeadline(d time.Duration) string {
	if d%time.Second == 0 {
		return "startingDeadlineSeconds=" + strconv.FormatInt(int64(d/time.Second), 10)
	}
	return "startingDeadline=" + d.String()
}

// formatLate renders a lateness compactly: "45s", "3h12m", "3h0m30s", "2d3h".
func formatLate(d time.Duration) string {
	if d < time.Second {
		return d.Round(time.Millisecond).String()
	}
	d = d.Round(time.Second)
	parts := []struct {
		n    int64
		unit string
	}{
		{int64(d / (24 * time.Hour)), "d"},
		{int64(d % (24 * time.Hour) / time.Hour), "h"},
		{int64(d % time.Hour / time.Minute), "m"},
		{int64(d % time.Minute / time.Second), "s"},
	}
	first, last := -1, -1
	for i, p := range parts {
		if p.n != 0 {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	var b strings.Builder
	for _, p := range parts[first : last+1] {
		fmt.Fprintf(&b, "%d%s", p.n, p.unit)
	}
	return b.String()
}

// newestTicks returns up to k of the newest ticks in (last, now], oldest
// first. It widens a window backwards from now until the window holds k
// ticks or reaches last, so the cost follows k, not the length of the
// downtime.
func newestTicks(spec Spec, last, now time.Time, k int) []time.Time {
	first, ok := spec.Next(last)
	if !ok || first.After(now) {
		return nil
	}
	// Common case, a handful of ticks due: step from last.
	out := []time.Time{first}
	for len(out) <= k {
		t, ok := spec.Next(out[len(out)-1])
		if !ok || t.After(now) || !t.After(out[len(out)-1]) {
			if len(out) > k {
				out = out[len(out)-k:]
			}
			return out
		}
		out = append(out, t)
	}
	// More than k ticks are due. The first k+1 of them hint at how long k
	// ticks take; widen from there.
	ring := make([]time.Time, k)
	window := max(out[len(out)-1].Sub(out[0]), time.Second)
	for {
		lo := now.Add(-window)
		if window > maxWindow || !lo.After(last) {
			lo = last
		}
		n := 0
		prev := lo
		for t, ok := spec.Next(lo); ok && t.After(prev) && !t.After(now); t, ok = spec.Next(t) {
			ring[n%k] = t
			n++
			prev = t
		}
		if n >= k || lo.Equal(last) {
			m := min(n, k)
			out = make([]time.Time, m)
			for i := range m {
				out[i] = ring[(n-m+i)%k]
			}
			return out
		}
		window *= 2
	}
}

// maxWindow stops the window doubling long before time.Duration overflows.
const maxWindow = time.Duration(1) << 61

// countDue counts the ticks in (last, now]; found is how many newestTicks
// returned, a floor for the count.
func countDue(spec Spec, last, now time.Time, found int) int64 {
	if c, ok := spec.(tickCounter); ok {
		return max(c.countTicks(last, now), int64(found))
	}
	var n int64
	prev := last
	for t, ok := spec.Next(last); ok && t.After(prev) && !t.After(now) && n < stepCap; t, ok = spec.Next(t) {
		n++
		prev = t
	}
	return max(n, int64(found))
}
