package executor

import (
	"context"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"

	"strata/kernel/mesos/mesospb"
)

// agentBaseURL turns an agent endpoint ("host:port" or a URL) into the base
// URL calls are sent to, without a trailing slash.
func agentBaseURL(endpoint string) string {
	endpoint = strings.TrimRight(strings.TrimSpace(endpoint), "/")
	if strings.Contains(endpoint, "://") {
		return endpoint
	}
	return "http://" + endpoint
}

// endpointHost returns the host part of an agent endpoint.
func endpointHost(endpoint string) string {
	u, err := url.Parse(agentBaseURL(endpoint))
	if err != nil {
		return ""
	}
	return u.Hostname()
}

// resolveHostIP picks the IP to report for the task: the configured one, or
// the agent endpoint's address when it is a usable IP, or the first address
// the endpoint's host name resolves to. It returns "" when none is usable.
func resolveHostIP(configured, endpoint string) string {
	if ip, err := netip.ParseAddr(strings.TrimSpace(configured)); err == nil {
		return ip.Unmap().String()
	}
	host := endpointHost(endpoint)
	if host == "" {
		return ""
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		if ip.IsUnspecified() {
			return ""
		}
		return ip.Unmap().String()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil || len(addrs) == 0 {
		return ""
	}
	best := addrs[0]
	for _, a := range addrs {
		if a.Unmap().Is4() {
			best = a
			break
		}
	}
	return best.Unmap().String()
}

// networkInfo describes the host network with one IP, or returns nil if ip
// is not an IP address.
func networkInfo(ip string) *mesospb.NetworkInfo {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return nil
	}
	protocol := mesospb.NetworkInfo_IPv4
	if !addr.Unmap().Is4() {
		protocol = mesospb.NetworkInfo_IPv6
	}
	return &mesospb.NetworkInfo{
		IpAddresses: []*mesospb.NetworkInfo_IPAddress{{
			Protocol:  protocol.Enum(),
			IpAddress: proto.String(addr.Unmap().String()),
		}},
	}
}
