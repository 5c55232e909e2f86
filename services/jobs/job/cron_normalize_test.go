package job

import (
	"testing"

	"strata/services/jobs/schedule"
)

func TestNormalizeCron(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"0 0 * * 7", "0 0 * * 0"},
		{"0 0 * * 0", "0 0 * * 0"},
		{"0 0 * * 5-7", "0 0 * * 5,6,0"},
		{"0 0 * * 1,7", "0 0 * * 1,0"},
		{"0 0 * * 0,7", "0 0 * * 0"},
		{"0 0 * * 1-7/2", "0 0 * * 1,3,5,0"},
		{"0 0 * * 0-7", "0 0 * * 0-6"},
		{"0 0 * * 1-7", "0 0 * * 0-6"},
		{"0 0 * * 7-7", "0 0 * * 0"},
		{"0 0 * * FRI-7", "0 0 * * 5,6,0"},
		{"0 0 * * 7#2", "0 0 * * 0#2"},
		{"0 0 * * 7L", "0 0 * * 0L"},
		{"0 0 * * 1-5", "0 0 * * 1-5"},
		{"0 0 7 * 1", "0 0 7 * 1"},     // day-of-month 7 is not touched
		{"7 7 * 7 *", "7 7 * 7 *"},     // nor minute, hour, month
		{"0  0 * * 7", "0 0 * * 0"},    // rewritten expressions are single-spaced
		{"0 0 0 * * 7", "0 0 0 * * 0"}, // 6 fields: leading seconds, day of week last
		{"0 0 0 * 5-7 *", "0 0 0 * 5-7 *"},
		{"@weekly", "@weekly"},
		{"* * * *", "* * * *"},
		{"", ""},
	} {
		if got := NormalizeCron(tc.in); got != tc.want {
			t.Errorf("NormalizeCron(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestNormalizeCronSundays: with 7 normalized, Sunday schedules fire on Sundays.
func TestNormalizeCronSundays(t *testing.T) {
	for _, expr := range []string{"0 12 * * 7", "0 12 * * 6-7", "0 12 * * 1,7", "0 12 * * 7#1"} {
		c, err := schedule.ParseCron(NormalizeCron(expr), "UTC")
		if err != nil {
			if expr == "0 12 * * 7#1" {
				continue // '#' is not supported by package schedule
			}
			t.Fatalf("%s: %v", expr, err)
		}
		found := false
		at := mustTime(t, "2026-03-01T00:00:00Z") // a Sunday
		for i := 0; i < 3; i++ {
			next, ok := c.Next(at)
			if !ok {
				t.Fatalf("%s: no next tick", expr)
			}
			if next.Weekday() == 0 {
				found = true
			}
			at = next
		}
		if !found {
			t.Errorf("%s never fires on a Sunday", expr)
		}
	}
}
