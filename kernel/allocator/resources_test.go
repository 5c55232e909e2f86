package allocator

import (
	"errors"
	"math"
	"slices"
	"testing"
)

func TestMilliFixedPoint(t *testing.T) {
	var r Resources
	for range 10 {
		r.AddScalar("*", Cpus, 0.1)
	}
	if got := r.Scalar(Cpus); got != 1 {
		t.Fatalf("ten times 0.1 cpus = %v, want exactly 1", got)
	}
	for range 10 {
		r.Subtract(MustParseResources("cpus:0.1"))
	}
	if !r.IsEmpty() {
		t.Fatalf("after subtracting everything: %s, want empty", r)
	}
	tests := []struct {
		in   float64
		want int64
	}{
		{0.0004, 0}, {0.0005, 1}, {1.2345, 1235}, {32, 32000}, {-1, -1000}, {math.NaN(), 0},
	}
	for _, tt := range tests {
		if got := Milli(tt.in); got != tt.want {
			t.Errorf("Milli(%v) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

func rs(pairs ...uint64) []Range {
	var out []Range
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, Range{pairs[i], pairs[i+1]})
	}
	return out
}

func TestRangesArithmetic(t *testing.T) {
	tests := []struct {
		name         string
		a, b         []Range
		union, minus []Range
		aContainsB   bool
	}{
		{"disjoint", rs(1, 5), rs(10, 12), rs(1, 5, 10, 12), rs(1, 5), false},
		{"adjacent merge", rs(1, 5), rs(6, 9), rs(1, 9), rs(1, 5), false},
		{"overlap", rs(1, 5), rs(4, 9), rs(1, 9), rs(1, 3), false},
		{"contained", rs(1, 10), rs(3, 4), rs(1, 10), rs(1, 2, 5, 10), true},
		{"split many", rs(1, 10, 20, 30), rs(2, 2, 5, 6, 25, 40), rs(1, 10, 20, 40), rs(1, 1, 3, 4, 7, 10, 20, 24), false},
		{"exact", rs(31000, 32000), rs(31000, 32000), rs(31000, 32000), nil, true},
		{"empty b", rs(1, 2), nil, rs(1, 2), rs(1, 2), true},
		{"empty a", nil, rs(1, 2), rs(1, 2), nil, false},
		{"edges", rs(0, math.MaxUint64), rs(0, 0, math.MaxUint64, math.MaxUint64), rs(0, math.MaxUint64), rs(1, math.MaxUint64-1), true},
		{"b before a", rs(10, 20), rs(1, 3), rs(1, 3, 10, 20), rs(10, 20), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Spare capacity in a must not be written either: other
			// bundles may share the array.
			a := append(make([]Range, 0, len(tt.a)+4), tt.a...)
			b := slices.Clone(tt.b)
			u := unionRanges(a, b)
			if !slices.Equal(u, tt.union) {
				t.Errorf("union = %v, want %v", u, tt.union)
			}
			other := unionRanges(a, rs(math.MaxUint64-1, math.MaxUint64-1))
			if !slices.Equal(u, tt.union) {
				t.Errorf("union changed by another union of a: %v, want %v (other %v)", u, tt.union, other)
			}
			if got := subtractRanges(a, b); !slices.Equal(got, tt.minus) {
				t.Errorf("subtract = %v, want %v", got, tt.minus)
			}
			if got := containsRanges(a, b); got != tt.aContainsB {
				t.Errorf("contains = %v, want %v", got, tt.aContainsB)
			}
			if !slices.Equal(a, tt.a) || !slices.Equal(b, tt.b) {
				t.Errorf("inputs written: %v, %v", a, b)
			}
		})
	}
}

func TestNormalizeRanges(t *testing.T) {
	got := normalizeRanges(rs(10, 12, 1, 3, 4, 4, 11, 20, 30, 25))
	if want := rs(1, 4, 10, 20); !slices.Equal(got, want) {
		t.Fatalf("normalize = %v, want %v (inverted ranges dropped)", got, want)
	}
	if n := countRanges(rs(1, 4, 10, 20)); n != 15 {
		t.Fatalf("count = %d, want 15", n)
	}
}

func TestSetArithmetic(t *testing.T) {
	a := normalizeSet([]string{"c", "a", "b", "a", ""})
	if !slices.Equal(a, []string{"a", "b", "c"}) {
		t.Fatalf("normalize = %v", a)
	}
	if got := unionSet(a, []string{"b", "d"}); !slices.Equal(got, []string{"a", "b", "c", "d"}) {
		t.Errorf("union = %v", got)
	}
	if got := subtractSet(a, []string{"b", "z"}); !slices.Equal(got, []string{"a", "c"}) {
		t.Errorf("subtract = %v", got)
	}
	if !containsSet(a, []string{"a", "c"}) || containsSet(a, []string{"a", "d"}) {
		t.Errorf("contains wrong")
	}
}

func TestResourcesOps(t *testing.T) {
	tests := []struct {
		name         string
		a, b         string
		sum, diff    string
		contains, eq bool
	}{
		{"scalars", "cpus:2;mem:1024", "cpus:0.5", "cpus:2.5;mem:1024", "cpus:1.5;mem:1024", true, false},
		{"saturating", "cpus:1", "cpus:2;mem:5", "cpus:3;mem:5", "", false, false},
		{"owners differ", "cpus:2", "cpus(ops):1", "cpus:2;cpus(ops):1", "cpus:2", false, false},
		{"reserved", "cpus:1;cpus(ops):2;mem(ops):10", "cpus(ops):2", "cpus:1;cpus(ops):4;mem(ops):10", "cpus:1;mem(ops):10", true, false},
		{"ports", "ports:[31000-32000]", "ports:[31500-31500]", "ports:[31000-32000]", "ports:[31000-31499,31501-32000]", true, false},
		{"sets", "zones:{a,b}", "zones:{b}", "zones:{a,b}", "zones:{a}", true, false},
		{"custom scalars", "foo:1;bar:2", "foo:1", "bar:2;foo:2", "bar:2", true, false},
		{"equal", "cpus:1;ports:[1-2]", "cpus:1;ports:[1-2]", "cpus:2;ports:[1-2]", "", true, true},
		{"empty b", "cpus:1", "", "cpus:1", "cpus:1", true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := MustParseResources(tt.a), MustParseResources(tt.b)
			sum := a.Clone()
			sum.Add(b)
			if want := MustParseResources(tt.sum); !sum.Equal(want) {
				t.Errorf("a+b = %s, want %s", sum, want)
			}
			diff := a.Clone()
			diff.Subtract(b)
			if want := MustParseResources(tt.diff); !diff.Equal(want) {
				t.Errorf("a-b = %s, want %s", diff, want)
			}
			if got := a.ContainsAll(b); got != tt.contains {
				t.Errorf("a ⊇ b = %v, want %v", got, tt.contains)
			}
			if got := a.Equal(b); got != tt.eq {
				t.Errorf("a == b = %v, want %v", got, tt.eq)
			}
			if !sum.ContainsAll(a) || !sum.ContainsAll(b) {
				t.Errorf("a+b must contain a and b")
			}
			// Operations must not have touched the inputs.
			if !a.Equal(MustParseResources(tt.a)) || !b.Equal(MustParseResources(tt.b)) {
				t.Errorf("inputs mutated: %s, %s", a, b)
			}
		})
	}
}

