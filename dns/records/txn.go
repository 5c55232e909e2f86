package records

import "net/netip"

// This file is the write path's bookkeeping. Every owner (a task, an agent, a framework, the
// masters, the name server) keeps the list of records it contributes; a global reference
// count per record says how many owners contribute it. A write runs as one txn: owners'
// lists are swapped (new ones counted up first, old ones down, so records an owner keeps
// never touch zero), the names whose record sets changed are collected, and commit builds a
// fresh immutable entry for each of them and publishes it under the read lock.

// entry is what readers see for one name. It is immutable once published, except that a
// later entry may append to its slices' spare capacity, beyond the length any reader holds.
type entry struct {
	a, aaaa []netip.Addr
	srv     []SRV
}

func (e *entry) empty() bool { return len(e.a) == 0 && len(e.aaaa) == 0 && len(e.srv) == 0 }

func (e *entry) appendValue(r Record) {
	switch r.Type {
	case TypeA:
		e.a = append(e.a, r.Addr)
	case TypeAAAA:
		e.aaaa = append(e.aaaa, r.Addr)
	case TypeSRV:
		e.srv = append(e.srv, r.SRV)
	}
}

// nameChange lists the records of one name that went from 0 to 1 owners (adds) or from 1 to
// 0 (dels) during a txn. A record may appear in both, or twice in one.
type nameChange struct {
	adds, dels []Record
}

type txn struct {
	w     *wstate
	dirty map[string]*nameChange
	// The records of an owner come grouped by name: remember the last change looked up.
	lastName   string
	lastChange *nameChange
}

func newTxn(w *wstate, sizeHint int) *txn {
	return &txn{w: w, dirty: make(map[string]*nameChange, sizeHint)}
}

func (x *txn) change(name string) *nameChange {
	if x.lastChange != nil && x.lastName == name {
		return x.lastChange
	}
	c := x.dirty[name]
	if c == nil {
		c = &nameChange{}
		x.dirty[name] = c
	}
	x.lastName, x.lastChange = name, c
	return c
}

// swap replaces an owner's record list old by new.
func (x *txn) swap(old, new []Record) {
	if equalRecords(old, new) {
		return
	}
	for _, r := range new {
		c := x.w.counts[r]
		x.w.counts[r] = c + 1
		if c == 0 {
			ch := x.change(r.Name)
			ch.adds = append(ch.adds, r)
		}
	}
	for _, r := range old {
		c := x.w.counts[r] - 1
		if c > 0 {
			x.w.counts[r] = c
			continue
		}
		delete(x.w.counts, r)
		ch := x.change(r.Name)
		ch.dels = append(ch.dels, r)
	}
}

func equalRecords(a, b []Record) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// build returns the entry that replaces old for a name after ch, or nil if the name has no
// records left.
func (x *txn) build(old *entry, ch *nameChange) *entry {
	e := &entry{}
	if old != nil {
		*e = *old
	}
	if len(ch.dels) == 0 {
		// Without deletions every add is new and alive: a second add of a record, or its
		// removal, needs it to reach zero owners first.
		for _, r := range ch.adds {
			e.appendValue(r)
		}
		return e
	}
	name := ch.dels[0].Name
	dels := newRecordSet(ch.dels, func(Record) bool { return true })
	dead := newRecordSet(ch.dels, func(r Record) bool { return x.w.counts[r] == 0 })
	e.a = filterAddrs(e.a, TypeA, name, dead)
	e.aaaa = filterAddrs(e.aaaa, TypeAAAA, name, dead)
	e.srv = filterSRVs(e.srv, name, dead)
	for _, r := range ch.adds {
		if x.w.counts[r] == 0 {
			continue // added, then removed again
		}
		// A record deleted and re-added may be present already.
		if dels.has(r) && entryHas(e, r) {
			continue
		}
		e.appendValue(r)
	}
	if e.empty() {
		return nil
	}
	return e
}

// recordSet is a set of records that is a slice while small and a map beyond.
type recordSet struct {
	small []Record
	big   map[Record]struct{}
}

func newRecordSet(rs []Record, keep func(Record) bool) recordSet {
	var s recordSet
	if len(rs) > recListScanMax {
		s.big = make(map[Record]struct{}, len(rs))
	}
	for _, r := range rs {
		if !keep(r) {
			continue
		}
		if s.big != nil {
			s.big[r] = struct{}{}
		} else {
			s.small = append(s.small, r)
		}
	}
	return s
}

func (s *recordSet) has(r Record) bool {
	if s.big != nil {
		_, ok := s.big[r]
		return ok
	}
	return containsRecord(s.small, r)
}

func (s *recordSet) empty() bool { return len(s.small) == 0 && len(s.big) == 0 }

func containsRecord(rs []Record, r Record) bool {
	for i := range rs {
		if rs[i] == r {
			return true
		}
	}
	return false
}

// filterAddrs returns addrs without the ones in dead, as a new slice (readers may hold the old
// one).
func filterAddrs(addrs []netip.Addr, t Type, name string, dead recordSet) []netip.Addr {
	if len(addrs) == 0 || dead.empty() {
		return addrs
	}
	out := make([]netip.Addr, 0, len(addrs))
	for _, a := range addrs {
		if !dead.has(Record{Name: name, Type: t, Addr: a}) {
			out = append(out, a)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func filterSRVs(srvs []SRV, name string, dead recordSet) []SRV {
	if len(srvs) == 0 || dead.empty() {
		return srvs
	}
	out := make([]SRV, 0, len(srvs))
	for _, s := range srvs {
		if !dead.has(Record{Name: name, Type: TypeSRV, SRV: s}) {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func entryHas(e *entry, r Record) bool {
	switch r.Type {
	case TypeA:
		return containsAddr(e.a, r.Addr)
	case TypeAAAA:
		return containsAddr(e.aaaa, r.Addr)
	case TypeSRV:
		for _, s := range e.srv {
			if s == r.SRV {
				return true
			}
		}
	}
	return false
}
