package constraint

import (
	"testing"

	"google.golang.org/protobuf/proto"

	"strata/kernel/mesos/mesospb"
	"strata/kernel/mesos/resources"
)

// host builds a Host from "name=value" attribute pairs.
func host(name string, attrs ...string) Host {
	h := Host{AgentID: name + "-id", Hostname: name, Attributes: map[string]string{}}
	for i := 0; i+1 < len(attrs); i += 2 {
		h.Attributes[attrs[i]] = attrs[i+1]
	}
	return h
}

func zoned(name, region, zone string) Host {
	h := host(name)
	h.Region, h.Zone = region, zone
	return h
}

func TestAllows(t *testing.T) {
	a1, a2, b1 := host("a1", "rack", "r1"), host("a2", "rack", "r1"), host("b1", "rack", "r2")
	c1 := host("c1", "rack", "r3")
	bare := host("bare") // no rack attribute
	tests := []struct {
		name       string
		constraint []string
		candidate  Host
		placed     []Host
		want       bool
	}{
		// UNIQUE
		{"unique host first", []string{"hostname", "UNIQUE"}, a1, nil, true},
		{"unique host taken", []string{"hostname", "UNIQUE"}, a1, []Host{a1}, false},
		{"unique host other", []string{"@hostname", "UNIQUE"}, a1, []Host{a2, b1}, true},
		{"unique attribute taken", []string{"rack", "UNIQUE"}, a2, []Host{a1}, false},
		{"unique attribute free", []string{"rack", "UNIQUE"}, b1, []Host{a1}, true},
		{"unique missing attribute", []string{"rack", "UNIQUE"}, bare, nil, false},

		// CLUSTER with a value
		{"cluster value match", []string{"rack", "CLUSTER", "r1"}, a1, nil, true},
		{"cluster value mismatch", []string{"rack", "CLUSTER", "r1"}, b1, nil, false},
		{"cluster hostname value", []string{"hostname", "CLUSTER", "a1"}, a1, []Host{a1}, true},
		{"cluster hostname other", []string{"hostname", "CLUSTER", "a1"}, a2, nil, false},
		// CLUSTER without a value: the first placed instance pins it.
		{"cluster pins first", []string{"rack", "CLUSTER"}, b1, nil, true},
		{"cluster pinned same", []string{"rack", "CLUSTER"}, a2, []Host{a1}, true},
		{"cluster pinned other", []string{"rack", "CLUSTER"}, b1, []Host{a1, a2}, false},
		{"cluster empty value pins", []string{"rack", "CLUSTER", ""}, b1, []Host{a1}, false},
		{"cluster host pinned", []string{"hostname", "CLUSTER"}, a2, []Host{a1}, false},
		{"cluster host pinned same", []string{"hostname", "CLUSTER"}, a1, []Host{a1, a1}, true},
		{"cluster placed lacks field", []string{"rack", "CLUSTER"}, a1, []Host{bare}, false},
		{"cluster missing attribute", []string{"rack", "CLUSTER"}, bare, nil, false},

		// GROUP_BY without a count: new values and the smallest groups win.
		{"group_by first", []string{"rack", "GROUP_BY"}, a1, nil, true},
		{"group_by new value", []string{"rack", "GROUP_BY"}, b1, []Host{a1}, true},
		{"group_by only value", []string{"rack", "GROUP_BY"}, a2, []Host{a1}, true},
		{"group_by bigger group", []string{"rack", "GROUP_BY"}, a2, []Host{a1, b1, a1}, false},
		{"group_by smallest group", []string{"rack", "GROUP_BY"}, b1, []Host{a1, b1, a1}, true},
		{"group_by even", []string{"rack", "GROUP_BY"}, a1, []Host{a1, b1}, true},
		{"group_by missing group counts", []string{"rack", "GROUP_BY"}, a1, []Host{a1, bare, bare}, true},
		{"group_by missing smaller", []string{"rack", "GROUP_BY"}, a1, []Host{a1, a1, bare}, false},
		{"group_by missing attribute", []string{"rack", "GROUP_BY"}, bare, nil, false},
		// GROUP_BY with N: until N values hold instances, only new values.
		{"group_by 3 first", []string{"rack", "GROUP_BY", "3"}, a1, nil, true},
		{"group_by 3 repeat early", []string{"rack", "GROUP_BY", "3"}, a2, []Host{a1}, false},
		{"group_by 3 new value", []string{"rack", "GROUP_BY", "3"}, b1, []Host{a1}, true},
		{"group_by 3 two groups", []string{"rack", "GROUP_BY", "3"}, b1, []Host{a1, b1}, false},
		{"group_by 3 third value", []string{"rack", "GROUP_BY", "3"}, c1, []Host{a1, b1}, true},
		{"group_by 3 covered smallest", []string{"rack", "GROUP_BY", "3"}, a1, []Host{a1, b1, c1}, true},
		{"group_by 3 covered bigger", []string{"rack", "GROUP_BY", "3"}, a1, []Host{a1, b1, c1, a2}, false},
		{"group_by 1 behaves like none", []string{"rack", "GROUP_BY", "1"}, a2, []Host{a1}, true},
		{"group_by zone", []string{"@zone", "GROUP_BY", "2"}, zoned("z", "eu", "a"), []Host{zoned("y", "eu", "a")}, false},

		// LIKE / UNLIKE match the whole value.
		{"like match", []string{"rack", "LIKE", "r[12]"}, a1, nil, true},
		{"like partial is no match", []string{"rack", "LIKE", "r"}, a1, nil, false},
		{"like any", []string{"rack", "LIKE", ".*"}, c1, nil, true},
		{"like alternation anchored", []string{"rack", "LIKE", "x|r1"}, a1, nil, true},
		{"like alternation no prefix match", []string{"rack", "LIKE", "r|x"}, a1, nil, false},
		{"like hostname", []string{"hostname", "LIKE", "a.*"}, a2, nil, true},
		{"like missing attribute", []string{"rack", "LIKE", ".*"}, bare, nil, false},
		{"unlike match", []string{"rack", "UNLIKE", "r[12]"}, a1, nil, false},
		{"unlike no match", []string{"rack", "UNLIKE", "r[12]"}, c1, nil, true},
		{"unlike partial", []string{"rack", "UNLIKE", "r"}, a1, nil, true},
		{"unlike missing attribute", []string{"rack", "UNLIKE", "r1"}, bare, nil, true},
		{"unlike missing region", []string{"@region", "UNLIKE", "eu"}, bare, nil, true},
		{"unlike hostname", []string{"hostname", "UNLIKE", "b.*"}, a1, nil, true},

		// MAX_PER
		{"max_per under", []string{"rack", "MAX_PER", "2"}, a1, []Host{a2}, true},
		{"max_per reached", []string{"rack", "MAX_PER", "2"}, a1, []Host{a2, a1}, false},
		{"max_per other value", []string{"rack", "MAX_PER", "1"}, b1, []Host{a1}, true},
		{"max_per hostname", []string{"hostname", "MAX_PER", "1"}, a1, []Host{a1}, false},
		{"max_per zero refuses", []string{"rack", "MAX_PER", "0"}, a1, nil, false},
		{"max_per missing attribute", []string{"rack", "MAX_PER", "5"}, bare, nil, false},

		// IS: exact text, or numbers rounded to three decimals half-even.
		{"is text", []string{"rack", "IS", "r1"}, a1, nil, true},
		{"is text mismatch", []string{"rack", "IS", "r"}, a1, nil, false},
		{"is scalar equal", []string{"cores", "IS", "2"}, host("s", "cores", "2"), nil, true},
		{"is scalar trailing zeros", []string{"cores", "IS", "2.000"}, host("s", "cores", "2"), nil, true},
		{"is scalar rounds down on even", []string{"cores", "IS", "2.0005"}, host("s", "cores", "2"), nil, true},
		{"is scalar rounds up on odd", []string{"cores", "IS", "2.0015"}, host("s", "cores", "2.002"), nil, true},
		{"is scalar beyond precision", []string{"cores", "IS", "2.0004"}, host("s", "cores", "2"), nil, true},
		{"is scalar differs", []string{"cores", "IS", "2.001"}, host("s", "cores", "2"), nil, false},
		{"is number against text", []string{"rack", "IS", "1"}, a1, nil, false},
		{"is hostname", []string{"hostname", "IS", "a1"}, a1, nil, true},
		{"is region", []string{"@region", "IS", "eu"}, zoned("z", "eu", "eu-1"), nil, true},
		{"is zone", []string{"@zone", "IS", "eu-1"}, zoned("z", "eu", "eu-2"), nil, false},
		{"is missing zone", []string{"@zone", "IS", "eu-1"}, bare, nil, false},
		{"is range", []string{"ports", "IS", "[1-2,5-9]"}, host("r", "ports", "[1-2,5-9]"), nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse(tc.constraint)
			if err != nil {
				t.Fatal(err)
			}
			if got := c.Allows(tc.candidate, tc.placed); got != tc.want {
				t.Fatalf("%s on %s with %d placed = %v, want %v", c, tc.candidate.Hostname, len(tc.placed), got, tc.want)
			}
		})
	}
}

