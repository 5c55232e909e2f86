package placement

import (
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"strata/kernel/mesos/mesospb"
	"strata/kernel/mesos/resources"
	"strata/services/apps/placement/constraint"
)

// offer builds an offer from the agent flag syntax ("cpus:2;mem(eng):64").
func offer(t testing.TB, id, host, res, attrs string) *mesospb.Offer {
	t.Helper()
	rs, err := resources.Parse(res, "")
	if err != nil {
		t.Fatal(err)
	}
	var as []*mesospb.Attribute
	if attrs != "" {
		if as, err = resources.ParseAttributes(attrs); err != nil {
			t.Fatal(err)
		}
	}
	return &mesospb.Offer{
		Id:         &mesospb.OfferID{Value: proto.String(id)},
		AgentId:    &mesospb.AgentID{Value: proto.String(host + "-S")},
		Hostname:   proto.String(host),
		Resources:  rs,
		Attributes: as,
	}
}

func matcher(t testing.TB, s Spec) *Matcher {
	t.Helper()
	m, err := NewMatcher(s)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func seeded() *rand.Rand { return randFrom(1) }

func randFrom(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 2)) }

// dynamicReservation reserves r dynamically to role, with optional labels.
func dynamicReservation(r *mesospb.Resource, role string, labels ...string) *mesospb.Resource {
	c := proto.Clone(r).(*mesospb.Resource)
	c.Role = nil //nolint:staticcheck // legacy wire field
	ri := &mesospb.Resource_ReservationInfo{
		Type:      mesospb.Resource_ReservationInfo_DYNAMIC.Enum(),
		Role:      proto.String(role),
		Principal: proto.String("ops"),
	}
	if len(labels) > 0 {
		ri.Labels = &mesospb.Labels{}
		for i := 0; i+1 < len(labels); i += 2 {
			ri.Labels.Labels = append(ri.Labels.Labels, &mesospb.Label{Key: proto.String(labels[i]), Value: proto.String(labels[i+1])})
		}
	}
	c.Reservations = []*mesospb.Resource_ReservationInfo{ri}
	return c
}

