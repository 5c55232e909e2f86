package server

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"strata/dns/records"
)

// Config is Mesos-DNS' config.json (reference/mesos-dns.md §7) plus a few Strata knobs. The
// JSON keys are Mesos-DNS' Go field names; like Mesos-DNS, LoadConfig matches them
// case-insensitively ("httpport", "HttpPort" and "httpPort" all work) and ignores unknown
// keys. GET /v1/config writes the struct back with these names.
type Config struct {
	// RefreshSeconds is Mesos-DNS' polling period (default 60). Strata's records are pushed
	// by the master's event stream; every RefreshSeconds the feed renews its subscription and
	// replaces the records with the fresh snapshot, a safety net that also re-resolves
	// scheduler host names. It is reported in /v1/axfr.
	RefreshSeconds int `json:"RefreshSeconds"`
	// Port is the DNS port, UDP and TCP (default 53).
	Port int `json:"Port"`
	// Timeout is the budget, in seconds, of one forwarded query over all its upstreams
	// (default 5).
	Timeout int `json:"Timeout"`
	// StateTimeoutSeconds bounds the wait for a master's snapshot after a SUBSCRIBE (Mesos-DNS:
	// the /master/state fetch, default 300; Strata's default is 10 s, since a master that
	// accepts the connection and never answers holds the feed that long before it tries the
	// next master).
	StateTimeoutSeconds int `json:"StateTimeoutSeconds"`
	// ZkDetectionTimeout is how long, in seconds, the feed waits for ZooKeeper to name a
	// leader before it logs an error (default 30; 0: no error). Mesos-DNS exits there; Strata
	// keeps waiting.
	ZkDetectionTimeout int `json:"ZkDetectionTimeout"`
	// HTTPPort is the HTTP API port (default 8123).
	HTTPPort int `json:"HttpPort"`
	// TTL of every record served from the Mesos domain. Mesos-DNS' default is 60; Strata's
	// is DefaultTTL (5 s) because its records are pushed, not polled.
	TTL int32 `json:"TTL"`
	// SOASerial is reported by /v1/config; the live serial is the Unix time of the last
	// change of the record set (see Server).
	SOASerial uint32 `json:"SOASerial"`
	// SOA timers of the Mesos domain (defaults 60, 600, 86400, 60).
	SOARefresh uint32 `json:"SOARefresh"`
	SOARetry   uint32 `json:"SOARetry"`
	SOAExpire  uint32 `json:"SOAExpire"`
	SOAMinttl  uint32 `json:"SOAMinttl"`
	// SOAMname is the primary name server (default "ns1.<domain>."), SOARname the
	// responsible mailbox (default "root.ns1.<domain>."; an "@" becomes "."). Both are made
	// fully qualified.
	SOAMname string `json:"SOAMname"`
	SOARname string `json:"SOARname"`
	// Masters lists static masters "host:port"; Zk is "zk://h1:2181,h2:2181/mesos". One of
	// them is needed. With Zk the feed follows the leader ZooKeeper names; Masters, if given
	// too, are a fallback and number the masterN names after the leader (as in Mesos-DNS).
	Masters []string `json:"Masters"`
	// ZoneResolvers maps a zone (no leading or trailing dot) to its upstream resolvers
	// ("ip" or "ip:port"). A zone may not be the Mesos domain or mask another zone.
	ZoneResolvers map[string][]string `json:"ZoneResolvers"`
	// Resolvers are the upstreams for every other name (default ["8.8.8.8"]). As in
	// Mesos-DNS, an empty list falls back to the nameservers of /etc/resolv.conf, except the
	// ones that are this server itself (see WithSystemResolvers, which dns.New applies for
	// `strata dns` and `strata dev`; Validate and server.New do not read the file). If none is
	// left, forwarding is off and such queries are REFUSED, as with ExternalOn false.
	Resolvers []string `json:"Resolvers"`
	// IPSources is the ordered list of task IP sources (default ["host","netinfo"], what DC/OS
	// ships; Mesos-DNS' own default is ["netinfo","mesos","host"], which resolves Docker
	// bridge-mode tasks to their unreachable internal IPs). nil means the default.
	IPSources []string `json:"IPSources"`
	Zk        string   `json:"Zk"`
	// Domain is the Mesos zone (default "mesos"), lower-cased, without the trailing dot.
	Domain string `json:"Domain"`
	// File is the config file's path, informational (reported by /v1/config).
	File string `json:"File"`
	// Listener is the DNS bind IP (default "0.0.0.0"); it is also the address of SOAMname.
	Listener string `json:"Listener"`
	// HTTPListener is the HTTP bind IP (default "0.0.0.0").
	HTTPListener string `json:"HTTPListener"`
	// RecurseOn sets the RA bit in Mesos-domain answers (default true).
	RecurseOn bool `json:"RecurseOn"`
	// DNSOn and HTTPOn switch the listeners; at least one must be on (defaults true).
	DNSOn  bool `json:"DnsOn"`
	HTTPOn bool `json:"HttpOn"`
	// ExternalOn forwards names outside the Mesos domain (default true); off: REFUSED.
	ExternalOn bool `json:"ExternalOn"`
	// EnforceRFC952 switches the name sanitiser to RFC 952 (24-character labels).
	EnforceRFC952 bool `json:"EnforceRFC952"`
	// SetTruncateBit sets TC on truncated UDP answers (default true).
	SetTruncateBit bool `json:"SetTruncateBit"`
	// EnumerationOn serves /v1/enumerate and /v1/axfr (default true).
	EnumerationOn bool `json:"EnumerationOn"`
	// SRVRecordDefaultWeight is the weight of every SRV record (default 1).
	SRVRecordDefaultWeight uint16 `json:"SRVRecordDefaultWeight"`
	// Mesos connection settings, for the feed: HTTPS, CA, client certificate,
	// authentication ("", "basic" or "iam"), basic credentials, IAM config file.
	MesosHTTPSOn        bool             `json:"MesosHTTPSOn"`
	CACertFile          string           `json:"CACertFile"`
	CertFile            string           `json:"CertFile"`
	KeyFile             string           `json:"KeyFile"`
	MesosCredentials    MesosCredentials `json:"MesosCredentials"`
	IAMConfigFile       string           `json:"IAMConfigFile"`
	MesosAuthentication string           `json:"MesosAuthentication"`

	// Strata additions.

	// SOAInAuthority answers SOA and NS queries in the authority section with an empty
	// answer section, for any name of the domain, as Mesos-DNS does (reference §6). Off by
	// default: the apex answers SOA and NS in the answer section (RFC 1034).
	SOAInAuthority bool `json:"SOAInAuthority"`
	// CacheSize bounds the forwarding cache (default 10000 entries; 0 turns it off).
	CacheSize int `json:"CacheSize"`
}

