package allocator

import (
	"slices"
	"strings"
)

// Quantities is a bag of named amounts without ownership or identity, like
// Mesos ResourceQuantities: "cpus:4;mem:1024". It is used for DRF
// accounting, quota and min_allocatable_resources. Values are milli-units;
// for a RANGES or SET resource (e.g. ports) a quantity counts elements.
// The zero value is empty. Copy with Clone.
type Quantities struct {
	cpus, mem, disk, gpus int64
	other                 []namedScalar // sorted by name, non-zero
}

func (q *Quantities) fixed(name string) *int64 {
	switch name {
	case Cpus:
		return &q.cpus
	case Mem:
		return &q.mem
	case Disk:
		return &q.disk
	case Gpus:
		return &q.gpus
	}
	return nil
}

// Get returns the amount of name.
func (q Quantities) Get(name string) float64 { return FromMilli(q.get(name)) }

func (q *Quantities) get(name string) int64 {
	if p := q.fixed(name); p != nil {
		return *p
	}
	if i, ok := slices.BinarySearchFunc(q.other, name, cmpScalarName); ok {
		return q.other[i].v
	}
	return 0
}

// Set sets the amount of name (values ≤ 0 remove it).
func (q *Quantities) Set(name string, v float64) { q.set(name, Milli(v)) }

func (q *Quantities) set(name string, v int64) {
	v = max(v, 0)
	if p := q.fixed(name); p != nil {
		*p = v
		return
	}
	i, ok := slices.BinarySearchFunc(q.other, name, cmpScalarName)
	switch {
	case ok && v == 0:
		q.other = slices.Delete(q.other, i, i+1)
	case ok:
		q.other[i].v = v
	case v > 0:
		q.other = slices.Insert(q.other, i, namedScalar{name, v})
	}
}

// add adds v (may be negative) to name, saturating at zero.
func (q *Quantities) add(name string, v int64) {
	if p := q.fixed(name); p != nil {
		*p = max(*p+v, 0)
		return
	}
	i, ok := slices.BinarySearchFunc(q.other, name, cmpScalarName)
	if ok {
		nv := q.other[i].v + v
		if nv <= 0 {
			q.other = slices.Delete(q.other, i, i+1)
		} else {
			q.other[i].v = nv
		}
		return
	}
	if v > 0 {
		q.other = slices.Insert(q.other, i, namedScalar{name, v})
	}
}

// Add adds o to q.
func (q *Quantities) Add(o Quantities) {
	q.cpus += o.cpus
	q.mem += o.mem
	q.disk += o.disk
	q.gpus += o.gpus
	for _, s := range o.other {
		q.add(s.name, s.v)
	}
}

// Subtract subtracts o from q, never going below zero.
func (q *Quantities) Subtract(o Quantities) {
	q.cpus = max(q.cpus-o.cpus, 0)
	q.mem = max(q.mem-o.mem, 0)
	q.disk = max(q.disk-o.disk, 0)
	q.gpus = max(q.gpus-o.gpus, 0)
	for _, s := range o.other {
		q.add(s.name, -s.v)
	}
}

// ContainsAll reports whether q has at least every amount in o.
func (q Quantities) ContainsAll(o Quantities) bool {
	if o.cpus > q.cpus || o.mem > q.mem || o.disk > q.disk || o.gpus > q.gpus {
		return false
	}
	for _, s := range o.other {
		if q.get(s.name) < s.v {
			return false
		}
	}
	return true
}

// IsZero reports whether q is empty.
func (q Quantities) IsZero() bool {
	return q.cpus == 0 && q.mem == 0 && q.disk == 0 && q.gpus == 0 && len(q.other) == 0
}

// Clone returns a copy sharing no memory with q.
func (q Quantities) Clone() Quantities {
	q.other = slices.Clone(q.other)
	return q
}

// Equal reports whether q and o hold the same amounts.
func (q Quantities) Equal(o Quantities) bool {
	return q.cpus == o.cpus && q.mem == o.mem && q.disk == o.disk && q.gpus == o.gpus &&
		slices.Equal(q.other, o.other)
}

// Names returns the names with a non-zero amount, well-known names first.
func (q Quantities) Names() []string {
	var out []string
	for _, n := range [...]string{Cpus, Mem, Disk, Gpus} {
		if q.get(n) != 0 {
			out = append(out, n)
		}
	}
	for _, s := range q.other {
		out = append(out, s.name)
	}
	return out
}

// each calls fn for every non-zero entry.
func (q *Quantities) each(fn func(name string, v int64)) {
	if q.cpus != 0 {
		fn(Cpus, q.cpus)
	}
	if q.mem != 0 {
		fn(Mem, q.mem)
	}
	if q.disk != 0 {
		fn(Disk, q.disk)
	}
	if q.gpus != 0 {
		fn(Gpus, q.gpus)
	}
	for _, s := range q.other {
		fn(s.name, s.v)
	}
}

// String renders q as "cpus:4;mem:1024".
func (q Quantities) String() string {
	var sb strings.Builder
	q.each(func(name string, v int64) {
		if sb.Len() > 0 {
			sb.WriteByte(';')
		}
		sb.WriteString(name)
		sb.WriteByte(':')
		sb.WriteString(formatMilli(v))
	})
	return sb.String()
}
