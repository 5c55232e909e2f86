package deploy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/google/uuid"

	"strata/services/apps/app"
	"strata/services/apps/instance"
	"strata/services/apps/readiness"
)

// Cluster is what the Manager needs from the framework.
type Cluster interface {
	SetApp(a *app.App, held bool, kill []string)
	Hold(appID string, held bool)
	RemoveApp(appID string)
	Schedule(appID string, n int) error
	Kill(taskIDs []string) []*instance.Instance
	Instances(appID string) []*instance.Instance
	Ready() bool
}

// Store persists what the Manager changes.
type Store interface {
	// RootStore commits every deployment with the root version it makes (groups.go).
	RootStore
	// SaveDeployment saves one deployment's progress.
	SaveDeployment(ctx context.Context, d *Deployment) error
	AppVersions(ctx context.Context, id string) ([]string, error)
	AppVersion(ctx context.Context, id, version string) (*app.App, error)
	// LastGoodVersions returns every app's last good version (the target of its last deployment
	// that succeeded); SetLastGoodVersion records one.
	LastGoodVersions(ctx context.Context) (map[string]string, error)
	SetLastGoodVersion(ctx context.Context, appID, version string) error
}

// Readiness runs the readiness checks of instances (a *readiness.Checker).
type Readiness interface {
	// Ensure starts the checks that are not running or done yet.
	Ensure(specs []readiness.Spec)
	// Ready reports whether all of a task's checks passed.
	Ready(taskID string) bool
	// Results are the check results of an app's tasks.
	Results(appID string) []readiness.Result
	// Retain stops and forgets the checks of the tasks not in keep (nil: all).
	Retain(keep map[string]bool)
}

// Defaults.
const (
	DefaultProgressDeadline = 10 * time.Minute
	DefaultTick             = 250 * time.Millisecond
	finishedKept            = 50
)

// Config configures a Manager. Cluster and Store are required.
type Config struct {
	Cluster Cluster
	Store   Store
	// ProgressDeadline fails a deployment that makes no progress for this long (default 10
	// minutes; negative: never).
	ProgressDeadline time.Duration
	Tick             time.Duration
	// Events receives the deployment and group events (nil: none).
	Events Publisher
	// Readiness runs the readiness checks of the instances deployments start (nil: a
	// readiness.Checker of the Manager's own, which wakes it on every result).
	Readiness Readiness
	// AutoRevert is the default of upgradeStrategy.autoRevert (a Strata extension) for apps
	// that do not set it: a deployment FAILED by the progress deadline is followed by one that
	// rolls its apps back to their last good versions (autorevert.go).
	AutoRevert bool
	Logger     *slog.Logger
}

// ChangeKind says what a Change does.
type ChangeKind int

// Change kinds.
const (
	// PutApp creates the app or replaces its definition.
	PutApp ChangeKind = iota
	// DeleteApp removes the app.
	DeleteApp
	// RestartApp replaces every instance of the app (a new version with the same definition).
	RestartApp
)

// Change is one app's part of a deployment.
type Change struct {
	Kind ChangeKind
	// App is the target definition of a PutApp: normalized and validated, with an absolute id.
	App *app.App
	// ID names the app of a DeleteApp or RestartApp.
	ID string
	// Create makes a PutApp fail with AppExistsError if the app exists (POST).
	Create bool
	// Kill names instances a PutApp that scales down kills (instead of the killSelection's).
	Kill []string
}

func (c Change) appID() string {
	if c.Kind == PutApp {
		return c.App.ID
	}
	return c.ID
}

// Manager owns the app definitions and runs the deployments.
type Manager struct {
	cfg  Config
	log  *slog.Logger
	wake chan struct{}

	mu       sync.Mutex
	apps     map[string]*app.App
	running  []*Deployment
	finished map[string]*Deployment
	order    []string // finished ids, oldest first
	locks    map[string]string
	tree     treeState // explicit groups, root version (groups.go)
	// lastGood is every app's last good version (autorevert.go).
	lastGood map[string]string
	// checking collects, during one step, the tasks whose readiness checks are wanted.
	checking map[string]bool
}

