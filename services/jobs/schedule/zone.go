package schedule

import (
	"fmt"
	"strings"
	"sync"
	"time"

	// Embed the IANA database so zone arithmetic does not depend on the
	// host's tzdata package; the system copy is still preferred when present.
	_ "time/tzdata"
)

// FieldError is a parse error naming the offending field: Field is one of
// "cron", "timezone", "schedule" (ISO8601 string), "epsilon".
type FieldError struct{ Field, Message string }

// Error implements error.
func (e *FieldError) Error() string {
	return "invalid " + e.Field + ": " + e.Message
}

func fieldErr(field, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// zoneCache memoises successful LoadLocation look-ups; the key space is
// bounded by the IANA database (a few hundred names).
var zoneCache sync.Map // string -> *time.Location

// LoadLocation resolves an IANA zone name ("" means UTC); unknown names give a
// *FieldError{Field:"timezone"}. "Local" is refused: a schedule must not
// depend on the zone of whichever machine happens to lead.
func LoadLocation(tz string) (*time.Location, error) {
	if tz == "" || tz == "UTC" {
		return time.UTC, nil
	}
	if v, ok := zoneCache.Load(tz); ok {
		return v.(*time.Location), nil
	}
	if strings.EqualFold(tz, "local") {
		return nil, fieldErr("timezone", "%q is not allowed; name an IANA zone such as \"Europe/Berlin\"", tz)
	}
	if strings.TrimSpace(tz) != tz {
		return nil, fieldErr("timezone", "unknown time zone %q (surrounding spaces)", tz)
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return nil, fieldErr("timezone", "unknown time zone %q; use an IANA name such as \"America/New_York\"", tz)
	}
	zoneCache.Store(tz, loc)
	return loc, nil
}

// Wall-clock ("civil") times are represented as time.Time values in UTC whose
// fields are the local date and time: they carry no zone and never meet DST.

// civilOf returns the wall clock shown in t's own location at instant t.
func civilOf(t time.Time) time.Time {
	_, off := t.Zone()
	return t.UTC().Add(time.Duration(off) * time.Second)
}

// offsetAt returns the UTC offset in force at instant t in loc.
func offsetAt(t time.Time, loc *time.Location) time.Duration {
	_, off := t.In(loc).Zone()
	return time.Duration(off) * time.Second
}

// maxOffset bounds every UTC offset in the IANA database (+14h, -12h) with
// margin, so that an instant showing wall time c lies within c±maxOffset.
const maxOffset = 15 * time.Hour

// resolveWall maps the wall time c in loc to the instant at which a
// wall-clock event at c happens:
//
//   - c shown once: that instant;
//   - c shown twice (the repeated hour when clocks go back): the first one;
//   - c never shown (skipped when clocks go forward): the instant the gap ends,
//     that is the first valid instant after c.
//
// gap reports the third case.
func resolveWall(c time.Time, loc *time.Location) (at time.Time, gap bool) {
	x := c.Add(-maxOffset).In(loc) // earlier than any instant showing c
	for i := 0; i < 16; i++ {
		_, off := x.Zone()
		o := time.Duration(off) * time.Second
		start, end := x.ZoneBounds()
		cand := c.Add(-o)
		if (start.IsZero() || !cand.Before(start)) && (end.IsZero() || cand.Before(end)) {
			return cand.In(loc), false
		}
		if end.IsZero() || cand.Before(start) {
			break // cannot happen with a sane database; fall through
		}
		// c lies beyond this period's wall times. If it is before the next
		// period's first wall time, it fell into the gap between the two.
		next := end.In(loc)
		if _, off2 := next.Zone(); c.Before(end.Add(time.Duration(off2) * time.Second)) {
			return next, true
		}
		x = next
	}
	return time.Date(c.Year(), c.Month(), c.Day(), c.Hour(), c.Minute(), c.Second(), c.Nanosecond(), loc), false
}

// secondPassEnd reports whether t lies in the second pass of a repeated
// wall-clock interval (just after clocks went back) and, if so, returns the
// wall time at which the repetition ends.
func secondPassEnd(t time.Time) (time.Time, bool) {
	start, _ := t.ZoneBounds()
	if start.IsZero() {
		return time.Time{}, false
	}
	_, off := t.Zone()
	_, prev := start.Add(-time.Nanosecond).In(t.Location()).Zone()
	back := time.Duration(prev-off) * time.Second
	if back <= 0 || t.Sub(start) >= back {
		return time.Time{}, false
	}
	// Wall times in [start+off, start+prev) are shown twice; t shows one of
	// them for the second time.
	return start.UTC().Add(time.Duration(prev) * time.Second), true
}

// maxYear bounds every computed tick; schedules end at the end of year 9999.
const maxYear = 9999

func beyondRange(t time.Time) bool { return t.Year() > maxYear }
