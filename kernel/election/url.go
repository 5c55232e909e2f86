package election

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"path"
	"strings"
)

// URL is a parsed zk://[user:password@]host1:port1,host2:port2/path.
type URL struct {
	Servers  []string // host:port, port 2181 when omitted
	Path     string   // absolute, without a trailing slash
	User     string   // digest auth, optional
	Password string
}

// IsZK reports whether s is a zk:// URL.
func IsZK(s string) bool { return strings.HasPrefix(strings.TrimSpace(s), "zk://") }

// ParseURL parses a Mesos --zk or --master=zk:// URL.
func ParseURL(s string) (URL, error) {
	s = strings.TrimSpace(s)
	rest, ok := strings.CutPrefix(s, "zk://")
	if !ok {
		return URL{}, fmt.Errorf("election: %q is not a zk:// URL", s)
	}
	var u URL
	hosts, p, found := strings.Cut(rest, "/")
	if !found || strings.Trim(p, "/") == "" {
		return URL{}, fmt.Errorf("election: %q has no znode path (zk://host:2181/mesos)", s)
	}
	if at := strings.LastIndexByte(hosts, '@'); at >= 0 {
		cred, err := url.PathUnescape(hosts[:at])
		if err != nil {
			return URL{}, fmt.Errorf("election: %q: credentials: %w", s, err)
		}
		u.User, u.Password, _ = strings.Cut(cred, ":")
		hosts = hosts[at+1:]
	}
	for _, h := range strings.Split(hosts, ",") {
		h = strings.TrimSpace(h)
		if h == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(h); err != nil {
			h = net.JoinHostPort(strings.Trim(h, "[]"), "2181")
		}
		u.Servers = append(u.Servers, h)
	}
	if len(u.Servers) == 0 {
		return URL{}, errors.New("election: " + s + ": no ZooKeeper servers")
	}
	u.Path = path.Clean("/" + p)
	if u.Path == "/" {
		return URL{}, fmt.Errorf("election: %q: the znode path may not be the root", s)
	}
	return u, nil
}

// String formats u back into a zk:// URL (without the password).
func (u URL) String() string {
	cred := ""
	if u.User != "" {
		cred = u.User + "@"
	}
	return "zk://" + cred + strings.Join(u.Servers, ",") + u.Path
}
