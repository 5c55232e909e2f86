package health

import (
	"strings"
	"testing"
	"time"
)

func TestDefaults(t *testing.T) {
	tests := []struct {
		name string
		in   Check
		want Check
	}{
		{
			name: "nothing explicit",
			in:   Check{Type: TCP, Port: 80},
			want: Check{Type: TCP, Port: 80, Delay: 15 * time.Second, Interval: 10 * time.Second,
				Timeout: 20 * time.Second, GracePeriod: 10 * time.Second, ConsecutiveFailures: 3},
		},
		{
			name: "explicit zeros stay zero",
			in:   Check{Type: TCP, Port: 80, Explicit: FieldTimeout | FieldDelay | FieldGracePeriod},
			want: Check{Type: TCP, Port: 80, Interval: 10 * time.Second, ConsecutiveFailures: 3,
				Explicit: FieldTimeout | FieldDelay | FieldGracePeriod},
		},
		{
			name: "explicit values kept",
			in: Check{Type: HTTP, Port: 80, Delay: time.Second, Interval: 2 * time.Second, Timeout: 3 * time.Second,
				GracePeriod: 4 * time.Second, ConsecutiveFailures: 5, Explicit: AllFields},
			want: Check{Type: HTTP, HTTPScheme: "http", Port: 80, Delay: time.Second, Interval: 2 * time.Second,
				Timeout: 3 * time.Second, GracePeriod: 4 * time.Second, ConsecutiveFailures: 5, Explicit: AllFields},
		},
		{
			name: "values without the explicit flag are defaulted",
			in:   Check{Type: HTTP, HTTPScheme: "https", Port: 80, Timeout: time.Second},
			want: Check{Type: HTTP, HTTPScheme: "https", Port: 80, Delay: 15 * time.Second, Interval: 10 * time.Second,
				Timeout: 20 * time.Second, GracePeriod: 10 * time.Second, ConsecutiveFailures: 3},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.in.Defaults()
			if got.Delay != tc.want.Delay || got.Interval != tc.want.Interval || got.Timeout != tc.want.Timeout ||
				got.GracePeriod != tc.want.GracePeriod || got.ConsecutiveFailures != tc.want.ConsecutiveFailures ||
				got.HTTPScheme != tc.want.HTTPScheme || got.Explicit != tc.want.Explicit {
				t.Fatalf("Defaults() = %+v, want %+v", got, tc.want)
			}
			if err := got.Validate(); err != nil {
				t.Fatalf("Validate after Defaults: %v", err)
			}
		})
	}
}

func TestSeconds(t *testing.T) {
	tests := []struct {
		in   float64
		want time.Duration
	}{
		{0, 0}, {1.5, 1500 * time.Millisecond}, {15, 15 * time.Second}, {1e300, time.Duration(1<<63 - 1)},
	}
	for _, tc := range tests {
		if got := Seconds(tc.in); got != tc.want {
			t.Errorf("Seconds(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestValidate(t *testing.T) {
	ok := func(c Check) Check { c.Interval = time.Second; return c }
	tests := []struct {
		name  string
		check Check
		want  string // "" = valid
	}{
		{"command", ok(Check{Type: Command, Shell: true, Command: "true"}), ""},
		{"empty command", ok(Check{Type: Command}), "command is empty"},
		{"http", ok(Check{Type: HTTP, Port: 8080, HTTPPath: "/health", Statuses: []uint32{200, 503}}), ""},
		{"http no port", ok(Check{Type: HTTP}), "invalid port 0"},
		{"http bad port", ok(Check{Type: HTTP, Port: 70000}), "invalid port 70000"},
		{"http bad scheme", ok(Check{Type: HTTP, Port: 1, HTTPScheme: "ftp"}), `unsupported HTTP scheme "ftp"`},
		{"http relative path", ok(Check{Type: HTTP, Port: 1, HTTPPath: "health"}), "does not start with '/'"},
		{"http bad status", ok(Check{Type: HTTP, Port: 1, Statuses: []uint32{42}}), "invalid HTTP status 42"},
		{"tcp", ok(Check{Type: TCP, Port: 22}), ""},
		{"unknown type", ok(Check{Port: 1}), "unknown check type"},
		{"zero interval", Check{Type: TCP, Port: 1}, "interval 0s is not positive"},
		{"negative timeout", ok(Check{Type: TCP, Port: 1, Timeout: -time.Second}), "timeout -1s is negative"},
		{"several", Check{Type: HTTP, Delay: -1}, "invalid port 0; delay -1ns is negative; interval 0s is not positive"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.check.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "health: ") {
				t.Fatalf("Validate = %v, want error containing %q", err, tc.want)
			}
			if _, nerr := New(tc.check, Options{}); nerr == nil {
				t.Fatalf("New accepted an invalid check")
			}
		})
	}
}
