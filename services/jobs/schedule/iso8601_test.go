package schedule

import (
	"errors"
	"strings"
	"testing"
	"time"
)

var parseNow = time.Date(2026, 5, 1, 12, 34, 56, 789123456, time.UTC)

func TestParseISO8601Valid(t *testing.T) {
	cases := []struct {
		in, tz    string
		count     int
		start     string // formatted with tickLayout
		y, m, d   int
		dur       time.Duration
		canonical string
	}{
		{"R3/2026-01-01T00:00:00Z/PT1H", "", 3, "2026-01-01T00:00:00Z", 0, 0, 0, time.Hour, "R3/2026-01-01T00:00:00.000Z/PT1H"},
		{"R/2014-03-08T20:00:00Z/PT2H", "", -1, "2014-03-08T20:00:00Z", 0, 0, 0, 2 * time.Hour, "R/2014-03-08T20:00:00.000Z/PT2H"},
		{"R-1/2014-03-08T20:00:00.000Z/P1D", "", -1, "2014-03-08T20:00:00Z", 0, 0, 1, 0, "R/2014-03-08T20:00:00.000Z/P1D"},
		{"R5/2026-11-21T10:00:00.000Z/PT1M", "", 5, "2026-11-21T10:00:00Z", 0, 0, 0, time.Minute, "R5/2026-11-21T10:00:00.000Z/PT1M"},
		{"R0//PT0M", "", 0, "2026-05-01T12:34:56Z", 0, 0, 0, 0, "R0/2026-05-01T12:34:56.789Z/PT0S"},
		{"R1//PT10M", "", 1, "2026-05-01T12:34:56Z", 0, 0, 0, 10 * time.Minute, "R1/2026-05-01T12:34:56.789Z/PT10M"},
		{"R1//PT0S", "", 1, "2026-05-01T12:34:56Z", 0, 0, 0, 0, "R1/2026-05-01T12:34:56.789Z/PT0S"},
		{"R2/2026-01-01T10:00:00+01:00/P2W", "", 2, "2026-01-01T10:00:00+01:00", 0, 0, 14, 0, "R2/2026-01-01T10:00:00.000+01:00/P14D"},
		{"R2/2026-01-01T10:00:00+0530/P1Y2M10DT2H30M", "", 2, "2026-01-01T10:00:00+05:30", 1, 2, 10, 2*time.Hour + 30*time.Minute, "R2/2026-01-01T10:00:00.000+05:30/P1Y2M10DT2H30M"},
		{"R2/2026-01-01T10:00:00-03/PT90M", "", 2, "2026-01-01T10:00:00-03:00", 0, 0, 0, 90 * time.Minute, "R2/2026-01-01T10:00:00.000-03:00/PT1H30M"},
		{"R2/2026-01-01T10:00/PT1.5S", "", 2, "2026-01-01T10:00:00Z", 0, 0, 0, 1500 * time.Millisecond, "R2/2026-01-01T10:00:00.000Z/PT1.5S"},
		{"R2/2026-01-01T10/P1W1D", "", 2, "2026-01-01T10:00:00Z", 0, 0, 8, 0, "R2/2026-01-01T10:00:00.000Z/P8D"},
		{"R2/2026-01-01/P1M", "", 2, "2026-01-01T00:00:00Z", 0, 1, 0, 0, "R2/2026-01-01T00:00:00.000Z/P1M"},
		{"R2/2026-01-01T10:00:00.123456789Z/PT1S", "", 2, "2026-01-01T10:00:00Z", 0, 0, 0, time.Second, "R2/2026-01-01T10:00:00.123456789Z/PT1S"},
		// scheduleTimeZone wins over the written offset: 02:00 is read in New York.
		{"R/2026-03-01T02:00:00Z/P1D", "America/New_York", -1, "2026-03-01T02:00:00-05:00", 0, 0, 1, 0, "R/2026-03-01T02:00:00.000-05:00/P1D"},
		{"R/2026-07-01T02:00:00/P1D", "America/New_York", -1, "2026-07-01T02:00:00-04:00", 0, 0, 1, 0, "R/2026-07-01T02:00:00.000-04:00/P1D"},
		// A start in the spring-forward gap moves to the end of the gap.
		{"R/2026-03-08T02:30:00/P1D", "America/New_York", -1, "2026-03-08T03:00:00-04:00", 0, 0, 1, 0, "R/2026-03-08T02:30:00.000-04:00/P1D"},
		// A start in the repeated hour takes its first occurrence.
		{"R/2026-11-01T01:30:00/P1D", "America/New_York", -1, "2026-11-01T01:30:00-04:00", 0, 0, 1, 0, "R/2026-11-01T01:30:00.000-04:00/P1D"},
		{" R2/2026-01-01T00:00:00Z/PT1H ", "", 2, "2026-01-01T00:00:00Z", 0, 0, 0, time.Hour, "R2/2026-01-01T00:00:00.000Z/PT1H"},
	}
	for _, tc := range cases {
		t.Run(tc.in+"|"+tc.tz, func(t *testing.T) {
			r, err := ParseISO8601At(tc.in, tc.tz, parseNow)
			if err != nil {
				t.Fatal(err)
			}
			if r.Count() != tc.count {
				t.Errorf("Count() = %d, want %d", r.Count(), tc.count)
			}
			if got := r.Start().Format(tickLayout); got != tc.start {
				t.Errorf("Start() = %s, want %s", got, tc.start)
			}
			y, m, d, dur := r.Period()
			if y != tc.y || m != tc.m || d != tc.d || dur != tc.dur {
				t.Errorf("Period() = %d %d %d %s", y, m, d, dur)
			}
			if r.String() != tc.canonical {
				t.Errorf("String() = %s, want %s", r.String(), tc.canonical)
			}
			// The canonical form parses back to the same schedule.
			back, err := ParseISO8601At(r.String(), tc.tz, parseNow)
			if err != nil || back.String() != r.String() || !back.Start().Equal(r.Start()) {
				t.Errorf("round trip: %v %v", back, err)
			}
		})
	}
}

