package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"strata/dns/records"
)

func TestLoadConfigExample(t *testing.T) {
	f, err := os.Open("testdata/config.example.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c, err := LoadConfig(f)
	if err != nil {
		t.Fatal(err)
	}
	want := DefaultConfig()
	want.Zk = "zk://10.101.160.15:2181/mesos"
	want.Masters = []string{"10.101.160.15:5050", "10.101.160.16:5050", "10.101.160.17:5050"}
	want.MesosCredentials = MesosCredentials{Principal: "my-mesos-dns-principal", Secret: "super-secret"}
	want.MesosAuthentication = "basic"
	want.TTL = 60
	want.Resolvers = []string{"169.254.169.254:53"}
	want.ZoneResolvers = map[string][]string{"weave": {"172.17.0.1:53"}}
	want.Listener = "10.101.160.16"
	want.IPSources = []string{"netinfo", "mesos", "host"} // the example's, Mesos-DNS' default
	if !reflect.DeepEqual(c, want) {
		t.Errorf("got  %+v\nwant %+v", c, want)
	}
}

func TestLoadConfigDefaults(t *testing.T) {
	c, err := LoadConfig(strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.TTL != DefaultTTL || c.Port != 53 || c.HTTPPort != 8123 || c.RefreshSeconds != 60 || c.Timeout != 5 ||
		c.Domain != "mesos" || c.SOAMname != "ns1.mesos." || c.SOARname != "root.ns1.mesos." ||
		c.SOARefresh != 60 || c.SOARetry != 600 || c.SOAExpire != 86400 || c.SOAMinttl != 60 ||
		!slices.Equal(c.Resolvers, []string{"8.8.8.8:53"}) || !c.ExternalOn || !c.RecurseOn || !c.DNSOn || !c.HTTPOn ||
		!c.SetTruncateBit || !c.EnumerationOn || c.SRVRecordDefaultWeight != 1 || c.Listener != "0.0.0.0" ||
		!slices.Equal(c.IPSources, []string{"host", "netinfo"}) || c.CacheSize != DefaultCacheSize {
		t.Errorf("defaults: %+v", c)
	}
}

// The default IP sources are DC/OS' (host first: Docker bridge-mode tasks resolve to their
// agent, not to an unreachable internal IP), the same as the record generator's for nil, and
// an absent or null IPSources means them.
func TestDefaultIPSources(t *testing.T) {
	want := []string{records.SourceHost, records.SourceNetInfo}
	if got := DefaultConfig().IPSources; !slices.Equal(got, want) {
		t.Errorf("DefaultConfig: %v, want %v", got, want)
	}
	if got := records.DefaultConfig().IPSources; !slices.Equal(got, want) {
		t.Errorf("records.DefaultConfig: %v, want %v", got, want)
	}
	for _, doc := range []string{`{}`, `{"IPSources": null}`} {
		c, err := LoadConfig(strings.NewReader(doc))
		if err != nil || !slices.Equal(c.IPSources, want) || !slices.Equal(c.RecordsConfig().IPSources, want) {
			t.Errorf("%s: %v, %v; want %v", doc, c.IPSources, err, want)
		}
	}
	c := DefaultConfig()
	c.IPSources = nil
	if c, err := c.Validate(); err != nil || !slices.Equal(c.IPSources, want) {
		t.Errorf("Validate of nil IPSources: %v, %v", c.IPSources, err)
	}
}

func TestLoadConfigCaseInsensitive(t *testing.T) {
	for _, doc := range []string{`{"httpport": 9000}`, `{"HttpPort": 9000}`, `{"httpPort": 9000}`} {
		c, err := LoadConfig(strings.NewReader(doc))
		if err != nil || c.HTTPPort != 9000 {
			t.Errorf("%s: %d, %v", doc, c.HTTPPort, err)
		}
	}
	c, err := LoadConfig(strings.NewReader(`{"Domain":"Cluster.Local.","SOAMname":"NS.Cluster.Local","SOARname":"admin@cluster.local","email":"ignored"}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.Domain != "cluster.local" || c.SOAMname != "ns.cluster.local." || c.SOARname != "admin.cluster.local." {
		t.Errorf("normalised: %q %q %q", c.Domain, c.SOAMname, c.SOARname)
	}
	if rc := c.RecordsConfig(); rc.Domain != "cluster.local" || rc.SOAMname != "ns.cluster.local." || !slices.Equal(rc.IPSources, c.IPSources) {
		t.Errorf("RecordsConfig: %+v", rc)
	}
}

func TestLoadConfigErrors(t *testing.T) {
	tests := []struct{ doc, field string }{
		{`{"ttl": "60"}`, "TTL"},
		{`{"ttl": -1}`, "ttl"},
		{`{"ttl": 1e20}`, "TTL"},
		{`{"port": 70000}`, "port"},
		{`{"httpport": -1}`, "httpport"},
		{`{"refreshSeconds": 0}`, "refreshSeconds"},
		{`{"stateTimeoutSeconds": -5}`, "stateTimeoutSeconds"},
		{`{"zkDetectionTimeout": -1}`, "zkDetectionTimeout"},
		{`{"timeout": -1}`, "timeout"},
		{`{"domain": "bad_domain"}`, "domain"},
		{`{"domain": "` + strings.Repeat("a", 64) + `.mesos"}`, "domain"},
		{`{"SOAMname": "ns 1"}`, "SOAMname"},
		{`{"SOARname": "root..x"}`, "SOARname"},
		{`{"listener": "localhost"}`, "listener"},
		{`{"HTTPListener": "1.2.3"}`, "HTTPListener"},
		{`{"dnson": false, "httpon": false}`, "dnson"},
		{`{"resolvers": ["8.8.8.8", "8.8.8.8:53"]}`, "resolvers"},
		{`{"resolvers": ["dns.google"]}`, "resolvers"},
		{`{"resolvers": ["8.8.8.8:0"]}`, "resolvers"},
		{`{"masters": ["10.0.0.1"]}`, "masters"},
		{`{"masters": ["10.0.0.1:5050", "10.0.0.1:5050"]}`, "masters"},
		{`{"zk": "http://zk:2181"}`, "zk"},
		{`{"zoneResolvers": {"mesos": ["1.1.1.1"]}}`, "zoneResolvers"},
		{`{"zoneResolvers": {"x.mesos": ["1.1.1.1"]}}`, "zoneResolvers"},
		{`{"zoneResolvers": {"a.b": ["1.1.1.1"], "b": ["2.2.2.2"]}}`, "zoneResolvers"},
		{`{"zoneResolvers": {"weave": []}}`, "zoneResolvers"},
		{`{"zoneResolvers": {"we ave": ["1.1.1.1"]}}`, "zoneResolvers"},
		{`{"IPSources": []}`, "IPSources"},
		{`{"IPSources": ["host", "host"]}`, "IPSources"},
		{`{"IPSources": ["rkt"]}`, "IPSources"},
		{`{"mesosAuthentication": "kerberos"}`, "mesosAuthentication"},
		{`{"cacheSize": -1}`, "cacheSize"},
		{`{"srvRecordDefaultWeight": 70000}`, "SRVRecordDefaultWeight"},
		{`{"ttl": 5} {"ttl": 6}`, "trailing"},
		{`{"ttl": 5`, "unexpected EOF"},
		{`[]`, "config"},
		{``, "EOF"},
	}
	for _, tc := range tests {
		_, err := LoadConfig(strings.NewReader(tc.doc))
		if err == nil {
			t.Errorf("%s: no error", tc.doc)
			continue
		}
		if !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%s: %v does not wrap ErrInvalidConfig", tc.doc, err)
		}
		if !strings.Contains(err.Error(), tc.field) {
			t.Errorf("%s: %v does not name %s", tc.doc, err, tc.field)
		}
	}
}

func TestLoadConfigTooLarge(t *testing.T) {
	doc := `{"file": "` + strings.Repeat("x", maxConfigSize) + `"}`
	if _, err := LoadConfig(strings.NewReader(doc)); err == nil {
		t.Error("a config over 1 MiB was accepted")
	}
}

// TestConfigJSONNames pins /v1/config's keys to Mesos-DNS' (Go field names, with HttpPort,
// DnsOn and HttpOn spelled as Mesos-DNS spells them).
func TestConfigJSONNames(t *testing.T) {
	b, err := json.Marshal(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"RefreshSeconds", "Port", "Timeout", "StateTimeoutSeconds", "ZkDetectionTimeout",
		"HttpPort", "TTL", "SOASerial", "SOARefresh", "SOARetry", "SOAExpire", "SOAMinttl", "SOAMname", "SOARname",
		"Masters", "ZoneResolvers", "Resolvers", "IPSources", "Zk", "Domain", "File", "Listener", "HTTPListener",
		"RecurseOn", "DnsOn", "HttpOn", "ExternalOn", "EnforceRFC952", "SetTruncateBit", "EnumerationOn",
		"MesosHTTPSOn", "CACertFile", "CertFile", "KeyFile", "MesosCredentials", "IAMConfigFile",
		"MesosAuthentication", "SRVRecordDefaultWeight"} {
		if _, ok := m[k]; !ok {
			t.Errorf("key %s missing from %s", k, b)
		}
	}
	// What /v1/config writes loads back unchanged.
	c := DefaultConfig()
	c.ZoneResolvers = map[string][]string{"weave": {"172.17.0.1:53"}}
	c.Resolvers = []string{"8.8.8.8:53"}
	c.SOASerial = 7
	b, _ = json.Marshal(c)
	back, err := LoadConfig(bytes.NewReader(b))
	if err != nil || !reflect.DeepEqual(back, c) {
		t.Errorf("round trip: %v\n%+v\n%+v", err, back, c)
	}
}

// FuzzLoadConfig: arbitrary input never panics; accepted configs are valid, stable under
// Validate, usable by records.New and New, and survive a JSON round trip.
func FuzzLoadConfig(f *testing.F) {
	f.Add([]byte(`{"ttl": 60, "domain": "Mesos.", "resolvers": ["1.1.1.1", "[::1]:5353"]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := LoadConfig(bytes.NewReader(data))
		if err != nil {
			if !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("error %v does not wrap ErrInvalidConfig", err)
			}
			return
		}
		again, err := c.Validate()
		if err != nil {
			t.Fatalf("Validate of a loaded config: %v", err)
		}
		if !reflect.DeepEqual(again, c) {
			t.Fatalf("Validate not idempotent:\n%+v\n%+v", again, c)
		}
		b, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		back, err := LoadConfig(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("round trip: %v\n%s", err, b)
		}
		if !reflect.DeepEqual(back, c) {
			t.Fatalf("round trip changed the config:\n%+v\n%+v", back, c)
		}
		set, err := records.New(c.RecordsConfig())
		if err != nil {
			t.Fatalf("records.New: %v", err)
		}
		if _, err := New(c, set, Options{NameserverIPs: []netip.Addr{}}); err != nil {
			t.Fatalf("New: %v", err)
		}
	})
}

// ResolvConfResolvers keeps every nameserver but this server itself: the listener's IP, or
// with a wildcard listener any loopback or interface address, and only when the server is on
// port 53, the port resolv.conf nameservers are asked on.
func TestResolvConfResolvers(t *testing.T) {
	old := interfaceAddrs
	t.Cleanup(func() { interfaceAddrs = old })
	interfaceAddrs = func() ([]net.Addr, error) {
		return []net.Addr{
			&net.IPNet{IP: net.ParseIP("127.0.0.1"), Mask: net.CIDRMask(8, 32)},
			&net.IPNet{IP: net.ParseIP("10.0.0.5"), Mask: net.CIDRMask(24, 32)},
			&net.IPNet{IP: net.ParseIP("2001:db8::5"), Mask: net.CIDRMask(64, 128)},
		}, nil
	}
	conf := filepath.Join(t.TempDir(), "resolv.conf")
	const doc = `# generated
search example.com
options edns0
nameserver 127.0.0.53
nameserver 10.0.0.5
nameserver   192.0.2.1   # upstream
nameserver 2001:db8::5
nameserver ::1
nameserver fe80::1%eth0
nameserver not-an-ip
nameserver 192.0.2.1
nameserver ::ffff:198.51.100.7
`
	if err := os.WriteFile(conf, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	all := []string{"127.0.0.53:53", "10.0.0.5:53", "192.0.2.1:53", "[2001:db8::5]:53", "[::1]:53", "198.51.100.7:53"}
	without := func(skip ...string) []string {
		return slices.DeleteFunc(slices.Clone(all), func(s string) bool { return slices.Contains(skip, s) })
	}
	for _, tc := range []struct {
		name, listener string
		port           int
		use, self      []string
	}{
		{"wildcard on 53: loopback and local addresses are this server", "0.0.0.0", 53,
			[]string{"192.0.2.1:53", "198.51.100.7:53"}, []string{"127.0.0.53:53", "10.0.0.5:53", "[2001:db8::5]:53", "[::1]:53"}},
		{"IPv6 wildcard on 53", "::", 53,
			[]string{"192.0.2.1:53", "198.51.100.7:53"}, []string{"127.0.0.53:53", "10.0.0.5:53", "[2001:db8::5]:53", "[::1]:53"}},
		{"wildcard on 8053: nothing is this server (systemd-resolved stays)", "0.0.0.0", 8053, all, nil},
		{"specific IP on 53: only that IP", "10.0.0.5", 53, without("10.0.0.5:53"), []string{"10.0.0.5:53"}},
		{"specific loopback on 53: only that IP", "127.0.0.53", 53, without("127.0.0.53:53"), []string{"127.0.0.53:53"}},
		{"specific IPv6 on 53", "2001:db8::5", 53, without("[2001:db8::5]:53"), []string{"[2001:db8::5]:53"}},
		{"specific IP on 8053", "10.0.0.5", 8053, all, nil},
		{"another IP on 53", "10.0.0.9", 53, all, nil},
	} {
		use, self, err := ResolvConfResolvers(conf, tc.listener, tc.port)
		if err != nil || !slices.Equal(use, tc.use) || !slices.Equal(self, tc.self) {
			t.Errorf("%s: use %v self %v err %v; want use %v self %v", tc.name, use, self, err, tc.use, tc.self)
		}
	}
	if _, _, err := ResolvConfResolvers(filepath.Join(t.TempDir(), "missing"), "0.0.0.0", 53); err == nil {
		t.Error("a missing resolv.conf: no error")
	}
}

// WithSystemResolvers fills empty Resolvers from resolv.conf (not this server), and warns when
// that leaves none: forwarding is then off.
func TestWithSystemResolvers(t *testing.T) {
	dir := t.TempDir()
	write := func(name, doc string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	resolved := write("resolved", "nameserver 127.0.0.53\n")
	mixed := write("mixed", "nameserver 127.0.0.1\nnameserver 192.0.2.1\n")
	empty := write("empty", "search example.com\n")
	cfg := func(listener string, port int, resolvers []string, external bool) Config {
		c := DefaultConfig()
		c.Listener, c.Port, c.Resolvers, c.ExternalOn = listener, port, resolvers, external
		return c
	}
	for _, tc := range []struct {
		name    string
		c       Config
		path    string
		want    []string
		warning string
	}{
		{"dev on 8053 keeps systemd-resolved", cfg("127.0.0.1", 8053, nil, true), resolved, []string{"127.0.0.53:53"}, ""},
		{"an empty list falls back too", cfg("0.0.0.0", 8053, []string{}, true), resolved, []string{"127.0.0.53:53"}, ""},
		{"wildcard on 53 skips loopback", cfg("0.0.0.0", 53, nil, true), mixed, []string{"192.0.2.1:53"}, ""},
		{"only this server: off, warned", cfg("0.0.0.0", 53, nil, true), resolved, nil, "127.0.0.53:53"},
		{"no nameserver: off, warned", cfg("0.0.0.0", 53, nil, true), empty, nil, "names no nameserver"},
		{"unreadable: off, warned", cfg("0.0.0.0", 53, nil, true), filepath.Join(dir, "missing"), nil, "cannot be read"},
		{"configured resolvers stay", cfg("0.0.0.0", 53, []string{"9.9.9.9:53"}, true), mixed, []string{"9.9.9.9:53"}, ""},
		{"externalon=false: nothing read", cfg("0.0.0.0", 53, nil, false), filepath.Join(dir, "missing"), nil, ""},
	} {
		got, warning := tc.c.WithSystemResolvers(tc.path)
		if !slices.Equal(got.Resolvers, tc.want) {
			t.Errorf("%s: resolvers %v, want %v", tc.name, got.Resolvers, tc.want)
		}
		if (warning == "") != (tc.warning == "") || !strings.Contains(warning, tc.warning) {
			t.Errorf("%s: warning %q, want one with %q", tc.name, warning, tc.warning)
		}
		if tc.warning != "" && !strings.Contains(warning, "REFUSED") {
			t.Errorf("%s: warning %q does not say names are REFUSED", tc.name, warning)
		}
		if _, err := got.Validate(); err != nil {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}
