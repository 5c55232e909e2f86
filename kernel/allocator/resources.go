package allocator

import (
	"slices"
	"strings"
)

// Unreserved is the owner name of resources not reserved for any role.
const Unreserved = "*"

// Kind is the type of a resource value.
type Kind uint8

// Resource value kinds, mirroring mesos.v1.Value.Type.
const (
	Scalar Kind = iota + 1
	Ranges
	Set
)

// Resources is a multiset of resources, each owned either by nobody
// (unreserved, role "*") or by one role through a static or dynamic
// reservation. The zero value is empty and ready to use.
//
// Resources behaves as a value: assigning or passing it gives an
// independent copy, and mutating one copy (Add, Subtract, AddScalar, ...)
// never changes another. Copies share their internal storage, which is
// never written once stored: mutating methods build replacements instead.
// That makes copies free, which is what lets a pass hand out offers (and
// the allocator keep its own record of them) without allocating. Mutating
// methods have pointer receivers; the rest never mutate.
type Resources struct {
	unreserved bundle
	reserved   []reservation // sorted by role, never empty bundles
}

type reservation struct {
	role string
	b    bundle
}

func ownerRole(role string) string {
	if role == Unreserved {
		return ""
	}
	return role
}

func cmpReservation(x reservation, role string) int { return strings.Compare(x.role, role) }

// bucket returns the bundle for role ("" = unreserved) for reading, or nil.
func (r *Resources) bucket(role string) *bundle {
	if role == "" {
		return &r.unreserved
	}
	if i, ok := slices.BinarySearchFunc(r.reserved, role, cmpReservation); ok {
		return &r.reserved[i].b
	}
	return nil
}

// ownReserved replaces r.reserved with a private copy that the caller may
// write into (r.reserved may be shared with other copies of r).
func (r *Resources) ownReserved() {
	if len(r.reserved) > 0 {
		r.reserved = slices.Clone(r.reserved)
	}
}

// ownedBucket returns the bundle for role ("" = unreserved), creating it,
// in storage private to r. For a reservation it copies r.reserved: use it
// once per change, or call ownReserved first and use privateBucket.
func (r *Resources) ownedBucket(role string) *bundle {
	if role == "" {
		return &r.unreserved
	}
	r.ownReserved()
	return r.privateBucket(role)
}

// privateBucket is ownedBucket for an r.reserved already made private.
func (r *Resources) privateBucket(role string) *bundle {
	i, ok := slices.BinarySearchFunc(r.reserved, role, cmpReservation)
	if !ok {
		r.reserved = slices.Insert(r.reserved, i, reservation{role: role})
	}
	return &r.reserved[i].b
}

// dropEmpty removes empty reservation buckets from a private r.reserved.
func (r *Resources) dropEmpty() {
	r.reserved = slices.DeleteFunc(r.reserved, func(x reservation) bool { return x.b.isEmpty() })
	if len(r.reserved) == 0 {
		r.reserved = nil
	}
}

// AddScalar adds value of the named scalar owned by role ("*" or "" for
// unreserved). Values are rounded to three decimals; non-positive values
// are ignored.
func (r *Resources) AddScalar(role, name string, value float64) {
	m := Milli(value)
	if m <= 0 || name == "" {
		return
	}
	r.ownedBucket(ownerRole(role)).addScalar(name, m)
}

// AddRanges adds intervals of the named RANGES resource owned by role.
func (r *Resources) AddRanges(role, name string, rs ...Range) {
	rs = normalizeRanges(slices.Clone(rs))
	if len(rs) == 0 || name == "" {
		return
	}
	r.ownedBucket(ownerRole(role)).addRanges(name, rs)
}

// AddSet adds items of the named SET resource owned by role.
func (r *Resources) AddSet(role, name string, items ...string) {
	items = normalizeSet(slices.Clone(items))
	if len(items) == 0 || name == "" {
		return
	}
	r.ownedBucket(ownerRole(role)).addSet(name, items)
}

// Add adds every resource of o to r.
func (r *Resources) Add(o Resources) {
	if r.IsEmpty() {
		*r = o // shares o's slices, which are never written
		return
	}
	r.unreserved.add(&o.unreserved)
	if len(o.reserved) == 0 {
		return
	}
	r.ownReserved()
	for i := range o.reserved {
		x := &o.reserved[i]
		r.privateBucket(x.role).add(&x.b)
	}
}

