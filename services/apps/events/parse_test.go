package events

import (
	"errors"
	"slices"
	"testing"
)

func TestParseLastEventID(t *testing.T) {
	tests := []struct {
		in     string
		id     uint64
		ok     bool
		badErr bool
	}{
		{"", 0, false, false},
		{"  \t", 0, false, false},
		{"0", 0, true, false},
		{"42", 42, true, false},
		{" 42\t", 42, true, false},
		{"007", 7, true, false},
		{"18446744073709551615", 18446744073709551615, true, false},
		{"18446744073709551616", 0, false, true},
		{"-1", 0, false, true},
		{"+1", 0, false, true},
		{"1e3", 0, false, true},
		{"0x10", 0, false, true},
		{"1_000", 0, false, true},
		{"12 13", 0, false, true},
		{"12\n", 0, false, true},
		{"١٢", 0, false, true},
		{"abc", 0, false, true},
	}
	for _, tt := range tests {
		id, ok, err := ParseLastEventID(tt.in)
		if id != tt.id || ok != tt.ok || (err != nil) != tt.badErr {
			t.Errorf("ParseLastEventID(%q) = %d, %t, %v; want %d, %t, error %t", tt.in, id, ok, err, tt.id, tt.ok, tt.badErr)
		}
		if err != nil && !errors.Is(err, ErrBadLastEventID) {
			t.Errorf("ParseLastEventID(%q): error %v does not wrap ErrBadLastEventID", tt.in, err)
		}
	}
}

func TestResumeFrom(t *testing.T) {
	tests := []struct {
		name          string
		header, query string
		want          *Resume
	}{
		{"neither", "", "", nil},
		{"header", "12", "", &Resume{LastEventID: 12}},
		{"query", "", "12", &Resume{LastEventID: 12}},
		{"header wins over query", "12", "5", &Resume{LastEventID: 12}},
		{"blank header falls back to query", "  ", "5", &Resume{LastEventID: 5}},
		{"zero", "0", "", &Resume{LastEventID: 0}},
		{"invalid header", "x1", "5", &Resume{Invalid: true, Raw: "x1"}},
		{"invalid query", "", "-3", &Resume{Invalid: true, Raw: "-3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := resumeFrom(tt.header, tt.query)
			if (got == nil) != (tt.want == nil) || got != nil && *got != *tt.want {
				t.Fatalf("resumeFrom(%q, %q) = %+v, want %+v", tt.header, tt.query, got, tt.want)
			}
		})
	}
}

func TestAcceptsEventStream(t *testing.T) {
	tests := []struct {
		values []string
		want   bool
	}{
		{nil, false},
		{[]string{""}, false},
		{[]string{"*/*"}, false},
		{[]string{"text/*"}, false},
		{[]string{"application/json"}, false},
		{[]string{"text/event-stream"}, true},
		{[]string{"TEXT/Event-Stream"}, true},
		{[]string{"text/event-stream; charset=utf-8"}, true},
		{[]string{"application/json, text/event-stream;q=0.5"}, true},
		{[]string{"application/json", "text/event-stream"}, true},
		{[]string{"text/event-stream;q=0"}, false},
		{[]string{"text/event-stream; q=0.0"}, false},
		{[]string{"text/event-stream;q=bogus"}, true},
		{[]string{"text/event-streams"}, false},
	}
	for _, tt := range tests {
		if got := acceptsEventStream(tt.values); got != tt.want {
			t.Errorf("acceptsEventStream(%q) = %t, want %t", tt.values, got, tt.want)
		}
	}
}

func TestEventTypesParameter(t *testing.T) {
	tests := []struct {
		in   []string
		want []string
	}{
		{nil, nil},
		{[]string{""}, nil},
		{[]string{"a"}, []string{"a"}},
		{[]string{"a", "b"}, []string{"a", "b"}},
		{[]string{"a,b", " c ", ",,"}, []string{"a", "b", "c"}},
	}
	for _, tt := range tests {
		if got := eventTypes(tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("eventTypes(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
