package allocator

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"
)

func TestWholeAgentToOneFramework(t *testing.T) {
	h := newHarness(t, Config{})
	h.agent("a1", "cpus:4;mem:1024;disk:10;ports:[31000-32000];zones:{x}")
	h.fw("f1", "web")
	offers := h.allocate()
	wantOffers(t, offers, "a1 f1 web: cpus:4;mem:1024;disk:10;ports:[31000-32000];zones:{x}")
	if o := offers[0]; o.Hostname != "host-a1" {
		t.Errorf("hostname = %q", o.Hostname)
	}
	// Nothing is offered twice while allocated.
	wantOffers(t, h.allocate())
	if free, _ := h.a.Available("a1"); !free.IsEmpty() {
		t.Fatalf("free after offer: %s", free)
	}
	// Recovered resources come back.
	h.decline(offers[0], nil)
	wantOffers(t, h.allocate(), "a1 f1 web: cpus:4;mem:1024;disk:10;ports:[31000-32000];zones:{x}")
}

func TestPartialRecoverAndTaskAccounting(t *testing.T) {
	h := newHarness(t, Config{})
	h.agent("a1", "cpus:4;mem:1024;ports:[1-10]")
	h.fw("f1", "web")
	o := h.allocate()[0]
	task := MustParseResources("cpus:1;mem:256;ports:[3-3]")
	unused := o.Resources.Clone()
	unused.Subtract(task)
	if err := h.a.RecoverResources("a1", "f1", "web", unused, nil); err != nil {
		t.Fatal(err)
	}
	if got := h.a.Allocated("a1", "f1", "web"); !got.Equal(task) {
		t.Fatalf("allocated = %s, want %s", got, task)
	}
	wantOffers(t, h.allocate(), "a1 f1 web: cpus:3;mem:768;ports:[1-2,4-10]")
	// Recovering more than is allocated fails and changes nothing.
	err := h.a.RecoverResources("a1", "f1", "web", MustParseResources("cpus:5"), nil)
	if !errors.Is(err, ErrNotAllocated) {
		t.Fatalf("over-recover error = %v", err)
	}
	err = h.a.RecoverResources("a1", "f1", "other", task, nil)
	if !errors.Is(err, ErrNotAllocated) {
		t.Fatalf("wrong-role recover error = %v", err)
	}
	checkInvariants(t, h.a)
	// Unknown agents and frameworks are a no-op, as in Mesos.
	if err := h.a.RecoverResources("gone", "f1", "web", task, nil); err != nil {
		t.Fatal(err)
	}
	if err := h.a.RecoverResources("a1", "gone", "web", task, nil); err != nil {
		t.Fatal(err)
	}
}

func TestDRFOrderWithinRole(t *testing.T) {
	h := newHarness(t, Config{Seed: 7})
	for i := range 6 {
		h.agent(fmt.Sprintf("a%d", i), "cpus:1;mem:100")
	}
	h.fw("f1", "r")
	h.fw("f2", "r")
	h.fw("f3", "r")
	// Equal shares: each framework gets one agent in turn, so two each.
	got := countBy(h.allocate())
	if got["f1"] != 2 || got["f2"] != 2 || got["f3"] != 2 {
		t.Fatalf("offers per framework = %v, want 2 each", got)
	}
}

func TestDRFFavoursLowestDominantShare(t *testing.T) {
	h := newHarness(t, Config{})
	h.agent("big", "cpus:10;mem:1000")
	h.agent("x", "cpus:1;mem:10")
	h.fw("f1", "r")
	h.fw("f2", "r")
	// Cluster: 11 cpus, 1010 mem. f1 holds 5 cpus (share 0.45); f2 holds
	// fewer cpus but 400 mem (share 0.40), so f2 is first.
	if err := h.a.AddAllocation("big", "f1", "r", MustParseResources("cpus:5;mem:1")); err != nil {
		t.Fatal(err)
	}
	if err := h.a.AddAllocation("big", "f2", "r", MustParseResources("cpus:1;mem:400")); err != nil {
		t.Fatal(err)
	}
	if err := h.a.DeactivateAgent("big"); err != nil {
		t.Fatal(err)
	}
	wantOffers(t, h.allocate(), "x f2 r: cpus:1;mem:10")
}

