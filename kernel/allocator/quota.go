package allocator

import (
	"fmt"
	"maps"
	"strings"
)

// Quota is a top-level role's QuotaConfig.
type Quota struct {
	// Guarantees are held back (as cluster-wide headroom) for the role
	// and allocated to it first.
	Guarantees Quantities
	// Limits cap what the role and its sub-roles may consume, per scalar
	// name; names not present are unlimited.
	Limits map[string]float64
}

// quotaRole is the allocator state for a role with non-default quota.
type quotaRole struct {
	name       string
	guarantees Quantities
	limits     map[string]int64
	// recomputed at the start of every pass
	consumed    Quantities // reservations + unreserved allocations of the subtree
	unsatisfied Quantities // guarantees - consumed
}

// UpdateQuota sets or, with a zero Quota, removes the quota of a
// top-level role. Consumed quota is the role's (and its sub-roles')
// reservations plus its unreserved allocations, as in Mesos.
func (a *Allocator) UpdateQuota(role string, q Quota) error {
	if err := validRole(role); err != nil || role == Unreserved || strings.Contains(role, "/") {
		return fmt.Errorf("allocator: update quota: role %q must be a top-level role: %w", role, ErrInvalid)
	}
	limits := make(map[string]int64, len(q.Limits))
	for name, v := range q.Limits {
		if v < 0 || name == "" {
			return fmt.Errorf("allocator: update quota %s: limit %s:%v: %w", role, name, v, ErrInvalid)
		}
		limits[name] = Milli(v)
	}
	var bad error
	q.Guarantees.each(func(name string, v int64) {
		if l, ok := limits[name]; ok && l < v && bad == nil {
			bad = fmt.Errorf("allocator: update quota %s: guarantee %s exceeds its limit: %w", role, name, ErrInvalid)
		}
	})
	if bad != nil {
		return bad
	}
	if q.Guarantees.IsZero() && len(limits) == 0 {
		delete(a.quotas, role)
	} else {
		a.quotas[role] = &quotaRole{name: role, guarantees: q.Guarantees.Clone(), limits: limits}
	}
	for name, r := range a.roles {
		if topLevel(name) == role {
			r.top = a.quotas[role]
		}
	}
	a.globalDirty = true
	return nil
}

// Quota returns the quota of a role, if set.
func (a *Allocator) Quota(role string) (Quota, bool) {
	qr := a.quotas[role]
	if qr == nil {
		return Quota{}, false
	}
	q := Quota{Guarantees: qr.guarantees.Clone()}
	if len(qr.limits) > 0 {
		q.Limits = make(map[string]float64, len(qr.limits))
		for k, v := range maps.All(qr.limits) {
			q.Limits[k] = FromMilli(v)
		}
	}
	return q, true
}

// prepareQuota computes consumed quota per quota role and the cluster
// headroom figures for this pass:
//
//	required headroom  = Σ max(0, guarantee − consumed)
//	available headroom = unreserved resources not allocated (all agents)
func (a *Allocator) prepareQuota(ps *passState) {
	for _, qr := range a.quotas {
		qr.consumed = Quantities{}
	}
	ps.available = Quantities{}
	for _, ag := range a.agents {
		for i := range ag.total.reserved {
			x := &ag.total.reserved[i]
			if qr := a.quotas[topLevel(x.role)]; qr != nil {
				x.b.addQuantities(&qr.consumed)
			}
		}
		for i := range ag.allocs {
			al := &ag.allocs[i]
			if qr := a.quotas[topLevel(al.role)]; qr != nil {
				al.res.unreserved.addQuantities(&qr.consumed)
			}
		}
		ag.free.unreserved.addQuantities(&ps.available)
	}
	ps.required = Quantities{}
	for _, qr := range a.quotas {
		qr.unsatisfied = qr.guarantees.Clone()
		qr.unsatisfied.Subtract(qr.consumed)
		ps.required.Add(qr.unsatisfied)
	}
}

// capLimits lowers want so that consumed+extra+want stays within qr's
// limits.
func capLimits(want *Quantities, qr *quotaRole, extra *Quantities) {
	for name, limit := range qr.limits {
		room := limit - qr.consumed.get(name)
		if extra != nil {
			room -= extra.get(name)
		}
		if have := want.get(name); have > room {
			want.set(name, room)
		}
	}
}

// capHeadroom lowers want to the surplus headroom (available − required);
// names absent from the surplus are capped to zero.
func capHeadroom(want *Quantities, ps *passState) {
	surplus := ps.available.Clone()
	surplus.Subtract(ps.required)
	var names []string
	want.each(func(name string, v int64) {
		if surplus.get(name) < v {
			names = append(names, name)
		}
	})
	for _, n := range names {
		want.set(n, surplus.get(n))
	}
}

// minQuantities returns, for every name in bound, min(have, bound).
func minQuantities(have, bound *Quantities) Quantities {
	var out Quantities
	bound.each(func(name string, v int64) {
		out.set(name, min(have.get(name), v))
	})
	return out
}

// quotaTarget computes the unreserved scalar amounts role r may be
// offered from unreserved (its available unreserved scalars) in the given
// stage. ok is false when stage 1 has nothing to give the role. guar is
// the part counted against its guarantees.
func (a *Allocator) quotaTarget(ps *passState, r *role, unreserved *bundle, stage int) (target, guar Quantities, ok bool) {
	var have Quantities
	unreserved.addQuantities(&have)
	qr := r.top
	if stage == 1 {
		guar = minQuantities(&have, &qr.unsatisfied)
		if guar.IsZero() {
			return Quantities{}, Quantities{}, false
		}
		additional := have.Clone()
		additional.Subtract(guar)
		capLimits(&additional, qr, &guar)
		if !ps.required.IsZero() && !additional.IsZero() {
			capHeadroom(&additional, ps)
		}
		target = guar.Clone()
		target.Add(additional)
		return target, guar, true
	}
	target = have
	if qr != nil && len(qr.limits) > 0 {
		capLimits(&target, qr, nil)
	}
	if !ps.required.IsZero() && !target.IsZero() {
		capHeadroom(&target, ps)
	}
	return target, Quantities{}, true
}

// chargeQuota records an allocation of unreserved scalars (incr), guar of
// which counted toward guarantees, in the pass' quota state.
func (ps *passState) chargeQuota(r *role, incr, guar *Quantities, stage int) {
	if qr := r.top; qr != nil {
		qr.consumed.Add(*incr)
		if stage == 1 {
			qr.unsatisfied.Subtract(*incr)
		}
	}
	if stage == 1 {
		ps.required.Subtract(*guar)
	}
	ps.available.Subtract(*incr)
}
