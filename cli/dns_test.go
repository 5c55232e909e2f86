package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

// A mesos-dns config.json carries over, and the flags given beside it override its settings;
// without a file the flags (and their defaults) are the config.
func TestDNSConfigFileAndFlags(t *testing.T) {
	file := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(file, []byte(`{"masters":["10.0.0.1:5050"],"domain":"corp","port":5353,"ttl":30,"externalon":false}`), 0o644); err != nil {
		t.Fatal(err)
	}
	parse := func(args ...string) (*dnsFlags, *pflag.FlagSet) {
		f := &dnsFlags{}
		fs := pflag.NewFlagSet("dns", pflag.ContinueOnError)
		f.register(fs, "")
		if err := fs.Parse(args); err != nil {
			t.Fatal(err)
		}
		return f, fs
	}

	f, fs := parse("--config", file, "--ttl", "9")
	cfg, err := f.config(fs, "")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Domain != "corp" || cfg.Port != 5353 || cfg.TTL != 9 || cfg.ExternalOn || len(cfg.Masters) != 1 || cfg.Masters[0] != "10.0.0.1:5050" {
		t.Fatalf("file + --ttl: %+v", cfg)
	}

	f, fs = parse("--masters", "m1:5050,m2:5050", "--port", "8053")
	if cfg, err = f.config(fs, ""); err != nil {
		t.Fatal(err)
	}
	if cfg.Domain != "mesos" || cfg.Port != 8053 || cfg.TTL != 5 || !cfg.ExternalOn || strings.Join(cfg.Masters, ",") != "m1:5050,m2:5050" {
		t.Fatalf("flags only: %+v", cfg)
	}

	bad := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(bad, []byte(`{"ttl":"soon"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	f, fs = parse("--config", bad)
	if _, err := f.config(fs, ""); err == nil || !strings.Contains(strings.ToLower(err.Error()), "ttl") {
		t.Fatalf("a bad config: %v, want an error naming ttl", err)
	}
}

// --zk sets the config's zk (over the file's), and the start-up line names it without its
// password.
func TestDNSZKFlag(t *testing.T) {
	file := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(file, []byte(`{"zk":"zk://10.0.0.1:2181/mesos","masters":["10.0.0.1:5050"]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args       []string
		zk, source string
	}{
		{[]string{"--zk", "zk://u:secret@z1:2181,z2:2181/mesos"}, "zk://u:secret@z1:2181,z2:2181/mesos",
			"leader from zk://u@z1:2181,z2:2181/mesos"},
		{[]string{"--config", file}, "zk://10.0.0.1:2181/mesos",
			"leader from zk://10.0.0.1:2181/mesos, masters 10.0.0.1:5050"},
		{[]string{"--config", file, "--zk", "zk://z9:2181/other"}, "zk://z9:2181/other",
			"leader from zk://z9:2181/other, masters 10.0.0.1:5050"},
		{[]string{"--masters", "m1:5050"}, "", "masters m1:5050"},
	} {
		f := &dnsFlags{}
		fs := pflag.NewFlagSet("dns", pflag.ContinueOnError)
		f.register(fs, "")
		if err := fs.Parse(tc.args); err != nil {
			t.Fatal(err)
		}
		cfg, err := f.config(fs, "")
		if err != nil {
			t.Fatalf("%v: %v", tc.args, err)
		}
		if cfg.Zk != tc.zk {
			t.Errorf("%v: zk %q, want %q", tc.args, cfg.Zk, tc.zk)
		}
		if got := leaderSource(cfg); got != tc.source {
			t.Errorf("%v: start-up line %q, want %q", tc.args, got, tc.source)
		}
	}
}
