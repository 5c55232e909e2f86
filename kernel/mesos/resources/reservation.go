package resources

import (
	"strings"

	"google.golang.org/protobuf/proto"

	"strata/kernel/mesos/mesospb"
)

// Unreserved is the role of unreserved resources in the legacy format.
const Unreserved = "*"

// Reservations returns r's reservation stack in the post-refinement format.
// For a resource in the legacy format it is built from "role" (a STATIC
// reservation) and "reservation" (which makes it DYNAMIC). Unreserved
// resources have an empty stack. The result must not be modified.
func Reservations(r *mesospb.Resource) []*mesospb.Resource_ReservationInfo {
	if len(r.GetReservations()) > 0 {
		return r.GetReservations()
	}
	role := r.GetRole() //nolint:staticcheck // the legacy field is part of the wire format
	if role == Unreserved || role == "" {
		return nil
	}
	ri := &mesospb.Resource_ReservationInfo{
		Type: mesospb.Resource_ReservationInfo_STATIC.Enum(),
		Role: proto.String(role),
	}
	if old := r.GetReservation(); old != nil {
		ri.Type = mesospb.Resource_ReservationInfo_DYNAMIC.Enum()
		ri.Principal = old.Principal
		ri.Labels = old.Labels
	}
	return []*mesospb.Resource_ReservationInfo{ri}
}

// ReservationRole returns the role r is reserved for (the innermost
// reservation of a refined stack), or "*" when it is unreserved.
func ReservationRole(r *mesospb.Resource) string {
	stack := Reservations(r)
	if len(stack) == 0 {
		return Unreserved
	}
	return stack[len(stack)-1].GetRole()
}

// IsUnreserved reports whether r carries no reservation.
func IsUnreserved(r *mesospb.Resource) bool { return len(Reservations(r)) == 0 }

// IsReserved reports whether r is reserved, to role when role is not empty.
func IsReserved(r *mesospb.Resource, role string) bool {
	if IsUnreserved(r) {
		return false
	}
	return role == "" || ReservationRole(r) == role
}

// IsDynamicallyReserved reports whether r's innermost reservation is dynamic.
func IsDynamicallyReserved(r *mesospb.Resource) bool {
	stack := Reservations(r)
	return len(stack) > 0 && stack[len(stack)-1].GetType() == mesospb.Resource_ReservationInfo_DYNAMIC
}

// IsRevocable reports whether r is revocable.
func IsRevocable(r *mesospb.Resource) bool { return r.Revocable != nil }

// IsShared reports whether r is a shared resource.
func IsShared(r *mesospb.Resource) bool { return r.Shared != nil }

// IsPersistentVolume reports whether r is a persistent volume.
func IsPersistentVolume(r *mesospb.Resource) bool { return r.GetDisk().GetPersistence() != nil }

// IsAllocatableTo reports whether r may be allocated to role: unreserved
// resources to anyone, reserved ones to their role and its sub-roles
// ("eng" resources to "eng/web").
func IsAllocatableTo(r *mesospb.Resource, role string) bool {
	if IsUnreserved(r) {
		return true
	}
	res := ReservationRole(r)
	return role == res || strings.HasPrefix(role, res+"/")
}

// Filter returns clones of the resources for which keep returns true.
func Filter(rs []*mesospb.Resource, keep func(*mesospb.Resource) bool) []*mesospb.Resource {
	var out []*mesospb.Resource
	for _, r := range rs {
		if r != nil && keep(r) {
			out = append(out, proto.Clone(r).(*mesospb.Resource))
		}
	}
	return out
}

// Named returns the resources called name.
func Named(rs []*mesospb.Resource, name string) []*mesospb.Resource {
	return Filter(rs, func(r *mesospb.Resource) bool { return r.GetName() == name })
}

// UnreservedOnly returns the unreserved resources.
func UnreservedOnly(rs []*mesospb.Resource) []*mesospb.Resource {
	return Filter(rs, IsUnreserved)
}

// Reserved returns the resources reserved to role, or to any role when role
// is empty.
func Reserved(rs []*mesospb.Resource, role string) []*mesospb.Resource {
	return Filter(rs, func(r *mesospb.Resource) bool { return IsReserved(r, role) })
}

// ReservedByRole groups the reserved resources by reservation role.
func ReservedByRole(rs []*mesospb.Resource) map[string][]*mesospb.Resource {
	out := make(map[string][]*mesospb.Resource)
	for _, r := range rs {
		if r != nil && !IsUnreserved(r) {
			role := ReservationRole(r)
			out[role] = append(out[role], proto.Clone(r).(*mesospb.Resource))
		}
	}
	return out
}

// AllocatableTo returns the resources that may be allocated to role.
func AllocatableTo(rs []*mesospb.Resource, role string) []*mesospb.Resource {
	return Filter(rs, func(r *mesospb.Resource) bool { return IsAllocatableTo(r, role) })
}

// Revocable returns the revocable resources.
func Revocable(rs []*mesospb.Resource) []*mesospb.Resource { return Filter(rs, IsRevocable) }

// NonRevocable returns the resources that are not revocable.
func NonRevocable(rs []*mesospb.Resource) []*mesospb.Resource {
	return Filter(rs, func(r *mesospb.Resource) bool { return !IsRevocable(r) })
}

// AllocationRole returns the role r is allocated to, or "" if none.
func AllocationRole(r *mesospb.Resource) string { return r.GetAllocationInfo().GetRole() }

// Allocate returns copies of rs with allocation_info.role set to role.
func Allocate(rs []*mesospb.Resource, role string) []*mesospb.Resource {
	out := Clone(rs)
	for _, r := range out {
		r.AllocationInfo = &mesospb.Resource_AllocationInfo{Role: proto.String(role)}
	}
	return out
}

