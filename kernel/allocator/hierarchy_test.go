package allocator

import (
	"fmt"
	"testing"
)

func TestHierarchicalDRF(t *testing.T) {
	h := newHarness(t, Config{})
	for i := range 6 {
		h.agent(fmt.Sprintf("a%d", i), "cpus:1;mem:64")
	}
	h.fw("web", "eng/web")
	h.fw("db", "eng/db")
	h.fw("ops", "ops")
	got := countBy(h.allocate())
	// eng and ops are siblings: each gets half the cluster, and eng splits
	// its half between web and db.
	if got["ops"] != 3 || got["web"]+got["db"] != 3 || got["web"] == 0 || got["db"] == 0 {
		t.Fatalf("offers = %v, want ops:3 and eng/* sharing 3", got)
	}
}

func TestHierarchicalWeights(t *testing.T) {
	h := newHarness(t, Config{})
	for i := range 9 {
		h.agent(fmt.Sprintf("a%d", i), "cpus:1;mem:64")
	}
	h.fw("web", "eng/web")
	h.fw("db", "eng/db")
	h.fw("ops", "ops")
	if err := h.a.UpdateWeights(map[string]float64{"eng": 2}); err != nil {
		t.Fatal(err)
	}
	got := countBy(h.allocate())
	if got["ops"] != 3 || got["web"]+got["db"] != 6 {
		t.Fatalf("offers = %v, want eng subtree 6 (weight 2), ops 3", got)
	}
}

func TestVirtualLeafAndCollapse(t *testing.T) {
	h := newHarness(t, Config{})
	for i := range 4 {
		h.agent(fmt.Sprintf("a%d", i), "cpus:1;mem:64")
	}
	h.fw("ops", "ops")
	h.fw("eng", "eng")
	h.fw("web", "eng/web")
	if h.a.tree.internal != 1 {
		t.Fatalf("internal nodes = %d, want 1 (eng)", h.a.tree.internal)
	}
	got := countBy(h.allocate())
	if got["ops"] != 2 || got["eng"] != 1 || got["web"] != 1 {
		t.Fatalf("offers = %v, want ops:2 eng:1 web:1", got)
	}
	// Adding the parent role after the child works too.
	h.fw("db", "eng/db")
	checkInvariants(t, h.a)
	for _, id := range []string{"web", "db"} {
		if err := h.a.RemoveFramework(id); err != nil {
			t.Fatal(err)
		}
		checkInvariants(t, h.a)
	}
	if h.a.tree.internal != 0 {
		t.Fatalf("internal nodes = %d after removing sub-roles, want 0", h.a.tree.internal)
	}
	if n := h.a.roles["eng"].node; n.name != "eng" || n.parent != &h.a.tree.root {
		t.Fatalf("eng not collapsed back to a top-level leaf: %q", n.name)
	}
	// The collapsed leaf keeps its allocation.
	if got := h.a.roles["eng"].node.alloc.Get(Cpus); got != 1 {
		t.Fatalf("eng allocation after collapse = %v, want 1", got)
	}
	h.allocate()
}

func TestChildBeforeParent(t *testing.T) {
	h := newHarness(t, Config{})
	h.agent("a0", "cpus:1;mem:64")
	h.fw("web", "eng/web")
	h.allocate()
	h.fw("eng", "eng") // turns the internal node "eng" into a parent with a virtual leaf
	checkInvariants(t, h.a)
	if n := h.a.roles["eng"].node; n.name != "." || n.parent.path != "eng" {
		t.Fatalf("eng leaf = %q under %q, want virtual leaf under eng", n.name, n.parent.path)
	}
	if err := h.a.RemoveFramework("eng"); err != nil {
		t.Fatal(err)
	}
	checkInvariants(t, h.a)
	if err := h.a.RemoveFramework("web"); err != nil {
		t.Fatal(err)
	}
	checkInvariants(t, h.a)
	if len(h.a.tree.root.children) != 0 || h.a.tree.internal != 0 {
		t.Fatalf("tree not empty: %d children, %d internal", len(h.a.tree.root.children), h.a.tree.internal)
	}
}

func TestChargeKeepsFrameworkOrder(t *testing.T) {
	for n := 1; n <= 9; n++ {
		for i := range n {
			for _, share := range []float64{-1, 0, 0.5, 1, 1.5, 10} {
				r := &role{name: "r"}
				for k := range n {
					r.addMember(&fwRole{fw: &framework{id: fmt.Sprintf("f%d", k), seq: uint64(k)}, role: r, share: float64(k)})
				}
				f := r.fws[i]
				j := r.slotIndex(f)
				if j != i {
					t.Fatalf("slotIndex = %d, want %d", j, i)
				}
				f.share = share
				r.order[j].share = share
				reposition(r.order, j, lessSlot)
				for k := range r.order {
					if k > 0 && lessSlot(r.order[k], r.order[k-1]) {
						t.Fatalf("n=%d i=%d share=%v: out of order at %d", n, i, share, k)
					}
				}
				if got := r.order[r.slotIndex(f)]; got != slotOf(f) {
					t.Fatalf("n=%d i=%d share=%v: slot %+v, want %+v", n, i, share, got, slotOf(f))
				}
				r.removeMember(f)
				for k, fr := range r.fws {
					if fr.idx != int32(k) || r.order[r.slotIndex(fr)] != slotOf(fr) {
						t.Fatalf("n=%d i=%d: member %d unlinked after removal", n, i, k)
					}
				}
			}
		}
	}
}
