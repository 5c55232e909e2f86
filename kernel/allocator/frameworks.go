package allocator

import (
	"fmt"
	"maps"
	"slices"
)

func validateFrameworkInfo(info *FrameworkInfo) error {
	if len(info.Roles) == 0 {
		return fmt.Errorf("no roles: %w", ErrInvalid)
	}
	if len(info.Roles) > 1 && !info.Capabilities.MultiRole {
		return fmt.Errorf("%d roles without MULTI_ROLE: %w", len(info.Roles), ErrInvalid)
	}
	for _, r := range info.Roles {
		if err := validRole(r); err != nil {
			return err
		}
	}
	for _, r := range info.SuppressedRoles {
		if !slices.Contains(info.Roles, r) {
			return fmt.Errorf("suppressed role %q is not subscribed: %w", r, ErrInvalid)
		}
	}
	return nil
}

// AddFramework registers a framework. An inactive framework (one known
// only from agents' reports after a master failover) is tracked for
// fairness but gets no offers until ActivateFramework.
func (a *Allocator) AddFramework(id string, info FrameworkInfo, active bool) error {
	if id == "" {
		return fmt.Errorf("allocator: add framework: empty id: %w", ErrInvalid)
	}
	if _, ok := a.frameworks[id]; ok {
		return fmt.Errorf("allocator: add framework %s: %w", id, ErrDuplicate)
	}
	if err := validateFrameworkInfo(&info); err != nil {
		return fmt.Errorf("allocator: add framework %s: %w", id, err)
	}
	a.fwSeq++
	f := &framework{id: id, seq: a.fwSeq, active: active, roles: map[string]*fwRole{}}
	a.frameworks[id] = f
	a.applyInfo(f, &info)
	for _, r := range info.Roles {
		fr := a.trackFwRole(f, r)
		fr.subscribed = true
		fr.suppressed = slices.Contains(info.SuppressedRoles, r)
	}
	a.globalDirty = true
	return nil
}

func (a *Allocator) applyInfo(f *framework, info *FrameworkInfo) {
	f.caps = info.Capabilities
	f.minAlloc = nil
	if info.MinAllocatable != nil {
		f.minAlloc = make(map[string][]Quantities, len(info.MinAllocatable))
		for r, qs := range info.MinAllocatable {
			c := make([]Quantities, len(qs))
			for i, q := range qs {
				c[i] = q.Clone()
			}
			f.minAlloc[r] = c
		}
	}
	f.constraints = maps.Clone(info.OfferConstraints)
}

// RemoveFramework forgets a framework. Everything it holds on any agent
// is returned to the agents' free pool and its filters disappear.
func (a *Allocator) RemoveFramework(id string) error {
	f, ok := a.frameworks[id]
	if !ok {
		return fmt.Errorf("allocator: remove framework %s: %w", id, ErrUnknownFramework)
	}
	for _, ag := range a.agents {
		if !slices.Contains(ag.allocFw, f) {
			continue
		}
		for i := len(ag.allocs) - 1; i >= 0; i-- {
			al := &ag.allocs[i]
			if al.fw != f {
				continue
			}
			ag.free.Add(al.res)
			q := al.res.Quantities()
			if fr := f.roles[al.role]; fr != nil {
				a.charge(fr, &q, -1)
			}
			ag.deleteAlloc(i)
		}
		a.markDirty(ag)
	}
	for _, fr := range f.roles {
		a.untrack(fr)
	}
	a.clearFilters(f)
	delete(a.frameworks, id)
	return nil
}

// ActivateFramework resumes offers to a (re)connected framework.
func (a *Allocator) ActivateFramework(id string) error {
	f, ok := a.frameworks[id]
	if !ok {
		return fmt.Errorf("allocator: activate framework %s: %w", id, ErrUnknownFramework)
	}
	f.active = true
	a.globalDirty = true
	return nil
}

// DeactivateFramework stops offers to a disconnected framework. Its
// allocations stay accounted; its refusal filters are cleared, as in
// Mesos.
func (a *Allocator) DeactivateFramework(id string) error {
	f, ok := a.frameworks[id]
	if !ok {
		return fmt.Errorf("allocator: deactivate framework %s: %w", id, ErrUnknownFramework)
	}
	f.active = false
	a.clearFilters(f)
	return nil
}