func TestMatchResources(t *testing.T) {
	labeled := dynamicReservation(resources.NewScalar("cpus", 4), "eng", "marathon_residency", "x")
	dynamic := dynamicReservation(resources.NewScalar("cpus", 4), "eng")
	tests := []struct {
		name    string
		spec    Spec
		offer   func(t testing.TB) *mesospb.Offer
		reasons []Reason
		want    string // resources.Format of the fit
	}{
		{
			name:  "unreserved",
			spec:  Spec{CPUs: 1, Mem: 128},
			offer: func(t testing.TB) *mesospb.Offer { return offer(t, "O1", "h", "cpus:4;mem:1024;disk:100", "") },
			want:  "cpus:1; mem:128",
		},
		{
			name:  "disk and gpus",
			spec:  Spec{CPUs: 0.5, Mem: 64, Disk: 10, GPUs: 1},
			offer: func(t testing.TB) *mesospb.Offer { return offer(t, "O1", "h", "cpus:4;mem:1024;disk:100;gpus:2", "") },
			want:  "cpus:0.5; mem:64; disk:10; gpus:1",
		},
		{
			name:  "reserved for the role first, then unreserved",
			spec:  Spec{CPUs: 3, Mem: 128, Role: "eng"},
			offer: func(t testing.TB) *mesospb.Offer { return offer(t, "O1", "h", "cpus:4;cpus(eng):2;mem:1024", "") },
			want:  "cpus(eng):2; cpus:1; mem:128",
		},
		{
			name:  "reserved for an ancestor role",
			spec:  Spec{CPUs: 1, Role: "eng/web"},
			offer: func(t testing.TB) *mesospb.Offer { return offer(t, "O1", "h", "cpus(eng):2", "") },
			want:  "cpus(eng):1",
		},
		{
			name:    "reserved for another role is not used",
			spec:    Spec{CPUs: 3, Role: "eng"},
			offer:   func(t testing.TB) *mesospb.Offer { return offer(t, "O1", "h", "cpus:2;cpus(ops):2", "") },
			reasons: []Reason{InsufficientCpus},
		},
		{
			name:    "default role uses only unreserved",
			spec:    Spec{CPUs: 1},
			offer:   func(t testing.TB) *mesospb.Offer { return offer(t, "O1", "h", "cpus(eng):2;mem(eng):512", "") },
			reasons: []Reason{UnfulfilledRole, InsufficientCpus},
		},
		{
			name:  "accepted roles: reserved only",
			spec:  Spec{CPUs: 1, Role: "eng", AcceptedRoles: []string{"eng"}},
			offer: func(t testing.TB) *mesospb.Offer { return offer(t, "O1", "h", "cpus:4;cpus(eng):1", "") },
			want:  "cpus(eng):1",
		},
		{
			name:    "accepted roles: reserved only, not enough",
			spec:    Spec{CPUs: 2, Role: "eng", AcceptedRoles: []string{"eng"}},
			offer:   func(t testing.TB) *mesospb.Offer { return offer(t, "O1", "h", "cpus:4;cpus(eng):1", "") },
			reasons: []Reason{InsufficientCpus},
		},
		{
			name:    "accepted roles: slave_public offer refused",
			spec:    Spec{CPUs: 1, AcceptedRoles: []string{"slave_public"}},
			offer:   func(t testing.TB) *mesospb.Offer { return offer(t, "O1", "h", "cpus:4;mem:512", "") },
			reasons: []Reason{UnfulfilledRole, InsufficientCpus},
		},
		{
			name:  "accepted roles: star only skips the reservation",
			spec:  Spec{CPUs: 2, Role: "eng", AcceptedRoles: []string{"*"}},
			offer: func(t testing.TB) *mesospb.Offer { return offer(t, "O1", "h", "cpus:4;cpus(eng):2", "") },
			want:  "cpus:2",
		},
		{
			name: "dynamic reservation is used and kept",
			spec: Spec{CPUs: 1, Role: "eng"},
			offer: func(t testing.TB) *mesospb.Offer {
				o := offer(t, "O1", "h", "mem:64", "")
				o.Resources = append(o.Resources, dynamic)
				return o
			},
			want: "cpus(eng):1",
		},
		{
			name: "labeled reservation belongs to a resident app",
			spec: Spec{CPUs: 1, Role: "eng"},
			offer: func(t testing.TB) *mesospb.Offer {
				o := offer(t, "O1", "h", "mem:64", "")
				o.Resources = append(o.Resources, labeled)
				return o
			},
			reasons: []Reason{InsufficientCpus},
		},
		{
			name: "revocable cpus are not used",
			spec: Spec{CPUs: 1},
			offer: func(t testing.TB) *mesospb.Offer {
				o := offer(t, "O1", "h", "mem:64", "")
				rev := resources.NewScalar("cpus", 8)
				rev.Revocable = &mesospb.Resource_RevocableInfo{}
				o.Resources = append(o.Resources, rev)
				return o
			},
			reasons: []Reason{InsufficientCpus},
		},
		{
			name: "mount disk is not used",
			spec: Spec{Disk: 10},
			offer: func(t testing.TB) *mesospb.Offer {
				o := offer(t, "O1", "h", "disk:5", "")
				d := resources.NewScalar("disk", 1000)
				d.Disk = &mesospb.Resource_DiskInfo{Source: &mesospb.Resource_DiskInfo_Source{Type: mesospb.Resource_DiskInfo_Source_MOUNT.Enum()}}
				o.Resources = append(o.Resources, d)
				return o
			},
			reasons: []Reason{InsufficientDisk},
		},
		{
			name: "multi-role: allocation_info copied",
			spec: Spec{CPUs: 1, Mem: 32, Role: "eng"},
			offer: func(t testing.TB) *mesospb.Offer {
				o := offer(t, "O1", "h", "cpus:2;cpus(eng):0.5;mem:64", "")
				o.Resources = resources.Allocate(o.Resources, "eng")
				o.AllocationInfo = &mesospb.Resource_AllocationInfo{Role: proto.String("eng")}
				return o
			},
			want: "cpus(eng):0.5; cpus:0.5; mem:32",
		},
		{
			name: "multi-role: offer for another role",
			spec: Spec{CPUs: 1, Role: "eng"},
			offer: func(t testing.TB) *mesospb.Offer {
				o := offer(t, "O1", "h", "cpus:2", "")
				o.Resources = resources.Allocate(o.Resources, "ops")
				o.AllocationInfo = &mesospb.Resource_AllocationInfo{Role: proto.String("ops")}
				return o
			},
			reasons: []Reason{UnfulfilledRole, InsufficientCpus},
		},
		{
			name:    "every shortage at once",
			spec:    Spec{CPUs: 8, Mem: 4096, Disk: 1000, GPUs: 1, Ports: []PortRequest{{}}},
			offer:   func(t testing.TB) *mesospb.Offer { return offer(t, "O1", "h", "cpus:4;mem:1024;disk:100", "") },
			reasons: []Reason{InsufficientCpus, InsufficientMemory, InsufficientDisk, InsufficientGpus, InsufficientPorts},
		},
		{
			name:  "precision of a thousandth",
			spec:  Spec{CPUs: 0.1 + 0.2, Mem: 0.0004},
			offer: func(t testing.TB) *mesospb.Offer { return offer(t, "O1", "h", "cpus:0.3;mem:1", "") },
			want:  "cpus:0.3",
		},
		{
			name:  "nothing needed fits an empty offer",
			spec:  Spec{},
			offer: func(t testing.TB) *mesospb.Offer { return offer(t, "O1", "h", "", "") },
			want:  "",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := matcher(t, tc.spec)
			o := tc.offer(t)
			before := proto.Clone(o)
			r := NewRemaining(o)
			fit, rej := m.Match(r, nil, seeded())
			if !proto.Equal(before, o) {
				t.Fatal("Match modified the offer")
			}
			if tc.reasons != nil {
				if fit != nil || rej == nil {
					t.Fatalf("want rejection %v, got fit %v", tc.reasons, fit)
				}
				if !slices.Equal(rej.Reasons, tc.reasons) {
					t.Fatalf("reasons %v, want %v", rej.Reasons, tc.reasons)
				}
				if rej.Reason() != tc.reasons[0] || rej.OfferID != "O1" || rej.Hostname != "h" {
					t.Fatalf("rejection %+v", rej)
				}
				if !resources.Equal(r.Resources(), o.GetResources()) || r.Placed() != 0 {
					t.Fatal("a rejection consumed resources")
				}
				return
			}
			if rej != nil {
				t.Fatalf("rejected: %v", rej)
			}
			if got := resources.Format(fit.Resources); got != tc.want {
				t.Fatalf("fit %q, want %q", got, tc.want)
			}
			if err := resources.Validate(fit.Resources); err != nil {
				t.Fatal(err)
			}
			if !resources.Contains(o.GetResources(), fit.Resources) {
				t.Fatal("fit holds resources the offer does not")
			}
			if !resources.Equal(resources.Add(r.Resources(), fit.Resources), o.GetResources()) {
				t.Fatalf("left %s + fit %s != offer", resources.Format(r.Resources()), resources.Format(fit.Resources))
			}
			if fit.AgentID != "h-S" || fit.OfferID != "O1" || fit.Host.Hostname != "h" || r.Placed() != 1 {
				t.Fatalf("fit %+v", fit)
			}
			if tc.spec.Role != "" && o.AllocationInfo != nil {
				for _, res := range fit.Resources {
					if resources.AllocationRole(res) != tc.spec.Role {
						t.Fatalf("allocation_info lost on %v", res)
					}
				}
			}
		})
	}
}