// New returns a Manager.
func New(cfg Config) (*Manager, error) {
	if cfg.Cluster == nil || cfg.Store == nil {
		return nil, errors.New("deploy: Cluster and Store are required")
	}
	if cfg.ProgressDeadline == 0 {
		cfg.ProgressDeadline = DefaultProgressDeadline
	}
	if cfg.Tick <= 0 {
		cfg.Tick = DefaultTick
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Events == nil {
		cfg.Events = nopPublisher{}
	}
	m := &Manager{
		cfg: cfg, log: cfg.Logger.With("component", "apps-deploy"), wake: make(chan struct{}, 1),
		apps: map[string]*app.App{}, finished: map[string]*Deployment{}, locks: map[string]string{},
		lastGood: map[string]string{}, checking: map[string]bool{},
	}
	if m.cfg.Readiness == nil {
		m.cfg.Readiness = readiness.New(readiness.Options{OnResult: m.Wake, Logger: cfg.Logger})
	}
	return m, nil
}

// Load installs the stored apps and deployments (running ones resume), reads the group tree
// from the store and hands the apps to the cluster. Call it before Run.
func (m *Manager) Load(apps []*app.App, deployments []*Deployment) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, a := range apps {
		m.apps[a.ID] = a
	}
	for _, d := range deployments {
		if d.Status != StatusRunning {
			m.remember(d)
			continue
		}
		m.running = append(m.running, d)
		for _, id := range d.AffectedApps {
			m.locks[id] = d.ID
		}
	}
	m.loadTree(context.Background())
	m.loadLastGood(context.Background())
	m.showAll()
}

// Wake makes the Manager look at its deployments now (the framework calls it on changes).
func (m *Manager) Wake() {
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// Apps returns the current app definitions, by id.
func (m *Manager) Apps() []*app.App {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]*app.App, 0, len(m.apps))
	for _, a := range m.apps {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// App returns one app's current definition (shared: do not modify it).
func (m *Manager) App(id string) (*app.App, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	a, ok := m.apps[id]
	return a, ok
}

// Versions lists an app's stored versions, newest first.
func (m *Manager) Versions(ctx context.Context, id string) ([]string, error) {
	if _, ok := m.App(id); !ok {
		return nil, &AppNotFoundError{ID: id}
	}
	return m.cfg.Store.AppVersions(ctx, id)
}

// Version returns the app as it was at a version.
func (m *Manager) Version(ctx context.Context, id, version string) (*app.App, error) {
	if _, ok := m.App(id); !ok {
		return nil, &AppNotFoundError{ID: id}
	}
	return m.cfg.Store.AppVersion(ctx, id, version)
}

// Deployments returns the running deployments, oldest first.
func (m *Manager) Deployments() []*Deployment {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]*Deployment, 0, len(m.running))
	for _, d := range m.running {
		out = append(out, d.Clone())
	}
	return out
}

// Deployment returns a running or recently finished deployment.
func (m *Manager) Deployment(id string) (*Deployment, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, d := range m.running {
		if d.ID == id {
			return d.Clone(), true
		}
	}
	if d, ok := m.finished[id]; ok {
		return d.Clone(), true
	}
	return nil, false
}

// DeploymentsOf returns the ids of the running deployments that affect an app.
func (m *Manager) DeploymentsOf(appID string) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if id, ok := m.locks[appID]; ok {
		return []string{id}
	}
	return []string{}
}

// Deploy applies changes as one deployment. Changes to apps that running deployments hold
// fail with *LockedError unless force, which cancels those deployments (without rollback).
// It returns the deployment, which is already finished when nothing needs to run.
func (m *Manager) Deploy(ctx context.Context, changes []Change, force bool) (*Deployment, error) {
	m.mu.Lock()
	defer m.Wake()
	defer m.mu.Unlock()
	return m.deploy(ctx, changes, force, nil)
}

