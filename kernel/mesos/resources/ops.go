package resources

import (
	"math"
	"slices"

	"google.golang.org/protobuf/proto"

	"strata/kernel/mesos/mesospb"
)

// Well-known resource names.
const (
	CPUs  = "cpus"
	Mem   = "mem"
	Disk  = "disk"
	Ports = "ports"
	GPUs  = "gpus"
)

// NewScalar returns an unreserved scalar resource.
func NewScalar(name string, value float64) *mesospb.Resource {
	return &mesospb.Resource{
		Name:   proto.String(name),
		Type:   mesospb.Value_SCALAR.Enum(),
		Scalar: &mesospb.Value_Scalar{Value: proto.Float64(value)},
	}
}

// NewRanges returns an unreserved ranges resource (ranges are coalesced).
func NewRanges(name string, ranges ...Range) *mesospb.Resource {
	return &mesospb.Resource{
		Name:   proto.String(name),
		Type:   mesospb.Value_RANGES.Enum(),
		Ranges: RangesToProto(CoalesceRanges(ranges)),
	}
}

// NewSet returns an unreserved set resource.
func NewSet(name string, items ...string) *mesospb.Resource {
	return &mesospb.Resource{
		Name: proto.String(name),
		Type: mesospb.Value_SET.Enum(),
		Set:  &mesospb.Value_Set{Item: slices.Clone(items)},
	}
}

// Clone deep-copies a list.
func Clone(rs []*mesospb.Resource) []*mesospb.Resource {
	out := make([]*mesospb.Resource, 0, len(rs))
	for _, r := range rs {
		if r != nil {
			out = append(out, proto.Clone(r).(*mesospb.Resource))
		}
	}
	return out
}

// millis converts a scalar to Mesos' fixed-point precision (0.001).
func millis(v float64) float64 { return math.Round(v * 1000) }

// round3 rounds v to three decimal digits.
func round3(v float64) float64 {
	if math.Abs(v) >= 1e15 || math.IsNaN(v) || math.IsInf(v, 0) {
		return v
	}
	return millis(v) / 1000
}

// IsEmpty reports whether r holds nothing: a scalar that rounds to zero, no
// ranges or no set items.
func IsEmpty(r *mesospb.Resource) bool {
	switch r.GetType() {
	case mesospb.Value_SCALAR:
		return millis(r.GetScalar().GetValue()) == 0
	case mesospb.Value_RANGES:
		return len(r.GetRanges().GetRange()) == 0
	case mesospb.Value_SET:
		return len(r.GetSet().GetItem()) == 0
	}
	return false
}

// usable reports whether r takes part in arithmetic: valid and non-empty.
// Like Mesos, arithmetic silently ignores anything else.
func usable(r *mesospb.Resource) bool {
	return r != nil && ValidateResource(r) == nil && !IsEmpty(r)
}

// exclusive reports resources that never merge: shared ones, persistent
// volumes and MOUNT disks.
func exclusive(r *mesospb.Resource) bool {
	if r.Shared != nil {
		return true
	}
	if d := r.GetDisk(); d != nil {
		if d.Persistence != nil {
			return true
		}
		if d.GetSource().GetType() == mesospb.Resource_DiskInfo_Source_MOUNT {
			return true
		}
	}
	return false
}

func addable(a, b *mesospb.Resource) bool {
	return !exclusive(a) && !exclusive(b) && sameKind(a, b)
}

func subtractable(a, b *mesospb.Resource) bool {
	if !sameKind(a, b) {
		return false
	}
	if exclusive(a) || exclusive(b) {
		return valuesEqual(a, b)
	}
	return true
}

// addValue adds b's value into a (same kind assumed).
func addValue(a, b *mesospb.Resource) {
	switch a.GetType() {
	case mesospb.Value_SCALAR:
		a.Scalar = &mesospb.Value_Scalar{Value: proto.Float64(round3(a.GetScalar().GetValue() + b.GetScalar().GetValue()))}
	case mesospb.Value_RANGES:
		a.Ranges = RangesToProto(CoalesceRanges(append(RangesFromProto(a.Ranges), RangesFromProto(b.Ranges)...)))
	case mesospb.Value_SET:
		items := a.GetSet().GetItem()
		for _, it := range b.GetSet().GetItem() {
			if !slices.Contains(items, it) {
				items = append(items, it)
			}
		}
		a.Set = &mesospb.Value_Set{Item: items}
	}
}

// subtractValue removes b's value from a (same kind assumed). Scalars do not
// go below zero.
func subtractValue(a, b *mesospb.Resource) {
	switch a.GetType() {
	case mesospb.Value_SCALAR:
		v := round3(a.GetScalar().GetValue() - b.GetScalar().GetValue())
		if v < 0 {
			v = 0
		}
		a.Scalar = &mesospb.Value_Scalar{Value: proto.Float64(v)}
	case mesospb.Value_RANGES:
		a.Ranges = RangesToProto(SubtractRanges(RangesFromProto(a.Ranges), RangesFromProto(b.Ranges)))
	case mesospb.Value_SET:
		remove := b.GetSet().GetItem()
		var items []string
		for _, it := range a.GetSet().GetItem() {
			if !slices.Contains(remove, it) {
				items = append(items, it)
			}
		}
		a.Set = &mesospb.Value_Set{Item: items}
	}
}

