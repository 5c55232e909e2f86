package resources

import (
	"strconv"
	"strings"

	"strata/kernel/mesos/mesospb"
)

// StateJSON returns rs in the legacy "resources map" form of /master/state
// and the other JSON endpoints, ready for encoding/json: "cpus", "gpus",
// "mem" and "disk" are always present (0 when absent); scalars are float64
// sums; ranges are one string such as "[31000-31000, 31005-31006]"; sets are
// a string such as "{a, b}". Revocable resources are listed separately under
// their name with a "_revocable" suffix. Reservations and allocations are
// summed together.
func StateJSON(rs []*mesospb.Resource) map[string]any {
	out := map[string]any{CPUs: 0.0, GPUs: 0.0, Mem: 0.0, Disk: 0.0}
	var nonRevocable, revocable []*mesospb.Resource
	for _, r := range rs {
		if r == nil {
			continue
		}
		if IsRevocable(r) {
			revocable = append(revocable, r)
		} else {
			nonRevocable = append(nonRevocable, r)
		}
	}
	modelInto(out, nonRevocable, "")
	modelInto(out, revocable, "_revocable")
	return out
}

func modelInto(out map[string]any, rs []*mesospb.Resource, suffix string) {
	types := make(map[string]mesospb.Value_Type)
	var names []string
	for _, r := range rs {
		if _, ok := types[r.GetName()]; !ok {
			types[r.GetName()] = r.GetType()
			names = append(names, r.GetName())
		}
	}
	for _, name := range names {
		switch types[name] {
		case mesospb.Value_SCALAR:
			out[name+suffix] = Scalar(rs, name)
		case mesospb.Value_RANGES:
			out[name+suffix] = FormatRanges(Ranges(rs, name))
		case mesospb.Value_SET:
			out[name+suffix] = FormatSet(Set(rs, name))
		}
	}
}

// AttributesStateJSON returns attributes in the form of /master/state's
// slaves[].attributes: scalars as numbers, text as strings, and ranges and
// sets as strings in Mesos notation. A later duplicate name wins.
func AttributesStateJSON(attrs []*mesospb.Attribute) map[string]any {
	out := make(map[string]any, len(attrs))
	for _, a := range attrs {
		switch a.GetType() {
		case mesospb.Value_SCALAR:
			out[a.GetName()] = a.GetScalar().GetValue()
		case mesospb.Value_RANGES:
			out[a.GetName()] = FormatRanges(RangesFromProto(a.GetRanges()))
		case mesospb.Value_SET:
			out[a.GetName()] = FormatSet(a.GetSet().GetItem())
		case mesospb.Value_TEXT:
			out[a.GetName()] = a.GetText().GetValue()
		}
	}
	return out
}

// Format renders rs in the text syntax Parse reads, such as
// "cpus:4; mem:2048; ports:[31000-32000]; cpus(ops):2". Only the name,
// reservation role and value are shown, so it is meant for logs and flags.
func Format(rs []*mesospb.Resource) string {
	parts := make([]string, 0, len(rs))
	for _, r := range rs {
		if r == nil {
			continue
		}
		var sb strings.Builder
		sb.WriteString(r.GetName())
		if role := ReservationRole(r); role != Unreserved {
			sb.WriteByte('(')
			sb.WriteString(role)
			sb.WriteByte(')')
		}
		sb.WriteByte(':')
		switch r.GetType() {
		case mesospb.Value_SCALAR:
			sb.WriteString(strconv.FormatFloat(r.GetScalar().GetValue(), 'f', -1, 64))
		case mesospb.Value_RANGES:
			sb.WriteString(FormatRanges(RangesFromProto(r.GetRanges())))
		case mesospb.Value_SET:
			sb.WriteString(FormatSet(r.GetSet().GetItem()))
		}
		parts = append(parts, sb.String())
	}
	return strings.Join(parts, "; ")
}