// Unallocate returns copies of rs without allocation_info, as offered to
// frameworks without the MULTI_ROLE capability.
func Unallocate(rs []*mesospb.Resource) []*mesospb.Resource {
	out := Clone(rs)
	for _, r := range out {
		r.AllocationInfo = nil
	}
	return out
}

// Allocations groups rs by allocation role; resources without one are
// grouped under "".
func Allocations(rs []*mesospb.Resource) map[string][]*mesospb.Resource {
	out := make(map[string][]*mesospb.Resource)
	for _, r := range rs {
		if r != nil {
			role := AllocationRole(r)
			out[role] = append(out[role], proto.Clone(r).(*mesospb.Resource))
		}
	}
	return out
}

// ToPostRefinement returns copies of rs in the post-reservation-refinement
// format: reservations in the "reservations" stack and the legacy "role" and
// "reservation" fields cleared (so unreserved resources carry no role).
func ToPostRefinement(rs []*mesospb.Resource) []*mesospb.Resource {
	out := Clone(rs)
	for _, r := range out {
		r.Reservations = cloneStack(Reservations(r))
		r.Role = nil //nolint:staticcheck // legacy wire field
		r.Reservation = nil
	}
	return out
}

// ToPreRefinement returns copies of rs in the legacy format used with
// frameworks that lack the RESERVATION_REFINEMENT capability: "role" set on
// every resource ("*" when unreserved), "reservation" set for dynamic
// reservations, and the "reservations" stack cleared. Only the innermost
// reservation of a refined stack can be expressed.
func ToPreRefinement(rs []*mesospb.Resource) []*mesospb.Resource {
	out := Clone(rs)
	for _, r := range out {
		stack := Reservations(r)
		r.Role = proto.String(Unreserved) //nolint:staticcheck // legacy wire field
		r.Reservation = nil
		if len(stack) > 0 {
			last := stack[len(stack)-1]
			r.Role = proto.String(last.GetRole()) //nolint:staticcheck // legacy wire field
			if last.GetType() == mesospb.Resource_ReservationInfo_DYNAMIC {
				r.Reservation = &mesospb.Resource_ReservationInfo{
					Principal: last.Principal,
					Labels:    cloneLabels(last.Labels),
				}
			}
		}
		r.Reservations = nil
	}
	return out
}

// StaticReservation returns r's copy reserved statically to role, in both
// formats ("reservations" and the legacy "role"). Role "*" or "" unreserves.
func StaticReservation(r *mesospb.Resource, role string) *mesospb.Resource {
	c := proto.Clone(r).(*mesospb.Resource)
	c.Reservation = nil
	c.Reservations = nil
	c.Role = nil //nolint:staticcheck // legacy wire field
	if role != "" && role != Unreserved {
		c.Role = proto.String(role) //nolint:staticcheck // legacy wire field
		c.Reservations = []*mesospb.Resource_ReservationInfo{{
			Type: mesospb.Resource_ReservationInfo_STATIC.Enum(),
			Role: proto.String(role),
		}}
	}
	return c
}

func cloneStack(s []*mesospb.Resource_ReservationInfo) []*mesospb.Resource_ReservationInfo {
	if len(s) == 0 {
		return nil
	}
	out := make([]*mesospb.Resource_ReservationInfo, len(s))
	for i, ri := range s {
		out[i] = proto.Clone(ri).(*mesospb.Resource_ReservationInfo)
	}
	return out
}

func cloneLabels(l *mesospb.Labels) *mesospb.Labels {
	if l == nil {
		return nil
	}
	return proto.Clone(l).(*mesospb.Labels)
}

// sameKind reports whether a and b differ at most in their values.
func sameKind(a, b *mesospb.Resource) bool {
	if a.GetName() != b.GetName() || a.GetType() != b.GetType() {
		return false
	}
	if (a.AllocationInfo == nil) != (b.AllocationInfo == nil) ||
		a.GetAllocationInfo().GetRole() != b.GetAllocationInfo().GetRole() {
		return false
	}
	if (a.Revocable == nil) != (b.Revocable == nil) || (a.Shared == nil) != (b.Shared == nil) {
		return false
	}
	if (a.ProviderId == nil) != (b.ProviderId == nil) || a.GetProviderId().GetValue() != b.GetProviderId().GetValue() {
		return false
	}
	if !sameDisk(a.Disk, b.Disk) {
		return false
	}
	sa, sb := Reservations(a), Reservations(b)
	if len(sa) != len(sb) {
		return false
	}
	for i := range sa {
		if !sameReservation(sa[i], sb[i]) {
			return false
		}
	}
	return true
}

func sameReservation(a, b *mesospb.Resource_ReservationInfo) bool {
	return a.GetType() == b.GetType() &&
		a.GetRole() == b.GetRole() &&
		(a.Principal == nil) == (b.Principal == nil) &&
		a.GetPrincipal() == b.GetPrincipal() &&
		proto.Equal(a.GetLabels(), b.GetLabels())
}

// sameDisk compares what identifies a disk: its source and persistence id.
// The volume (how a task mounts it) does not matter.
func sameDisk(a, b *mesospb.Resource_DiskInfo) bool {
	if (a == nil) != (b == nil) {
		return false
	}
	if a == nil {
		return true
	}
	if (a.Persistence == nil) != (b.Persistence == nil) || a.GetPersistence().GetId() != b.GetPersistence().GetId() {
		return false
	}
	return proto.Equal(a.GetSource(), b.GetSource())
}