// deploy makes one deployment of changes (and of the group edit e, if any). m.mu is held.
func (m *Manager) deploy(ctx context.Context, changes []Change, force bool, e *treeEdit) (*Deployment, error) {
	return m.deployAs(ctx, uuid.NewString(), "", changes, force, e)
}

// deployAs is deploy with the deployment's id given, and revertOf naming the deployment an
// auto-revert follows ("" for any other). m.mu is held.
func (m *Manager) deployAs(ctx context.Context, id, revertOf string, changes []Change, force bool, e *treeEdit) (*Deployment, error) {
	now := time.Now().UTC()
	d := &Deployment{
		ID: id, RevertOf: revertOf, Status: StatusRunning, CreatedAt: now, UpdatedAt: now, LastProgressAt: now,
		Targets: map[string]*app.App{}, Originals: map[string]*app.App{}, Kill: map[string][]string{},
	}
	// One version for the whole deployment, later than every affected app's and the root's.
	d.Version = app.NextVersion(now, m.tree.version)
	for _, c := range changes {
		if cur := m.apps[c.appID()]; cur != nil {
			if v := app.NextVersion(now, cur.Version); v > d.Version {
				d.Version = v
			}
		}
	}
	var ids []string
	others := m.apps // the apps service ports are unique among, with this deployment's new ones
	if len(changes) > 1 {
		others = make(map[string]*app.App, len(m.apps))
		for id, a := range m.apps {
			others[id] = a
		}
	}
	for _, c := range changes {
		id := c.appID()
		if _, dup := d.Originals[id]; dup || d.Targets[id] != nil {
			return nil, fmt.Errorf("deploy: app %s changed twice in one deployment", id)
		}
		cur := m.apps[id]
		if cur != nil {
			d.Originals[id] = cur
		}
		switch c.Kind {
		case PutApp:
			if c.Create && cur != nil {
				return nil, &AppExistsError{ID: id}
			}
			target := c.App.Clone()
			if err := assignServicePorts(target, cur, others); err != nil {
				return nil, fmt.Errorf("deploy: app %s: %w", id, err)
			}
			if len(changes) > 1 {
				others[id] = target
			}
			target.SetVersion(d.Version, cur)
			d.Targets[id] = target
			if len(c.Kill) > 0 {
				d.Kill[id] = append([]string(nil), c.Kill...)
			}
		case DeleteApp:
			if cur == nil {
				return nil, &AppNotFoundError{ID: id}
			}
		case RestartApp:
			if cur == nil {
				return nil, &AppNotFoundError{ID: id}
			}
			target := cur.Clone()
			target.SetVersion(d.Version, nil) // a restart is a configuration change
			d.Targets[id] = target
		}
		ids = append(ids, id)
	}
	sort.Strings(ids)
	d.AffectedApps = ids
	tp, err := m.planTree(d, ids, e)
	if err != nil {
		return nil, err
	}
	if e != nil && e.dryRun {
		return d.Clone(), nil
	}

	// Locks.
	var conflicts []*Deployment
	seen := map[string]bool{}
	for _, id := range ids {
		if did, ok := m.locks[id]; ok && !seen[did] {
			seen[did] = true
			for _, r := range m.running {
				if r.ID == did {
					conflicts = append(conflicts, r)
				}
			}
		}
	}
	if len(conflicts) > 0 && !force {
		err := &LockedError{}
		for _, c := range conflicts {
			err.Deployments = append(err.Deployments, c.ID)
		}
		return nil, err
	}

	if len(d.Steps) == 0 {
		d.Status = StatusSuccess
	} else {
		d.CurrentStep = 1
	}
	m.releaseFirst(d, tp.graph)
	var save []*app.App
	var del []string
	for _, id := range ids {
		if t := d.Targets[id]; t != nil {
			save = append(save, t)
		} else {
			del = append(del, id)
		}
	}
	persist := []*Deployment{d}
	for _, c := range conflicts {
		c.Status, c.Reason, c.UpdatedAt = StatusCanceled, "superseded by forced deployment "+d.ID, now
		persist = append(persist, c)
	}
	if err := m.cfg.Store.CommitRoot(ctx, tp.root, save, del, persist); err != nil {
		for _, c := range conflicts {
			c.Status, c.Reason = StatusRunning, ""
		}
		return nil, fmt.Errorf("deploy: %w", err)
	}

	// Committed: update memory and the cluster.
	m.commitTree(tp)
	for _, c := range conflicts {
		m.retire(c)
		for _, id := range c.AffectedApps {
			if !d.affects(id) {
				m.handOver(c, id)
			}
		}
		m.log.Info("deployment canceled by a forced one", "deployment", c.ID, "by", d.ID)
	}
	for _, id := range ids {
		if t := d.Targets[id]; t != nil {
			m.apps[id] = t
		} else {
			delete(m.apps, id)
		}
		m.show(d, id)
	}
	if d.Status == StatusRunning {
		m.running = append(m.running, d)
		for _, id := range ids {
			m.locks[id] = d.ID
		}
		m.log.Info("deployment started", "deployment", d.ID, "apps", ids, "steps", len(d.Steps), "version", d.Version)
	} else {
		m.remember(d)
	}
	m.announce(d, conflicts)
	return d.Clone(), nil
}

