package placement

import (
	"math/rand/v2"

	"strata/kernel/mesos/mesospb"
	"strata/kernel/mesos/resources"
)

// maxPort is the highest TCP/UDP port; offered ranges beyond it (or port 0)
// are never handed out.
const maxPort = 65535

// firstUnprivileged is the lowest port drawn for a container port that has
// neither a declared number nor a host port, as Marathon does.
const firstUnprivileged = 1025

// AssignedPort is the outcome for one PortRequest.
type AssignedPort struct {
	// Index is the request's position in Spec.Ports.
	Index   int
	Request PortRequest
	// HostPort is the host port taken from the offer; 0 when the request
	// gets none (a container-network mapping without a host port).
	HostPort int
	// ContainerPort is the port inside the container for portMappings:
	// the declared containerPort, or the host port when that was 0, or a
	// random unprivileged port when there is neither. It is 0 with
	// NetworkHost.
	ContainerPort int
}

// segment is a run of free ports from one offered ports resource.
type segment struct {
	begin, end uint64
	src        int
}

// portAssignment is assignPorts' result.
type portAssignment struct {
	ok        bool
	ports     []AssignedPort
	resources []*mesospb.Resource
	missing   []int      // fixed host ports the offer lacks
	short     *Shortfall // too few ports for the dynamic ones
}

// assignPorts takes the spec's fixed host ports, then draws its dynamic
// ones at random from what is left of the usable ports resources. With draw
// false (the offer is rejected anyway) it only checks that there are enough.
func (m *Matcher) assignPorts(usable []*mesospb.Resource, rng *rand.Rand, draw bool) portAssignment {
	var srcs []*mesospb.Resource
	var free []segment
	for _, res := range usable {
		if res.GetName() != resources.Ports || res.GetType() != mesospb.Value_RANGES {
			continue
		}
		for _, rg := range resources.CoalesceRanges(resources.RangesFromProto(res.GetRanges())) {
			b, e := max(rg.Begin, 1), min(rg.End, maxPort)
			if b <= e {
				free = append(free, segment{b, e, len(srcs)})
			}
		}
		srcs = append(srcs, res)
	}
	taken := make([][]resources.Range, len(srcs))
	take := func(port uint64) bool {
		for i := range free {
			s := &free[i]
			if port < s.begin || port > s.end {
				continue
			}
			taken[s.src] = append(taken[s.src], resources.Range{Begin: port, End: port})
			switch {
			case s.begin == s.end:
				free = append(free[:i], free[i+1:]...)
			case port == s.begin:
				s.begin++
			case port == s.end:
				s.end--
			default:
				upper := segment{port + 1, s.end, s.src}
				s.end = port - 1
				free = append(free, segment{})
				copy(free[i+2:], free[i+1:])
				free[i+1] = upper
			}
			return true
		}
		return false
	}

	out := portAssignment{ok: true, ports: make([]AssignedPort, len(m.spec.Ports))}
	var dynamic []int
	for i, p := range m.spec.Ports {
		out.ports[i] = AssignedPort{Index: i, Request: p}
		switch {
		case !needsHostPort(p):
		case m.spec.fixedHostPort(p):
			if take(uint64(p.HostPort)) {
				out.ports[i].HostPort = p.HostPort
			} else {
				out.ok = false
				out.missing = append(out.missing, p.HostPort)
			}
		default:
			dynamic = append(dynamic, i)
		}
	}
	var avail uint64
	for _, s := range free {
		avail += s.end - s.begin + 1
	}
	if uint64(len(dynamic)) > avail {
		out.ok = false
		out.short = &Shortfall{Reason: InsufficientPorts, Need: float64(len(dynamic)), Have: float64(avail)}
	}
	if !out.ok || !draw {
		return out
	}
	for _, i := range dynamic {
		k := randN(rng, avail)
		for _, s := range free {
			if size := s.end - s.begin + 1; k >= size {
				k -= size
				continue
			}
			port := s.begin + k
			take(port)
			out.ports[i].HostPort = int(port)
			break
		}
		avail--
	}

	if m.spec.Network != NetworkHost {
		assignContainerPorts(out.ports, rng)
	}
	for i, rs := range taken {
		if len(rs) == 0 {
			continue
		}
		part := bare(srcs[i])
		part.Ranges = resources.RangesToProto(resources.CoalesceRanges(rs))
		out.resources = append(out.resources, part)
	}
	return out
}

// assignContainerPorts resolves the container ports of portMappings: a
// declared one as is, else the host port, else a random unprivileged port
// that no other mapping of the app uses.
func assignContainerPorts(ports []AssignedPort, rng *rand.Rand) {
	used := make(map[int]bool)
	for _, p := range ports {
		used[p.Request.ContainerPort] = true
		used[p.HostPort] = true
	}
	for i := range ports {
		p := &ports[i]
		switch {
		case p.Request.ContainerPort != 0:
			p.ContainerPort = p.Request.ContainerPort
		case p.HostPort != 0:
			p.ContainerPort = p.HostPort
		default:
			p.ContainerPort = freeContainerPort(used, rng)
		}
	}
}

// freeContainerPort draws an unprivileged port not in used and marks it
// used; after a few unlucky draws it takes the lowest free one. It returns 0
// only when every unprivileged port is used.
func freeContainerPort(used map[int]bool, rng *rand.Rand) int {
	for range 64 {
		if c := firstUnprivileged + int(randN(rng, maxPort-firstUnprivileged+1)); !used[c] {
			used[c] = true
			return c
		}
	}
	for c := firstUnprivileged; c <= maxPort; c++ {
		if !used[c] {
			used[c] = true
			return c
		}
	}
	return 0
}

// randN draws uniformly from [0, n), n > 0.
func randN(rng *rand.Rand, n uint64) uint64 {
	if rng == nil {
		return rand.Uint64N(n)
	}
	return rng.Uint64N(n)
}
