package feed

import (
	"context"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"

	"strata/dns/records"
)

// This file resolves the host names of schedulers and agents. Mesos-DNS publishes F.D for a
// framework whose PID (or, for an HTTP framework, whose hostname) names a host rather than an
// IP by resolving that name; so does the feed, without ever holding up an event: a lookup
// runs in the background and its answer is published when it arrives (hostCache.done).

const (
	// lookupTTL is how long a resolved host name is used before it is looked up again (at
	// the next event or snapshot that needs it; the stale answer is used meanwhile).
	lookupTTL = time.Minute
	// lookupRetry is how long after a failed lookup the next one may start.
	lookupRetry = 10 * time.Second
	// lookupTimeout bounds one lookup.
	lookupTimeout = 5 * time.Second
	// maxLookupEntries bounds the cache; past it, expired entries are dropped.
	maxLookupEntries = 4096
)

// systemLookup resolves host with the system resolver, IPv4 and IPv6.
func systemLookup(ctx context.Context, host string) ([]netip.Addr, error) {
	return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
}

type hostEntry struct {
	ips     []netip.Addr
	expires time.Time
	pending bool
}

// hostCache holds the answers of host name lookups and starts them.
type hostCache struct {
	lookup func(ctx context.Context, host string) ([]netip.Addr, error)
	// done is called, on the lookup's goroutine, when a lookup changed host's addresses.
	done    func(host string)
	metrics *metrics

	mu      sync.Mutex
	entries map[string]hostEntry
}

// addrs returns the last known addresses of host (nil before its first lookup answered) and
// starts a lookup when there is none yet or the last one is too old.
func (c *hostCache) addrs(host string) []netip.Addr {
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[host]
	if !e.pending && (!ok || now.After(e.expires)) {
		if !ok && len(c.entries) >= maxLookupEntries {
			c.pruneLocked(now)
		}
		e.pending = true
		c.entries[host] = e
		go c.resolve(host)
	}
	return e.ips
}

func (c *hostCache) pruneLocked(now time.Time) {
	for h, e := range c.entries {
		if !e.pending && now.After(e.expires) {
			delete(c.entries, h)
		}
	}
}

func (c *hostCache) resolve(host string) {
	ctx, cancel := context.WithTimeout(context.Background(), lookupTimeout)
	found, err := c.lookup(ctx, host)
	cancel()
	var ips []netip.Addr
	for _, a := range found {
		if a = a.Unmap(); a.IsValid() && a.Zone() == "" && !slices.Contains(ips, a) {
			ips = append(ips, a)
		}
	}
	slices.SortFunc(ips, func(a, b netip.Addr) int { return a.Compare(b) })
	now := time.Now()
	c.mu.Lock()
	e := c.entries[host]
	old := e.ips
	e.pending = false
	if err != nil || len(ips) == 0 {
		// Keep the last answer: a name server that is briefly away should not take a
		// framework's name with it.
		e.expires = now.Add(lookupRetry)
		c.metrics.lookups.WithLabelValues("error").Inc()
	} else {
		e.ips, e.expires = ips, now.Add(lookupTTL)
		c.metrics.lookups.WithLabelValues("ok").Inc()
	}
	c.entries[host] = e
	c.mu.Unlock()
	if !slices.Equal(old, e.ips) && c.done != nil {
		c.done(host)
	}
}

// lookupHost returns the host name to resolve for a scheduler or an agent with the given PID
// and hostname: the PID's host, else the hostname; "" when it is an IP literal (nothing to
// resolve) or empty.
func lookupHost(pid, hostname string) string {
	host := hostname
	if _, h, _, ok := records.ParsePID(pid); ok {
		host = h
	}
	if host == "" {
		return ""
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return ""
	}
	return host
}
