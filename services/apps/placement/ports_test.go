package placement

import (
	"slices"
	"testing"

	"strata/kernel/mesos/resources"
)

// portsOf places one instance and returns its assigned ports, failing the
// test on a rejection.
func portsOf(t *testing.T, s Spec, res string, seed uint64) ([]AssignedPort, *Fit) {
	t.Helper()
	fit, rej := matcher(t, s).Match(NewRemaining(offer(t, "O1", "h", res, "")), nil, randFrom(seed))
	if rej != nil {
		t.Fatal(rej)
	}
	return fit.Ports, fit
}

func TestPortsAssignment(t *testing.T) {
	tests := []struct {
		name string
		spec Spec
		res  string
		// host and container ports wanted per request; -1 = any dynamic
		// port (checked against the ranges), -2 = any port above 1024.
		host, container []int
		inRanges        []resources.Range
	}{
		{
			name: "dynamic host ports",
			spec: Spec{Ports: []PortRequest{{}, {HostPort: 10000}}}, // a service port, not fixed
			res:  "ports:[31000-31009]",
			host: []int{-1, -1}, container: []int{0, 0},
			inRanges: []resources.Range{{Begin: 31000, End: 31009}},
		},
		{
			name: "requirePorts takes the literal ports",
			spec: Spec{RequirePorts: true, Ports: []PortRequest{{HostPort: 31005}, {HostPort: 31000}, {}}},
			res:  "ports:[31000-31009]",
			host: []int{31005, 31000, -1}, container: []int{0, 0, 0},
			inRanges: []resources.Range{{Begin: 31001, End: 31004}, {Begin: 31006, End: 31009}},
		},
		{
			name: "bridge: fixed hostPort, containerPort 0 follows the host port",
			spec: Spec{Network: NetworkBridge, Ports: []PortRequest{{HostPort: 31002, ContainerPort: 80}, {ContainerPort: 0}, {ContainerPort: 8080}}},
			res:  "ports:[31000-31003]",
			host: []int{31002, -1, -1}, container: []int{80, -3, 8080},
			inRanges: []resources.Range{{Begin: 31000, End: 31001}, {Begin: 31003, End: 31003}},
		},
		{
			name: "container network: host port only where asked",
			spec: Spec{Network: NetworkContainer, Ports: []PortRequest{{NoHostPort: true, ContainerPort: 8080}, {NoHostPort: true}, {HostPort: 0, ContainerPort: 9090}}},
			res:  "ports:[31000-31000]",
			host: []int{0, 0, 31000}, container: []int{8080, -2, 9090},
		},
		{
			name: "port 0 and ports above 65535 are never given",
			spec: Spec{Ports: []PortRequest{{}}},
			res:  "ports:[0-0, 65535-70000]",
			host: []int{65535}, container: []int{0},
		},
		{
			name: "reserved ports are used for the role",
			spec: Spec{Role: "eng", Ports: []PortRequest{{}}},
			res:  "ports(eng):[40000-40000];ports(ops):[41000-41000]",
			host: []int{40000}, container: []int{0},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ports, fit := portsOf(t, tc.spec, tc.res, 7)
			if len(ports) != len(tc.host) {
				t.Fatalf("%d ports, want %d", len(ports), len(tc.host))
			}
			var hostPorts []int
			for i, p := range ports {
				if p.Index != i || !slices.Equal(p.Request.NetworkNames, tc.spec.Ports[i].NetworkNames) {
					t.Fatalf("port %d: %+v", i, p)
				}
				switch want := tc.host[i]; want {
				case -1:
					if p.HostPort == 0 {
						t.Fatalf("port %d: no host port", i)
					}
					if len(tc.inRanges) > 0 && !resources.RangesContain(tc.inRanges, []resources.Range{{Begin: uint64(p.HostPort), End: uint64(p.HostPort)}}) {
						t.Fatalf("port %d: host port %d outside %v", i, p.HostPort, tc.inRanges)
					}
				default:
					if p.HostPort != want {
						t.Fatalf("port %d: host port %d, want %d", i, p.HostPort, want)
					}
				}
				switch want := tc.container[i]; want {
				case -2:
					if p.ContainerPort < 1025 || p.ContainerPort > 65535 {
						t.Fatalf("port %d: container port %d", i, p.ContainerPort)
					}
				case -3:
					if p.ContainerPort != p.HostPort {
						t.Fatalf("port %d: container port %d, host port %d", i, p.ContainerPort, p.HostPort)
					}
				default:
					if p.ContainerPort != want {
						t.Fatalf("port %d: container port %d, want %d", i, p.ContainerPort, want)
					}
				}
				if p.HostPort != 0 {
					if slices.Contains(hostPorts, p.HostPort) {
						t.Fatalf("host port %d twice", p.HostPort)
					}
					hostPorts = append(hostPorts, p.HostPort)
				}
			}
			if !slices.Equal(fit.HostPorts(), hostPorts) {
				t.Fatalf("HostPorts %v, want %v", fit.HostPorts(), hostPorts)
			}
			// The ports resource names exactly the host ports.
			got := resources.Ranges(fit.Resources, resources.Ports)
			var want []resources.Range
			for _, p := range hostPorts {
				want = append(want, resources.Range{Begin: uint64(p), End: uint64(p)})
			}
			if !slices.Equal(got, resources.CoalesceRanges(want)) {
				t.Fatalf("ports resource %v, want %v", got, want)
			}
			if tc.spec.Role == "eng" && resources.Format(fit.Resources) != "ports(eng):[40000-40000]" {
				t.Fatalf("fit %s", resources.Format(fit.Resources))
			}
		})
	}
}

