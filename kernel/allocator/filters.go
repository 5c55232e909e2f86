package allocator

import (
	"math"
	"slices"
	"time"
)

// Refusal filters live on the agent they apply to (agent.filters), not in
// per-framework maps: a pass checks them for the agent it is working on,
// which is already in cache, usually finds none, and installing or
// expiring one reuses the agent's slice instead of allocating.

// refusal withholds offers to framework f under role, on the agent holding
// it, whose resources the refused set contains, until expires.
type refusal struct {
	f       *framework
	role    string
	refused Resources
	expires time.Time
	seq     uint64 // identifies the filter in the expiry queue
}

// expiry is an entry of the allocator's expiry queue. Entries whose filter
// was already removed (revive, deactivation, agent change) are skipped
// when they surface.
type expiry struct {
	at  int64 // expiry, Unix nanoseconds
	seq uint64
	ag  *agent
}

func (e *expiry) before(o *expiry) bool {
	if e.at != o.at {
		return e.at < o.at
	}
	return e.seq < o.seq
}

// expiryQueue orders filter expiries. Most filters share one duration and
// the clock only moves forward, so they arrive in expiry order: those go
// to a FIFO (O(1), no reordering). The rest go to a binary min-heap.
type expiryQueue struct {
	fifo []expiry
	head int
	heap []expiry
}

func (q *expiryQueue) len() int { return len(q.fifo) - q.head + len(q.heap) }

