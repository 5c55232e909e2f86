package taskenv

import (
	"maps"
	"slices"
	"strings"

	"google.golang.org/protobuf/proto"

	"strata/kernel/mesos/mesospb"
	"strata/services/apps/placement"
)

// Labels Marathon puts on the DiscoveryInfo ports of port mappings.
const (
	NetworkScopeLabel     = "network-scope"
	NetworkNameLabel      = "network-name"
	NetworkScopeHost      = "host"
	NetworkScopeContainer = "container"
)

// DiscoveryName is the DiscoveryInfo name Marathon gives an app's tasks: the
// app id's segments in reverse order, joined by dots ("/shop/db" is
// "db.shop").
func DiscoveryName(appID string) string {
	var segs []string
	for _, s := range strings.Split(appID, "/") {
		if s != "" {
			segs = append(segs, s)
		}
	}
	slices.Reverse(segs)
	return strings.Join(segs, ".")
}

// Discovery returns the task's DiscoveryInfo: visibility FRAMEWORK, the
// app's DiscoveryName, and one port per protocol of every port.
//
// With host networking a port is its host port with the port's labels. With
// port mappings, a mapping with a host port is advertised as that port with
// network-scope=host; one without is advertised as its container port once
// per container network (its own networkNames, else the app's
// networkNames), with network-scope=container and network-name.
func Discovery(appID string, network placement.NetworkMode, ports []placement.AssignedPort, networkNames []string) *mesospb.DiscoveryInfo {
	d := &mesospb.DiscoveryInfo{
		Visibility: mesospb.DiscoveryInfo_FRAMEWORK.Enum(),
		Name:       proto.String(DiscoveryName(appID)),
		Ports:      &mesospb.Ports{},
	}
	for _, p := range ports {
		for _, protocol := range p.Request.Protocols() {
			switch {
			case network == placement.NetworkHost:
				if p.HostPort != 0 {
					d.Ports.Ports = append(d.Ports.Ports, port(p, protocol, p.HostPort))
				}
			case p.HostPort != 0:
				d.Ports.Ports = append(d.Ports.Ports, port(p, protocol, p.HostPort, NetworkScopeLabel, NetworkScopeHost))
			default:
				names := p.Request.NetworkNames
				if len(names) == 0 {
					names = networkNames
				}
				for _, net := range names {
					d.Ports.Ports = append(d.Ports.Ports, port(p, protocol, p.ContainerPort,
						NetworkScopeLabel, NetworkScopeContainer, NetworkNameLabel, net))
				}
			}
		}
	}
	return d
}

// port builds one DiscoveryInfo port; extra holds label key/value pairs that
// override the port's own labels.
func port(p placement.AssignedPort, protocol string, number int, extra ...string) *mesospb.Port {
	out := &mesospb.Port{Number: proto.Uint32(uint32(number)), Protocol: proto.String(protocol)}
	if p.Request.Name != "" {
		out.Name = proto.String(p.Request.Name)
	}
	labels := maps.Clone(p.Request.Labels)
	for i := 0; i+1 < len(extra); i += 2 {
		if labels == nil {
			labels = make(map[string]string)
		}
		labels[extra[i]] = extra[i+1]
	}
	if len(labels) > 0 {
		out.Labels = &mesospb.Labels{}
		for _, k := range slices.Sorted(maps.Keys(labels)) {
			out.Labels.Labels = append(out.Labels.Labels, &mesospb.Label{Key: proto.String(k), Value: proto.String(labels[k])})
		}
	}
	return out
}
