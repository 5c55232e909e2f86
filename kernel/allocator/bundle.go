package allocator

import (
	"slices"
	"strconv"
	"strings"
)

// Well-known resource names with dedicated fields on the hot path.
const (
	Cpus  = "cpus"
	Mem   = "mem"
	Disk  = "disk"
	Gpus  = "gpus"
	Ports = "ports"
)

type namedScalar struct {
	name string
	v    int64 // milli-units, always > 0 inside a bundle
}

type namedRanges struct {
	name string
	r    []Range // normalized, non-empty
}

type namedSet struct {
	name  string
	items []string // sorted, unique, non-empty
}

// bundle holds resources with a single owner (unreserved, or reserved for
// one role). cpus/mem/disk/gpus have fixed fields; the other named
// resources live in small slices sorted by name. Invariant: no zero or
// negative scalars, no empty ranges or sets.
type bundle struct {
	cpus, mem, disk, gpus int64
	scalars               []namedScalar
	ranges                []namedRanges
	sets                  []namedSet
}

func (b *bundle) isEmpty() bool {
	return b.cpus == 0 && b.mem == 0 && b.disk == 0 && b.gpus == 0 &&
		len(b.scalars) == 0 && len(b.ranges) == 0 && len(b.sets) == 0
}

// hasScalars reports whether any scalar resource is present.
func (b *bundle) hasScalars() bool {
	return b.cpus != 0 || b.mem != 0 || b.disk != 0 || b.gpus != 0 || len(b.scalars) != 0
}

func (b *bundle) fixed(name string) *int64 {
	switch name {
	case Cpus:
		return &b.cpus
	case Mem:
		return &b.mem
	case Disk:
		return &b.disk
	case Gpus:
		return &b.gpus
	}
	return nil
}

// scalar returns the milli value of the named scalar.
func (b *bundle) scalar(name string) int64 {
	if p := b.fixed(name); p != nil {
		return *p
	}
	if i, ok := slices.BinarySearchFunc(b.scalars, name, cmpScalarName); ok {
		return b.scalars[i].v
	}
	return 0
}

func cmpScalarName(s namedScalar, name string) int { return strings.Compare(s.name, name) }
func cmpRangesName(s namedRanges, name string) int { return strings.Compare(s.name, name) }
func cmpSetName(s namedSet, name string) int       { return strings.Compare(s.name, name) }

// addScalar adds v (may be negative) to the named scalar, saturating at 0.
func (b *bundle) addScalar(name string, v int64) {
	if p := b.fixed(name); p != nil {
		*p = max(*p+v, 0)
		return
	}
	i, ok := slices.BinarySearchFunc(b.scalars, name, cmpScalarName)
	if ok {
		nv := b.scalars[i].v + v
		if nv <= 0 {
			b.scalars = slices.Delete(b.scalars, i, i+1)
		} else {
			b.scalars[i].v = nv
		}
		return
	}
	if v > 0 {
		b.scalars = slices.Insert(b.scalars, i, namedScalar{name, v})
	}
}

// addRanges unions rs (normalized) into the named ranges.
func (b *bundle) addRanges(name string, rs []Range) {
	if len(rs) == 0 {
		return
	}
	i, ok := slices.BinarySearchFunc(b.ranges, name, cmpRangesName)
	if ok {
		b.ranges[i].r = unionRanges(b.ranges[i].r, rs)
		return
	}
	b.ranges = slices.Insert(b.ranges, i, namedRanges{name, slices.Clone(rs)})
}

func (b *bundle) subRanges(name string, rs []Range) {
	i, ok := slices.BinarySearchFunc(b.ranges, name, cmpRangesName)
	if !ok {
		return
	}
	left := subtractRanges(b.ranges[i].r, rs)
	if len(left) == 0 {
		b.ranges = slices.Delete(b.ranges, i, i+1)
		return
	}
	b.ranges[i].r = left
}

func (b *bundle) rangesOf(name string) []Range {
	if i, ok := slices.BinarySearchFunc(b.ranges, name, cmpRangesName); ok {
		return b.ranges[i].r
	}
	return nil
}