func TestResourcesCloneIsDeep(t *testing.T) {
	a := MustParseResources("cpus:1;foo:2;ports:[1-10];zones:{a,b};cpus(r):1;ports(r):[20-30]")
	c := a.Clone()
	c.Subtract(MustParseResources("foo:1;ports:[5-5];zones:{a};ports(r):[25-25]"))
	c.Add(MustParseResources("ports:[100-200]"))
	if !a.Equal(MustParseResources("cpus:1;foo:2;ports:[1-10];zones:{a,b};cpus(r):1;ports(r):[20-30]")) {
		t.Fatalf("original changed through clone: %s", a)
	}
}

// TestResourcesAreValues checks that copies made by plain assignment are
// independent: every mutating method, applied to a copy, leaves the
// original (and other copies) unchanged, whatever kinds of resources and
// owners they share.
func TestResourcesAreValues(t *testing.T) {
	const orig = "cpus:1;mem:8;foo:2;ports:[1-10,20-30];zones:{a,b};cpus(r):1;ports(r):[40-50];zones(r/s):{c}"
	ops := []struct {
		name string
		op   func(r *Resources)
	}{
		{"AddScalar", func(r *Resources) { r.AddScalar("*", "foo", 1); r.AddScalar("r", "bar", 1); r.AddScalar("*", Cpus, 1) }},
		{"AddRanges", func(r *Resources) { r.AddRanges("*", Ports, Range{11, 15}); r.AddRanges("r", Ports, Range{1, 2}) }},
		{"AddSet", func(r *Resources) { r.AddSet("*", "zones", "z"); r.AddSet("r/s", "zones", "a") }},
		{"Add", func(r *Resources) {
			r.Add(MustParseResources("foo:1;ports:[11-11];zones:{c};cpus(r):1;ports(r):[51-52];gpus(q):1"))
		}},
		{"Subtract", func(r *Resources) {
			r.Subtract(MustParseResources("foo:1;ports:[5-5];zones:{a};cpus(r):1;ports(r):[45-45];zones(r/s):{c}"))
		}},
		{"SubtractAll", func(r *Resources) { r.Subtract(MustParseResources(orig)) }},
		{"AddItem", func(r *Resources) { r.AddItem(Item{Role: "r", Name: "zones", Kind: Set, Set: []string{"q"}}) }},
		{"takeFor", func(r *Resources) {
			var dst Resources
			r.takeFor("r", &dst)
			dst.Add(MustParseResources("ports:[99-99]"))
		}},
		{"shrink", func(r *Resources) { r.unreserved.shrinkScalars(func(string) (int64, bool) { return 500, true }) }},
	}
	for _, tt := range ops {
		t.Run(tt.name, func(t *testing.T) {
			a := MustParseResources(orig)
			b := a // shares every slice with a
			c := b
			tt.op(&b)
			if a.String() != MustParseResources(orig).String() || !c.Equal(a) {
				t.Fatalf("original changed through a copy: %s (copy %s)", a, c)
			}
			tt.op(&c) // the same change on another copy gives the same result
			if !c.Equal(b) {
				t.Fatalf("copies diverged: %s vs %s", c, b)
			}
		})
	}
}

