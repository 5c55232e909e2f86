package constraint

// Index counts the placed instances of an app by the value of each field
// its constraints look at, so that a constraint check costs a few map reads
// instead of a pass over every instance. GROUP_BY still visits each distinct
// value once. Instances on hosts without the field are counted as a group
// of their own, as Marathon groups them.
//
// An Index answers for any field: one its constraints did not name is
// counted from the hosts on first use. It is not safe for concurrent use.
type Index struct {
	hosts  []Host
	fields map[string]*fieldCounts
}

type fieldCounts struct {
	byValue map[string]int
	missing int
}

// NewIndex indexes placed for the fields of cs. The zero Index is an empty
// index too.
func NewIndex(cs []Constraint, placed ...Host) *Index {
	idx := &Index{fields: make(map[string]*fieldCounts)}
	for _, c := range cs {
		idx.track(c.Field)
	}
	for _, h := range placed {
		idx.Add(h)
	}
	return idx
}

// fieldKey folds the two spellings of the hostname field together.
func fieldKey(field string) string {
	if field == FieldAtHostname {
		return FieldHostname
	}
	return field
}

// track starts counting field, from the hosts already added.
func (x *Index) track(field string) *fieldCounts {
	key := fieldKey(field)
	if fc, ok := x.fields[key]; ok {
		return fc
	}
	if x.fields == nil {
		x.fields = make(map[string]*fieldCounts)
	}
	fc := &fieldCounts{byValue: make(map[string]int)}
	for _, h := range x.hosts {
		fc.add(h, key, 1)
	}
	x.fields[key] = fc
	return fc
}

func (fc *fieldCounts) add(h Host, field string, delta int) {
	v, ok := h.Value(field)
	if !ok {
		fc.missing += delta
		return
	}
	if n := fc.byValue[v] + delta; n > 0 {
		fc.byValue[v] = n
	} else {
		delete(fc.byValue, v)
	}
}

// Add records an instance placed on h.
func (x *Index) Add(h Host) {
	x.hosts = append(x.hosts, h)
	for field, fc := range x.fields {
		fc.add(h, field, 1)
	}
}

// Remove forgets one instance placed on the agent of h (matched by agent id
// and hostname), and reports whether there was one.
func (x *Index) Remove(h Host) bool {
	for i, have := range x.hosts {
		if have.AgentID != h.AgentID || have.Hostname != h.Hostname {
			continue
		}
		for field, fc := range x.fields {
			fc.add(have, field, -1)
		}
		x.hosts = append(x.hosts[:i], x.hosts[i+1:]...)
		return true
	}
	return false
}

// Len is the number of instances indexed.
func (x *Index) Len() int {
	if x == nil {
		return 0
	}
	return len(x.hosts)
}

// Hosts returns the hosts of the indexed instances, in the order added; the
// slice must not be modified.
func (x *Index) Hosts() []Host {
	if x == nil {
		return nil
	}
	return x.hosts
}

// Count is the number of instances on hosts whose field has value v.
func (x *Index) Count(field, v string) int {
	if x == nil {
		return 0
	}
	return x.track(field).byValue[v]
}

// groups returns the number of groups of field (the hosts without it being
// one) and the size of the smallest.
func (x *Index) groups(field string) (n, smallest int) {
	if x == nil {
		return 0, 0
	}
	fc := x.track(field)
	first := true
	consider := func(size int) {
		n++
		if first || size < smallest {
			smallest, first = size, false
		}
	}
	for _, size := range fc.byValue {
		consider(size)
	}
	if fc.missing > 0 {
		consider(fc.missing)
	}
	return n, smallest
}