// TestGroupByEvenness places instances one at a time on the first agent
// (in a fixed order) that the constraint allows, and checks the spread.
func TestGroupByEvenness(t *testing.T) {
	agents := []Host{host("a", "rack", "r1"), host("b", "rack", "r1"), host("c", "rack", "r2"), host("d", "rack", "r3")}
	all := []int{0, 1, 2, 3}
	tests := []struct {
		name  string
		value string
		// offers lists the agents (by index) offered each round, in order.
		offers [][]int
		want   map[string]int
	}{
		{"no count evens out the values it sees", "", [][]int{{0}, {2, 0}, {0, 2}, {3, 0, 2}, {0, 2, 3}, {0, 2, 3}}, map[string]int{"r1": 2, "r2": 2, "r3": 2}},
		{"no count follows offer order", "", [][]int{all, all, all}, map[string]int{"r1": 3}},
		{"count waits for distinct values", "3", [][]int{all, all, all, all, all, all}, map[string]int{"r1": 2, "r2": 2, "r3": 2}},
		{"count with too few values stalls", "4", [][]int{all, all, all, all, all}, map[string]int{"r1": 1, "r2": 1, "r3": 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			raw := []string{"rack", "GROUP_BY"}
			if tc.value != "" {
				raw = append(raw, tc.value)
			}
			c, err := Parse(raw)
			if err != nil {
				t.Fatal(err)
			}
			var placed []Host
			for _, round := range tc.offers {
				for _, i := range round {
					if c.Allows(agents[i], placed) {
						placed = append(placed, agents[i])
						break
					}
				}
			}
			got := map[string]int{}
			for _, p := range placed {
				got[p.Attributes["rack"]]++
			}
			if len(got) != len(tc.want) {
				t.Fatalf("spread %v, want %v", got, tc.want)
			}
			for k, v := range tc.want {
				if got[k] != v {
					t.Fatalf("spread %v, want %v", got, tc.want)
				}
			}
		})
	}
}

