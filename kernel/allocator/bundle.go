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
// one role). cpus/mem/disk/gpus have fixed fields; everything else sits
// behind one pointer, x, which is nil when there is nothing else. Keeping
// the bundle small (40 bytes, one pointer) keeps offers, allocation
// records and filters small, and gives the garbage collector less to
// scan. Invariant: no zero or negative scalars, no empty ranges or sets.
//
// *x and every slice it refers to are immutable once stored: a mutating
// method builds replacements instead of writing into them, so copies of a
// bundle can share them safely. See Resources.
type bundle struct {
	cpus, mem, disk, gpus int64
	x                     *extras
}

// extras are a bundle's resources other than cpus, mem, disk and gpus,
// each kind sorted by name. At least one slice is non-empty.
type extras struct {
	scalars []namedScalar
	ranges  []namedRanges
	sets    []namedSet
}

func (b *bundle) isEmpty() bool {
	return b.cpus == 0 && b.mem == 0 && b.disk == 0 && b.gpus == 0 && b.x == nil
}

// hasScalars reports whether any scalar resource is present.
func (b *bundle) hasScalars() bool {
	return b.cpus != 0 || b.mem != 0 || b.disk != 0 || b.gpus != 0 || len(b.scalars()) != 0
}

// scalars, ranges and sets return the (read-only) extras of each kind.
func (b *bundle) scalars() []namedScalar {
	if b.x == nil {
		return nil
	}
	return b.x.scalars
}

func (b *bundle) ranges() []namedRanges {
	if b.x == nil {
		return nil
	}
	return b.x.ranges
}

func (b *bundle) sets() []namedSet {
	if b.x == nil {
		return nil
	}
	return b.x.sets
}

// extras returns a copy of b's extras to build replacements in.
func (b *bundle) extras() extras {
	if b.x == nil {
		return extras{}
	}
	return *b.x
}

// setExtras stores e as b's extras: nil when empty, and the old pointer
// when no slice changed.
func (b *bundle) setExtras(e extras) {
	switch {
	case len(e.scalars) == 0 && len(e.ranges) == 0 && len(e.sets) == 0:
		b.x = nil
	case b.x != nil && sameSlice(e.scalars, b.x.scalars) && sameSlice(e.ranges, b.x.ranges) && sameSlice(e.sets, b.x.sets):
	default:
		b.x = &extras{e.scalars, e.ranges, e.sets} // allocates only here
	}
}

// sameSlice reports whether a and b are the same slice of the same array.
func sameSlice[T any](a, b []T) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
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
	s := b.scalars()
	if i, ok := slices.BinarySearchFunc(s, name, cmpScalarName); ok {
		return s[i].v
	}
	return 0
}

func cmpScalarName(s namedScalar, name string) int { return strings.Compare(s.name, name) }
func cmpRangesName(s namedRanges, name string) int { return strings.Compare(s.name, name) }
func cmpSetName(s namedSet, name string) int       { return strings.Compare(s.name, name) }

func (b *bundle) rangesOf(name string) []Range {
	rs := b.ranges()
	if i, ok := slices.BinarySearchFunc(rs, name, cmpRangesName); ok {
		return rs[i].r
	}
	return nil
}

func (b *bundle) setOf(name string) []string {
	ss := b.sets()
	if i, ok := slices.BinarySearchFunc(ss, name, cmpSetName); ok {
		return ss[i].items
	}
	return nil
}

// addScalar adds v (may be negative) to the named scalar, saturating at 0.
func (b *bundle) addScalar(name string, v int64) {
	if p := b.fixed(name); p != nil {
		*p = max(*p+v, 0)
		return
	}
	e := b.extras()
	e.scalars = withScalar(e.scalars, name, v)
	b.setExtras(e)
}

// addRanges unions rs (normalized, and immutable from now on) into the
// named ranges.
func (b *bundle) addRanges(name string, rs []Range) {
	e := b.extras()
	e.ranges = withRanges(e.ranges, name, rs)
	b.setExtras(e)
}

// addSet unions items (normalized, and immutable from now on) into the
// named set.
func (b *bundle) addSet(name string, items []string) {
	e := b.extras()
	e.sets = withSet(e.sets, name, items)
	b.setExtras(e)
}