// MesosCredentials are the basic-authentication credentials for the masters.
type MesosCredentials struct {
	Principal string `json:"Principal"`
	Secret    string `json:"Secret"`
}

// DefaultTTL is Strata's record TTL in seconds (Mesos-DNS: 60).
const DefaultTTL = 5

// DefaultStateTimeoutSeconds is Strata's StateTimeoutSeconds (Mesos-DNS: 300).
const DefaultStateTimeoutSeconds = 10

// DefaultCacheSize is the default bound of the forwarding cache, in entries.
const DefaultCacheSize = 10000

// maxConfigSize bounds what LoadConfig reads.
const maxConfigSize = 1 << 20

// DefaultConfig returns Mesos-DNS' defaults (records/config.go NewConfig and the
// configuration docs) except TTL, which is DefaultTTL, and IPSources, which is DC/OS'
// ["host","netinfo"].
func DefaultConfig() Config {
	return Config{
		RefreshSeconds:         60,
		Port:                   53,
		Timeout:                5,
		StateTimeoutSeconds:    DefaultStateTimeoutSeconds,
		ZkDetectionTimeout:     30,
		HTTPPort:               8123,
		TTL:                    DefaultTTL,
		SOARefresh:             60,
		SOARetry:               600,
		SOAExpire:              86400,
		SOAMinttl:              60,
		SOAMname:               "ns1.mesos.",
		SOARname:               "root.ns1.mesos.",
		Resolvers:              []string{"8.8.8.8"},
		IPSources:              []string{records.SourceHost, records.SourceNetInfo},
		Domain:                 "mesos",
		Listener:               "0.0.0.0",
		HTTPListener:           "0.0.0.0",
		RecurseOn:              true,
		DNSOn:                  true,
		HTTPOn:                 true,
		ExternalOn:             true,
		SetTruncateBit:         true,
		EnumerationOn:          true,
		SRVRecordDefaultWeight: 1,
		CacheSize:              DefaultCacheSize,
	}
}

