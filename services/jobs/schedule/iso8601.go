package schedule

import (
	"strconv"
	"strings"
	"time"
)

// Repeat is a parsed Chronos schedule "R[n]/<start>/<period>". It implements
// Spec. Tick k (k = 0, 1, ...) is start + k×period computed from the start,
// not from the previous tick, so a monthly schedule starting on the 31st
// fires on the last day of shorter months and returns to the 31st after.
type Repeat struct {
	count int // -1 = forever
	start time.Time
	loc   *time.Location
	wall  time.Time // start's wall clock in loc, for calendar arithmetic
	per   period
}

// ParseISO8601 parses a Chronos schedule; an empty start means time.Now().
func ParseISO8601(s, tz string) (*Repeat, error) {
	return ParseISO8601At(s, tz, time.Now())
}

// ParseISO8601At parses a Chronos schedule "R[n]/<start>/<period>":
//
//   - "R" or "R-1" repeats forever, "Rn" gives n ticks, "R0" none;
//   - start is an ISO 8601 date-time (2026-01-01T10:00:00Z,
//     2026-01-01T10:00:00.000+01:00, 2026-01-01T10:00, 2026-01-01); empty
//     means now (truncated to milliseconds);
//   - period is an ISO 8601 duration (P1D, PT30S, P2W, P1Y2M10DT2H30M). It
//     must be at least one second, except with R0 and R1 where it is never
//     used (clients unschedule with "R0//PT0M").
//
// tz is Chronos's scheduleTimeZone. As in Chronos it takes precedence over
// any offset written in the start: the start's date and time of day are kept
// and read in tz. Without tz, the start's own offset (UTC when absent)
// fixes the zone. Errors are *FieldError with Field "schedule" or "timezone".
func ParseISO8601At(s, tz string, now time.Time) (*Repeat, error) {
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, "R") {
		return nil, fieldErr("schedule", "%q: missing the leading R; expected R[n]/<start>/<period>, e.g. R/2026-01-01T00:00:00Z/P1D", s)
	}
	parts := strings.Split(s, "/")
	if len(parts) != 3 {
		return nil, fieldErr("schedule", "%q: expected three parts R[n]/<start>/<period> separated by '/', found %d", s, len(parts))
	}
	count, err := parseCount(parts[0])
	if err != nil {
		return nil, fieldErr("schedule", "%q: bad repeat count %q: %v", s, parts[0], err)
	}
	var loc *time.Location
	if tz != "" {
		if loc, err = LoadLocation(tz); err != nil {
			return nil, err
		}
	}
	r := &Repeat{count: count}
	if parts[1] == "" {
		if loc == nil {
			loc = time.UTC
		}
		r.start = now.In(loc).Truncate(time.Millisecond)
	} else {
		wall, off, hasOff, msg := parseDateTime(parts[1])
		if msg != "" {
			return nil, fieldErr("schedule", "%q: bad start %q: %s", s, parts[1], msg)
		}
		r.wall = wall
		switch {
		case loc != nil:
			// A start in a DST gap fires at the end of the gap but keeps
			// its written time of day for the following ticks.
			r.start, _ = resolveWall(wall, loc)
		case hasOff && off == 0:
			loc = time.UTC
			r.start = wall.In(loc)
		case hasOff:
			loc = time.FixedZone("", off)
			r.start = wall.Add(-time.Duration(off) * time.Second).In(loc)
		default:
			loc = time.UTC
			r.start = wall
		}
	}
	if beyondRange(r.start) {
		return nil, fieldErr("schedule", "%q: start is after year %d", s, maxYear)
	}
	r.loc = loc
	if r.wall.IsZero() {
		r.wall = civilOf(r.start)
	}
	p, msg := parsePeriod(parts[2])
	if msg != "" {
		return nil, fieldErr("schedule", "%q: bad period: %s", s, msg)
	}
	r.per = p
	if count != 0 && count != 1 {
		if p.isZero() {
			return nil, fieldErr("schedule", "%q: zero period %q repeats nothing; use R0 to unschedule or R1 to run once", s, parts[2])
		}
		if !p.calendar() && p.d < time.Second {
			return nil, fieldErr("schedule", "%q: period %q is shorter than one second", s, parts[2])
		}
	}
	return r, nil
}

func parseCount(s string) (int, error) {
	n := strings.TrimPrefix(s, "R")
	if n == "" || n == "-1" {
		return -1, nil
	}
	for _, ch := range n {
		if ch < '0' || ch > '9' {
			return 0, errorString("must be R (forever), R-1 (forever) or Rn with n >= 0")
		}
	}
	v, err := strconv.ParseInt(n, 10, 32)
	if err != nil {
		return 0, errorString("count out of range")
	}
	return int(v), nil
}

