package job

import "sort"

// CheckCycles looks for a dependency cycle in a whole set of jobs (keyed by id; the service
// passes every job with the created or updated one in place) and returns a *CycleError naming
// it, e.g. "a → b → a" when a depends on b and b on a. Parents missing from the set are ignored
// (see MissingParents). The search is deterministic: jobs are visited in id order.
func CheckCycles(jobs map[string]*Job) error {
	const (
		unvisited = iota
		onPath
		done
	)
	state := map[string]int{}
	var path []string
	var visit func(id string) []string
	visit = func(id string) []string {
		state[id] = onPath
		path = append(path, id)
		for _, p := range jobs[id].Parents {
			if q, ok := jobs[p]; !ok || q == nil {
				continue
			}
			switch state[p] {
			case onPath:
				start := 0
				for i, q := range path {
					if q == p {
						start = i
						break
					}
				}
				return append(append([]string{}, path[start:]...), p)
			case unvisited:
				if cycle := visit(p); cycle != nil {
					return cycle
				}
			}
		}
		path = path[:len(path)-1]
		state[id] = done
		return nil
	}
	for _, id := range sortedKeys(jobs) {
		if jobs[id] != nil && state[id] == unvisited {
			if cycle := visit(id); cycle != nil {
				return &CycleError{Cycle: cycle}
			}
		}
	}
	return nil
}

// MissingParents returns, for each job of the set that names parents not in the set, those
// parents (ids and parents sorted).
func MissingParents(jobs map[string]*Job) map[string][]string {
	out := map[string][]string{}
	for id, j := range jobs {
		if j == nil {
			continue
		}
		for _, p := range j.Parents {
			if q, ok := jobs[p]; !ok || q == nil {
				out[id] = append(out[id], p)
			}
		}
		sort.Strings(out[id])
	}
	for id, ps := range out {
		if len(ps) == 0 {
			delete(out, id)
		}
	}
	return out
}
