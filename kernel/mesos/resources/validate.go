package resources

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"unicode"

	"strata/kernel/mesos/mesospb"
)

// ErrInvalid is wrapped by every validation error.
var ErrInvalid = errors.New("invalid resource")

// Validate checks every resource of rs (see ValidateResource). The error
// names the offending resource by index and name.
func Validate(rs []*mesospb.Resource) error {
	for i, r := range rs {
		if err := ValidateResource(r); err != nil {
			return fmt.Errorf("resources: resource %d (%q): %w", i, r.GetName(), err)
		}
	}
	return nil
}

// ValidateResource checks one resource the way Mesos does: a non-empty name;
// a SCALAR, RANGES or SET type with exactly the matching value; scalars
// finite and not negative; ranges not inverted and not overlapping; set items
// unique; disk info only on "disk"; sharing only for persistent volumes; and
// valid role names in the reservations.
func ValidateResource(r *mesospb.Resource) error {
	if r == nil {
		return fmt.Errorf("%w: nil", ErrInvalid)
	}
	if r.GetName() == "" {
		return fmt.Errorf("%w: empty name", ErrInvalid)
	}
	if r.Type == nil {
		return fmt.Errorf("%w: missing type", ErrInvalid)
	}
	switch r.GetType() {
	case mesospb.Value_SCALAR:
		if r.Scalar == nil || r.Ranges != nil || r.Set != nil {
			return fmt.Errorf("%w: a SCALAR resource needs a scalar value and nothing else", ErrInvalid)
		}
		v := r.GetScalar().GetValue()
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("%w: scalar value %v is not finite", ErrInvalid, v)
		}
		if v < 0 {
			return fmt.Errorf("%w: scalar value %v is negative", ErrInvalid, v)
		}
	case mesospb.Value_RANGES:
		if r.Ranges == nil || r.Scalar != nil || r.Set != nil {
			return fmt.Errorf("%w: a RANGES resource needs ranges and nothing else", ErrInvalid)
		}
		rs := RangesFromProto(r.Ranges)
		for i, x := range rs {
			if x.Begin > x.End {
				return fmt.Errorf("%w: range %d-%d has begin > end", ErrInvalid, x.Begin, x.End)
			}
			for _, y := range rs[i+1:] {
				if x.Begin <= y.End && y.Begin <= x.End {
					return fmt.Errorf("%w: ranges %d-%d and %d-%d overlap", ErrInvalid, x.Begin, x.End, y.Begin, y.End)
				}
			}
		}
	case mesospb.Value_SET:
		if r.Set == nil || r.Scalar != nil || r.Ranges != nil {
			return fmt.Errorf("%w: a SET resource needs a set and nothing else", ErrInvalid)
		}
		seen := make(map[string]bool, len(r.GetSet().GetItem()))
		for _, it := range r.GetSet().GetItem() {
			if seen[it] {
				return fmt.Errorf("%w: duplicate set item %q", ErrInvalid, it)
			}
			seen[it] = true
		}
	default:
		return fmt.Errorf("%w: unsupported type %v", ErrInvalid, r.GetType())
	}
	if r.Disk != nil {
		if r.GetName() != Disk {
			return fmt.Errorf("%w: disk info on a %q resource", ErrInvalid, r.GetName())
		}
		if src := r.GetDisk().GetSource(); src != nil && src.GetType() == mesospb.Resource_DiskInfo_Source_UNKNOWN {
			return fmt.Errorf("%w: disk source of unknown type", ErrInvalid)
		}
	}
	if r.Shared != nil && !IsPersistentVolume(r) {
		return fmt.Errorf("%w: only persistent volumes can be shared", ErrInvalid)
	}
	if len(r.GetReservations()) == 0 {
		role := r.GetRole() //nolint:staticcheck // legacy wire field
		if err := ValidateRole(role); err != nil {
			return fmt.Errorf("%w: %w", ErrInvalid, err)
		}
		if role == Unreserved && r.Reservation != nil {
			return fmt.Errorf("%w: role \"*\" cannot be dynamically reserved", ErrInvalid)
		}
	}
	for _, ri := range r.GetReservations() {
		if ri.GetRole() == Unreserved {
			return fmt.Errorf("%w: a reservation cannot be to role \"*\"", ErrInvalid)
		}
		if err := ValidateRole(ri.GetRole()); err != nil {
			return fmt.Errorf("%w: %w", ErrInvalid, err)
		}
	}
	return nil
}

// ValidateRole checks a role name: "*", or one or more '/'-separated
// components, each non-empty, not "." or "..", not starting with '-', and
// free of whitespace, control characters, '\' and '*'.
func ValidateRole(role string) error {
	if role == Unreserved {
		return nil
	}
	if role == "" {
		return errors.New("empty role name")
	}
	for _, part := range strings.Split(role, "/") {
		switch {
		case part == "":
			return fmt.Errorf("role %q has an empty path component", role)
		case part == "." || part == "..":
			return fmt.Errorf("role %q has a %q path component", role, part)
		case part[0] == '-':
			return fmt.Errorf("role %q has a component starting with '-'", role)
		}
		for _, c := range part {
			if unicode.IsSpace(c) || unicode.IsControl(c) || c == '\\' || c == '*' {
				return fmt.Errorf("role %q contains invalid character %q", role, c)
			}
		}
	}
	return nil
}