func TestMatchKeepsDynamicReservation(t *testing.T) {
	o := offer(t, "O1", "h", "mem:64", "")
	o.Resources = append(o.Resources, dynamicReservation(resources.NewScalar("cpus", 4), "eng"))
	fit, rej := matcher(t, Spec{CPUs: 1, Role: "eng"}).Match(NewRemaining(o), nil, nil)
	if rej != nil {
		t.Fatal(rej)
	}
	if len(fit.Resources) != 1 || !resources.IsDynamicallyReserved(fit.Resources[0]) || fit.Resources[0].GetReservations()[0].GetPrincipal() != "ops" {
		t.Fatalf("fit %v", fit.Resources)
	}
}

func TestMatchConstraints(t *testing.T) {
	m := matcher(t, Spec{CPUs: 1, Constraints: [][]string{{"hostname", "UNIQUE"}, {"rack", "LIKE", "r[12]"}, {"rack", "CLUSTER"}}})
	a := offer(t, "O1", "a", "cpus:4", "rack:r1")
	placedOnA := m.NewIndex(constraint.HostOf(a))

	_, rej := m.Match(NewRemaining(a), placedOnA, nil)
	if rej == nil || !slices.Equal(rej.Reasons, []Reason{UnfulfilledConstraint}) {
		t.Fatalf("rejection %v", rej)
	}
	if len(rej.Constraints) != 1 || rej.Constraints[0].Index != 0 || rej.Constraints[0].Constraint.String() != "hostname:UNIQUE" {
		t.Fatalf("constraints %+v", rej.Constraints)
	}

	c := offer(t, "O2", "c", "cpus:0.5", "rack:r3")
	_, rej = m.Match(NewRemaining(c), placedOnA, nil)
	if rej == nil || !slices.Equal(rej.Reasons, []Reason{UnfulfilledConstraint, InsufficientCpus}) {
		t.Fatalf("rejection %v", rej)
	}
	var idx []int
	for _, miss := range rej.Constraints {
		idx = append(idx, miss.Index)
	}
	if !slices.Equal(idx, []int{1, 2}) {
		t.Fatalf("failed constraints %v", idx)
	}
	msg := rej.Error()
	for _, want := range []string{"placement: offer O2 on c", "UnfulfilledConstraint (rack:LIKE:r[12], rack:CLUSTER)", "InsufficientCpus (need 1, have 0.5)"} {
		if !strings.Contains(msg, want) {
			t.Errorf("%q lacks %q", msg, want)
		}
	}

	if placedOnA.Len() != 1 {
		t.Fatal("a rejection changed the index")
	}
	b := offer(t, "O3", "b", "cpus:1", "rack:r1")
	if fit, rej := m.Match(NewRemaining(b), placedOnA, nil); rej != nil || fit.Host.Attributes["rack"] != "r1" {
		t.Fatalf("fit %v rej %v", fit, rej)
	}
	if placedOnA.Len() != 2 || placedOnA.Count("hostname", "b") != 1 {
		t.Fatal("a fit was not added to the index")
	}
}

