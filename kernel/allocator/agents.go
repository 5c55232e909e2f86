package allocator

import (
	"fmt"
	"maps"
	"slices"
)

// AddAgent registers an agent with its total resources. It starts
// activated. Allocations the agent reports (tasks still running after a
// master failover) are added with AddAllocation afterwards.
func (a *Allocator) AddAgent(id, hostname string, total Resources, attributes map[string]string) error {
	if id == "" {
		return fmt.Errorf("allocator: add agent: empty id: %w", ErrInvalid)
	}
	if _, ok := a.agentByID[id]; ok {
		return fmt.Errorf("allocator: add agent %s: %w", id, ErrDuplicate)
	}
	ag := &agent{
		id:       id,
		hostname: hostname,
		attrs:    maps.Clone(attributes),
		total:    total.Clone(),
		free:     total.Clone(),
		active:   true,
		idx:      len(a.agents),
	}
	ag.hasGPU = ag.total.Scalar(Gpus) > 0
	a.agents = append(a.agents, ag)
	a.agentByID[id] = ag
	ag.total.addQuantities(&a.total)
	a.stale = true
	a.markDirty(ag)
	return nil
}

// RemoveAgent forgets an agent. Anything still allocated on it is
// dropped from the frameworks' accounting, and all refusal filters for it
// are removed.
func (a *Allocator) RemoveAgent(id string) error {
	ag, ok := a.agentByID[id]
	if !ok {
		return fmt.Errorf("allocator: remove agent %s: %w", id, ErrUnknownAgent)
	}
	for i := range ag.allocs {
		al := &ag.allocs[i]
		q := al.res.Quantities()
		a.uncharge(al.fw, al.role, &q)
	}
	ag.allocs, ag.allocFw = nil, nil
	a.removeAgentFilters(ag)
	ag.total.subQuantities(&a.total)
	last := a.agents[len(a.agents)-1]
	a.agents[ag.idx] = last
	last.idx = ag.idx
	a.agents = a.agents[:len(a.agents)-1]
	delete(a.agentByID, id)
	ag.removed = true
	a.stale = true
	return nil
}

// UpdateAgent replaces an agent's total resources (and attributes when
// attributes is non-nil). Its free resources become the new total minus
// what is allocated. Changed attributes clear all refusal filters for the
// agent, as in Mesos.
func (a *Allocator) UpdateAgent(id string, total Resources, attributes map[string]string) error {
	ag, ok := a.agentByID[id]
	if !ok {
		return fmt.Errorf("allocator: update agent %s: %w", id, ErrUnknownAgent)
	}
	if attributes != nil && !maps.Equal(attributes, ag.attrs) {
		ag.attrs = maps.Clone(attributes)
		a.removeAgentFilters(ag)
	}
	if !total.Equal(ag.total) {
		ag.total.subQuantities(&a.total)
		ag.total = total.Clone()
		ag.total.addQuantities(&a.total)
		ag.hasGPU = ag.total.Scalar(Gpus) > 0
		ag.free = ag.total.Clone()
		for i := range ag.allocs {
			ag.free.Subtract(ag.allocs[i].res)
		}
		a.stale = true
	}
	a.markDirty(ag)
	return nil
}

// ActivateAgent makes an agent's resources offerable again.
func (a *Allocator) ActivateAgent(id string) error {
	ag, ok := a.agentByID[id]
	if !ok {
		return fmt.Errorf("allocator: activate agent %s: %w", id, ErrUnknownAgent)
	}
	ag.active = true
	a.markDirty(ag)
	return nil
}

// DeactivateAgent stops offers for an agent (e.g. it disconnected) while
// keeping its resources in the cluster total and its allocations.
func (a *Allocator) DeactivateAgent(id string) error {
	ag, ok := a.agentByID[id]
	if !ok {
		return fmt.Errorf("allocator: deactivate agent %s: %w", id, ErrUnknownAgent)
	}
	ag.active = false
	return nil
}

// AddAllocation records resources a framework already uses on an agent
// under role (tasks found when the agent re-registers). The framework
// must have been added (possibly inactive) and the agent must have the
// resources free.
func (a *Allocator) AddAllocation(agentID, frameworkID, role string, res Resources) error {
	ag, ok := a.agentByID[agentID]
	if !ok {
		return fmt.Errorf("allocator: add allocation on %s: %w", agentID, ErrUnknownAgent)
	}
	f, ok := a.frameworks[frameworkID]
	if !ok {
		return fmt.Errorf("allocator: add allocation for %s: %w", frameworkID, ErrUnknownFramework)
	}
	if err := validRole(role); err != nil {
		return fmt.Errorf("allocator: add allocation: %w", err)
	}
	if res.IsEmpty() {
		return nil
	}
	if !ag.free.ContainsAll(res) {
		return fmt.Errorf("allocator: add allocation of %s on %s (free %s): %w", res, agentID, ag.free, ErrNotAvailable)
	}
	ag.free.Subtract(res)
	a.allocationFor(ag, f, role).res.Add(res)
	q := res.Quantities()
	a.charge(a.trackFwRole(f, role), &q, +1)
	return nil
}

