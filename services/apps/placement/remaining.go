package placement

import (
	"strata/kernel/mesos/mesospb"
	"strata/kernel/mesos/resources"
	"strata/services/apps/placement/constraint"
)

// Remaining is an offer and what is left of it as instances are placed on
// it. It is not safe for concurrent use.
type Remaining struct {
	offer  *mesospb.Offer
	host   constraint.Host
	left   []*mesospb.Resource
	placed int
}

// NewRemaining starts with the whole offer. The offer is not modified.
func NewRemaining(o *mesospb.Offer) *Remaining {
	return &Remaining{offer: o, host: constraint.HostOf(o), left: resources.Clone(o.GetResources())}
}

// NewRemainingWith starts from left, what a caller that tracks an offer's
// leftovers itself says remains of o. Neither is modified.
func NewRemainingWith(o *mesospb.Offer, left []*mesospb.Resource) *Remaining {
	return &Remaining{offer: o, host: constraint.HostOf(o), left: resources.Clone(left)}
}

// Offer returns the offer as it was received.
func (r *Remaining) Offer() *mesospb.Offer { return r.offer }

// Host returns the agent the offer comes from, as constraints see it.
func (r *Remaining) Host() constraint.Host { return r.host }

// Resources returns a copy of what is left.
func (r *Remaining) Resources() []*mesospb.Resource { return resources.Clone(r.left) }

// Placed returns how many instances have been placed on the offer.
func (r *Remaining) Placed() int { return r.placed }
