package feed

import (
	"encoding/binary"
	"math"
	"net"
	"net/netip"
	"strconv"

	"strata/dns/records"
	"strata/kernel/mesos/masterpb"
	"strata/kernel/mesos/mesospb"
)

// This file converts the operator API's protobuf messages into the records package's model.
// Every accessor is a nil-safe getter: a message the master sent without a field (or a
// fuzzer's garbage) converts to empty values, which the records package ignores.

// convertState turns a GET_STATE snapshot (the body of SUBSCRIBED) into a records.State with
// every active agent, every registered framework and every task of get_tasks.tasks and
// get_tasks.unreachable_tasks that is not terminal. Entities without an ID are skipped: nothing
// could refer to them. Leader and Masters are left to the caller.
func convertState(gs *masterpb.Response_GetState) *records.State {
	st := &records.State{}
	for _, a := range gs.GetGetAgents().GetAgents() {
		if ra, ok := convertAgent(a); ok {
			st.Agents = append(st.Agents, ra)
		}
	}
	for _, f := range gs.GetGetFrameworks().GetFrameworks() {
		if rf, ok := convertFramework(f.GetFrameworkInfo()); ok {
			st.Frameworks = append(st.Frameworks, rf)
		}
	}
	tasks := gs.GetGetTasks()
	for _, list := range [][]*mesospb.Task{tasks.GetTasks(), tasks.GetUnreachableTasks()} {
		for _, t := range list {
			if rt, ok := convertTask(t); ok && !records.IsTerminal(rt.State) {
				st.Tasks = append(st.Tasks, rt)
			}
		}
	}
	return st
}

// convertAgent maps an operator API agent. The pid ("slave(1)@10.0.0.1:5051") gives the
// agent's IP and port, as /master/state's slaves[].pid does for Mesos-DNS.
func convertAgent(a *masterpb.Response_GetAgents_Agent) (records.Agent, bool) {
	info := a.GetAgentInfo()
	id := info.GetId().GetValue()
	if id == "" {
		return records.Agent{}, false
	}
	ra := records.Agent{ID: id, Hostname: info.GetHostname(), PID: a.GetPid()}
	if p := info.GetPort(); p > 0 {
		ra.Port = uint32(p)
	}
	return ra, true
}

// convertFramework maps a FrameworkInfo. The v1 API has no scheduler pid; the records package
// falls back to the hostname when it is an IP literal.
func convertFramework(fi *mesospb.FrameworkInfo) (records.Framework, bool) {
	id := fi.GetId().GetValue()
	if id == "" {
		return records.Framework{}, false
	}
	return records.Framework{ID: id, Name: fi.GetName(), Hostname: fi.GetHostname(), WebuiURL: fi.GetWebuiUrl()}, true
}

// convertTask maps a Task with everything records.Task holds: identity, state, statuses (for
// the netinfo and label IP sources), labels, the "ports" resource, DiscoveryInfo and
// ContainerInfo.
func convertTask(t *mesospb.Task) (records.Task, bool) {
	rt := records.Task{
		ID:          t.GetTaskId().GetValue(),
		Name:        t.GetName(),
		FrameworkID: t.GetFrameworkId().GetValue(),
		AgentID:     t.GetAgentId().GetValue(),
		State:       t.GetState().String(),
		Labels:      convertLabels(t.GetLabels()),
		Ports:       portRanges(t.GetResources()),
		Discovery:   convertDiscovery(t.GetDiscovery()),
		Container:   convertContainer(t.GetContainer()),
	}
	if rt.ID == "" || rt.FrameworkID == "" {
		return records.Task{}, false
	}
	if len(t.GetStatuses()) > 0 {
		rt.Statuses = make([]records.Status, 0, len(t.GetStatuses()))
		for _, s := range t.GetStatuses() {
			rt.Statuses = append(rt.Statuses, convertStatus(s))
		}
	}
	return rt, true
}