func TestRoleWeights(t *testing.T) {
	h := newHarness(t, Config{Seed: 1})
	for i := range 8 {
		h.agent(fmt.Sprintf("a%d", i), "cpus:1;mem:100")
	}
	h.fw("fa", "a")
	h.fw("fb", "b")
	if err := h.a.UpdateWeights(map[string]float64{"a": 3}); err != nil {
		t.Fatal(err)
	}
	got := countBy(h.allocate())
	if got["fa"] != 6 || got["fb"] != 2 {
		t.Fatalf("offers = %v, want fa:6 fb:2 (weight 3:1)", got)
	}
	if err := h.a.UpdateWeights(map[string]float64{"a": 0}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("zero weight error = %v", err)
	}
	if h.a.Weight("a") != 3 || h.a.Weight("zzz") != 1 {
		t.Fatalf("weights wrong")
	}
}

func TestFairnessExcludedResources(t *testing.T) {
	for _, tt := range []struct {
		excluded []string
		want     string
	}{
		{nil, "f2"},              // f1 dominates on gpus (100%), so f2 is first
		{[]string{"gpus"}, "f1"}, // ignoring gpus, f1 has less cpu than f2
	} {
		h := newHarness(t, Config{FairnessExcluded: tt.excluded, OfferGPUAgentsToAll: true})
		h.agent("g", "cpus:10;mem:1000;gpus:1")
		h.agent("x", "cpus:1;mem:10")
		h.fw("f1", "r")
		h.fw("f2", "r")
		if err := h.a.AddAllocation("g", "f1", "r", MustParseResources("cpus:1;gpus:1")); err != nil {
			t.Fatal(err)
		}
		if err := h.a.AddAllocation("g", "f2", "r", MustParseResources("cpus:3")); err != nil {
			t.Fatal(err)
		}
		offers := h.allocate()
		var got []string
		for _, o := range offers {
			if o.AgentID == "x" {
				got = append(got, o.FrameworkID)
			}
		}
		if len(got) != 1 || got[0] != tt.want {
			t.Errorf("excluded=%v: x offered to %v, want %s", tt.excluded, got, tt.want)
		}
	}
}

func TestDeterministicGivenSeed(t *testing.T) {
	run := func(seed uint64) []string {
		h := newHarness(t, Config{Seed: seed})
		for i := range 50 {
			h.agent(fmt.Sprintf("a%02d", i), "cpus:2;mem:100")
		}
		for i := range 7 {
			h.fw(fmt.Sprintf("f%d", i), fmt.Sprintf("r%d", i%3))
		}
		var out []string
		for _, o := range h.allocate() {
			out = append(out, o.AgentID+"→"+o.FrameworkID)
		}
		return out
	}
	a, b, c := run(1), run(1), run(2)
	if !slices.Equal(a, b) {
		t.Fatalf("same seed, different offers")
	}
	if slices.Equal(a, c) {
		t.Fatalf("different seeds gave identical agent order (shuffle not applied?)")
	}
}

func TestReservationsOnlyForTheirRole(t *testing.T) {
	h := newHarness(t, Config{})
	h.agent("a1", "cpus:2;mem:64;cpus(ops):3;mem(ops):128")
	h.fw("dev", "dev")
	wantOffers(t, h.allocate(), "a1 dev dev: cpus:2;mem:64")
	h.fw("ops", "ops")
	wantOffers(t, h.allocate(), "a1 ops ops: cpus(ops):3;mem(ops):128")
}

func TestReservationsForAncestorRoles(t *testing.T) {
	h := newHarness(t, Config{})
	h.agent("a1", "cpus(eng):1;mem(eng):64")
	h.agent("a2", "cpus(engineering):1;mem(engineering):64")
	h.fw("web", "eng/web")
	wantOffers(t, h.allocate(), "a1 web eng/web: cpus(eng):1;mem(eng):64")
}

func TestMultiRoleOneOfferPerRolePerAgent(t *testing.T) {
	h := newHarness(t, Config{})
	h.agent("a1", "cpus:1;mem:64;cpus(a):1;mem(a):64;cpus(b):1;mem(b):64")
	h.fw("m", "a", "b")
	offers := h.allocate()
	// Roles tie at zero share, so "a" goes first and takes the unreserved
	// part with its reservation; "b" gets its reservation.
	wantOffers(t, offers,
		"a1 m a: cpus:1;mem:64;cpus(a):1;mem(a):64",
		"a1 m b: cpus(b):1;mem(b):64")
	err := h.a.AddFramework("single", FrameworkInfo{Roles: []string{"a", "b"}}, true)
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("two roles without MULTI_ROLE: %v", err)
	}
}

