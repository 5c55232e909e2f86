package master

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/protobuf/proto"

	"strata/kernel/allocator"
	"strata/kernel/mesos/mesospb"
	"strata/kernel/mesos/schedulerpb"
)

func newAllocator(cfg Config) (*allocator.Allocator, error) {
	minAlloc, err := allocator.ParseMinAllocatable(cfg.MinAllocatable)
	if err != nil {
		return nil, fmt.Errorf("--min-allocatable-resources: %w", err)
	}
	return allocator.New(allocator.Config{
		Seed:               uint64(time.Now().UnixNano()),
		AllocationInterval: cfg.AllocationInterval,
		MinAllocatable:     minAlloc,
		// sendOffers is done with a pass's []Offer before the next pass starts (both run under
		// m.mu), so the allocator may reuse the slice and a steady pass allocates nothing.
		ReuseOffers: true,
	}), nil
}

// ownerRole is the role a resource is reserved for, or "*" when it is unreserved.
func ownerRole(r *mesospb.Resource) string {
	if n := len(r.GetReservations()); n > 0 {
		return r.GetReservations()[n-1].GetRole()
	}
	if r.Role != nil && r.GetRole() != "" {
		return r.GetRole()
	}
	return allocator.Unreserved
}

// toAlloc converts protobuf resources to the allocator's form.
func toAlloc(list []*mesospb.Resource) allocator.Resources {
	var out allocator.Resources
	for _, r := range list {
		role := ownerRole(r)
		switch r.GetType() {
		case mesospb.Value_SCALAR:
			out.AddScalar(role, r.GetName(), r.GetScalar().GetValue())
		case mesospb.Value_RANGES:
			rs := make([]allocator.Range, 0, len(r.GetRanges().GetRange()))
			for _, rg := range r.GetRanges().GetRange() {
				rs = append(rs, allocator.Range{Begin: rg.GetBegin(), End: rg.GetEnd()})
			}
			out.AddRanges(role, r.GetName(), rs...)
		case mesospb.Value_SET:
			out.AddSet(role, r.GetName(), r.GetSet().GetItem()...)
		}
	}
	return out
}

// resourceFormat says how resources are written for one reader, following Mesos' rewriting by
// framework capability.
type resourceFormat struct {
	allocationRole string // set allocation_info to this role ("" = none)
	refinement     bool   // reservations[] (true) or the old `role` field (false)
}

// formatFor is the resource format of offers and launches for fw under role.
func formatFor(fw *framework, role string) resourceFormat {
	f := resourceFormat{refinement: fw.refinement()}
	if fw.multiRole() {
		f.allocationRole = role
	}
	return f
}

// toProto converts allocator resources to protobuf in the given format.
func toProto(r allocator.Resources, f resourceFormat) []*mesospb.Resource {
	items := r.Items()
	out := make([]*mesospb.Resource, 0, len(items))
	for _, it := range items {
		res := &mesospb.Resource{Name: proto.String(it.Name)}
		switch it.Kind {
		case allocator.Scalar:
			res.Type = mesospb.Value_SCALAR.Enum()
			res.Scalar = &mesospb.Value_Scalar{Value: proto.Float64(it.Scalar)}
		case allocator.Ranges:
			res.Type = mesospb.Value_RANGES.Enum()
			rs := &mesospb.Value_Ranges{}
			for _, rg := range it.Ranges {
				rs.Range = append(rs.Range, &mesospb.Value_Range{Begin: proto.Uint64(rg.Begin), End: proto.Uint64(rg.End)})
			}
			res.Ranges = rs
		case allocator.Set:
			res.Type = mesospb.Value_SET.Enum()
			res.Set = &mesospb.Value_Set{Item: it.Set}
		}
		if it.Role != allocator.Unreserved {
			res.Reservations = []*mesospb.Resource_ReservationInfo{{
				Type: mesospb.Resource_ReservationInfo_STATIC.Enum(),
				Role: proto.String(it.Role),
			}}
			if !f.refinement {
				res.Role = proto.String(it.Role)
				res.Reservations = nil
			}
		} else if !f.refinement {
			res.Role = proto.String("*")
		}
		if f.allocationRole != "" {
			res.AllocationInfo = &mesospb.Resource_AllocationInfo{Role: proto.String(f.allocationRole)}
		}
		out = append(out, res)
	}
	return out
}

