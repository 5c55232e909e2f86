package deploy

import (
	"context"
	"fmt"
	"sort"

	"strata/services/apps/app"
)

// Root is one version of the root group as the store keeps it: its version and its explicit
// groups. The apps of a root version are the app versions stored with it: every deployment makes
// a root version, and the apps it changes get that same version.
type Root struct {
	Version string           `json:"version"`
	Groups  []*app.GroupSpec `json:"groups"`
}

// RootStore keeps the versions of the root group, bounded like the apps' versions.
type RootStore interface {
	// CommitRoot saves the apps in save (each as a new version), deletes the apps in del
	// (keeping their versions as long as a stored root version holds them), saves the
	// deployments and stores root as the newest root version, all in one transaction.
	CommitRoot(ctx context.Context, root *Root, save []*app.App, del []string, deployments []*Deployment) error
	// LatestRoot returns the newest root version, or nil when none is stored.
	LatestRoot(ctx context.Context) (*Root, error)
	// RootVersions lists the stored root versions, newest first.
	RootVersions(ctx context.Context) ([]string, error)
	// RootAt returns a stored root version and the apps below group ("/": all) as they were at
	// it. An unknown version is ErrVersionNotFound (wrapped).
	RootAt(ctx context.Context, version, group string) (*Root, []*app.App, error)
}

// GroupNotFoundError names a group that does not exist (at Version, when set).
type GroupNotFoundError struct{ ID, Version string }

func (e *GroupNotFoundError) Error() string {
	if e.Version != "" {
		return fmt.Sprintf("Group '%s' does not exist in version %s", e.ID, e.Version)
	}
	return fmt.Sprintf("Group '%s' does not exist", e.ID)
}

// GroupExistsError is a creation (POST /v2/groups) of a group that exists, or at the id of an
// app.
type GroupExistsError struct {
	ID    string
	IsApp bool
}

func (e *GroupExistsError) Error() string {
	if e.IsApp {
		return fmt.Sprintf("An app with the path %s already exists.", e.ID)
	}
	return fmt.Sprintf("Group %s is already created. Use PUT to change this group.", e.ID)
}

// treeState is the Manager's group tree beyond the apps: the explicit groups, the root version,
// how many apps and groups declare dependencies, and the dependency graph of the current tree
// (nil until needed).
type treeState struct {
	groups   map[string]*app.GroupSpec
	version  string
	declared int
	graph    app.Graph
}

// treeEdit is the group part of a deployment: explicit groups to create or replace and to
// remove, and whether only the plan is wanted.
type treeEdit struct {
	put    []*app.GroupSpec
	del    []string
	dryRun bool
}

// loadTree reads the newest root version. m.mu is held.
func (m *Manager) loadTree(ctx context.Context) {
	m.tree.groups = map[string]*app.GroupSpec{}
	m.tree.graph = nil
	root, err := m.cfg.Store.LatestRoot(ctx)
	if err != nil {
		m.log.Error("loading the group tree; explicit groups are missing until the next change", "err", err)
	}
	if root != nil {
		m.tree.version = root.Version
		for _, g := range root.Groups {
			m.tree.groups[g.ID] = g
		}
	}
	m.tree.declared = 0
	for _, a := range m.apps {
		if a.Version > m.tree.version { // apps saved before root versions existed
			m.tree.version = a.Version
		}
		if len(a.Dependencies) > 0 {
			m.tree.declared++
		}
	}
	for _, g := range m.tree.groups {
		if len(g.Dependencies) > 0 {
			m.tree.declared++
		}
	}
}

// current is the current tree. It shares the Manager's maps: never change it. m.mu is held.
func (m *Manager) current() *app.Tree {
	if m.tree.groups == nil {
		m.tree.groups = map[string]*app.GroupSpec{}
	}
	return &app.Tree{Version: m.tree.version, Apps: m.apps, Groups: m.tree.groups}
}

// graph is the dependency graph of the current tree. m.mu is held.
func (m *Manager) graph() app.Graph {
	if m.tree.graph == nil {
		m.tree.graph = app.Graph{}
		if m.tree.declared > 0 {
			m.tree.graph = m.current().Dependencies()
		}
	}
	return m.tree.graph
}

// Tree returns a snapshot of the root group.
func (m *Manager) Tree() *app.Tree {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.current().Clone()
}

