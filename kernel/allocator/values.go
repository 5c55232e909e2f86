package allocator

import (
	"math"
	"slices"
	"strconv"
	"strings"
)

// Milli converts a scalar value to the fixed-point representation used
// throughout the package: thousandths, rounded to the nearest unit, the
// same three decimal digits of precision Mesos keeps for scalars.
func Milli(v float64) int64 {
	if math.IsNaN(v) {
		return 0
	}
	m := math.Round(v * 1000)
	if m >= math.MaxInt64 {
		return math.MaxInt64
	}
	if m <= math.MinInt64 {
		return math.MinInt64
	}
	return int64(m)
}

// FromMilli converts a fixed-point value back to a float.
func FromMilli(m int64) float64 { return float64(m) / 1000 }

// formatMilli renders a fixed-point value the way Mesos prints scalars:
// no trailing zeros, at most three decimals.
func formatMilli(m int64) string {
	neg := m < 0
	if neg {
		m = -m
	}
	s := strconv.FormatInt(m/1000, 10)
	if frac := m % 1000; frac != 0 {
		f := strconv.FormatInt(frac+1000, 10)[1:] // zero-padded to 3 digits
		s += "." + strings.TrimRight(f, "0")
	}
	if neg {
		s = "-" + s
	}
	return s
}

// Range is an inclusive interval of a RANGES resource such as ports.
type Range struct {
	Begin, End uint64
}

// normalizeRanges sorts and coalesces rs in place (overlapping and adjacent
// intervals merge) and drops inverted intervals. It returns the result,
// which shares rs' backing array.
func normalizeRanges(rs []Range) []Range {
	rs = slices.DeleteFunc(rs, func(r Range) bool { return r.Begin > r.End })
	if len(rs) < 2 {
		return rs
	}
	if !slices.IsSortedFunc(rs, cmpRange) {
		slices.SortFunc(rs, cmpRange)
	}
	out := rs[:1]
	for _, r := range rs[1:] {
		last := &out[len(out)-1]
		if last.End == math.MaxUint64 || r.Begin <= last.End+1 {
			if r.End > last.End {
				last.End = r.End
			}
			continue
		}
		out = append(out, r)
	}
	return out
}

func cmpRange(a, b Range) int {
	switch {
	case a.Begin < b.Begin:
		return -1
	case a.Begin > b.Begin:
		return 1
	case a.End < b.End:
		return -1
	case a.End > b.End:
		return 1
	}
	return 0
}

// unionRanges returns a ∪ b for normalized inputs. It never writes into a
// or b, and returns one of them when the other is empty.
func unionRanges(a, b []Range) []Range {
	if len(b) == 0 {
		return a
	}
	if len(a) == 0 {
		return b
	}
	merged := make([]Range, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		var r Range
		if j >= len(b) || (i < len(a) && a[i].Begin <= b[j].Begin) {
			r = a[i]
			i++
		} else {
			r = b[j]
			j++
		}
		if n := len(merged); n > 0 {
			last := &merged[n-1]
			if last.End == math.MaxUint64 || r.Begin <= last.End+1 {
				if r.End > last.End {
					last.End = r.End
				}
				continue
			}
		}
		merged = append(merged, r)
	}
	return merged
}

// subtractRanges returns a \ b for normalized inputs: a itself when a or b
// is empty, else a new slice (nil when nothing is left).
func subtractRanges(a, b []Range) []Range {
	if len(b) == 0 || len(a) == 0 {
		return a
	}
	var out []Range
	j := 0
	for _, r := range a {
		cur := r
		alive := true
		for j < len(b) && b[j].End < cur.Begin {
			j++
		}
		for k := j; k < len(b) && b[k].Begin <= cur.End; k++ {
			s := b[k]
			if s.Begin > cur.Begin {
				out = append(out, Range{cur.Begin, s.Begin - 1})
			}
			if s.End >= cur.End {
				alive = false
				break
			}
			cur.Begin = s.End + 1
		}
		if alive {
			out = append(out, cur)
		}
	}
	return out
}

// containsRanges reports whether b ⊆ a for normalized inputs.
func containsRanges(a, b []Range) bool {
	i := 0
	for _, r := range b {
		for i < len(a) && a[i].End < r.Begin {
			i++
		}
		if i >= len(a) || a[i].Begin > r.Begin || a[i].End < r.End {
			return false
		}
	}
	return true
}

// countRanges returns how many values the ranges cover (saturating).
func countRanges(rs []Range) uint64 {
	var n uint64
	for _, r := range rs {
		d := r.End - r.Begin
		if d == math.MaxUint64 || n+d+1 < n {
			return math.MaxUint64
		}
		n += d + 1
	}
	return n
}

// normalizeSet sorts and deduplicates items in place, dropping empty strings.
func normalizeSet(items []string) []string {
	items = slices.DeleteFunc(items, func(s string) bool { return s == "" })
	slices.Sort(items)
	return slices.Compact(items)
}

// unionSet returns a ∪ b for normalized inputs. It never writes into a or
// b, and returns one of them when the other is empty.
func unionSet(a, b []string) []string {
	if len(b) == 0 {
		return a
	}
	if len(a) == 0 {
		return b
	}
	out := make([]string, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i] < b[j]:
			out = append(out, a[i])
			i++
		case a[i] > b[j]:
			out = append(out, b[j])
			j++
		default:
			out = append(out, a[i])
			i++
			j++
		}
	}
	out = append(out, a[i:]...)
	return append(out, b[j:]...)
}

// subtractSet returns a \ b for normalized inputs: a itself when a or b is
// empty, else a new slice (nil when nothing is left).
func subtractSet(a, b []string) []string {
	if len(a) == 0 || len(b) == 0 {
		return a
	}
	var out []string
	j := 0
	for _, s := range a {
		for j < len(b) && b[j] < s {
			j++
		}
		if j < len(b) && b[j] == s {
			continue
		}
		out = append(out, s)
	}
	return out
}

// containsSet reports whether b ⊆ a for normalized inputs.
func containsSet(a, b []string) bool {
	i := 0
	for _, s := range b {
		for i < len(a) && a[i] < s {
			i++
		}
		if i >= len(a) || a[i] != s {
			return false
		}
	}
	return true
}
