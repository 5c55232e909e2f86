package framework

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"strata/kernel/mesos/mesospb"
	"strata/kernel/scheduler"
	"strata/services/apps/app"
	"strata/services/apps/instance"
)

// TaskFailure is an app's last task failure (AppInfo.lastTaskFailure).
type TaskFailure struct {
	AppID     string `json:"appId"`
	Host      string `json:"host"`
	Message   string `json:"message"`
	State     string `json:"state"`
	TaskID    string `json:"taskId"`
	Timestamp string `json:"timestamp"`
	Version   string `json:"version"`
	SlaveID   string `json:"slaveId"`
}

// appState is what the framework knows of one app.
type appState struct {
	app *app.App
	// held apps are not converged: a deployment step (a rolling restart, a stop) decides
	// what runs.
	held bool
	// failures counts consecutive unexpected task ends since the last configuration change;
	// delayUntil is when the next instance may launch.
	failures   int
	delayUntil time.Time
	// healthKills is the app's allowance of health kills (healthkill.go).
	healthKills tokenBucket
	placer
}

// Framework is the apps service's Mesos framework. Create it with New, Load the stored
// instances, SetApp every app, then Run.
type Framework struct {
	cfg     Config
	log     *slog.Logger
	metrics *metrics

	clientPtr atomic.Pointer[scheduler.Client]
	kickCh    chan struct{}

	mu          sync.Mutex
	apps        map[string]*appState
	instances   map[string]*instance.Instance // by task id
	failures    map[string]*TaskFailure       // by app id
	frameworkID string
	connected   bool
	reconciled  bool
	generation  int             // counts subscriptions
	pending     map[string]bool // explicit reconciliation not answered yet
	suppressed  bool
	reviveWant  bool
	lastRecon   time.Time
}

// New checks cfg and returns a Framework.
func New(cfg Config) (*Framework, error) {
	if err := cfg.applyDefaults(); err != nil {
		return nil, err
	}
	f := &Framework{
		cfg:       cfg,
		log:       cfg.Logger.With("component", "apps-framework"),
		kickCh:    make(chan struct{}, 1),
		apps:      map[string]*appState{},
		instances: map[string]*instance.Instance{},
		failures:  map[string]*TaskFailure{},
		pending:   map[string]bool{},
	}
	f.metrics = newMetrics(f, cfg.Registerer)
	return f, nil
}

// Load puts stored instances and last task failures in place. Call it before Run.
func (f *Framework) Load(list []*instance.Instance, failures map[string][]byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, i := range list {
		f.instances[i.TaskID] = i.Clone()
	}
	for id, b := range failures {
		var tf TaskFailure
		if json.Unmarshal(b, &tf) == nil {
			f.failures[id] = &tf
		}
	}
}

// SetApp makes a the app's current definition. With held, the framework leaves the number of
// its instances to the caller (a deployment step); otherwise it schedules or kills instances
// until the active ones number a.Instances. kill names instances to kill first (a scale down
// that chose them), atomically with the change, so that no other instance is picked instead.
// A configuration change resets the launch delay and drops scheduled instances of an older
// configuration.
func (f *Framework) SetApp(a *app.App, held bool, kill []string) {
	f.mu.Lock()
	st := f.apps[a.ID]
	if st == nil {
		st = &appState{}
		f.apps[a.ID] = st
	}
	changed := st.app == nil || st.app.ConfigVersion() != a.ConfigVersion()
	if changed {
		st.failures, st.delayUntil = 0, time.Time{}
		var drop []string
		for id, i := range f.instances {
			if i.AppID == a.ID && i.State == instance.Scheduled && i.ConfigVersion != a.ConfigVersion() {
				drop = append(drop, id)
			}
		}
		f.forget(drop...)
		st.stats.Reset() // a new launch attempt
	}
	st.app, st.held = a.Clone(), held
	if changed {
		f.compile(st, time.Now())
	}
	f.killLocked(kill)
	f.converge(a.ID)
	f.mu.Unlock()
	f.kick()
	f.cfg.OnChange()
}

// Hold sets whether a deployment holds the app (see SetApp).
func (f *Framework) Hold(appID string, held bool) {
	f.mu.Lock()
	if st := f.apps[appID]; st != nil {
		st.held = held
		f.converge(appID)
	}
	f.mu.Unlock()
	f.kick()
}

// RemoveApp forgets the app and kills all its instances.
func (f *Framework) RemoveApp(appID string) {
	f.mu.Lock()
	delete(f.apps, appID)
	delete(f.failures, appID)
	f.converge(appID)
	f.mu.Unlock()
	f.kick()
	f.cfg.OnChange()
}

