package app

import (
	"sort"
	"strings"
)

// HasDependencies reports whether any app or group of the tree has dependencies.
func (t *Tree) HasDependencies() bool {
	for _, g := range t.Groups {
		if len(g.Dependencies) > 0 {
			return true
		}
	}
	for _, a := range t.Apps {
		if len(a.Dependencies) > 0 {
			return true
		}
	}
	return false
}

// Graph is the dependency graph between apps: for every app with dependencies, the apps it
// depends on, sorted.
type Graph map[string][]string

// Dependencies resolves the dependencies of the tree into a Graph, as Marathon's root group does:
//   - an app that depends on an app depends on it; one that depends on a group depends on every
//     app below that group;
//   - every app below a group depends on what the group depends on (an app or every app below a
//     group);
//   - a dependency on something that does not exist is ignored.
//
// Relative dependencies are resolved against the app's group, and a group's own against the
// group itself (Marathon's rule; stored ids are absolute already).
func (t *Tree) Dependencies() Graph {
	if !t.HasDependencies() {
		return Graph{}
	}
	ids := make([]string, 0, len(t.Apps))
	for id := range t.Apps {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	under := func(group string) []string {
		if group == RootID {
			return ids
		}
		prefix := group + "/"
		lo := sort.SearchStrings(ids, prefix)
		hi := lo
		for hi < len(ids) && strings.HasPrefix(ids[hi], prefix) {
			hi++
		}
		return ids[lo:hi]
	}
	targets := func(dep, base string) []string {
		abs, err := ParseGroupID(dep, base)
		if err != nil {
			return nil
		}
		if _, ok := t.Apps[abs]; ok {
			return []string{abs}
		}
		return under(abs)
	}
	edges := map[string]map[string]bool{}
	add := func(from string, to []string) {
		if len(to) == 0 {
			return
		}
		if edges[from] == nil {
			edges[from] = map[string]bool{}
		}
		for _, x := range to {
			edges[from][x] = true
		}
	}
	for _, id := range ids {
		a := t.Apps[id]
		for _, d := range a.Dependencies {
			add(id, targets(d, Parent(id)))
		}
	}
	for gid, g := range t.Groups {
		if len(g.Dependencies) == 0 {
			continue
		}
		var to []string
		for _, d := range g.Dependencies {
			to = append(to, targets(d, gid)...)
		}
		for _, from := range under(gid) {
			add(from, to)
		}
	}
	out := make(Graph, len(edges))
	for from, set := range edges {
		list := make([]string, 0, len(set))
		for x := range set {
			list = append(list, x)
		}
		sort.Strings(list)
		out[from] = list
	}
	return out
}

// Cycle returns a dependency cycle of the graph as the path that closes it (["/a", "/b", "/a"];
// an app that depends on itself gives ["/a", "/a"]), or nil when there is none. The search is
// deterministic: the first cycle found from the smallest id.
func (g Graph) Cycle() []string {
	const (
		unseen = iota
		onPath
		done
	)
	state := map[string]int{}
	var path []string
	var visit func(id string) []string
	visit = func(id string) []string {
		state[id] = onPath
		path = append(path, id)
		for _, next := range g[id] {
			switch state[next] {
			case onPath:
				for i, p := range path {
					if p == next {
						return append(append([]string{}, path[i:]...), next)
					}
				}
			case unseen:
				if c := visit(next); c != nil {
					return c
				}
			}
		}
		path = path[:len(path)-1]
		state[id] = done
		return nil
	}
	roots := make([]string, 0, len(g))
	for id := range g {
		roots = append(roots, id)
	}
	sort.Strings(roots)
	for _, id := range roots {
		if state[id] == unseen {
			if c := visit(id); c != nil {
				return c
			}
		}
	}
	return nil
}

// CheckCycles returns a *ValidationError naming a cycle of the graph, if it has one (Marathon:
// "Dependency graph has cyclic dependencies.").
func (g Graph) CheckCycles() error {
	c := g.Cycle()
	if c == nil {
		return nil
	}
	return &ValidationError{Details: []Detail{{Path: "/", Errors: []string{
		"Dependency graph has cyclic dependencies: " + strings.Join(c, " -> "),
	}}}}
}
