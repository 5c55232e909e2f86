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