func TestMinAllocatable(t *testing.T) {
	tests := []struct {
		name  string
		cfg   []Quantities
		fwMin map[string][]Quantities
		res   string
		offer bool
	}{
		{"default rejects crumbs", nil, nil, "cpus:0.005;mem:16", false},
		{"default accepts cpus only", nil, nil, "cpus:0.01", true},
		{"default accepts mem only", nil, nil, "mem:32;disk:5", true},
		{"disabled", []Quantities{}, nil, "disk:1", true},
		{"all of one set", mustMin(t, "cpus:1;mem:64|gpus:1"), nil, "cpus:1;mem:63", false},
		{"any set", mustMin(t, "cpus:1;mem:64|disk:5"), nil, "cpus:1;mem:63;disk:5", true},
		{"ports count", mustMin(t, "ports:10"), nil, "cpus:1;ports:[1-9]", false},
		{"framework override", nil, map[string][]Quantities{"r": mustMin(t, "disk:1")}, "disk:1", true},
		{"framework override empty", nil, map[string][]Quantities{"r": {}}, "cpus:0.001", true},
		{"override for other role", nil, map[string][]Quantities{"x": {}}, "cpus:0.001", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, Config{MinAllocatable: tt.cfg})
			h.agent("a1", tt.res)
			h.fwInfo("f", FrameworkInfo{Roles: []string{"r"}, MinAllocatable: tt.fwMin})
			if got := len(h.allocate()); got != map[bool]int{false: 0, true: 1}[tt.offer] {
				t.Fatalf("offers = %d, want offer=%v", got, tt.offer)
			}
		})
	}
}

func mustMin(t *testing.T, s string) []Quantities {
	t.Helper()
	qs, err := ParseMinAllocatable(s)
	if err != nil {
		t.Fatal(err)
	}
	return qs
}

func TestDeactivatedAgentsAndFrameworksGetNothing(t *testing.T) {
	h := newHarness(t, Config{})
	h.agent("a1", "cpus:1;mem:64")
	h.fw("f", "r")
	if err := h.a.DeactivateAgent("a1"); err != nil {
		t.Fatal(err)
	}
	wantOffers(t, h.allocate())
	if err := h.a.ActivateAgent("a1"); err != nil {
		t.Fatal(err)
	}
	if err := h.a.DeactivateFramework("f"); err != nil {
		t.Fatal(err)
	}
	wantOffers(t, h.allocate())
	if err := h.a.ActivateFramework("f"); err != nil {
		t.Fatal(err)
	}
	wantOffers(t, h.allocate(), "a1 f r: cpus:1;mem:64")
}

func TestRemoveFrameworkReturnsAllocations(t *testing.T) {
	h := newHarness(t, Config{})
	h.agent("a1", "cpus:2;mem:64")
	h.fw("f1", "r")
	o := h.allocate()[0]
	if o.FrameworkID != "f1" {
		t.Fatalf("offer to %s", o.FrameworkID)
	}
	h.fw("f2", "r")
	wantOffers(t, h.allocate())
	if err := h.a.RemoveFramework("f1"); err != nil {
		t.Fatal(err)
	}
	wantOffers(t, h.allocate(), "a1 f2 r: cpus:2;mem:64")
	if err := h.a.RemoveFramework("f1"); !errors.Is(err, ErrUnknownFramework) {
		t.Fatalf("second removal: %v", err)
	}
	if got := h.a.Frameworks(); !slices.Equal(got, []string{"f2"}) {
		t.Fatalf("frameworks = %v", got)
	}
}

func TestRemoveAgent(t *testing.T) {
	h := newHarness(t, Config{})
	h.agent("a1", "cpus:2;mem:64")
	h.agent("a2", "cpus:2;mem:64")
	h.fw("f1", "r")
	h.allocate()
	if err := h.a.RemoveAgent("a1"); err != nil {
		t.Fatal(err)
	}
	checkInvariants(t, h.a)
	if fr := h.a.frameworks["f1"].roles["r"]; fr.alloc.Get(Cpus) != 2 {
		t.Fatalf("f1 still accounted %s", fr.alloc)
	}
	if err := h.a.RemoveAgent("a1"); !errors.Is(err, ErrUnknownAgent) {
		t.Fatalf("second removal: %v", err)
	}
	if err := h.a.AddAgent("a2", "h", Resources{}, nil); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("duplicate agent: %v", err)
	}
	if got := h.a.Stats().Agents; got != 1 {
		t.Fatalf("agents = %d", got)
	}
}

