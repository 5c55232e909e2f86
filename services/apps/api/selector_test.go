package api

import "testing"

func TestSelector(t *testing.T) {
	labels := map[string]string{"env": "prod", "tier": "web", "a,b": "c"}
	tests := []struct {
		sel  string
		want bool
		bad  bool
	}{
		{"", true, false},
		{"env", true, false},
		{"owner", false, false},
		{"env==prod", true, false},
		{"env==dev", false, false},
		{"env!=dev", true, false},
		{"owner!=x", true, false},
		{"env==prod,tier==web", true, false},
		{"env==prod,tier==db", false, false},
		{"tier in (web, db)", true, false},
		{"tier notin (web,db)", false, false},
		{"owner notin (x)", true, false},
		{`a\,b==c`, true, false},
		{"tier in (web", false, true},
		{"tier maybe (web)", false, true},
		{"env==prod,", false, true},
	}
	for _, tt := range tests {
		s, err := parseSelector(tt.sel)
		if (err != nil) != tt.bad {
			t.Errorf("parseSelector(%q) error %v", tt.sel, err)
			continue
		}
		if err == nil && s.matches(labels) != tt.want {
			t.Errorf("%q matches = %v, want %v", tt.sel, !tt.want, tt.want)
		}
	}
}
