package cli

import (
	"fmt"
	"log/slog"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"strata/dns"
	"strata/dns/server"
	"strata/kernel/election"
)

// dnsFlags are the flags of `strata dns`: one per setting of mesos-dns' config.json, which
// override the file's settings when given, or are the whole config (with their defaults,
// server.DefaultConfig's) without a file.
type dnsFlags struct {
	configFile      string
	mesosSecretFile string
	// vals holds the flag values: each flag is bound to its setting's field.
	vals server.Config
	// settings are the flags that mirror a setting, with how to copy it.
	settings []dnsSetting
}

// dnsSetting is a flag mirroring one config setting.
type dnsSetting struct {
	name string // without the register prefix
	copy func(dst, src *server.Config)
}

// mesosSecretEnv carries mesosCredentials.secret without a config file or a secret file (a
// flag value would show in ps).
const mesosSecretEnv = "STRATA_DNS_MESOS_SECRET"

// dnsBinder registers the setting flags of one FlagSet.
type dnsBinder struct {
	f      *dnsFlags
	fs     *pflag.FlagSet
	prefix string
}

// bindSetting registers the flag prefix+name for the setting field points at, defined by
// define (a FlagSet's XxxVar method or listVar/zonesVar), its default the setting's value in
// f.vals.
func bindSetting[T any](b dnsBinder, define func(p *T, name string, value T, usage string), name string,
	field func(*server.Config) *T, usage string) {
	p := field(&b.f.vals)
	define(p, b.prefix+name, *p, usage)
	b.f.settings = append(b.f.settings, dnsSetting{name, func(dst, src *server.Config) { *field(dst) = *field(src) }})
}

// dnsCfg shortens the field accessors of register's table.
type dnsCfg = server.Config

