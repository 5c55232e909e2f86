package placement

import (
	"math"
	"math/rand/v2"

	"google.golang.org/protobuf/proto"

	"strata/kernel/mesos/mesospb"
	"strata/kernel/mesos/resources"
	"strata/services/apps/placement/constraint"
)

// Fit is an instance placed on an offer.
type Fit struct {
	OfferID  string
	AgentID  string
	Hostname string
	// Host is the agent as constraints see it; append it to the placed list
	// for the next instance.
	Host constraint.Host
	// Resources go into TaskInfo.resources as they are: each keeps the
	// reservation, role and allocation_info of the offered resource it was
	// taken from.
	Resources []*mesospb.Resource
	// Ports has one entry per Spec.Ports entry, in order.
	Ports []AssignedPort
}

// HostPorts returns the host ports in port order, leaving out ports without
// one: the "ports" of Marathon's task JSON and the PORTS variable.
func (f *Fit) HostPorts() []int {
	var out []int
	for _, p := range f.Ports {
		if p.HostPort != 0 {
			out = append(out, p.HostPort)
		}
	}
	return out
}

// NewIndex indexes the hosts of an app's placed instances for the fields of
// m's constraints; keep it up to date as instances come and go (Add,
// Remove) and pass it to Match.
func (m *Matcher) NewIndex(placed ...constraint.Host) *constraint.Index {
	return constraint.NewIndex(m.constraints, placed...)
}

// Match places one instance on r, given the index of the app's instances
// already placed (nil when there are none). On success it consumes the Fit's
// resources from r and adds the instance's host to placed, so a framework
// that then fails to launch the task must Remove it again. Otherwise neither
// changes and the Rejection lists every reason the offer failed. Exactly one
// result is non-nil. rng draws the dynamic ports; nil uses the shared source
// of math/rand/v2.
func (m *Matcher) Match(r *Remaining, placed *constraint.Index, rng *rand.Rand) (*Fit, *Rejection) {
	rej := &Rejection{
		OfferID:  r.offer.GetId().GetValue(),
		AgentID:  r.host.AgentID,
		Hostname: r.host.Hostname,
	}
	usable := m.usable(r)
	if !m.roleFulfilled(r, usable) {
		rej.add(UnfulfilledRole)
	}
	for _, i := range constraint.Failed(m.constraints, r.host, placed) {
		rej.Constraints = append(rej.Constraints, ConstraintMiss{Index: i, Constraint: m.constraints[i]})
		rej.add(UnfulfilledConstraint)
	}

	var taken []*mesospb.Resource
	for _, q := range []struct {
		name   string
		amount float64
		reason Reason
	}{
		{resources.CPUs, m.spec.CPUs, InsufficientCpus},
		{resources.Mem, m.spec.Mem, InsufficientMemory},
		{resources.Disk, m.spec.Disk, InsufficientDisk},
		{resources.GPUs, m.spec.GPUs, InsufficientGpus},
	} {
		got, have, ok := takeScalar(usable, q.name, q.amount)
		if !ok {
			rej.add(q.reason)
			rej.Shortfalls = append(rej.Shortfalls, Shortfall{Reason: q.reason, Need: q.amount, Have: have})
			continue
		}
		taken = append(taken, got...)
	}

	pa := m.assignPorts(usable, rng, len(rej.Reasons) == 0)
	if !pa.ok {
		rej.add(InsufficientPorts)
		rej.MissingPorts = pa.missing
		if pa.short != nil {
			rej.Shortfalls = append(rej.Shortfalls, *pa.short)
		}
	}
	if len(rej.Reasons) > 0 {
		return nil, rej
	}

	fit := &Fit{
		OfferID:   rej.OfferID,
		AgentID:   rej.AgentID,
		Hostname:  rej.Hostname,
		Host:      r.host,
		Resources: resources.Merge(append(taken, pa.resources...)),
		Ports:     pa.ports,
	}
	r.left = resources.Subtract(r.left, fit.Resources)
	r.placed++
	if placed != nil {
		placed.Add(r.host)
	}
	return fit, nil
}

// MatchN places up to n instances on r, one after the other, each seeing the
// ones before it as placed (they are added to placed, which may be nil). It
// returns the fits and, when it stopped short of n, the rejection that
// stopped it.
func (m *Matcher) MatchN(r *Remaining, placed *constraint.Index, n int, rng *rand.Rand) ([]*Fit, *Rejection) {
	if placed == nil {
		placed = m.NewIndex()
	}
	var fits []*Fit
	for len(fits) < n {
		fit, rej := m.Match(r, placed, rng)
		if rej != nil {
			return fits, rej
		}
		fits = append(fits, fit)
	}
	return fits, nil
}