func (b *bundle) addSet(name string, items []string) {
	if len(items) == 0 {
		return
	}
	i, ok := slices.BinarySearchFunc(b.sets, name, cmpSetName)
	if ok {
		b.sets[i].items = unionSet(b.sets[i].items, items)
		return
	}
	b.sets = slices.Insert(b.sets, i, namedSet{name, slices.Clone(items)})
}

func (b *bundle) subSet(name string, items []string) {
	i, ok := slices.BinarySearchFunc(b.sets, name, cmpSetName)
	if !ok {
		return
	}
	left := subtractSet(b.sets[i].items, items)
	if len(left) == 0 {
		b.sets = slices.Delete(b.sets, i, i+1)
		return
	}
	b.sets[i].items = left
}

func (b *bundle) setOf(name string) []string {
	if i, ok := slices.BinarySearchFunc(b.sets, name, cmpSetName); ok {
		return b.sets[i].items
	}
	return nil
}

// add merges o into b.
func (b *bundle) add(o *bundle) {
	b.cpus += o.cpus
	b.mem += o.mem
	b.disk += o.disk
	b.gpus += o.gpus
	for _, s := range o.scalars {
		b.addScalar(s.name, s.v)
	}
	for _, r := range o.ranges {
		b.addRanges(r.name, r.r)
	}
	for _, s := range o.sets {
		b.addSet(s.name, s.items)
	}
}

// sub removes o from b, saturating: scalars never go below zero and only
// the intersecting parts of ranges and sets are removed.
func (b *bundle) sub(o *bundle) {
	b.cpus = max(b.cpus-o.cpus, 0)
	b.mem = max(b.mem-o.mem, 0)
	b.disk = max(b.disk-o.disk, 0)
	b.gpus = max(b.gpus-o.gpus, 0)
	for _, s := range o.scalars {
		b.addScalar(s.name, -s.v)
	}
	for _, r := range o.ranges {
		b.subRanges(r.name, r.r)
	}
	for _, s := range o.sets {
		b.subSet(s.name, s.items)
	}
}

// contains reports whether o ⊆ b.
func (b *bundle) contains(o *bundle) bool {
	if o.cpus > b.cpus || o.mem > b.mem || o.disk > b.disk || o.gpus > b.gpus {
		return false
	}
	for _, s := range o.scalars {
		if b.scalar(s.name) < s.v {
			return false
		}
	}
	for _, r := range o.ranges {
		if !containsRanges(b.rangesOf(r.name), r.r) {
			return false
		}
	}
	for _, s := range o.sets {
		if !containsSet(b.setOf(s.name), s.items) {
			return false
		}
	}
	return true
}

func (b *bundle) equal(o *bundle) bool {
	if b.cpus != o.cpus || b.mem != o.mem || b.disk != o.disk || b.gpus != o.gpus ||
		len(b.scalars) != len(o.scalars) || len(b.ranges) != len(o.ranges) || len(b.sets) != len(o.sets) {
		return false
	}
	if !slices.Equal(b.scalars, o.scalars) {
		return false
	}
	for i := range b.ranges {
		if b.ranges[i].name != o.ranges[i].name || !slices.Equal(b.ranges[i].r, o.ranges[i].r) {
			return false
		}
	}
	for i := range b.sets {
		if b.sets[i].name != o.sets[i].name || !slices.Equal(b.sets[i].items, o.sets[i].items) {
			return false
		}
	}
	return true
}

// clone returns a deep copy sharing no memory with b.
func (b *bundle) clone() bundle {
	c := bundle{cpus: b.cpus, mem: b.mem, disk: b.disk, gpus: b.gpus}
	if len(b.scalars) > 0 {
		c.scalars = slices.Clone(b.scalars)
	}
	if len(b.ranges) > 0 {
		c.ranges = cloneRanges(b.ranges)
	}
	if len(b.sets) > 0 {
		c.sets = make([]namedSet, len(b.sets))
		for i, s := range b.sets {
			c.sets[i] = namedSet{s.name, slices.Clone(s.items)}
		}
	}
	return c
}