// ErrInvalidConfig is wrapped by every error LoadConfig and Config.Validate return.
var ErrInvalidConfig = errors.New("dns/server: invalid config")

func configErr(field, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrInvalidConfig, field, fmt.Sprintf(format, args...))
}

// LoadConfig reads a Mesos-DNS config.json: it starts from DefaultConfig, decodes r over it
// (keys case-insensitive, unknown keys ignored, at most 1 MiB) and returns the result of
// Validate. Errors wrap ErrInvalidConfig and name the field.
func LoadConfig(r io.Reader) (Config, error) {
	c := DefaultConfig()
	dec := json.NewDecoder(io.LimitReader(r, maxConfigSize+1))
	if err := dec.Decode(&c); err != nil {
		return Config{}, decodeErr(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return Config{}, fmt.Errorf("%w: trailing data after the JSON object", ErrInvalidConfig)
	}
	if dec.InputOffset() > maxConfigSize {
		return Config{}, fmt.Errorf("%w: larger than %d bytes", ErrInvalidConfig, maxConfigSize)
	}
	return c.Validate()
}

func decodeErr(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		field := te.Field
		if field == "" {
			field = "config"
		}
		return configErr(field, "cannot hold JSON %s (want %s)", te.Value, te.Type)
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("%w: JSON syntax error at byte %d: %v", ErrInvalidConfig, se.Offset, err)
	}
	return fmt.Errorf("%w: %v", ErrInvalidConfig, err)
}

// domainRE is Mesos-DNS' domain validation (records/validation.go).
var domainRE = regexp.MustCompile(`^[a-zA-Z0-9-]+(\.[a-zA-Z0-9-]+)*$`)