// Subtract removes o from r, owner by owner. It saturates: scalars never
// go negative and only the parts of ranges and sets present in r are
// removed. Use ContainsAll first when exactness matters.
func (r *Resources) Subtract(o Resources) {
	r.unreserved.sub(&o.unreserved)
	if len(o.reserved) == 0 || len(r.reserved) == 0 {
		return
	}
	r.ownReserved()
	for i := range o.reserved {
		x := &o.reserved[i]
		if j, ok := slices.BinarySearchFunc(r.reserved, x.role, cmpReservation); ok {
			r.reserved[j].b.sub(&x.b)
		}
	}
	r.dropEmpty()
}

// ContainsAll reports whether every resource of o is in r with the same
// owner.
func (r Resources) ContainsAll(o Resources) bool {
	if !r.unreserved.contains(&o.unreserved) {
		return false
	}
	for i := range o.reserved {
		x := &o.reserved[i]
		b := r.bucket(x.role)
		if b == nil || !b.contains(&x.b) {
			return false
		}
	}
	return true
}

// IsEmpty reports whether r holds nothing.
func (r Resources) IsEmpty() bool {
	return len(r.reserved) == 0 && r.unreserved.isEmpty()
}

// Equal reports whether r and o hold exactly the same resources.
func (r Resources) Equal(o Resources) bool {
	if len(r.reserved) != len(o.reserved) || !r.unreserved.equal(&o.unreserved) {
		return false
	}
	for i := range r.reserved {
		if r.reserved[i].role != o.reserved[i].role || !r.reserved[i].b.equal(&o.reserved[i].b) {
			return false
		}
	}
	return true
}

// Clone returns a copy of r. Assignment copies Resources just as well
// (see Resources); Clone remains for readability at call sites that want
// to stress independence.
func (r Resources) Clone() Resources { return r }

// Quantities returns the scalar totals over all owners.
func (r Resources) Quantities() Quantities {
	var q Quantities
	r.addQuantities(&q)
	return q
}

func (r *Resources) addQuantities(q *Quantities) {
	r.unreserved.addQuantities(q)
	for i := range r.reserved {
		r.reserved[i].b.addQuantities(q)
	}
}

func (r *Resources) subQuantities(q *Quantities) {
	r.unreserved.subQuantities(q)
	for i := range r.reserved {
		r.reserved[i].b.subQuantities(q)
	}
}

// Scalar returns the total of the named scalar over all owners.
func (r Resources) Scalar(name string) float64 {
	v := r.unreserved.scalar(name)
	for i := range r.reserved {
		v += r.reserved[i].b.scalar(name)
	}
	return FromMilli(v)
}

// count returns the amount of name over all owners: the scalar value for
// scalars, the number of elements (in milli-units) for ranges and sets.
func (r *Resources) count(name string) int64 {
	c := bundleCount(&r.unreserved, name)
	for i := range r.reserved {
		c = satAdd(c, bundleCount(&r.reserved[i].b, name))
	}
	return c
}

func bundleCount(b *bundle, name string) int64 {
	if v := b.scalar(name); v != 0 {
		return v
	}
	if rs := b.rangesOf(name); rs != nil {
		n := countRanges(rs)
		if n > (1<<62)/1000 {
			return 1 << 62
		}
		return int64(n) * 1000
	}
	return int64(len(b.setOf(name))) * 1000
}

func satAdd(a, b int64) int64 {
	if s := a + b; s >= a {
		return s
	}
	return 1 << 62
}

// ContainsQuantities reports whether r holds at least the amounts in q
// (ignoring owners). For RANGES and SET resources the number of elements
// is compared, so "ports:10" means at least ten ports.
func (r Resources) ContainsQuantities(q Quantities) bool {
	ok := true
	q.each(func(name string, v int64) {
		if ok && r.count(name) < v {
			ok = false
		}
	})
	return ok
}

// Unreserved returns the unreserved part.
func (r Resources) Unreserved() Resources {
	return Resources{unreserved: r.unreserved}
}

// Reserved returns the part reserved for exactly role.
func (r Resources) Reserved(role string) Resources {
	b := r.bucket(ownerRole(role))
	if b == nil || role == "" || role == Unreserved {
		return Resources{}
	}
	return Resources{reserved: []reservation{{role, *b}}}
}

