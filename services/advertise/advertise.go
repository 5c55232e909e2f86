// Package advertise says at which host:port a service that listens on an
// address is reached: what its framework registers with the master, what
// /v2/info and /leader answer, and what mesos-dns names resolve to.
package advertise

import (
	"net"
	"os"
)

// Address is explicit when set; otherwise the port ln is bound to, on the
// host of listen when it names one (not a wildcard), else on this machine's
// host name.
func Address(explicit, listen string, ln net.Listener) string {
	if explicit != "" {
		return explicit
	}
	host, port, _ := net.SplitHostPort(ln.Addr().String())
	if h, _, err := net.SplitHostPort(listen); err == nil && h != "" && h != "0.0.0.0" && h != "::" {
		host = h
	} else if name, err := os.Hostname(); err == nil {
		host = name
	}
	return net.JoinHostPort(host, port)
}
