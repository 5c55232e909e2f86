package allocator

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

func TestRefusalFilterDuration(t *testing.T) {
	tests := []struct {
		name    string
		filter  *Filter
		blocked time.Duration // how long the same offer stays withheld
	}{
		{"nil installs nothing", nil, 0},
		{"zero installs nothing", &Filter{RefuseSeconds: 0}, 0},
		{"default 5s", DefaultFilter(), 5 * time.Second},
		{"negative means default", &Filter{RefuseSeconds: -1}, 5 * time.Second},
		{"at least one interval", &Filter{RefuseSeconds: 0.1}, time.Second},
		{"explicit", &Filter{RefuseSeconds: 30}, 30 * time.Second},
		{"capped at 365 days", &Filter{RefuseSeconds: 1e12}, MaxRefuse},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, Config{})
			h.agent("a1", "cpus:1;mem:64")
			h.fw("f", "r")
			h.decline(h.allocate()[0], tt.filter)
			if tt.blocked == 0 {
				if len(h.allocate()) != 1 {
					t.Fatal("offer withheld without a filter")
				}
				return
			}
			h.advance(tt.blocked - time.Millisecond)
			if n := len(h.allocate()); n != 0 {
				t.Fatalf("re-offered before %v", tt.blocked)
			}
			h.advance(time.Millisecond)
			if n := len(h.allocate()); n != 1 {
				t.Fatalf("not re-offered at %v", tt.blocked)
			}
			if h.a.FilterCount("f") != 0 {
				t.Fatal("expired filter kept")
			}
		})
	}
}

func TestRefusalFilterScope(t *testing.T) {
	h := newHarness(t, Config{})
	h.agent("a1", "cpus:1;mem:64")
	h.fw("f1", "r")
	h.fw("f2", "r")
	o := h.allocate()[0]
	if o.FrameworkID != "f1" {
		t.Fatalf("first offer to %s", o.FrameworkID)
	}
	h.decline(o, DefaultFilter())
	// The next framework of the role gets the declined resources.
	wantOffers(t, h.allocate(), "a1 f2 r: cpus:1;mem:64")
}

func TestRefusalFilterContainment(t *testing.T) {
	h := newHarness(t, Config{})
	h.agent("a1", "cpus:4;mem:256;ports:[1-10]")
	h.fw("f", "r")
	o := h.allocate()[0]
	// Launch a task, decline the rest with a long filter.
	task := MustParseResources("cpus:1;mem:64;ports:[1-1]")
	rest := o.Resources.Clone()
	rest.Subtract(task)
	if err := h.a.RecoverResources("a1", "f", "r", rest, &Filter{RefuseSeconds: 60}); err != nil {
		t.Fatal(err)
	}
	wantOffers(t, h.allocate()) // the refused set contains the offer
	// The task finishes: the agent now has more than was refused, so the
	// filter no longer contains the candidate offer.
	if err := h.a.RecoverResources("a1", "f", "r", task, nil); err != nil {
		t.Fatal(err)
	}
	wantOffers(t, h.allocate(), "a1 f r: cpus:4;mem:256;ports:[1-10]")
}

func TestRefusalFilterPerRoleAndRevive(t *testing.T) {
	h := newHarness(t, Config{})
	h.agent("a1", "cpus(a):1;mem(a):64;cpus(b):1;mem(b):64")
	h.fw("m", "a", "b")
	for _, o := range h.allocate() {
		h.decline(o, &Filter{RefuseSeconds: 600})
	}
	if got := h.a.FilterCount("m"); got != 2 {
		t.Fatalf("filters = %d, want 2", got)
	}
	wantOffers(t, h.allocate())
	if err := h.a.Revive("m", "b"); err != nil {
		t.Fatal(err)
	}
	wantOffers(t, h.allocate(), "a1 m b: cpus(b):1;mem(b):64")
	if err := h.a.Revive("m"); err != nil { // all roles
		t.Fatal(err)
	}
	wantOffers(t, h.allocate(), "a1 m a: cpus(a):1;mem(a):64")
	if h.a.FilterCount("m") != 0 {
		t.Fatal("revive left filters")
	}
}