// TreeAt returns the part of the root group below group (all of it for "/") as it was at a
// stored root version, with that version. An unknown version is ErrVersionNotFound (wrapped).
func (m *Manager) TreeAt(ctx context.Context, version, group string) (*app.Tree, error) {
	root, apps, err := m.cfg.Store.RootAt(ctx, version, group)
	if err != nil {
		return nil, err
	}
	return app.NewTree(root.Version, apps, root.Groups), nil
}

// GroupVersions lists the stored root versions at which the group existed, newest first (what
// GET /v2/groups/{id}/versions answers). A group that does not exist now is a
// *GroupNotFoundError.
func (m *Manager) GroupVersions(ctx context.Context, id string) ([]string, error) {
	m.mu.Lock()
	exists := m.current().HasGroup(id)
	m.mu.Unlock()
	if !exists {
		return nil, &GroupNotFoundError{ID: id}
	}
	versions, err := m.cfg.Store.RootVersions(ctx)
	if err != nil || id == app.RootID {
		return versions, err
	}
	out := []string{}
	for _, v := range versions {
		t, err := m.TreeAt(ctx, v, id)
		if err != nil {
			return nil, err
		}
		if t.HasGroup(id) {
			out = append(out, v)
		}
	}
	return out, nil
}

// DeployTree changes the root group as one deployment: edit gets a copy of the current tree
// (under the Manager's lock, so that nothing changes in between) and changes it; the apps and
// explicit groups that differ afterwards make the deployment. An app whose definition and
// instances are unchanged (once its service ports are assigned as they would be) is left alone.
// With dryRun, nothing is committed: the deployment that would run is returned with its steps.
// Errors from edit are returned as they are.
func (m *Manager) DeployTree(ctx context.Context, edit func(t *app.Tree) error, force, dryRun bool) (*Deployment, error) {
	m.mu.Lock()
	defer m.Wake()
	defer m.mu.Unlock()
	cur := m.current()
	target := cur.Clone()
	if err := edit(target); err != nil {
		return nil, err
	}
	changes, e := diffTree(cur, target)
	e.dryRun = dryRun
	return m.deploy(ctx, changes, force, e)
}

// diffTree lists the changes that take cur to target.
func diffTree(cur, target *app.Tree) ([]Change, *treeEdit) {
	var changes []Change
	for id, t := range target.Apps {
		c := cur.Apps[id]
		if c == t || (c != nil && unchanged(c, t)) {
			continue
		}
		changes = append(changes, Change{Kind: PutApp, App: t})
	}
	for id := range cur.Apps {
		if target.Apps[id] == nil {
			changes = append(changes, Change{Kind: DeleteApp, ID: id})
		}
	}
	sort.Slice(changes, func(i, j int) bool { return changes[i].appID() < changes[j].appID() })
	e := &treeEdit{}
	for id, g := range target.Groups {
		if c := cur.Groups[id]; c == nil || !c.Same(g) {
			e.put = append(e.put, g)
		}
	}
	for id := range cur.Groups {
		if target.Groups[id] == nil {
			e.del = append(e.del, id)
		}
	}
	sort.Slice(e.put, func(i, j int) bool { return e.put[i].ID < e.put[j].ID })
	sort.Strings(e.del)
	return changes, e
}

// unchanged reports whether target asks for nothing new of cur: the same instances and, once
// its service ports are assigned, the same configuration. A target asking for dynamic service
// ports gets cur's again (no other app holds them), so no other app needs to be looked at.
func unchanged(cur, target *app.App) bool {
	if cur.Instances != target.Instances {
		return false
	}
	t := target.Clone()
	if err := assignServicePorts(t, cur, nil); err != nil {
		return false
	}
	return app.SameConfig(t, cur)
}

// restoreGroups is the group part of a rollback of d: the explicit groups d changed, as they
// were.
func restoreGroups(d *Deployment) *treeEdit {
	e := &treeEdit{}
	for id, before := range d.GroupsBefore {
		if before == nil {
			e.del = append(e.del, id)
		} else {
			e.put = append(e.put, before)
		}
	}
	sort.Strings(e.del)
	sort.Slice(e.put, func(i, j int) bool { return e.put[i].ID < e.put[j].ID })
	return e
}

// treePlan is what planTree decides: the explicit groups, how many apps and groups declare
// dependencies, the dependency graph and the root version after the deployment.
type treePlan struct {
	groups   map[string]*app.GroupSpec
	declared int
	graph    app.Graph
	root     *Root
}