func TestHostOf(t *testing.T) {
	attrs, err := resources.ParseAttributes("rack:r1;cores:2.50;ratio:1234.5678;ports:[9-10, 1-2];tags:{b, a, c};weird:0.0005")
	if err != nil {
		t.Fatal(err)
	}
	o := &mesospb.Offer{
		AgentId:    &mesospb.AgentID{Value: proto.String("S1")},
		Hostname:   proto.String("host1"),
		Attributes: attrs,
		Domain: &mesospb.DomainInfo{FaultDomain: &mesospb.DomainInfo_FaultDomain{
			Region: &mesospb.DomainInfo_FaultDomain_RegionInfo{Name: proto.String("eu")},
			Zone:   &mesospb.DomainInfo_FaultDomain_ZoneInfo{Name: proto.String("eu-1")},
		}},
	}
	h := HostOf(o)
	want := map[string]string{
		"rack":      "r1",
		"cores":     "2.5",
		"ratio":     "1234.568",
		"ports":     "[1-2,9-10]",
		"tags":      "{a,b,c}",
		"weird":     "0",
		"@zone":     "eu-1",
		"@region":   "eu",
		"hostname":  "host1",
		"@hostname": "host1",
	}
	for field, v := range want {
		if got, ok := h.Value(field); !ok || got != v {
			t.Errorf("Value(%q) = %q, %v; want %q", field, got, ok, v)
		}
	}
	if h.AgentID != "S1" {
		t.Errorf("agent %q", h.AgentID)
	}
	if _, ok := h.Value("missing"); ok {
		t.Error("missing attribute reported present")
	}
	if _, ok := HostOf(&mesospb.Offer{Hostname: proto.String("x")}).Value("@zone"); ok {
		t.Error("zone present without a domain")
	}
}

