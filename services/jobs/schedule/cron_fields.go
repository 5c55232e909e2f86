package schedule

import (
	"math/bits"
	"time"
)

// Matching wall-clock times against the parsed fields. robfig/cron parses
// the expression into bit sets (bit n set = value n allowed, bit 63 = the
// field was "*" or "?"); these functions search and count over them
// directly, in wall-clock time where no DST exists. robfig/cron's own
// SpecSchedule.Next is not used: besides its DST behaviour (see doc.go) it
// advances one second, minute or hour at a time and gives up after five
// years, while a 29 February schedule may wait eight.

// nextBit returns the smallest allowed value >= from, or -1.
func nextBit(set uint64, from, max int) int {
	if from > max {
		return -1
	}
	rest := set &^ starBit &^ (uint64(1)<<uint(from) - 1)
	if rest == 0 {
		return -1
	}
	if n := bits.TrailingZeros64(rest); n <= max {
		return n
	}
	return -1
}

// nextCivil returns the first matching wall-clock time strictly after w (a
// civil time, see civilOf); ok=false past year 9999.
func (c *Cron) nextCivil(w time.Time) (time.Time, bool) {
	s := &c.spec
	t := w.Truncate(time.Second).Add(time.Second)
	year, month, day := t.Date()
	hour, minute, sec := t.Clock()
	mo := int(month)
	for year <= maxYear {
		if m := nextBit(s.Month, mo, 12); m != mo {
			if m < 0 {
				year, mo = year+1, 1
			} else {
				mo = m
			}
			day, hour, minute, sec = 1, 0, 0, 0
			continue
		}
		dim := daysIn(year, time.Month(mo))
		first := int(time.Date(year, time.Month(mo), 1, 0, 0, 0, 0, time.UTC).Weekday())
		d := day
		for d <= dim && !c.dayMatch(d, (first+d-1)%7) {
			d++
		}
		if d > dim {
			mo, day, hour, minute, sec = mo+1, 1, 0, 0, 0
			if mo > 12 {
				year, mo = year+1, 1
			}
			continue
		}
		if d != day {
			day, hour, minute, sec = d, 0, 0, 0
		}
		h := nextBit(s.Hour, hour, 23)
		if h < 0 {
			day, hour, minute, sec = day+1, 0, 0, 0
			if day > dim {
				mo, day = mo+1, 1
				if mo > 12 {
					year, mo = year+1, 1
				}
			}
			continue
		}
		if h != hour {
			hour, minute, sec = h, 0, 0
		}
		m := nextBit(s.Minute, minute, 59)
		if m < 0 {
			// Carry into the next hour; the hour search above handles 24.
			hour, minute, sec = hour+1, 0, 0
			if hour > 23 {
				day, hour = day+1, 0
				if day > dim {
					mo, day = mo+1, 1
					if mo > 12 {
						year, mo = year+1, 1
					}
				}
			}
			continue
		}
		if m != minute {
			minute, sec = m, 0
		}
		sc := nextBit(s.Second, sec, 59)
		if sc < 0 {
			minute, sec = minute+1, 0
			if minute > 59 {
				hour, minute = hour+1, 0
				if hour > 23 {
					day, hour = day+1, 0
					if day > dim {
						mo, day = mo+1, 1
						if mo > 12 {
							year, mo = year+1, 1
						}
					}
				}
			}
			continue
		}
		return time.Date(year, time.Month(mo), day, hour, minute, sc, 0, time.UTC), true
	}
	return time.Time{}, false
}

// dayMatch mirrors robfig/cron (and Vixie cron): with either day field "*",
// both must match; with both restricted, either may.
func (c *Cron) dayMatch(day, weekday int) bool {
	s := &c.spec
	dom := s.Dom&(1<<uint(day)) != 0
	dow := s.Dow&(1<<uint(weekday)) != 0
	if s.Dom&starBit != 0 || s.Dow&starBit != 0 {
		return dom && dow
	}
	return dom || dow
}

func (c *Cron) dayMatches(w time.Time) bool { return c.dayMatch(w.Day(), int(w.Weekday())) }

// matchesCivil reports whether wall time w (whole seconds) matches.
func (c *Cron) matchesCivil(w time.Time) bool {
	s := &c.spec
	return s.Month&(1<<uint(w.Month())) != 0 && c.dayMatches(w) &&
		s.Hour&(1<<uint(w.Hour())) != 0 && s.Minute&(1<<uint(w.Minute())) != 0 &&
		s.Second&(1<<uint(w.Second())) != 0
}

// popLow counts the allowed values below n.
func popLow(b uint64, n int) int64 {
	if n <= 0 {
		return 0
	}
	if n >= 63 {
		return int64(bits.OnesCount64(b &^ starBit))
	}
	return int64(bits.OnesCount64(b & (uint64(1)<<uint(n) - 1)))
}
