package resources

import (
	"errors"
	"math"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"strata/kernel/mesos/codec"
	"strata/kernel/mesos/mesospb"
)

func mustParse(t *testing.T, text string) []*mesospb.Resource {
	t.Helper()
	rs, err := Parse(text, "")
	if err != nil {
		t.Fatalf("Parse(%q): %v", text, err)
	}
	return rs
}

func TestParseText(t *testing.T) {
	tests := []struct {
		name, in, role string
		want           string // Format of the result
	}{
		{"agent flag", "cpus:4;mem:2048;disk:10000;ports:[31000-32000];gpus:0", "", "cpus:4; mem:2048; disk:10000; ports:[31000-32000]"},
		{"spaces and empty tokens", " cpus : 2.5 ;; mem:128; ", "", "cpus:2.5; mem:128"},
		{"static role", "cpus(ops):2;cpus:1", "", "cpus(ops):2; cpus:1"},
		{"default role", "cpus:2;mem(*):64", "eng", "cpus(eng):2; mem:64"},
		{"star default role", "cpus:2", "*", "cpus:2"},
		{"hierarchical role", "disk(eng/web):100", "", "disk(eng/web):100"},
		{"duplicates merge", "cpus:1;cpus:2.25;ports:[1-5];ports:[6-8, 20-30]", "", "cpus:3.25; ports:[1-8, 20-30]"},
		{"set", "zones:{a, b ,c}", "", "zones:{a, b, c}"},
		{"ranges coalesce", "ports:[10-20,15-25, 1-2]", "", "ports:[1-2, 10-25]"},
		{"empty ranges dropped", "ports:[];cpus:1", "", "cpus:1"},
		{"exponent scalar", "mem:1e3", "", "mem:1000"},
		{"empty input", "", "", ""},
		{"max uint64 range", "ports:[18446744073709551615-18446744073709551615]", "", "ports:[18446744073709551615-18446744073709551615]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rs, err := Parse(tc.in, tc.role)
			if err != nil {
				t.Fatal(err)
			}
			if got := Format(rs); got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestParseStaticReservationFormat(t *testing.T) {
	rs := mustParse(t, "cpus(ops):2")
	r := rs[0]
	if r.GetRole() != "ops" { //nolint:staticcheck // checking the legacy field on purpose
		t.Errorf("legacy role = %q", r.GetRole()) //nolint:staticcheck
	}
	if len(r.Reservations) != 1 || r.Reservations[0].GetType() != mesospb.Resource_ReservationInfo_STATIC || r.Reservations[0].GetRole() != "ops" {
		t.Errorf("reservations = %v", r.Reservations)
	}
	un := mustParse(t, "cpus:2")[0]
	if un.Role != nil || len(un.Reservations) != 0 { //nolint:staticcheck
		t.Errorf("unreserved resource carries a reservation: %v", un)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, in string
		want     string
	}{
		{"missing colon", "cpus", "missing ':'"},
		{"negative", "cpus:-1", "negative"},
		{"nan", "cpus:nan", "not a number, ranges or a set"},
		{"inf", "cpus:inf", "not a number, ranges or a set"},
		{"overflow", "cpus:1e999", "not a number, ranges or a set"},
		{"text", "cpus:lots", "not a number, ranges or a set"},
		{"empty value", "cpus:", "empty value"},
		{"empty name", ":4", "empty resource name"},
		{"inverted range", "ports:[5-1]", "begin > end"},
		{"bad range", "ports:[1-x]", "non-negative integers"},
		{"single port", "ports:[80]", "expected begin-end"},
		{"unclosed ranges", "ports:[1-2", "mismatched brackets"},
		{"nested", "ports:[[1-2]]", "mismatched brackets"},
		{"duplicate set item", "zones:{a,a}", "duplicate set item"},
		{"mixed types", "x:1;x:[1-2]", "types SCALAR and RANGES"},
		{"bad role", "cpus(a b):1", "invalid character"},
		{"empty role", "cpus():1", "empty role"},
		{"unbalanced paren", "cpus(ops:1", "mismatched parentheses"},
		{"close paren only", "cpus)ops(:1", "mismatched parentheses"},
		{"dot role", "cpus(..):1", `".." path component`},
		{"bad default role", "cpus:1", "default role"},
		{"json syntax", `[{"name":"cpus"`, "syntax error"},
		{"json missing type", `[{"name":"cpus","scalar":{"value":1}}]`, "type: required field missing"},
		{"json revocable", `[{"name":"cpus","type":"SCALAR","scalar":{"value":1},"revocable":{}}]`, "cannot be configured"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			role := ""
			if tc.name == "bad default role" {
				role = "a/../b"
			}
			rs, err := Parse(tc.in, role)
			if err == nil {
				t.Fatalf("no error; got %s", Format(rs))
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "resources: ") {
				t.Fatalf("err = %q, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestParseJSON(t *testing.T) {
	in := `[
	  {"name":"cpus","type":"SCALAR","scalar":{"value":4}},
	  {"name":"mem","type":"SCALAR","scalar":{"value":"2048"},"role":"ops"},
	  {"name":"ports","type":"RANGES","ranges":{"range":[{"begin":31000,"end":32000}]},"unknown":true},
	  {"name":"disk","type":"SCALAR","scalar":{"value":100},"reservations":[{"type":"STATIC","role":"eng"}]}
	]`
	rs, err := Parse(in, "def")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := Format(rs), "cpus(def):4; mem(ops):2048; ports(def):[31000-32000]; disk(eng):100"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	// JSON produced by the codec parses back to the same resources.
	text := mustParse(t, "cpus:1;ports:[1-3];zones:{a,b};mem(ops):5")
	var parts []string
	for _, r := range text {
		b, err := codec.MarshalJSON(r)
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, string(b))
	}
	back, err := Parse("["+strings.Join(parts, ",")+"]", "")
	if err != nil {
		t.Fatal(err)
	}
	if !Equal(back, text) {
		t.Fatalf("JSON round trip: %s vs %s", Format(back), Format(text))
	}
}

func TestParseValue(t *testing.T) {
	tests := []struct {
		in   string
		want *mesospb.Value
	}{
		{"4", &mesospb.Value{Type: mesospb.Value_SCALAR.Enum(), Scalar: &mesospb.Value_Scalar{Value: proto.Float64(4)}}},
		{" -0.5 ", &mesospb.Value{Type: mesospb.Value_SCALAR.Enum(), Scalar: &mesospb.Value_Scalar{Value: proto.Float64(-0.5)}}},
		{"us-east", &mesospb.Value{Type: mesospb.Value_TEXT.Enum(), Text: &mesospb.Value_Text{Value: proto.String("us-east")}}},
		{"1-2", &mesospb.Value{Type: mesospb.Value_TEXT.Enum(), Text: &mesospb.Value_Text{Value: proto.String("1-2")}}},
		{"0x10", &mesospb.Value{Type: mesospb.Value_TEXT.Enum(), Text: &mesospb.Value_Text{Value: proto.String("0x10")}}},
		{"Infinity", &mesospb.Value{Type: mesospb.Value_TEXT.Enum(), Text: &mesospb.Value_Text{Value: proto.String("Infinity")}}},
		{"[1-2, 4-4]", &mesospb.Value{Type: mesospb.Value_RANGES.Enum(), Ranges: RangesToProto([]Range{{1, 2}, {4, 4}})}},
		{"{x}", &mesospb.Value{Type: mesospb.Value_SET.Enum(), Set: &mesospb.Value_Set{Item: []string{"x"}}}},
		{"{}", &mesospb.Value{Type: mesospb.Value_SET.Enum(), Set: &mesospb.Value_Set{}}},
	}
	for _, tc := range tests {
		got, err := ParseValue(tc.in)
		if err != nil {
			t.Errorf("ParseValue(%q): %v", tc.in, err)
			continue
		}
		if !proto.Equal(got, tc.want) {
			t.Errorf("ParseValue(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
	for _, bad := range []string{"", "  ", "[1-2", "{a", "a]", "x{y}"} {
		if _, err := ParseValue(bad); !errors.Is(err, ErrSyntax) {
			t.Errorf("ParseValue(%q) err = %v, want ErrSyntax", bad, err)
		}
	}
}

func TestParseAttributes(t *testing.T) {
	attrs, err := ParseAttributes("rack:r1;zone: us-east ;cores:4;ports:[1-2];tags:{a,b};url:http://x:80/y;;")
	if err != nil {
		t.Fatal(err)
	}
	want := []*mesospb.Attribute{
		{Name: proto.String("rack"), Type: mesospb.Value_TEXT.Enum(), Text: &mesospb.Value_Text{Value: proto.String("r1")}},
		{Name: proto.String("zone"), Type: mesospb.Value_TEXT.Enum(), Text: &mesospb.Value_Text{Value: proto.String("us-east")}},
		{Name: proto.String("cores"), Type: mesospb.Value_SCALAR.Enum(), Scalar: &mesospb.Value_Scalar{Value: proto.Float64(4)}},
		{Name: proto.String("ports"), Type: mesospb.Value_RANGES.Enum(), Ranges: RangesToProto([]Range{{1, 2}})},
		{Name: proto.String("tags"), Type: mesospb.Value_SET.Enum(), Set: &mesospb.Value_Set{Item: []string{"a", "b"}}},
		{Name: proto.String("url"), Type: mesospb.Value_TEXT.Enum(), Text: &mesospb.Value_Text{Value: proto.String("http://x:80/y")}},
	}
	if len(attrs) != len(want) {
		t.Fatalf("got %d attributes: %v", len(attrs), attrs)
	}
	for i := range want {
		if !proto.Equal(attrs[i], want[i]) {
			t.Errorf("attribute %d = %v, want %v", i, attrs[i], want[i])
		}
	}
	for _, bad := range []string{"rack", ":x", "rack:", "ports:[2-1]", "a:{b"} {
		if _, err := ParseAttributes(bad); err == nil || !strings.HasPrefix(err.Error(), "attributes: ") {
			t.Errorf("ParseAttributes(%q) err = %v", bad, err)
		}
	}
	m := AttributesStateJSON(attrs)
	if m["rack"] != "r1" || m["cores"] != 4.0 || m["ports"] != "[1-2]" || m["tags"] != "{a, b}" {
		t.Errorf("AttributesStateJSON = %v", m)
	}
}

func FuzzParseResources(f *testing.F) {
	f.Add("cpus:4;mem:2048;disk:10000;ports:[31000-32000];gpus:0", "")
	f.Add("cpus(ops):2;zones:{a,b}", "eng")
	f.Add(`[{"name":"cpus","type":"SCALAR","scalar":{"value":1}}]`, "*")
	f.Fuzz(func(t *testing.T, text, role string) {
		rs, err := Parse(text, role)
		if err != nil {
			return
		}
		if err := Validate(rs); err != nil {
			t.Fatalf("Parse returned invalid resources: %v", err)
		}
		for _, r := range rs {
			if IsEmpty(r) {
				t.Fatalf("Parse returned an empty resource: %v", r)
			}
			if v := r.GetScalar().GetValue(); math.IsNaN(v) || math.IsInf(v, 0) {
				t.Fatalf("non-finite scalar %v", v)
			}
		}
		// Text form round trip (sets may hold items that the text syntax
		// cannot carry, such as ',' or ';', so only compare when it parses).
		if again, err := Parse(Format(rs), ""); err == nil && !Equal(again, rs) && !hasSet(rs) {
			t.Fatalf("Format/Parse round trip: %q -> %q", Format(rs), Format(again))
		}
		if !Contains(rs, rs) || !Equal(Add(rs, nil), rs) || len(Subtract(rs, rs)) != 0 {
			t.Fatalf("arithmetic identities fail for %s", Format(rs))
		}
	})
}

func hasSet(rs []*mesospb.Resource) bool {
	for _, r := range rs {
		if r.GetType() == mesospb.Value_SET {
			return true
		}
	}
	return false
}

func FuzzParseAttributes(f *testing.F) {
	f.Add("rack:r1;zone:us-east;cores:4;ports:[1-2]")
	f.Add("tags:{a,b};x:1e3")
	f.Fuzz(func(t *testing.T, text string) {
		attrs, err := ParseAttributes(text)
		if err != nil {
			return
		}
		for _, a := range attrs {
			if a.GetName() == "" {
				t.Fatal("empty attribute name")
			}
			if _, err := codec.MarshalProtobuf(a); err != nil {
				t.Fatalf("attribute %v misses required fields: %v", a, err)
			}
		}
		_ = AttributesStateJSON(attrs)
	})
}
