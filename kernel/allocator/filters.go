package allocator

import (
	"math"
	"time"
)

// filterKey identifies the (role, agent) a refusal filter applies to; the
// framework is implied by the map holding it.
type filterKey struct {
	role  string
	agent *agent
}

// refusal withholds offers on an agent whose resources the refused set
// contains, until expires.
type refusal struct {
	refused Resources
	expires time.Time
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
	if f.filters == nil {
		f.filters = map[filterKey][]refusal{}
	}
	k := filterKey{role, ag}
	f.filters[k] = append(f.filters[k], refusal{refused: res.Clone(), expires: expires})
	if a.filterCount == 0 || expires.Before(a.nextExpiry) {
		a.nextExpiry = expires
	}
	a.filterCount++
}

// isFiltered reports whether one of f's live filters for (role, agent)
// contains the candidate offer.
func isFiltered(f *framework, role string, ag *agent, offer *Resources, now time.Time) bool {
	if len(f.filters) == 0 {
		return false
	}
	fs := f.filters[filterKey{role, ag}]
	for i := range fs {
		if now.Before(fs[i].expires) && fs[i].refused.ContainsAll(*offer) {
			return true
		}
	}
	return false
}

// expireFilters drops filters that expired by now and marks their agents
// for reconsideration.
func (a *Allocator) expireFilters(now time.Time) {
	if a.filterCount == 0 || now.Before(a.nextExpiry) {
		return
	}
	var next time.Time
	count := 0
	for _, f := range a.frameworks {
		for k, fs := range f.filters {
			kept := fs[:0]
			for _, r := range fs {
				if now.Before(r.expires) {
					kept = append(kept, r)
					if count == 0 || r.expires.Before(next) {
						next = r.expires
					}
					count++
				}
			}
			if len(kept) == len(fs) {
				continue
			}
			clear(fs[len(kept):])
			if len(kept) == 0 {
				delete(f.filters, k)
			} else {
				f.filters[k] = kept
			}
			a.markDirty(k.agent)
		}
	}
	a.filterCount = count
	a.nextExpiry = next
}

// dropFilters removes f's filters for role and marks the agents dirty.
func (a *Allocator) dropFilters(f *framework, role string) {
	for k, fs := range f.filters {
		if k.role == role {
			a.filterCount -= len(fs)
			delete(f.filters, k)
			a.markDirty(k.agent)
		}
	}
}

// removeAgentFilters removes every framework's filters for ag.
func (a *Allocator) removeAgentFilters(ag *agent) {
	for _, f := range a.frameworks {
		for k, fs := range f.filters {
			if k.agent == ag {
				a.filterCount -= len(fs)
				delete(f.filters, k)
			}
		}
	}
	a.markDirty(ag)
}

func countFilters(f *framework) int {
	n := 0
	for _, fs := range f.filters {
		n += len(fs)
	}
	return n
}

// FilterCount returns how many refusal filters framework id holds.
func (a *Allocator) FilterCount(id string) int {
	if f := a.frameworks[id]; f != nil {
		return countFilters(f)
	}
	return 0
}
