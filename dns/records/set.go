package records

import (
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
)

// Set is the record set of one DNS zone. Any number of goroutines may look names up while
// one writer at a time updates it; writers serialise among themselves. Lookups take a read
// lock for one map access and allocate nothing. Each write recomputes only the records of the
// owners it touches and republishes only the names whose records changed.
type Set struct {
	gen generator

	mu    sync.RWMutex      // guards the names map itself (readers: RLock)
	names map[string]*entry // by fully qualified lower-case name
	ver   atomic.Uint64

	wmu sync.Mutex // serialises writers; guards w
	w   *wstate
}

type taskKey struct{ fw, id string }

type taskEntry struct {
	t         Task
	recs      []Record
	published bool // running, on a known agent, of a known framework
}

type agentEntry struct {
	a    Agent
	ips  []netip.Addr
	recs []Record
}

type frameworkEntry struct {
	f    Framework
	frag string
	recs []Record
}

// wstate is the writer-side state: the model, every owner's records and the counts.
type wstate struct {
	counts      map[Record]int32
	tasks       map[taskKey]*taskEntry
	agents      map[string]*agentEntry
	frameworks  map[string]*frameworkEntry
	byAgent     map[string]map[taskKey]struct{}
	byFramework map[string]map[taskKey]struct{}
	masterRecs  []Record
	nsIPs       []netip.Addr
	nsRecs      []Record
}

func newWState() *wstate {
	return &wstate{
		counts:      map[Record]int32{},
		tasks:       map[taskKey]*taskEntry{},
		agents:      map[string]*agentEntry{},
		frameworks:  map[string]*frameworkEntry{},
		byAgent:     map[string]map[taskKey]struct{}{},
		byFramework: map[string]map[taskKey]struct{}{},
	}
}

// New returns an empty Set. Zero fields of cfg take their defaults (DefaultConfig, except
// that DisableAgentAliases stays as given); an invalid cfg gives an error wrapping
// ErrInvalidConfig.
func New(cfg Config) (*Set, error) {
	c, err := cfg.normalize()
	if err != nil {
		return nil, err
	}
	return &Set{gen: newGenerator(c), names: map[string]*entry{}, w: newWState()}, nil
}

// Config returns the effective configuration.
func (s *Set) Config() Config {
	c := s.gen.cfg
	c.IPSources = slices.Clone(c.IPSources)
	return c
}

// Version counts the writes that changed at least one name; a server can use it to tell
// whether its SOA serial needs a bump.
func (s *Set) Version() uint64 { return s.ver.Load() }

// --- lookups -------------------------------------------------------------------------------

// Lookup returns everything a name holds. name must be fully qualified, lower case and end
// with a dot ("web.marathon.mesos."); see CanonicalName. The slices are shared and must not be
// modified.
func (s *Set) Lookup(name string) (a, aaaa []netip.Addr, srv []SRV, ok bool) {
	s.mu.RLock()
	e := s.names[name]
	s.mu.RUnlock()
	if e == nil {
		return nil, nil, nil, false
	}
	return clipAddrs(e.a), clipAddrs(e.aaaa), clipSRVs(e.srv), true
}

// A returns the IPv4 addresses of name (shared, must not be modified).
func (s *Set) A(name string) []netip.Addr {
	if e := s.entry(name); e != nil {
		return clipAddrs(e.a)
	}
	return nil
}

// AAAA returns the IPv6 addresses of name (shared, must not be modified).
func (s *Set) AAAA(name string) []netip.Addr {
	if e := s.entry(name); e != nil {
		return clipAddrs(e.aaaa)
	}
	return nil
}

// SRV returns the SRV values of name (shared, must not be modified).
func (s *Set) SRV(name string) []SRV {
	if e := s.entry(name); e != nil {
		return clipSRVs(e.srv)
	}
	return nil
}

// Exists reports whether name has a record of any type: a name that exists without a record
// of the asked type is NODATA, any other name NXDOMAIN.
func (s *Set) Exists(name string) bool { return s.entry(name) != nil }

func (s *Set) entry(name string) *entry {
	s.mu.RLock()
	e := s.names[name]
	s.mu.RUnlock()
	return e
}

// clipAddrs caps the capacity so that a caller's append cannot write into the shared array.
func clipAddrs(a []netip.Addr) []netip.Addr { return a[:len(a):len(a)] }
func clipSRVs(a []SRV) []SRV                { return a[:len(a):len(a)] }

// --- writes --------------------------------------------------------------------------------

// write runs fn as one transaction and publishes its changes.
func (s *Set) write(fn func(x *txn)) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	x := newTxn(s.w, 0)
	fn(x)
	if len(x.dirty) == 0 {
		return
	}
	type upd struct {
		name string
		e    *entry
	}
	// Build outside the read lock: only writers change s.names, and we are the writer.
	upds := make([]upd, 0, len(x.dirty))
	for name, ch := range x.dirty {
		old := s.names[name]
		e := x.build(old, ch)
		if e == nil && old == nil {
			continue
		}
		upds = append(upds, upd{name, e})
	}
	if len(upds) == 0 {
		return
	}
	s.mu.Lock()
	for _, u := range upds {
		if u.e == nil {
			delete(s.names, u.name)
		} else {
			s.names[u.name] = u.e
		}
	}
	s.mu.Unlock()
	s.ver.Add(1)
}