// Validate normalises c (lower-case domain, fully qualified SOA names, canonical resolver
// addresses "ip:port", an empty Domain, SOAMname or SOARname or a zero Timeout replaced by
// the default) and checks every field, naming the first bad one in the error.
func (c Config) Validate() (Config, error) {
	c.Domain = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(c.Domain)), ".")
	if c.Domain == "" {
		c.Domain = "mesos"
	}
	if !validName(c.Domain) {
		return c, configErr("domain", "%q is not a valid domain name", c.Domain)
	}
	if c.RefreshSeconds <= 0 {
		return c, configErr("refreshSeconds", "must be positive, got %d", c.RefreshSeconds)
	}
	if c.StateTimeoutSeconds <= 0 {
		return c, configErr("stateTimeoutSeconds", "must be positive, got %d", c.StateTimeoutSeconds)
	}
	if c.ZkDetectionTimeout < 0 {
		return c, configErr("zkDetectionTimeout", "must not be negative, got %d", c.ZkDetectionTimeout)
	}
	if c.TTL < 0 {
		return c, configErr("ttl", "must not be negative, got %d", c.TTL)
	}
	if c.Timeout < 0 {
		return c, configErr("timeout", "must not be negative, got %d", c.Timeout)
	}
	if c.Timeout == 0 {
		c.Timeout = 5 // Mesos-DNS' resolver does the same
	}
	if c.Port < 0 || c.Port > 65535 {
		return c, configErr("port", "%d is not a port", c.Port)
	}
	if c.HTTPPort < 0 || c.HTTPPort > 65535 {
		return c, configErr("httpport", "%d is not a port", c.HTTPPort)
	}
	if !c.DNSOn && !c.HTTPOn {
		return c, configErr("dnson", "either DNS or HTTP must be on (dnson, httpon)")
	}
	if c.CacheSize < 0 {
		return c, configErr("cacheSize", "must not be negative, got %d", c.CacheSize)
	}
	for _, f := range []struct{ name, v string }{{"listener", c.Listener}, {"HTTPListener", c.HTTPListener}} {
		if _, err := netip.ParseAddr(f.v); err != nil {
			return c, configErr(f.name, "%q is not an IP address", f.v)
		}
	}
	var err error
	if c.SOAMname, err = fqdn("SOAMname", c.SOAMname, "ns1."+c.Domain); err != nil {
		return c, err
	}
	c.SOARname = strings.ReplaceAll(c.SOARname, "@", ".")
	if c.SOARname, err = fqdn("SOARname", c.SOARname, "root.ns1."+c.Domain); err != nil {
		return c, err
	}
	if c.Masters, err = normalizeList("masters", c.Masters, normalizeMaster); err != nil {
		return c, err
	}
	if c.Zk != "" && (!strings.HasPrefix(c.Zk, "zk://") || len(c.Zk) == len("zk://")) {
		return c, configErr("zk", "%q is not a zk://host:port,.../path URL", c.Zk)
	}
	if c.Resolvers, err = normalizeList("resolvers", c.Resolvers, normalizeResolver); err != nil {
		return c, err
	}
	if c.ZoneResolvers, err = validateZones(c.ZoneResolvers, c.Domain); err != nil {
		return c, err
	}
	switch c.MesosAuthentication {
	case "", "basic", "iam":
	default:
		return c, configErr("mesosAuthentication", "%q is not one of \"\", \"basic\", \"iam\"", c.MesosAuthentication)
	}
	if c.IPSources == nil {
		c.IPSources = DefaultConfig().IPSources
	}
	if _, err := records.New(c.RecordsConfig()); err != nil {
		return c, configErr("IPSources", "%s", strings.TrimPrefix(err.Error(), records.ErrInvalidConfig.Error()+": "))
	}
	return c, nil
}

// validName reports whether name (no trailing dot) passes Mesos-DNS' domain check and fits
// in a DNS message: labels of at most 63 bytes, at most 253 bytes in all.
func validName(name string) bool {
	if len(name) > 253 || !domainRE.MatchString(name) {
		return false
	}
	for l := range strings.SplitSeq(name, ".") {
		if len(l) > 63 {
			return false
		}
	}
	return true
}

// fqdn lower-cases name (def if empty), adds the trailing dot and checks it.
func fqdn(field, name, def string) (string, error) {
	name = strings.ToLower(strings.TrimSpace(name))
	if name == "" {
		name = def
	}
	name = strings.TrimRight(name, ".")
	if !validName(name) {
		return "", configErr(field, "%q is not a valid DNS name", name)
	}
	return name + ".", nil
}

// normalizeList normalises every entry and rejects duplicates (after normalisation), as
// Mesos-DNS' validateUniqueStrings does. A nil list stays nil.
func normalizeList(field string, in []string, norm func(string) (string, error)) ([]string, error) {
	if in == nil {
		return nil, nil
	}
	out := make([]string, 0, len(in))
	for _, s := range in {
		n, err := norm(s)
		if err != nil {
			return nil, configErr(field, "%v", err)
		}
		if slices.Contains(out, n) {
			return nil, configErr(field, "duplicate entry %q", s)
		}
		out = append(out, n)
	}
	return out, nil
}