func TestMatchN(t *testing.T) {
	tests := []struct {
		name   string
		spec   Spec
		res    string
		placed int // instances already on this host
		n      int
		want   int
		reason Reason
	}{
		{"limited by cpus", Spec{CPUs: 1, Mem: 100}, "cpus:3.5;mem:1000", 0, 10, 3, InsufficientCpus},
		{"limited by memory", Spec{CPUs: 0.1, Mem: 300}, "cpus:4;mem:1000", 0, 10, 3, InsufficientMemory},
		{"limited by n", Spec{CPUs: 0.1}, "cpus:4", 0, 5, 5, ""},
		{"limited by ports", Spec{CPUs: 0.1, Ports: []PortRequest{{}, {}}}, "cpus:4;ports:[31000-31004]", 0, 10, 2, InsufficientPorts},
		{"limited by max_per", Spec{CPUs: 0.1, Constraints: [][]string{{"hostname", "MAX_PER", "3"}}}, "cpus:4", 1, 10, 2, UnfulfilledConstraint},
		{"unique allows one", Spec{CPUs: 0.1, Constraints: [][]string{{"hostname", "UNIQUE"}}}, "cpus:4", 0, 10, 1, UnfulfilledConstraint},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := offer(t, "O1", "h", tc.res, "")
			m := matcher(t, tc.spec)
			var placed *constraint.Index
			if tc.placed > 0 {
				placed = m.NewIndex()
				for range tc.placed {
					placed.Add(constraint.HostOf(o))
				}
			}
			r := NewRemaining(o)
			fits, rej := m.MatchN(r, placed, tc.n, seeded())
			if placed != nil && placed.Len() != tc.placed+len(fits) {
				t.Fatalf("index holds %d, want %d", placed.Len(), tc.placed+len(fits))
			}
			if len(fits) != tc.want || r.Placed() != tc.want {
				t.Fatalf("placed %d (remaining says %d), want %d; rejection %v", len(fits), r.Placed(), tc.want, rej)
			}
			if tc.reason == "" {
				if rej != nil {
					t.Fatalf("rejection %v", rej)
				}
			} else if rej == nil || rej.Reason() != tc.reason {
				t.Fatalf("rejection %v, want %s", rej, tc.reason)
			}
			total := r.Resources()
			seen := map[int]bool{}
			for _, f := range fits {
				total = resources.Add(total, f.Resources)
				for _, p := range f.HostPorts() {
					if seen[p] {
						t.Fatalf("host port %d given twice", p)
					}
					seen[p] = true
				}
			}
			if !resources.Equal(total, o.GetResources()) {
				t.Fatalf("fits + left = %s, offer %s", resources.Format(total), resources.Format(o.GetResources()))
			}
		})
	}
}

