package records

import (
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func mustNew(t testing.TB, cfg Config) *Set {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func loadFixture(t testing.TB, name string) *State {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "state", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, err := ParseMasterState(f)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return st
}

// dump renders every record, one per line, sorted: the golden format.
func dump(s *Set) string {
	var b strings.Builder
	for _, r := range s.Records() {
		b.WriteString(r.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// checkConsistent verifies that what readers see (the names map) is exactly the set of
// counted records, with no duplicate values, and that counts are positive.
func checkConsistent(t testing.TB, s *Set) {
	t.Helper()
	recs := s.Records()
	byName := map[string][]Record{}
	for _, r := range recs {
		byName[r.Name] = append(byName[r.Name], r)
		if s.w.counts[r] <= 0 {
			t.Errorf("record %v has count %d", r, s.w.counts[r])
		}
		if !validName(r.Name) {
			t.Errorf("invalid name %q", r.Name)
		}
		if r.Type == TypeSRV && !validName(r.SRV.Target) {
			t.Errorf("invalid SRV target %q", r.SRV.Target)
		}
	}
	if got, want := s.Len(), len(byName); got != want {
		t.Errorf("Len() = %d names, records have %d names", got, want)
	}
	for name, want := range byName {
		a, aaaa, srv, ok := s.Lookup(name)
		if !ok || !s.Exists(name) {
			t.Errorf("%s: Lookup/Exists says missing", name)
			continue
		}
		var got []Record
		for _, x := range a {
			if !x.Is4() {
				t.Errorf("%s: A holds %v", name, x)
			}
			got = append(got, Record{Name: name, Type: TypeA, Addr: x})
		}
		for _, x := range aaaa {
			if !x.Is6() || x.Is4In6() {
				t.Errorf("%s: AAAA holds %v", name, x)
			}
			got = append(got, Record{Name: name, Type: TypeAAAA, Addr: x})
		}
		for _, x := range srv {
			got = append(got, Record{Name: name, Type: TypeSRV, SRV: x})
		}
		slices.SortFunc(got, compareRecords)
		if !slices.Equal(got, want) {
			t.Errorf("%s: readers see %v, records are %v", name, got, want)
		}
	}
}

// applyIncremental feeds st into s one object at a time, in a random order (tasks may come
// before their agent or framework), the way an event stream could.
// Objects listed twice under one ID are applied once, the last one winning as in Replace.
func applyIncremental(s *Set, st *State, rng *rand.Rand) {
	type op func()
	var ops []op
	agents := map[string]int{}
	for i, a := range st.Agents {
		agents[a.ID] = i
	}
	for i, a := range st.Agents {
		if agents[a.ID] == i {
			ops = append(ops, func() { s.UpsertAgent(a) })
		}
	}
	fws := map[string]int{}
	for i, f := range st.Frameworks {
		fws[f.ID] = i
	}
	for i, f := range st.Frameworks {
		if fws[f.ID] == i {
			ops = append(ops, func() { s.UpsertFramework(f) })
		}
	}
	tasks := map[taskKey]int{}
	for i, t := range st.Tasks {
		tasks[taskKey{t.FrameworkID, t.ID}] = i
	}
	for i, t := range st.Tasks {
		if tasks[taskKey{t.FrameworkID, t.ID}] == i {
			ops = append(ops, func() { s.UpsertTask(t) })
		}
	}
	ops = append(ops, func() { s.SetMasters(st.Leader, st.Masters) })
	rng.Shuffle(len(ops), func(i, j int) { ops[i], ops[j] = ops[j], ops[i] })
	for _, o := range ops {
		o()
	}
}

func addrs(ss ...string) []netip.Addr {
	var out []netip.Addr
	for _, s := range ss {
		out = append(out, netip.MustParseAddr(s))
	}
	return out
}

// recs renders the records of one name as strings ("A 10.0.0.1", "SRV t.:80"), sorted.
func recs(s *Set, name string) []string {
	a, aaaa, srv, _ := s.Lookup(name)
	var out []string
	for _, x := range a {
		out = append(out, "A "+x.String())
	}
	for _, x := range aaaa {
		out = append(out, "AAAA "+x.String())
	}
	for _, x := range srv {
		out = append(out, "SRV "+x.String())
	}
	slices.Sort(out)
	return out
}
