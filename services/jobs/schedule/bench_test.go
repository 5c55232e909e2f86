package schedule

import (
	"testing"
	"time"
)

func BenchmarkCronNext(b *testing.B) {
	for _, bc := range []struct{ name, expr, tz string }{
		{"every-second/UTC", "* * * * * *", ""},
		{"every-15-min/New_York", "*/15 * * * *", "America/New_York"},
		{"daily-0230/New_York", "30 2 * * *", "America/New_York"},
		{"weekdays-0900/Berlin", "0 9 * * 1-5", "Europe/Berlin"},
		{"29-February/UTC", "0 0 29 2 *", ""},
	} {
		b.Run(bc.name, func(b *testing.B) {
			c := mustCron(b, bc.expr, bc.tz)
			start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
			x := start
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				n, ok := c.Next(x)
				if !ok {
					b.Fatal("no tick")
				}
				x = n
				if i%1000 == 999 {
					x = start // stay in a realistic range
				}
			}
		})
	}
}

func BenchmarkRepeatNext(b *testing.B) {
	for _, bc := range []struct{ name, in, tz string }{
		{"PT1M", "R/2020-01-01T00:00:00Z/PT1M", ""},
		{"P1M/New_York", "R/2020-01-31T09:00:00/P1M", "America/New_York"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			r, err := ParseISO8601At(bc.in, bc.tz, time.Now())
			if err != nil {
				b.Fatal(err)
			}
			at := time.Date(2026, 3, 8, 12, 0, 0, 0, time.UTC)
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, ok := r.Next(at); !ok {
					b.Fatal("no tick")
				}
			}
		})
	}
}

// BenchmarkDue measures the catch-up decision: in steady state (one tick
// due), and after one year of downtime on a per-second schedule (about 31.5
// million missed ticks, counted exactly, the newest 100 listed).
func BenchmarkDue(b *testing.B) {
	last := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	b.Run("steady/hourly", func(b *testing.B) {
		c := mustCron(b, "0 * * * *", "Europe/Berlin")
		now := last.Add(time.Hour + 2*time.Second)
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if d := Due(c, last, now, time.Minute, RunOnce, 100); !d.HasRun {
				b.Fatal("no run")
			}
		}
	})
	for _, tz := range []string{"", "Europe/Berlin"} {
		b.Run("year-downtime/every-second/"+map[string]string{"": "UTC"}[tz]+tz, func(b *testing.B) {
			c := mustCron(b, "* * * * * *", tz)
			now := last.AddDate(1, 0, 0).Add(10 * time.Second)
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if d := Due(c, last, now, time.Minute, RunOnce, 100); d.SkippedTotal < 31_000_000 {
					b.Fatalf("skipped %d", d.SkippedTotal)
				}
			}
		})
	}
	b.Run("year-downtime/repeat-PT1S", func(b *testing.B) {
		r, err := ParseISO8601At("R/2025-01-01T00:00:00Z/PT1S", "", time.Now())
		if err != nil {
			b.Fatal(err)
		}
		now := last.AddDate(1, 0, 0).Add(10 * time.Second)
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if d := Due(r, last, now, time.Minute, RunOnce, 100); d.SkippedTotal < 31_000_000 {
				b.Fatalf("skipped %d", d.SkippedTotal)
			}
		}
	})
}