// add merges o into b. Where b has nothing of a kind it shares o's slice,
// so adding to an empty owner never allocates.
func (b *bundle) add(o *bundle) {
	b.cpus += o.cpus
	b.mem += o.mem
	b.disk += o.disk
	b.gpus += o.gpus
	switch {
	case o.x == nil:
		return
	case b.x == nil:
		b.x = o.x
		return
	}
	e := *b.x
	if len(e.scalars) == 0 {
		e.scalars = o.x.scalars
	} else {
		for _, s := range o.x.scalars {
			e.scalars = withScalar(e.scalars, s.name, s.v)
		}
	}
	if len(e.ranges) == 0 {
		e.ranges = o.x.ranges
	} else {
		for _, r := range o.x.ranges {
			e.ranges = withRanges(e.ranges, r.name, r.r)
		}
	}
	if len(e.sets) == 0 {
		e.sets = o.x.sets
	} else {
		for _, s := range o.x.sets {
			e.sets = withSet(e.sets, s.name, s.items)
		}
	}
	b.setExtras(e)
}

// sub removes o from b, saturating: scalars never go below zero and only
// the intersecting parts of ranges and sets are removed.
func (b *bundle) sub(o *bundle) {
	b.cpus = max(b.cpus-o.cpus, 0)
	b.mem = max(b.mem-o.mem, 0)
	b.disk = max(b.disk-o.disk, 0)
	b.gpus = max(b.gpus-o.gpus, 0)
	if o.x == nil || b.x == nil {
		return
	}
	if o.x == b.x {
		b.x = nil // o holds all of b's extras
		return
	}
	e := *b.x
	for _, s := range o.x.scalars {
		e.scalars = withScalar(e.scalars, s.name, -s.v)
	}
	for _, r := range o.x.ranges {
		e.ranges = withoutRanges(e.ranges, r.name, r.r)
	}
	for _, s := range o.x.sets {
		e.sets = withoutSet(e.sets, s.name, s.items)
	}
	b.setExtras(e)
}

// contains reports whether o ⊆ b.
func (b *bundle) contains(o *bundle) bool {
	if o.cpus > b.cpus || o.mem > b.mem || o.disk > b.disk || o.gpus > b.gpus {
		return false
	}
	if o.x == nil || o.x == b.x {
		return true
	}
	for _, s := range o.x.scalars {
		if b.scalar(s.name) < s.v {
			return false
		}
	}
	for _, r := range o.x.ranges {
		if !containsRanges(b.rangesOf(r.name), r.r) {
			return false
		}
	}
	for _, s := range o.x.sets {
		if !containsSet(b.setOf(s.name), s.items) {
			return false
		}
	}
	return true
}

func (b *bundle) equal(o *bundle) bool {
	if b.cpus != o.cpus || b.mem != o.mem || b.disk != o.disk || b.gpus != o.gpus {
		return false
	}
	if b.x == o.x {
		return true
	}
	bs, os := b.scalars(), o.scalars()
	br, or := b.ranges(), o.ranges()
	bt, ot := b.sets(), o.sets()
	if len(br) != len(or) || len(bt) != len(ot) || !slices.Equal(bs, os) {
		return false
	}
	for i := range br {
		if br[i].name != or[i].name || !slices.Equal(br[i].r, or[i].r) {
			return false
		}
	}
	for i := range bt {
		if bt[i].name != ot[i].name || !slices.Equal(bt[i].items, ot[i].items) {
			return false
		}
	}
	return true
}

// addQuantities adds b's scalar quantities to q.
func (b *bundle) addQuantities(q *Quantities) {
	q.cpus += b.cpus
	q.mem += b.mem
	q.disk += b.disk
	q.gpus += b.gpus
	for _, s := range b.scalars() {
		q.add(s.name, s.v)
	}
}

// subQuantities subtracts b's scalar quantities from q (saturating).
func (b *bundle) subQuantities(q *Quantities) {
	q.cpus = max(q.cpus-b.cpus, 0)
	q.mem = max(q.mem-b.mem, 0)
	q.disk = max(q.disk-b.disk, 0)
	q.gpus = max(q.gpus-b.gpus, 0)
	for _, s := range b.scalars() {
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
	if len(b.scalars()) == 0 {
		return
	}
	e := b.extras()
	kept := make([]namedScalar, 0, len(e.scalars))
	for _, s := range e.scalars {
		if c, ok := bound(s.name); ok && s.v > c {
			s.v = c
		}
		if s.v > 0 {
			kept = append(kept, s)
		}
	}
	e.scalars = kept
	b.setExtras(e)
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
	for _, s := range b.scalars() {
		scalar(s.name, s.v)
	}
	for _, r := range b.ranges() {
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
	for _, s := range b.sets() {
		sep()
		sb.WriteString(s.name)
		sb.WriteString(owner)
		sb.WriteString(":{")
		sb.WriteString(strings.Join(s.items, ","))
		sb.WriteByte('}')
	}
}
