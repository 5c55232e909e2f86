package executor

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		err  string
	}{
		{in: "5secs", want: 5 * time.Second},
		{in: "1.5secs", want: 1500 * time.Millisecond},
		{in: "100ms", want: 100 * time.Millisecond},
		{in: "3mins", want: 3 * time.Minute},
		{in: "15mins", want: 15 * time.Minute},
		{in: "2hrs", want: 2 * time.Hour},
		{in: "1days", want: 24 * time.Hour},
		{in: "2weeks", want: 14 * 24 * time.Hour},
		{in: "250us", want: 250 * time.Microsecond},
		{in: "7ns", want: 7},
		{in: "0ns", want: 0},
		{in: ".5secs", want: 500 * time.Millisecond},
		{in: " 5secs\n", want: 5 * time.Second},
		{in: "+2secs", want: 2 * time.Second},
		// Go syntax, for hand-written environments.
		{in: "5s", want: 5 * time.Second},
		{in: "1m30s", want: 90 * time.Second},
		{in: "0", want: 0},

		{in: "", err: "want a number"},
		{in: "secs", err: "want a number"},
		{in: "5", err: "want a number"},
		{in: "5 secs", err: "malformed number"},
		{in: "5fortnights", err: "want a number"},
		{in: "-5secs", err: "malformed number"},
		{in: "-5s", err: "negative"},
		{in: "1.2.3secs", err: "malformed number"},
		{in: "1e3secs", err: "want a number"},
		{in: "1000000weeks", err: "out of range"},
		{in: "5Secs", err: "want a number"},
	}
	for _, tt := range tests {
		got, err := ParseDuration(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseDuration(%q) = %v, %v; want error containing %q", tt.in, got, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func TestFormatDuration(t *testing.T) {
	tests := []struct {
		in   time.Duration
		want string
	}{
		{5 * time.Second, "5secs"},
		{1500 * time.Millisecond, "1.5secs"},
		{100 * time.Millisecond, "100ms"},
		{3 * time.Minute, "3mins"},
		{90 * time.Minute, "1.5hrs"},
		{48 * time.Hour, "2days"},
		{14 * 24 * time.Hour, "2weeks"},
		{1500 * time.Nanosecond, "1.5us"},
		{7, "7ns"},
		{0, "0ns"},
		{-3 * time.Second, "-3secs"},
	}
	for _, tt := range tests {
		if got := FormatDuration(tt.in); got != tt.want {
			t.Errorf("FormatDuration(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if got := FormatDuration(math.MinInt64); !strings.HasPrefix(got, "-") {
		t.Errorf("FormatDuration(MinInt64) = %q", got)
	}
}

func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"5secs", "1.5secs", "100ms", "3mins", "2weeks", "1m30s", "-1s", "1e3secs", ".secs", "9999999999weeks"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDuration(s)
		if err != nil {
			return
		}
		if d < 0 {
			t.Fatalf("ParseDuration(%q) = %v, negative", s, d)
		}
		// What it formats, it reads back (to within the rounding of the
		// decimal rendering).
		back, err := ParseDuration(FormatDuration(d))
		if err != nil {
			t.Fatalf("ParseDuration(FormatDuration(%v) = %q): %v", d, FormatDuration(d), err)
		}
		if diff := back - d; diff > d/1e9+1 || -diff > d/1e9+1 {
			t.Fatalf("round trip of %v gave %v", d, back)
		}
	})
}