// addQuantities adds b's scalar quantities to q.
func (b *bundle) addQuantities(q *Quantities) {
	q.cpus += b.cpus
	q.mem += b.mem
	q.disk += b.disk
	q.gpus += b.gpus
	for _, s := range b.scalars {
		q.add(s.name, s.v)
	}
}

// subQuantities subtracts b's scalar quantities from q (saturating).
func (b *bundle) subQuantities(q *Quantities) {
	q.cpus = max(q.cpus-b.cpus, 0)
	q.mem = max(q.mem-b.mem, 0)
	q.disk = max(q.disk-b.disk, 0)
	q.gpus = max(q.gpus-b.gpus, 0)
	for _, s := range b.scalars {
		q.add(s.name, -s.v)
	}
}

// shrinkScalars caps every scalar of b to the given bound; bound returns
// the cap for a name and whether one applies.
func (b *bundle) shrinkScalars(bound func(name string) (int64, bool)) {
	capField := func(name string, p *int64) {
		if *p == 0 {
			return
		}
		if c, ok := bound(name); ok && *p > c {
			*p = max(c, 0)
		}
	}
	capField(Cpus, &b.cpus)
	capField(Mem, &b.mem)
	capField(Disk, &b.disk)
	capField(Gpus, &b.gpus)
	kept := b.scalars[:0]
	for _, s := range b.scalars {
		if c, ok := bound(s.name); ok && s.v > c {
			s.v = c
		}
		if s.v > 0 {
			kept = append(kept, s)
		}
	}
	clear(b.scalars[len(kept):])
	b.scalars = kept
}

// writeTo appends "name(role):value" entries separated by ';'.
func (b *bundle) writeTo(sb *strings.Builder, role string) {
	owner := ""
	if role != "" {
		owner = "(" + role + ")"
	}
	sep := func() {
		if sb.Len() > 0 {
			sb.WriteByte(';')
		}
	}
	scalar := func(name string, v int64) {
		if v == 0 {
			return
		}
		sep()
		sb.WriteString(name)
		sb.WriteString(owner)
		sb.WriteByte(':')
		sb.WriteString(formatMilli(v))
	}
	scalar(Cpus, b.cpus)
	scalar(Mem, b.mem)
	scalar(Disk, b.disk)
	scalar(Gpus, b.gpus)
	for _, s := range b.scalars {
		scalar(s.name, s.v)
	}
	for _, r := range b.ranges {
		sep()
		sb.WriteString(r.name)
		sb.WriteString(owner)
		sb.WriteString(":[")
		for i, x := range r.r {
			if i > 0 {
				sb.WriteByte(',')
			}
			sb.WriteString(strconv.FormatUint(x.Begin, 10))
			sb.WriteByte('-')
			sb.WriteString(strconv.FormatUint(x.End, 10))
		}
		sb.WriteByte(']')
	}
	for _, s := range b.sets {
		sep()
		sb.WriteString(s.name)
		sb.WriteString(owner)
		sb.WriteString(":{")
		sb.WriteString(strings.Join(s.items, ","))
		sb.WriteByte('}')
	}
}

// smallRanges lets the common case (one RANGES resource such as ports with
// a few intervals) be cloned with a single allocation: the header slice and
// the intervals live in one block. Both slices are capacity-limited, so a
// later append reallocates instead of writing past them.
type smallRanges struct {
	hdr  [1]namedRanges
	data [2]Range
}

func cloneRanges(src []namedRanges) []namedRanges {
	if len(src) == 1 && len(src[0].r) <= len(smallRanges{}.data) {
		blk := new(smallRanges)
		n := copy(blk.data[:], src[0].r)
		blk.hdr[0] = namedRanges{src[0].name, blk.data[:n:n]}
		return blk.hdr[:1:1]
	}
	total := 0
	for _, r := range src {
		total += len(r.r)
	}
	arena := make([]Range, 0, total)
	out := make([]namedRanges, len(src))
	for i, r := range src {
		start := len(arena)
		arena = append(arena, r.r...)
		out[i] = namedRanges{r.name, arena[start:len(arena):len(arena)]}
	}
	return out
}
