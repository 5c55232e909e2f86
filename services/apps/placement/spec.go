package placement

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"strata/services/apps/placement/constraint"
)

// NetworkMode says how an app's ports are declared and which of them need
// host ports.
type NetworkMode int

const (
	// NetworkHost: host networking with portDefinitions; every port is a
	// host port.
	NetworkHost NetworkMode = iota
	// NetworkBridge: container/bridge networking with portMappings; every
	// mapping gets a host port.
	NetworkBridge
	// NetworkContainer: container (USER) networking with portMappings; only
	// mappings that ask for a host port get one.
	NetworkContainer
)

// String names the mode as Marathon's networks[].mode does.
func (m NetworkMode) String() string {
	switch m {
	case NetworkHost:
		return "host"
	case NetworkBridge:
		return "container/bridge"
	case NetworkContainer:
		return "container"
	}
	return fmt.Sprintf("NetworkMode(%d)", int(m))
}

// PortRequest is one entry of an app's portDefinitions (NetworkHost) or
// portMappings (NetworkBridge, NetworkContainer).
type PortRequest struct {
	Name string
	// Protocol is "tcp" (also when empty), "udp", or both as "udp,tcp".
	Protocol string
	Labels   map[string]string
	// HostPort is the host port asked for; 0 means any port from the offer.
	// With NetworkHost it is portDefinitions[].port and is taken literally
	// only when Spec.RequirePorts is set (otherwise it is a service port and
	// a dynamic host port is chosen); with portMappings a non-zero hostPort
	// is always taken literally.
	HostPort int
	// NoHostPort marks a NetworkContainer mapping that declares no hostPort:
	// it gets no host port at all.
	NoHostPort bool
	// ContainerPort is the mapping's containerPort; 0 means the same as the
	// assigned host port (with no host port, a random port above 1024).
	ContainerPort int
	// ServicePort is the port's service port, which names the PORT_<number>
	// variable Marathon sets; 0 when there is none.
	ServicePort int
	// NetworkNames lists the container networks a NetworkContainer mapping
	// applies to (for DiscoveryInfo); empty means all of the app's.
	NetworkNames []string
}

// Spec is what placement needs to know about an app.
type Spec struct {
	CPUs, Mem, Disk, GPUs float64
	Network               NetworkMode
	Ports                 []PortRequest
	RequirePorts          bool
	// Constraints in Marathon's array form.
	Constraints [][]string
	// AcceptedRoles is acceptedResourceRoles: the reservation roles ("*"
	// for unreserved) whose resources may be used; empty means unreserved
	// resources and those reserved to Role.
	AcceptedRoles []string
	// Role is the role the app's tasks run as; empty means "*". With
	// MULTI_ROLE it must be the role the framework's offers are allocated to.
	Role string
}

// ErrInvalidSpec is wrapped by NewMatcher's errors.
var ErrInvalidSpec = errors.New("invalid placement spec")

// Matcher is a compiled Spec. It is immutable and safe for concurrent use.
type Matcher struct {
	spec        Spec
	role        string
	accepted    map[string]bool
	constraints []constraint.Constraint
}

// NewMatcher validates spec and compiles its constraints.
func NewMatcher(spec Spec) (*Matcher, error) {
	if err := validateSpec(&spec); err != nil {
		return nil, err
	}
	cs, err := constraint.ParseAll(spec.Constraints)
	if err != nil {
		return nil, fmt.Errorf("placement: %w: %w", ErrInvalidSpec, err)
	}
	m := &Matcher{spec: spec, role: spec.Role, constraints: cs}
	if m.role == "" {
		m.role = "*"
	}
	if len(spec.AcceptedRoles) > 0 {
		m.accepted = make(map[string]bool, len(spec.AcceptedRoles))
		for _, r := range spec.AcceptedRoles {
			m.accepted[r] = true
		}
	}
	return m, nil
}

// Spec returns the spec the matcher was built from.
func (m *Matcher) Spec() Spec { return m.spec }

// Constraints returns the compiled constraints, in the spec's order.
func (m *Matcher) Constraints() []constraint.Constraint { return m.constraints }

func validateSpec(s *Spec) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("placement: %w: %s", ErrInvalidSpec, fmt.Sprintf(format, args...))
	}
	for _, q := range []struct {
		name string
		v    float64
	}{{"cpus", s.CPUs}, {"mem", s.Mem}, {"disk", s.Disk}, {"gpus", s.GPUs}} {
		if math.IsNaN(q.v) || math.IsInf(q.v, 0) || q.v < 0 {
			return bad("%s must be a finite number >= 0, not %v", q.name, q.v)
		}
	}
	switch s.Network {
	case NetworkHost, NetworkBridge, NetworkContainer:
	default:
		return bad("unknown network mode %d", int(s.Network))
	}
	fixed := make(map[int]int)
	for i, p := range s.Ports {
		if p.HostPort < 0 || p.HostPort > maxPort || p.ContainerPort < 0 || p.ContainerPort > maxPort || p.ServicePort < 0 || p.ServicePort > maxPort {
			return bad("port %d: port numbers must be in 0-%d", i, maxPort)
		}
		if _, err := protocols(p.Protocol); err != nil {
			return bad("port %d: %v", i, err)
		}
		if p.NoHostPort && s.Network != NetworkContainer {
			return bad("port %d: only container networking allows a port mapping without a host port", i)
		}
		if s.fixedHostPort(p) {
			if j, dup := fixed[p.HostPort]; dup {
				return bad("ports %d and %d both ask for host port %d", j, i, p.HostPort)
			}
			fixed[p.HostPort] = i
		}
	}
	return nil
}

// fixedHostPort reports whether p asks for exactly its HostPort.
func (s *Spec) fixedHostPort(p PortRequest) bool {
	if p.NoHostPort || p.HostPort == 0 {
		return false
	}
	return s.Network != NetworkHost || s.RequirePorts
}

// needsHostPort reports whether p gets a host port at all.
func needsHostPort(p PortRequest) bool { return !p.NoHostPort }

// protocols splits a port's protocol field into "tcp"/"udp" names.
func protocols(field string) ([]string, error) {
	if field == "" {
		return []string{"tcp"}, nil
	}
	var out []string
	for _, p := range strings.Split(field, ",") {
		switch p {
		case "tcp", "udp":
			for _, have := range out {
				if have == p {
					return nil, fmt.Errorf("protocol %q repeats %q", field, p)
				}
			}
			out = append(out, p)
		default:
			return nil, fmt.Errorf("protocol %q: each protocol must be tcp or udp", field)
		}
	}
	return out, nil
}

// Protocols returns the protocols of a port request ("tcp" when empty); an
// invalid field (which NewMatcher rejects) yields "tcp".
func (p PortRequest) Protocols() []string {
	ps, err := protocols(p.Protocol)
	if err != nil {
		return []string{"tcp"}
	}
	return ps
}
