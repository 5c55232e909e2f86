package dns

import (
	"cmp"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

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

// The Mesos connection settings reach the feed: basic authentication, HTTPS trusting the
// configured CA, the refresh period and the snapshot timeout.
func TestFeedConfigFromMesosSettings(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "ok") }))
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	caFile := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	notPEM := filepath.Join(dir, "not.pem")
	if err := os.WriteFile(notPEM, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	base := func() server.Config {
		c := server.DefaultConfig()
		c.Masters = []string{"10.0.0.1:5050"}
		return c
	}
	tests := []struct {
		name   string
		edit   func(*server.Config)
		err    string // "" = accepted
		scheme string
		reach  bool // the feed's client reaches the TLS server
		user   string
	}{
		{"defaults: plain HTTP, no auth", func(*server.Config) {}, "", "http", false, ""},
		{"basic", func(c *server.Config) {
			c.MesosAuthentication = "basic"
			c.MesosCredentials = server.MesosCredentials{Principal: "dns", Secret: "s"}
		}, "", "http", false, "dns"},
		{"basic without a principal", func(c *server.Config) { c.MesosAuthentication = "basic" }, "principal", "", false, ""},
		{"iam: warned, no auth", func(c *server.Config) { c.MesosAuthentication = "iam" }, "", "http", false, ""},
		{"https with the CA", func(c *server.Config) { c.MesosHTTPSOn, c.CACertFile = true, caFile }, "", "https", true, ""},
		{"https with the system CAs", func(c *server.Config) { c.MesosHTTPSOn = true }, "", "https", false, ""},
		{"CA file without PEM", func(c *server.Config) { c.MesosHTTPSOn, c.CACertFile = true, notPEM }, "no PEM", "", false, ""},
		{"missing CA file", func(c *server.Config) { c.MesosHTTPSOn, c.CACertFile = true, filepath.Join(dir, "none") }, "CACertFile", "", false, ""},
		{"cert without key", func(c *server.Config) { c.MesosHTTPSOn, c.CertFile = true, caFile }, "go together", "", false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := base()
			c.RefreshSeconds, c.StateTimeoutSeconds = 30, 7
			tt.edit(&c)
			s, err := New(c, nil)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("New: %v, want an error naming %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			fc := s.feed
			if fc.Refresh != 30*time.Second || fc.ConnectTimeout != 7*time.Second {
				t.Errorf("Refresh %v, ConnectTimeout %v; want 30s, 7s", fc.Refresh, fc.ConnectTimeout)
			}
			if got := cmp.Or(fc.Scheme, "http"); got != tt.scheme {
				t.Errorf("scheme %q, want %q", got, tt.scheme)
			}
			if fc.Principal != tt.user {
				t.Errorf("principal %q, want %q", fc.Principal, tt.user)
			}
			if fc.HTTPClient != nil {
				resp, err := fc.HTTPClient.Get(srv.URL)
				if err == nil {
					resp.Body.Close()
				}
				if (err == nil) != tt.reach {
					t.Errorf("GET of the TLS server: %v, want reachable = %v", err, tt.reach)
				}
			}
		})
	}
}
