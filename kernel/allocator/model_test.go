package allocator

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// TestRandomOperations drives the allocator with random call sequences and
// checks bookkeeping invariants after every step, plus per-offer rules:
// offers go only to active agents and to active, subscribed, unsuppressed
// framework roles, and never carry reservations of unrelated roles.
func TestRandomOperations(t *testing.T) {
	for seed := range uint64(20) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { runRandomOps(t, seed) })
	}
}

// TestRandomOperationsDeterministic replays random sequences and expects
// identical offers: nothing may depend on map iteration order.
func TestRandomOperationsDeterministic(t *testing.T) {
	for seed := range uint64(20) {
		first, second := runRandomOps(t, seed), runRandomOps(t, seed)
		if !slices.Equal(first, second) {
			t.Fatalf("seed %d: two runs produced different offers", seed)
		}
	}
}

// runRandomOps runs one random sequence and returns every offer made, in
// order.
func runRandomOps(t *testing.T, seed uint64) (log []string) {
	roles := []string{"a", "b", "a/x", "a/y", "c/d/e"}
	rng := rand.New(rand.NewPCG(seed, 99))
	h := newHarness(t, Config{Seed: seed, FairnessExcluded: []string{"gpus"}})
	var agents, fws []string
	var outstanding []Offer
	total := 0
	defer func() {
		if total == 0 {
			t.Errorf("the random sequence produced no offers")
		}
		t.Logf("offers: %d, filters skipped: %d", total, h.a.Stats().FilteredOffers)
	}()
	pick := func(s []string) string { return s[rng.IntN(len(s))] }
	randomResources := func() Resources {
		var r Resources
		r.AddScalar("*", Cpus, float64(rng.IntN(8)))
		r.AddScalar("*", Mem, float64(rng.IntN(4096)))
		r.AddRanges("*", Ports, Range{uint64(rng.IntN(100)), uint64(100 + rng.IntN(100))})
		if rng.IntN(3) == 0 {
			role := pick(roles)
			r.AddScalar(role, Cpus, float64(1+rng.IntN(3)))
			r.AddScalar(role, Mem, 64)
		}
		if rng.IntN(5) == 0 {
			r.AddScalar("*", Gpus, 1)
		}
		return r
	}
	for step := range 300 {
		switch op := rng.IntN(16); op {
		case 0, 1:
			id := fmt.Sprintf("ag%d", step)
			if err := h.a.AddAgent(id, id, randomResources(), nil); err != nil {
				t.Fatal(err)
			}
			agents = append(agents, id)
		case 2:
			if len(agents) > 0 {
				id := pick(agents)
				if err := h.a.RemoveAgent(id); err != nil {
					t.Fatal(err)
				}
				agents = slices.DeleteFunc(agents, func(s string) bool { return s == id })
				outstanding = slices.DeleteFunc(outstanding, func(o Offer) bool { return o.AgentID == id })
			}
		case 3:
			id := fmt.Sprintf("fw%d", step)
			var rs []string
			for _, r := range roles {
				if rng.IntN(3) == 0 {
					rs = append(rs, r)
				}
			}
			if len(rs) == 0 {
				rs = []string{pick(roles)}
			}
			info := FrameworkInfo{Roles: rs, Capabilities: Capabilities{MultiRole: true, GPUResources: rng.IntN(2) == 0}}
			if err := h.a.AddFramework(id, info, true); err != nil {
				t.Fatal(err)
			}
			fws = append(fws, id)
		case 4:
			if len(fws) > 0 {
				id := pick(fws)
				if err := h.a.RemoveFramework(id); err != nil {
					t.Fatal(err)
				}
				fws = slices.DeleteFunc(fws, func(s string) bool { return s == id })
				outstanding = slices.DeleteFunc(outstanding, func(o Offer) bool { return o.FrameworkID == id })
			}
		case 5:
			if len(fws) > 0 {
				id := pick(fws)
				if rng.IntN(2) == 0 {
					_ = h.a.DeactivateFramework(id)
				} else {
					_ = h.a.ActivateFramework(id)
				}
			}
		case 6:
			if len(agents) > 0 {
				id := pick(agents)
				if rng.IntN(2) == 0 {
					_ = h.a.DeactivateAgent(id)
				} else {
					_ = h.a.ActivateAgent(id)
				}
			}
		case 7:
			if len(fws) > 0 {
				id := pick(fws)
				if rng.IntN(2) == 0 {
					_ = h.a.Suppress(id)
				} else {
					_ = h.a.Revive(id)
				}
			}
		case 8, 9, 10:
			var offers []Offer
			switch rng.IntN(3) {
			case 0:
				offers = h.a.Allocate(h.now)
			case 1:
				offers = h.a.AllocatePending(h.now)
			default:
				if len(agents) > 0 {
					offers = h.a.AllocateAgents(h.now, pick(agents), pick(agents))
				}
			}
			checkOffers(t, h.a, offers)
			total += len(offers)
			for _, o := range offers {
				log = append(log, fmt.Sprintf("%d %s %s %s %s", step, o.AgentID, o.FrameworkID, o.Role, o.Resources))
			}
			outstanding = append(outstanding, offers...)
		case 11, 12:
			if len(outstanding) > 0 {
				i := rng.IntN(len(outstanding))
				o := outstanding[i]
				outstanding = slices.Delete(outstanding, i, i+1)
				part := o.Resources.Clone()
				if rng.IntN(2) == 0 {
					part.Subtract(MustParseResources("cpus:1;mem:32"))
					// The remainder stays in use by a "task" until it
					// is recovered later.
					used := o.Resources.Clone()
					used.Subtract(part)
					if !used.IsEmpty() {
						outstanding = append(outstanding, Offer{AgentID: o.AgentID, FrameworkID: o.FrameworkID, Role: o.Role, Resources: used})
					}
				}
				var f *Filter
				if rng.IntN(2) == 0 {
					f = &Filter{RefuseSeconds: float64(rng.IntN(10))}
				}
				if err := h.a.RecoverResources(o.AgentID, o.FrameworkID, o.Role, part, f); err != nil {
					t.Fatal(err)
				}
			}
		case 13:
			h.advance(time.Duration(rng.IntN(4000)) * time.Millisecond)
		case 14:
			_ = h.a.UpdateWeights(map[string]float64{pick(roles): float64(1 + rng.IntN(4))})
		case 15:
			q := Quota{}
			if rng.IntN(2) == 0 {
				q.Guarantees.Set(Cpus, float64(rng.IntN(6)))
				q.Limits = map[string]float64{Cpus: 8}
			}
			if err := h.a.UpdateQuota(pick([]string{"a", "b", "c"}), q); err != nil {
				t.Fatal(err)
			}
		}
		checkInvariants(t, h.a)
	}
	return log
}