func TestResourcesAccessors(t *testing.T) {
	r := MustParseResources("cpus:2;mem:100;gpus:1;ports:[1-10];cpus(ops):1;cpus(eng/web):3")
	if got := r.Scalar(Cpus); got != 6 {
		t.Errorf("Scalar(cpus) = %v, want 6", got)
	}
	if got := r.ReservationRoles(); !slices.Equal(got, []string{"eng/web", "ops"}) {
		t.Errorf("ReservationRoles = %v", got)
	}
	if got := r.Reserved("ops").String(); got != "cpus(ops):1" {
		t.Errorf("Reserved(ops) = %q", got)
	}
	if got := r.Unreserved().String(); got != "cpus:2;mem:100;gpus:1;ports:[1-10]" {
		t.Errorf("Unreserved = %q", got)
	}
	q := r.Quantities()
	if q.Get(Cpus) != 6 || q.Get(Mem) != 100 || q.Get(Gpus) != 1 || q.Get(Ports) != 0 {
		t.Errorf("Quantities = %s", q)
	}
	var back Resources
	for _, it := range r.Items() {
		back.AddItem(it)
	}
	if !back.Equal(r) {
		t.Errorf("Items round trip: %s, want %s", back, r)
	}
}

func TestContainsQuantities(t *testing.T) {
	r := MustParseResources("cpus:1;mem:64;ports:[1-10];zones:{a,b};cpus(ops):1")
	tests := []struct {
		q    string
		want bool
	}{
		{"cpus:2", true}, // owners are ignored
		{"cpus:2.001", false},
		{"mem:64;cpus:0.01", true},
		{"ports:10", true},
		{"ports:11", false},
		{"zones:2", true},
		{"disk:1", false},
		{"", true},
	}
	for _, tt := range tests {
		q, err := ParseQuantities(tt.q)
		if err != nil {
			t.Fatal(err)
		}
		if got := r.ContainsQuantities(q); got != tt.want {
			t.Errorf("contains %q = %v, want %v", tt.q, got, tt.want)
		}
		if got := r.containsQuantities(&q); got != tt.want {
			t.Errorf("hot-path contains %q = %v, want %v", tt.q, got, tt.want)
		}
	}
}

