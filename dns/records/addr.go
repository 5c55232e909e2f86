package records

import (
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
)

// This file derives addresses: libprocess PIDs, agent and framework IPs, and a task's IP from
// the configured IP sources (reference/mesos-dns.md §1 and §4). The package does no DNS
// resolution: where Mesos-DNS resolves a host name, the caller passes the result in
// Agent.IPs or Framework.IPs.

// ParsePID splits a libprocess UPID such as "slave(1)@10.0.0.1:5051" or
// "master@[2001:db8::1]:5050" into its id, host and port. ok is false unless the string has
// exactly one '@', a non-empty host and a numeric port from 0 to 65535.
func ParsePID(pid string) (id, host string, port uint16, ok bool) {
	id, addr, found := strings.Cut(pid, "@")
	if !found || strings.IndexByte(addr, '@') >= 0 {
		return "", "", 0, false
	}
	h, p, err := net.SplitHostPort(addr)
	if err != nil || h == "" {
		return "", "", 0, false
	}
	n, err := strconv.ParseUint(p, 10, 16)
	if err != nil {
		return "", "", 0, false
	}
	return id, h, uint16(n), true
}

// parseIP parses an IP literal the way the generator publishes it: IPv4-mapped IPv6
// addresses become IPv4 (an A record, as net.IP.To4 makes them in Mesos-DNS), and addresses
// with a zone are refused (a DNS record cannot carry one).
func parseIP(s string) (netip.Addr, bool) {
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

// appendAddr appends a to ips unless it is already there.
func appendAddr(ips []netip.Addr, a netip.Addr) []netip.Addr {
	for _, x := range ips {
		if x == a {
			return ips
		}
	}
	return append(ips, a)
}

// cleanAddrs returns the valid, unique, unmapped addresses of in.
func cleanAddrs(in []netip.Addr) []netip.Addr {
	var out []netip.Addr
	for _, a := range in {
		if a.IsValid() && a.Zone() == "" {
			out = appendAddr(out, a.Unmap())
		}
	}
	return out
}

// agentAddrs returns an agent's IPs and port. Mesos-DNS takes both from the agent's PID
// (slaves[].pid), resolving a PID host that is not an IP literal. Here: Agent.IPs if set,
// else the PID host if it is an IP literal, else (Strata fallback) the Hostname if it is an IP
// literal. The port comes from the PID, else (Strata fallback) Agent.Port.
func agentAddrs(a *Agent) (ips []netip.Addr, port uint16, hasPort bool) {
	ips = cleanAddrs(a.IPs)
	_, host, pport, ok := ParsePID(a.PID)
	if ok {
		port, hasPort = pport, true
		if len(ips) == 0 {
			if ip, isIP := parseIP(host); isIP {
				ips = []netip.Addr{ip}
			}
		}
	} else if a.Port > 0 && a.Port <= 65535 {
		port, hasPort = uint16(a.Port), true
	}
	if len(ips) == 0 {
		if ip, isIP := parseIP(a.Hostname); isIP {
			ips = []netip.Addr{ip}
		}
	}
	return ips, port, hasPort
}

// frameworkAddrs returns a framework scheduler's IPs and port: Mesos-DNS uses the host and
// port of the framework's PID, or its hostname (and no port) when it has no PID. HTTP
// frameworks, the only kind a Strata master serves, have no PID: for them (a Strata addition)
// the port is the explicit port of the framework's webui_url, the API a user of
// _framework._tcp.F.D looks for (the apps service's 8080, the jobs service's 9000).
func frameworkAddrs(f *Framework) (ips []netip.Addr, port uint16, hasPort bool) {
	host := f.Hostname
	if _, h, p, ok := ParsePID(f.PID); ok {
		host, port, hasPort = h, p, true
	} else {
		port, hasPort = webuiPort(f.WebuiURL)
	}
	ips = cleanAddrs(f.IPs)
	if len(ips) == 0 {
		if ip, ok := parseIP(host); ok {
			ips = []netip.Addr{ip}
		}
	}
	return ips, port, hasPort
}

// webuiPort returns the explicit port of an http(s) URL ("http://10.0.0.5:8080" → 8080).
func webuiPort(raw string) (uint16, bool) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return 0, false
	}
	n, err := strconv.ParseUint(u.Port(), 10, 16)
	if err != nil || n == 0 {
		return 0, false
	}
	return uint16(n), true
}

// latestRunning returns the TASK_RUNNING status with the greatest timestamp (the first one
// on ties), or nil. Mesos-DNS' container IP sources read only that status.
func latestRunning(statuses []Status) *Status {
	ts, j := -1.0, -1
	for i := range statuses {
		if statuses[i].State == TaskRunning && statuses[i].Timestamp > ts {
			ts, j = statuses[i].Timestamp, i
		}
	}
	if j < 0 {
		return nil
	}
	return &statuses[j]
}

// taskIPs returns the IPs of the first source in sources that yields at least one valid IP;
// all IPs of that source are used, IPv4 and IPv6 alike.
func taskIPs(t *Task, agentIPs []netip.Addr, sources []string) []netip.Addr {
	var st *Status
	stDone := false
	for _, src := range sources {
		var ips []netip.Addr
		switch src {
		case SourceHost:
			ips = agentIPs
		case SourceNetInfo, SourceMesos, SourceDocker:
			if !stDone {
				st, stDone = latestRunning(t.Statuses), true
			}
			if st == nil {
				continue
			}
			switch src {
			case SourceNetInfo:
				ips = netinfoIPs(st)
			case SourceMesos:
				ips = labelIPs(st, labelMesosIP)
			default:
				ips = labelIPs(st, labelDockerIP)
			}
		}
		if len(ips) > 0 {
			return ips
		}
	}
	return nil
}

func netinfoIPs(st *Status) []netip.Addr {
	var ips []netip.Addr
	for _, ni := range st.ContainerStatus.NetworkInfos {
		for _, a := range ni.IPAddresses {
			if ip, ok := parseIP(a.IPAddress); ok {
				ips = appendAddr(ips, ip)
			}
		}
	}
	return ips
}

func labelIPs(st *Status, key string) []netip.Addr {
	var ips []netip.Addr
	for _, l := range st.Labels {
		if l.Key == key {
			if ip, ok := parseIP(l.Value); ok {
				ips = appendAddr(ips, ip)
			}
		}
	}
	return ips
}