// Schedule adds n instances of the app's current definition to the launch queue.
func (f *Framework) Schedule(appID string, n int) error {
	f.mu.Lock()
	defer f.kick()
	defer f.mu.Unlock()
	st := f.apps[appID]
	if st == nil {
		return fmt.Errorf("framework: schedule: unknown app %s", appID)
	}
	_, err := f.schedule(st.app, n)
	return err
}

// schedule creates n scheduled instances of a and returns them. f.mu is held.
func (f *Framework) schedule(a *app.App, n int) ([]*instance.Instance, error) {
	if n <= 0 {
		return nil, nil
	}
	now := time.Now().UTC()
	list := make([]*instance.Instance, 0, n)
	for k := 0; k < n; k++ {
		list = append(list, &instance.Instance{
			TaskID: app.NewTaskID(a.ID), AppID: a.ID, Version: a.Version, ConfigVersion: a.ConfigVersion(),
			State: instance.Scheduled, ScheduledAt: now, UpdatedAt: now,
		})
	}
	if err := f.cfg.Store.PutInstances(context.Background(), list...); err != nil {
		return nil, fmt.Errorf("framework: schedule %d instances of %s: %w", n, a.ID, err)
	}
	for _, i := range list {
		f.instances[i.TaskID] = i
	}
	f.reviveWant = true
	f.log.Info("scheduled instances", "app", a.ID, "count", n, "version", a.Version)
	return list, nil
}

// Kill asks for instances to be killed: a scheduled one is dropped at once, a launched one is
// marked (it no longer counts toward its app) and its task killed. It returns copies of the
// instances it marked or dropped; unknown ids are skipped.
func (f *Framework) Kill(taskIDs []string) []*instance.Instance {
	f.mu.Lock()
	out := f.killLocked(taskIDs)
	f.mu.Unlock()
	f.kick()
	f.cfg.OnChange()
	return out
}

func (f *Framework) killLocked(taskIDs []string) []*instance.Instance {
	var out []*instance.Instance
	var drop []string
	var mark []*instance.Instance
	for _, id := range taskIDs {
		i := f.instances[id]
		if i == nil {
			continue
		}
		out = append(out, i.Clone())
		switch {
		case i.State == instance.Scheduled:
			drop = append(drop, id)
		case i.KillHeld(): // a health kill waiting for its replacement: kill it now
			i.KillHeldSince = time.Time{}
			i.UpdatedAt = time.Now().UTC()
			mark = append(mark, i)
		case !i.KillRequested:
			i.KillRequested = true
			i.UpdatedAt = time.Now().UTC()
			mark = append(mark, i)
			f.reindex(i, i.UpdatedAt)
		}
	}
	f.forget(drop...)
	if err := f.cfg.Store.PutInstances(context.Background(), mark...); err != nil {
		f.log.Error("persisting kill requests", "err", err)
	}
	return out
}

// forget removes instances from memory and the store. f.mu is held.
func (f *Framework) forget(taskIDs ...string) {
	if len(taskIDs) == 0 {
		return
	}
	for _, id := range taskIDs {
		if i := f.instances[id]; i != nil {
			f.unindex(i)
		}
		delete(f.instances, id)
	}
	if err := f.cfg.Store.DeleteInstances(context.Background(), taskIDs...); err != nil {
		f.log.Error("deleting instances", "err", err)
	}
}

// converge schedules or kills instances of an app that is not held so that its active
// instances number its instances, and kills every instance of an app that is gone. It does
// nothing before reconciliation. f.mu is held.
func (f *Framework) converge(appID string) {
	if !f.reconciled {
		return
	}
	st := f.apps[appID]
	now := time.Now()
	if st == nil {
		var orphans []string
		for id, i := range f.instances {
			if i.AppID == appID {
				orphans = append(orphans, id)
			}
		}
		f.killLocked(orphans)
		return
	}
	if st.held {
		return
	}
	active := f.activeOf(st, now)
	switch n := st.app.Instances; {
	case len(active) < n:
		if _, err := f.schedule(st.app, n-len(active)); err != nil {
			f.log.Error("scheduling instances", "app", appID, "err", err)
		}
	case len(active) > n:
		instance.KillOrder(active, st.app.KillSelection == app.OldestFirst, len(st.app.HealthChecks) > 0)
		ids := make([]string, 0, len(active)-n)
		for _, i := range active[:len(active)-n] {
			ids = append(ids, i.TaskID)
		}
		f.log.Info("killing surplus instances", "app", appID, "count", len(ids), "kill_selection", st.app.KillSelection)
		f.killLocked(ids)
	}
}

