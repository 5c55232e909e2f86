package schedule

import (
	"math/rand"
	"strings"
	"testing"
	"time"
)

func mustCron(t testing.TB, expr, tz string) *Cron {
	t.Helper()
	c, err := ParseCron(expr, tz)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestDue(t *testing.T) {
	perMinute := mustCron(t, "* * * * *", "")
	hourly := mustCron(t, "0 * * * *", "")
	ts := func(s string) time.Time { return mustTime(t, s) }
	cases := []struct {
		name          string
		spec          Spec
		last, now     string
		deadline      time.Duration
		policy        CatchUp
		maxSkips      int
		run           string // "" = no run
		skipped       []string
		reasons       []string // substrings, one per listed skip
		total         int
		next, handled string
	}{
		{name: "on time, exactly at the tick", spec: hourly, last: "2026-01-01T09:00:00Z", now: "2026-01-01T10:00:00Z",
			deadline: time.Minute, maxSkips: 10, run: "2026-01-01T10:00:00Z", next: "2026-01-01T11:00:00Z", handled: "2026-01-01T10:00:00Z"},
		{name: "on time, a little late", spec: hourly, last: "2026-01-01T09:00:00Z", now: "2026-01-01T10:00:59Z",
			deadline: time.Minute, maxSkips: 10, run: "2026-01-01T10:00:00Z", next: "2026-01-01T11:00:00Z", handled: "2026-01-01T10:00:00Z"},
		{name: "deadline is inclusive", spec: hourly, last: "2026-01-01T09:00:00Z", now: "2026-01-01T10:01:00Z",
			deadline: time.Minute, maxSkips: 10, run: "2026-01-01T10:00:00Z", next: "2026-01-01T11:00:00Z", handled: "2026-01-01T10:00:00Z"},
		{name: "nothing due between ticks", spec: hourly, last: "2026-01-01T10:00:00Z", now: "2026-01-01T10:30:00Z",
			deadline: time.Minute, maxSkips: 10, next: "2026-01-01T11:00:00Z"},
		{name: "too late: skipped, not run", spec: hourly, last: "2026-01-01T09:00:00Z", now: "2026-01-01T10:05:00Z",
			deadline: time.Minute, maxSkips: 10, skipped: []string{"2026-01-01T10:00:00Z"},
			reasons: []string{"missed: service was not running; 5m late beyond startingDeadlineSeconds=60"}, total: 1,
			next: "2026-01-01T11:00:00Z", handled: "2026-01-01T10:00:00Z"},
		{name: "downtime: newest runs, older late ones skipped", spec: hourly, last: "2026-01-01T06:00:00Z", now: "2026-01-01T10:00:30Z",
			deadline: time.Minute, policy: RunOnce, maxSkips: 10, run: "2026-01-01T10:00:00Z",
			skipped: []string{"2026-01-01T07:00:00Z", "2026-01-01T08:00:00Z", "2026-01-01T09:00:00Z"},
			reasons: []string{"3h0m30s", "2h0m30s", "1h0m30s"}, total: 3,
			next: "2026-01-01T11:00:00Z", handled: "2026-01-01T10:00:00Z"},
		{name: "downtime under SkipMissed decides the same", spec: hourly, last: "2026-01-01T06:00:00Z", now: "2026-01-01T10:00:30Z",
			deadline: time.Minute, policy: SkipMissed, maxSkips: 10, run: "2026-01-01T10:00:00Z",
			skipped: []string{"2026-01-01T07:00:00Z", "2026-01-01T08:00:00Z", "2026-01-01T09:00:00Z"},
			reasons: []string{"late beyond", "late beyond", "late beyond"}, total: 3,
			next: "2026-01-01T11:00:00Z", handled: "2026-01-01T10:00:00Z"},
		{name: "several on time: the newest wins, others superseded", spec: perMinute, last: "2026-01-01T09:50:00Z", now: "2026-01-01T10:00:10Z",
			deadline: 5 * time.Minute, policy: RunOnce, maxSkips: 3, run: "2026-01-01T10:00:00Z",
			skipped: []string{"2026-01-01T09:57:00Z", "2026-01-01T09:58:00Z", "2026-01-01T09:59:00Z"},
			reasons: []string{"superseded by a later tick (2026-01-01T10:00:00Z)", "superseded", "superseded"}, total: 9,
			next: "2026-01-01T10:01:00Z", handled: "2026-01-01T10:00:00Z"},
		{name: "skip list keeps the newest", spec: perMinute, last: "2026-01-01T07:00:00Z", now: "2026-01-01T10:00:30Z",
			deadline: time.Minute, maxSkips: 2, run: "2026-01-01T10:00:00Z",
			skipped: []string{"2026-01-01T09:58:00Z", "2026-01-01T09:59:00Z"},
			reasons: []string{"2m30s late", "1m30s late"}, total: 179,
			next: "2026-01-01T10:01:00Z", handled: "2026-01-01T10:00:00Z"},
		{name: "no list, only the count", spec: perMinute, last: "2026-01-01T07:00:00Z", now: "2026-01-01T10:00:30Z",
			deadline: time.Minute, maxSkips: 0, run: "2026-01-01T10:00:00Z", total: 179,
			next: "2026-01-01T10:01:00Z", handled: "2026-01-01T10:00:00Z"},
		{name: "negative maxSkips is zero", spec: perMinute, last: "2026-01-01T07:00:00Z", now: "2026-01-01T10:00:30Z",
			deadline: time.Minute, maxSkips: -1, run: "2026-01-01T10:00:00Z", total: 179,
			next: "2026-01-01T10:01:00Z", handled: "2026-01-01T10:00:00Z"},
		{name: "deadline 0: the current tick runs however late", spec: hourly, last: "2026-01-01T06:00:00Z", now: "2026-01-01T10:59:00Z",
			deadline: 0, maxSkips: 10, run: "2026-01-01T10:00:00Z",
			skipped: []string{"2026-01-01T07:00:00Z", "2026-01-01T08:00:00Z", "2026-01-01T09:00:00Z"},
			reasons: []string{"superseded", "superseded", "superseded"}, total: 3,
			next: "2026-01-01T11:00:00Z", handled: "2026-01-01T10:00:00Z"},
		{name: "clock went back: nothing runs twice", spec: hourly, last: "2026-01-01T10:00:00Z", now: "2026-01-01T09:30:00Z",
			deadline: time.Hour, maxSkips: 10, next: "2026-01-01T11:00:00Z"},
		{name: "last equals now", spec: hourly, last: "2026-01-01T10:00:00Z", now: "2026-01-01T10:00:00Z",
			deadline: time.Hour, maxSkips: 10, next: "2026-01-01T11:00:00Z"},
		{name: "zero last on a cron: nothing counts as missed", spec: hourly, now: "2026-01-01T10:00:30Z",
			deadline: time.Hour, maxSkips: 10, next: "2026-01-01T11:00:00Z"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var last time.Time
			if tc.last != "" {
				last = ts(tc.last)
			}
			d := Due(tc.spec, last, ts(tc.now), tc.deadline, tc.policy, tc.maxSkips)
			checkDecision(t, d, tc.run, tc.skipped, tc.reasons, tc.total, tc.next, tc.handled)
		})
	}
}

