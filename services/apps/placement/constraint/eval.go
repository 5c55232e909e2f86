package constraint

import (
	"slices"
	"strconv"
	"strings"

	"strata/kernel/mesos/mesospb"
)

// Host is what constraints see of an agent: the one an offer comes from, or
// the one an already placed instance runs on. The apps service keeps one per
// instance (it is JSON-friendly) and passes them back as the placed list.
type Host struct {
	AgentID  string `json:"agentId"`
	Hostname string `json:"hostname"`
	// Region and Zone come from the agent's fault domain; empty when the
	// agent reports none.
	Region string `json:"region,omitempty"`
	Zone   string `json:"zone,omitempty"`
	// Attributes maps each attribute name to its value rendered by
	// FormatAttribute.
	Attributes map[string]string `json:"attributes,omitempty"`
}

// HostOf describes the agent an offer comes from. When an attribute name
// repeats, the last one wins.
func HostOf(o *mesospb.Offer) Host {
	return NewHost(o.GetAgentId().GetValue(), o.GetHostname(), o.GetDomain(), o.GetAttributes())
}

// NewHost describes an agent from its parts, as an AgentInfo or a stored
// instance holds them; domain may be nil.
func NewHost(agentID, hostname string, domain *mesospb.DomainInfo, attrs []*mesospb.Attribute) Host {
	h := Host{
		AgentID:  agentID,
		Hostname: hostname,
		Region:   domain.GetFaultDomain().GetRegion().GetName(),
		Zone:     domain.GetFaultDomain().GetZone().GetName(),
	}
	if len(attrs) > 0 {
		h.Attributes = make(map[string]string, len(attrs))
		for _, a := range attrs {
			h.Attributes[a.GetName()] = FormatAttribute(a)
		}
	}
	return h
}

// FormatAttribute renders an attribute's value as constraints compare it:
// text as is, a scalar with at most three decimals ("2", "2.5"), ranges as
// "[1-2,5-9]" sorted by begin, a set as "{a,b}" with sorted items.
func FormatAttribute(a *mesospb.Attribute) string {
	switch a.GetType() {
	case mesospb.Value_SCALAR:
		return formatScalar(a.GetScalar().GetValue())
	case mesospb.Value_RANGES:
		rs := slices.Clone(a.GetRanges().GetRange())
		slices.SortStableFunc(rs, func(x, y *mesospb.Value_Range) int {
			switch {
			case x.GetBegin() < y.GetBegin():
				return -1
			case x.GetBegin() > y.GetBegin():
				return 1
			}
			return 0
		})
		parts := make([]string, len(rs))
		for i, r := range rs {
			parts[i] = strconv.FormatUint(r.GetBegin(), 10) + "-" + strconv.FormatUint(r.GetEnd(), 10)
		}
		return "[" + strings.Join(parts, ",") + "]"
	case mesospb.Value_SET:
		items := slices.Clone(a.GetSet().GetItem())
		slices.Sort(items)
		return "{" + strings.Join(items, ",") + "}"
	default:
		return a.GetText().GetValue()
	}
}

// Value returns the host's value for a constraint field, and whether the
// host has that field at all.
func (h Host) Value(field string) (string, bool) {
	switch field {
	case FieldHostname, FieldAtHostname:
		return h.Hostname, true
	case FieldRegion:
		return h.Region, h.Region != ""
	case FieldZone:
		return h.Zone, h.Zone != ""
	}
	v, ok := h.Attributes[field]
	return v, ok
}

// Allows reports whether an instance may be placed on candidate, given the
// hosts of the instances already placed. It indexes placed on every call;
// for repeated checks against the same instances use an Index and
// AllowsIndexed.
func (c Constraint) Allows(candidate Host, placed []Host) bool {
	return c.AllowsIndexed(candidate, NewIndex([]Constraint{c}, placed...))
}

// AllowsIndexed reports whether an instance may be placed on candidate,
// given the index of the instances already placed (which should include
// those placed earlier on the same offer).
func (c Constraint) AllowsIndexed(candidate Host, placed *Index) bool {
	v, ok := candidate.Value(c.Field)
	if !ok {
		return c.Operator == Unlike
	}
	switch c.Operator {
	case Unique:
		return placed.Count(c.Field, v) == 0
	case Cluster:
		if c.HasValue && c.Value != "" && v != c.Value {
			return false
		}
		return placed.Count(c.Field, v) == placed.Len()
	case GroupBy:
		mine := placed.Count(c.Field, v)
		if mine == 0 {
			return true
		}
		groups, smallest := placed.groups(c.Field)
		return groups >= c.n && mine <= smallest
	case Like:
		return c.re.MatchString(v)
	case Unlike:
		return !c.re.MatchString(v)
	case MaxPer:
		return placed.Count(c.Field, v) < c.n
	case Is:
		if c.number != nil {
			if have := thousandths(v); have != nil {
				return have.Cmp(c.number) == 0
			}
		}
		return v == c.Value
	}
	return false
}

// Failed returns the indexes of the constraints that refuse candidate, in
// order; it is empty when all allow it.
func Failed(cs []Constraint, candidate Host, placed *Index) []int {
	var out []int
	for i, c := range cs {
		if !c.AllowsIndexed(candidate, placed) {
			out = append(out, i)
		}
	}
	return out
}
