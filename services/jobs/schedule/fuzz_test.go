package schedule

import (
	"errors"
	"testing"
	"time"
)

// The seed corpus lives in testdata/fuzz/<FuzzName>/.

var fuzzFrom = []time.Time{
	time.Date(2026, 3, 8, 6, 59, 0, 0, time.UTC),  // just before New York springs forward
	time.Date(2026, 11, 1, 5, 30, 0, 0, time.UTC), // inside New York's repeated hour
	time.Date(2026, 10, 3, 15, 0, 0, 0, time.UTC), // before Lord Howe's half-hour jump
}

// FuzzParseCron: parsing never panics, errors are *FieldError, and an
// accepted schedule agrees with robfig/cron in wall-clock time and yields
// strictly increasing ticks that agree with the arithmetic counter.
func FuzzParseCron(f *testing.F) {
	f.Fuzz(func(t *testing.T, expr, tz string) {
		c, err := ParseCron(expr, tz)
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) || (fe.Field != "cron" && fe.Field != "timezone") {
				t.Fatalf("error %v is not a cron/timezone FieldError", err)
			}
			return
		}
		for _, from := range fuzzFrom {
			// Differential: robfig/cron is right in UTC within five years.
			raw := c.spec
			if want := raw.Next(from); !want.IsZero() {
				if got, ok := c.nextCivil(from); !ok || !got.Equal(want) {
					t.Fatalf("%q after %s: civil %s, robfig %s", expr, from, got, want)
				}
			}
			x := from
			for i := 0; i < 4; i++ {
				n, ok := c.Next(x)
				if !ok {
					t.Fatalf("%q: accepted but no tick after %s", expr, x)
				}
				if !n.After(x) {
					t.Fatalf("%q: Next(%s) = %s not after", expr, x, n)
				}
				x = n
			}
			if got, want := c.countTicks(from, x), int64(4); got != want {
				t.Fatalf("%q in %q: %d ticks counted in (%s, %s], stepped %d", expr, tz, got, from, x, want)
			}
		}
	})
}

// FuzzParseISO8601: parsing never panics, errors are *FieldError, the
// canonical form parses back to the same schedule, and ticks increase.
func FuzzParseISO8601(f *testing.F) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s, tz string) {
		r, err := ParseISO8601At(s, tz, now)
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) || (fe.Field != "schedule" && fe.Field != "timezone") {
				t.Fatalf("error %v is not a schedule/timezone FieldError", err)
			}
			return
		}
		back, err := ParseISO8601At(r.String(), tz, now)
		if err != nil {
			t.Fatalf("%q -> %q does not parse: %v", s, r.String(), err)
		}
		if back.String() != r.String() || !back.Start().Equal(r.Start()) || back.Count() != r.Count() {
			t.Fatalf("%q -> %q -> %q", s, r.String(), back.String())
		}
		x := r.Start().Add(-time.Second)
		for i := 0; i < 4; i++ {
			n, ok := r.Next(x)
			if !ok {
				break
			}
			if !n.After(x) {
				t.Fatalf("%q: Next(%s) = %s not after", s, x, n)
			}
			x = n
		}
		_, _, _, _, _ = ParseISO8601Duration(s)
	})
}