// RecoverResources returns resources that frameworkID held on agentID
// under role: an offer declined or rescinded, the unused part of an
// accept, or the resources of a finished task. A non-nil filter installs a
// refusal filter on (framework, role, agent) holding res, so that later
// offers it contains are withheld until it expires (see Filter).
//
// Recovering from an agent or framework that is gone is a no-op, as in
// Mesos (their resources were already released).
func (a *Allocator) RecoverResources(agentID, frameworkID, role string, res Resources, filter *Filter) error {
	if res.IsEmpty() {
		return nil
	}
	ag, ok := a.agentByID[agentID]
	if !ok {
		return nil
	}
	f, ok := a.frameworks[frameworkID]
	if !ok {
		return nil
	}
	i := findAllocation(ag, f, role)
	if i < 0 || !ag.allocs[i].res.ContainsAll(res) {
		return fmt.Errorf("allocator: recover %s on %s from %s/%s: %w", res, agentID, frameworkID, role, ErrNotAllocated)
	}
	al := &ag.allocs[i]
	if ag.free.IsEmpty() && al.res.Equal(res) {
		// Whole allocation back to an empty agent (a declined or rescinded
		// offer): hand the record's memory over instead of copying res.
		ag.free = al.res
		ag.deleteAlloc(i)
	} else {
		al.res.Subtract(res)
		if al.res.IsEmpty() {
			ag.deleteAlloc(i)
		}
		ag.free.Add(res)
	}
	q := res.Quantities()
	a.uncharge(f, role, &q)
	if filter != nil {
		a.addFilter(f, role, ag, res, filter.RefuseSeconds)
	}
	a.markDirty(ag)
	return nil
}

// UpdateAllocation replaces part of a framework's allocation on an agent
// with converted resources, e.g. after a RESERVE, UNRESERVE, CREATE or
// DESTROY operation on offered resources. from must be allocated to the
// framework under role; the agent's total is converted the same way.
func (a *Allocator) UpdateAllocation(agentID, frameworkID, role string, from, to Resources) error {
	ag, ok := a.agentByID[agentID]
	if !ok {
		return fmt.Errorf("allocator: update allocation on %s: %w", agentID, ErrUnknownAgent)
	}
	f, ok := a.frameworks[frameworkID]
	if !ok {
		return fmt.Errorf("allocator: update allocation for %s: %w", frameworkID, ErrUnknownFramework)
	}
	i := findAllocation(ag, f, role)
	if i < 0 || !ag.allocs[i].res.ContainsAll(from) {
		return fmt.Errorf("allocator: update allocation %s on %s: %w", from, agentID, ErrNotAllocated)
	}
	al := &ag.allocs[i]
	al.res.Subtract(from)
	al.res.Add(to)
	ag.total.subQuantities(&a.total)
	ag.total.Subtract(from)
	ag.total.Add(to)
	ag.total.addQuantities(&a.total)
	ag.hasGPU = ag.total.Scalar(Gpus) > 0
	qf, qt := from.Quantities(), to.Quantities()
	fr := a.trackFwRole(f, role)
	a.charge(fr, &qf, -1)
	a.charge(fr, &qt, +1)
	if al.res.IsEmpty() {
		ag.deleteAlloc(i)
		a.maybeUntrack(fr)
	}
	a.stale = true
	return nil
}

// Available returns a copy of the agent's unallocated resources.
func (a *Allocator) Available(agentID string) (Resources, bool) {
	ag, ok := a.agentByID[agentID]
	if !ok {
		return Resources{}, false
	}
	return ag.free.Clone(), true
}

// Allocated returns a copy of what frameworkID holds on agentID under
// role (offered or in use).
func (a *Allocator) Allocated(agentID, frameworkID, role string) Resources {
	ag, ok := a.agentByID[agentID]
	f := a.frameworks[frameworkID]
	if !ok || f == nil {
		return Resources{}
	}
	if i := findAllocation(ag, f, role); i >= 0 {
		return ag.allocs[i].res.Clone()
	}
	return Resources{}
}

// findAllocation returns the index of f's allocation under role on ag, or
// -1. It scans the compact framework index, not the records.
func findAllocation(ag *agent, f *framework, role string) int {
	for i, x := range ag.allocFw {
		if x == f && ag.allocs[i].role == role {
			return i
		}
	}
	return -1
}

func (a *Allocator) allocationFor(ag *agent, f *framework, role string) *allocation {
	if i := findAllocation(ag, f, role); i >= 0 {
		return &ag.allocs[i]
	}
	ag.allocs = append(ag.allocs, allocation{fw: f, role: role})
	ag.allocFw = append(ag.allocFw, f)
	return &ag.allocs[len(ag.allocs)-1]
}

func (ag *agent) deleteAlloc(i int) {
	ag.allocs = slices.Delete(ag.allocs, i, i+1)
	ag.allocFw = slices.Delete(ag.allocFw, i, i+1)
}

// uncharge removes q from a framework's role accounting and untracks the
// framework from the role when it no longer subscribes nor holds anything.
func (a *Allocator) uncharge(f *framework, role string, q *Quantities) {
	fr := f.roles[role]
	if fr == nil {
		return
	}
	a.charge(fr, q, -1)
	a.maybeUntrack(fr)
}
