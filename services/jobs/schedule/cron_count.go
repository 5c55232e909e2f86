package schedule

import (
	"math/bits"
	"time"
)

// Counting the ticks of a cron schedule without enumerating them, so that a
// year of downtime on a per-second schedule costs a few hundred day steps
// rather than thirty million Next calls.

// tickCounter is implemented by specs that count their ticks arithmetically.
type tickCounter interface {
	// countTicks returns the number of ticks in (after, until].
	countTicks(after, until time.Time) int64
}

const secondsPerDay = 86400

// floorDiv is integer division rounding toward minus infinity.
func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// countTicks counts the ticks in (after, until], consistently with Next.
func (c *Cron) countTicks(after, until time.Time) int64 {
	if !until.After(after) {
		return 0
	}
	// Ticks fall on whole seconds: u is a tick instant in (after, until]
	// exactly when lo <= u < hi.
	lo := after.Unix() + 1
	hi := until.Unix() + 1
	var n int64
	p := time.Unix(lo, 0).In(c.loc)
	for p.Unix() < hi {
		start, end := p.ZoneBounds()
		_, off := p.Zone()
		o := int64(off)
		segEnd := hi
		if !end.IsZero() && end.Unix() < segEnd {
			segEnd = end.Unix()
		}
		segStart := p.Unix()
		// Within this period wall time is absolute time + o.
		n += c.countCivil(segStart+o, segEnd+o)
		if c.wall && !start.IsZero() {
			_, prevOff := start.Add(-time.Nanosecond).In(c.loc).Zone()
			po := int64(prevOff)
			s := start.Unix()
			switch {
			case po > o:
				// Clocks went back at s: wall times [s+o, s+po) were shown
				// in the previous period already and fired there.
				a, b := max(segStart+o, s+o), min(segEnd+o, s+po)
				if a < b {
					n -= c.countCivil(a, b)
				}
			case po < o:
				// Clocks went forward at s: the wall times [s+po, s+o) of
				// the gap all fire once, at s, unless s is itself a tick
				// (already counted above).
				if segStart <= s && s < segEnd && c.countCivil(s+po, s+o) > 0 &&
					!c.matchesCivil(time.Unix(s+o, 0).UTC()) {
					n++
				}
			}
		}
		if end.IsZero() || end.Unix() >= hi {
			break
		}
		p = end.In(c.loc)
	}
	return n
}

// countCivil counts matching wall-clock seconds in [from, to), both given as
// seconds since 1970-01-01T00:00:00 wall time.
func (c *Cron) countCivil(from, to int64) int64 {
	if from >= to {
		return 0
	}
	s := &c.spec
	perMinute := int64(bits.OnesCount64(s.Second &^ starBit))
	perHour := int64(bits.OnesCount64(s.Minute&^starBit)) * perMinute
	perDay := int64(bits.OnesCount64(s.Hour&^starBit)) * perHour

	// upTo counts matching seconds of one matching day in [0, x).
	upTo := func(x int64) int64 {
		h, m, sec := int(x/3600), int(x%3600/60), int(x%60)
		n := popLow(s.Hour, h) * perHour
		if h < 24 && s.Hour&(1<<uint(h)) != 0 {
			n += popLow(s.Minute, m) * perMinute
			if s.Minute&(1<<uint(m)) != 0 {
				n += popLow(s.Second, sec)
			}
		}
		return n
	}

	var n int64
	firstDay, lastDay := floorDiv(from, secondsPerDay), floorDiv(to-1, secondsPerDay)
	for d := firstDay; d <= lastDay; {
		date := time.Unix(d*secondsPerDay, 0).UTC()
		if s.Month&(1<<uint(date.Month())) == 0 {
			// Skip to the first day of the next month.
			next := time.Date(date.Year(), date.Month()+1, 1, 0, 0, 0, 0, time.UTC)
			d = floorDiv(next.Unix(), secondsPerDay)
			continue
		}
		if c.dayMatches(date) {
			dayStart := d * secondsPerDay
			a, b := int64(0), int64(secondsPerDay)
			if from > dayStart {
				a = from - dayStart
			}
			if to < dayStart+secondsPerDay {
				b = to - dayStart
			}
			if a == 0 && b == secondsPerDay {
				n += perDay
			} else {
				n += upTo(b) - upTo(a)
			}
		}
		d++
	}
	return n
}