// normalizeMaster checks "host:port" and canonicalises an IP host.
func normalizeMaster(s string) (string, error) {
	host, port, err := net.SplitHostPort(s)
	if err != nil || host == "" {
		return "", fmt.Errorf("%q is not host:port", s)
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		host = ip.String()
	}
	if !validPort(port) {
		return "", fmt.Errorf("%q has an invalid port", s)
	}
	return net.JoinHostPort(host, port), nil
}

// normalizeResolver turns "ip" or "ip:port" into "ip:port" (port 53 by default).
func normalizeResolver(s string) (string, error) {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		host, port = s, "53"
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || ip.Zone() != "" {
		return "", fmt.Errorf("%q is not an IP address or IP:port", s)
	}
	if !validPort(port) {
		return "", fmt.Errorf("%q has an invalid port", s)
	}
	return net.JoinHostPort(ip.Unmap().String(), port), nil
}

func validPort(s string) bool {
	n, err := strconv.Atoi(s)
	return err == nil && n > 0 && n <= 65535
}

// validateZones checks ZoneResolvers as Mesos-DNS does: non-empty lists of valid resolvers,
// valid zone names, not the Mesos domain, and no zone masking another or the domain. Keys
// are lower-cased without dots around them.
func validateZones(zones map[string][]string, domain string) (map[string][]string, error) {
	if len(zones) == 0 {
		return zones, nil
	}
	out := make(map[string][]string, len(zones))
	for zone, rs := range zones {
		z := strings.Trim(strings.ToLower(zone), ".")
		field := "zoneResolvers[" + strconv.Quote(zone) + "]"
		if !validName(z) {
			return nil, configErr(field, "%q is not a valid zone name", zone)
		}
		if len(rs) == 0 {
			return nil, configErr(field, "no resolvers")
		}
		if z == domain {
			return nil, configErr(field, "cannot forward the Mesos domain %q", domain)
		}
		if _, dup := out[z]; dup {
			return nil, configErr(field, "duplicate zone")
		}
		n, err := normalizeList(field, rs, normalizeResolver)
		if err != nil {
			return nil, err
		}
		out[z] = n
	}
	all := make([]string, 0, len(out)+1)
	for z := range out {
		all = append(all, z)
	}
	all = append(all, domain)
	slices.Sort(all)
	for _, a := range all {
		for _, b := range all {
			if a != b && strings.HasSuffix(a, "."+b) {
				return nil, configErr("zoneResolvers", "zone %q is masked by %q", a, b)
			}
		}
	}
	return out, nil
}

// RecordsConfig returns the record generator's part of the configuration. Call it on a
// validated Config.
func (c Config) RecordsConfig() records.Config {
	return records.Config{
		Domain:        c.Domain,
		IPSources:     slices.Clone(c.IPSources),
		EnforceRFC952: c.EnforceRFC952,
		SOAMname:      c.SOAMname,
	}
}

// redacted returns c as /v1/config shows it: the basic-auth secret is masked (Mesos-DNS
// shows it in clear).
func (c Config) redacted() Config {
	if c.MesosCredentials.Secret != "" {
		c.MesosCredentials.Secret = "******"
	}
	c.Zk = redactZK(c.Zk)
	return c
}

// redactZK masks the password of a zk://user:password@host:port,.../path URL.
func redactZK(s string) string {
	rest, ok := strings.CutPrefix(s, "zk://")
	if !ok {
		return s
	}
	hosts, path, hasPath := strings.Cut(rest, "/")
	at := strings.LastIndexByte(hosts, '@')
	if at < 0 {
		return s
	}
	user, _, hasPass := strings.Cut(hosts[:at], ":")
	if !hasPass {
		return s
	}
	out := "zk://" + user + ":******@" + hosts[at+1:]
	if hasPath {
		out += "/" + path
	}
	return out
}

