package allocator

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

var epoch = time.Unix(1_700_000_000, 0)

// harness drives an Allocator with a fake clock and checks its internal
// invariants after every pass.
type harness struct {
	t   *testing.T
	a   *Allocator
	now time.Time
}

func newHarness(t *testing.T, cfg Config) *harness {
	t.Helper()
	h := &harness{t: t, now: epoch}
	cfg.Clock = func() time.Time { return h.now }
	h.a = New(cfg)
	return h
}

func (h *harness) advance(d time.Duration) { h.now = h.now.Add(d) }

func (h *harness) agent(id, res string) {
	h.t.Helper()
	if err := h.a.AddAgent(id, "host-"+id, MustParseResources(res), nil); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) fw(id string, roles ...string) {
	h.t.Helper()
	h.fwInfo(id, FrameworkInfo{Roles: roles, Capabilities: Capabilities{MultiRole: len(roles) > 1}})
}

func (h *harness) fwInfo(id string, info FrameworkInfo) {
	h.t.Helper()
	if err := h.a.AddFramework(id, info, true); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) allocate() []Offer {
	h.t.Helper()
	offers := h.a.Allocate(h.now)
	checkInvariants(h.t, h.a)
	return offers
}

func (h *harness) decline(o Offer, f *Filter) {
	h.t.Helper()
	if err := h.a.RecoverResources(o.AgentID, o.FrameworkID, o.Role, o.Resources, f); err != nil {
		h.t.Fatal(err)
	}
}

// describe renders offers as sorted "agent fw role: resources" lines.
func describe(offers []Offer) []string {
	out := make([]string, len(offers))
	for i, o := range offers {
		out[i] = fmt.Sprintf("%s %s %s: %s", o.AgentID, o.FrameworkID, o.Role, o.Resources)
	}
	slices.Sort(out)
	return out
}

func wantOffers(t *testing.T, offers []Offer, want ...string) {
	t.Helper()
	got := describe(offers)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("offers:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

// countBy returns the number of offers per framework.
func countBy(offers []Offer) map[string]int {
	m := map[string]int{}
	for _, o := range offers {
		m[o.FrameworkID]++
	}
	return m
}

// checkInvariants verifies the allocator's bookkeeping:
//   - on every agent, free + allocations == total;
//   - every membership's quantities equal what its framework holds in the
//     role across agents, and every tree node holds the sum of its leaves;
//   - sibling and framework orders are sorted when shares are fresh.
func checkInvariants(t *testing.T, a *Allocator) {
	t.Helper()
	held := map[*fwRole]*Quantities{}
	for _, ag := range a.agents {
		sum := ag.free.Clone()
		if len(ag.allocFw) != len(ag.allocs) {
			t.Fatalf("agent %s: %d allocations, %d index entries", ag.id, len(ag.allocs), len(ag.allocFw))
		}
		for i := range ag.allocs {
			al := &ag.allocs[i]
			if ag.allocFw[i] != al.fw {
				t.Fatalf("agent %s: index entry %d is stale", ag.id, i)
			}
			sum.Add(al.res)
			if al.res.IsEmpty() {
				t.Fatalf("agent %s: empty allocation record for %s/%s", ag.id, al.fw.id, al.role)
			}
			if fr := al.fw.roles[al.role]; fr != nil {
				if held[fr] == nil {
					held[fr] = &Quantities{}
				}
				al.res.addQuantities(held[fr])
			} else if !al.res.Quantities().IsZero() {
				t.Fatalf("agent %s: %s holds %s in untracked role %s", ag.id, al.fw.id, al.res, al.role)
			}
		}
		if !sum.Equal(ag.total) {
			t.Fatalf("agent %s: free+allocated = %s, total = %s", ag.id, sum, ag.total)
		}
	}
	for _, r := range a.roles {
		if len(r.order) != len(r.fws) {
			t.Fatalf("role %s: %d members, %d in the order", r.name, len(r.fws), len(r.order))
		}
		for i, fr := range r.fws {
			if fr.role != r || fr.fw.roles[r.name] != fr || fr.idx != int32(i) {
				t.Fatalf("role %s: membership %s at %d is not linked back", r.name, fr.fw.id, i)
			}
			want := Quantities{}
			if q := held[fr]; q != nil {
				want = *q
			}
			if !fr.alloc.Equal(want) {
				t.Fatalf("role %s fw %s: accounted %s, holds %s", r.name, fr.fw.id, fr.alloc, want)
			}
		}
		seen := map[int32]bool{}
		for i, slot := range r.order {
			if seen[slot.idx] || slot.idx < 0 || int(slot.idx) >= len(r.fws) || slotOf(r.fws[slot.idx]) != slot {
				t.Fatalf("role %s: order entry %d (%+v) does not match its member", r.name, i, slot)
			}
			seen[slot.idx] = true
			if !a.stale && i > 0 && lessSlot(slot, r.order[i-1]) {
				t.Fatalf("role %s: frameworks out of order at %d", r.name, i)
			}
		}
		if r.node == nil || r.node.role != r {
			t.Fatalf("role %s: broken leaf link", r.name)
		}
	}
	var walk func(n *roleNode) Quantities
	walk = func(n *roleNode) Quantities {
		var sum Quantities
		if n.isLeaf() {
			for _, fr := range n.role.fws {
				sum.Add(fr.alloc)
			}
		}
		for i, c := range n.children {
			if c.parent != n {
				t.Fatalf("node %s: bad parent", c.path)
			}
			if !a.stale && i > 0 && lessNode(c, n.children[i-1]) {
				t.Fatalf("node %s: children out of order", n.path)
			}
			sum.Add(walk(c))
		}
		if n != &a.tree.root && !sum.Equal(n.alloc) {
			t.Fatalf("node %q: alloc %s, sum of leaves %s", n.path, n.alloc, sum)
		}
		return sum
	}
	walk(&a.tree.root)
	// Filter counts match the filters held by agents, and every filter
	// belongs to a known framework.
	perFw := map[*framework]int{}
	filters := 0
	for _, ag := range a.agents {
		for _, r := range ag.filters {
			if a.frameworks[r.f.id] != r.f {
				t.Fatalf("agent %s: filter %d of unknown framework %s", ag.id, r.seq, r.f.id)
			}
			perFw[r.f]++
			filters++
		}
	}
	if filters != a.filterCount {
		t.Fatalf("filter count %d, actual %d", a.filterCount, filters)
	}
	for _, f := range a.frameworks {
		if f.filterCount != perFw[f] {
			t.Fatalf("framework %s: filter count %d, actual %d", f.id, f.filterCount, perFw[f])
		}
	}
	// Every live filter is in the expiry queue, which is a valid heap.
	queued := map[uint64]bool{}
	q := &a.expiries
	for i := range q.heap {
		queued[q.heap[i].seq] = true
		if p := (i - 1) / 2; i > 0 && q.heap[i].before(&q.heap[p]) {
			t.Fatalf("expiry heap is not a heap at %d", i)
		}
	}
	for i := q.head; i < len(q.fifo); i++ {
		queued[q.fifo[i].seq] = true
		if i > q.head && q.fifo[i].before(&q.fifo[i-1]) {
			t.Fatalf("expiry FIFO out of order at %d", i)
		}
	}
	for _, ag := range a.agents {
		for _, r := range ag.filters {
			if !queued[r.seq] {
				t.Fatalf("filter %d of %s not queued for expiry", r.seq, r.f.id)
			}
		}
	}
}