// usable returns the resources of r the app may use, reserved ones first;
// the entries are r's own and must not be modified.
func (m *Matcher) usable(r *Remaining) []*mesospb.Resource {
	var reserved, unreserved []*mesospb.Resource
	for _, res := range r.left {
		if !m.mayUse(res) {
			continue
		}
		if resources.IsUnreserved(res) {
			unreserved = append(unreserved, res)
		} else {
			reserved = append(reserved, res)
		}
	}
	return append(reserved, unreserved...)
}

// mayUse applies the role rules of the package comment to one resource.
func (m *Matcher) mayUse(res *mesospb.Resource) bool {
	if res == nil || resources.IsRevocable(res) || resources.IsShared(res) || resources.IsPersistentVolume(res) {
		return false
	}
	if d := res.GetDisk(); d != nil && d.GetSource() != nil {
		return false
	}
	if alloc := resources.AllocationRole(res); alloc != "" && alloc != m.role {
		return false
	}
	if !resources.IsAllocatableTo(res, m.role) {
		return false
	}
	if stack := resources.Reservations(res); len(stack) > 0 && len(stack[len(stack)-1].GetLabels().GetLabels()) > 0 {
		return false
	}
	return m.accepted == nil || m.accepted[resources.ReservationRole(res)]
}

// roleFulfilled reports whether the offer is for the app's role and holds
// anything the app may use (an app that needs nothing needs no resources).
func (m *Matcher) roleFulfilled(r *Remaining, usable []*mesospb.Resource) bool {
	if alloc := r.offer.GetAllocationInfo().GetRole(); alloc != "" && alloc != m.role {
		return false
	}
	if len(usable) > 0 {
		return true
	}
	s := m.spec
	return s.CPUs == 0 && s.Mem == 0 && s.Disk == 0 && s.GPUs == 0 && len(s.Ports) == 0
}

// millis converts a scalar to Mesos' fixed-point precision of 0.001.
func millis(v float64) int64 { return int64(math.Round(v * 1000)) }

// takeScalar takes amount of the scalar resource name from usable, in order,
// splitting it over several resources when needed. It returns the taken
// parts (copies carrying their source's reservation and allocation), the
// amount available, and whether it sufficed.
func takeScalar(usable []*mesospb.Resource, name string, amount float64) ([]*mesospb.Resource, float64, bool) {
	need := millis(amount)
	var taken []*mesospb.Resource
	var have int64
	for _, res := range usable {
		if res.GetName() != name || res.GetType() != mesospb.Value_SCALAR {
			continue
		}
		avail := millis(res.GetScalar().GetValue())
		have += avail
		if need <= 0 || avail <= 0 {
			continue
		}
		t := min(avail, need)
		need -= t
		part := bare(res)
		v := float64(t) / 1000
		part.Scalar = &mesospb.Value_Scalar{Value: &v}
		taken = append(taken, part)
	}
	if need > 0 {
		return nil, float64(have) / 1000, false
	}
	return taken, float64(have) / 1000, true
}

// bare copies what identifies a resource (name, type, reservations,
// allocation, disk, revocability, sharing, provider) without its value.
func bare(src *mesospb.Resource) *mesospb.Resource {
	out := &mesospb.Resource{
		Name: proto.String(src.GetName()),
		Type: src.GetType().Enum(),
		Role: src.Role, //nolint:staticcheck // legacy wire field, kept as offered
	}
	if src.ProviderId != nil {
		out.ProviderId = proto.Clone(src.ProviderId).(*mesospb.ResourceProviderID)
	}
	if src.AllocationInfo != nil {
		out.AllocationInfo = proto.Clone(src.AllocationInfo).(*mesospb.Resource_AllocationInfo)
	}
	if src.Reservation != nil {
		out.Reservation = proto.Clone(src.Reservation).(*mesospb.Resource_ReservationInfo)
	}
	for _, ri := range src.Reservations {
		out.Reservations = append(out.Reservations, proto.Clone(ri).(*mesospb.Resource_ReservationInfo))
	}
	if src.Disk != nil {
		out.Disk = proto.Clone(src.Disk).(*mesospb.Resource_DiskInfo)
	}
	if src.Revocable != nil {
		out.Revocable = &mesospb.Resource_RevocableInfo{}
	}
	if src.Shared != nil {
		out.Shared = &mesospb.Resource_SharedInfo{}
	}
	return out
}