func TestUpdateAgentTotal(t *testing.T) {
	h := newHarness(t, Config{})
	h.agent("a1", "cpus:2;mem:64")
	h.fw("f1", "r")
	h.allocate()
	if err := h.a.UpdateAgent("a1", MustParseResources("cpus:3;mem:64;ports:[1-5]"), nil); err != nil {
		t.Fatal(err)
	}
	// Only the growth is free: it falls below min_allocatable unless it has
	// cpus, which it does.
	wantOffers(t, h.allocate(), "a1 f1 r: cpus:1;ports:[1-5]")
}

func TestGPUAgentsOnlyForGPUFrameworks(t *testing.T) {
	h := newHarness(t, Config{})
	h.agent("g", "cpus:1;mem:64;gpus:1")
	h.fw("plain", "r")
	wantOffers(t, h.allocate())
	h.fwInfo("gpu", FrameworkInfo{Roles: []string{"r"}, Capabilities: Capabilities{GPUResources: true}})
	wantOffers(t, h.allocate(), "g gpu r: cpus:1;mem:64;gpus:1")
}

func TestOfferConstraints(t *testing.T) {
	h := newHarness(t, Config{})
	if err := h.a.AddAgent("a1", "h1", MustParseResources("cpus:1"), map[string]string{"rack": "r1"}); err != nil {
		t.Fatal(err)
	}
	if err := h.a.AddAgent("a2", "h2", MustParseResources("cpus:1"), map[string]string{"rack": "r2"}); err != nil {
		t.Fatal(err)
	}
	h.fwInfo("f", FrameworkInfo{Roles: []string{"r"}, OfferConstraints: map[string]func(AgentInfo) bool{
		"r": func(a AgentInfo) bool { return a.Attributes["rack"] == "r2" },
	}})
	wantOffers(t, h.allocate(), "a2 f r: cpus:1")
}

func TestAddAllocationValidation(t *testing.T) {
	h := newHarness(t, Config{})
	h.agent("a1", "cpus:2;mem:64")
	h.fw("f", "r")
	if err := h.a.AddAllocation("a1", "f", "r", MustParseResources("cpus:3")); !errors.Is(err, ErrNotAvailable) {
		t.Fatalf("over-allocation: %v", err)
	}
	if err := h.a.AddAllocation("nope", "f", "r", MustParseResources("cpus:1")); !errors.Is(err, ErrUnknownAgent) {
		t.Fatalf("unknown agent: %v", err)
	}
	if err := h.a.AddAllocation("a1", "nope", "r", MustParseResources("cpus:1")); !errors.Is(err, ErrUnknownFramework) {
		t.Fatalf("unknown framework: %v", err)
	}
	// A role the framework no longer subscribes to is still accounted.
	if err := h.a.AddAllocation("a1", "f", "old", MustParseResources("cpus:1")); err != nil {
		t.Fatal(err)
	}
	wantOffers(t, h.allocate(), "a1 f r: cpus:1;mem:64")
	if err := h.a.RecoverResources("a1", "f", "old", MustParseResources("cpus:1"), nil); err != nil {
		t.Fatal(err)
	}
	checkInvariants(t, h.a)
	if _, ok := h.a.roles["old"]; ok {
		t.Fatalf("role 'old' still tracked after its last resources were recovered")
	}
}

func TestUpdateFramework(t *testing.T) {
	h := newHarness(t, Config{})
	h.agent("a1", "cpus:1;mem:64;cpus(b):1;mem(b):64")
	h.fw("f", "a")
	wantOffers(t, h.allocate(), "a1 f a: cpus:1;mem:64")
	err := h.a.UpdateFramework("f", FrameworkInfo{Roles: []string{"b"}})
	if err != nil {
		t.Fatal(err)
	}
	// Role a is gone but still holds the first offer's resources.
	wantOffers(t, h.allocate(), "a1 f b: cpus(b):1;mem(b):64")
	if err := h.a.UpdateFramework("f", FrameworkInfo{Roles: []string{"a", "b"}}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("multi role without capability: %v", err)
	}
	info := FrameworkInfo{Roles: []string{"a", "b"}, Capabilities: Capabilities{MultiRole: true}, SuppressedRoles: []string{"a"}}
	if err := h.a.UpdateFramework("f", info); err != nil {
		t.Fatal(err)
	}
	if got := h.a.SuppressedRoles("f"); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("suppressed = %v", got)
	}
	checkInvariants(t, h.a)
}