func TestNewMatcherErrors(t *testing.T) {
	tests := []struct {
		name string
		spec Spec
		want string
	}{
		{"negative cpus", Spec{CPUs: -1}, "cpus must be"},
		{"bad constraint", Spec{Constraints: [][]string{{"a", "NOPE"}}}, "constraints(0)"},
		{"port out of range", Spec{Ports: []PortRequest{{HostPort: 70000}}}, "port numbers"},
		{"bad protocol", Spec{Ports: []PortRequest{{Protocol: "sctp"}}}, "tcp or udp"},
		{"repeated protocol", Spec{Ports: []PortRequest{{Protocol: "tcp,tcp"}}}, "repeats"},
		{"no host port on host network", Spec{Ports: []PortRequest{{NoHostPort: true}}}, "only container networking"},
		{"duplicate fixed ports", Spec{Network: NetworkBridge, Ports: []PortRequest{{HostPort: 80}, {HostPort: 80}}}, "both ask for host port 80"},
		{"unknown network", Spec{Network: 7}, "unknown network mode"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewMatcher(tc.spec)
			if !errors.Is(err, ErrInvalidSpec) || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "placement: ") {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
	// Duplicate service ports without requirePorts are not fixed host ports.
	if _, err := NewMatcher(Spec{Ports: []PortRequest{{HostPort: 80}, {HostPort: 80}}}); err != nil {
		t.Fatal(err)
	}
}

func TestFunnel(t *testing.T) {
	r := &Rejection{}
	r.add(InsufficientPorts)
	r.add(UnfulfilledRole)
	r.add(InsufficientCpus)
	r.add(InsufficientPorts)
	if !slices.Equal(r.Reasons, []Reason{UnfulfilledRole, InsufficientCpus, InsufficientPorts}) || r.Reason() != UnfulfilledRole {
		t.Fatalf("reasons %v", r.Reasons)
	}
	if FunnelIndex("Unknown") != len(Funnel) || FunnelIndex(UnfulfilledConstraint) != 1 {
		t.Fatal("FunnelIndex")
	}
	if (&Rejection{}).Reason() != "" {
		t.Fatal("empty rejection has a reason")
	}
}

func TestNewRemainingWith(t *testing.T) {
	o := offer(t, "O1", "h", "cpus:4;mem:1024", "rack:r1")
	left, err := resources.Parse("cpus:0.5;mem:1024", "")
	if err != nil {
		t.Fatal(err)
	}
	r := NewRemainingWith(o, left)
	m := matcher(t, Spec{CPUs: 1})
	if _, rej := m.Match(r, nil, nil); rej == nil || rej.Reason() != InsufficientCpus {
		t.Fatalf("rejection %v", rej)
	}
	if h := r.Host(); h.Attributes["rack"] != "r1" || r.Offer() != o {
		t.Fatalf("host %+v", h)
	}
	if !resources.Equal(left, r.Resources()) {
		t.Fatal("leftovers changed")
	}
	h := constraint.NewHost("S9", "h9", nil, nil)
	if h.AgentID != "S9" || h.Region != "" || h.Attributes != nil {
		t.Fatalf("NewHost %+v", h)
	}
}