// ResolvConfPath is the resolv.conf whose nameservers stand in for empty Config.Resolvers.
const ResolvConfPath = "/etc/resolv.conf"

// interfaceAddrs lists this host's addresses (a variable for tests).
var interfaceAddrs = net.InterfaceAddrs

// ResolvConfResolvers reads the "nameserver IP" lines of the resolv.conf at path and returns
// them as "ip:53", in order and without duplicates, for a DNS server listening on
// listener:port. A nameserver that is this server itself goes to self instead of use, so
// that the server never forwards to itself. resolv.conf nameservers are asked on port 53,
// so that only happens when port is 53, and then for a nameserver equal to listener or,
// when listener is unspecified (0.0.0.0 or ::, which listen on every address), for any
// loopback address or address of this host's interfaces. A nameserver on a loopback
// address is kept otherwise: systemd-resolved's 127.0.0.53 is a fine upstream for a server
// on port 8053. Nameservers with an IPv6 zone, which Config.Resolvers cannot hold, are
// skipped.
func ResolvConfResolvers(path, listener string, port int) (use, self []string, err error) {
	file, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer file.Close()
	lip, lerr := netip.ParseAddr(listener)
	wildcard := lerr != nil || lip.IsUnspecified()
	var local []netip.Addr
	if port == 53 && wildcard {
		addrs, _ := interfaceAddrs()
		for _, a := range addrs {
			if p, err := netip.ParsePrefix(a.String()); err == nil {
				local = append(local, p.Addr().Unmap())
			}
		}
	}
	isSelf := func(ip netip.Addr) bool {
		switch {
		case port != 53:
			return false
		case !wildcard:
			return ip == lip.Unmap()
		default:
			return ip.IsLoopback() || slices.Contains(local, ip)
		}
	}
	sc := bufio.NewScanner(file)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 || fields[0] != "nameserver" {
			continue
		}
		ip, err := netip.ParseAddr(fields[1])
		if err != nil || ip.Zone() != "" {
			continue
		}
		ip = ip.Unmap()
		addr := net.JoinHostPort(ip.String(), "53")
		if slices.Contains(use, addr) || slices.Contains(self, addr) {
			continue
		}
		if isSelf(ip) {
			self = append(self, addr)
		} else {
			use = append(use, addr)
		}
	}
	return use, self, sc.Err()
}

// WithSystemResolvers is Mesos-DNS' fallback for empty Resolvers: when c forwards
// (ExternalOn) and has no Resolvers, they become the nameservers of the resolv.conf at path
// that are not this server itself (ResolvConfResolvers with c's Listener and Port). When
// none is left, or the file cannot be read, Resolvers stay empty, which turns forwarding off
// (names outside the domain and ZoneResolvers are REFUSED), and warning says so, for the log;
// otherwise warning is "".
func (c Config) WithSystemResolvers(path string) (_ Config, warning string) {
	if !c.ExternalOn || len(c.Resolvers) > 0 {
		return c, ""
	}
	use, self, err := ResolvConfResolvers(path, c.Listener, c.Port)
	if len(use) > 0 {
		c.Resolvers = use
		return c, ""
	}
	why := path + " names no nameserver"
	switch {
	case err != nil:
		why = fmt.Sprintf("%s cannot be read (%v)", path, err)
	case len(self) > 0:
		why = fmt.Sprintf("the nameservers of %s (%s) are this server itself (port %d), which would forward to itself",
			path, strings.Join(self, ", "), c.Port)
	}
	c.Resolvers = nil
	return c, fmt.Sprintf("dns: resolvers is empty and %s: forwarding is off, names outside %s are REFUSED; "+
		"configure resolvers (or externalon=false to silence this)", why, c.Domain)
}
