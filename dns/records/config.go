package records

import (
	"errors"
	"fmt"
	"strings"
)

// IP source names for Config.IPSources (reference/mesos-dns.md §4).
const (
	// SourceNetInfo takes the container_status.network_infos[].ip_addresses of the latest
	// TASK_RUNNING status.
	SourceNetInfo = "netinfo"
	// SourceMesos takes the status label MesosContainerizer.NetworkSettings.IPAddress.
	SourceMesos = "mesos"
	// SourceDocker takes the status label Docker.NetworkSettings.IPAddress.
	SourceDocker = "docker"
	// SourceHost takes the IPs of the agent running the task.
	SourceHost = "host"
)

// Config configures the record generator. TTLs, SOA timers, SRV weights and everything else
// that only shapes DNS answers belong to the server, not here.
type Config struct {
	// Domain is the zone, default "mesos". It is lower-cased; a trailing dot is optional.
	Domain string
	// IPSources is the ordered list of task IP sources; the first one that yields at least
	// one IP wins. nil means DC/OS' ["host", "netinfo"] (dcos gen/calc.py), the default of
	// server.DefaultConfig too; an empty list, duplicates and unknown names are errors.
	// Mesos-DNS' own default is ["netinfo", "mesos", "host"].
	IPSources []string
	// EnforceRFC952 limits labels to 24 characters and trims leading digits (Mesos-DNS'
	// enforceRFC952). The default is RFC 1123: 63 characters, leading digits allowed.
	EnforceRFC952 bool
	// SOAMname is the name server's own name, which gets the A/AAAA records passed to
	// Set.SetNameserver. Default "ns1.<Domain>." (Mesos-DNS' default is the literal
	// "ns1.mesos", which equals this for the default domain).
	SOAMname string
	// DisableAgentAliases turns off the Strata additions agent.<Domain> and
	// _agent._tcp.<Domain> (reference/mesos-dns.md §9: "Add agent.D aliases next to slave.D").
	DisableAgentAliases bool
}

// DefaultConfig returns the configuration Strata ships: domain "mesos", DC/OS' IP source order,
// RFC 1123 labels and agent aliases on.
func DefaultConfig() Config {
	return Config{Domain: "mesos", IPSources: []string{SourceHost, SourceNetInfo}}
}

// ErrInvalidConfig is wrapped by every configuration error New returns.
var ErrInvalidConfig = errors.New("records: invalid config")

// normalize fills defaults and validates c; it returns the cleaned copy.
func (c Config) normalize() (Config, error) {
	def := DefaultConfig()
	c.Domain = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(c.Domain)), ".")
	if c.Domain == "" {
		c.Domain = def.Domain
	}
	if !validName(c.Domain + ".") {
		return c, fmt.Errorf("%w: domain %q is not a valid DNS name", ErrInvalidConfig, c.Domain)
	}
	if c.IPSources == nil {
		c.IPSources = def.IPSources
	}
	if len(c.IPSources) == 0 {
		return c, fmt.Errorf("%w: IPSources must not be empty", ErrInvalidConfig)
	}
	seen := make(map[string]bool, len(c.IPSources))
	srcs := make([]string, 0, len(c.IPSources))
	for _, s := range c.IPSources {
		switch s {
		case SourceNetInfo, SourceMesos, SourceDocker, SourceHost:
		default:
			return c, fmt.Errorf("%w: unknown IP source %q (want netinfo, mesos, docker or host)", ErrInvalidConfig, s)
		}
		if seen[s] {
			return c, fmt.Errorf("%w: duplicate IP source %q", ErrInvalidConfig, s)
		}
		seen[s] = true
		srcs = append(srcs, s)
	}
	c.IPSources = srcs
	c.SOAMname = strings.ToLower(strings.TrimSpace(c.SOAMname))
	if c.SOAMname == "" {
		c.SOAMname = "ns1." + c.Domain
	}
	c.SOAMname = strings.TrimSuffix(c.SOAMname, ".") + "."
	if !validName(c.SOAMname) {
		return c, fmt.Errorf("%w: SOAMname %q is not a valid DNS name", ErrInvalidConfig, c.SOAMname)
	}
	return c, nil
}