// Cancel stops a running deployment. With rollback it starts a new deployment that takes the
// affected apps back to their definitions before it (and returns it); without, the apps keep
// what runs now.
func (m *Manager) Cancel(ctx context.Context, id string, rollback bool) (*Deployment, error) {
	m.mu.Lock()
	defer m.Wake()
	defer m.mu.Unlock()
	var d *Deployment
	for _, r := range m.running {
		if r.ID == id {
			d = r
		}
	}
	if d == nil {
		return nil, &DeploymentNotFoundError{ID: id}
	}
	now := time.Now().UTC()
	prevStatus := d.Status
	d.Status, d.UpdatedAt = StatusCanceled, now
	d.Reason = "canceled"
	if rollback {
		d.Reason = "canceled and rolled back"
	}
	if err := m.cfg.Store.SaveDeployment(ctx, d); err != nil {
		d.Status = prevStatus
		return nil, fmt.Errorf("deploy: %w", err)
	}
	m.retire(d)
	for _, appID := range d.AffectedApps {
		m.handOver(d, appID)
	}
	m.log.Info("deployment canceled", "deployment", id, "rollback", rollback)
	m.ended(d)
	if !rollback {
		return nil, nil
	}
	var changes []Change
	for _, appID := range d.AffectedApps {
		orig, cur := d.Originals[appID], m.apps[appID]
		switch {
		case orig == nil && cur != nil:
			changes = append(changes, Change{Kind: DeleteApp, ID: appID})
		case orig != nil:
			changes = append(changes, Change{Kind: PutApp, App: orig})
		}
	}
	return m.deploy(ctx, changes, false, restoreGroups(d))
}

// retire removes a deployment from the running ones and releases its locks. m.mu is held.
func (m *Manager) retire(d *Deployment) {
	for i, r := range m.running {
		if r == d {
			m.running = append(m.running[:i], m.running[i+1:]...)
			break
		}
	}
	for _, id := range d.AffectedApps {
		if m.locks[id] == d.ID {
			delete(m.locks, id)
		}
	}
	m.remember(d)
}

// remember keeps a finished deployment for GET /v2/deployments/{id}. m.mu is held.
func (m *Manager) remember(d *Deployment) {
	if _, ok := m.finished[d.ID]; !ok {
		m.order = append(m.order, d.ID)
	}
	m.finished[d.ID] = d
	for len(m.order) > finishedKept {
		delete(m.finished, m.order[0])
		m.order = m.order[1:]
	}
}
