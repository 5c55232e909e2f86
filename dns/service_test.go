package dns

import (
	"strings"
	"testing"

	"strata/dns/server"
)

// New wants masters or a zk:// URL, and a zk:// URL it can parse.
func TestNewLeaderSources(t *testing.T) {
	for _, tc := range []struct {
		name    string
		masters []string
		zk      string
		err     string // "" = accepted
	}{
		{"masters", []string{"10.0.0.1:5050"}, "", ""},
		{"zk", nil, "zk://10.0.0.1:2181,10.0.0.2:2181/mesos", ""},
		{"both", []string{"10.0.0.1:5050"}, "zk://10.0.0.1:2181/mesos", ""},
		{"neither", nil, "", "no masters"},
		{"zk without a path", nil, "zk://10.0.0.1:2181", "zk"},
		{"zk root path", nil, "zk://10.0.0.1:2181/", "zk"},
	} {
		cfg := server.DefaultConfig()
		cfg.Masters, cfg.Zk = tc.masters, tc.zk
		s, err := New(cfg, nil)
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%s: error %v, want one naming %q", tc.name, err, tc.err)
		case tc.zk != "" && err == nil && (s.zk == nil || s.zkString() == ""):
			t.Errorf("%s: the zk URL was not kept", tc.name)
		}
	}
}