// UpdateFramework applies a new subscription (UPDATE_FRAMEWORK or a
// re-subscription): roles, capabilities, per-role min_allocatable and
// offer constraints, and the exact set of suppressed roles. Roles that are
// dropped lose their filters and stop receiving offers; resources still
// held in them stay accounted until recovered. Roles leaving the
// suppressed set are revived (their filters cleared).
func (a *Allocator) UpdateFramework(id string, info FrameworkInfo) error {
	f, ok := a.frameworks[id]
	if !ok {
		return fmt.Errorf("allocator: update framework %s: %w", id, ErrUnknownFramework)
	}
	if err := validateFrameworkInfo(&info); err != nil {
		return fmt.Errorf("allocator: update framework %s: %w", id, err)
	}
	a.applyInfo(f, &info)
	for name, fr := range f.roles {
		if fr.subscribed && !slices.Contains(info.Roles, name) {
			fr.subscribed = false
			fr.suppressed = false
			a.dropFilters(f, name)
			a.maybeUntrack(fr)
		}
	}
	for _, name := range info.Roles {
		fr := a.trackFwRole(f, name)
		fr.subscribed = true
		suppress := slices.Contains(info.SuppressedRoles, name)
		if fr.suppressed && !suppress {
			a.dropFilters(f, name)
		}
		fr.suppressed = suppress
	}
	a.globalDirty = true
	return nil
}

// Suppress stops offers to a framework for the given roles (all of its
// roles when none are given). Status updates are unaffected.
func (a *Allocator) Suppress(id string, roles ...string) error {
	_, frs, err := a.frameworkRoles("suppress", id, roles)
	if err != nil {
		return err
	}
	for _, fr := range frs {
		fr.suppressed = true
	}
	return nil
}

// Revive resumes offers to a framework for the given roles (all of its
// roles when none are given) and clears its refusal filters for them.
func (a *Allocator) Revive(id string, roles ...string) error {
	f, frs, err := a.frameworkRoles("revive", id, roles)
	if err != nil {
		return err
	}
	for _, fr := range frs {
		fr.suppressed = false
		a.dropFilters(f, fr.role.name)
	}
	a.globalDirty = true
	return nil
}

func (a *Allocator) frameworkRoles(op, id string, roles []string) (*framework, []*fwRole, error) {
	f, ok := a.frameworks[id]
	if !ok {
		return nil, nil, fmt.Errorf("allocator: %s %s: %w", op, id, ErrUnknownFramework)
	}
	var out []*fwRole
	if len(roles) == 0 {
		for _, fr := range f.roles {
			if fr.subscribed {
				out = append(out, fr)
			}
		}
		return f, out, nil
	}
	for _, r := range roles {
		fr := f.roles[r]
		if fr == nil || !fr.subscribed {
			return nil, nil, fmt.Errorf("allocator: %s %s: role %q is not subscribed: %w", op, id, r, ErrInvalid)
		}
		out = append(out, fr)
	}
	return f, out, nil
}

// Frameworks returns the ids of the known frameworks, sorted.
func (a *Allocator) Frameworks() []string {
	return slices.Sorted(maps.Keys(a.frameworks))
}

// SuppressedRoles returns the framework's suppressed roles, sorted.
func (a *Allocator) SuppressedRoles(id string) []string {
	f := a.frameworks[id]
	if f == nil {
		return nil
	}
	var out []string
	for name, fr := range f.roles {
		if fr.subscribed && fr.suppressed {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// trackFwRole returns f's membership in role, creating the role in the
// sorter and the membership as needed (unsubscribed by default).
func (a *Allocator) trackFwRole(f *framework, name string) *fwRole {
	if fr := f.roles[name]; fr != nil {
		return fr
	}
	r := a.roles[name]
	if r == nil {
		r = &role{name: name}
		a.roles[name] = r
		a.tree.add(r)
		r.top = a.quotas[topLevel(name)]
		a.stale = true
	}
	fr := &fwRole{fw: f, role: r}
	r.addMember(fr)
	f.roles[name] = fr
	a.stale = true
	return fr
}

// maybeUntrack removes a membership that is neither subscribed nor holding
// any scalar resources.
func (a *Allocator) maybeUntrack(fr *fwRole) {
	if fr.subscribed || !fr.alloc.IsZero() || fr.role == nil {
		return
	}
	a.untrack(fr)
}

func (a *Allocator) untrack(fr *fwRole) {
	r := fr.role
	if r == nil {
		return
	}
	if !fr.alloc.IsZero() {
		q := fr.alloc.Clone()
		a.charge(fr, &q, -1)
	}
	r.removeMember(fr)
	delete(fr.fw.roles, r.name)
	fr.role = nil
	if len(r.fws) == 0 {
		// Remaining allocation quantities of the role (if any) came only
		// from this framework and were already uncharged.
		a.tree.remove(r)
		delete(a.roles, r.name)
	}
	a.stale = true
}

func topLevel(role string) string {
	for i := 0; i < len(role); i++ {
		if role[i] == '/' {
			return role[:i]
		}
	}
	return role
}