func (f *dnsFlags) register(fs *pflag.FlagSet, prefix string) {
	f.vals, f.settings = server.DefaultConfig(), nil
	fs.StringVar(&f.configFile, prefix+"config", "", "a mesos-dns config.json; flags given as well override its settings")
	b, list, zones := dnsBinder{f, fs, prefix}, listVar(fs), zonesVar(fs)
	bindSetting(b, list, "masters", func(c *dnsCfg) *[]string { return &c.Masters }, "masters (host:port, comma-separated) whose event stream feeds the records (config: masters)")
	bindSetting(b, fs.StringVar, "zk", func(c *dnsCfg) *string { return &c.Zk }, "zk://host1:2181,host2:2181/mesos: follow the leading master through ZooKeeper; wins over --masters for finding the leader (config: zk)")
	bindSetting(b, fs.IntVar, "zk-detection-timeout", func(c *dnsCfg) *int { return &c.ZkDetectionTimeout }, "seconds without a leader from ZooKeeper before an error is logged; 0: never (config: zkDetectionTimeout)")
	bindSetting(b, fs.IntVar, "refresh-seconds", func(c *dnsCfg) *int { return &c.RefreshSeconds }, "seconds between renewals of the master subscription, each replacing the records with a fresh snapshot (records are pushed between) (config: refreshSeconds)")
	bindSetting(b, fs.IntVar, "state-timeout-seconds", func(c *dnsCfg) *int { return &c.StateTimeoutSeconds }, "seconds a master may take to answer a SUBSCRIBE with its snapshot before the next master is tried (config: stateTimeoutSeconds; mesos-dns' default is 300)")
	bindSetting(b, fs.StringVar, "domain", func(c *dnsCfg) *string { return &c.Domain }, "the domain answered authoritatively (config: domain)")
	bindSetting(b, fs.StringVar, "listener", func(c *dnsCfg) *string { return &c.Listener }, "address the DNS server listens on (config: listener)")
	bindSetting(b, fs.IntVar, "port", func(c *dnsCfg) *int { return &c.Port }, "DNS port, UDP and TCP (config: port)")
	bindSetting(b, fs.BoolVar, "dnson", func(c *dnsCfg) *bool { return &c.DNSOn }, "serve DNS; --dnson=false serves only the HTTP API (config: dnson)")
	bindSetting(b, fs.StringVar, "http-listener", func(c *dnsCfg) *string { return &c.HTTPListener }, "address of the HTTP API (config: HTTPListener)")
	bindSetting(b, fs.IntVar, "http-port", func(c *dnsCfg) *int { return &c.HTTPPort }, "port of the HTTP API (config: httpport)")
	bindSetting(b, fs.BoolVar, "httpon", func(c *dnsCfg) *bool { return &c.HTTPOn }, "serve the HTTP API (config: httpon)")
	bindSetting(b, fs.BoolVar, "enumeration-on", func(c *dnsCfg) *bool { return &c.EnumerationOn }, "serve /v1/enumerate and /v1/axfr (config: EnumerationOn)")
	bindSetting(b, fs.Int32Var, "ttl", func(c *dnsCfg) *int32 { return &c.TTL }, "TTL of the answers, seconds (config: ttl; mesos-dns' default is 60)")
	bindSetting(b, list, "resolvers", func(c *dnsCfg) *[]string { return &c.Resolvers }, `upstream resolvers for other zones, ip or ip:port, comma-separated; "" (or none in the file): /etc/resolv.conf's, except this server itself (config: resolvers)`)
	bindSetting(b, zones, "zone-resolvers", func(c *dnsCfg) *map[string][]string { return &c.ZoneResolvers }, `resolvers of one zone, zone=ip[:port][,ip[:port]...]; repeat for more zones, "" for none (config: zoneResolvers)`)
	bindSetting(b, fs.IntVar, "timeout", func(c *dnsCfg) *int { return &c.Timeout }, "seconds to wait for an upstream resolver (config: timeout)")
	bindSetting(b, fs.BoolVar, "externalon", func(c *dnsCfg) *bool { return &c.ExternalOn }, "forward other zones to the resolvers; off answers REFUSED (config: externalon)")
	bindSetting(b, fs.BoolVar, "recurseon", func(c *dnsCfg) *bool { return &c.RecurseOn }, "set the RA bit in answers for the domain (config: recurseon)")
	bindSetting(b, fs.IntVar, "cache-size", func(c *dnsCfg) *int { return &c.CacheSize }, "entries of the forwarding cache; 0 turns it off (config: CacheSize, a Strata addition)")
	bindSetting(b, list, "ip-sources", func(c *dnsCfg) *[]string { return &c.IPSources }, "where a task's IP comes from, in order: netinfo, mesos, docker, host (config: IPSources)")
	bindSetting(b, fs.BoolVar, "enforce-rfc952", func(c *dnsCfg) *bool { return &c.EnforceRFC952 }, "24-character labels starting with a letter (config: enforceRFC952)")
	bindSetting(b, fs.BoolVar, "set-truncate-bit", func(c *dnsCfg) *bool { return &c.SetTruncateBit }, "set TC on truncated UDP answers (config: SetTruncateBit)")
	bindSetting(b, fs.Uint16Var, "srv-record-default-weight", func(c *dnsCfg) *uint16 { return &c.SRVRecordDefaultWeight }, "weight of every SRV record (config: srvRecordDefaultWeight)")
	bindSetting(b, fs.StringVar, "soa-mname", func(c *dnsCfg) *string { return &c.SOAMname }, "the SOA's primary name server (config: SOAMname)")
	bindSetting(b, fs.StringVar, "soa-rname", func(c *dnsCfg) *string { return &c.SOARname }, "the SOA's responsible mailbox (config: SOARname)")
	bindSetting(b, fs.Uint32Var, "soa-refresh", func(c *dnsCfg) *uint32 { return &c.SOARefresh }, "the SOA's refresh, seconds (config: SOARefresh)")
	bindSetting(b, fs.Uint32Var, "soa-retry", func(c *dnsCfg) *uint32 { return &c.SOARetry }, "the SOA's retry, seconds (config: SOARetry)")
	bindSetting(b, fs.Uint32Var, "soa-expire", func(c *dnsCfg) *uint32 { return &c.SOAExpire }, "the SOA's expire, seconds (config: SOAExpire)")
	bindSetting(b, fs.Uint32Var, "soa-minttl", func(c *dnsCfg) *uint32 { return &c.SOAMinttl }, "the SOA's minimum TTL, seconds (config: SOAMinttl)")
	bindSetting(b, fs.BoolVar, "soa-in-authority", func(c *dnsCfg) *bool { return &c.SOAInAuthority }, "answer SOA and NS in the authority section, as mesos-dns (config: SOAInAuthority, a Strata addition)")
	bindSetting(b, fs.BoolVar, "mesos-https-on", func(c *dnsCfg) *bool { return &c.MesosHTTPSOn }, "talk to the masters over HTTPS (config: MesosHTTPSOn)")
	bindSetting(b, fs.StringVar, "ca-cert-file", func(c *dnsCfg) *string { return &c.CACertFile }, "CA certificate of the masters' HTTPS (config: CACertFile)")
	bindSetting(b, fs.StringVar, "cert-file", func(c *dnsCfg) *string { return &c.CertFile }, "client certificate for the masters (config: CertFile)")
	bindSetting(b, fs.StringVar, "key-file", func(c *dnsCfg) *string { return &c.KeyFile }, "key of --cert-file (config: KeyFile)")
	bindSetting(b, fs.StringVar, "mesos-authentication", func(c *dnsCfg) *string { return &c.MesosAuthentication }, `authentication to the masters: "", basic or iam (config: mesosAuthentication)`)
	bindSetting(b, fs.StringVar, "mesos-principal", func(c *dnsCfg) *string { return &c.MesosCredentials.Principal }, "principal of basic authentication (config: mesosCredentials.principal)")
	bindSetting(b, fs.StringVar, "iam-config-file", func(c *dnsCfg) *string { return &c.IAMConfigFile }, "IAM config of iam authentication (config: IAMConfigFile)")
	fs.StringVar(&f.mesosSecretFile, prefix+"mesos-secret-file", "",
		"file holding the secret of basic authentication, a trailing newline dropped (config: mesosCredentials.secret); else $"+mesosSecretEnv+" if set")
}

