package constraint

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		in   []string
		want string // substring of the message; "" = valid
	}{
		{"unique", []string{"hostname", "UNIQUE"}, ""},
		{"unique with value", []string{"hostname", "UNIQUE", "x"}, "Value specified but not used"},
		{"unique with empty value", []string{"hostname", "UNIQUE", ""}, "Value specified but not used"},
		{"cluster without value", []string{"rack", "CLUSTER"}, ""},
		{"cluster with value", []string{"rack", "CLUSTER", "r1"}, ""},
		{"group_by without value", []string{"rack", "GROUP_BY"}, ""},
		{"group_by with count", []string{"rack", "GROUP_BY", "3"}, ""},
		{"group_by not a number", []string{"rack", "GROUP_BY", "three"}, "GROUP_BY may either have no value or an integer value"},
		{"group_by float", []string{"rack", "GROUP_BY", "1.5"}, "is not a number"},
		{"group_by beyond int32", []string{"rack", "GROUP_BY", "3000000000"}, "is not a number"},
		{"max_per", []string{"rack", "MAX_PER", "2"}, ""},
		{"max_per signed", []string{"rack", "MAX_PER", "+2"}, ""},
		{"max_per missing value", []string{"rack", "MAX_PER"}, "MAX_PER must have an integer value"},
		{"max_per not a number", []string{"rack", "MAX_PER", "two"}, "MAX_PER must have an integer value"},
		{"like", []string{"rack", "LIKE", "rack-[1-3]"}, ""},
		{"like missing value", []string{"rack", "LIKE"}, "A regular expression value must be provided"},
		{"like bad regex", []string{"rack", "LIKE", "rack-[1-3"}, "'rack-[1-3' is not a valid regular expression"},
		{"like unbalanced group", []string{"rack", "LIKE", "a)|(b"}, "is not a valid regular expression"},
		{"unlike bad regex", []string{"rack", "UNLIKE", "(?<=x)y"}, "is not a valid regular expression"},
		{"is", []string{"@zone", "IS", "a"}, ""},
		{"is missing value", []string{"@zone", "IS"}, "Missing value"},
		{"unknown operator", []string{"rack", "NEAR", "x"}, "illegal constraint operator NEAR"},
		{"lower-case operator", []string{"rack", "unique"}, "illegal constraint operator unique"},
		{"one element", []string{"rack"}, "illegal constraint specification rack"},
		{"four elements", []string{"rack", "LIKE", "a", "b"}, "illegal constraint specification"},
		{"empty", nil, "illegal constraint specification"},
		{"empty field", []string{"", "UNIQUE"}, "Missing field and operator"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			vs := Validate([][]string{{"hostname", "UNIQUE"}, tc.in})
			_, perr := Parse(tc.in)
			if tc.want == "" {
				if len(vs) != 0 || perr != nil {
					t.Fatalf("want valid, got %v / %v", vs, perr)
				}
				return
			}
			if len(vs) != 1 {
				t.Fatalf("want one violation, got %v", vs)
			}
			v := vs[0]
			if v.Index != 1 || v.Path() != "/constraints(1)" {
				t.Errorf("index %d path %q", v.Index, v.Path())
			}
			if !strings.Contains(v.Message, tc.want) {
				t.Errorf("message %q does not contain %q", v.Message, tc.want)
			}
			if !errors.Is(perr, ErrInvalid) || !strings.HasPrefix(perr.Error(), "constraint: ") {
				t.Errorf("Parse error %v", perr)
			}
		})
	}
}

func TestParseAll(t *testing.T) {
	cs, err := ParseAll([][]string{{"hostname", "UNIQUE"}, {"rack", "GROUP_BY", "3"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 2 || cs[1].String() != "rack:GROUP_BY:3" || cs[0].String() != "hostname:UNIQUE" {
		t.Fatalf("got %v", cs)
	}
	if got := cs[1].Array(); len(got) != 3 || got[2] != "3" {
		t.Fatalf("Array = %v", got)
	}
	_, err = ParseAll([][]string{{"a", "NOPE"}, {"hostname", "UNIQUE"}, {"b", "LIKE"}})
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("err = %v", err)
	}
	for _, want := range []string{"constraints(0)", "constraints(2)"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q does not name %s", err, want)
		}
	}
}

func TestThousandths(t *testing.T) {
	tests := []struct {
		in   string
		want string // formatted; "nil" when not a number
	}{
		{"1", "1"},
		{"1.5", "1.5"},
		{"1.0005", "1"},     // tie, 0 is even
		{"1.0015", "1.002"}, // tie, 1 is odd
		{"1.00051", "1.001"},
		{"2.0025", "2.002"},
		{"-1.0015", "-1.002"},
		{"-0.0004", "0"},
		{".5", "0.5"},
		{"5.", "5"},
		{"1e3", "1000"},
		{"1.5E-3", "0.002"},
		{"+7", "7"},
		{"abc", "nil"},
		{"1/3", "nil"},
		{"0x10", "nil"},
		{"1e9999", "nil"},
		{"", "nil"},
		{"Infinity", "nil"},
	}
	for _, tc := range tests {
		got := "nil"
		if n := thousandths(tc.in); n != nil {
			got = formatThousandths(n)
		}
		if got != tc.want {
			t.Errorf("thousandths(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func FuzzValidate(f *testing.F) {
	f.Add([]byte(`[["hostname","UNIQUE"]]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		raw := fuzzConstraints(data)
		vs := Validate(raw)
		bad := make(map[int]bool)
		for _, v := range vs {
			if v.Index < 0 || v.Index >= len(raw) || v.Message == "" || bad[v.Index] {
				t.Fatalf("bad violation %+v for %q", v, raw)
			}
			bad[v.Index] = true
		}
		for i, r := range raw {
			c, err := Parse(r)
			if (err != nil) != bad[i] {
				t.Fatalf("Parse(%q) = %v, Validate says invalid=%v", r, err, bad[i])
			}
			if err != nil {
				continue
			}
			// A valid constraint evaluates without panicking, and
			// round-trips through its array form.
			h := Host{Hostname: "h", Attributes: map[string]string{c.Field: c.Value}}
			_ = c.Allows(h, []Host{h, {Hostname: "g"}})
			again, err := Parse(c.Array())
			if err != nil || again.String() != c.String() {
				t.Fatalf("round trip of %q: %v %v", r, again, err)
			}
		}
		if _, err := ParseAll(raw); (err != nil) != (len(vs) > 0) {
			t.Fatalf("ParseAll(%q) = %v with %d violations", raw, err, len(vs))
		}
	})
}

// fuzzConstraints reads fuzz input as the JSON an API client sends, or,
// when it is not JSON, as lines of '|'-separated elements, so that mutated
// inputs still reach the validator.
func fuzzConstraints(data []byte) [][]string {
	var raw [][]string
	if json.Unmarshal(data, &raw) == nil {
		return raw
	}
	for _, line := range strings.Split(string(data), "\n") {
		raw = append(raw, strings.Split(line, "|"))
	}
	return raw
}