func TestParseResources(t *testing.T) {
	tests := []struct {
		in, want string
		err      bool
	}{
		{in: "cpus:8;mem:16384;disk:100000;ports:[31000-32000]", want: "cpus:8;mem:16384;disk:100000;ports:[31000-32000]"},
		{in: " cpus(ops) : 2 ; cpus:1 ;", want: "cpus:1;cpus(ops):2"},
		{in: "cpus(*):1;cpus:1", want: "cpus:2"},
		{in: "ports:[1-2, 5-6,3-4]", want: "ports:[1-6]"},
		{in: "ports:[8080]", want: "ports:[8080-8080]"},
		{in: "zones:{b,a,b}", want: "zones:{a,b}"},
		{in: "cpus(eng/web):0.5", want: "cpus(eng/web):0.5"},
		{in: "gpus:0", want: ""},
		{in: "", want: ""},
		{in: "cpus", err: true},
		{in: "cpus:abc", err: true},
		{in: "cpus:-1", err: true},
		{in: "cpus:NaN", err: true},
		{in: "cpus:[1-2]", err: true},
		{in: "ports:5", err: true},
		{in: "ports:[5-1]", err: true},
		{in: "ports:[1-2", err: true},
		{in: "zones:{a", err: true},
		{in: "cpus(:1", err: true},
		{in: "cpus():1", err: true},
		{in: "cpus(a/../b):1", err: true},
		{in: "cpus(-a):1", err: true},
		{in: "foo:1;foo:[1-2]", err: true},
		{in: "(r):1", err: true},
	}
	for _, tt := range tests {
		r, err := ParseResources(tt.in)
		if tt.err {
			if err == nil || !errors.Is(err, ErrSyntax) {
				t.Errorf("ParseResources(%q) error = %v, want ErrSyntax", tt.in, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseResources(%q): %v", tt.in, err)
			continue
		}
		if got := r.String(); got != tt.want {
			t.Errorf("ParseResources(%q) = %q, want %q", tt.in, got, tt.want)
		}
		again, err := ParseResources(r.String())
		if err != nil || !again.Equal(r) {
			t.Errorf("String round trip of %q: %v, %s", tt.in, err, again)
		}
	}
}

func TestParseMinAllocatable(t *testing.T) {
	qs, err := ParseMinAllocatable("cpus:0.01|mem:32")
	if err != nil {
		t.Fatal(err)
	}
	def := DefaultMinAllocatable()
	if len(qs) != 2 || !qs[0].Equal(def[0]) || !qs[1].Equal(def[1]) {
		t.Fatalf("parsed %v, want %v", qs, def)
	}
	qs, err = ParseMinAllocatable("cpus:1;mem:64|gpus:1;foo:2")
	if err != nil || len(qs) != 2 || qs[0].String() != "cpus:1;mem:64" || qs[1].String() != "gpus:1;foo:2" {
		t.Fatalf("parsed %v, %v", qs, err)
	}
	if _, err := ParseMinAllocatable("cpus:x"); !errors.Is(err, ErrSyntax) {
		t.Fatalf("error = %v, want ErrSyntax", err)
	}
}

func TestQuantitiesOps(t *testing.T) {
	a, _ := ParseQuantities("cpus:2;mem:100;foo:1")
	b, _ := ParseQuantities("cpus:1;foo:1;bar:3")
	s := a.Clone()
	s.Add(b)
	if s.String() != "cpus:3;mem:100;bar:3;foo:2" {
		t.Errorf("sum = %s", s)
	}
	s.Subtract(a)
	if !s.Equal(b) {
		t.Errorf("sum - a = %s, want %s", s, b)
	}
	if !a.ContainsAll(MustParseResources("cpus:1;foo:1").Quantities()) || a.ContainsAll(b) {
		t.Errorf("ContainsAll wrong")
	}
	a.Set("foo", 0)
	if a.String() != "cpus:2;mem:100" || !slices.Equal(a.Names(), []string{Cpus, Mem}) {
		t.Errorf("after Set(foo, 0): %s %v", a, a.Names())
	}
}

func TestCloneManyRanges(t *testing.T) {
	r := MustParseResources("ports:[1-2,4-5,7-8];ephemeral:[10-20];cpus(x):1;ports(x):[30-40]")
	c := r.Clone()
	if !c.Equal(r) {
		t.Fatalf("clone = %s, want %s", c, r)
	}
	c.AddRanges("*", "ephemeral", Range{21, 22})
	c.AddRanges("*", Ports, Range{3, 3})
	if r.String() != "ephemeral:[10-20];ports:[1-2,4-5,7-8];cpus(x):1;ports(x):[30-40]" {
		t.Fatalf("original changed: %s", r)
	}
	if got := c.Unreserved().String(); got != "ephemeral:[10-22];ports:[1-5,7-8]" {
		t.Fatalf("clone after growth = %s", got)
	}
	if !r.HasReservations() || c.Unreserved().HasReservations() {
		t.Fatal("HasReservations wrong")
	}
}
