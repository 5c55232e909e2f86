package feed

import (
	"context"
	"errors"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"strata/dns/records"
)

// fakeLookup answers host name lookups from a table; a host in gates waits for its gate to
// close first.
type fakeLookup struct {
	mu    sync.Mutex
	addrs map[string][]netip.Addr
	gates map[string]chan struct{}
	calls map[string]int
}

func (l *fakeLookup) lookup(ctx context.Context, host string) ([]netip.Addr, error) {
	l.mu.Lock()
	l.calls[host]++
	gate := l.gates[host]
	ips, ok := l.addrs[host]
	l.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if !ok {
		return nil, errors.New("no such host")
	}
	return ips, nil
}

func (l *fakeLookup) count(host string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.calls[host]
}

// TestFeedResolvesHostNames: a scheduler (or agent) named by a host name rather than an IP gets
// its records once the lookup answers, as in Mesos-DNS; the lookup never holds up other events,
// answers are cached, and a failed lookup publishes nothing.
func TestFeedResolvesHostNames(t *testing.T) {
	gate := make(chan struct{})
	fl := &fakeLookup{
		addrs: map[string][]netip.Addr{
			"chronos.example.com": {netip.MustParseAddr("10.0.0.8")},
			"agent-7.example.com": {netip.MustParseAddr("10.0.0.7"), netip.MustParseAddr("2001:db8::7")},
		},
		gates: map[string]chan struct{}{"chronos.example.com": gate},
		calls: map[string]int{},
	}
	set, err := records.New(records.Config{})
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	f, err := New(Config{Masters: []string{"127.0.0.1:5050"}, Set: set, Registerer: reg, LookupHost: fl.lookup})
	if err != nil {
		t.Fatal(err)
	}
	tf := &testFeed{Feed: f, set: set, reg: reg, t: t}
	now := time.Now()

	f.observe(evFrameworkAdded(pFramework("fw-1", "chronos", "chronos.example.com")), now)
	f.observe(evFrameworkAdded(pFramework("fw-2", "metronome", "10.0.0.9")), now)
	if !resolves(set, "metronome.mesos.", "10.0.0.9") {
		t.Errorf("metronome.mesos. = %v while another framework's lookup is pending, want 10.0.0.9 at once", set.A("metronome.mesos."))
	}
	if set.Exists("chronos.mesos.") {
		t.Error("chronos.mesos. exists before its lookup answered")
	}
	close(gate)
	waitFor(t, 5*time.Second, "chronos.mesos. after its lookup", func() bool { return resolves(set, "chronos.mesos.", "10.0.0.8") })

	// A second framework on the same host is published at once, from the cache.
	f.observe(evFrameworkAdded(pFramework("fw-3", "chronos-b", "chronos.example.com")), now)
	if !resolves(set, "chronos-b.mesos.", "10.0.0.8") {
		t.Errorf("chronos-b.mesos. = %v, want 10.0.0.8 from the cache", set.A("chronos-b.mesos."))
	}
	if n := fl.count("chronos.example.com"); n != 1 {
		t.Errorf("chronos.example.com looked up %d times, want once", n)
	}

	// An agent known by its host name only (no PID), IPv4 and IPv6.
	f.observe(evAgentAdded(pAgent("agent-7", "agent-7.example.com", "", 5051)), now)
	waitFor(t, 5*time.Second, "slave.mesos. after the agent's lookup", func() bool {
		return len(set.A("slave.mesos.")) == 1 && len(set.AAAA("slave.mesos.")) == 1
	})

	// A host that does not resolve: no records, an error counted, other names unaffected.
	f.observe(evFrameworkAdded(pFramework("fw-4", "lost", "lost.example.com")), now)
	waitFor(t, 5*time.Second, "the failed lookup to be counted", func() bool {
		return tf.counter("strata_dns_feed_host_lookups_total", "result", "error") == 1
	})
	if set.Exists("lost.mesos.") {
		t.Error("lost.mesos. exists although its host does not resolve")
	}
	if got := tf.counter("strata_dns_feed_host_lookups_total", "result", "ok"); got != 2 {
		t.Errorf("successful lookups = %v, want 2", got)
	}

	// A framework removed while its lookup is pending stays removed when the answer comes.
	gate2 := make(chan struct{})
	fl.mu.Lock()
	fl.addrs["late.example.com"] = []netip.Addr{netip.MustParseAddr("10.0.0.10")}
	fl.gates["late.example.com"] = gate2
	fl.mu.Unlock()
	f.observe(evFrameworkAdded(pFramework("fw-5", "late", "late.example.com")), now)
	f.observe(evFrameworkRemoved("fw-5"), now)
	close(gate2)
	waitFor(t, 5*time.Second, "the late lookup to answer", func() bool {
		return tf.counter("strata_dns_feed_host_lookups_total", "result", "ok") == 3
	})
	if set.Exists("late.mesos.") {
		t.Error("late.mesos. came back after its framework was removed")
	}
}

func TestLookupHost(t *testing.T) {
	tests := []struct{ pid, hostname, want string }{
		{"", "10.0.0.1", ""},
		{"", "2001:db8::1", ""},
		{"", "", ""},
		{"", "sched.example.com", "sched.example.com"},
		{"scheduler(1)@10.0.0.5:15101", "sched.example.com", ""},
		{"scheduler(1)@sched-pid.example.com:15101", "10.0.0.5", "sched-pid.example.com"},
		{"not a pid", "agent.example.com", "agent.example.com"},
	}
	for _, tt := range tests {
		if got := lookupHost(tt.pid, tt.hostname); got != tt.want {
			t.Errorf("lookupHost(%q, %q) = %q, want %q", tt.pid, tt.hostname, got, tt.want)
		}
	}
}