// containsValue reports whether a's value contains b's (same kind assumed).
func containsValue(a, b *mesospb.Resource) bool {
	switch a.GetType() {
	case mesospb.Value_SCALAR:
		return millis(a.GetScalar().GetValue()) >= millis(b.GetScalar().GetValue())
	case mesospb.Value_RANGES:
		return RangesContain(RangesFromProto(a.Ranges), RangesFromProto(b.Ranges))
	case mesospb.Value_SET:
		for _, it := range b.GetSet().GetItem() {
			if !slices.Contains(a.GetSet().GetItem(), it) {
				return false
			}
		}
		return true
	}
	return false
}

func valuesEqual(a, b *mesospb.Resource) bool {
	return containsValue(a, b) && containsValue(b, a)
}

// addInto adds r (already cloned, usable) to list, merging when possible.
func addInto(list []*mesospb.Resource, r *mesospb.Resource) []*mesospb.Resource {
	for _, have := range list {
		if addable(have, r) {
			addValue(have, r)
			return list
		}
	}
	return append(list, r)
}

// Merge returns rs with resources of the same kind combined into one entry,
// in order of first appearance, leaving out empty and invalid ones.
func Merge(rs []*mesospb.Resource) []*mesospb.Resource {
	out := make([]*mesospb.Resource, 0, len(rs))
	for _, r := range rs {
		if usable(r) {
			out = addInto(out, proto.Clone(r).(*mesospb.Resource))
		}
	}
	return out
}

// Add returns the sum of a and b, merged.
func Add(a, b []*mesospb.Resource) []*mesospb.Resource {
	out := Merge(a)
	for _, r := range b {
		if usable(r) {
			out = addInto(out, proto.Clone(r).(*mesospb.Resource))
		}
	}
	return out
}

// Subtract returns a minus b. Parts of b that a does not hold are ignored,
// and scalars stop at zero, so the result is never negative.
func Subtract(a, b []*mesospb.Resource) []*mesospb.Resource {
	out := Merge(a)
	for _, r := range b {
		if !usable(r) {
			continue
		}
		out = subtractOne(out, r)
	}
	return out
}

func subtractOne(list []*mesospb.Resource, r *mesospb.Resource) []*mesospb.Resource {
	for i, have := range list {
		if subtractable(have, r) {
			subtractValue(have, r)
			if IsEmpty(have) {
				return slices.Delete(list, i, i+1)
			}
			return list
		}
	}
	return list
}

// Contains reports whether a holds all of b.
func Contains(a, b []*mesospb.Resource) bool {
	remaining := Merge(a)
	for _, r := range Merge(b) {
		found := false
		for _, have := range remaining {
			if subtractable(have, r) && containsValue(have, r) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
		remaining = subtractOne(remaining, r)
	}
	return true
}

// Equal reports whether a and b hold the same resources, regardless of
// order and of how they are split into entries.
func Equal(a, b []*mesospb.Resource) bool {
	return Contains(a, b) && Contains(b, a)
}

// Scalar returns the sum of the scalar resources called name (0 if none).
func Scalar(rs []*mesospb.Resource, name string) float64 {
	var sum float64
	for _, r := range rs {
		if r.GetName() == name && r.GetType() == mesospb.Value_SCALAR {
			sum += r.GetScalar().GetValue()
		}
	}
	return round3(sum)
}

// Ranges returns the union of the ranges resources called name, coalesced.
func Ranges(rs []*mesospb.Resource, name string) []Range {
	var all []Range
	for _, r := range rs {
		if r.GetName() == name && r.GetType() == mesospb.Value_RANGES {
			all = append(all, RangesFromProto(r.Ranges)...)
		}
	}
	return CoalesceRanges(all)
}

// Set returns the union of the items of the set resources called name, in
// order of first appearance.
func Set(rs []*mesospb.Resource, name string) []string {
	var items []string
	for _, r := range rs {
		if r.GetName() == name && r.GetType() == mesospb.Value_SET {
			for _, it := range r.GetSet().GetItem() {
				if !slices.Contains(items, it) {
					items = append(items, it)
				}
			}
		}
	}
	return items
}

// Names returns the distinct resource names in order of first appearance.
func Names(rs []*mesospb.Resource) []string {
	var names []string
	for _, r := range rs {
		if n := r.GetName(); !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	return names
}

// Quantities sums rs by name, whatever the reservation or allocation:
// scalars add up, a ranges resource counts its values and a set its items.
func Quantities(rs []*mesospb.Resource) map[string]float64 {
	q := make(map[string]float64)
	for _, r := range rs {
		switch r.GetType() {
		case mesospb.Value_SCALAR:
			q[r.GetName()] = round3(q[r.GetName()] + r.GetScalar().GetValue())
		case mesospb.Value_RANGES:
			q[r.GetName()] += float64(RangesSize(RangesFromProto(r.Ranges)))
		case mesospb.Value_SET:
			q[r.GetName()] += float64(len(r.GetSet().GetItem()))
		}
	}
	return q
}
