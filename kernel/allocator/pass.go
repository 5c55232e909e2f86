package allocator

import (
	"cmp"
	"slices"
	"time"
)

type passState struct {
	now                 time.Time
	quota               bool
	required, available Quantities // quota headroom, see prepareQuota
	offers              []Offer
	// With quota, stage 2 may add to an offer made in stage 1 for the same
	// (agent, framework, role); the two become one offer, as in Mesos.
	offerIdx map[offerKey]int
}

type offerKey struct {
	ag *agent
	fr *fwRole
}

// pendingCharge is an allocation whose effect on the DRF order is applied
// once the current agent is done, so every agent sees one consistent
// order (Mesos sorts once per agent).
type pendingCharge struct {
	fr   *fwRole
	q    Quantities
	slot int // fr's position in its role's order when the offer was made
}

// Allocate runs a full pass over every active agent and returns the
// offers, which are allocated until recovered. now decides which refusal
// filters are live.
func (a *Allocator) Allocate(now time.Time) []Offer {
	a.expireFilters(now)
	offers := a.pass(now, a.agents)
	a.stats.FullPasses++
	for _, ag := range a.dirtyAgents {
		ag.dirty = false
	}
	a.dirtyAgents = a.dirtyAgents[:0]
	a.globalDirty = false
	return offers
}

// AllocateAgents runs a targeted pass over the given agents (e.g. the one
// just added, or whose resources were just recovered). Unknown ids are
// ignored.
func (a *Allocator) AllocateAgents(now time.Time, agentIDs ...string) []Offer {
	a.expireFilters(now)
	set := a.targets[:0]
	for _, id := range agentIDs {
		if ag := a.agentByID[id]; ag != nil {
			set = append(set, ag)
		}
	}
	set = canonical(set)
	offers := a.pass(now, set)
	for _, ag := range set {
		ag.dirty = false
	}
	a.compactDirty()
	a.releaseTargets(set)
	return offers
}

// AllocatePending does the least work that covers every change since the
// last passes: a full pass when something cluster-wide changed (framework
// added, activated, revived or updated, weights or quota changed), else a
// pass over just the agents whose resources changed or whose filters
// expired. It returns nil quickly when there is nothing to do.
func (a *Allocator) AllocatePending(now time.Time) []Offer {
	a.expireFilters(now)
	if a.globalDirty {
		return a.Allocate(now)
	}
	if len(a.dirtyAgents) == 0 {
		return nil
	}
	set := a.targets[:0]
	for _, ag := range a.dirtyAgents {
		if !ag.removed {
			set = append(set, ag)
		}
		ag.dirty = false
	}
	clear(a.dirtyAgents)
	a.dirtyAgents = a.dirtyAgents[:0]
	offers := a.pass(now, canonical(set))
	a.releaseTargets(set)
	return offers
}

// releaseTargets keeps set's storage for the next targeted pass, without
// keeping its agents alive.
func (a *Allocator) releaseTargets(set []*agent) {
	clear(set)
	a.targets = set[:0]
}

// canonical sorts agents by registration slot and drops duplicates, so
// that the seeded shuffle does not depend on map iteration order (dirty
// agents are collected while walking maps).
func canonical(set []*agent) []*agent {
	slices.SortFunc(set, func(x, y *agent) int { return cmp.Compare(x.idx, y.idx) })
	return slices.Compact(set)
}

func (a *Allocator) compactDirty() {
	kept := a.dirtyAgents[:0]
	for _, ag := range a.dirtyAgents {
		if ag.dirty && !ag.removed {
			kept = append(kept, ag)
		}
	}
	clear(a.dirtyAgents[len(kept):])
	a.dirtyAgents = kept
}

func (a *Allocator) pass(now time.Time, agents []*agent) []Offer {
	start := time.Now()
	if a.stale {
		a.resort()
	}
	// The order holds positions in a.agents rather than pointers, so
	// shuffling it costs no GC write barriers.
	order := a.order[:0]
	for _, ag := range agents {
		if ag.active && !ag.removed && !ag.free.IsEmpty() {
			order = append(order, int32(ag.idx))
		}
	}
	a.order = order
	ps := passState{now: now, quota: len(a.quotas) > 0}
	if a.cfg.ReuseOffers {
		clear(a.offerBuf)
		ps.offers = a.offerBuf[:0]
	} else {
		ps.offers = make([]Offer, 0, len(order)) // usually a pass' only allocation
	}
	if len(order) > 0 && len(a.roles) > 0 {
		a.shuffle(order)
		if ps.quota {
			ps.offerIdx = map[offerKey]int{}
			a.prepareQuota(&ps)
			for _, i := range order {
				a.allocateAgent(&ps, a.agents[i], 1)
			}
			a.shuffle(order)
		}
		for _, i := range order {
			a.allocateAgent(&ps, a.agents[i], 2)
		}
	}
	if a.cfg.ReuseOffers {
		a.offerBuf = ps.offers
	}
	d := time.Since(start)
	a.stats.Passes++
	a.stats.AgentsVisited += uint64(len(order))
	a.stats.Offers += uint64(len(ps.offers))
	a.stats.LastPass = d
	a.stats.TotalPass += d
	a.stats.MaxPass = max(a.stats.MaxPass, d)
	return ps.offers
}

func (a *Allocator) shuffle(order []int32) {
	for i := len(order) - 1; i > 0; i-- {
		j := a.rng.IntN(i + 1)
		order[i], order[j] = order[j], order[i]
	}
}

