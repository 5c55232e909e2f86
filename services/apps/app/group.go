package app

import (
	"fmt"
	"math"
	"sort"
	"strings"
)

// RootID is the id of the root group.
const RootID = "/"

// EmptyVersion is the version of a root group that was never changed (Marathon's Timestamp(0)).
const EmptyVersion = "1970-01-01T00:00:00.000Z"

// GroupSpec is what is kept of an explicit group, one created through /v2/groups: its id, the
// dependencies of everything below it (absolute ids, resolved against the group itself as
// Marathon does), its version and enforceRole (stored and shown, with no effect on placement).
// Groups that only hold apps (/prod for an app /prod/web) exist implicitly and have no spec.
type GroupSpec struct {
	ID           string   `json:"id"`
	Dependencies []string `json:"dependencies"`
	Version      string   `json:"version,omitempty"`
	EnforceRole  bool     `json:"enforceRole,omitempty"`
}

// Clone returns a copy.
func (g *GroupSpec) Clone() *GroupSpec {
	c := *g
	c.Dependencies = append([]string{}, g.Dependencies...)
	return &c
}

// Same reports whether two specs differ at most in their version.
func (g *GroupSpec) Same(o *GroupSpec) bool {
	if g.ID != o.ID || g.EnforceRole != o.EnforceRole || len(g.Dependencies) != len(o.Dependencies) {
		return false
	}
	for i := range g.Dependencies {
		if g.Dependencies[i] != o.Dependencies[i] {
			return false
		}
	}
	return true
}

// Tree is the root group: every app by id and every explicit group by id (the root's own spec,
// when it has dependencies, under "/"). Groups are the explicit ones and every ancestor of an app
// or of an explicit group. A Tree's methods change its maps, never the apps and specs they point
// to (those are shared with whoever built the tree), so Clone before editing a shared tree.
type Tree struct {
	// Version is the root group's version: the version of the change that made it.
	Version string
	Apps    map[string]*App
	Groups  map[string]*GroupSpec
}

// NewTree builds a tree.
func NewTree(version string, apps []*App, groups []*GroupSpec) *Tree {
	t := &Tree{Version: version, Apps: make(map[string]*App, len(apps)), Groups: make(map[string]*GroupSpec, len(groups))}
	for _, a := range apps {
		t.Apps[a.ID] = a
	}
	for _, g := range groups {
		t.Groups[g.ID] = g
	}
	return t
}

// Clone returns a tree with copies of the maps (the apps and specs are shared).
func (t *Tree) Clone() *Tree {
	c := &Tree{Version: t.Version, Apps: make(map[string]*App, len(t.Apps)), Groups: make(map[string]*GroupSpec, len(t.Groups))}
	for id, a := range t.Apps {
		c.Apps[id] = a
	}
	for id, g := range t.Groups {
		c.Groups[id] = g
	}
	return c
}

// below returns a function that reports whether an id lies below group (InGroup without its
// allocations, for loops over every app).
func below(group string) func(id string) bool {
	if group == RootID {
		return func(string) bool { return true }
	}
	prefix := group + "/"
	return func(id string) bool { return strings.HasPrefix(id, prefix) }
}

// atOrBelow is below that also matches group itself.
func atOrBelow(group string) func(id string) bool {
	in := below(group)
	return func(id string) bool { return id == group || in(id) }
}

// HasGroup reports whether the group exists: the root, an explicit group, or a group that holds
// an app or an explicit group.
func (t *Tree) HasGroup(id string) bool {
	if id == RootID {
		return true
	}
	if _, ok := t.Groups[id]; ok {
		return true
	}
	return t.holds(id)
}

// holds reports whether an app or an explicit group lies below id.
func (t *Tree) holds(id string) bool {
	in := below(id)
	for aid := range t.Apps {
		if in(aid) {
			return true
		}
	}
	for gid := range t.Groups {
		if in(gid) {
			return true
		}
	}
	return false
}

