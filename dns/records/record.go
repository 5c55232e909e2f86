package records

import (
	"cmp"
	"net/netip"
	"strconv"
)

// Type is a record type the generator produces.
type Type uint8

// The record types the generator produces.
const (
	TypeA Type = iota + 1
	TypeAAAA
	TypeSRV
)

// String returns "A", "AAAA" or "SRV".
func (t Type) String() string {
	switch t {
	case TypeA:
		return "A"
	case TypeAAAA:
		return "AAAA"
	case TypeSRV:
		return "SRV"
	}
	return "TYPE" + strconv.Itoa(int(t))
}

// SRV is the value of an SRV record. Priority (0) and weight (srvRecordDefaultWeight) are the
// server's; Mesos-DNS uses the same for every record.
type SRV struct {
	Target string // fully qualified, lower case, with the trailing dot
	Port   uint16
}

// String returns "target:port", the form of Mesos-DNS' /v1/axfr and /v1/enumerate.
func (s SRV) String() string { return s.Target + ":" + strconv.Itoa(int(s.Port)) }

// Record is one resource record: Addr is set for A and AAAA, SRV for SRV. Records are
// comparable and used as map keys.
type Record struct {
	Name string // fully qualified, lower case, with the trailing dot
	Type Type
	Addr netip.Addr
	SRV  SRV
}

// Value returns the record's value as Mesos-DNS' HTTP API writes it: the IP, or
// "target:port".
func (r Record) Value() string {
	if r.Type == TypeSRV {
		return r.SRV.String()
	}
	return r.Addr.String()
}

// String returns "TYPE name value", e.g. "A web.marathon.mesos. 10.0.0.1" (the golden-file
// format).
func (r Record) String() string { return r.Type.String() + " " + r.Name + " " + r.Value() }

// compareRecords orders records by name, type and value.
func compareRecords(a, b Record) int {
	if c := cmp.Compare(a.Name, b.Name); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Type, b.Type); c != 0 {
		return c
	}
	if c := a.Addr.Compare(b.Addr); c != 0 {
		return c
	}
	if c := cmp.Compare(a.SRV.Target, b.SRV.Target); c != 0 {
		return c
	}
	return cmp.Compare(a.SRV.Port, b.SRV.Port)
}

// recList collects the records of one owner without duplicates: a linear scan while the list
// is short, a set once it grows.
type recList struct {
	recs []Record
	seen map[Record]struct{}
}

const recListScanMax = 16

func (l *recList) add(r Record) {
	if l.seen != nil {
		if _, dup := l.seen[r]; dup {
			return
		}
		l.seen[r] = struct{}{}
		l.recs = append(l.recs, r)
		return
	}
	for i := range l.recs {
		if l.recs[i] == r {
			return
		}
	}
	l.recs = append(l.recs, r)
	if len(l.recs) > recListScanMax {
		l.seen = make(map[Record]struct{}, 2*len(l.recs))
		for _, x := range l.recs {
			l.seen[x] = struct{}{}
		}
	}
}

func (l *recList) addIP(name string, ip netip.Addr) {
	t := TypeA
	if !ip.Is4() {
		t = TypeAAAA
	}
	l.add(Record{Name: name, Type: t, Addr: ip})
}

func (l *recList) addIPs(name string, ips []netip.Addr) {
	for _, ip := range ips {
		l.addIP(name, ip)
	}
}

func (l *recList) addSRV(name, target string, port uint16) {
	l.add(Record{Name: name, Type: TypeSRV, SRV: SRV{Target: target, Port: port}})
}
