package schedule

import (
	"errors"
	"math/rand"
	"strings"
	"testing"
	"time"
)

func TestParseCronValid(t *testing.T) {
	cases := []struct {
		expr, tz, from string
		want           []string // first ticks after from
		wall           bool
	}{
		{"0 9 * * *", "", "2026-01-01T00:00:00Z", []string{"2026-01-01T09:00:00Z", "2026-01-02T09:00:00Z"}, true},
		{"  0 9 * * *  ", "", "2026-01-01T00:00:00Z", []string{"2026-01-01T09:00:00Z"}, true},
		{"30 0 9 * * *", "", "2026-01-01T00:00:00Z", []string{"2026-01-01T09:00:30Z"}, true},
		{"*/10 * * * * *", "", "2026-01-01T00:00:05Z", []string{"2026-01-01T00:00:10Z", "2026-01-01T00:00:20Z"}, false},
		{"@yearly", "", "2026-05-01T00:00:00Z", []string{"2027-01-01T00:00:00Z"}, true},
		{"@annually", "", "2026-05-01T00:00:00Z", []string{"2027-01-01T00:00:00Z"}, true},
		{"@monthly", "", "2026-05-02T00:00:00Z", []string{"2026-06-01T00:00:00Z"}, true},
		{"@weekly", "", "2026-05-01T00:00:00Z", []string{"2026-05-03T00:00:00Z"}, true}, // a Sunday
		{"@daily", "", "2026-05-01T00:00:00Z", []string{"2026-05-02T00:00:00Z"}, true},
		{"@MIDNIGHT", "", "2026-05-01T00:00:00Z", []string{"2026-05-02T00:00:00Z"}, true},
		{"@hourly", "", "2026-05-01T00:00:00Z", []string{"2026-05-01T01:00:00Z"}, false},
		{"0 0 * * 7", "", "2026-05-01T00:00:00Z", []string{"2026-05-03T00:00:00Z"}, true}, // 7 = Sunday
		{"0 0 * * 5-7", "", "2026-05-02T12:00:00Z", []string{"2026-05-03T00:00:00Z", "2026-05-08T00:00:00Z"}, true},
		{"0 0 * * 1-7/3", "", "2026-05-01T12:00:00Z", []string{"2026-05-03T00:00:00Z", "2026-05-04T00:00:00Z", "2026-05-07T00:00:00Z"}, true},
		{"0 0 * * MON,fri", "", "2026-05-01T12:00:00Z", []string{"2026-05-04T00:00:00Z", "2026-05-08T00:00:00Z"}, true},
		{"0 0 1 jan,JUL *", "", "2026-05-01T12:00:00Z", []string{"2026-07-01T00:00:00Z", "2027-01-01T00:00:00Z"}, true},
		{"0 12 * * ?", "", "2026-05-01T12:00:00Z", []string{"2026-05-02T12:00:00Z"}, true},
		// Both day fields restricted: either matches (Vixie cron).
		{"0 0 13 * 5", "", "2026-05-01T12:00:00Z", []string{"2026-05-08T00:00:00Z", "2026-05-13T00:00:00Z", "2026-05-15T00:00:00Z"}, true},
		{"0 0 31 * *", "", "2026-04-01T00:00:00Z", []string{"2026-05-31T00:00:00Z", "2026-07-31T00:00:00Z"}, true},
		// 29 February: beyond robfig/cron's five-year search horizon (2100 is no leap year).
		{"0 0 29 2 *", "", "2096-03-01T00:00:00Z", []string{"2104-02-29T00:00:00Z"}, true},
		{"0 9 * * *", "Asia/Tokyo", "2025-12-31T20:00:00Z", []string{"2026-01-01T09:00:00+09:00"}, true},
		{"0 0-23 * * *", "", "2026-01-01T00:00:00Z", []string{"2026-01-01T01:00:00Z"}, false},
	}
	for _, tc := range cases {
		t.Run(tc.expr, func(t *testing.T) {
			c, err := ParseCron(tc.expr, tc.tz)
			if err != nil {
				t.Fatal(err)
			}
			if c.WallClock() != tc.wall {
				t.Errorf("WallClock() = %v, want %v", c.WallClock(), tc.wall)
			}
			if c.String() != strings.TrimSpace(tc.expr) {
				t.Errorf("String() = %q", c.String())
			}
			got := ticksFrom(t, c, mustTime(t, tc.from), len(tc.want))
			if strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestParseCronInvalid(t *testing.T) {
	cases := []struct {
		expr, tz, field, msg string
	}{
		{"", "", "cron", "empty"},
		{"   ", "", "cron", "empty"},
		{"* * * *", "", "cron", "expected 5 fields"},
		{"* * * * * * *", "", "cron", "found 7"},
		{"@every 5m", "", "cron", "@every is not supported"},
		{"@EVERY 5m", "", "cron", "@every is not supported"},
		{"@fortnightly", "", "cron", "unknown descriptor"},
		{"CRON_TZ=Europe/Berlin 0 9 * * *", "", "cron", "timezone field"},
		{"TZ=Europe/Berlin 0 9 * * *", "", "cron", "timezone field"},
		{"TZ=", "", "cron", "CRON_TZ="},
		{"60 * * * *", "", "cron", "above maximum"},
		{"* 24 * * *", "", "cron", "above maximum"},
		{"0 0 0 * *", "", "cron", "below minimum"},
		{"0 0 * 13 *", "", "cron", "above maximum"},
		{"0 0 * * 8", "", "cron", "above maximum"},
		{"0 0 * * 3-7/0", "", "cron", "bad step"},
		{"*/0 * * * *", "", "cron", "positive"},
		{"5-1 * * * *", "", "cron", "beyond end"},
		{"a * * * *", "", "cron", "failed to parse"},
		{", * * * *", "", "cron", "matches no value"},
		{"0 0 31 2 *", "", "cron", "never occurs"},
		{"0 0 30,31 2 *", "", "cron", "never occurs"},
		{"0 0 31 4,6,9,11 *", "", "cron", "never occurs"},
		{"0 0 L * *", "", "cron", "failed to parse"},
		{"0 0 1 1 * 2027", "", "cron", "a year field is not supported"},
		{"0 9 * * *", "Mars/Olympus_Mons", "timezone", "unknown time zone"},
		{"0 9 * * *", "Local", "timezone", "not allowed"},
		{"0 9 * * *", " UTC", "timezone", "unknown time zone"},
	}
	for _, tc := range cases {
		t.Run(tc.expr+"|"+tc.tz, func(t *testing.T) {
			_, err := ParseCron(tc.expr, tc.tz)
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("err = %v, want *FieldError", err)
			}
			if fe.Field != tc.field || !strings.Contains(fe.Message, tc.msg) {
				t.Errorf("got %s: %s; want field %q containing %q", fe.Field, fe.Message, tc.field, tc.msg)
			}
			if !strings.HasPrefix(fe.Error(), "invalid "+tc.field+": ") {
				t.Errorf("Error() = %q", fe.Error())
			}
		})
	}
}

func TestParseCronValidSpecNeverPanics(t *testing.T) {
	// "0 0 29 2 *" is the sparsest valid day rule; check a few start years
	// where the next 29 February is eight years away.
	c, err := ParseCron("0 0 29 2 *", "America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	for _, y := range []int{2096, 2097, 2100, 9997} {
		next, ok := c.Next(time.Date(y, 3, 1, 0, 0, 0, 0, time.UTC))
		if y == 9997 {
			if ok {
				t.Errorf("tick after year 9999: %s", next)
			}
			continue
		}
		if !ok || next.Month() != time.February || next.Day() != 29 {
			t.Errorf("after %d: %s %v", y, next, ok)
		}
	}
}

func TestLoadLocation(t *testing.T) {
	for _, tz := range []string{"", "UTC"} {
		loc, err := LoadLocation(tz)
		if err != nil || loc != time.UTC {
			t.Errorf("LoadLocation(%q) = %v, %v", tz, loc, err)
		}
	}
	a, err := LoadLocation("Europe/Berlin")
	if err != nil || a.String() != "Europe/Berlin" {
		t.Fatalf("Europe/Berlin: %v %v", a, err)
	}
	b, _ := LoadLocation("Europe/Berlin")
	if a != b {
		t.Error("second look-up not cached")
	}
	if _, err := LoadLocation("../../etc/passwd"); err == nil {
		t.Error("path accepted as a zone")
	}
}

// countByStepping counts ticks in (after, until] with Next.
func countByStepping(s Spec, after, until time.Time) int64 {
	var n int64
	for t, ok := s.Next(after); ok && !t.After(until); t, ok = s.Next(t) {
		n++
	}
	return n
}

// TestCronCountMatchesNext checks the arithmetic tick count against Next
// over random ranges, most of them straddling a DST transition.
func TestCronCountMatchesNext(t *testing.T) {
	exprs := []string{
		"* * * * *", "*/15 * * * *", "0 * * * *", "30 2 * * *", "30 1 * * *", "*/20 1,2 * * *",
		"0,30 2,3 * * *", "15 2 * * *", "45 1 * * *", "@daily", "0 0 13 * 5", "*/30 * 1 * * *",
		"0 23 * * *", "0 0 * * 0", "7 */5 * * 1-5",
	}
	zones := []string{"America/New_York", "Europe/Berlin", "Australia/Lord_Howe", "America/Sao_Paulo", "Asia/Tokyo", ""}
	anchors := []string{
		"2026-03-08T07:00:00Z", "2026-11-01T06:00:00Z", "2026-03-29T01:00:00Z", "2026-10-25T01:00:00Z",
		"2026-10-03T15:30:00Z", "2026-04-04T15:00:00Z", "2018-11-04T03:00:00Z", "2019-02-17T02:00:00Z",
	}
	rng := rand.New(rand.NewSource(1))
	for _, expr := range exprs {
		for _, tz := range zones {
			c, err := ParseCron(expr, tz)
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 6; i++ {
				a := mustTime(t, anchors[rng.Intn(len(anchors))])
				after := a.Add(-time.Duration(rng.Int63n(int64(36 * time.Hour))))
				if i%2 == 0 {
					after = after.Add(time.Duration(rng.Int63n(int64(time.Second))))
				}
				until := a.Add(time.Duration(rng.Int63n(int64(36 * time.Hour))))
				if got, want := c.countTicks(after, until), countByStepping(c, after, until); got != want {
					t.Errorf("%s in %q (%s, %s]: count %d, stepping %d", expr, tz, after.Format(time.RFC3339Nano), until.Format(time.RFC3339Nano), got, want)
				}
			}
		}
	}
}

// TestNextCivilMatchesRobfigInUTC compares the wall-clock search with
// robfig/cron's SpecSchedule.Next, which is correct in UTC (no DST) within
// its five-year horizon, on random expressions and times.
func TestNextCivilMatchesRobfigInUTC(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	pick := func(options ...string) string { return options[rng.Intn(len(options))] }
	for i := 0; i < 400; i++ {
		expr := strings.Join([]string{
			pick("0", "*", "*/7", "5,50", "59"),
			pick("*", "0", "*/13", "30", "1-3,58"),
			pick("*", "0", "23", "2-4", "*/5", "12"),
			pick("*", "1", "15", "29", "31", "1-7", "30,31"),
			pick("*", "2", "2,4", "*/3", "12"),
			pick("*", "0", "1-5", "6", "3,5", "?"),
		}, " ")
		c, err := ParseCron(expr, "")
		if err != nil {
			continue // e.g. 31 in February only
		}
		raw := c.spec // a copy, Location UTC
		from := time.Date(2000+rng.Intn(60), time.Month(1+rng.Intn(12)), 1+rng.Intn(28),
			rng.Intn(24), rng.Intn(60), rng.Intn(60), rng.Intn(2)*500_000_000, time.UTC)
		x := from
		for j := 0; j < 20; j++ {
			want := raw.Next(x)
			got, ok := c.nextCivil(x)
			if want.IsZero() {
				break // beyond robfig's horizon
			}
			if !ok || !got.Equal(want) {
				t.Fatalf("%q after %s: got %s %v, robfig %s", expr, x, got, ok, want)
			}
			x = got
		}
	}
}