// allocateAgent offers one agent's resources role by role, in DRF order.
func (a *Allocator) allocateAgent(ps *passState, ag *agent, stage int) {
	if ag.free.IsEmpty() {
		return
	}
	a.pending = a.pending[:0]
	if a.tree.internal == 0 {
		for _, n := range a.tree.root.children {
			if a.offerRole(ps, ag, n.role, stage) && ag.free.IsEmpty() {
				break
			}
		}
	} else {
		a.walkRoles(ps, ag, &a.tree.root, stage)
	}
	for i := range a.pending {
		pc := &a.pending[i]
		a.chargeAt(pc.fr, &pc.q, +1, pc.slot)
		pc.fr = nil
	}
}

// walkRoles visits the leaves under n in DRF pre-order; it returns true
// once the agent has nothing left.
func (a *Allocator) walkRoles(ps *passState, ag *agent, n *roleNode, stage int) bool {
	for _, c := range n.children {
		if c.isLeaf() {
			if a.offerRole(ps, ag, c.role, stage) && ag.free.IsEmpty() {
				return true
			}
		} else if a.walkRoles(ps, ag, c, stage) {
			return true
		}
	}
	return false
}

// offerRole offers what ag has for role r to the first eligible framework
// of r in DRF order. It reports whether an offer was made.
func (a *Allocator) offerRole(ps *passState, ag *agent, r *role, stage int) bool {
	name := r.name
	if stage == 1 && (r.top == nil || r.top.name != name || r.top.unsatisfied.IsZero()) {
		return false
	}
	if !ag.free.hasFor(name) {
		return false
	}
	// Build a read-only view of what the role may use on this agent. It
	// lives on the stack (no write barriers while the GC runs); only its
	// reservation list uses a reused scratch slice.
	var viewRes Resources
	view := &viewRes
	view.unreserved = ag.free.unreserved
	if len(ag.free.reserved) > 0 {
		view.reserved = a.viewReserved[:0]
		for _, x := range ag.free.reserved {
			if isSelfOrAncestor(x.role, name) {
				view.reserved = append(view.reserved, x)
			}
		}
		a.viewReserved = view.reserved[:0]
	}
	shrunk := false
	var guar Quantities
	if ps.quota && (stage == 1 || r.top != nil || !ps.required.IsZero()) && view.unreserved.hasScalars() {
		target, g, ok := a.quotaTarget(ps, r, &view.unreserved, stage)
		if !ok {
			return false
		}
		guar = g
		var have Quantities
		view.unreserved.addQuantities(&have)
		if !target.Equal(have) {
			view.unreserved.shrinkScalars(func(n string) (int64, bool) { return target.get(n), true })
			shrunk = true
		}
	}
	if view.IsEmpty() {
		return false
	}
	for i, slot := range r.order {
		fr := r.fws[slot.idx]
		f := fr.fw
		if !fr.subscribed || fr.suppressed || !f.active {
			continue
		}
		if ag.hasGPU && !f.caps.GPUResources && !a.cfg.OfferGPUAgentsToAll {
			continue
		}
		if c := f.constraints[name]; c != nil && !c(AgentInfo{ID: ag.id, Hostname: ag.hostname, Attributes: ag.attrs}) {
			continue
		}
		if !a.allocatable(view, name, f) {
			continue
		}
		if isFiltered(f, name, ag, view, ps.now) {
			a.stats.FilteredOffers++
			continue
		}
		var res Resources
		if shrunk {
			// view.reserved is scratch space reused by the next role.
			res = Resources{unreserved: view.unreserved, reserved: slices.Clone(view.reserved)}
			ag.free.Subtract(res)
		} else {
			ag.free.takeFor(name, &res)
		}
		a.allocationFor(ag, f, name).res.Add(res)
		pc := pendingCharge{fr: fr, slot: i}
		res.addQuantities(&pc.q)
		a.pending = append(a.pending, pc)
		if ps.quota {
			var incr Quantities
			res.unreserved.addQuantities(&incr)
			ps.chargeQuota(r, &incr, &guar, stage)
		}
		if ps.offerIdx != nil {
			k := offerKey{ag, fr}
			if i, ok := ps.offerIdx[k]; ok {
				ps.offers[i].Resources.Add(res)
				return true
			}
			ps.offerIdx[k] = len(ps.offers)
		}
		ps.offers = append(ps.offers, Offer{
			AgentID:     ag.id,
			Hostname:    ag.hostname,
			FrameworkID: f.id,
			Role:        name,
			Resources:   res,
		})
		return true
	}
	return false
}

// allocatable applies min_allocatable_resources: the framework's per-role
// setting when present, else the global one; an empty list accepts any
// non-empty offer.
func (a *Allocator) allocatable(offer *Resources, role string, f *framework) bool {
	mins := a.minAlloc
	if m, ok := f.minAlloc[role]; ok {
		mins = m
	}
	if len(mins) == 0 {
		return true
	}
	for i := range mins {
		if offer.containsQuantities(&mins[i]) {
			return true
		}
	}
	return false
}

// containsQuantities is ContainsQuantities without closures, for the hot
// path.
func (r *Resources) containsQuantities(q *Quantities) bool {
	cpus, mem, disk, gpus := r.unreserved.cpus, r.unreserved.mem, r.unreserved.disk, r.unreserved.gpus
	for i := range r.reserved {
		b := &r.reserved[i].b
		cpus += b.cpus
		mem += b.mem
		disk += b.disk
		gpus += b.gpus
	}
	if cpus < q.cpus || mem < q.mem || disk < q.disk || gpus < q.gpus {
		return false
	}
	for _, o := range q.other {
		if r.count(o.name) < o.v {
			return false
		}
	}
	return true
}