// parseDateTime reads YYYY-MM-DD[THH[:MM[:SS[.fff]]][Z|±HH[:MM]|±HHMM]] and
// returns the wall clock (as a UTC value) and the offset in seconds, if any.
func parseDateTime(s string) (wall time.Time, off int, hasOff bool, msg string) {
	datePart, timePart, hasT := strings.Cut(s, "T")
	if len(datePart) != 10 || datePart[4] != '-' || datePart[7] != '-' {
		return wall, 0, false, "date must be YYYY-MM-DD"
	}
	year, ok1 := atoiDigits(datePart[0:4])
	month, ok2 := atoiDigits(datePart[5:7])
	day, ok3 := atoiDigits(datePart[8:10])
	if !ok1 || !ok2 || !ok3 || year < 1 || month < 1 || month > 12 || day < 1 || day > daysIn(year, time.Month(month)) {
		return wall, 0, false, "no such date"
	}
	var hour, minute, sec, nanos int
	if hasT {
		clock := timePart
		if i := strings.IndexAny(clock, "Z+-"); i >= 0 {
			zone := clock[i:]
			clock = clock[:i]
			var zmsg string
			if off, zmsg = parseOffset(zone); zmsg != "" {
				return wall, 0, false, zmsg
			}
			hasOff = true
		}
		if msg = parseClock(clock, &hour, &minute, &sec, &nanos); msg != "" {
			return wall, 0, false, msg
		}
	}
	return time.Date(year, time.Month(month), day, hour, minute, sec, nanos, time.UTC), off, hasOff, ""
}

func parseClock(s string, hour, minute, sec, nanos *int) string {
	const bad = "time of day must be HH[:MM[:SS[.fff]]]"
	main, frac, hasFrac := strings.Cut(s, ".")
	if !hasFrac {
		main, frac, hasFrac = strings.Cut(s, ",")
	}
	fields := strings.Split(main, ":")
	if len(fields) > 3 || (hasFrac && len(fields) != 3) {
		return bad
	}
	dst := []*int{hour, minute, sec}
	limits := []int{23, 59, 59}
	for i, f := range fields {
		v, ok := atoiDigits(f)
		if !ok || len(f) != 2 {
			return bad
		}
		if v > limits[i] {
			return "time of day out of range"
		}
		*dst[i] = v
	}
	if hasFrac {
		if frac == "" || len(frac) > 9 {
			return "bad fraction of a second"
		}
		v, ok := atoiDigits((frac + "000000000")[:9])
		if !ok {
			return "bad fraction of a second"
		}
		*nanos = v
	}
	return ""
}

func parseOffset(z string) (int, string) {
	if z == "Z" {
		return 0, ""
	}
	const bad = "offset must be Z, ±HH, ±HH:MM or ±HHMM"
	sign := 1
	switch z[0] {
	case '+':
	case '-':
		sign = -1
	default:
		return 0, bad
	}
	digits := strings.Replace(z[1:], ":", "", 1)
	if (len(digits) != 2 && len(digits) != 4) || (strings.Contains(z[1:], ":") && len(z) != 6) {
		return 0, bad
	}
	h, ok := atoiDigits(digits[:2])
	m := 0
	ok2 := true
	if len(digits) == 4 {
		m, ok2 = atoiDigits(digits[2:])
	}
	if !ok || !ok2 || h > 18 || m > 59 {
		return 0, bad
	}
	return sign * (h*3600 + m*60), ""
}

func atoiDigits(s string) (int, bool) {
	if s == "" || len(s) > 9 {
		return 0, false
	}
	v := 0
	for _, ch := range s {
		if ch < '0' || ch > '9' {
			return 0, false
		}
		v = v*10 + int(ch-'0')
	}
	return v, true
}

func daysIn(year int, m time.Month) int {
	return time.Date(year, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// Count returns the number of ticks (-1 = infinite).
func (r *Repeat) Count() int { return r.count }

// Start returns the first tick, in the schedule's zone.
func (r *Repeat) Start() time.Time { return r.start }

// Location returns the zone used for calendar arithmetic: scheduleTimeZone
// if given, otherwise the fixed offset written in the start (UTC if none).
func (r *Repeat) Location() *time.Location { return r.loc }

// Period returns the period's calendar parts (weeks folded into days) and
// its absolute part.
func (r *Repeat) Period() (years, months, days int, d time.Duration) {
	return r.per.years, r.per.months, r.per.days, r.per.d
}

// String returns the canonical form, e.g. "R5/2026-11-21T10:00:00.000Z/PT1M":
// the start in the schedule's zone with milliseconds (nanoseconds if it has
// them) and its offset, which parses back to the same schedule when given
// the same tz.
func (r *Repeat) String() string {
	c := "R"
	if r.count >= 0 {
		c += strconv.Itoa(r.count)
	}
	layout := "2006-01-02T15:04:05.000"
	if r.wall.Nanosecond()%int(time.Millisecond) != 0 {
		layout = "2006-01-02T15:04:05.000000000"
	}
	// The written wall time, which differs from the start's only when it
	// fell into a DST gap, with the start's offset.
	return c + "/" + r.wall.Format(layout) + r.start.Format("Z07:00") + "/" + r.per.String()
}