// Replace discards everything but the name server addresses and loads st: the bulk path for
// the first load and for resynchronisation. Readers see the old set until the new one is
// complete.
func (s *Set) Replace(st *State) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	w := newWState()
	hint := 0
	if st != nil {
		// About 12 records on 2.5 names per task in typical clusters.
		hint = len(st.Tasks)*5/2 + 2*len(st.Agents) + 2*len(st.Frameworks) + 16
		w.counts = make(map[Record]int32, len(st.Tasks)*12+hint)
	}
	x := newTxn(w, hint)
	x.setNameserver(&s.gen, s.w.nsIPs)
	if st != nil {
		for i := range st.Agents {
			x.upsertAgent(&s.gen, st.Agents[i])
		}
		for i := range st.Frameworks {
			x.upsertFramework(&s.gen, st.Frameworks[i])
		}
		for i := range st.Tasks {
			x.upsertTask(&s.gen, st.Tasks[i])
		}
		x.setMasters(&s.gen, st.Leader, st.Masters)
	}
	names := make(map[string]*entry, len(x.dirty))
	for name, ch := range x.dirty {
		if e := x.build(nil, ch); e != nil {
			names[name] = e
		}
	}
	s.mu.Lock()
	s.names = names
	s.mu.Unlock()
	s.w = w
	s.ver.Add(1)
}

// UpsertTask adds or replaces a task (keyed by framework ID and task ID). A task in a
// terminal state is removed. Tasks in other states are kept without records until they run.
// The Set keeps t's slices: the caller must not modify them afterwards.
func (s *Set) UpsertTask(t Task) { s.write(func(x *txn) { x.upsertTask(&s.gen, t) }) }

// UpdateTaskStatus applies a status update (TASK_UPDATED) to a known task: its state becomes
// st.State and st replaces the task's older status of the same state. It reports false if
// the task is unknown; the caller then needs the full task (UpsertTask).
func (s *Set) UpdateTaskStatus(frameworkID, taskID string, st Status) bool {
	known := false
	s.write(func(x *txn) {
		te := x.w.tasks[taskKey{frameworkID, taskID}]
		if te == nil {
			return
		}
		known = true
		t := te.t
		t.State = st.State
		t.Statuses = MergeStatus(t.Statuses, st)
		x.upsertTask(&s.gen, t)
	})
	return known
}

// RemoveTask forgets a task.
func (s *Set) RemoveTask(frameworkID, taskID string) {
	s.write(func(x *txn) { x.removeTask(taskKey{frameworkID, taskID}) })
}

// UpsertAgent adds or replaces an agent; when its IPs change, its tasks' records follow.
func (s *Set) UpsertAgent(a Agent) { s.write(func(x *txn) { x.upsertAgent(&s.gen, a) }) }

// RemoveAgent forgets an agent. Its tasks are kept but lose their records (Mesos-DNS
// publishes only tasks on known agents) until the agent is added again or they are removed.
func (s *Set) RemoveAgent(id string) { s.write(func(x *txn) { x.removeAgent(&s.gen, id) }) }

// UpsertFramework adds or replaces a framework; when its name changes, its tasks' records
// follow.
func (s *Set) UpsertFramework(f Framework) { s.write(func(x *txn) { x.upsertFramework(&s.gen, f) }) }

// RemoveFramework forgets a framework and all its tasks.
func (s *Set) RemoveFramework(id string) { s.write(func(x *txn) { x.removeFramework(id) }) }

// SetMasters sets the leading master's PID ("master@10.0.0.1:5050") and the list of known
// masters ("ip:port", in a stable order).
func (s *Set) SetMasters(leader string, masters []string) {
	s.write(func(x *txn) { x.setMasters(&s.gen, leader, masters) })
}

// SetNameserver sets the addresses of Config.SOAMname: the DNS listener's IP, or every
// non-loopback interface IP when it listens on 0.0.0.0 (the server works that out). They
// survive Replace.
func (s *Set) SetNameserver(ips []netip.Addr) {
	s.write(func(x *txn) { x.setNameserver(&s.gen, ips) })
}

// MergeStatus returns statuses with st in place of the status of the same state, unless that
// one is newer, or with st appended. The result is a new slice: the old one may be shared.
func MergeStatus(statuses []Status, st Status) []Status {
	out := make([]Status, 0, len(statuses)+1)
	replaced := false
	for _, old := range statuses {
		if old.State == st.State && !replaced {
			replaced = true
			if old.Timestamp > st.Timestamp {
				out = append(out, old)
			} else {
				out = append(out, st)
			}
			continue
		}
		out = append(out, old)
	}
	if !replaced {
		out = append(out, st)
	}
	return out
}