func TestFiltersClearedOnDeactivateAndAgentChange(t *testing.T) {
	h := newHarness(t, Config{})
	h.agent("a1", "cpus:1;mem:64")
	h.fw("f", "r")
	h.decline(h.allocate()[0], &Filter{RefuseSeconds: 600})
	if err := h.a.DeactivateFramework("f"); err != nil {
		t.Fatal(err)
	}
	if err := h.a.ActivateFramework("f"); err != nil {
		t.Fatal(err)
	}
	h.decline(h.allocate()[0], &Filter{RefuseSeconds: 600})
	// Same attributes: filters stay.
	if err := h.a.UpdateAgent("a1", MustParseResources("cpus:1;mem:64"), map[string]string{}); err != nil {
		t.Fatal(err)
	}
	if h.a.FilterCount("f") != 1 {
		t.Fatal("filter dropped without an attribute change")
	}
	if err := h.a.UpdateAgent("a1", MustParseResources("cpus:1;mem:64"), map[string]string{"rack": "x"}); err != nil {
		t.Fatal(err)
	}
	if h.a.FilterCount("f") != 0 {
		t.Fatal("filters kept after the agent's attributes changed")
	}
	offers := h.allocate()
	wantOffers(t, offers, "a1 f r: cpus:1;mem:64")
	h.decline(offers[0], &Filter{RefuseSeconds: 600})
	wantOffers(t, h.allocate())
	h.decline(Offer{}, nil) // no-op: empty resources
	if err := h.a.RemoveAgent("a1"); err != nil {
		t.Fatal(err)
	}
	if h.a.FilterCount("f") != 0 {
		t.Fatal("filters kept for a removed agent")
	}
	checkInvariants(t, h.a)
}

// TestExpiryPassDeterministic: agents whose filters expire together are
// collected while walking maps; the pass over them must still be a pure
// function of the seed.
func TestExpiryPassDeterministic(t *testing.T) {
	run := func() []string {
		h := newHarness(t, Config{Seed: 3})
		for i := range 20 {
			h.agent(fmt.Sprintf("a%02d", i), "cpus:1;mem:64")
		}
		h.fw("f1", "r")
		h.fw("f2", "r")
		for range 2 { // each framework declines every agent once
			for _, o := range h.a.AllocatePending(h.now) {
				h.decline(o, DefaultFilter())
			}
		}
		if got := h.a.AllocatePending(h.now); len(got) != 0 {
			t.Fatalf("offers while everything is filtered: %v", describe(got))
		}
		h.advance(5 * time.Second)
		var out []string
		for _, o := range h.a.AllocatePending(h.now) {
			out = append(out, o.AgentID+"→"+o.FrameworkID)
		}
		if len(out) != 20 {
			t.Fatalf("offers after expiry = %d, want 20", len(out))
		}
		return out
	}
	first := run()
	for range 5 {
		if got := run(); !slices.Equal(got, first) {
			t.Fatalf("expiry pass differs between identical runs:\n%v\n%v", first, got)
		}
	}
}

func TestExpiryQueueOrderAndCompaction(t *testing.T) {
	h := newHarness(t, Config{})
	for i := range 10 {
		h.agent(fmt.Sprintf("a%d", i), "cpus:1;mem:64")
	}
	h.fw("f", "r")
	// Decline with decreasing durations: expiries arrive out of order and
	// take the heap path.
	offers := h.allocate()
	for i, o := range offers {
		h.decline(o, &Filter{RefuseSeconds: float64(20 - i)})
	}
	checkInvariants(t, h.a)
	for step := 1; step <= 20; step++ {
		h.advance(time.Second)
		got := len(h.a.AllocatePending(h.now))
		want := 0
		if step >= 11 {
			want = 1 // one filter (20-i seconds) expires per second
		}
		if got != want {
			t.Fatalf("t+%ds: %d offers, want %d", step, got, want)
		}
		checkInvariants(t, h.a)
	}
	// Many revives of long filters leave stale queue entries; the queue is
	// rebuilt before they pile up.
	for range 50 {
		for _, o := range h.allocate() {
			h.decline(o, &Filter{RefuseSeconds: 3600})
		}
		if err := h.a.Revive("f"); err != nil {
			t.Fatal(err)
		}
	}
	if n := h.a.expiries.len(); n > 2*h.a.filterCount+64+1 {
		t.Fatalf("expiry queue holds %d entries for %d filters", n, h.a.filterCount)
	}
	checkInvariants(t, h.a)
}
