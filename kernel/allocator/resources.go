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
// A Resources value refers to internal slices: assigning it does not copy
// them. Use Clone for an independent copy. Mutating methods have pointer
// receivers; the rest never mutate.
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

// bucket returns the bundle for role ("" = unreserved), creating it when
// create is set; nil otherwise.
func (r *Resources) bucket(role string, create bool) *bundle {
	if role == "" {
		return &r.unreserved
	}
	i, ok := slices.BinarySearchFunc(r.reserved, role, func(x reservation, role string) int {
		return strings.Compare(x.role, role)
	})
	if ok {
		return &r.reserved[i].b
	}
	if !create {
		return nil
	}
	r.reserved = slices.Insert(r.reserved, i, reservation{role: role})
	return &r.reserved[i].b
}

// dropEmpty removes empty reservation buckets.
func (r *Resources) dropEmpty() {
	r.reserved = slices.DeleteFunc(r.reserved, func(x reservation) bool { return x.b.isEmpty() })
}

// AddScalar adds value of the named scalar owned by role ("*" or "" for
// unreserved). Values are rounded to three decimals; non-positive values
// are ignored.
func (r *Resources) AddScalar(role, name string, value float64) {
	m := Milli(value)
	if m <= 0 || name == "" {
		return
	}
	r.bucket(ownerRole(role), true).addScalar(name, m)
}

// AddRanges adds intervals of the named RANGES resource owned by role.
func (r *Resources) AddRanges(role, name string, rs ...Range) {
	rs = normalizeRanges(slices.Clone(rs))
	if len(rs) == 0 || name == "" {
		return
	}
	r.bucket(ownerRole(role), true).addRanges(name, rs)
}

// AddSet adds items of the named SET resource owned by role.
func (r *Resources) AddSet(role, name string, items ...string) {
	items = normalizeSet(slices.Clone(items))
	if len(items) == 0 || name == "" {
		return
	}
	r.bucket(ownerRole(role), true).addSet(name, items)
}

// Add adds every resource of o to r.
func (r *Resources) Add(o Resources) {
	if r.IsEmpty() {
		*r = o.Clone()
		return
	}
	r.unreserved.add(&o.unreserved)
	for i := range o.reserved {
		x := &o.reserved[i]
		r.bucket(x.role, true).add(&x.b)
	}
}

// Subtract removes o from r, owner by owner. It saturates: scalars never
// go negative and only the parts of ranges and sets present in r are
// removed. Use ContainsAll first when exactness matters.
func (r *Resources) Subtract(o Resources) {
	r.unreserved.sub(&o.unreserved)
	if len(o.reserved) == 0 {
		return
	}
	for i := range o.reserved {
		x := &o.reserved[i]
		if b := r.bucket(x.role, false); b != nil {
			b.sub(&x.b)
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
		b := r.bucket(x.role, false)
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

// Clone returns a deep copy.
func (r Resources) Clone() Resources {
	c := Resources{unreserved: r.unreserved.clone()}
	if len(r.reserved) > 0 {
		c.reserved = make([]reservation, len(r.reserved))
		for i := range r.reserved {
			c.reserved[i] = reservation{r.reserved[i].role, r.reserved[i].b.clone()}
		}
	}
	return c
}

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

// Unreserved returns a copy of the unreserved part.
func (r Resources) Unreserved() Resources {
	return Resources{unreserved: r.unreserved.clone()}
}

// Reserved returns a copy of the part reserved for exactly role.
func (r Resources) Reserved(role string) Resources {
	b := r.bucket(ownerRole(role), false)
	if b == nil || role == "" || role == Unreserved {
		return Resources{}
	}
	return Resources{reserved: []reservation{{role, b.clone()}}}
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
		for _, s := range b.scalars {
			out = append(out, Item{Role: role, Name: s.name, Kind: Scalar, Scalar: FromMilli(s.v)})
		}
		for _, x := range b.ranges {
			out = append(out, Item{Role: role, Name: x.name, Kind: Ranges, Ranges: slices.Clone(x.r)})
		}
		for _, x := range b.sets {
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
// those owners empty in r. dst is reset first.
func (r *Resources) takeFor(role string, dst *Resources) {
	*dst = Resources{unreserved: r.unreserved}
	r.unreserved = bundle{}
	if len(r.reserved) == 0 {
		return
	}
	kept := r.reserved[:0]
	for _, x := range r.reserved {
		if isSelfOrAncestor(x.role, role) {
			dst.reserved = append(dst.reserved, x) // r.reserved is sorted, so dst is too
			continue
		}
		kept = append(kept, x)
	}
	clear(r.reserved[len(kept):])
	r.reserved = kept
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