// allocatorAddOrUpdateFramework tells the allocator about fw's current subscription. m.mu is held.
func (m *Master) allocatorAddOrUpdateFramework(fw *framework) {
	info := allocator.FrameworkInfo{
		Roles: fw.roles(),
		Capabilities: allocator.Capabilities{
			MultiRole:    fw.multiRole(),
			GPUResources: hasCapability(fw.info, mesospb.FrameworkInfo_Capability_GPU_RESOURCES),
		},
	}
	for r := range fw.suppressedRoles {
		info.SuppressedRoles = append(info.SuppressedRoles, r)
	}
	if len(fw.info.GetOfferFilters()) > 0 {
		info.MinAllocatable = map[string][]allocator.Quantities{}
		for role, of := range fw.info.GetOfferFilters() {
			var sets []allocator.Quantities
			for _, q := range of.GetMinAllocatableResources().GetQuantities() {
				var qs allocator.Quantities
				for name, v := range q.GetQuantities() {
					qs.Set(name, v.GetValue())
				}
				sets = append(sets, qs)
			}
			info.MinAllocatable[role] = sets
		}
	}
	var err error
	if fw.inAllocator {
		err = m.alloc.UpdateFramework(fw.id, info)
		if err == nil && fw.active {
			err = m.alloc.ActivateFramework(fw.id)
		}
	} else {
		err = m.alloc.AddFramework(fw.id, info, fw.active)
		fw.inAllocator = err == nil
	}
	if err != nil {
		m.log.Error("allocator framework update", "framework_id", fw.id, "err", err)
	}
}

// allocationLoop runs allocation passes on events and on the periodic tick.
func (m *Master) allocationLoop(ctx context.Context) {
	tick := time.NewTicker(m.cfg.AllocationInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			m.allocate()
		case <-m.allocTrigger:
			m.allocate()
		}
	}
}

// allocate runs one allocation pass and sends the offers.
func (m *Master) allocate() {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := time.Now()
	start := time.Now()
	offers := m.alloc.AllocatePending(now)
	m.metrics.allocationSeconds.Observe(time.Since(start).Seconds())
	if len(offers) > 0 {
		m.sendOffers(offers, now)
	}
}

// sendOffers turns allocator decisions into offers, one OFFERS event per framework. m.mu is held.
func (m *Master) sendOffers(decisions []allocator.Offer, now time.Time) {
	byFw := map[*framework][]*mesospb.Offer{}
	var order []*framework
	for _, d := range decisions {
		fw := m.frameworks[d.FrameworkID]
		a := m.agents[d.AgentID]
		if fw == nil || a == nil || !fw.connected || !a.connected {
			_ = m.alloc.RecoverResources(d.AgentID, d.FrameworkID, d.Role, d.Resources, nil)
			continue
		}
		id := fmt.Sprintf("%s-O%d", m.id, m.nextOfferID)
		m.nextOfferID++
		msg := &mesospb.Offer{
			Id:          &mesospb.OfferID{Value: proto.String(id)},
			FrameworkId: fw.info.GetId(),
			AgentId:     &mesospb.AgentID{Value: proto.String(a.id)},
			Hostname:    proto.String(a.info.GetHostname()),
			Url:         a.url(),
			Resources:   toProto(d.Resources, formatFor(fw, d.Role)),
			Attributes:  a.info.GetAttributes(),
			Domain:      a.info.GetDomain(),
		}
		if fw.multiRole() {
			msg.AllocationInfo = &mesospb.Resource_AllocationInfo{Role: proto.String(d.Role)}
		}
		for eid := range a.executors[fw.id] {
			msg.ExecutorIds = append(msg.ExecutorIds, &mesospb.ExecutorID{Value: proto.String(eid)})
		}
		o := &offer{id: id, msg: msg, fw: fw, agent: a, role: d.Role, res: d.Resources, created: now}
		if m.cfg.OfferTimeout > 0 {
			o.expiry = time.AfterFunc(m.cfg.OfferTimeout, func() { m.offerExpired(id) })
		}
		m.offers[id] = o
		fw.offers[id] = o
		a.offers[id] = o
		if byFw[fw] == nil {
			order = append(order, fw)
		}
		byFw[fw] = append(byFw[fw], msg)
	}
	for _, fw := range order {
		m.sendToFramework(fw, &schedulerpb.Event{
			Type:   schedulerpb.Event_OFFERS.Enum(),
			Offers: &schedulerpb.Event_Offers{Offers: byFw[fw]},
		})
		m.metrics.offersSent.Add(float64(len(byFw[fw])))
	}
}

