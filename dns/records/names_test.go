package records

import (
	"strings"
	"testing"
	"testing/quick"
)

// The expected values below are Mesos-DNS' documented sanitiser behaviour (reference §3 and
// the vectors of its labels package).
func TestLabelRFC1123(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"a", "a"},
		{"-", ""},
		{"a---", "a"},
		{"---a---", "a"},
		{"---a---b", "a---b"},
		{"a.b.c.d.e", "a-b-c-d-e"},
		{"a.c.d_de.", "a-c-d-de"},
		{"abc123", "abc123"},
		{"-abc123", "abc123"},
		{"abc123-", "abc123"},
		{"abc--123", "abc--123"},
		{"4abc123", "4abc123"},
		{"r29f.dev.angrypigs", "r29f-dev-angrypigs"},
		{"liquor.store", "liquor-store"},
		{"MiXeD_Case", "mixed-case"},
		{"chronos with a space AND MIXED CASE", "chronoswithaspaceandmixedcase"},
		{"fd%gsf---gs7-f$gs--d7fddg-123", "fdgsf---gs7-fgs--d7fddg-123"},
		{"Café Ünïcode", "cafncode"},
		{"\xff\xfeok", "ok"},
		// 63-character cut; when it leaves trailing dashes they are refilled from after the cut.
		{strings.Repeat("a", 70), strings.Repeat("a", 63)},
		{"hello" + strings.Repeat("-", 58) + "f", "hellof"},
		{"hello" + strings.Repeat("-", 56) + "f", "hello" + strings.Repeat("-", 56) + "f"},
		{"fd%gsf---gs7-f$gs--d7fddg123456789012345678901234567890123456789-123",
			"fdgsf---gs7-fgs--d7fddg1234567890123456789012345678901234567891"},
		{"##fdgsf---gs7-fgs--d7fddg123456789012345678901234567890123456789-",
			"fdgsf---gs7-fgs--d7fddg123456789012345678901234567890123456789"},
	}
	for _, tt := range tests {
		if got := LabelRFC1123(tt.in); got != tt.want {
			t.Errorf("LabelRFC1123(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestLabelRFC952(t *testing.T) {
	tests := []struct{ in, want string }{
		{"4abc123", "abc123"},
		{"-4abc123", "abc123"},
		{"89fdgsf---gs7-fgs--d7fddg-", "fdgsf---gs7-fgs--d7fddg"},
		{"89fdgsf---gs7-fgs--d7fddg-123", "fdgsf---gs7-fgs--d7fddg1"},
		{"fd%gsf---gs7-f$gs--d7fddg-123", "fdgsf---gs7-fgs--d7fddg1"},
		{"chronos with a space AND MIXED CASE-2.0.1", "chronoswithaspaceandmixe"},
		{"chronos with a space AND----------MIXED--", "chronoswithaspaceandmixe"},
		{"hello" + strings.Repeat("-", 58) + "f", "hellof"},
		{"123", ""},
		{"a.b", "a-b"},
	}
	for _, tt := range tests {
		if got := LabelRFC952(tt.in); got != tt.want {
			t.Errorf("LabelRFC952(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestLabelProperties(t *testing.T) {
	charset := func(s string) bool {
		return strings.IndexFunc(s, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-')
		}) < 0
	}
	props := map[string]func(string) bool{
		"1123 charset":         func(s string) bool { return charset(LabelRFC1123(s)) },
		"1123 length":          func(s string) bool { return len(LabelRFC1123(s)) <= 63 },
		"1123 no leading dash": func(s string) bool { return !strings.HasPrefix(LabelRFC1123(s), "-") },
		"1123 idempotent":      func(s string) bool { l := LabelRFC1123(s); return LabelRFC1123(l) == l },
		"952 charset":          func(s string) bool { return charset(LabelRFC952(s)) },
		"952 length":           func(s string) bool { return len(LabelRFC952(s)) <= 24 },
		"952 no leading digit or dash": func(s string) bool {
			l := LabelRFC952(s)
			return l == "" || !(l[0] == '-' || l[0] >= '0' && l[0] <= '9')
		},
	}
	for name, p := range props {
		if err := quick.Check(p, &quick.Config{MaxCount: 5000}); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestDomainFrag(t *testing.T) {
	tests := []struct {
		in      string
		label   labelFunc
		want    string
		comment string
	}{
		{"", LabelRFC1123, "", ""},
		{".", LabelRFC1123, "", ""},
		{"..", LabelRFC1123, "", ""},
		{"abc.", LabelRFC1123, "abc", ""},
		{".a.c", LabelRFC1123, "a.c", ""},
		{"a..c.e", LabelRFC1123, "a.c.e", ""},
		{"space space.com", LabelRFC1123, "spacespace.com", ""},
		{"(@ host . com", LabelRFC1123, "host.com", ""},
		{"MiXeDcase.CoM", LabelRFC1123, "mixedcase.com", ""},
		{"marathon.prod", LabelRFC1123, "marathon.prod", "naming docs example"},
		{"marathon-0.7.5", LabelRFC1123, "marathon-0.7.5", "naming docs example"},
		{"chronos with a space AND MIXED CASE-2.0.1", LabelRFC1123, "chronoswithaspaceandmixedcase-2.0.1", "reference §3"},
		{"chronos with a space AND MIXED CASE-2.0.1", LabelRFC952, "chronoswithaspaceandmixe", "leading digits trimmed"},
		{"pod_123$abc.marathon-0.6.0-dev.mesos", LabelRFC1123, "pod-123abc.marathon-0.6.0-dev.mesos", ""},
		{"pod_123$abc.marathon-0.6.0-dev.mesos", LabelRFC952, "pod-123abc.marathon-0.dev.mesos", ""},
		{"!!!", LabelRFC1123, "", "nothing survives"},
	}
	for _, tt := range tests {
		if got := domainFrag(tt.in, tt.label); got != tt.want {
			t.Errorf("domainFrag(%q) = %q, want %q %s", tt.in, got, tt.want, tt.comment)
		}
	}
}

func TestTaskHash(t *testing.T) {
	// reference §2 worked example.
	if got := taskHash("test"); got != "iffe9" {
		t.Fatalf(`taskHash("test") = %q, want "iffe9"`, got)
	}
	seen := map[string]string{}
	for i := range 2000 {
		id := "web." + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + strings.Repeat("0", i/26)
		h := taskHash(id)
		if len(h) != 5 || strings.Trim(h, "ybndrfg8ejkmcpqxot1uwisza345h769") != "" {
			t.Fatalf("taskHash(%q) = %q: not 5 zbase32 characters", id, h)
		}
		seen[h] = id
	}
	if len(seen) < 1990 {
		t.Errorf("only %d distinct hashes for 2000 IDs", len(seen))
	}
}

func TestAgentTail(t *testing.T) {
	tests := []struct{ in, want string }{
		{"20150101-000000-0100007f-5050-S1", "s1"},
		{"0b1c2d3e-0000-4000-8000-00000000abcd-S12", "s12"},
		{"S3", "s3"},
		{"", ""},
		{"agent-", ""},
		{"host-a.b_c", "a-b-c"}, // Strata: label-unsafe characters mapped as in sanitising
	}
	for _, tt := range tests {
		if got := agentTail(tt.in); got != tt.want {
			t.Errorf("agentTail(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestCanonicalLabel(t *testing.T) {
	long := strings.Repeat("a", 53) + "-" + strings.Repeat("b", 9) // 63
	tests := []struct{ t, want string }{
		{"web", "web-iffe9-s1"},
		{"big.dog", "big.dog-iffe9-s1"},
		// 63 - len("-iffe9-s1") = 54 characters of the name, trailing dash trimmed.
		{long, strings.Repeat("a", 53) + "-iffe9-s1"},
		{strings.Repeat("a", 50) + "-" + strings.Repeat("b", 12), strings.Repeat("a", 50) + "-bbb-iffe9-s1"},
		{strings.Repeat("c", 60), strings.Repeat("c", 54) + "-iffe9-s1"},
	}
	for _, tt := range tests {
		got := canonicalLabel(tt.t, "iffe9", "s1")
		if got != tt.want {
			t.Errorf("canonicalLabel(%q) = %q, want %q", tt.t, got, tt.want)
		}
		last := got[strings.LastIndexByte(got, '.')+1:]
		if len(last) > 63 {
			t.Errorf("canonicalLabel(%q): label of %d characters", tt.t, len(last))
		}
	}
	if got := canonicalLabel("x", "iffe9", strings.Repeat("t", 80)); len(got) > 63 {
		t.Errorf("a long agent tail gives a %d-character label", len(got))
	}
}

func TestRawDiscoveryName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"big.dog", "big.dog"},
		{"Big.Dog", "big.dog"},
		{"big_dog.service", "big_dog.service"},
		{"svc", "svc"},
		{"a..b", ""},
		{".a", ""},
		{"a.", ""},
		{"a b", ""},
		{"caf\u00e9", ""},
		{strings.Repeat("x", 64), ""},
		{strings.Repeat("x", 63) + ".y", strings.Repeat("x", 63) + ".y"},
	}
	for _, tt := range tests {
		if got := rawDiscoveryName(tt.in); got != tt.want {
			t.Errorf("rawDiscoveryName(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestValidName(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"web.marathon.mesos.", true},
		{"_web._tcp.marathon.mesos.", true},
		{"web.marathon.mesos", false},
		{".", false},
		{"a..b.", false},
		{"Web.mesos.", false},
		{strings.Repeat("a", 63) + ".mesos.", true},
		{strings.Repeat("a", 64) + ".mesos.", false},
		{strings.Repeat("a.", 127), true}, // 254 characters
		{strings.Repeat("a.", 127) + "b.", false},
	}
	for _, tt := range tests {
		if got := validName(tt.in); got != tt.want {
			t.Errorf("validName(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}