func TestParseISO8601EmptyStartUsesNow(t *testing.T) {
	before := time.Now().Truncate(time.Millisecond)
	r, err := ParseISO8601("R1//PT10M", "")
	if err != nil {
		t.Fatal(err)
	}
	if r.Start().Before(before) || r.Start().After(time.Now()) {
		t.Errorf("start %s is not now", r.Start())
	}
}

func TestParseISO8601Invalid(t *testing.T) {
	cases := []struct{ in, tz, field, msg string }{
		{"", "", "schedule", "missing the leading R"},
		{"2026-01-01T00:00:00Z/PT1H", "", "schedule", "missing the leading R"},
		{"r3/2026-01-01T00:00:00Z/PT1H", "", "schedule", "missing the leading R"},
		{"R3/2026-01-01T00:00:00Z", "", "schedule", "expected three parts"},
		{"R3/2026-01-01T00:00:00Z/PT1H/x", "", "schedule", "expected three parts"},
		{"Rx/2026-01-01T00:00:00Z/PT1H", "", "schedule", "bad repeat count"},
		{"R-2/2026-01-01T00:00:00Z/PT1H", "", "schedule", "bad repeat count"},
		{"R+3/2026-01-01T00:00:00Z/PT1H", "", "schedule", "bad repeat count"},
		{"R99999999999/2026-01-01T00:00:00Z/PT1H", "", "schedule", "out of range"},
		{"R3/2026-13-01T00:00:00Z/PT1H", "", "schedule", "bad start"},
		{"R3/2026-02-30T00:00:00Z/PT1H", "", "schedule", "no such date"},
		{"R3/2026-01-01T25:00:00Z/PT1H", "", "schedule", "out of range"},
		{"R3/2026-01-01T10:00:00+25:00/PT1H", "", "schedule", "offset"},
		{"R3/26-01-01T10:00:00Z/PT1H", "", "schedule", "YYYY-MM-DD"},
		{"R3/2026-01-01 10:00:00Z/PT1H", "", "schedule", "bad start"},
		{"R3/2026-01-01T10:0:00Z/PT1H", "", "schedule", "HH[:MM"},
		{"R3/tomorrow/PT1H", "", "schedule", "bad start"},
		{"R3/2026-01-01T00:00:00Z/1D", "", "schedule", "must start with 'P'"},
		{"R3/2026-01-01T00:00:00Z/", "", "schedule", "empty period"},
		{"R3/2026-01-01T00:00:00Z/P", "", "schedule", "no components"},
		{"R3/2026-01-01T00:00:00Z/PT", "", "schedule", "no hours, minutes or seconds"},
		{"R3/2026-01-01T00:00:00Z/P1H", "", "schedule", "unknown date unit"},
		{"R3/2026-01-01T00:00:00Z/PT1D", "", "schedule", "unknown time unit"},
		{"R3/2026-01-01T00:00:00Z/P1D1M", "", "schedule", "out of order"},
		{"R3/2026-01-01T00:00:00Z/P1.5D", "", "schedule", "only seconds"},
		{"R3/2026-01-01T00:00:00Z/P-1D", "", "schedule", "expected a number"},
		{"R3/2026-01-01T00:00:00Z/PT1", "", "schedule", "without a unit"},
		{"R3/2026-01-01T00:00:00Z/PT9999999999S", "", "schedule", "too large"},
		{"R3/2026-01-01T00:00:00Z/PT0S", "", "schedule", "zero period"},
		{"R/2026-01-01T00:00:00Z/P0D", "", "schedule", "zero period"},
		{"R/2026-01-01T00:00:00Z/PT0.5S", "", "schedule", "shorter than one second"},
		{"R/2026-01-01T00:00:00Z/PT1H", "Mars/Base", "timezone", "unknown time zone"},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			_, err := ParseISO8601At(tc.in, tc.tz, parseNow)
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("err = %v, want *FieldError", err)
			}
			if fe.Field != tc.field || !strings.Contains(fe.Message, tc.msg) {
				t.Errorf("got %s: %s; want field %q containing %q", fe.Field, fe.Message, tc.field, tc.msg)
			}
		})
	}
}