func TestPortsRejected(t *testing.T) {
	tests := []struct {
		name    string
		spec    Spec
		res     string
		missing []int
		short   bool
	}{
		{"no ports resource", Spec{Ports: []PortRequest{{}}}, "cpus:1", nil, true},
		{"only port 0 and ports above 65535", Spec{Ports: []PortRequest{{}}}, "ports:[0-0, 65536-70000]", nil, true},
		{"range exhausted", Spec{Ports: []PortRequest{{}, {}, {}}}, "ports:[31000-31001]", nil, true},
		{"fixed port missing", Spec{RequirePorts: true, Ports: []PortRequest{{HostPort: 80}, {HostPort: 31000}}}, "ports:[31000-31001]", []int{80}, false},
		{"fixed port leaves too few", Spec{Network: NetworkBridge, Ports: []PortRequest{{HostPort: 31000}, {}, {}}}, "ports:[31000-31001]", nil, true},
		{"reserved ports of another role", Spec{Ports: []PortRequest{{}}}, "cpus:1;ports(ops):[31000-31001]", nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, rej := matcher(t, tc.spec).Match(NewRemaining(offer(t, "O1", "h", tc.res, "")), nil, randFrom(1))
			if rej == nil || !rej.Has(InsufficientPorts) {
				t.Fatalf("rejection %v", rej)
			}
			if !slices.Equal(rej.MissingPorts, tc.missing) {
				t.Fatalf("missing %v, want %v", rej.MissingPorts, tc.missing)
			}
			hasShort := slices.ContainsFunc(rej.Shortfalls, func(s Shortfall) bool { return s.Reason == InsufficientPorts })
			if hasShort != tc.short {
				t.Fatalf("shortfalls %v", rej.Shortfalls)
			}
		})
	}
}

// TestPortsRandom checks that dynamic ports are spread over the whole offered
// range instead of always starting at its lowest port, and that a seeded
// source makes the choice reproducible.
func TestPortsRandom(t *testing.T) {
	spec := Spec{Ports: []PortRequest{{}}}
	res := "ports:[31000-31009, 32000-32009]"
	seen := map[int]int{}
	for seed := range uint64(400) {
		ports, _ := portsOf(t, spec, res, seed)
		seen[ports[0].HostPort]++
	}
	if len(seen) != 20 {
		t.Fatalf("only %d of 20 ports were ever drawn: %v", len(seen), seen)
	}
	for p, n := range seen {
		if (p < 31000 || p > 31009) && (p < 32000 || p > 32009) {
			t.Fatalf("port %d outside the offer", p)
		}
		if n > 60 { // 20 expected per port
			t.Fatalf("port %d drawn %d times of 400: %v", p, n, seen)
		}
	}
	_, a := portsOf(t, Spec{Ports: []PortRequest{{}, {}, {}}}, res, 99)
	_, b := portsOf(t, Spec{Ports: []PortRequest{{}, {}, {}}}, res, 99)
	if !slices.Equal(a.HostPorts(), b.HostPorts()) {
		t.Fatalf("same seed, different ports: %v %v", a.HostPorts(), b.HostPorts())
	}
	// A nil source works too.
	fit, rej := matcher(t, spec).Match(NewRemaining(offer(t, "O1", "h", res, "")), nil, nil)
	if rej != nil || fit.Ports[0].HostPort == 0 {
		t.Fatalf("nil rng: %v %v", fit, rej)
	}
}

func TestFreeContainerPortExhausted(t *testing.T) {
	used := map[int]bool{}
	for p := firstUnprivileged; p <= maxPort; p++ {
		used[p] = true
	}
	delete(used, 40000)
	if got := freeContainerPort(used, randFrom(3)); got != 40000 {
		t.Fatalf("got %d", got)
	}
	if got := freeContainerPort(used, randFrom(3)); got != 0 {
		t.Fatalf("got %d from a full set", got)
	}
}
