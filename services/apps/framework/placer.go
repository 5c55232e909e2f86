package framework

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"

	"google.golang.org/protobuf/proto"

	"strata/kernel/mesos/mesospb"
	"strata/kernel/mesos/resources"
	"strata/services/apps/app"
)

// Placer decides whether one instance of an app fits what is left of an offer. The full
// placement (every constraint operator with Marathon's exact semantics, reject statistics for
// /v2/queue) will come from package services/apps/placement; FirstFit below is the placement
// this package runs until then, and it is complete for what it claims: scalar resources, host
// ports, accepted roles and the constraint operators on hostname, region, zone and text or
// scalar attributes.
type Placer interface {
	// Place fits one instance of a into remaining (what is left of offer after the instances
	// already placed on it), given where the app's other active instances run (including those
	// placed earlier in the same round). It returns the resources the task takes and its host
	// ports (one per port of the app, 0 for a container port without a host port), or an error
	// naming why the offer does not fit.
	Place(a *app.App, offer *mesospb.Offer, remaining []*mesospb.Resource, others []Placement) (Fit, error)
}

// Placement is where an instance runs, for constraints.
type Placement struct {
	AgentID    string
	Hostname   string
	Region     string
	Zone       string
	Attributes []*mesospb.Attribute
}

// Fit is a successful placement.
type Fit struct {
	Resources []*mesospb.Resource
	Ports     []int
}

// Reasons an offer does not fit, in /v2/queue's words.
var (
	ErrInsufficientCpus   = errors.New("InsufficientCpus")
	ErrInsufficientMemory = errors.New("InsufficientMemory")
	ErrInsufficientDisk   = errors.New("InsufficientDisk")
	ErrInsufficientPorts  = errors.New("InsufficientPorts")
	ErrUnfulfilledRole    = errors.New("UnfulfilledRole")
	ErrConstraint         = errors.New("UnfulfilledConstraint")
)

// FirstFit takes the first resources of the offer that satisfy the app: cpus, mem and disk from
// resources of an accepted role (unreserved "*" unless acceptedResourceRoles says otherwise),
// host ports picked at random from the offered port ranges (or the fixed ones: requirePorts
// with a non-zero port, a bridge mapping's non-zero hostPort), after checking the app's
// constraints against the offer's hostname, fault domain and attributes.
type FirstFit struct{}

// Place implements Placer.
func (FirstFit) Place(a *app.App, offer *mesospb.Offer, remaining []*mesospb.Resource, others []Placement) (Fit, error) {
	here := Placement{
		AgentID: offer.GetAgentId().GetValue(), Hostname: offer.GetHostname(),
		Region: offer.GetDomain().GetFaultDomain().GetRegion().GetName(),
		Zone:   offer.GetDomain().GetFaultDomain().GetZone().GetName(), Attributes: offer.GetAttributes(),
	}
	for _, c := range a.Constraints {
		if !constraintHolds(c, here, others) {
			return Fit{}, fmt.Errorf("%w: %s", ErrConstraint, strings.Join(c, ":"))
		}
	}
	usable := resources.Filter(remaining, func(r *mesospb.Resource) bool { return roleAccepted(a, r) })
	if len(usable) == 0 && len(remaining) > 0 {
		return Fit{}, ErrUnfulfilledRole
	}
	var fit Fit
	for _, need := range []struct {
		name   string
		amount float64
		err    error
	}{{"cpus", a.Cpus, ErrInsufficientCpus}, {"mem", a.Mem, ErrInsufficientMemory}, {"disk", a.Disk, ErrInsufficientDisk}} {
		if need.amount <= 0 {
			continue
		}
		taken, ok := takeScalar(usable, need.name, need.amount)
		if !ok {
			return Fit{}, need.err
		}
		fit.Resources = append(fit.Resources, taken...)
	}
	ports, portRes, err := takePorts(a, usable)
	if err != nil {
		return Fit{}, err
	}
	fit.Ports = ports
	fit.Resources = append(fit.Resources, portRes...)
	return fit, nil
}

// roleAccepted reports whether the app may use r.
func roleAccepted(a *app.App, r *mesospb.Resource) bool {
	role := "*"
	if !resources.IsUnreserved(r) {
		role = resources.ReservationRole(r)
	}
	if resources.IsRevocable(r) || resources.IsPersistentVolume(r) || resources.IsShared(r) {
		return false
	}
	accepted := a.AcceptedResourceRoles
	if len(accepted) == 0 {
		accepted = []string{"*"}
	}
	for _, ok := range accepted {
		if ok == role {
			return true
		}
	}
	return false
}

// takeScalar takes amount of the named scalar from the entries of rs, in order, as copies of
// those entries (keeping their role and allocation info).
func takeScalar(rs []*mesospb.Resource, name string, amount float64) ([]*mesospb.Resource, bool) {
	if resources.Scalar(rs, name) < amount-1e-9 {
		return nil, false
	}
	var out []*mesospb.Resource
	left := amount
	for _, r := range rs {
		if r.GetName() != name || r.GetType() != mesospb.Value_SCALAR || left <= 1e-9 {
			continue
		}
		take := math.Min(left, r.GetScalar().GetValue())
		c := proto.Clone(r).(*mesospb.Resource)
		c.Scalar = &mesospb.Value_Scalar{Value: proto.Float64(math.Round(take*1000) / 1000)}
		out = append(out, c)
		left -= take
	}
	return out, left <= 1e-9
}

