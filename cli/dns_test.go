package cli

import (
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"strata/dns/server"
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

// dnsFileDoc sets every setting to neither the default nor what dnsFlagCases give, so that a
// flag that is not given and yet overrides the file shows.
const dnsFileDoc = `{
	"refreshSeconds": 20, "stateTimeoutSeconds": 30, "zkDetectionTimeout": 40,
	"zk": "zk://10.0.0.1:2181/mesos", "masters": ["10.0.0.1:5050"], "ttl": 30, "domain": "corp",
	"port": 5353, "resolvers": ["9.9.9.9"], "zoneResolvers": {"weave": ["172.17.0.1"]}, "timeout": 3,
	"listener": "10.0.0.2", "HTTPListener": "10.0.0.3", "httpport": 9123, "externalon": false,
	"recurseon": false, "SOAMname": "ns.corp", "SOARname": "admin.corp", "SOARefresh": 61,
	"SOARetry": 601, "SOAExpire": 86401, "SOAMinttl": 61, "srvRecordDefaultWeight": 2,
	"IPSources": ["netinfo"], "enforceRFC952": true, "SetTruncateBit": false, "EnumerationOn": false,
	"MesosHTTPSOn": true, "CACertFile": "/f/ca", "CertFile": "/f/cert", "KeyFile": "/f/key",
	"mesosAuthentication": "basic", "mesosCredentials": {"principal": "fp", "secret": "fs"},
	"IAMConfigFile": "/f/iam", "SOAInAuthority": true, "CacheSize": 50
}`

// dnsFlagCases: the flags, each with what it does to the config. Booleans are given both
// ways, so that each differs from the default once and from dnsFileDoc once.
var dnsFlagCases = []struct {
	args []string
	set  func(c *server.Config)
}{
	{[]string{"--masters", "m1:5050, m2:5050", "--masters", "m3:5050"}, func(c *server.Config) { c.Masters = []string{"m1:5050", "m2:5050", "m3:5050"} }},
	{[]string{"--zk", "zk://z1:2181/mesos"}, func(c *server.Config) { c.Zk = "zk://z1:2181/mesos" }},
	{[]string{"--zk-detection-timeout", "0"}, func(c *server.Config) { c.ZkDetectionTimeout = 0 }},
	{[]string{"--refresh-seconds", "7"}, func(c *server.Config) { c.RefreshSeconds = 7 }},
	{[]string{"--state-timeout-seconds", "8"}, func(c *server.Config) { c.StateTimeoutSeconds = 8 }},
	{[]string{"--domain", "Lab."}, func(c *server.Config) { c.Domain = "lab" }},
	{[]string{"--listener", "127.0.0.1"}, func(c *server.Config) { c.Listener = "127.0.0.1" }},
	{[]string{"--port", "8053"}, func(c *server.Config) { c.Port = 8053 }},
	{[]string{"--dnson=false"}, func(c *server.Config) { c.DNSOn = false }},
	{[]string{"--http-listener", "127.0.0.2"}, func(c *server.Config) { c.HTTPListener = "127.0.0.2" }},
	{[]string{"--http-port", "8124"}, func(c *server.Config) { c.HTTPPort = 8124 }},
	{[]string{"--httpon=false"}, func(c *server.Config) { c.HTTPOn = false }},
	{[]string{"--enumeration-on=false"}, func(c *server.Config) { c.EnumerationOn = false }},
	{[]string{"--enumeration-on"}, func(c *server.Config) { c.EnumerationOn = true }},
	{[]string{"--ttl", "9"}, func(c *server.Config) { c.TTL = 9 }},
	{[]string{"--resolvers", "1.1.1.1,2.2.2.2:5353"}, func(c *server.Config) { c.Resolvers = []string{"1.1.1.1:53", "2.2.2.2:5353"} }},
	{[]string{"--resolvers", ""}, func(c *server.Config) { c.Resolvers = []string{} }},
	{[]string{"--zone-resolvers", "lab.internal=10.1.1.1,10.1.1.2:5353", "--zone-resolvers", "consul=10.2.2.2"},
		func(c *server.Config) {
			c.ZoneResolvers = map[string][]string{"lab.internal": {"10.1.1.1:53", "10.1.1.2:5353"}, "consul": {"10.2.2.2:53"}}
		}},
	{[]string{"--zone-resolvers", ""}, func(c *server.Config) { c.ZoneResolvers = map[string][]string{} }},
	{[]string{"--timeout", "2"}, func(c *server.Config) { c.Timeout = 2 }},
	{[]string{"--externalon=false"}, func(c *server.Config) { c.ExternalOn = false }},
	{[]string{"--externalon"}, func(c *server.Config) { c.ExternalOn = true }},
	{[]string{"--recurseon=false"}, func(c *server.Config) { c.RecurseOn = false }},
	{[]string{"--recurseon"}, func(c *server.Config) { c.RecurseOn = true }},
	{[]string{"--cache-size", "0"}, func(c *server.Config) { c.CacheSize = 0 }},
	{[]string{"--ip-sources", "mesos,host"}, func(c *server.Config) { c.IPSources = []string{"mesos", "host"} }},
	{[]string{"--enforce-rfc952"}, func(c *server.Config) { c.EnforceRFC952 = true }},
	{[]string{"--enforce-rfc952=false"}, func(c *server.Config) { c.EnforceRFC952 = false }},
	{[]string{"--set-truncate-bit=false"}, func(c *server.Config) { c.SetTruncateBit = false }},
	{[]string{"--set-truncate-bit"}, func(c *server.Config) { c.SetTruncateBit = true }},
	{[]string{"--srv-record-default-weight", "3"}, func(c *server.Config) { c.SRVRecordDefaultWeight = 3 }},
	{[]string{"--soa-mname", "ns9.example"}, func(c *server.Config) { c.SOAMname = "ns9.example." }},
	{[]string{"--soa-rname", "hostmaster@example"}, func(c *server.Config) { c.SOARname = "hostmaster.example." }},
	{[]string{"--soa-refresh", "11"}, func(c *server.Config) { c.SOARefresh = 11 }},
	{[]string{"--soa-retry", "12"}, func(c *server.Config) { c.SOARetry = 12 }},
	{[]string{"--soa-expire", "13"}, func(c *server.Config) { c.SOAExpire = 13 }},
	{[]string{"--soa-minttl", "14"}, func(c *server.Config) { c.SOAMinttl = 14 }},
	{[]string{"--soa-in-authority"}, func(c *server.Config) { c.SOAInAuthority = true }},
	{[]string{"--soa-in-authority=false"}, func(c *server.Config) { c.SOAInAuthority = false }},
	{[]string{"--mesos-https-on"}, func(c *server.Config) { c.MesosHTTPSOn = true }},
	{[]string{"--mesos-https-on=false"}, func(c *server.Config) { c.MesosHTTPSOn = false }},
	{[]string{"--ca-cert-file", "/ca.pem"}, func(c *server.Config) { c.CACertFile = "/ca.pem" }},
	{[]string{"--cert-file", "/cert.pem"}, func(c *server.Config) { c.CertFile = "/cert.pem" }},
	{[]string{"--key-file", "/key.pem"}, func(c *server.Config) { c.KeyFile = "/key.pem" }},
	{[]string{"--mesos-authentication", "iam"}, func(c *server.Config) { c.MesosAuthentication = "iam" }},
	{[]string{"--mesos-principal", "strata"}, func(c *server.Config) { c.MesosCredentials.Principal = "strata" }},
	{[]string{"--iam-config-file", "/iam.json"}, func(c *server.Config) { c.IAMConfigFile = "/iam.json" }},
}

func parseDNSFlags(t *testing.T, prefix string, args ...string) (*dnsFlags, *pflag.FlagSet) {
	t.Helper()
	f := &dnsFlags{}
	fs := pflag.NewFlagSet("dns", pflag.ContinueOnError)
	f.register(fs, prefix)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return f, fs
}

// Every flag sets its setting: without a file over the defaults, with one over the file's
// settings, leaving the file's other settings alone.
func TestDNSFlagsSetTheirSettings(t *testing.T) {
	t.Setenv(mesosSecretEnv, "")
	file := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(file, []byte(dnsFileDoc), 0o644); err != nil {
		t.Fatal(err)
	}
	fileCfg, err := server.LoadConfig(strings.NewReader(dnsFileDoc))
	if err != nil {
		t.Fatal(err)
	}
	fileCfg.File = file
	f, fs := parseDNSFlags(t, "", "--config", file)
	if got, err := f.config(fs, ""); err != nil || !reflect.DeepEqual(got, fileCfg) {
		t.Fatalf("the file alone: %v\n got %+v\nwant %+v", err, got, fileCfg)
	}
	for _, tc := range dnsFlagCases {
		for _, withFile := range []bool{false, true} {
			want, args := server.DefaultConfig(), tc.args
			if withFile {
				want, args = fileCfg, append([]string{"--config", file}, tc.args...)
			}
			tc.set(&want)
			want, err := want.Validate()
			if err != nil {
				t.Fatalf("%v: want: %v", args, err)
			}
			f, fs := parseDNSFlags(t, "", args...)
			got, err := f.config(fs, "")
			if err != nil {
				t.Errorf("%v: %v", args, err)
				continue
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%v:\n got %+v\nwant %+v", args, got, want)
			}
		}
	}
	// The prefix strata dev would give: the flags are named and read with it.
	f, fs = parseDNSFlags(t, "dns-", "--dns-config", file, "--dns-soa-retry", "12", "--dns-zone-resolvers", "lab=10.2.2.2")
	got, err := f.config(fs, "dns-")
	if err != nil || got.SOARetry != 12 || len(got.ZoneResolvers) != 1 || got.Port != 5353 {
		t.Errorf("with a prefix: %v, %+v", err, got)
	}
}

// Every setting of the config has a flag (SOASerial and File are not settings), each is in
// dnsFlagCases, and its help names the config key.
func TestDNSFlagsMirrorEveryConfigSetting(t *testing.T) {
	f, fs := parseDNSFlags(t, "")
	full := reflect.ValueOf(&server.Config{}).Elem()
	for i := range full.NumField() {
		fillNonZero(full.Field(i))
	}
	src := full.Interface().(server.Config)
	covered := map[string]bool{"SOASerial": true, "File": true}
	tested := map[string]bool{}
	for _, tc := range dnsFlagCases {
		for _, a := range tc.args {
			if name, ok := strings.CutPrefix(a, "--"); ok {
				name, _, _ = strings.Cut(name, "=")
				tested[name] = true
			}
		}
	}
	for _, s := range f.settings {
		var dst server.Config
		s.copy(&dst, &src)
		v := reflect.ValueOf(dst)
		n := 0
		for i := range v.NumField() {
			if !v.Field(i).IsZero() {
				covered[v.Type().Field(i).Name] = true
				n++
			}
		}
		if n != 1 {
			t.Errorf("--%s sets %d settings, want 1", s.name, n)
		}
		if !tested[s.name] {
			t.Errorf("--%s is not in dnsFlagCases", s.name)
		}
		if fl := fs.Lookup(s.name); fl == nil || !strings.Contains(fl.Usage, "(config: ") {
			t.Errorf("--%s: the help does not name its config key", s.name)
		}
	}
	for i := range full.NumField() {
		if name := full.Type().Field(i).Name; !covered[name] {
			t.Errorf("config setting %s has no flag", name)
		}
	}
}

// fillNonZero makes v (strings, numbers, bools, slices, maps, structs) non-zero.
func fillNonZero(v reflect.Value) {
	switch v.Kind() {
	case reflect.String:
		v.SetString("x")
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int32:
		v.SetInt(1)
	case reflect.Uint16, reflect.Uint32:
		v.SetUint(1)
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
	case reflect.Map:
		v.Set(reflect.MakeMap(v.Type()))
	case reflect.Struct:
		for i := range v.NumField() {
			fillNonZero(v.Field(i))
		}
	default:
		panic("fillNonZero: " + v.Kind().String())
	}
}

// The basic-auth secret comes from --mesos-secret-file, else $STRATA_DNS_MESOS_SECRET, else the
// config file; there is no flag taking the secret itself.
func TestDNSMesosSecret(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "config.json")
	if err := os.WriteFile(file, []byte(`{"mesosAuthentication":"basic","mesosCredentials":{"principal":"fp","secret":"from-config"}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	secret := filepath.Join(dir, "secret")
	if err := os.WriteFile(secret, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		env  string
		args []string
		want string
	}{
		{"", []string{"--config", file}, "from-config"},
		{"from-env", []string{"--config", file}, "from-env"},
		{"from-env", []string{"--config", file, "--mesos-secret-file", secret}, "from-file"},
		{"", []string{"--mesos-secret-file", secret, "--mesos-principal", "p"}, "from-file"},
		{"from-env", nil, "from-env"},
		{"", nil, ""},
	} {
		t.Setenv(mesosSecretEnv, tc.env)
		f, fs := parseDNSFlags(t, "", tc.args...)
		cfg, err := f.config(fs, "")
		if err != nil || cfg.MesosCredentials.Secret != tc.want {
			t.Errorf("env %q %v: secret %q, %v; want %q", tc.env, tc.args, cfg.MesosCredentials.Secret, err, tc.want)
		}
	}
	f, fs := parseDNSFlags(t, "", "--mesos-secret-file", filepath.Join(dir, "missing"))
	if _, err := f.config(fs, ""); err == nil || !strings.Contains(err.Error(), "mesos-secret-file") {
		t.Errorf("a missing secret file: %v", err)
	}
	for _, name := range []string{"mesos-secret", "secret", "mesos-credentials"} {
		if fs.Lookup(name) != nil {
			t.Errorf("--%s takes the secret on the command line", name)
		}
	}
}

// --zone-resolvers rejects what is not zone=ips, and a zone given twice.
func TestDNSZoneResolversFlag(t *testing.T) {
	for _, args := range [][]string{
		{"--zone-resolvers", "corp"},
		{"--zone-resolvers", "=10.0.0.1"},
		{"--zone-resolvers", "corp="},
		{"--zone-resolvers", "corp=10.0.0.1", "--zone-resolvers", "corp=10.0.0.2"},
	} {
		fs := pflag.NewFlagSet("dns", pflag.ContinueOnError)
		fs.SetOutput(io.Discard)
		(&dnsFlags{}).register(fs, "")
		if err := fs.Parse(args); err == nil {
			t.Errorf("%v: accepted", args)
		}
	}
}

// An empty --resolvers, like an empty resolvers list in the file, falls back to resolv.conf's
// nameservers, without this server itself: strata dev on 8053 keeps systemd-resolved's stub.
func TestDNSEmptyResolversFallBack(t *testing.T) {
	t.Setenv(mesosSecretEnv, "")
	dir := t.TempDir()
	conf := filepath.Join(dir, "resolv.conf")
	if err := os.WriteFile(conf, []byte("nameserver 127.0.0.53\nnameserver 192.0.2.1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "config.json")
	if err := os.WriteFile(file, []byte(`{"resolvers": []}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"--resolvers", "", "--port", "8053"}, []string{"127.0.0.53:53", "192.0.2.1:53"}},
		{[]string{"--resolvers", ""}, []string{"192.0.2.1:53"}},
		{[]string{"--config", file}, []string{"192.0.2.1:53"}},
		{[]string{"--config", file, "--listener", "127.0.0.1", "--port", "53"}, []string{"127.0.0.53:53", "192.0.2.1:53"}},
		{nil, []string{"8.8.8.8:53"}},
		{[]string{"--resolvers", "", "--externalon=false"}, []string{}},
	} {
		f, fs := parseDNSFlags(t, "", tc.args...)
		cfg, err := f.config(fs, "")
		if err != nil {
			t.Fatalf("%v: %v", tc.args, err)
		}
		cfg, _ = cfg.WithSystemResolvers(conf)
		if !slices.Equal(cfg.Resolvers, tc.want) {
			t.Errorf("%v: resolvers %v, want %v", tc.args, cfg.Resolvers, tc.want)
		}
	}
}
