package resources

import (
	"math"
	"slices"
	"strconv"
	"strings"

	"google.golang.org/protobuf/proto"

	"strata/kernel/mesos/mesospb"
)

// Range is an inclusive range of unsigned integers, such as ports.
type Range struct {
	Begin, End uint64
}

// Size returns the number of values in r (0 if r is inverted), saturating at
// math.MaxUint64.
func (r Range) Size() uint64 {
	if r.Begin > r.End {
		return 0
	}
	if r.Begin == 0 && r.End == math.MaxUint64 {
		return math.MaxUint64
	}
	return r.End - r.Begin + 1
}

// CoalesceRanges returns the ranges sorted and merged, with overlapping and
// adjacent ranges joined ([1-2, 3-5] becomes [1-5]). Inverted ranges are
// dropped. The input is not modified.
func CoalesceRanges(rs []Range) []Range {
	out := make([]Range, 0, len(rs))
	for _, r := range rs {
		if r.Begin <= r.End {
			out = append(out, r)
		}
	}
	if len(out) < 2 {
		return out
	}
	slices.SortFunc(out, func(a, b Range) int {
		switch {
		case a.Begin < b.Begin:
			return -1
		case a.Begin > b.Begin:
			return 1
		}
		return 0
	})
	n := 0
	for _, r := range out[1:] {
		last := &out[n]
		// Adjacent when r starts right after last (guarding End+1 overflow).
		if r.Begin <= last.End || (last.End != math.MaxUint64 && r.Begin == last.End+1) {
			if r.End > last.End {
				last.End = r.End
			}
			continue
		}
		n++
		out[n] = r
	}
	return out[:n+1]
}

// SubtractRanges returns the values of a that are not in b, coalesced.
func SubtractRanges(a, b []Range) []Range {
	res := CoalesceRanges(a)
	for _, s := range CoalesceRanges(b) {
		next := res[:0:0]
		for _, r := range res {
			if s.End < r.Begin || s.Begin > r.End {
				next = append(next, r)
				continue
			}
			if s.Begin > r.Begin {
				next = append(next, Range{r.Begin, s.Begin - 1})
			}
			if s.End < r.End {
				next = append(next, Range{s.End + 1, r.End})
			}
		}
		res = next
	}
	return res
}

// RangesContain reports whether every value of b is in a.
func RangesContain(a, b []Range) bool {
	ca := CoalesceRanges(a)
	for _, r := range CoalesceRanges(b) {
		i, _ := slices.BinarySearchFunc(ca, r.Begin, func(x Range, v uint64) int {
			switch {
			case x.End < v:
				return -1
			case x.Begin > v:
				return 1
			}
			return 0
		})
		if i >= len(ca) || ca[i].Begin > r.Begin || ca[i].End < r.End {
			return false
		}
	}
	return true
}

// RangesSize returns the number of distinct values in rs, saturating at
// math.MaxUint64.
func RangesSize(rs []Range) uint64 {
	var n uint64
	for _, r := range CoalesceRanges(rs) {
		s := r.Size()
		if n+s < n {
			return math.MaxUint64
		}
		n += s
	}
	return n
}

// FormatRanges writes ranges the way Mesos does: "[31000-31000, 31005-31006]".
func FormatRanges(rs []Range) string {
	var sb strings.Builder
	sb.WriteByte('[')
	for i, r := range rs {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString(strconv.FormatUint(r.Begin, 10))
		sb.WriteByte('-')
		sb.WriteString(strconv.FormatUint(r.End, 10))
	}
	sb.WriteByte(']')
	return sb.String()
}

// FormatSet writes set items the way Mesos does: "{a, b}".
func FormatSet(items []string) string {
	return "{" + strings.Join(items, ", ") + "}"
}

// RangesFromProto converts protobuf ranges; nil gives nil.
func RangesFromProto(p *mesospb.Value_Ranges) []Range {
	if p == nil || len(p.Range) == 0 {
		return nil
	}
	out := make([]Range, len(p.Range))
	for i, r := range p.Range {
		out[i] = Range{r.GetBegin(), r.GetEnd()}
	}
	return out
}

// RangesToProto converts ranges to their protobuf form.
func RangesToProto(rs []Range) *mesospb.Value_Ranges {
	p := &mesospb.Value_Ranges{Range: make([]*mesospb.Value_Range, len(rs))}
	for i, r := range rs {
		p.Range[i] = &mesospb.Value_Range{Begin: proto.Uint64(r.Begin), End: proto.Uint64(r.End)}
	}
	return p
}
