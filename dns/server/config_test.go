package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/netip"
	"os"
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
		!slices.Equal(c.IPSources, []string{"netinfo", "mesos", "host"}) || c.CacheSize != DefaultCacheSize {
		t.Errorf("defaults: %+v", c)
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