// removeOffer takes an offer back and returns its resources to the allocator, optionally telling
// the framework with RESCIND. m.mu is held.
func (m *Master) removeOffer(o *offer, rescind bool) {
	m.dropOffer(o)
	_ = m.alloc.RecoverResources(o.agent.id, o.fw.id, o.role, o.res, nil)
	if rescind {
		m.sendToFramework(o.fw, &schedulerpb.Event{
			Type:    schedulerpb.Event_RESCIND.Enum(),
			Rescind: &schedulerpb.Event_Rescind{OfferId: o.msg.GetId()},
		})
		m.metrics.offersRescinded.Inc()
	}
	m.triggerAllocation()
}

// dropOffer forgets an offer without touching its resources. m.mu is held.
func (m *Master) dropOffer(o *offer) {
	if o.expiry != nil {
		o.expiry.Stop()
	}
	delete(m.offers, o.id)
	delete(o.fw.offers, o.id)
	delete(o.agent.offers, o.id)
}

// offerExpired rescinds an offer held for the whole offer timeout, if it is still outstanding.
func (m *Master) offerExpired(id string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if o := m.offers[id]; o != nil && !m.stopping {
		m.removeOffer(o, true)
	}
}

// filterFrom converts a call's Filters into an allocator filter (refuse_seconds defaults to 5).
func filterFrom(f *mesospb.Filters) *allocator.Filter {
	return &allocator.Filter{RefuseSeconds: f.GetRefuseSeconds()}
}

// decline handles DECLINE. m.mu is held.
func (m *Master) decline(fw *framework, ids []*mesospb.OfferID, filters *mesospb.Filters) {
	for _, id := range ids {
		o := fw.offers[id.GetValue()]
		if o == nil {
			continue
		}
		m.dropOffer(o)
		_ = m.alloc.RecoverResources(o.agent.id, fw.id, o.role, o.res, filterFrom(filters))
		m.metrics.offersDeclined.Inc()
	}
	m.triggerAllocation()
}

// revive handles REVIVE. m.mu is held.
func (m *Master) revive(fw *framework, roles []string) {
	if len(roles) == 0 {
		fw.suppressedRoles = map[string]bool{}
	}
	for _, r := range roles {
		delete(fw.suppressedRoles, r)
	}
	if err := m.alloc.Revive(fw.id, roles...); err != nil {
		m.log.Warn("revive", "framework_id", fw.id, "err", err)
	}
	m.triggerAllocation()
}

// suppress handles SUPPRESS. m.mu is held.
func (m *Master) suppress(fw *framework, roles []string) {
	if len(roles) == 0 {
		roles = fw.roles()
	}
	for _, r := range roles {
		fw.suppressedRoles[r] = true
	}
	if err := m.alloc.Suppress(fw.id, roles...); err != nil {
		m.log.Warn("suppress", "framework_id", fw.id, "err", err)
	}
}
