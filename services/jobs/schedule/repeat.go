package schedule

import (
	"time"
)

// Tick arithmetic of a Repeat. Tick k is computed directly from the start:
//
//  1. the calendar part: the start's wall-clock date moves by k×years and
//     k×months, the day is clamped to the last day of a shorter month
//     (Jan 31 + P1M = Feb 28 or 29), then k×days are added, keeping the time
//     of day; the wall time is then placed in the zone like a wall-clock
//     cron tick (a skipped time moves to the end of the gap, a repeated one
//     takes its first occurrence);
//  2. the absolute part: k×(hours, minutes, seconds) of elapsed time.
//
// So P1D keeps the time of day across DST while PT24H is 24 real hours.

// maxTickIndex bounds tick indexes; with periods of at least a second it is
// far beyond year 9999 and keeps k×period inside int64.
const maxTickIndex = int64(1) << 40

// tick returns tick k, ignoring the repeat count; ok=false past year 9999.
func (r *Repeat) tick(k int64) (time.Time, bool) {
	if k == 0 {
		return r.start, true
	}
	if k < 0 || k > maxTickIndex {
		return time.Time{}, false
	}
	t := r.start
	p := r.per
	if p.calendar() {
		w := r.wall
		months := int64(w.Year())*12 + int64(w.Month()-1) + k*int64(p.years*12+p.months)
		year, month := months/12, time.Month(months%12+1)
		if year > maxYear {
			return time.Time{}, false
		}
		day := min(w.Day(), daysIn(int(year), month))
		days := k * int64(p.days)
		if days > maxYear*366 {
			return time.Time{}, false
		}
		civil := time.Date(int(year), month, day+int(days), w.Hour(), w.Minute(), w.Second(), w.Nanosecond(), time.UTC)
		if beyondRange(civil) {
			return time.Time{}, false
		}
		t, _ = resolveWall(civil, r.loc)
	}
	if p.d != 0 {
		secs, nanos := int64(p.d/time.Second), int64(p.d%time.Second)
		if secs > 0 && k > (int64(1)<<62)/secs {
			return time.Time{}, false
		}
		// k×nanos may not fit in int64: split k into multiples of 1e9.
		const giga = int64(time.Second)
		extraSec := (k/giga)*nanos + ((k%giga)*nanos)/giga
		extraNs := ((k % giga) * nanos) % giga
		t = time.Unix(t.Unix()+k*secs+extraSec, int64(t.Nanosecond())+extraNs).In(r.loc)
	}
	if beyondRange(t) {
		return time.Time{}, false
	}
	return t, true
}

// atOrBefore reports whether tick k exists and is at or before x.
func (r *Repeat) atOrBefore(k int64, x time.Time) bool {
	t, ok := r.tick(k)
	return ok && !t.After(x)
}

// lastIndex returns the largest k with tick(k) <= x, ignoring the count;
// ok=false when x is before the start.
func (r *Repeat) lastIndex(x time.Time) (int64, bool) {
	if x.Before(r.start) {
		return 0, false
	}
	if r.per.isZero() {
		return 0, true // only R0/R1 may have a zero period: tick 0 alone
	}
	est := int64(0)
	if a := r.per.approxSeconds(); a > 0 {
		f := x.Sub(r.start).Seconds() / a
		if sec := float64(x.Unix() - r.start.Unix()); sec > 9e9 { // Sub saturates past ~292 years
			f = sec / a
		}
		if f > float64(maxTickIndex) {
			f = float64(maxTickIndex)
		}
		est = int64(f)
	}
	// Bracket the answer around the estimate, then bisect: lo satisfies
	// atOrBefore, hi does not. Estimates are off by a few periods at most
	// (month lengths, DST), so the brackets stay small.
	if r.atOrBefore(est, x) {
		lo, step := est, int64(1)
		for r.atOrBefore(lo+step, x) {
			lo += step
			step *= 2
		}
		return r.bisect(lo, lo+step, x), true
	}
	hi, step := est, int64(1)
	for {
		lo := hi - step
		if lo <= 0 {
			return r.bisect(0, hi, x), true
		}
		if r.atOrBefore(lo, x) {
			return r.bisect(lo, hi, x), true
		}
		hi = lo
		step *= 2
	}
}

func (r *Repeat) bisect(lo, hi int64, x time.Time) int64 {
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		if r.atOrBefore(mid, x) {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo
}

// Next returns the first tick strictly after t, in the schedule's zone.
func (r *Repeat) Next(t time.Time) (time.Time, bool) {
	if r.count == 0 {
		return time.Time{}, false
	}
	k := int64(0)
	if last, ok := r.lastIndex(t); ok {
		k = last + 1
	}
	if r.count > 0 && k >= int64(r.count) {
		return time.Time{}, false
	}
	return r.tick(k)
}

// ticksUpTo counts the ticks at or before x.
func (r *Repeat) ticksUpTo(x time.Time) int64 {
	k, ok := r.lastIndex(x)
	if !ok {
		return 0
	}
	n := k + 1
	if r.count >= 0 && n > int64(r.count) {
		n = int64(r.count)
	}
	return n
}

// countTicks counts the ticks in (after, until].
func (r *Repeat) countTicks(after, until time.Time) int64 {
	if !until.After(after) || r.count == 0 {
		return 0
	}
	return r.ticksUpTo(until) - r.ticksUpTo(after)
}