// config reads the config file (if any), applies the flags that were given over it (all of
// them without a file, so that defaults come from the flags) and validates the result.
// mesosCredentials.secret comes from --mesos-secret-file, else $STRATA_DNS_MESOS_SECRET, else
// the file.
func (f *dnsFlags) config(fs *pflag.FlagSet, prefix string) (server.Config, error) {
	cfg := server.DefaultConfig()
	fromFile := f.configFile != ""
	if fromFile {
		file, err := os.Open(f.configFile)
		if err != nil {
			return cfg, fmt.Errorf("dns config: %w", err)
		}
		defer file.Close()
		if cfg, err = server.LoadConfig(file); err != nil {
			return cfg, err
		}
		cfg.File = f.configFile
	}
	for _, s := range f.settings {
		if !fromFile || fs.Changed(prefix+s.name) {
			s.copy(&cfg, &f.vals)
		}
	}
	if f.mesosSecretFile != "" {
		b, err := os.ReadFile(f.mesosSecretFile)
		if err != nil {
			return cfg, fmt.Errorf("dns: --%smesos-secret-file: %w", prefix, err)
		}
		cfg.MesosCredentials.Secret = strings.TrimRight(string(b), "\r\n")
	} else if s := os.Getenv(mesosSecretEnv); s != "" {
		cfg.MesosCredentials.Secret = s
	}
	return cfg.Validate()
}

// listVar defines a flag of comma-separated values, trimmed, empty ones dropped; repeating
// it appends. An explicit "" gives an empty list.
func listVar(fs *pflag.FlagSet) func(p *[]string, name string, value []string, usage string) {
	return func(p *[]string, name string, value []string, usage string) {
		*p = value
		fs.Var(&listValue{p: p}, name, usage)
	}
}

type listValue struct {
	p   *[]string
	set bool
}

func (v *listValue) Set(s string) error {
	items := splitMasters(s)
	if items == nil {
		items = []string{}
	}
	if v.set {
		items = append(*v.p, items...)
	}
	*v.p, v.set = items, true
	return nil
}

func (v *listValue) String() string { return strings.Join(*v.p, ",") }
func (v *listValue) Type() string   { return "strings" }

// zonesVar defines a repeatable flag zone=ip[:port][,ip[:port]...] filling a zone map. An
// explicit "" gives an empty map.
func zonesVar(fs *pflag.FlagSet) func(p *map[string][]string, name string, value map[string][]string, usage string) {
	return func(p *map[string][]string, name string, value map[string][]string, usage string) {
		*p = value
		fs.Var(&zonesValue{p: p}, name, usage)
	}
}

type zonesValue struct {
	p   *map[string][]string
	set bool
}

