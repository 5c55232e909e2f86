package schedule

import (
	"strconv"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// Spec yields the ticks of a schedule.
type Spec interface {
	// Next returns the first tick strictly after t; ok=false when the schedule has no more ticks.
	Next(t time.Time) (next time.Time, ok bool)
}

// Cron is a parsed Metronome cron schedule bound to a time zone. It
// implements Spec; see the package documentation for its DST rules.
type Cron struct {
	expr string
	loc  *time.Location
	// spec holds the bit sets parsed by robfig/cron (see cron_fields.go);
	// its Next method is not used.
	spec cron.SpecSchedule
	// wall is true when the hour field does not match every hour: the
	// schedule names times of day, and follows the wall-clock DST rules.
	wall bool
}

var cronParser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// starBit is robfig/cron's marker for a field written as "*" or "?".
const starBit = uint64(1) << 63

const allHours = uint64(1)<<24 - 1

var descriptors = map[string]bool{
	"@yearly": true, "@annually": true, "@monthly": true, "@weekly": true,
	"@daily": true, "@midnight": true, "@hourly": true,
}

// ParseCron parses a Metronome cron expression: 5 fields (minute hour dom
// month dow), or 6 with a leading seconds field; also the descriptors @yearly
// @annually @monthly @weekly @daily @midnight @hourly. Day-of-week accepts
// 0-7 (0 and 7 are Sunday) and names. When both day-of-month and day-of-week
// are restricted a day matching either runs (Vixie cron). tz is an IANA zone
// name ("" = UTC). Errors are *FieldError with Field "cron" or "timezone".
func ParseCron(expr, tz string) (*Cron, error) {
	loc, err := LoadLocation(tz)
	if err != nil {
		return nil, err
	}
	e := strings.TrimSpace(expr)
	if e == "" {
		return nil, fieldErr("cron", "empty expression")
	}
	upper := strings.ToUpper(e)
	if strings.HasPrefix(upper, "TZ=") || strings.HasPrefix(upper, "CRON_TZ=") {
		return nil, fieldErr("cron", "%q: a TZ= or CRON_TZ= prefix is not supported; put the zone in the schedule's timezone field", expr)
	}
	var parseText string
	if strings.HasPrefix(e, "@") {
		d := strings.ToLower(e)
		if strings.HasPrefix(d, "@every") {
			return nil, fieldErr("cron", "%q: @every is not supported; write the interval as cron fields (e.g. \"*/5 * * * *\")", expr)
		}
		if !descriptors[d] {
			return nil, fieldErr("cron", "%q: unknown descriptor; use one of @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly", expr)
		}
		parseText = d
	} else {
		fields := strings.Fields(e)
		if len(fields) != 5 && len(fields) != 6 {
			return nil, fieldErr("cron", "%q: expected 5 fields (minute hour day-of-month month day-of-week) or 6 with leading seconds, found %d", expr, len(fields))
		}
		dow := len(fields) - 1
		fields[dow], err = normalizeDow(fields[dow])
		if err != nil {
			return nil, fieldErr("cron", "%q: day-of-week: %v", expr, err)
		}
		parseText = strings.Join(fields, " ")
	}
	s, err := cronParser.Parse(parseText)
	if err != nil {
		msg := err.Error()
		if strings.Count(parseText, " ") == 5 {
			msg += " (6 fields are read as: second minute hour day-of-month month day-of-week; a year field is not supported)"
		}
		return nil, fieldErr("cron", "%q: %s", expr, msg)
	}
	ss, ok := s.(*cron.SpecSchedule)
	if !ok {
		return nil, fieldErr("cron", "%q: unsupported schedule kind", expr)
	}
	c := &Cron{expr: e, loc: loc, spec: *ss}
	c.spec.Location = time.UTC // wall-clock times carry no zone
	if err := c.validate(); err != nil {
		return nil, fieldErr("cron", "%q: %s", expr, err.Error())
	}
	c.wall = c.spec.Hour&allHours != allHours
	return c, nil
}

// normalizeDow rewrites day-of-week 7 (Sunday, as in Metronome and Vixie
// cron) to 0, which is all robfig/cron accepts.
func normalizeDow(field string) (string, error) {
	if !strings.Contains(field, "7") {
		return field, nil
	}
	parts := strings.Split(field, ",")
	for i, p := range parts {
		rangePart, step, hasStep := strings.Cut(p, "/")
		lo, hi, isRange := strings.Cut(rangePart, "-")
		switch {
		case rangePart == "7" && !hasStep:
			parts[i] = "0"
		case rangePart == "7" && hasStep:
			parts[i] = "0" // "7/n" starts on Sunday and ends on Saturday+1: only Sunday
		case isRange && hi == "7":
			from, err := strconv.Atoi(lo)
			if err != nil || from < 0 || from > 7 {
				return "", errorString("bad range " + strconv.Quote(p))
			}
			n := 1
			if hasStep {
				if n, err = strconv.Atoi(step); err != nil || n <= 0 {
					return "", errorString("bad step in " + strconv.Quote(p))
				}
			}
			var days []string
			for d := from; d <= 7; d += n {
				days = append(days, strconv.Itoa(d%7))
			}
			parts[i] = strings.Join(days, ",")
		}
	}
	return strings.Join(parts, ","), nil
}

type errorString string

func (e errorString) Error() string { return string(e) }

var daysInMonthMax = [13]int{0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}

// validate rejects schedules that can never fire: an empty field (e.g. ",")
// or a day-of-month that no selected month has (e.g. "0 0 31 2 *").
func (c *Cron) validate() error {
	s := &c.spec
	for _, f := range []struct {
		name string
		bits uint64
	}{{"second", s.Second}, {"minute", s.Minute}, {"hour", s.Hour}, {"day-of-month", s.Dom}, {"month", s.Month}, {"day-of-week", s.Dow}} {
		if f.bits&^starBit == 0 {
			return errorString(f.name + " field matches no value")
		}
	}
	// Day-of-month alone decides the day when day-of-week is "*".
	if s.Dow&starBit != 0 && s.Dom&starBit == 0 {
		for m := 1; m <= 12; m++ {
			if s.Month&(1<<m) == 0 {
				continue
			}
			if s.Dom&(uint64(1)<<(daysInMonthMax[m]+1)-1) != 0 {
				return nil
			}
		}
		return errorString("day-of-month never occurs in the selected months (e.g. 31 February)")
	}
	return nil
}

// String returns the expression as given (trimmed).
func (c *Cron) String() string { return c.expr }

// Location returns the schedule's time zone.
func (c *Cron) Location() *time.Location { return c.loc }

// WallClock reports whether the schedule names times of day (its hour field
// does not match every hour) and so follows the wall-clock DST rules: a time
// skipped by a DST jump fires once when the gap ends, and a repeated time
// fires once, at its first occurrence. Schedules matching every hour follow
// absolute time instead.
func (c *Cron) WallClock() bool { return c.wall }

// Next returns the first tick strictly after t, in the schedule's zone.
func (c *Cron) Next(t time.Time) (time.Time, bool) {
	if c.wall {
		return c.nextWall(t.In(c.loc))
	}
	return c.nextAbsolute(t.In(c.loc))
}

// nextAbsolute: ticks are the instants whose local wall time matches. Within
// one zone period (constant offset) wall time is absolute time shifted, so
// search period by period.
func (c *Cron) nextAbsolute(t time.Time) (time.Time, bool) {
	p := t
	after := civilOf(t)
	// Each round crosses one zone transition: 256 covers over a century.
	for i := 0; i < 256; i++ {
		_, off := p.Zone()
		o := time.Duration(off) * time.Second
		w, ok := c.nextCivil(after)
		if !ok {
			return time.Time{}, false
		}
		cand := w.Add(-o).In(c.loc)
		_, end := p.ZoneBounds()
		if end.IsZero() || cand.Before(end) {
			return cand, true
		}
		p = end.In(c.loc)
		after = civilOf(p).Add(-time.Nanosecond)
	}
	return time.Time{}, false
}

// nextWall: each matching wall time fires once, at resolveWall's instant.
// Those instants never decrease as wall time advances, so the answer is the
// first matching wall time after t's whose instant is after t.
func (c *Cron) nextWall(t time.Time) (time.Time, bool) {
	after := civilOf(t)
	if end, ok := secondPassEnd(t); ok {
		// Repeated wall times already fired during the first pass.
		after = end.Add(-time.Nanosecond)
	}
	for i := 0; i < 1024; i++ {
		w, ok := c.nextCivil(after)
		if !ok {
			return time.Time{}, false
		}
		at, _ := resolveWall(w, c.loc)
		if at.After(t) {
			return at, true
		}
		after = w
	}
	return time.Time{}, false
}
