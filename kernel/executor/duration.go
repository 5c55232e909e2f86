package executor

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// mesosUnits are the duration units Mesos writes and reads (stout's
// Duration): "5secs", "1.5secs", "100ms", "3mins".
var mesosUnits = map[string]time.Duration{
	"ns":    time.Nanosecond,
	"us":    time.Microsecond,
	"ms":    time.Millisecond,
	"secs":  time.Second,
	"mins":  time.Minute,
	"hrs":   time.Hour,
	"days":  24 * time.Hour,
	"weeks": 7 * 24 * time.Hour,
}

// ParseDuration parses a duration as Mesos writes it in the executor
// environment: a non-negative decimal number immediately followed by one of
// the units ns, us, ms, secs, mins, hrs, days or weeks ("5secs", "1.5secs",
// "100ms", "15mins"). Go duration strings ("5s", "1m30s") are accepted as
// well, for hand-written environments. Negative durations, exponents, and
// values beyond the range of time.Duration are errors.
func ParseDuration(s string) (time.Duration, error) {
	text := strings.TrimSpace(s)
	i := strings.IndexFunc(text, func(r rune) bool { return (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') })
	if i > 0 {
		if unit, ok := mesosUnits[text[i:]]; ok {
			number := text[:i]
			if !isDecimal(number) {
				return 0, fmt.Errorf("executor: duration %q: malformed number %q", s, number)
			}
			v, err := strconv.ParseFloat(number, 64)
			if err != nil {
				return 0, fmt.Errorf("executor: duration %q: %w", s, err)
			}
			ns := v * float64(unit)
			if ns >= math.MaxInt64 {
				return 0, fmt.Errorf("executor: duration %q: out of range", s)
			}
			return time.Duration(math.Round(ns)), nil
		}
	}
	d, err := time.ParseDuration(text)
	if err != nil {
		return 0, fmt.Errorf("executor: duration %q: want a number followed by ns, us, ms, secs, mins, hrs, days or weeks", s)
	}
	if d < 0 {
		return 0, fmt.Errorf("executor: duration %q: negative", s)
	}
	return d, nil
}

// isDecimal reports whether s is digits with at most one decimal point and at
// least one digit, optionally preceded by '+'.
func isDecimal(s string) bool {
	s = strings.TrimPrefix(s, "+")
	digits, dots := 0, 0
	for _, c := range s {
		switch {
		case c >= '0' && c <= '9':
			digits++
		case c == '.':
			dots++
		default:
			return false
		}
	}
	return digits > 0 && dots <= 1
}

// FormatDuration writes d the way Mesos does, with the largest unit that
// keeps the value at least 1 ("5secs", "1.5secs", "100ms", "3mins"), so that
// ParseDuration(FormatDuration(d)) == d for whole nanoseconds up to
// rounding of the decimal representation.
func FormatDuration(d time.Duration) string {
	if d < 0 {
		if d == math.MinInt64 {
			d++ // -MinInt64 does not exist; one nanosecond does not show
		}
		return "-" + FormatDuration(-d)
	}
	order := []struct {
		name string
		unit time.Duration
	}{
		{"weeks", 7 * 24 * time.Hour}, {"days", 24 * time.Hour}, {"hrs", time.Hour}, {"mins", time.Minute},
		{"secs", time.Second}, {"ms", time.Millisecond}, {"us", time.Microsecond},
	}
	for _, u := range order {
		if d >= u.unit {
			return strconv.FormatFloat(float64(d)/float64(u.unit), 'f', -1, 64) + u.name
		}
	}
	return strconv.FormatInt(int64(d), 10) + "ns"
}