func (v *zonesValue) Set(s string) error {
	if !v.set {
		*v.p, v.set = map[string][]string{}, true
	}
	if s = strings.TrimSpace(s); s == "" {
		return nil
	}
	zone, list, ok := strings.Cut(s, "=")
	zone = strings.TrimSpace(zone)
	if !ok || zone == "" || len(splitMasters(list)) == 0 {
		return fmt.Errorf("want zone=ip[:port][,ip[:port]...]")
	}
	if _, dup := (*v.p)[zone]; dup {
		return fmt.Errorf("zone %q given twice", zone)
	}
	(*v.p)[zone] = splitMasters(list)
	return nil
}

func (v *zonesValue) String() string {
	var out []string
	for _, z := range slices.Sorted(maps.Keys(*v.p)) {
		out = append(out, z+"="+strings.Join((*v.p)[z], ","))
	}
	return strings.Join(out, " ")
}

func (v *zonesValue) Type() string { return "zone=ips" }

// leaderSource says where `strata dns` finds the leading master, for its start-up line. The zk
// URL is shown without its credentials.
func leaderSource(cfg server.Config) string {
	masters := "masters " + strings.Join(cfg.Masters, ",")
	if cfg.Zk == "" {
		return masters
	}
	zk := cfg.Zk
	if u, err := election.ParseURL(cfg.Zk); err == nil {
		zk = u.String()
	}
	if len(cfg.Masters) == 0 {
		return "leader from " + zk
	}
	return "leader from " + zk + ", " + masters
}

func newDNSCommand() *cobra.Command {
	f := &dnsFlags{}
	cmd := &cobra.Command{
		Use:   "dns",
		Short: "Run the DNS server: mesos-dns names for every task, pushed by the master, never stale",
		Long: `Run Strata's service discovery: a DNS server answering the names mesos-dns produces
(web.marathon.mesos, _web._tcp.marathon.mesos, leader.mesos, ...) and mesos-dns' HTTP API
(/v1/version, /v1/config, /v1/hosts/{host}, /v1/services/{service}, /v1/enumerate, /v1/axfr).

Records come from the master's operator event stream (SUBSCRIBE), not from polling: a task
resolves within milliseconds of TASK_RUNNING and stops resolving as fast after it ends. Until the
first state arrives the domain answers SERVFAIL; while the master is unreachable the last records
are kept. Every --refresh-seconds (config: refreshSeconds, default 60) the subscription is
renewed and the records replaced by the fresh snapshot: a safety net, not the way records
arrive. Masters are reached over HTTPS with --mesos-https-on (and --ca-cert-file, --cert-file,
--key-file), with basic authentication with --mesos-authentication basic. Schedulers and agents
named by a host name rather than an IP get their records once that name resolves, as in
mesos-dns. Other zones are forwarded to --zone-resolvers and --resolvers (or refused with
--externalon=false). As in mesos-dns, empty resolvers fall back to /etc/resolv.conf's
nameservers, leaving out this server itself (its listener's address, or any local address
when listening on 0.0.0.0 or ::, if --port is 53); if none is left, forwarding is off.

With --zk (config: zk) the server follows the leading master through ZooKeeper, as mesos-dns
does: it subscribes to whichever master ZooKeeper names, and when the leader changes it drops
the stream, points leader.<domain> and _leader._tcp at the new leader and reloads everything
from the new leader's snapshot, keeping the last records meanwhile. --masters may be given as
well: ZooKeeper still decides the leader, the masters are a fallback and number the masterN
names. If no leader is detected within zkDetectionTimeout seconds (config, default 30) an error
is logged; unlike mesos-dns, which exits, the server keeps waiting.

An existing mesos-dns config.json carries over: strata dns --config config.json. Every
setting has a flag as well (its help names the config key), which overrides the file's when
given. mesosCredentials' secret is read from --mesos-secret-file or $STRATA_DNS_MESOS_SECRET,
never from a flag value.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := f.config(cmd.Flags(), "")
			if err != nil {
				return err
			}
			svc, err := dns.New(cfg, slog.Default())
			if err != nil {
				return err
			}
			return serveUntilSignal(cmd.ErrOrStderr(), svc.Ready(), func() string {
				return fmt.Sprintf("strata dns serving %s on %s (UDP and TCP), HTTP API on %s, %s",
					cfg.Domain, svc.DNSAddr(), svc.HTTPAddr(), leaderSource(cfg))
			}, svc.Run)
		},
	}
	f.register(cmd.Flags(), "")
	return cmd
}
