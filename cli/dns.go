package cli

import (
	"bufio"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"strata/dns"
	"strata/dns/server"
	"strata/kernel/election"
)

// dnsFlags are the flags of `strata dns`: mesos-dns' config.json settings, which override the
// file's when given.
type dnsFlags struct {
	configFile                         string
	masters, zk, domain, listener      string
	httpListener, resolvers, ipSources string
	soaMname, soaRname                 string
	port, httpPort, timeout            int
	ttl                                int32
	externalOn, httpOn, enforceRFC952  bool
}

func (f *dnsFlags) register(fs *pflag.FlagSet, prefix string) {
	d := server.DefaultConfig()
	fs.StringVar(&f.configFile, prefix+"config", "", "a mesos-dns config.json; flags given as well override its settings")
	fs.StringVar(&f.masters, prefix+"masters", "", "masters (host:port, comma-separated) whose event stream feeds the records (config: masters)")
	fs.StringVar(&f.zk, prefix+"zk", "", "zk://host1:2181,host2:2181/mesos: follow the leading master through ZooKeeper; wins over --masters for finding the leader (config: zk)")
	fs.StringVar(&f.domain, prefix+"domain", d.Domain, "the domain answered authoritatively (config: domain)")
	fs.StringVar(&f.listener, prefix+"listener", d.Listener, "address the DNS server listens on (config: listener)")
	fs.IntVar(&f.port, prefix+"port", d.Port, "DNS port, UDP and TCP (config: port)")
	fs.StringVar(&f.httpListener, prefix+"http-listener", d.HTTPListener, "address of the HTTP API")
	fs.IntVar(&f.httpPort, prefix+"http-port", d.HTTPPort, "port of the HTTP API (config: httpport)")
	fs.BoolVar(&f.httpOn, prefix+"httpon", d.HTTPOn, "serve the HTTP API (config: httpon)")
	fs.Int32Var(&f.ttl, prefix+"ttl", d.TTL, "TTL of the answers, seconds (config: ttl; mesos-dns' default is 60)")
	fs.StringVar(&f.resolvers, prefix+"resolvers", strings.Join(d.Resolvers, ","), "upstream resolvers for other zones, comma-separated (config: resolvers)")
	fs.IntVar(&f.timeout, prefix+"timeout", d.Timeout, "seconds to wait for an upstream resolver (config: timeout)")
	fs.BoolVar(&f.externalOn, prefix+"externalon", d.ExternalOn, "forward other zones to the resolvers; off answers REFUSED (config: externalon)")
	fs.StringVar(&f.ipSources, prefix+"ip-sources", strings.Join(d.IPSources, ","), "where a task's IP comes from, in order (config: IPSources)")
	fs.BoolVar(&f.enforceRFC952, prefix+"enforce-rfc952", d.EnforceRFC952, "24-character labels starting with a letter (config: enforceRFC952)")
	fs.StringVar(&f.soaMname, prefix+"soa-mname", d.SOAMname, "the SOA's primary name server (config: SOAMname)")
	fs.StringVar(&f.soaRname, prefix+"soa-rname", d.SOARname, "the SOA's responsible mailbox (config: SOARname)")
}

// config reads the config file (if any) and applies the flags that were given (all of them
// without a file, so that defaults come from the flags).
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
	}
	set := func(name string) bool { return !fromFile || fs.Changed(prefix+name) }
	if set("masters") && f.masters != "" {
		cfg.Masters = splitMasters(f.masters)
	}
	if set("zk") && f.zk != "" {
		cfg.Zk = f.zk
	}
	if set("domain") {
		cfg.Domain = f.domain
	}
	if set("listener") {
		cfg.Listener = f.listener
	}
	if set("port") {
		cfg.Port = f.port
	}
	if set("http-listener") {
		cfg.HTTPListener = f.httpListener
	}
	if set("http-port") {
		cfg.HTTPPort = f.httpPort
	}
	if set("httpon") {
		cfg.HTTPOn = f.httpOn
	}
	if set("ttl") {
		cfg.TTL = f.ttl
	}
	if set("resolvers") {
		cfg.Resolvers = splitMasters(f.resolvers)
	}
	if set("timeout") {
		cfg.Timeout = f.timeout
	}
	if set("externalon") {
		cfg.ExternalOn = f.externalOn
	}
	if set("ip-sources") {
		cfg.IPSources = splitMasters(f.ipSources)
	}
	if set("enforce-rfc952") {
		cfg.EnforceRFC952 = f.enforceRFC952
	}
	if set("soa-mname") {
		cfg.SOAMname = f.soaMname
	}
	if set("soa-rname") {
		cfg.SOARname = f.soaRname
	}
	return cfg, nil
}

// systemResolvers lists the name servers of /etc/resolv.conf that are not this machine's own
// (a DNS server forwarding to itself would loop).
func systemResolvers() []string {
	file, err := os.Open("/etc/resolv.conf")
	if err != nil {
		return nil
	}
	defer file.Close()
	var out []string
	sc := bufio.NewScanner(file)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "nameserver" {
			if ip := net.ParseIP(fields[1]); ip != nil && !ip.IsLoopback() {
				out = append(out, fields[1])
			}
		}
	}
	return out
}

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
are kept. Other zones are forwarded to --resolvers (or refused with --externalon=false).

With --zk (config: zk) the server follows the leading master through ZooKeeper, as mesos-dns
does: it subscribes to whichever master ZooKeeper names, and when the leader changes it drops
the stream, points leader.<domain> and _leader._tcp at the new leader and reloads everything
from the new leader's snapshot, keeping the last records meanwhile. --masters may be given as
well: ZooKeeper still decides the leader, the masters are a fallback and number the masterN
names. If no leader is detected within zkDetectionTimeout seconds (config, default 30) an error
is logged; unlike mesos-dns, which exits, the server keeps waiting.

An existing mesos-dns config.json carries over: strata dns --config config.json`,
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