func checkDecision(t *testing.T, d Decision, run string, skipped, reasons []string, total int, next, handled string) {
	t.Helper()
	if d.HasRun != (run != "") || (d.HasRun && d.Run.UTC().Format(tickLayout) != run) {
		t.Errorf("run = %v %s, want %q", d.HasRun, d.Run.Format(tickLayout), run)
	}
	var got []string
	for i, s := range d.Skipped {
		got = append(got, s.Tick.UTC().Format(tickLayout))
		if i < len(reasons) && !strings.Contains(s.Reason, reasons[i]) {
			t.Errorf("skip %d reason %q, want it to contain %q", i, s.Reason, reasons[i])
		}
	}
	if strings.Join(got, " ") != strings.Join(skipped, " ") {
		t.Errorf("skipped = %v, want %v", got, skipped)
	}
	if d.SkippedTotal != total {
		t.Errorf("SkippedTotal = %d, want %d", d.SkippedTotal, total)
	}
	if next == "" {
		if d.HasNext {
			t.Errorf("next = %s, want none", d.Next)
		}
	} else if !d.HasNext || d.Next.UTC().Format(tickLayout) != next {
		t.Errorf("next = %v %s, want %s", d.HasNext, d.Next.Format(tickLayout), next)
	}
	if h := d.Handled; (handled == "") != h.IsZero() || (!h.IsZero() && h.UTC().Format(tickLayout) != handled) {
		t.Errorf("handled = %s, want %q", h.Format(tickLayout), handled)
	}
}

