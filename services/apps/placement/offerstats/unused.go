package offerstats

import (
	"cmp"
	"slices"

	"strata/kernel/mesos/mesospb"
	"strata/kernel/mesos/resources"
)

// UnusedOffer is an entry of /v2/queue's lastUnusedOffers (embed
// lastUnusedOffers): an agent's last offer the app could not use.
type UnusedOffer struct {
	Offer     Offer    `json:"offer"`
	Reason    []string `json:"reason"`
	Timestamp string   `json:"timestamp"`
}

// Offer is an offer as /v2/queue shows it.
type Offer struct {
	ID         string           `json:"id"`
	Hostname   string           `json:"hostname"`
	AgentID    string           `json:"agentId"`
	Resources  []OfferResource  `json:"resources"`
	Attributes []AgentAttribute `json:"attributes"`
}

// OfferResource is an offered resource; Role is its reservation role, "*"
// when unreserved.
type OfferResource struct {
	Name   string        `json:"name"`
	Role   string        `json:"role"`
	Scalar *float64      `json:"scalar,omitempty"`
	Ranges []NumberRange `json:"ranges,omitempty"`
	Set    []string      `json:"set,omitempty"`
}

// AgentAttribute is an agent attribute carried by an offer.
type AgentAttribute struct {
	Name   string        `json:"name"`
	Text   *string       `json:"text,omitempty"`
	Scalar *float64      `json:"scalar,omitempty"`
	Ranges []NumberRange `json:"ranges,omitempty"`
	Set    []string      `json:"set,omitempty"`
}

// NumberRange is an inclusive range.
type NumberRange struct {
	Begin uint64 `json:"begin"`
	End   uint64 `json:"end"`
}

// LastUnusedOffers returns the last unused offer of every agent, newest
// first, each with all the reasons it was declined for.
func (s *Stats) LastUnusedOffers() []UnusedOffer {
	s.mu.Lock()
	entries := make([]unusedOffer, 0, len(s.last))
	for _, u := range s.last {
		entries = append(entries, u)
	}
	s.mu.Unlock()
	slices.SortFunc(entries, func(a, b unusedOffer) int {
		if c := b.at.Compare(a.at); c != 0 {
			return c
		}
		return cmp.Compare(a.offer.GetAgentId().GetValue(), b.offer.GetAgentId().GetValue())
	})
	out := make([]UnusedOffer, len(entries))
	for i, u := range entries {
		reasons := make([]string, len(u.rej.Reasons))
		for j, r := range u.rej.Reasons {
			reasons[j] = string(r)
		}
		out[i] = UnusedOffer{Offer: offerJSON(u.offer), Reason: reasons, Timestamp: formatTime(u.at)}
	}
	return out
}

func offerJSON(o *mesospb.Offer) Offer {
	out := Offer{
		ID:         o.GetId().GetValue(),
		Hostname:   o.GetHostname(),
		AgentID:    o.GetAgentId().GetValue(),
		Resources:  make([]OfferResource, 0, len(o.GetResources())),
		Attributes: make([]AgentAttribute, 0, len(o.GetAttributes())),
	}
	for _, r := range o.GetResources() {
		res := OfferResource{Name: r.GetName(), Role: resources.ReservationRole(r)}
		switch r.GetType() {
		case mesospb.Value_SCALAR:
			v := r.GetScalar().GetValue()
			res.Scalar = &v
		case mesospb.Value_RANGES:
			res.Ranges = numberRanges(r.GetRanges())
		case mesospb.Value_SET:
			res.Set = r.GetSet().GetItem()
		}
		out.Resources = append(out.Resources, res)
	}
	for _, a := range o.GetAttributes() {
		attr := AgentAttribute{Name: a.GetName()}
		switch a.GetType() {
		case mesospb.Value_SCALAR:
			v := a.GetScalar().GetValue()
			attr.Scalar = &v
		case mesospb.Value_RANGES:
			attr.Ranges = numberRanges(a.GetRanges())
		case mesospb.Value_SET:
			attr.Set = a.GetSet().GetItem()
		case mesospb.Value_TEXT:
			v := a.GetText().GetValue()
			attr.Text = &v
		}
		out.Attributes = append(out.Attributes, attr)
	}
	return out
}

func numberRanges(rs *mesospb.Value_Ranges) []NumberRange {
	out := make([]NumberRange, 0, len(rs.GetRange()))
	for _, r := range rs.GetRange() {
		out = append(out, NumberRange{Begin: r.GetBegin(), End: r.GetEnd()})
	}
	return out
}