func TestSuppressAndRevivePerRole(t *testing.T) {
	h := newHarness(t, Config{})
	h.agent("a1", "cpus(a):1;mem(a):64;cpus(b):1;mem(b):64")
	h.fw("m", "a", "b")
	if err := h.a.Suppress("m", "a"); err != nil {
		t.Fatal(err)
	}
	wantOffers(t, h.allocate(), "a1 m b: cpus(b):1;mem(b):64")
	if err := h.a.Suppress("m"); err != nil { // all roles
		t.Fatal(err)
	}
	if h.a.HasWork(h.now) {
		t.Fatalf("HasWork with every role suppressed")
	}
	wantOffers(t, h.allocate())
	if err := h.a.Revive("m", "a"); err != nil {
		t.Fatal(err)
	}
	wantOffers(t, h.allocate(), "a1 m a: cpus(a):1;mem(a):64")
	if err := h.a.Suppress("m", "zzz"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("unknown role: %v", err)
	}
	if err := h.a.Revive("nope"); !errors.Is(err, ErrUnknownFramework) {
		t.Fatalf("unknown framework: %v", err)
	}
}

func TestHasWorkAndPendingPasses(t *testing.T) {
	h := newHarness(t, Config{})
	if h.a.HasWork(h.now) {
		t.Fatal("empty allocator has work")
	}
	h.agent("a1", "cpus:1;mem:64")
	h.agent("a2", "cpus:1;mem:64")
	if h.a.HasWork(h.now) {
		t.Fatal("work without frameworks")
	}
	h.fw("f", "r")
	if !h.a.HasWork(h.now) {
		t.Fatal("no work after a framework was added")
	}
	offers := h.a.AllocatePending(h.now)
	if len(offers) != 2 || h.a.HasWork(h.now) {
		t.Fatalf("pending pass: %d offers, work left %v", len(offers), h.a.HasWork(h.now))
	}
	if got := h.a.AllocatePending(h.now); got != nil {
		t.Fatalf("idle pending pass offered %v", describe(got))
	}
	// Recovery dirties just that agent.
	for _, o := range offers {
		if o.AgentID == "a1" {
			h.decline(o, &Filter{RefuseSeconds: 3})
		}
	}
	if !h.a.HasWork(h.now) {
		t.Fatal("no work after a recovery")
	}
	before := h.a.Stats()
	wantOffers(t, h.a.AllocatePending(h.now)) // filtered for 3 s
	after := h.a.Stats()
	if after.FullPasses != before.FullPasses || after.AgentsVisited-before.AgentsVisited != 1 {
		t.Fatalf("pending pass was not targeted: %+v -> %+v", before, after)
	}
	if h.a.HasWork(h.now.Add(2 * time.Second)) {
		t.Fatal("work before the filter expires")
	}
	if exp, ok := h.a.NextExpiry(); !ok || !exp.Equal(h.now.Add(3*time.Second)) {
		t.Fatalf("NextExpiry = %v %v", exp, ok)
	}
	h.advance(3 * time.Second)
	if !h.a.HasWork(h.now) {
		t.Fatal("no work once the filter expired")
	}
	wantOffers(t, h.a.AllocatePending(h.now), "a1 f r: cpus:1;mem:64")
	if h.a.HasWork(h.now) {
		t.Fatal("work left")
	}
}

func TestAllocateAgentsIsTargeted(t *testing.T) {
	h := newHarness(t, Config{})
	h.agent("a1", "cpus:1;mem:64")
	h.agent("a2", "cpus:1;mem:64")
	h.fw("f", "r")
	wantOffers(t, h.a.AllocateAgents(h.now, "a2", "unknown"), "a2 f r: cpus:1;mem:64")
	checkInvariants(t, h.a)
	wantOffers(t, h.allocate(), "a1 f r: cpus:1;mem:64")
}