func TestFailed(t *testing.T) {
	cs, err := ParseAll([][]string{{"hostname", "UNIQUE"}, {"rack", "LIKE", "r1"}, {"rack", "IS", "r2"}})
	if err != nil {
		t.Fatal(err)
	}
	a := host("a", "rack", "r1")
	if got := Failed(cs, a, NewIndex(cs, a)); len(got) != 2 || got[0] != 0 || got[1] != 2 {
		t.Fatalf("Failed = %v", got)
	}
	if got := Failed(cs[1:2], a, nil); len(got) != 0 {
		t.Fatalf("Failed = %v", got)
	}
}

func TestIndex(t *testing.T) {
	a1, a2, b1, bare := host("a1", "rack", "r1"), host("a2", "rack", "r1"), host("b1", "rack", "r2"), host("bare")
	var idx Index // the zero value works
	for _, h := range []Host{a1, a1, a2, b1, bare} {
		idx.Add(h)
	}
	if idx.Len() != 5 || idx.Count("rack", "r1") != 3 || idx.Count("@hostname", "a1") != 2 || idx.Count("hostname", "a1") != 2 {
		t.Fatalf("len %d r1 %d a1 %d", idx.Len(), idx.Count("rack", "r1"), idx.Count("hostname", "a1"))
	}
	if n, smallest := idx.groups("rack"); n != 3 || smallest != 1 {
		t.Fatalf("groups %d smallest %d", n, smallest)
	}
	if !idx.Remove(b1) || idx.Remove(host("zz")) {
		t.Fatal("Remove")
	}
	if n, smallest := idx.groups("rack"); n != 2 || smallest != 1 || idx.Count("rack", "r2") != 0 {
		t.Fatalf("after remove: groups %d smallest %d", n, smallest)
	}
	// A field first asked for after the hosts were added is counted from them.
	c, err := Parse([]string{"hostname", "MAX_PER", "2"})
	if err != nil {
		t.Fatal(err)
	}
	if c.AllowsIndexed(a1, &idx) || !c.AllowsIndexed(a2, &idx) {
		t.Fatal("MAX_PER through the index")
	}
	idx.Remove(a1)
	if !c.AllowsIndexed(a1, &idx) || len(idx.Hosts()) != 3 {
		t.Fatal("MAX_PER after remove")
	}
	var nilIdx *Index
	if nilIdx.Len() != 0 || nilIdx.Count("rack", "r1") != 0 || nilIdx.Hosts() != nil || !c.AllowsIndexed(a1, nilIdx) {
		t.Fatal("nil index")
	}
}