// planTree checks the root group d leads to (no app and group share an id, no dependency
// cycle), orders d's steps by the dependencies and records which explicit groups d changes.
// Its cost beyond the changes is a scan of the apps for each new app, and the dependency graph
// when some app or group declares dependencies. m.mu is held.
func (m *Manager) planTree(d *Deployment, ids []string, e *treeEdit) (*treePlan, error) {
	before := m.graph()
	declared := m.tree.declared
	hasDeps := func(a *app.App) int {
		if a != nil && len(a.Dependencies) > 0 {
			return 1
		}
		return 0
	}
	groupDeps := func(g *app.GroupSpec) int {
		if g != nil && len(g.Dependencies) > 0 {
			return 1
		}
		return 0
	}
	groups, copied := m.tree.groups, false
	var check []string
	if e != nil && (len(e.put) > 0 || len(e.del) > 0) {
		groups, copied = cloneGroups(m.tree.groups), true
		d.GroupsBefore = map[string]*app.GroupSpec{}
		for _, id := range e.del {
			d.GroupsBefore[id] = m.tree.groups[id]
			declared -= groupDeps(m.tree.groups[id])
			delete(groups, id)
		}
		for _, g := range e.put {
			d.GroupsBefore[g.ID] = m.tree.groups[g.ID]
			declared += groupDeps(g) - groupDeps(m.tree.groups[g.ID])
			c := g.Clone()
			c.Version = d.Version
			groups[g.ID] = c
			check = append(check, g.ID)
		}
	}
	// The explicit groups that hold a changed app change with it.
	for _, id := range ids {
		for p := app.Parent(id); ; p = app.Parent(p) {
			if g := groups[p]; g != nil && g.Version != d.Version {
				if !copied {
					groups, copied = cloneGroups(groups), true
				}
				c := g.Clone()
				c.Version = d.Version
				groups[p] = c
			}
			if p == app.RootID {
				break
			}
		}
		declared += hasDeps(d.Targets[id]) - hasDeps(d.Originals[id])
		if d.Originals[id] == nil && d.Targets[id] != nil {
			check = append(check, id) // an app that was valid before stays valid
		}
	}

	// The tree after d: m.apps holds d's targets while it is checked.
	restore := m.overlay(d, ids)
	defer restore()
	target := &app.Tree{Version: d.Version, Apps: m.apps, Groups: groups}
	if err := target.CheckIDs(check); err != nil {
		return nil, err
	}
	graph := app.Graph{}
	if declared > 0 {
		graph = target.Dependencies()
		if err := graph.CheckCycles(); err != nil {
			return nil, err
		}
	}
	d.Steps = dependencyPlan(ids, d.Originals, d.Targets, d.Kill, before, graph)

	root := &Root{Version: d.Version, Groups: make([]*app.GroupSpec, 0, len(groups))}
	for _, g := range groups {
		root.Groups = append(root.Groups, g)
	}
	sort.Slice(root.Groups, func(i, j int) bool { return root.Groups[i].ID < root.Groups[j].ID })
	return &treePlan{groups: groups, declared: declared, graph: graph, root: root}, nil
}

// overlay puts d's targets into m.apps (removing the apps it deletes) and returns what undoes
// it. m.mu is held.
func (m *Manager) overlay(d *Deployment, ids []string) (restore func()) {
	saved := make(map[string]*app.App, len(ids))
	for _, id := range ids {
		saved[id] = m.apps[id]
		if t := d.Targets[id]; t != nil {
			m.apps[id] = t
		} else {
			delete(m.apps, id)
		}
	}
	return func() {
		for id, a := range saved {
			if a == nil {
				delete(m.apps, id)
			} else {
				m.apps[id] = a
			}
		}
	}
}

func cloneGroups(in map[string]*app.GroupSpec) map[string]*app.GroupSpec {
	out := make(map[string]*app.GroupSpec, len(in))
	for k, v := range in {
		out[k] = v
	}
	return out
}

// commitTree installs the tree a committed deployment leads to. m.mu is held.
func (m *Manager) commitTree(p *treePlan) {
	m.tree.groups, m.tree.graph, m.tree.version, m.tree.declared = p.groups, p.graph, p.root.Version, p.declared
}
