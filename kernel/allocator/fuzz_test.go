package allocator

import (
	"testing"
)

// FuzzParseResources feeds arbitrary agent --resources text to the parser:
// it must never panic, and whatever it accepts must print back to an equal
// value.
func FuzzParseResources(f *testing.F) {
	for _, s := range []string{
		"cpus:8;mem:16384;disk:100000;ports:[31000-32000]",
		"cpus(ops):2;mem(ops):1024;cpus:1",
		"zones:{a,b};ports:[1-2,5-9]",
		"cpus(eng/web):0.125",
		"ports:[0-18446744073709551615]",
		"a:;b:[;c:{",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseResources(s)
		if err != nil {
			return
		}
		again, err := ParseResources(r.String())
		if err != nil {
			t.Fatalf("re-parse of %q (from %q): %v", r.String(), s, err)
		}
		if !again.Equal(r) {
			t.Fatalf("round trip: %q -> %q", r.String(), again.String())
		}
	})
}

// FuzzResourcesArithmetic checks algebraic invariants on pairs of parsed
// resource sets: (a+b)-b == a when a and b are disjoint in ranges and sets,
// a+b contains both, a-b is contained in a, and a ⊇ b ⇒ (a-b)+b == a.
func FuzzResourcesArithmetic(f *testing.F) {
	f.Add("cpus:2;mem:1024;ports:[1-10]", "cpus:0.5;ports:[20-30]")
	f.Add("cpus(ops):1;zones:{a,b}", "cpus(ops):0.001;zones:{c}")
	f.Add("cpus:1;ports:[1-100]", "ports:[50-60]")
	f.Add("foo:3;bar:1", "foo:3")
	f.Fuzz(func(t *testing.T, sa, sb string) {
		a, err1 := ParseResources(sa)
		b, err2 := ParseResources(sb)
		if err1 != nil || err2 != nil {
			return
		}
		sum := a.Clone()
		sum.Add(b)
		if !sum.ContainsAll(a) || !sum.ContainsAll(b) {
			t.Fatalf("%s + %s = %s does not contain both", a, b, sum)
		}
		diff := a.Clone()
		diff.Subtract(b)
		if !a.ContainsAll(diff) {
			t.Fatalf("%s - %s = %s not within a", a, b, diff)
		}
		if a.ContainsAll(b) {
			back := diff.Clone()
			back.Add(b)
			if !back.Equal(a) {
				t.Fatalf("(%s - %s) + b = %s, want a", a, b, back)
			}
		}
		// Scalars always cancel exactly (fixed point); ranges and sets
		// cancel when disjoint, which sum-b-a isolates.
		rest := sum.Clone()
		rest.Subtract(b)
		if !a.ContainsAll(rest) {
			t.Fatalf("(a+b)-b = %s exceeds a = %s", rest, a)
		}
		if rest.Quantities().ContainsAll(a.Quantities()) != true {
			t.Fatalf("(a+b)-b = %s lost scalars of a = %s", rest, a)
		}
		if !a.Clone().Equal(a) {
			t.Fatalf("clone differs")
		}
		// Copies are values: mutating one (here through shared slices)
		// never changes another.
		wantA, wantB := a.String(), b.String()
		c, d := a, b
		c.Add(b)
		c.Subtract(a)
		d.Subtract(a)
		d.Add(a)
		if a.String() != wantA || b.String() != wantB {
			t.Fatalf("mutating copies changed the originals: %s, %s (were %s, %s)", a, b, wantA, wantB)
		}
	})
}