// convertStatus maps a TaskStatus: state, timestamp, labels and the container's network IPs.
func convertStatus(s *mesospb.TaskStatus) records.Status {
	rs := records.Status{State: s.GetState().String(), Labels: convertLabels(s.GetLabels())}
	if ts := s.GetTimestamp(); !math.IsNaN(ts) && !math.IsInf(ts, 0) {
		rs.Timestamp = ts
	}
	for _, ni := range s.GetContainerStatus().GetNetworkInfos() {
		n := records.NetworkInfo{Name: ni.GetName()}
		for _, a := range ni.GetIpAddresses() {
			ip := records.IPAddress{IPAddress: a.GetIpAddress()}
			if a.Protocol != nil {
				ip.Protocol = a.GetProtocol().String()
			}
			n.IPAddresses = append(n.IPAddresses, ip)
		}
		rs.ContainerStatus.NetworkInfos = append(rs.ContainerStatus.NetworkInfos, n)
	}
	return rs
}

func convertLabels(l *mesospb.Labels) []records.Label {
	if len(l.GetLabels()) == 0 {
		return nil
	}
	out := make([]records.Label, 0, len(l.GetLabels()))
	for _, x := range l.GetLabels() {
		out = append(out, records.Label{Key: x.GetKey(), Value: x.GetValue()})
	}
	return out
}

// portRanges collects the ranges of every "ports" RANGES resource (a task may hold ports of
// several roles or reservations; /master/state merges them into one value). Inverted ranges
// are skipped.
func portRanges(res []*mesospb.Resource) []records.PortRange {
	var out []records.PortRange
	for _, r := range res {
		if r.GetName() != "ports" || r.GetType() != mesospb.Value_RANGES {
			continue
		}
		for _, rg := range r.GetRanges().GetRange() {
			if rg.GetEnd() >= rg.GetBegin() {
				out = append(out, records.PortRange{Begin: rg.GetBegin(), End: rg.GetEnd()})
			}
		}
	}
	return out
}

func convertDiscovery(d *mesospb.DiscoveryInfo) *records.DiscoveryInfo {
	if d == nil {
		return nil
	}
	di := &records.DiscoveryInfo{
		Visibility:  d.GetVisibility().String(),
		Name:        d.GetName(),
		Version:     d.GetVersion(),
		Location:    d.GetLocation(),
		Environment: d.GetEnvironment(),
		Labels:      convertLabels(d.GetLabels()),
	}
	for _, p := range d.GetPorts().GetPorts() {
		di.Ports = append(di.Ports, records.DiscoveryPort{
			Number: p.GetNumber(), Name: p.GetName(), Protocol: p.GetProtocol(), Labels: convertLabels(p.GetLabels()),
		})
	}
	return di
}

func convertContainer(c *mesospb.ContainerInfo) *records.ContainerInfo {
	if c == nil {
		return nil
	}
	ci := &records.ContainerInfo{Type: c.GetType().String()}
	if d := c.GetDocker(); d != nil {
		ci.Docker = &records.DockerInfo{Image: d.GetImage(), Network: d.GetNetwork().String()}
		for _, pm := range d.GetPortMappings() {
			ci.Docker.PortMappings = append(ci.Docker.PortMappings, records.PortMapping{
				HostPort: pm.GetHostPort(), ContainerPort: pm.GetContainerPort(), Protocol: pm.GetProtocol(),
			})
		}
	}
	return ci
}

// leaderPID returns the leading master's libprocess pid ("master@10.0.0.1:5050"), which the
// records package turns into leader.D and its SRV records, from GET_MASTER's MasterInfo: its
// pid when that names an IP, else address.ip and the port, else the deprecated packed ip
// field, else "master@" + fallback (the host:port the feed is connected to).
func leaderPID(mi *mesospb.MasterInfo, fallback string) string {
	if mi != nil {
		if _, host, _, ok := records.ParsePID(mi.GetPid()); ok && isIP(host) {
			return mi.GetPid()
		}
		port := mi.GetPort()
		if a := mi.GetAddress(); a != nil && a.GetPort() > 0 {
			port = uint32(a.GetPort())
		}
		if ip := mi.GetAddress().GetIp(); isIP(ip) {
			return "master@" + net.JoinHostPort(ip, strconv.FormatUint(uint64(port), 10))
		}
		if n := mi.GetIp(); n != 0 {
			// Mesos packs the network-order bytes of the address as read on a little-endian host.
			var b [4]byte
			binary.LittleEndian.PutUint32(b[:], n)
			return "master@" + net.JoinHostPort(netip.AddrFrom4(b).String(), strconv.FormatUint(uint64(port), 10))
		}
	}
	return "master@" + fallback
}

func isIP(s string) bool {
	_, err := netip.ParseAddr(s)
	return err == nil
}
