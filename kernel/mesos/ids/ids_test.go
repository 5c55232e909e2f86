package ids

import (
	"errors"
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		id string
		ok bool
	}{
		{"web.1", true},
		{"a", true},
		{"8f0e-4c1a-0000", true},
		{"marathon-app_web.3f2a", true},
		{"ünïcode-☃", true},
		{"...", true},
		{".hidden", true},
		{strings.Repeat("x", 255), true},
		{"", false},
		{".", false},
		{"..", false},
		{strings.Repeat("x", 256), false},
		{"a/b", false},
		{`a\b`, false},
		{"tab\there", false},
		{"nl\n", false},
		{"nul\x00", false},
		{"del\x7f", false},
		{"c1\u0085", false},
		{"bad\xffutf8", false},
		{"real\uFFFDreplacement", true},
	}
	for _, tc := range tests {
		err := Validate(tc.id)
		if (err == nil) != tc.ok {
			t.Errorf("Validate(%q) = %v, want ok=%v", tc.id, err, tc.ok)
		}
		if err != nil && !errors.Is(err, ErrInvalid) {
			t.Errorf("Validate(%q) error does not wrap ErrInvalid: %v", tc.id, err)
		}
	}
}

func TestBuilders(t *testing.T) {
	const m = "0c1f4c6e-8f5b-4b5e-9a7f-0123456789ab"
	tests := []struct{ got, want string }{
		{FrameworkID(m, 0), m + "-0000"},
		{FrameworkID(m, 42), m + "-0042"},
		{FrameworkID(m, 123456), m + "-123456"},
		{AgentID(m, 3), m + "-S3"},
		{OfferID(m, 17), m + "-O17"},
	}
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
		if err := Validate(tc.got); err != nil {
			t.Errorf("built id %q invalid: %v", tc.got, err)
		}
	}
}
