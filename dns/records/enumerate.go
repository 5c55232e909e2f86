package records

import (
	"cmp"
	"slices"
	"strings"
)

// This file lists the set for /v1/enumerate, /v1/axfr, zone transfers and tests. These calls
// take the writers' lock, not the readers': DNS lookups never wait for them.

// Enumeration is the body of Mesos-DNS' GET /v1/enumerate (reference/mesos-dns.md §8).
type Enumeration struct {
	Frameworks []EnumFramework `json:"frameworks"`
}

// EnumFramework is one framework of an Enumeration; Name is its raw (unsanitised) name.
type EnumFramework struct {
	Tasks []EnumTask `json:"tasks"`
	Name  string     `json:"name"`
}

// EnumTask is one published task of a framework with the records it contributes; Name is the
// raw task name.
type EnumTask struct {
	Name    string       `json:"name"`
	ID      string       `json:"id"`
	Records []EnumRecord `json:"records"`
}

// EnumRecord is one record: Host is the IP or "target:port", Rtype "A", "AAAA" or "SRV".
type EnumRecord struct {
	Name  string `json:"name"`
	Host  string `json:"host"`
	Rtype string `json:"rtype"`
}

// Enumerate returns every known framework with its published tasks (TASK_RUNNING on a known
// agent) and their records, Mesos-DNS' /v1/enumerate. Differences, none of which Mesos-DNS'
// docs define: frameworks are sorted by name then ID and tasks by name then ID (Mesos-DNS
// keeps /master/state order); a task lists every record it contributes (Mesos-DNS lists only
// the records no earlier task had already inserted); empty lists are [] rather than null.
func (s *Set) Enumerate() Enumeration {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	byFw := make(map[string][]EnumTask, len(s.w.frameworks))
	for k, te := range s.w.tasks {
		if !te.published {
			continue
		}
		recs := make([]EnumRecord, 0, len(te.recs))
		for _, r := range te.recs {
			recs = append(recs, EnumRecord{Name: r.Name, Host: r.Value(), Rtype: r.Type.String()})
		}
		byFw[k.fw] = append(byFw[k.fw], EnumTask{Name: te.t.Name, ID: te.t.ID, Records: recs})
	}
	type fw struct {
		id, name string
	}
	fws := make([]fw, 0, len(s.w.frameworks))
	for id, fe := range s.w.frameworks {
		fws = append(fws, fw{id, fe.f.Name})
	}
	slices.SortFunc(fws, func(a, b fw) int {
		return cmp.Or(cmp.Compare(a.name, b.name), cmp.Compare(a.id, b.id))
	})
	out := Enumeration{Frameworks: make([]EnumFramework, 0, len(fws))}
	for _, f := range fws {
		tasks := byFw[f.id]
		if tasks == nil {
			tasks = []EnumTask{}
		}
		slices.SortFunc(tasks, func(a, b EnumTask) int {
			return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.ID, b.ID))
		})
		out.Frameworks = append(out.Frameworks, EnumFramework{Name: f.name, Tasks: tasks})
	}
	return out
}

// Records returns every record of the set, sorted by name, type and value.
func (s *Set) Records() []Record {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	out := make([]Record, 0, len(s.w.counts))
	for r := range s.w.counts {
		out = append(out, r)
	}
	slices.SortFunc(out, compareRecords)
	return out
}

// Names returns every name that has at least one record, sorted.
func (s *Set) Names() []string {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	out := make([]string, 0, len(s.names))
	for n := range s.names {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// Len returns the number of names that have at least one record.
func (s *Set) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.names)
}

// CanonicalName turns a name as users write it ("Web.Marathon.Mesos") into the form lookups
// take: lower case with a trailing dot. Mesos-DNS' HTTP API accepts names either way.
func CanonicalName(name string) string {
	name = strings.ToLower(name)
	if !strings.HasSuffix(name, ".") {
		name += "."
	}
	return name
}