// ReservationRoles returns the roles holding reservations in r, sorted.
func (r Resources) ReservationRoles() []string {
	out := make([]string, len(r.reserved))
	for i := range r.reserved {
		out[i] = r.reserved[i].role
	}
	return out
}

// HasReservations reports whether any resource in r is reserved.
func (r Resources) HasReservations() bool { return len(r.reserved) > 0 }

// Item is one resource entry in a flat, protobuf-friendly view of
// Resources. Exactly one of Scalar, Ranges or Set is meaningful, per Kind.
type Item struct {
	Role   string // "*" for unreserved
	Name   string
	Kind   Kind
	Scalar float64
	Ranges []Range
	Set    []string
}

// Items flattens r: unreserved first, then reservations by role; within
// an owner cpus, mem, disk, gpus, other scalars by name, ranges, sets.
// The returned slices are copies.
func (r Resources) Items() []Item {
	var out []Item
	emit := func(role string, b *bundle) {
		if role == "" {
			role = Unreserved
		}
		for _, n := range [...]string{Cpus, Mem, Disk, Gpus} {
			if v := b.scalar(n); v != 0 {
				out = append(out, Item{Role: role, Name: n, Kind: Scalar, Scalar: FromMilli(v)})
			}
		}
		for _, s := range b.scalars() {
			out = append(out, Item{Role: role, Name: s.name, Kind: Scalar, Scalar: FromMilli(s.v)})
		}
		for _, x := range b.ranges() {
			out = append(out, Item{Role: role, Name: x.name, Kind: Ranges, Ranges: slices.Clone(x.r)})
		}
		for _, x := range b.sets() {
			out = append(out, Item{Role: role, Name: x.name, Kind: Set, Set: slices.Clone(x.items)})
		}
	}
	emit("", &r.unreserved)
	for i := range r.reserved {
		emit(r.reserved[i].role, &r.reserved[i].b)
	}
	return out
}

// AddItem adds one flat entry (the inverse of Items).
func (r *Resources) AddItem(it Item) {
	switch it.Kind {
	case Scalar:
		r.AddScalar(it.Role, it.Name, it.Scalar)
	case Ranges:
		r.AddRanges(it.Role, it.Name, it.Ranges...)
	case Set:
		r.AddSet(it.Role, it.Name, it.Set...)
	}
}

// String renders r in the agent --resources syntax, e.g.
// "cpus:2;mem:1024;ports:[31000-32000];cpus(ops):1".
func (r Resources) String() string {
	var sb strings.Builder
	r.unreserved.writeTo(&sb, "")
	for i := range r.reserved {
		r.reserved[i].b.writeTo(&sb, r.reserved[i].role)
	}
	return sb.String()
}

// takeFor moves everything in r that role may use (unreserved resources
// and reservations for role or one of its ancestors) into dst, leaving
// those owners empty in r. dst is reset first. It allocates only when r
// holds reservations both for role and for others.
func (r *Resources) takeFor(role string, dst *Resources) {
	*dst = Resources{unreserved: r.unreserved}
	r.unreserved = bundle{}
	n := 0
	for i := range r.reserved {
		if isSelfOrAncestor(r.reserved[i].role, role) {
			n++
		}
	}
	switch n {
	case 0:
		return
	case len(r.reserved):
		dst.reserved, r.reserved = r.reserved, nil
		return
	}
	taken := make([]reservation, 0, n) // r.reserved is sorted, so both stay sorted
	kept := make([]reservation, 0, len(r.reserved)-n)
	for _, x := range r.reserved {
		if isSelfOrAncestor(x.role, role) {
			taken = append(taken, x)
		} else {
			kept = append(kept, x)
		}
	}
	dst.reserved, r.reserved = taken, kept
}

// hasFor reports whether r holds anything role may use.
func (r *Resources) hasFor(role string) bool {
	if !r.unreserved.isEmpty() {
		return true
	}
	for i := range r.reserved {
		if isSelfOrAncestor(r.reserved[i].role, role) {
			return true
		}
	}
	return false
}

// isSelfOrAncestor reports whether anc == role or anc is an ancestor of the
// hierarchical role ("eng" is an ancestor of "eng/web").
func isSelfOrAncestor(anc, role string) bool {
	if len(anc) > len(role) || role[:len(anc)] != anc {
		return false
	}
	return len(anc) == len(role) || role[len(anc)] == '/'
}