func (q *expiryQueue) push(e expiry) {
	if n := len(q.fifo); n == q.head || !e.before(&q.fifo[n-1]) {
		q.fifo = append(q.fifo, e)
		return
	}
	h := append(q.heap, e)
	for i := len(h) - 1; i > 0; {
		p := (i - 1) / 2
		if !h[i].before(&h[p]) {
			break
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
	q.heap = h
}

// peek returns the earliest entry, or nil.
func (q *expiryQueue) peek() *expiry {
	var best *expiry
	if q.head < len(q.fifo) {
		best = &q.fifo[q.head]
	}
	if len(q.heap) > 0 && (best == nil || q.heap[0].before(best)) {
		best = &q.heap[0]
	}
	return best
}

func (q *expiryQueue) pop() expiry {
	if q.head < len(q.fifo) && (len(q.heap) == 0 || q.fifo[q.head].before(&q.heap[0])) {
		e := q.fifo[q.head]
		q.fifo[q.head] = expiry{}
		q.head++
		if q.head == len(q.fifo) {
			q.fifo, q.head = q.fifo[:0], 0
		} else if q.head > 1024 && q.head*2 > len(q.fifo) {
			n := copy(q.fifo, q.fifo[q.head:])
			clear(q.fifo[n:])
			q.fifo, q.head = q.fifo[:n], 0
		}
		return e
	}
	h := q.heap
	top := h[0]
	n := len(h) - 1
	h[0] = h[n]
	h[n] = expiry{}
	h = h[:n]
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < n && h[l].before(&h[m]) {
			m = l
		}
		if r < n && h[r].before(&h[m]) {
			m = r
		}
		if m == i {
			break
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
	q.heap = h
	return top
}

func (q *expiryQueue) reset() {
	clear(q.fifo)
	clear(q.heap)
	q.fifo, q.head, q.heap = q.fifo[:0], 0, q.heap[:0]
}

// rebuildExpiries drops stale queue entries once they outnumber live
// filters (e.g. after many revives of long filters).
func (a *Allocator) rebuildExpiries() {
	var live []expiry
	for _, ag := range a.agents {
		for i := range ag.filters {
			r := &ag.filters[i]
			live = append(live, expiry{at: r.expires.UnixNano(), seq: r.seq, ag: ag})
		}
	}
	slices.SortFunc(live, func(x, y expiry) int {
		switch {
		case x.before(&y):
			return -1
		case y.before(&x):
			return 1
		}
		return 0
	})
	a.expiries.reset()
	for _, e := range live {
		a.expiries.push(e)
	}
}

// refuseDuration turns refuse_seconds into a filter duration following
// Mesos: negative or non-finite values mean the default, values over 365
// days are capped, zero means no filter, and anything else lasts at least
// one allocation interval.
func (a *Allocator) refuseDuration(seconds float64) time.Duration {
	switch {
	case math.IsNaN(seconds) || seconds < 0:
		seconds = DefaultRefuseSeconds
	case seconds == 0:
		return 0
	case seconds > MaxRefuse.Seconds():
		return max(MaxRefuse, a.cfg.AllocationInterval)
	}
	d := time.Duration(seconds * float64(time.Second))
	if d <= 0 {
		return 0
	}
	return max(d, a.cfg.AllocationInterval)
}

func (a *Allocator) addFilter(f *framework, role string, ag *agent, res Resources, seconds float64) {
	d := a.refuseDuration(seconds)
	if d <= 0 {
		return
	}
	expires := a.cfg.Clock().Add(d)
	a.filterSeq++
	ag.filters = append(ag.filters, refusal{f: f, role: role, refused: res, expires: expires, seq: a.filterSeq})
	a.expiries.push(expiry{at: expires.UnixNano(), seq: a.filterSeq, ag: ag})
	f.filterCount++
	a.filterCount++
	if a.expiries.len() > 2*a.filterCount+64 {
		a.rebuildExpiries()
	}
}

// NextExpiry returns when the earliest refusal filter expires, if any
// (possibly a little early, when that filter was already removed).
func (a *Allocator) NextExpiry() (time.Time, bool) {
	e := a.expiries.peek()
	if a.filterCount == 0 || e == nil {
		return time.Time{}, false
	}
	return time.Unix(0, e.at), true
}

// isFiltered reports whether one of f's live filters for (role, agent)
// contains the candidate offer.
func isFiltered(f *framework, role string, ag *agent, offer *Resources, now time.Time) bool {
	for i := range ag.filters {
		r := &ag.filters[i]
		if r.f == f && r.role == role && now.Before(r.expires) && r.refused.ContainsAll(*offer) {
			return true
		}
	}
	return false
}

// expireFilters drops filters that expired by now and marks their agents
// for reconsideration.
func (a *Allocator) expireFilters(now time.Time) {
	if a.filterCount == 0 {
		a.expiries.reset()
		return
	}
	nowNano := now.UnixNano()
	for e := a.expiries.peek(); e != nil && e.at <= nowNano; e = a.expiries.peek() {
		e := a.expiries.pop()
		fs := e.ag.filters
		for i := range fs {
			if fs[i].seq == e.seq {
				a.deleteFilter(e.ag, i)
				a.markDirty(e.ag)
				break
			}
		}
		// Not found: already removed.
	}
}

// deleteFilter removes ag.filters[i].
func (a *Allocator) deleteFilter(ag *agent, i int) {
	ag.filters[i].f.filterCount--
	a.filterCount--
	ag.filters = slices.Delete(ag.filters, i, i+1)
}

// dropFilters removes f's filters for role and marks their agents dirty.
func (a *Allocator) dropFilters(f *framework, role string) {
	a.deleteFrameworkFilters(f, func(r *refusal) bool { return r.role == role }, true)
}

// clearFilters removes all of f's filters.
func (a *Allocator) clearFilters(f *framework) {
	a.deleteFrameworkFilters(f, func(*refusal) bool { return true }, false)
}

// deleteFrameworkFilters removes f's filters that match, on every agent,
// marking the agents dirty when asked to.
func (a *Allocator) deleteFrameworkFilters(f *framework, match func(*refusal) bool, dirty bool) {
	for _, ag := range a.agents {
		if f.filterCount == 0 {
			return
		}
		for i := len(ag.filters) - 1; i >= 0; i-- {
			if r := &ag.filters[i]; r.f == f && match(r) {
				a.deleteFilter(ag, i)
				if dirty {
					a.markDirty(ag)
				}
			}
		}
	}
}

// removeAgentFilters removes every framework's filters for ag.
func (a *Allocator) removeAgentFilters(ag *agent) {
	for len(ag.filters) > 0 {
		a.deleteFilter(ag, len(ag.filters)-1)
	}
	a.markDirty(ag)
}

// FilterCount returns how many refusal filters framework id holds.
func (a *Allocator) FilterCount(id string) int {
	if f := a.frameworks[id]; f != nil {
		return f.filterCount
	}
	return 0
}