func TestStats(t *testing.T) {
	h := newHarness(t, Config{})
	h.agent("a1", "cpus:1;mem:64")
	h.agent("a2", "cpus:1;mem:64")
	h.fw("f", "r")
	offers := h.allocate()
	h.decline(offers[0], DefaultFilter())
	h.allocate()
	s := h.a.Stats()
	if s.Passes != 2 || s.FullPasses != 2 || s.Offers != 2 || s.Agents != 2 || s.ActiveAgents != 2 ||
		s.Frameworks != 1 || s.Roles != 1 || s.Filters != 1 || s.FilteredOffers != 1 {
		t.Fatalf("stats = %+v", s)
	}
	if s.TotalPass < s.LastPass || s.MaxPass < s.LastPass {
		t.Fatalf("durations inconsistent: %+v", s)
	}
}

func TestValidation(t *testing.T) {
	a := New(Config{})
	for _, info := range []FrameworkInfo{
		{},
		{Roles: []string{""}},
		{Roles: []string{"a/../b"}},
		{Roles: []string{"a"}, SuppressedRoles: []string{"b"}},
	} {
		if err := a.AddFramework("f", info, true); !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrSyntax) {
			t.Errorf("AddFramework(%+v) = %v", info, err)
		}
	}
	if err := a.AddFramework("", FrameworkInfo{Roles: []string{"a"}}, true); !errors.Is(err, ErrInvalid) {
		t.Errorf("empty id: %v", err)
	}
	if err := a.AddAgent("", "h", Resources{}, nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("empty agent id: %v", err)
	}
	for _, op := range []func() error{
		func() error { return a.ActivateAgent("x") },
		func() error { return a.DeactivateAgent("x") },
		func() error { return a.UpdateAgent("x", Resources{}, nil) },
	} {
		if err := op(); !errors.Is(err, ErrUnknownAgent) {
			t.Errorf("unknown agent: %v", err)
		}
	}
	for _, op := range []func() error{
		func() error { return a.ActivateFramework("x") },
		func() error { return a.DeactivateFramework("x") },
		func() error { return a.UpdateFramework("x", FrameworkInfo{Roles: []string{"a"}}) },
		func() error { return a.Suppress("x") },
	} {
		if err := op(); !errors.Is(err, ErrUnknownFramework) {
			t.Errorf("unknown framework: %v", err)
		}
	}
}

func TestUpdateAllocationReserve(t *testing.T) {
	h := newHarness(t, Config{})
	h.agent("a1", "cpus:2;mem:64")
	h.fw("f", "r")
	o := h.allocate()[0]
	// RESERVE cpus:1 for r inside the offer.
	from, to := MustParseResources("cpus:1"), MustParseResources("cpus(r):1")
	if err := h.a.UpdateAllocation("a1", "f", "r", from, to); err != nil {
		t.Fatal(err)
	}
	checkInvariants(t, h.a)
	converted := o.Resources.Clone()
	converted.Subtract(from)
	converted.Add(to)
	if got := h.a.Allocated("a1", "f", "r"); !got.Equal(converted) {
		t.Fatalf("allocation = %s, want %s", got, converted)
	}
	if err := h.a.UpdateAllocation("a1", "f", "r", from, to); err != nil {
		t.Fatal(err)
	}
	if err := h.a.UpdateAllocation("a1", "f", "r", from, to); !errors.Is(err, ErrNotAllocated) {
		t.Fatalf("converting missing resources: %v", err)
	}
	h.decline(Offer{AgentID: "a1", FrameworkID: "f", Role: "r", Resources: h.a.Allocated("a1", "f", "r")}, nil)
	h.fw("g", "other")
	if err := h.a.Suppress("f"); err != nil {
		t.Fatal(err)
	}
	// The other role sees only what is still unreserved: mem.
	wantOffers(t, h.allocate(), "a1 g other: mem:64")
	if err := h.a.UpdateAllocation("zz", "f", "r", from, to); !errors.Is(err, ErrUnknownAgent) {
		t.Fatal(err)
	}
	if err := h.a.UpdateAllocation("a1", "zz", "r", from, to); !errors.Is(err, ErrUnknownFramework) {
		t.Fatal(err)
	}
}

func TestCustomScalarsInDominantShare(t *testing.T) {
	h := newHarness(t, Config{})
	h.agent("big", "cpus:10;mem:1000;licenses:10")
	h.agent("x", "cpus:1;mem:10")
	h.fw("f1", "r")
	h.fw("f2", "r")
	// f1 holds 8 of 10 licenses (share 0.8), f2 holds 5 of 11 cpus.
	if err := h.a.AddAllocation("big", "f1", "r", MustParseResources("cpus:1;licenses:8")); err != nil {
		t.Fatal(err)
	}
	if err := h.a.AddAllocation("big", "f2", "r", MustParseResources("cpus:5")); err != nil {
		t.Fatal(err)
	}
	if err := h.a.DeactivateAgent("big"); err != nil {
		t.Fatal(err)
	}
	wantOffers(t, h.allocate(), "x f2 r: cpus:1;mem:10")
}