// AppsUnder returns the apps at any depth below group id, by id.
func (t *Tree) AppsUnder(id string) []*App {
	var out []*App
	in := below(id)
	for aid, a := range t.Apps {
		if in(aid) {
			out = append(out, a)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Remove removes the group id with everything below it (the root: everything).
func (t *Tree) Remove(id string) {
	in, inOrAt := below(id), atOrBelow(id)
	for aid := range t.Apps {
		if in(aid) {
			delete(t.Apps, aid)
		}
	}
	for gid := range t.Groups {
		if inOrAt(gid) {
			delete(t.Groups, gid)
		}
	}
}

// Replace makes the group id what it is in from (a version of the tree): the apps and explicit
// groups below it in t are dropped and those of from taken over. This is a group rollback.
func (t *Tree) Replace(id string, from *Tree) {
	t.Remove(id)
	in, inOrAt := below(id), atOrBelow(id)
	for aid, a := range from.Apps {
		if in(aid) {
			t.Apps[aid] = a
		}
	}
	for gid, g := range from.Groups {
		if inOrAt(gid) {
			t.Groups[gid] = g
		}
	}
}

// ScaleInstances is Marathon's scaleBy arithmetic: instances × factor rounded up, in floating
// point as Marathon computes it (so 100 × 1.1 is 111: the product is 110.00000000000001).
func ScaleInstances(instances int, factor float64) (int, error) {
	if factor < 0 || math.IsNaN(factor) || math.IsInf(factor, 0) {
		return 0, fmt.Errorf("scale factor %v is not a number of 0 or more", factor)
	}
	n := math.Ceil(float64(instances) * factor)
	if n > math.MaxInt32 {
		return 0, fmt.Errorf("%d instances scaled by %v is more than %d", instances, factor, math.MaxInt32)
	}
	return int(n), nil
}

// Scale multiplies the instances of every app below group id by factor (ScaleInstances).
func (t *Tree) Scale(id string, factor float64) error {
	for _, a := range t.AppsUnder(id) {
		n, err := ScaleInstances(a.Instances, factor)
		if err != nil {
			return &ValidationError{Details: []Detail{{Path: "/scaleBy", Errors: []string{fmt.Sprintf("app %s: %v", a.ID, err)}}}}
		}
		if n != a.Instances {
			c := a.Clone()
			c.Instances = n
			t.Apps[a.ID] = c
		}
	}
	return nil
}

// Node is a group as the API shows it: its own attributes, its apps and its child groups, each
// sorted by id.
type Node struct {
	ID           string
	Dependencies []string
	Version      string
	EnforceRole  bool
	Explicit     bool
	Apps         []*App
	Groups       []*Node
}

// Node returns the group id with everything below it, or false if there is no such group. A
// group's version is the latest of its own, its apps' and its child groups'; the root's is the
// tree's.
func (t *Tree) Node(id string) (*Node, bool) {
	if !t.HasGroup(id) {
		return nil, false
	}
	childGroups := map[string]map[string]bool{}
	addGroup := func(gid string) {
		for gid != RootID {
			parent := Parent(gid)
			if childGroups[parent] == nil {
				childGroups[parent] = map[string]bool{}
			}
			if childGroups[parent][gid] {
				return
			}
			childGroups[parent][gid] = true
			gid = parent
		}
	}
	apps := map[string][]*App{}
	in := below(id)
	for aid, a := range t.Apps {
		if in(aid) {
			parent := Parent(aid)
			apps[parent] = append(apps[parent], a)
			addGroup(parent)
		}
	}
	for gid := range t.Groups {
		if gid != RootID && in(gid) {
			addGroup(gid)
		}
	}
	var build func(gid string) *Node
	build = func(gid string) *Node {
		n := &Node{ID: gid, Dependencies: []string{}, Apps: apps[gid], Groups: []*Node{}}
		if n.Apps == nil {
			n.Apps = []*App{}
		}
		sort.Slice(n.Apps, func(i, j int) bool { return n.Apps[i].ID < n.Apps[j].ID })
		if g := t.Groups[gid]; g != nil {
			n.Explicit, n.EnforceRole, n.Version = true, g.EnforceRole, g.Version
			n.Dependencies = append(n.Dependencies, g.Dependencies...)
		}
		for _, a := range n.Apps {
			n.Version = later(n.Version, a.Version)
		}
		children := make([]string, 0, len(childGroups[gid]))
		for c := range childGroups[gid] {
			children = append(children, c)
		}
		sort.Strings(children)
		for _, c := range children {
			child := build(c)
			n.Groups = append(n.Groups, child)
			n.Version = later(n.Version, child.Version)
		}
		if gid == RootID {
			n.Version = later(t.Version, "")
		}
		if n.Version == "" {
			n.Version = EmptyVersion
		}
		return n
	}
	return build(id), true
}

func later(a, b string) string {
	if b > a {
		return b
	}
	return a
}

// GroupIDs returns the id of every group that holds an app or an explicit group, or is one, with
// the root, sorted.
func (t *Tree) GroupIDs() []string {
	set := map[string]bool{RootID: true}
	add := func(gid string) {
		for gid != RootID && !set[gid] {
			set[gid] = true
			gid = Parent(gid)
		}
	}
	for aid := range t.Apps {
		add(Parent(aid))
	}
	for gid := range t.Groups {
		add(gid)
	}
	out := make([]string, 0, len(set))
	for gid := range set {
		out = append(out, gid)
	}
	sort.Strings(out)
	return out
}

// CheckIDs reports apps and groups that share an id (Marathon: "Groups and Applications may not
// have the same identifier."): an app that is also an explicit group, holds an app or an
// explicit group, or lies below another app. Only the apps and groups named in changed are
// checked, which is enough when the tree was valid before they changed.
func (t *Tree) CheckIDs(changed []string) error {
	var v violations
	reported := map[string]bool{}
	clash := func(id string) {
		if !reported[id] {
			reported[id] = true
			v.add("/", "Groups and Applications may not have the same identifier: %s", id)
		}
	}
	holds := t.holder(len(changed))
	for _, id := range changed {
		_, isApp := t.Apps[id]
		_, isGroup := t.Groups[id]
		if !isApp && !isGroup {
			continue // removed
		}
		if isApp && (isGroup || holds(id)) {
			clash(id)
		}
		for p := Parent(id); p != RootID; p = Parent(p) {
			if _, ok := t.Apps[p]; ok {
				clash(p)
			}
		}
	}
	return v.err()
}

// holder returns a function that reports whether any app or explicit group lies below an id:
// a scan for a few lookups, a binary search over the sorted ids for many.
func (t *Tree) holder(lookups int) func(id string) bool {
	if lookups <= 4 {
		return t.holds
	}
	ids := make([]string, 0, len(t.Apps)+len(t.Groups))
	for aid := range t.Apps {
		ids = append(ids, aid)
	}
	for gid := range t.Groups {
		ids = append(ids, gid)
	}
	sort.Strings(ids)
	return func(id string) bool {
		prefix := id + "/"
		i := sort.SearchStrings(ids, prefix)
		return i < len(ids) && strings.HasPrefix(ids[i], prefix)
	}
}