// activeOf lists the app's active instances. f.mu is held.
func (f *Framework) activeOf(st *appState, now time.Time) []*instance.Instance {
	inactive, disabled := unreachableTimes(st.app)
	var out []*instance.Instance
	for _, i := range f.instances {
		if i.AppID == st.app.ID && i.Active(now, inactive, disabled) {
			out = append(out, i)
		}
	}
	return out
}

func unreachableTimes(a *app.App) (inactive time.Duration, disabled bool) {
	u := a.UnreachableStrategy
	if u == nil {
		return 0, false
	}
	return time.Duration(u.InactiveAfterSeconds) * time.Second, u.Disabled
}

// recordFailure applies the launch backoff and remembers the app's last task failure after an
// instance ended unexpectedly. f.mu is held.
func (f *Framework) recordFailure(i *instance.Instance, st *mesospb.TaskStatus, now time.Time) {
	tf := &TaskFailure{
		AppID: i.AppID, Host: i.Host, Message: st.GetMessage(), State: st.GetState().String(), TaskID: i.TaskID,
		Timestamp: app.FormatVersion(now), Version: i.Version, SlaveID: i.AgentID,
	}
	f.failures[i.AppID] = tf
	if b, err := json.Marshal(tf); err == nil {
		if err := f.cfg.Store.SetLastTaskFailure(context.Background(), i.AppID, b); err != nil {
			f.log.Error("persisting task failure", "app", i.AppID, "err", err)
		}
	}
	a := f.apps[i.AppID]
	if a == nil {
		return
	}
	a.failures++
	d := LaunchDelay(a.app, a.failures)
	a.delayUntil = now.Add(d)
	f.log.Info("task ended unexpectedly", "app", i.AppID, "task", i.TaskID, "state", tf.State,
		"message", tf.Message, "launch_delay", d)
}

// LaunchDelay is the delay before launching again after n consecutive failures:
// backoffSeconds × backoffFactor^(n-1), at most maxLaunchDelaySeconds.
func LaunchDelay(a *app.App, n int) time.Duration {
	if n <= 0 {
		return 0
	}
	secs := float64(a.BackoffSeconds) * math.Pow(a.BackoffFactor, float64(n-1))
	secs = math.Min(secs, float64(a.MaxLaunchDelaySeconds))
	return time.Duration(secs * float64(time.Second))
}

// ResetDelay clears the app's launch delay (DELETE /v2/queue/{id}/delay).
func (f *Framework) ResetDelay(appID string) bool {
	f.mu.Lock()
	st := f.apps[appID]
	if st != nil {
		st.failures, st.delayUntil = 0, time.Time{}
		f.reviveWant = true
	}
	f.mu.Unlock()
	f.kick()
	return st != nil
}

// Delay reports until when the app's launches are held back, if they are.
func (f *Framework) Delay(appID string) (time.Time, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if st := f.apps[appID]; st != nil && time.Now().Before(st.delayUntil) {
		return st.delayUntil, true
	}
	return time.Time{}, false
}

// Instances returns copies of the app's instances ("" for all), oldest first.
func (f *Framework) Instances(appID string) []*instance.Instance {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*instance.Instance
	for _, i := range f.instances {
		if appID == "" || i.AppID == appID {
			out = append(out, i.Clone())
		}
	}
	sort.Slice(out, func(a, b int) bool {
		if !out[a].ScheduledAt.Equal(out[b].ScheduledAt) {
			return out[a].ScheduledAt.Before(out[b].ScheduledAt)
		}
		return out[a].TaskID < out[b].TaskID
	})
	return out
}

// Instance returns a copy of one instance.
func (f *Framework) Instance(taskID string) (*instance.Instance, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	i, ok := f.instances[taskID]
	if !ok {
		return nil, false
	}
	return i.Clone(), true
}

// LastTaskFailure returns the app's last task failure, if any.
func (f *Framework) LastTaskFailure(appID string) *TaskFailure {
	f.mu.Lock()
	defer f.mu.Unlock()
	if tf := f.failures[appID]; tf != nil {
		c := *tf
		return &c
	}
	return nil
}

// Ready reports whether the framework is subscribed and has reconciled, so that decisions on
// instance counts are safe to make.
func (f *Framework) Ready() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.connected && f.reconciled
}

// FrameworkID is the framework id (empty before the first subscription).
func (f *Framework) FrameworkID() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.frameworkID
}

// Leader is the base URL of the master the framework is subscribed to, or "".
func (f *Framework) Leader() string {
	if c := f.clientPtr.Load(); c != nil {
		return c.Leader()
	}
	return ""
}

// client is the scheduler client of the current subscription (set by Run before any event).
func (f *Framework) client() *scheduler.Client { return f.clientPtr.Load() }

// kick wakes the housekeeping loop.
func (f *Framework) kick() {
	select {
	case f.kickCh <- struct{}{}:
	default:
	}
}