// portSpec is what one port of the app needs: a fixed host port, any host port (0), or none (-1).
func portSpecs(a *app.App) []int {
	var out []int
	if a.HostNetworking() {
		for _, p := range a.PortDefinitions {
			if a.RequirePorts && p.Port != 0 {
				out = append(out, p.Port)
			} else {
				out = append(out, 0)
			}
		}
		return out
	}
	if a.Container != nil {
		for _, m := range a.Container.PortMappings {
			switch {
			case m.HostPort == nil:
				out = append(out, -1)
			default:
				out = append(out, *m.HostPort)
			}
		}
	}
	return out
}

// takePorts picks the app's host ports from the offered port ranges.
func takePorts(a *app.App, usable []*mesospb.Resource) ([]int, []*mesospb.Resource, error) {
	specs := portSpecs(a)
	if len(specs) == 0 {
		return []int{}, nil, nil
	}
	type entry struct {
		res  *mesospb.Resource
		free []resources.Range
		got  []resources.Range
	}
	var entries []*entry
	for _, r := range usable {
		if r.GetName() == "ports" && r.GetType() == mesospb.Value_RANGES {
			entries = append(entries, &entry{res: r, free: resources.RangesFromProto(r.GetRanges())})
		}
	}
	take := func(p uint64) bool {
		for _, e := range entries {
			if resources.RangesContain(e.free, []resources.Range{{Begin: p, End: p}}) {
				e.free = resources.SubtractRanges(e.free, []resources.Range{{Begin: p, End: p}})
				e.got = append(e.got, resources.Range{Begin: p, End: p})
				return true
			}
		}
		return false
	}
	ports := make([]int, len(specs))
	// Fixed ports first, so that a dynamic pick never takes one of them.
	for i, s := range specs {
		if s > 0 {
			if !take(uint64(s)) {
				return nil, nil, fmt.Errorf("%w: port %d is not offered", ErrInsufficientPorts, s)
			}
			ports[i] = s
		}
	}
	for i, s := range specs {
		if s != 0 {
			continue
		}
		var total uint64
		for _, e := range entries {
			total += resources.RangesSize(e.free)
		}
		if total == 0 {
			return nil, nil, ErrInsufficientPorts
		}
		n := rand.Uint64N(total)
		for _, e := range entries {
			for _, r := range e.free {
				if size := r.Size(); n < size {
					p := r.Begin + n
					take(p)
					ports[i] = int(p)
					n = math.MaxUint64
					break
				} else {
					n -= size
				}
			}
			if n == math.MaxUint64 {
				break
			}
		}
	}
	for i, s := range specs {
		if s < 0 {
			ports[i] = 0
		}
	}
	var out []*mesospb.Resource
	for _, e := range entries {
		if len(e.got) == 0 {
			continue
		}
		c := proto.Clone(e.res).(*mesospb.Resource)
		c.Ranges = resources.RangesToProto(resources.CoalesceRanges(e.got))
		out = append(out, c)
	}
	return ports, out, nil
}

// fieldValue is the value of a constraint field at a placement, and whether it is known.
func fieldValue(field string, p Placement) (string, bool) {
	switch field {
	case "hostname", "@hostname":
		return p.Hostname, p.Hostname != ""
	case "@region":
		return p.Region, p.Region != ""
	case "@zone":
		return p.Zone, p.Zone != ""
	}
	for _, a := range p.Attributes {
		if a.GetName() != field {
			continue
		}
		switch a.GetType() {
		case mesospb.Value_TEXT:
			return a.GetText().GetValue(), true
		case mesospb.Value_SCALAR:
			return strconv.FormatFloat(a.GetScalar().GetValue(), 'f', -1, 64), true
		case mesospb.Value_RANGES:
			return resources.FormatRanges(resources.RangesFromProto(a.GetRanges())), true
		case mesospb.Value_SET:
			return resources.FormatSet(a.GetSet().GetItem()), true
		}
	}
	return "", false
}

// constraintHolds evaluates one constraint [field, OPERATOR, value?] for placing an instance at
// here, given the app's other instances.
func constraintHolds(c []string, here Placement, others []Placement) bool {
	if len(c) < 2 {
		return true
	}
	field, op, value := c[0], strings.ToUpper(c[1]), ""
	if len(c) > 2 {
		value = c[2]
	}
	v, known := fieldValue(field, here)
	if !known {
		return op == "UNLIKE"
	}
	counts := map[string]int{}
	for _, o := range others {
		if ov, ok := fieldValue(field, o); ok {
			counts[ov]++
		}
	}
	switch op {
	case "UNIQUE":
		return counts[v] == 0
	case "CLUSTER":
		if value != "" {
			return v == value
		}
		for ov := range counts {
			if ov != v {
				return false
			}
		}
		return true
	case "GROUP_BY":
		want, _ := strconv.Atoi(value)
		least := math.MaxInt
		for _, n := range counts {
			least = min(least, n)
		}
		if len(counts) < want || least == math.MaxInt {
			least = 0
		}
		return counts[v] <= least
	case "LIKE", "UNLIKE":
		re, err := regexp.Compile("^(?:" + value + ")$")
		if err != nil {
			return false
		}
		return re.MatchString(v) == (op == "LIKE")
	case "MAX_PER":
		n, err := strconv.Atoi(value)
		return err == nil && counts[v] < n
	case "IS":
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			if g, err := strconv.ParseFloat(value, 64); err == nil {
				return math.RoundToEven(f*1000) == math.RoundToEven(g*1000)
			}
		}
		return v == value
	}
	return false
}
