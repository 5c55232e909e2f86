package records

import (
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// This file computes the records each owner contributes (a task, an agent, a framework, the
// masters, the name server). The grammar is reference/mesos-dns.md §2 and the Mesos-DNS
// naming documentation; comments name the rule each block implements. Names that cannot be
// carried in a DNS message (validName) are never emitted: Mesos-DNS emitted them, but no
// client could ever query them.

// generator holds the configuration-derived parts of the grammar. It has no state of its own.
type generator struct {
	cfg   Config
	label labelFunc
	dom   string // "." + domain + "."
}

func newGenerator(cfg Config) generator {
	g := generator{cfg: cfg, label: LabelRFC1123, dom: "." + cfg.Domain + "."}
	if cfg.EnforceRFC952 {
		g.label = LabelRFC952
	}
	return g
}

// frameworkFrag is F, the sanitised framework name: split on '.', each part sanitised, empty
// parts dropped, dots kept (reference §3).
func (g *generator) frameworkFrag(name string) string { return domainFrag(name, g.label) }

// taskRecords returns the records of one published task (TASK_RUNNING, on a known agent, of a
// known framework; the caller checks that). frag is F; agentIPs are the agent's addresses.
//
// Rules (reference §2 table; naming docs "SRV Records"):
//   - T is the sanitised task name, or, when the task has a DiscoveryInfo with a name, both
//     the raw and the sanitised DiscoveryInfo name (reference §3, "legacy compatibility").
//   - C = T-<hash>-<agenttail>.
//   - T.F.D and C.F.D: A/AAAA of the task IPs (first non-empty IP source).
//   - T.F.slave.D and C.F.slave.D: A/AAAA of the agent IPs.
//   - for every port of the "ports" resource: _T._tcp.F.slave.D and _T._udp.F.slave.D, and
//     without DiscoveryInfo also _T._tcp.F.D and _T._udp.F.D, all → C.F.slave.D:<port>.
//   - with DiscoveryInfo, for every DiscoveryInfo port: _T._<proto>.F.D → C.F.D:<number>,
//     proto sanitised, empty meaning both tcp and udp; a named port adds
//     _<name>._T._<proto>.F.D with the same target.
func (g *generator) taskRecords(t *Task, frag string, agentIPs []netip.Addr) []Record {
	if frag == "" {
		return nil // Strata: F sanitised to nothing; Mesos-DNS emitted "T..D."
	}
	var variants [2]string
	hasDI := t.Discovery != nil && t.Discovery.Name != ""
	if hasDI {
		variants[0] = rawDiscoveryName(t.Discovery.Name)
		variants[1] = g.label(t.Discovery.Name)
		if variants[1] == variants[0] {
			variants[0] = ""
		}
	} else {
		variants[1] = g.label(t.Name)
	}
	if variants[0] == "" && variants[1] == "" {
		return nil // Strata: the name sanitised to nothing; Mesos-DNS emitted ".F.D."
	}
	hash, tail := taskHash(t.ID), agentTail(t.AgentID)
	ips := taskIPs(t, agentIPs, g.cfg.IPSources)
	ports := expandPorts(t.Ports)
	fd := "." + frag + g.dom             // .F.D.
	fsd := "." + frag + ".slave" + g.dom // .F.slave.D.
	var l recList
	n := 2*len(ips) + 2*len(agentIPs) + 4*len(ports)
	if hasDI {
		n += 4 * len(t.Discovery.Ports)
	}
	if variants[0] != "" && variants[1] != "" {
		n *= 2
	}
	l.recs = make([]Record, 0, n)
	for _, tn := range variants {
		if tn == "" {
			continue
		}
		canon := canonicalLabel(tn, hash, tail)
		aName, cName := tn+fd, canon+fd
		aSlave, cSlave := tn+fsd, canon+fsd
		for _, n := range [...]string{aName, cName} {
			if validName(n) {
				l.addIPs(n, ips)
			}
		}
		for _, n := range [...]string{aSlave, cSlave} {
			if validName(n) {
				l.addIPs(n, agentIPs)
			}
		}
		if len(ports) > 0 && validName(cSlave) {
			srvNames := [...]string{"_" + tn + "._tcp" + fsd, "_" + tn + "._udp" + fsd,
				"_" + tn + "._tcp" + fd, "_" + tn + "._udp" + fd}
			n := len(srvNames)
			if hasDI {
				n = 2 // the non-slave SRV names only without DiscoveryInfo
			}
			for _, sn := range srvNames[:n] {
				if !validName(sn) {
					continue
				}
				for _, p := range ports {
					l.addSRV(sn, cSlave, p)
				}
			}
		}
		if !hasDI || !validName(cName) {
			continue
		}
		for _, dp := range t.Discovery.Ports {
			if dp.Number > 65535 {
				continue
			}
			port := uint16(dp.Number)
			protos := [2]string{g.label(dp.Protocol)}
			if protos[0] == "" {
				protos = [2]string{discoveryProtocolTCP, discoveryProtocolUDP}
			}
			pn := g.label(dp.Name)
			for _, proto := range protos {
				if proto == "" {
					continue
				}
				sn := "_" + tn + "._" + proto + fd
				if validName(sn) {
					l.addSRV(sn, cName, port)
				}
				if pn != "" {
					if nn := "_" + pn + "." + sn; validName(nn) {
						l.addSRV(nn, cName, port)
					}
				}
			}
		}
	}
	return l.recs
}

// expandPorts lists the ports of the task's "ports" ranges in order, without duplicates.
// Ranges are clamped to 0-65535 (Mesos-DNS expanded whatever the string held).
func expandPorts(ranges []PortRange) []uint16 {
	total := uint64(0)
	for _, r := range ranges {
		if r.Begin <= 65535 && r.End >= r.Begin {
			total += min(r.End, 65535) - r.Begin + 1
		}
	}
	if total == 0 {
		return nil
	}
	out := make([]uint16, 0, min(total, 65536))
	// Overlapping ranges are possible only with several of them: deduplicate by scanning
	// while the list is short, with a bitset beyond.
	var seen []uint64
	if len(ranges) > 1 && total > 64 {
		seen = make([]uint64, 65536/64)
	}
	for _, r := range ranges {
		if r.Begin > 65535 || r.End < r.Begin {
			continue
		}
		end := min(r.End, 65535)
		for p := r.Begin; p <= end; p++ {
			switch {
			case seen != nil:
				if seen[p/64]&(1<<(p%64)) != 0 {
					continue
				}
				seen[p/64] |= 1 << (p % 64)
			case len(ranges) > 1:
				if containsPort(out, uint16(p)) {
					continue
				}
			}
			out = append(out, uint16(p))
		}
	}
	return out
}

// agentRecords: slave.D → every agent IP and _slave._tcp.D → slave.D:<agent port>, the SRV
// only for agents with an IP (reference §2; Mesos-DNS adds both only when the agent's address
// resolves). Strata adds agent.D and _agent._tcp.D (reference §9) unless disabled.
func (g *generator) agentRecords(ips []netip.Addr, port uint16, hasPort bool) []Record {
	if len(ips) == 0 {
		return nil
	}
	var l recList
	slave := "slave" + g.dom
	l.addIPs(slave, ips)
	if hasPort {
		l.addSRV("_slave._tcp"+g.dom, slave, port)
	}
	if !g.cfg.DisableAgentAliases {
		agent := "agent" + g.dom
		l.addIPs(agent, ips)
		if hasPort {
			l.addSRV("_agent._tcp"+g.dom, agent, port)
		}
	}
	return l.recs
}

// frameworkRecords: F.D → the scheduler IPs and _framework._tcp.F.D → F.D:<scheduler port>
// when the framework has a PID (reference §2) or, without one, a webui_url with a port.
func (g *generator) frameworkRecords(frag string, ips []netip.Addr, port uint16, hasPort bool) []Record {
	name := frag + g.dom
	if frag == "" || len(ips) == 0 || !validName(name) {
		return nil
	}
	var l recList
	l.addIPs(name, ips)
	if srv := "_framework._tcp." + name; hasPort && validName(srv) {
		l.addSRV(srv, name, port)
	}
	return l.recs
}

// nameserverRecords: SOAMname → the listener IPs (reference §2, last row).
func (g *generator) nameserverRecords(ips []netip.Addr) []Record {
	var l recList
	l.addIPs(g.cfg.SOAMname, cleanAddrs(ips))
	return l.recs
}

// masterRecords implements Mesos-DNS' master records (reference §2):
//   - leader.D → the leader's IP; master.D → the leader and every listed master;
//   - _leader._tcp.D and _leader._udp.D → leader.D:<leader port>;
//   - masterN.D, one per master in list order, duplicates skipped; a leader missing from the
//     list gets the next index.
//
// The leader must be a PID ("master@ip:port"); otherwise there are no master records at all.
// Listed masters are "ip:port". Where Mesos-DNS would crash (a host that is not an IP
// literal), the entry is skipped.
//
// The Mesos-DNS naming docs also promise _master._tcp.D and _master._udp.D SRV records,
// which its generator never emitted and whose target they do not specify; Strata emits them
// with one target per masterN record: masterN.D:<that master's port>.
func (g *generator) masterRecords(leader string, masters []string) []Record {
	parts := strings.Split(leader, "@")
	if len(parts) < 2 {
		return nil
	}
	leaderAddr := parts[1]
	lhost, lportStr, err := net.SplitHostPort(leaderAddr)
	if err != nil {
		return nil
	}
	lip, lipOK := parseIP(lhost)
	lport, lportOK := parsePort(lportStr)
	var l recList
	all := "master" + g.dom
	if lipOK {
		l.addIP("leader"+g.dom, lip)
		l.addIP(all, lip)
		if lportOK {
			l.addSRV("_leader._tcp"+g.dom, "leader"+g.dom, lport)
			l.addSRV("_leader._udp"+g.dom, "leader"+g.dom, lport)
		}
	}
	inAll := []netip.Addr{}
	if lipOK {
		inAll = append(inAll, lip)
	}
	idx := 0
	addN := func(ip netip.Addr, port uint16, portOK bool) {
		name := "master" + strconv.Itoa(idx) + g.dom
		idx++
		l.addIP(name, ip)
		if portOK {
			l.addSRV("_master._tcp"+g.dom, name, port)
			l.addSRV("_master._udp"+g.dom, name, port)
		}
	}
	addedLeader := false
	for _, m := range masters {
		host, portStr, err := net.SplitHostPort(m)
		if err != nil {
			continue
		}
		ip, ok := parseIP(host)
		if !ok {
			continue
		}
		if m != leaderAddr {
			if containsAddr(inAll, ip) {
				continue // a duplicate master (Mesos-DNS: its master.D insert fails)
			}
			inAll = append(inAll, ip)
			l.addIP(all, ip)
		} else if addedLeader {
			continue // the leader listed twice
		}
		port, portOK := parsePort(portStr)
		addN(ip, port, portOK)
		if m == leaderAddr {
			addedLeader = true
		}
	}
	if !addedLeader && lipOK {
		addN(lip, lport, lportOK)
	}
	return l.recs
}

func containsAddr(ips []netip.Addr, a netip.Addr) bool {
	for _, x := range ips {
		if x == a {
			return true
		}
	}
	return false
}

func containsPort(ps []uint16, p uint16) bool {
	for _, x := range ps {
		if x == p {
			return true
		}
	}
	return false
}

func parsePort(s string) (uint16, bool) {
	n, err := strconv.ParseUint(s, 10, 16)
	return uint16(n), err == nil
}
