package placement

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"strata/services/apps/placement/constraint"
)

// Reason is why an offer was not used, named as in Marathon's /v2/queue.
type Reason string

// The reasons /v2/queue reports. Match produces the role, constraint and
// resource reasons; the others are for the framework to record (an agent
// under maintenance, a resident app without its reservation, GPUs kept for
// GPU apps).
const (
	UnfulfilledRole                 Reason = "UnfulfilledRole"
	UnfulfilledConstraint           Reason = "UnfulfilledConstraint"
	NoCorrespondingReservationFound Reason = "NoCorrespondingReservationFound"
	AgentMaintenance                Reason = "AgentMaintenance"
	InsufficientCpus                Reason = "InsufficientCpus"
	InsufficientMemory              Reason = "InsufficientMemory"
	InsufficientDisk                Reason = "InsufficientDisk"
	InsufficientGpus                Reason = "InsufficientGpus"
	InsufficientPorts               Reason = "InsufficientPorts"
	DeclinedScarceResources         Reason = "DeclinedScarceResources"
)

// Funnel orders the reasons the way Marathon's queue statistics count them:
// an offer declined for several reasons counts once, for the earliest one.
var Funnel = []Reason{
	UnfulfilledRole,
	UnfulfilledConstraint,
	NoCorrespondingReservationFound,
	AgentMaintenance,
	InsufficientCpus,
	InsufficientMemory,
	InsufficientDisk,
	InsufficientGpus,
	InsufficientPorts,
	DeclinedScarceResources,
}

// FunnelIndex is the position of r in Funnel, or len(Funnel) for an unknown
// reason.
func FunnelIndex(r Reason) int {
	if i := slices.Index(Funnel, r); i >= 0 {
		return i
	}
	return len(Funnel)
}

// Shortfall is a resource an offer held too little of.
type Shortfall struct {
	Reason Reason
	// Need and Have are cpus, MB or GPUs; for ports, numbers of ports (a
	// fixed port counts as missing when the offer lacks it).
	Need, Have float64
}

// ConstraintMiss is a constraint that refused an offer.
type ConstraintMiss struct {
	// Index is the constraint's position in the spec.
	Index      int
	Constraint constraint.Constraint
}

// Rejection says why an offer could not take an instance.
type Rejection struct {
	OfferID  string
	AgentID  string
	Hostname string
	// Reasons lists every reason that applies, in Funnel order.
	Reasons []Reason
	// Constraints lists the constraints that refused the offer.
	Constraints []ConstraintMiss
	Shortfalls  []Shortfall
	// MissingPorts lists fixed host ports the offer did not hold.
	MissingPorts []int
}

// Reason returns the reason the queue statistics count: the first in Funnel.
func (r *Rejection) Reason() Reason {
	if len(r.Reasons) == 0 {
		return ""
	}
	return r.Reasons[0]
}

// Has reports whether reason applies.
func (r *Rejection) Has(reason Reason) bool { return slices.Contains(r.Reasons, reason) }

func (r *Rejection) add(reason Reason) {
	if r.Has(reason) {
		return
	}
	r.Reasons = append(r.Reasons, reason)
	slices.SortStableFunc(r.Reasons, func(a, b Reason) int { return FunnelIndex(a) - FunnelIndex(b) })
}

// Error implements error with a one-line explanation, such as
// `placement: offer O1 on host1: UnfulfilledConstraint (hostname:UNIQUE); InsufficientMemory (need 256, have 128)`.
func (r *Rejection) Error() string {
	var parts []string
	for _, reason := range r.Reasons {
		var detail []string
		switch reason {
		case UnfulfilledConstraint:
			for _, c := range r.Constraints {
				detail = append(detail, c.Constraint.String())
			}
		case InsufficientPorts:
			for _, p := range r.MissingPorts {
				detail = append(detail, "host port "+strconv.Itoa(p))
			}
		}
		for _, s := range r.Shortfalls {
			if s.Reason == reason {
				detail = append(detail, fmt.Sprintf("need %s, have %s", num(s.Need), num(s.Have)))
			}
		}
		if len(detail) > 0 {
			parts = append(parts, string(reason)+" ("+strings.Join(detail, ", ")+")")
		} else {
			parts = append(parts, string(reason))
		}
	}
	return fmt.Sprintf("placement: offer %s on %s: %s", r.OfferID, r.Hostname, strings.Join(parts, "; "))
}

func num(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