func TestReuseOffers(t *testing.T) {
	h := newHarness(t, Config{ReuseOffers: true})
	h.agent("a1", "cpus:1;mem:64")
	h.agent("a2", "cpus:1;mem:64")
	h.fw("f", "r")
	first := h.allocate()
	kept := first[0] // copied out: stays valid
	keptRes := kept.Resources.String()
	for _, o := range first {
		h.decline(o, nil)
	}
	second := h.allocate()
	if len(second) != 2 || &first[0] != &second[0] {
		t.Fatalf("offer slice not reused (%d offers)", len(second))
	}
	if kept.Resources.String() != keptRes {
		t.Fatalf("copied-out offer changed: %s", kept.Resources)
	}
}

// TestOfferResourcesAreIndependent: callers keep offered Resources and
// change them (the master subtracts launched tasks) without touching the
// allocator's records or other offers, even though they share memory.
func TestOfferResourcesAreIndependent(t *testing.T) {
	h := newHarness(t, Config{})
	h.agent("a1", "cpus:4;mem:256;foo:3;ports:[1-100];zones:{x,y};cpus(r):1;ports(r):[200-210]")
	h.agent("a2", "cpus:4;mem:256;ports:[1-100]")
	h.fw("f", "r")
	offers := h.allocate()
	want := describe(offers)
	kept := make([]Resources, len(offers))
	for i := range offers {
		kept[i] = offers[i].Resources
		r := &offers[i].Resources
		r.Subtract(MustParseResources("cpus:1;foo:1;ports:[1-50];zones:{x};cpus(r):1;ports(r):[200-200]"))
		r.Add(MustParseResources("gpus:1;ports:[500-600];zones:{z};mem(r):1"))
		r.AddRanges("r", Ports, Range{211, 220})
	}
	checkInvariants(t, h.a)
	for i, o := range offers {
		if got := h.a.Allocated(o.AgentID, o.FrameworkID, o.Role); !got.Equal(kept[i]) {
			t.Fatalf("allocation of %s changed with the offer: %s", o.AgentID, got)
		}
		if err := h.a.RecoverResources(o.AgentID, o.FrameworkID, o.Role, kept[i], nil); err != nil {
			t.Fatal(err)
		}
	}
	if got := describe(h.allocate()); !slices.Equal(got, want) {
		t.Fatalf("re-offered:\n%v\nwant:\n%v", got, want)
	}
}

// TestSteadyStatePassesDoNotAllocate guards the allocation-free pass: once
// warm, a full pass with ReuseOffers and the recovery of its offers (with
// refusal filters expiring and being installed, as in an offer loop)
// allocate nothing; without ReuseOffers a pass allocates just the slice it
// returns.
func TestSteadyStatePassesDoNotAllocate(t *testing.T) {
	for _, reuse := range []bool{true, false} {
		a := New(Config{Seed: 3, ReuseOffers: reuse})
		now := epoch
		a.cfg.Clock = func() time.Time { return now }
		for i := range 200 {
			if err := a.AddAgent(fmt.Sprintf("a%03d", i), "h", benchAgentResources, nil); err != nil {
				t.Fatal(err)
			}
		}
		for i := range 6 {
			if err := a.AddFramework(fmt.Sprintf("f%d", i), FrameworkInfo{Roles: []string{fmt.Sprintf("r%d", i%3)}}, true); err != nil {
				t.Fatal(err)
			}
		}
		task := MustParseResources("cpus:0.001")
		cycle := func() {
			for _, o := range a.Allocate(now) {
				left := o.Resources
				left.Subtract(task) // a task keeps a little of each offer
				if err := a.RecoverResources(o.AgentID, o.FrameworkID, o.Role, left, DefaultFilter()); err != nil {
					t.Fatal(err)
				}
			}
			now = now.Add(time.Second)
		}
		for range 40 {
			cycle() // warm up: records and filters reach their steady size
		}
		want := 0.0
		if !reuse {
			want = 1
		}
		if got := testing.AllocsPerRun(20, cycle); got != want {
			t.Errorf("ReuseOffers=%v: %v allocations per cycle, want %v", reuse, got, want)
		}
	}
}
