package allocator

import (
	"errors"
	"fmt"
	"testing"
)

func cpusOnlyMin(t *testing.T) []Quantities { return mustMin(t, "cpus:0.01") }

func mustQ(t *testing.T, s string) Quantities {
	t.Helper()
	q, err := ParseQuantities(s)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

func sumCpus(offers []Offer, fw string) float64 {
	var c float64
	for _, o := range offers {
		if fw == "" || o.FrameworkID == fw {
			c += o.Resources.Scalar(Cpus)
		}
	}
	return c
}

func TestQuotaLimits(t *testing.T) {
	h := newHarness(t, Config{MinAllocatable: cpusOnlyMin(t)})
	for i := range 3 {
		h.agent(fmt.Sprintf("a%d", i), "cpus:1;mem:64")
	}
	h.fw("f", "a")
	h.fw("sub", "a/b")
	if err := h.a.UpdateQuota("a", Quota{Limits: map[string]float64{Cpus: 1.5}}); err != nil {
		t.Fatal(err)
	}
	offers := h.allocate()
	if got := sumCpus(offers, ""); got != 1.5 {
		t.Fatalf("role a and its sub-role got %v cpus, limit 1.5 (%v)", got, describe(offers))
	}
	// Consumption persists across passes.
	if more := h.allocate(); len(more) != 0 {
		t.Fatalf("offers beyond the limit: %v", describe(more))
	}
	// Removing the quota lifts the limit.
	if err := h.a.UpdateQuota("a", Quota{}); err != nil {
		t.Fatal(err)
	}
	if got := sumCpus(h.allocate(), ""); got != 1.5 {
		t.Fatalf("after removing the limit: %v more cpus, want 1.5", got)
	}
}

func TestQuotaGuaranteeHoldsHeadroom(t *testing.T) {
	h := newHarness(t, Config{MinAllocatable: cpusOnlyMin(t)})
	for i := range 4 {
		h.agent(fmt.Sprintf("a%d", i), "cpus:1;mem:64")
	}
	h.fw("other", "other")
	h.fwInfo("q", FrameworkInfo{Roles: []string{"q"}, SuppressedRoles: []string{"q"}})
	if err := h.a.UpdateQuota("q", Quota{Guarantees: mustQ(t, "cpus:2")}); err != nil {
		t.Fatal(err)
	}
	offers := h.allocate()
	if got := sumCpus(offers, "other"); got != 2 {
		t.Fatalf("other got %v cpus, want 2 (2 held back for q's guarantee): %v", got, describe(offers))
	}
	if err := h.a.Revive("q"); err != nil {
		t.Fatal(err)
	}
	offers = h.allocate()
	if got := sumCpus(offers, "q"); got != 2 {
		t.Fatalf("q got %v cpus, want its 2 guaranteed: %v", got, describe(offers))
	}
}

func TestQuotaGuaranteeFirst(t *testing.T) {
	for _, withQuota := range []bool{false, true} {
		h := newHarness(t, Config{})
		h.agent("a0", "cpus:1;mem:64")
		h.fw("fa", "a") // "a" sorts before "q" at equal shares
		h.fw("fq", "q")
		if withQuota {
			if err := h.a.UpdateQuota("q", Quota{Guarantees: mustQ(t, "cpus:1")}); err != nil {
				t.Fatal(err)
			}
		}
		want := map[bool]string{false: "fa", true: "fq"}[withQuota]
		offers := h.allocate()
		if len(offers) != 1 || offers[0].FrameworkID != want {
			t.Fatalf("quota=%v: offers %v, want one to %s", withQuota, describe(offers), want)
		}
	}
}

func TestQuotaGuaranteeBurstsWithinLimit(t *testing.T) {
	h := newHarness(t, Config{})
	h.agent("a0", "cpus:4;mem:400")
	h.fw("fq", "q")
	if err := h.a.UpdateQuota("q", Quota{
		Guarantees: mustQ(t, "cpus:1"),
		Limits:     map[string]float64{Cpus: 3},
	}); err != nil {
		t.Fatal(err)
	}
	// Stage 1 gives the guarantee plus burst up to the limit, and the
	// resources without guarantees (mem) in full.
	wantOffers(t, h.allocate(), "a0 fq q: cpus:3;mem:400")
}

func TestQuotaReservationsCountAsConsumed(t *testing.T) {
	h := newHarness(t, Config{MinAllocatable: cpusOnlyMin(t)})
	h.agent("r", "cpus(q):2;mem(q):64")
	h.agent("a0", "cpus:1;mem:64")
	h.agent("a1", "cpus:1;mem:64")
	h.fw("other", "other")
	if err := h.a.UpdateQuota("q", Quota{Guarantees: mustQ(t, "cpus:2")}); err != nil {
		t.Fatal(err)
	}
	// q has no framework, but its reservations satisfy the guarantee: no
	// headroom is held back.
	if got := sumCpus(h.allocate(), "other"); got != 2 {
		t.Fatalf("other got %v cpus, want 2", got)
	}
}

func TestQuotaValidation(t *testing.T) {
	a := New(Config{})
	for _, tt := range []struct {
		role string
		q    Quota
	}{
		{"eng/web", Quota{Limits: map[string]float64{Cpus: 1}}},
		{"*", Quota{Limits: map[string]float64{Cpus: 1}}},
		{"a", Quota{Guarantees: mustQ(t, "cpus:2"), Limits: map[string]float64{Cpus: 1}}},
		{"a", Quota{Limits: map[string]float64{Cpus: -1}}},
	} {
		if err := a.UpdateQuota(tt.role, tt.q); !errors.Is(err, ErrInvalid) {
			t.Errorf("UpdateQuota(%q, %+v) = %v, want ErrInvalid", tt.role, tt.q, err)
		}
	}
	q := Quota{Guarantees: mustQ(t, "cpus:1;mem:10"), Limits: map[string]float64{Cpus: 2}}
	if err := a.UpdateQuota("a", q); err != nil {
		t.Fatal(err)
	}
	got, ok := a.Quota("a")
	if !ok || !got.Guarantees.Equal(q.Guarantees) || got.Limits[Cpus] != 2 {
		t.Fatalf("Quota(a) = %+v, %v", got, ok)
	}
	if _, ok := a.Quota("b"); ok {
		t.Fatal("quota for b")
	}
}