func checkOffers(t *testing.T, a *Allocator, offers []Offer) {
	t.Helper()
	seen := map[string]bool{}
	for _, o := range offers {
		key := o.AgentID + "|" + o.FrameworkID + "|" + o.Role
		if seen[key] {
			t.Fatalf("two offers for %s in one pass", key)
		}
		seen[key] = true
		if o.Resources.IsEmpty() {
			t.Fatalf("empty offer %s", key)
		}
		ag := a.agentByID[o.AgentID]
		f := a.frameworks[o.FrameworkID]
		if ag == nil || f == nil || !ag.active || !f.active {
			t.Fatalf("offer %s to an inactive or unknown agent/framework", key)
		}
		fr := f.roles[o.Role]
		if fr == nil || !fr.subscribed || fr.suppressed {
			t.Fatalf("offer %s for an unsubscribed or suppressed role", key)
		}
		if ag.hasGPU && !f.caps.GPUResources {
			t.Fatalf("offer %s: GPU agent to a framework without GPU_RESOURCES", key)
		}
		for _, r := range o.Resources.ReservationRoles() {
			if !isSelfOrAncestor(r, o.Role) {
				t.Fatalf("offer %s carries a reservation for %s", key, r)
			}
		}
		if !a.Allocated(o.AgentID, o.FrameworkID, o.Role).ContainsAll(o.Resources) {
			t.Fatalf("offer %s not recorded as allocated", key)
		}
	}
}
