package server

import (
	"fmt"
	"testing"
	"time"

	"github.com/miekg/dns"
)

func answer(name string, ttl uint32) *dns.Msg {
	m := new(dns.Msg)
	m.SetQuestion(name, dns.TypeA)
	m.Response = true
	rr, _ := dns.NewRR(fmt.Sprintf("%s %d IN A 192.0.2.1", name, ttl))
	m.Answer = []dns.RR{rr}
	return m
}

func TestCacheTTL(t *testing.T) {
	c := newCache(10)
	now := time.Unix(1000, 0)
	k := cacheKey{name: "a.example.", qtype: dns.TypeA, qclass: dns.ClassINET}
	c.put(k, answer("a.example.", 30), now)
	if m := c.get(k, now.Add(10*time.Second)); m == nil || m.Answer[0].Header().Ttl != 20 {
		t.Fatalf("after 10 s: %v", m)
	}
	// The stored answer is not modified by a reader.
	if m := c.get(k, now.Add(12*time.Second)); m == nil || m.Answer[0].Header().Ttl != 18 {
		t.Fatalf("after 12 s: %v", m)
	}
	if m := c.get(k, now.Add(30*time.Second)); m != nil {
		t.Fatalf("expired entry served: %v", m)
	}
	if c.len() != 0 {
		t.Errorf("expired entry kept: %d", c.len())
	}
	if c.get(cacheKey{name: "a.example.", qtype: dns.TypeA, qclass: dns.ClassINET, do: true}, now) != nil {
		t.Error("DO bit not part of the key")
	}
}

func TestCacheBoundLRU(t *testing.T) {
	c := newCache(3)
	now := time.Unix(1000, 0)
	key := func(i int) cacheKey { return cacheKey{name: fmt.Sprintf("n%d.example.", i), qtype: dns.TypeA} }
	for i := range 3 {
		c.put(key(i), answer(key(i).name, 300), now)
	}
	c.get(key(0), now) // 0 is now the most recent; 1 the least
	c.put(key(3), answer(key(3).name, 300), now)
	if c.len() != 3 {
		t.Fatalf("len %d, want 3", c.len())
	}
	if c.get(key(1), now) != nil {
		t.Error("least recently used entry not evicted")
	}
	for _, i := range []int{0, 2, 3} {
		if c.get(key(i), now) == nil {
			t.Errorf("entry %d evicted", i)
		}
	}
	c.put(key(3), answer(key(3).name, 60), now) // replace in place
	if c.len() != 3 {
		t.Errorf("len %d after a replace", c.len())
	}
}

func TestCacheTTLRules(t *testing.T) {
	soa, _ := dns.NewRR("example. 600 IN SOA ns.example. host.example. 1 60 60 600 120")
	bigSOA, _ := dns.NewRR("example. 86400 IN SOA ns.example. host.example. 1 60 60 600 86400")
	tests := []struct {
		name string
		m    func() *dns.Msg
		ttl  time.Duration
		ok   bool
	}{
		{"positive", func() *dns.Msg { return answer("a.example.", 30) }, 30 * time.Second, true},
		{"capped", func() *dns.Msg { return answer("a.example.", 1<<30) }, maxCacheTTL, true},
		{"zero TTL", func() *dns.Msg { return answer("a.example.", 0) }, 0, false},
		{"truncated", func() *dns.Msg { m := answer("a.example.", 30); m.Truncated = true; return m }, 0, false},
		{"servfail", func() *dns.Msg { m := answer("a.example.", 30); m.Rcode = dns.RcodeServerFailure; return m }, 0, false},
		{"nxdomain", func() *dns.Msg { m := new(dns.Msg); m.Rcode = dns.RcodeNameError; m.Ns = []dns.RR{soa}; return m }, 120 * time.Second, true},
		{"nodata capped", func() *dns.Msg { m := new(dns.Msg); m.Ns = []dns.RR{bigSOA}; return m }, maxNegativeTTL, true},
		{"negative without SOA", func() *dns.Msg { m := new(dns.Msg); m.Rcode = dns.RcodeNameError; return m }, 0, false},
	}
	for _, tc := range tests {
		ttl, ok := cacheTTL(tc.m())
		if ttl != tc.ttl || ok != tc.ok {
			t.Errorf("%s: %v %v, want %v %v", tc.name, ttl, ok, tc.ttl, tc.ok)
		}
	}
}
