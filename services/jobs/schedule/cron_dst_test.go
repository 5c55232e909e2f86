package schedule

import (
	"strings"
	"testing"
	"time"

	"github.com/robfig/cron/v3"
)

const tickLayout = "2006-01-02T15:04:05Z07:00"

// ticksFrom returns the first n ticks after from, formatted with their offset.
func ticksFrom(t *testing.T, s Spec, from time.Time, n int) []string {
	t.Helper()
	var out []string
	x := from
	for i := 0; i < n; i++ {
		next, ok := s.Next(x)
		if !ok {
			t.Fatalf("Next(%s) ran out after %v", x.Format(tickLayout), out)
		}
		if !next.After(x) {
			t.Fatalf("Next(%s) = %s is not after it", x.Format(tickLayout), next.Format(tickLayout))
		}
		out = append(out, next.Format(tickLayout))
		x = next
	}
	return out
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(tickLayout, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestCronDST(t *testing.T) {
	cases := []struct {
		name, expr, tz, from string
		want                 []string
	}{
		// America/New_York: 2026-03-08 02:00 EST -> 03:00 EDT; 2026-11-01 02:00 EDT -> 01:00 EST.
		{"ny gap daily fires once at 03:00", "30 2 * * *", "America/New_York", "2026-03-07T12:00:00-05:00",
			[]string{"2026-03-08T03:00:00-04:00", "2026-03-09T02:30:00-04:00"}},
		{"ny gap several ticks collapse into one", "*/20 2 * * *", "America/New_York", "2026-03-08T00:00:00-05:00",
			[]string{"2026-03-08T03:00:00-04:00", "2026-03-09T02:00:00-04:00", "2026-03-09T02:20:00-04:00"}},
		{"ny gap tick coinciding with a real 03:00 tick", "0,30 2,3 * * *", "America/New_York", "2026-03-08T00:00:00-05:00",
			[]string{"2026-03-08T03:00:00-04:00", "2026-03-08T03:30:00-04:00", "2026-03-09T02:00:00-04:00"}},
		{"ny gap from inside the collapsed instant", "30 2 * * *", "America/New_York", "2026-03-08T03:00:00-04:00",
			[]string{"2026-03-09T02:30:00-04:00"}},
		{"ny repeated hour fires once (first pass)", "30 1 * * *", "America/New_York", "2026-10-31T12:00:00-04:00",
			[]string{"2026-11-01T01:30:00-04:00", "2026-11-02T01:30:00-05:00"}},
		{"ny repeated hour: asked during the second pass", "30 1 * * *", "America/New_York", "2026-11-01T01:10:00-05:00",
			[]string{"2026-11-02T01:30:00-05:00"}},
		{"ny repeated hour: minute steps only in the first pass", "*/20 1 * * *", "America/New_York", "2026-11-01T00:00:00-04:00",
			[]string{"2026-11-01T01:00:00-04:00", "2026-11-01T01:20:00-04:00", "2026-11-01T01:40:00-04:00", "2026-11-02T01:00:00-05:00"}},
		{"ny every 15 min across the gap", "*/15 * * * *", "America/New_York", "2026-03-08T01:30:00-05:00",
			[]string{"2026-03-08T01:45:00-05:00", "2026-03-08T03:00:00-04:00", "2026-03-08T03:15:00-04:00"}},
		{"ny every 15 min through the repeated hour", "*/15 * * * *", "America/New_York", "2026-11-01T01:40:00-04:00",
			[]string{"2026-11-01T01:45:00-04:00", "2026-11-01T01:00:00-05:00", "2026-11-01T01:15:00-05:00", "2026-11-01T01:30:00-05:00", "2026-11-01T01:45:00-05:00", "2026-11-01T02:00:00-05:00"}},
		{"ny hourly across the gap", "0 * * * *", "America/New_York", "2026-03-08T00:30:00-05:00",
			[]string{"2026-03-08T01:00:00-05:00", "2026-03-08T03:00:00-04:00", "2026-03-08T04:00:00-04:00"}},
		{"ny hourly through the repeated hour", "@hourly", "America/New_York", "2026-11-01T00:30:00-04:00",
			[]string{"2026-11-01T01:00:00-04:00", "2026-11-01T01:00:00-05:00", "2026-11-01T02:00:00-05:00"}},
		{"ny daily at midnight unaffected", "@daily", "America/New_York", "2026-03-07T12:00:00-05:00",
			[]string{"2026-03-08T00:00:00-05:00", "2026-03-09T00:00:00-04:00"}},

		// Europe/Berlin: 2026-03-29 02:00 CET -> 03:00 CEST; 2026-10-25 03:00 CEST -> 02:00 CET.
		{"berlin gap", "30 2 * * *", "Europe/Berlin", "2026-03-28T12:00:00+01:00",
			[]string{"2026-03-29T03:00:00+02:00", "2026-03-30T02:30:00+02:00"}},
		{"berlin repeated hour", "30 2 * * *", "Europe/Berlin", "2026-10-24T12:00:00+02:00",
			[]string{"2026-10-25T02:30:00+02:00", "2026-10-26T02:30:00+01:00"}},
		{"berlin hourly repeated hour", "30 * * * *", "Europe/Berlin", "2026-10-25T01:45:00+02:00",
			[]string{"2026-10-25T02:30:00+02:00", "2026-10-25T02:30:00+01:00", "2026-10-25T03:30:00+01:00"}},

		// Australia/Lord_Howe: 30-minute shifts. 2026-04-05 02:00 (+11) -> 01:30 (+10:30);
		// 2026-10-04 02:00 (+10:30) -> 02:30 (+11).
		{"lord howe half-hour gap", "15 2 * * *", "Australia/Lord_Howe", "2026-10-03T12:00:00+10:30",
			[]string{"2026-10-04T02:30:00+11:00", "2026-10-05T02:15:00+11:00"}},
		{"lord howe time after the half-hour gap exists", "45 2 * * *", "Australia/Lord_Howe", "2026-10-03T12:00:00+10:30",
			[]string{"2026-10-04T02:45:00+11:00"}},
		{"lord howe hourly across the gap", "0 * * * *", "Australia/Lord_Howe", "2026-10-04T00:30:00+10:30",
			[]string{"2026-10-04T01:00:00+10:30", "2026-10-04T03:00:00+11:00"}},
		{"lord howe half-past hourly across the gap", "30 * * * *", "Australia/Lord_Howe", "2026-10-04T01:00:00+10:30",
			[]string{"2026-10-04T01:30:00+10:30", "2026-10-04T02:30:00+11:00", "2026-10-04T03:30:00+11:00"}},
		{"lord howe repeated half hour", "45 1 * * *", "Australia/Lord_Howe", "2026-04-04T12:00:00+11:00",
			[]string{"2026-04-05T01:45:00+11:00", "2026-04-06T01:45:00+10:30"}},
		{"lord howe hourly through the repeated half hour", "45 * * * *", "Australia/Lord_Howe", "2026-04-05T00:00:00+11:00",
			[]string{"2026-04-05T00:45:00+11:00", "2026-04-05T01:45:00+11:00", "2026-04-05T01:45:00+10:30", "2026-04-05T02:45:00+10:30"}},
		{"lord howe unrepeated minute", "15 1 * * *", "Australia/Lord_Howe", "2026-04-04T12:00:00+11:00",
			[]string{"2026-04-05T01:15:00+11:00", "2026-04-06T01:15:00+10:30"}},

		// America/Sao_Paulo (2018): midnight itself was skipped and 23:00 repeated.
		{"sao paulo skipped midnight", "@daily", "America/Sao_Paulo", "2018-11-03T12:00:00-03:00",
			[]string{"2018-11-04T01:00:00-02:00", "2018-11-05T00:00:00-02:00"}},
		{"sao paulo repeated 23:00", "30 23 * * *", "America/Sao_Paulo", "2019-02-16T12:00:00-02:00",
			[]string{"2019-02-16T23:30:00-02:00", "2019-02-17T23:30:00-03:00"}},

		// No DST.
		{"tokyo", "0 9 * * 1-5", "Asia/Tokyo", "2026-03-06T10:00:00+09:00",
			[]string{"2026-03-09T09:00:00+09:00", "2026-03-10T09:00:00+09:00"}},
		{"utc seconds", "*/20 * * * * *", "", "2026-03-08T01:59:30Z",
			[]string{"2026-03-08T01:59:40Z", "2026-03-08T02:00:00Z", "2026-03-08T02:00:20Z"}},
		{"utc explicit", "0 0 1 1 *", "UTC", "2026-06-01T00:00:00Z",
			[]string{"2027-01-01T00:00:00Z", "2028-01-01T00:00:00Z"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ParseCron(tc.expr, tc.tz)
			if err != nil {
				t.Fatal(err)
			}
			got := ticksFrom(t, c, mustTime(t, tc.from), len(tc.want))
			if strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Errorf("%s in %q from %s:\n got  %v\n want %v", tc.expr, tc.tz, tc.from, got, tc.want)
			}
		})
	}
}

// TestRobfigRawDSTBehaviour records what robfig/cron's SpecSchedule.Next does
// on its own, which is why Cron.Next does not use it in the schedule's zone:
// it skips a wall-clock time that falls into the spring-forward gap for the
// whole day and fires a time in the repeated hour twice.
func TestRobfigRawDSTBehaviour(t *testing.T) {
	ny, err := LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	raw := func(expr string, from time.Time, n int) []string {
		s, err := cronParser.Parse(expr)
		if err != nil {
			t.Fatal(err)
		}
		s.(*cron.SpecSchedule).Location = ny
		var out []string
		for i := 0; i < n; i++ {
			from = s.Next(from)
			out = append(out, from.Format(tickLayout))
		}
		return out
	}
	gap := raw("30 2 * * *", time.Date(2026, 3, 7, 12, 0, 0, 0, ny), 1)
	if gap[0] != "2026-03-09T02:30:00-04:00" {
		t.Errorf("robfig gap behaviour changed: %v (expected it to skip 2026-03-08)", gap)
	}
	twice := raw("30 1 * * *", time.Date(2026, 10, 31, 12, 0, 0, 0, ny), 2)
	if twice[1] != "2026-11-01T01:30:00-05:00" {
		t.Errorf("robfig overlap behaviour changed: %v (expected a second 01:30 in EST)", twice)
	}
}

// TestCronAbsoluteMatchesBruteForce checks schedules that match every hour
// against the definition "every instant whose local wall time matches",
// minute by minute across transitions.
func TestCronAbsoluteMatchesBruteForce(t *testing.T) {
	windows := []struct{ tz, from string }{
		{"America/New_York", "2026-03-07T20:00:00-05:00"},
		{"America/New_York", "2026-10-31T20:00:00-04:00"},
		{"Australia/Lord_Howe", "2026-10-03T20:00:00+10:30"},
		{"Australia/Lord_Howe", "2026-04-04T20:00:00+11:00"},
		{"Europe/Berlin", "2026-10-24T20:00:00+02:00"},
		{"Asia/Tokyo", "2026-10-24T20:00:00+09:00"},
	}
	for _, expr := range []string{"* * * * *", "*/15 * * * *", "0 * * * *", "30 * * * *", "5,45 * * * *", "@hourly"} {
		c, err := ParseCron(expr, "")
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range windows {
			loc, _ := LoadLocation(w.tz)
			c.loc = loc
			from := mustTime(t, w.from)
			var want []time.Time
			for x := from.Add(time.Minute); x.Before(from.Add(12 * time.Hour)); x = x.Add(time.Minute) {
				if c.matchesCivil(civilOf(x.In(loc))) {
					want = append(want, x)
				}
			}
			x := from
			for i, wt := range want {
				got, ok := c.Next(x)
				if !ok || !got.Equal(wt) {
					t.Fatalf("%s in %s: tick %d = %s, want %s", expr, w.tz, i, got.Format(tickLayout), wt.In(loc).Format(tickLayout))
				}
				x = got
			}
		}
	}
}