func TestRepeatTicks(t *testing.T) {
	cases := []struct {
		name, in, tz, from string
		want               []string // the next ticks; all remaining ones for finite schedules
	}{
		{"count of three", "R3/2026-01-01T00:00:00Z/PT1H", "", "2025-12-31T00:00:00Z",
			[]string{"2026-01-01T00:00:00Z", "2026-01-01T01:00:00Z", "2026-01-01T02:00:00Z"}},
		{"from the middle", "R3/2026-01-01T00:00:00Z/PT1H", "", "2026-01-01T00:30:00Z",
			[]string{"2026-01-01T01:00:00Z", "2026-01-01T02:00:00Z"}},
		{"exactly on a tick", "R3/2026-01-01T00:00:00Z/PT1H", "", "2026-01-01T01:00:00Z",
			[]string{"2026-01-01T02:00:00Z"}},
		{"after the last", "R3/2026-01-01T00:00:00Z/PT1H", "", "2026-01-01T02:00:00Z", nil},
		{"never", "R0/2026-01-01T00:00:00Z/PT1H", "", "2025-01-01T00:00:00Z", nil},
		{"once", "R1/2026-01-01T00:00:00Z/PT0S", "", "2025-01-01T00:00:00Z", []string{"2026-01-01T00:00:00Z"}},
		{"month end clamps, anchored on the start", "R/2026-01-31T10:00:00Z/P1M", "", "2026-01-31T10:00:00Z",
			[]string{"2026-02-28T10:00:00Z", "2026-03-31T10:00:00Z", "2026-04-30T10:00:00Z", "2026-05-31T10:00:00Z", "2026-06-30T10:00:00Z", "2026-07-31T10:00:00Z"}},
		{"leap year clamp", "R/2028-01-31T10:00:00Z/P1M", "", "2028-01-31T10:00:00Z",
			[]string{"2028-02-29T10:00:00Z", "2028-03-31T10:00:00Z"}},
		{"yearly from 29 February", "R/2024-02-29T00:00:00Z/P1Y", "", "2024-02-29T00:00:00Z",
			[]string{"2025-02-28T00:00:00Z", "2026-02-28T00:00:00Z", "2027-02-28T00:00:00Z", "2028-02-29T00:00:00Z"}},
		{"P1D keeps wall clock across spring forward", "R/2026-03-07T09:00:00/P1D", "America/New_York", "2026-03-07T09:00:00-05:00",
			[]string{"2026-03-08T09:00:00-04:00", "2026-03-09T09:00:00-04:00"}},
		{"PT24H is absolute", "R/2026-03-07T09:00:00/PT24H", "America/New_York", "2026-03-07T09:00:00-05:00",
			[]string{"2026-03-08T10:00:00-04:00", "2026-03-09T10:00:00-04:00"}},
		{"P1D keeps wall clock across fall back", "R/2026-10-31T09:00:00/P1D", "America/New_York", "2026-10-31T09:00:00-04:00",
			[]string{"2026-11-01T09:00:00-05:00", "2026-11-02T09:00:00-05:00"}},
		{"P1D through the gap", "R/2026-03-07T02:30:00/P1D", "America/New_York", "2026-03-07T02:30:00-05:00",
			[]string{"2026-03-08T03:00:00-04:00", "2026-03-09T02:30:00-04:00"}},
		{"start in the gap keeps its time of day", "R/2026-03-08T02:30:00/P1D", "America/New_York", "2026-03-08T01:59:00-05:00",
			[]string{"2026-03-08T03:00:00-04:00", "2026-03-09T02:30:00-04:00"}},
		{"P1D through the repeated hour", "R/2026-10-31T01:30:00/P1D", "America/New_York", "2026-10-31T01:30:00-04:00",
			[]string{"2026-11-01T01:30:00-04:00", "2026-11-02T01:30:00-05:00"}},
		{"P1D with a fixed offset is 24h", "R/2026-03-07T09:00:00-05:00/P1D", "", "2026-03-07T09:00:00-05:00",
			[]string{"2026-03-08T09:00:00-05:00", "2026-03-09T09:00:00-05:00"}},
		{"P1D in Lord Howe", "R/2026-10-03T09:00:00/P1D", "Australia/Lord_Howe", "2026-10-03T09:00:00+10:30",
			[]string{"2026-10-04T09:00:00+11:00", "2026-10-05T09:00:00+11:00"}},
		{"mixed calendar and absolute", "R/2026-03-07T09:00:00/P1DT1H", "America/New_York", "2026-03-07T09:00:00-05:00",
			[]string{"2026-03-08T10:00:00-04:00", "2026-03-09T11:00:00-04:00"}},
		{"far future, seconds", "R/2026-01-01T00:00:00Z/PT1S", "", "2400-06-01T00:00:00.5Z",
			[]string{"2400-06-01T00:00:01Z", "2400-06-01T00:00:02Z"}},
		{"far future, months", "R/2026-01-31T00:00:00Z/P1M", "", "9000-02-01T00:00:00Z",
			[]string{"9000-02-28T00:00:00Z", "9000-03-31T00:00:00Z"}},
		{"ends at year 9999", "R/9999-12-30T00:00:00Z/P1D", "", "9999-12-30T00:00:00Z",
			[]string{"9999-12-31T00:00:00Z"}},
		{"fractional period", "R4/2026-01-01T00:00:00Z/PT1.25S", "", "2026-01-01T00:00:00Z",
			[]string{"2026-01-01T00:00:01.25Z", "2026-01-01T00:00:02.5Z", "2026-01-01T00:00:03.75Z"}},
	}
	const layout = "2006-01-02T15:04:05.999999999Z07:00"
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, err := ParseISO8601At(tc.in, tc.tz, parseNow)
			if err != nil {
				t.Fatal(err)
			}
			x, err := time.Parse(layout, tc.from)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for i := 0; i < 6; i++ {
				n, ok := r.Next(x)
				if !ok {
					break
				}
				if !n.After(x) {
					t.Fatalf("Next(%s) = %s", x, n)
				}
				got = append(got, n.Format(layout))
				x = n
			}
			want := tc.want
			exhaustive := r.Count() >= 0 || strings.HasPrefix(tc.name, "ends")
			if exhaustive && len(got) > len(want) {
				t.Errorf("extra ticks: got %v, want %v", got, want)
			}
			if len(got) > len(want) {
				got = got[:len(want)]
			}
			if strings.Join(got, " ") != strings.Join(want, " ") {
				t.Errorf("got %v, want %v", got, want)
			}
		})
	}
}