func TestDueRepeat(t *testing.T) {
	now := mustTime(t, "2026-05-01T12:00:10Z")
	// "Run once now": R1 with an empty start, handled moments later.
	once, err := ParseISO8601At("R1//PT10M", "", now.Add(-10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	d := Due(once, time.Time{}, now, time.Minute, RunOnce, 10)
	checkDecision(t, d, "2026-05-01T12:00:00Z", nil, nil, 0, "", "2026-05-01T12:00:00Z")

	// After it ran, nothing more.
	d = Due(once, d.Handled, now.Add(time.Hour), time.Minute, RunOnce, 10)
	checkDecision(t, d, "", nil, nil, 0, "", "")

	// A past start with a zero last: its missed ticks are reported, not lost.
	r3, err := ParseISO8601At("R3/2026-05-01T09:00:00Z/PT1H", "", now)
	if err != nil {
		t.Fatal(err)
	}
	d = Due(r3, time.Time{}, now, time.Minute, SkipMissed, 10)
	checkDecision(t, d, "", []string{"2026-05-01T09:00:00Z", "2026-05-01T10:00:00Z", "2026-05-01T11:00:00Z"},
		[]string{"3h0m10s late", "2h0m10s late", "1h0m10s late"}, 3, "", "2026-05-01T11:00:00Z")

	// A start in the future: nothing due yet, wait for the start.
	future, _ := ParseISO8601At("R/2026-06-01T00:00:00Z/P1D", "", now)
	d = Due(future, time.Time{}, now, time.Minute, RunOnce, 10)
	checkDecision(t, d, "", nil, nil, 0, "2026-06-01T00:00:00Z", "")
}

// opaque hides the arithmetic counter so Due falls back to stepping.
type opaque struct{ Spec }

func TestDueYearOfDowntime(t *testing.T) {
	c := mustCron(t, "* * * * * *", "Europe/Berlin")
	last := mustTime(t, "2025-01-01T00:00:00Z")
	now := last.Add(365 * 24 * time.Hour).Add(500 * time.Millisecond)
	d := Due(c, last, now, 30*time.Second, RunOnce, 5)
	want := 365*24*3600 - 1 // every second of the year but the one that runs
	checkDecision(t, d, "2026-01-01T00:00:00Z",
		[]string{"2025-12-31T23:59:55Z", "2025-12-31T23:59:56Z", "2025-12-31T23:59:57Z", "2025-12-31T23:59:58Z", "2025-12-31T23:59:59Z"},
		[]string{"superseded", "superseded", "superseded", "superseded", "superseded"}, want,
		"2026-01-01T00:00:01Z", "2026-01-01T00:00:00Z")

	// A Spec without arithmetic counting gets a lower bound.
	d = Due(opaque{c}, last, now, 30*time.Second, RunOnce, 5)
	if d.SkippedTotal != stepCap-1 || !d.HasRun || len(d.Skipped) != 5 {
		t.Errorf("opaque spec: total %d, run %v, %d listed", d.SkippedTotal, d.HasRun, len(d.Skipped))
	}
}

func TestDueAcrossDST(t *testing.T) {
	// A daily 02:30 New York job, down from Saturday to Monday over the
	// spring-forward night: the gap tick (fired at 03:00) is one skipped tick.
	c := mustCron(t, "30 2 * * *", "America/New_York")
	last := mustTime(t, "2026-03-07T02:30:00-05:00")
	now := mustTime(t, "2026-03-09T02:30:05-04:00")
	d := Due(c, last, now, time.Minute, RunOnce, 10)
	checkDecision(t, d, "2026-03-09T06:30:00Z", []string{"2026-03-08T07:00:00Z"}, []string{"late beyond"}, 1,
		"2026-03-10T06:30:00Z", "2026-03-09T06:30:00Z")
}

func TestDueAcrossFallBack(t *testing.T) {
	// A daily 01:30 New York job down over the fall-back night: the repeated
	// 01:30 is one tick, so exactly one tick is skipped.
	c := mustCron(t, "30 1 * * *", "America/New_York")
	last := mustTime(t, "2026-10-31T01:30:00-04:00")
	now := mustTime(t, "2026-11-02T01:30:05-05:00")
	d := Due(c, last, now, time.Minute, RunOnce, 10)
	checkDecision(t, d, "2026-11-02T06:30:00Z", []string{"2026-11-01T05:30:00Z"}, []string{"late beyond"}, 1,
		"2026-11-03T06:30:00Z", "2026-11-02T06:30:00Z")
}

// TestDueNeverDoubleFiresNorLoses drives Due along a timeline with random
// gaps (some of them long outages) through both DST transitions, feeding
// Handled back as last. Every tick must end up run or skipped exactly once.
func TestDueNeverDoubleFiresNorLoses(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	windows := [][2]string{
		{"2026-03-06T00:00:00-05:00", "2026-03-11T00:00:00-04:00"},
		{"2026-10-30T00:00:00-04:00", "2026-11-04T00:00:00-05:00"},
	}
	for _, expr := range []string{"*/7 * * * *", "30 1,2 * * *", "0 */3 * * *"} {
		for i, policy := range []CatchUp{SkipMissed, RunOnce, SkipMissed, RunOnce} {
			c := mustCron(t, expr, "America/New_York")
			start, end := mustTime(t, windows[i/2][0]), mustTime(t, windows[i/2][1])
			seen := map[int64]string{}
			last := start
			for now := start; now.Before(end); {
				step := time.Duration(rng.Int63n(int64(40 * time.Minute)))
				if rng.Intn(40) == 0 {
					step = time.Duration(rng.Int63n(int64(36 * time.Hour))) // an outage
				}
				now = now.Add(step)
				d := Due(c, last, now, 5*time.Minute, policy, 100000)
				if d.SkippedTotal != len(d.Skipped) {
					t.Fatalf("total %d, listed %d", d.SkippedTotal, len(d.Skipped))
				}
				mark := func(tick time.Time, how string) {
					if prev, dup := seen[tick.UnixNano()]; dup {
						t.Fatalf("%s: tick %s handled twice (%s, then %s)", expr, tick, prev, how)
					}
					seen[tick.UnixNano()] = how
				}
				for _, s := range d.Skipped {
					mark(s.Tick, "skipped")
				}
				if d.HasRun {
					if now.Sub(d.Run) > 5*time.Minute {
						t.Fatalf("ran %s at %s, beyond the deadline", d.Run, now)
					}
					mark(d.Run, "run")
				}
				if !d.Handled.IsZero() {
					last = d.Handled
				}
			}
			if want := countByStepping(c, start, last); int64(len(seen)) != want {
				t.Errorf("%s %s: %d ticks handled, %d exist up to %s", expr, policy, len(seen), want, last)
			}
		}
	}
}

func TestFormatLate(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0:                                     "0s",
		1500 * time.Microsecond:               "2ms",
		45 * time.Second:                      "45s",
		3*time.Hour + 12*time.Minute:          "3h12m",
		3 * time.Hour:                         "3h",
		51*time.Hour + 1*time.Second:          "2d3h0m1s",
		365 * 24 * time.Hour:                  "365d",
		90*time.Second + 400*time.Millisecond: "1m30s",
	} {
		if got := formatLate(d); got != want {
			t.Errorf("formatLate(%s) = %q, want %q", d, got, want)
		}
	}
	if got := formatDeadline(1500 * time.Millisecond); got != "startingDeadline=1.5s" {
		t.Errorf("formatDeadline = %q", got)
	}
}

func TestCatchUpString(t *testing.T) {
	if SkipMissed.String() != "SkipMissed" || RunOnce.String() != "RunOnce" || CatchUp(7).String() != "CatchUp(7)" {
		t.Error("CatchUp.String")
	}
}
