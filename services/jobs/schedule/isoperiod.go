package schedule

import (
	"strconv"
	"strings"
	"time"
)

// period is an ISO 8601 duration split into calendar parts, which are added
// to the wall clock in the schedule's zone, and an absolute part.
type period struct {
	years, months, days int // weeks are folded into days
	d                   time.Duration
}

func (p period) calendar() bool { return p.years != 0 || p.months != 0 || p.days != 0 }
func (p period) isZero() bool   { return !p.calendar() && p.d == 0 }

// approxSeconds is the period's mean length, used only to estimate tick indexes.
func (p period) approxSeconds() float64 {
	return float64(p.years)*365.2425*secondsPerDay + float64(p.months)*30.436875*secondsPerDay +
		float64(p.days)*secondsPerDay + p.d.Seconds()
}

// String formats the period canonically: P[nY][nM][nD][T[nH][nM][n[.f]S]],
// "PT0S" when zero. Weeks appear as days and the time part is normalised
// (PT90M prints as PT1H30M).
func (p period) String() string {
	if p.isZero() {
		return "PT0S"
	}
	var b strings.Builder
	b.WriteByte('P')
	for _, part := range []struct {
		n    int
		unit byte
	}{{p.years, 'Y'}, {p.months, 'M'}, {p.days, 'D'}} {
		if part.n != 0 {
			b.WriteString(strconv.Itoa(part.n))
			b.WriteByte(part.unit)
		}
	}
	if p.d != 0 {
		b.WriteByte('T')
		h, rest := p.d/time.Hour, p.d%time.Hour
		m, rest := rest/time.Minute, rest%time.Minute
		if h != 0 {
			b.WriteString(strconv.FormatInt(int64(h), 10) + "H")
		}
		if m != 0 {
			b.WriteString(strconv.FormatInt(int64(m), 10) + "M")
		}
		if rest != 0 {
			sec, frac := rest/time.Second, rest%time.Second
			b.WriteString(strconv.FormatInt(int64(sec), 10))
			if frac != 0 {
				f := strings.TrimRight(strconv.FormatInt(int64(frac)+int64(time.Second), 10)[1:], "0")
				b.WriteString("." + f)
			}
			b.WriteByte('S')
		}
	}
	return b.String()
}

// Limits keep every later computation far from integer overflow.
const (
	maxPeriodYears  = 10000
	maxPeriodMonths = maxPeriodYears * 12
	maxPeriodDays   = maxPeriodYears * 366
	maxPeriodD      = 100 * 366 * 24 * time.Hour
)

// parsePeriod parses an ISO 8601 duration such as P1D, PT30S, P2W or
// P1Y2M10DT2H30M. On failure it returns a message naming the problem.
func parsePeriod(s string) (period, string) {
	var p period
	if s == "" {
		return p, "empty period; expected something like P1D or PT30M"
	}
	if s[0] != 'P' {
		return p, strconv.Quote(s) + " must start with 'P' (e.g. P1D, PT1H)"
	}
	rest := s[1:]
	if rest == "" {
		return p, strconv.Quote(s) + " has no components"
	}
	datePart, timePart, hasT := strings.Cut(rest, "T")
	if hasT && timePart == "" {
		return p, strconv.Quote(s) + " has 'T' but no hours, minutes or seconds after it"
	}
	var weeks, seen int
	const dateUnits, timeUnits = "YMWD", "HMS"
	order := -1
	for datePart != "" {
		n, frac, unit, tail, msg := splitComponent(datePart)
		if msg != "" {
			return p, strconv.Quote(s) + ": " + msg
		}
		idx := strings.IndexByte(dateUnits, unit)
		if idx < 0 {
			return p, strconv.Quote(s) + ": unknown date unit '" + string(unit) + "' (use Y, M, W, D; time units need a 'T')"
		}
		if idx <= order {
			return p, strconv.Quote(s) + ": units out of order or repeated (expected P[nY][nM][nW][nD]T[nH][nM][nS])"
		}
		if frac != 0 {
			return p, strconv.Quote(s) + ": only seconds may have a fraction"
		}
		order = idx
		switch unit {
		case 'Y':
			p.years = int(n)
		case 'M':
			p.months = int(n)
		case 'W':
			weeks = int(n)
		case 'D':
			p.days = int(n)
		}
		seen++
		datePart = tail
	}
	order = -1
	var d time.Duration
	for timePart != "" {
		n, frac, unit, tail, msg := splitComponent(timePart)
		if msg != "" {
			return p, strconv.Quote(s) + ": " + msg
		}
		idx := strings.IndexByte(timeUnits, unit)
		if idx < 0 {
			return p, strconv.Quote(s) + ": unknown time unit '" + string(unit) + "' (use H, M, S after 'T')"
		}
		if idx <= order {
			return p, strconv.Quote(s) + ": units out of order or repeated (expected P[nY][nM][nW][nD]T[nH][nM][nS])"
		}
		if frac != 0 && unit != 'S' {
			return p, strconv.Quote(s) + ": only seconds may have a fraction"
		}
		order = idx
		unitDur := map[byte]time.Duration{'H': time.Hour, 'M': time.Minute, 'S': time.Second}[unit]
		if n > int64(maxPeriodD/unitDur) {
			return p, strconv.Quote(s) + ": too large"
		}
		d += time.Duration(n)*unitDur + frac
		if d > maxPeriodD {
			return p, strconv.Quote(s) + ": too large"
		}
		seen++
		timePart = tail
	}
	if seen == 0 {
		return p, strconv.Quote(s) + " has no components"
	}
	if p.years > maxPeriodYears || p.months > maxPeriodMonths || weeks > maxPeriodDays/7 || p.days > maxPeriodDays {
		return p, strconv.Quote(s) + ": too large"
	}
	p.days += weeks * 7
	if p.days > maxPeriodDays {
		return p, strconv.Quote(s) + ": too large"
	}
	p.d = d
	return p, ""
}

// splitComponent reads "<digits>[.<digits>]<unit>" from the front of s.
func splitComponent(s string) (n int64, frac time.Duration, unit byte, tail, msg string) {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0, 0, 0, "", "expected a number at " + strconv.Quote(s)
	}
	if i > 9 {
		return 0, 0, 0, "", "number too large at " + strconv.Quote(s)
	}
	n, _ = strconv.ParseInt(s[:i], 10, 64)
	if i < len(s) && (s[i] == '.' || s[i] == ',') {
		j := i + 1
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		digits := s[i+1 : j]
		if digits == "" || len(digits) > 9 {
			return 0, 0, 0, "", "bad fraction at " + strconv.Quote(s)
		}
		f, _ := strconv.ParseInt((digits + "000000000")[:9], 10, 64)
		frac = time.Duration(f)
		i = j
	}
	if i >= len(s) {
		return 0, 0, 0, "", "number without a unit at " + strconv.Quote(s)
	}
	return n, frac, s[i], s[i+1:], ""
}

// ParseISO8601Duration parses a Chronos epsilon such as "PT30S" or "PT1M"
// (any ISO 8601 duration: P[nY][nM][nW][nD][T[nH][nM][nS]], weeks returned
// as days). Errors are *FieldError with Field "epsilon".
func ParseISO8601Duration(s string) (years, months, days int, d time.Duration, err error) {
	p, msg := parsePeriod(strings.TrimSpace(s))
	if msg != "" {
		return 0, 0, 0, 0, &FieldError{Field: "epsilon", Message: msg}
	}
	return p.years, p.months, p.days, p.d, nil
}