func TestRepeatNextBeforeStartGivesStart(t *testing.T) {
	r, err := ParseISO8601At("R/2026-06-01T00:00:00Z/P1M", "", parseNow)
	if err != nil {
		t.Fatal(err)
	}
	for _, from := range []time.Time{time.Time{}, time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC), r.Start().Add(-time.Nanosecond)} {
		if n, ok := r.Next(from); !ok || !n.Equal(r.Start()) {
			t.Errorf("Next(%s) = %s %v, want the start", from, n, ok)
		}
	}
}

func TestRepeatCountMatchesNext(t *testing.T) {
	for _, s := range []struct{ in, tz string }{
		{"R/2026-01-31T10:00:00/P1M", "America/New_York"},
		{"R40/2026-03-01T02:30:00/P1D", "America/New_York"},
		{"R/2026-03-01T02:30:00/PT7H", "Europe/Berlin"},
		{"R/2026-01-01T00:00:00Z/PT1H", ""},
		{"R100/2026-02-01T00:00:00Z/P1DT1H", "Australia/Lord_Howe"},
	} {
		r, err := ParseISO8601At(s.in, s.tz, parseNow)
		if err != nil {
			t.Fatal(err)
		}
		for _, span := range [][2]string{
			{"2025-01-01T00:00:00Z", "2026-03-10T00:00:00Z"},
			{"2026-02-15T00:00:00Z", "2026-04-10T12:00:00Z"},
			{"2026-03-08T06:59:59Z", "2026-11-02T00:00:00Z"},
		} {
			a, b := mustTime(t, span[0]), mustTime(t, span[1])
			if got, want := r.countTicks(a, b), countByStepping(r, a, b); got != want {
				t.Errorf("%s (%s, %s]: count %d, stepping %d", s.in, span[0], span[1], got, want)
			}
		}
	}
}

func TestParseISO8601Duration(t *testing.T) {
	cases := []struct {
		in      string
		y, m, d int
		dur     time.Duration
	}{
		{"PT30S", 0, 0, 0, 30 * time.Second},
		{"PT1M", 0, 0, 0, time.Minute},
		{"PT10M", 0, 0, 0, 10 * time.Minute},
		{"PT0S", 0, 0, 0, 0},
		{"P1D", 0, 0, 1, 0},
		{"P1Y2M3W4DT5H6M7.5S", 1, 2, 25, 5*time.Hour + 6*time.Minute + 7500*time.Millisecond},
	}
	for _, tc := range cases {
		y, m, d, dur, err := ParseISO8601Duration(tc.in)
		if err != nil || y != tc.y || m != tc.m || d != tc.d || dur != tc.dur {
			t.Errorf("%s: %d %d %d %s %v", tc.in, y, m, d, dur, err)
		}
	}
	for _, bad := range []string{"", "30", "PT", "P", "PT30", "PT-1S", "P1S", "1M"} {
		_, _, _, _, err := ParseISO8601Duration(bad)
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != "epsilon" {
			t.Errorf("%q: err = %v, want an epsilon FieldError", bad, err)
		}
	}
}
