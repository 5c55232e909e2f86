package deploy

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"strata/services/apps/app"
)

// Auto-revert is a Strata extension, after Nomad's auto_revert: when a deployment is FAILED by
// the progress deadline, each of its apps that asks for it (upgradeStrategy.autoRevert, or the
// Manager's default when the app does not say) is rolled back to its last good version (the
// target of its last deployment that succeeded) by a new deployment, started at once and named
// in the failed one's reason and revertedBy (the new one's revertOf names the failed one). An
// app without a last good version (a new app whose first deployment failed), or whose last good
// version is no longer stored, or is already what runs, is left as it is. A revert that fails
// in turn is not reverted again. Canceled and superseded deployments are never reverted.

// autoRevert reports whether the app asks for auto-revert.
func (m *Manager) autoRevert(a *app.App) bool {
	if a != nil && a.UpgradeStrategy.AutoRevert != nil {
		return *a.UpgradeStrategy.AutoRevert
	}
	return m.cfg.AutoRevert
}

// loadLastGood reads the apps' last good versions. m.mu is held.
func (m *Manager) loadLastGood(ctx context.Context) {
	lg, err := m.cfg.Store.LastGoodVersions(ctx)
	if err != nil {
		m.log.Error("loading the last good versions; auto-revert knows none until deployments succeed", "err", err)
		return
	}
	for id, v := range lg {
		m.lastGood[id] = v
	}
}

// recordGood makes the targets of a deployment that succeeded their apps' last good versions.
// m.mu is held.
func (m *Manager) recordGood(ctx context.Context, d *Deployment) {
	for _, id := range d.AffectedApps {
		t := d.Targets[id]
		if t == nil {
			delete(m.lastGood, id)
			continue
		}
		m.lastGood[id] = t.Version
		if err := m.cfg.Store.SetLastGoodVersion(ctx, id, t.Version); err != nil {
			m.log.Error("recording the last good version", "app", id, "version", t.Version, "err", err)
		}
	}
}

// revertChanges lists the changes that roll the apps of the failed deployment d back to their
// last good versions (none when d is itself a revert). m.mu is held.
func (m *Manager) revertChanges(ctx context.Context, d *Deployment) []Change {
	if d.RevertOf != "" {
		return nil
	}
	var changes []Change
	for _, id := range d.AffectedApps {
		cur := m.apps[id]
		if cur == nil || !m.autoRevert(d.Targets[id]) {
			continue
		}
		good, ok := m.lastGood[id]
		if !ok {
			m.log.Warn("auto-revert: the app has no last good version; leaving it as it is", "deployment", d.ID, "app", id)
			continue
		}
		if good == cur.Version {
			continue
		}
		old, err := m.cfg.Store.AppVersion(ctx, id, good)
		if err != nil {
			m.log.Warn("auto-revert: the last good version cannot be read; leaving the app as it is", "deployment", d.ID,
				"app", id, "version", good, "err", err)
			continue
		}
		if app.SameConfig(old, cur) && old.Instances == cur.Instances {
			continue
		}
		changes = append(changes, Change{Kind: PutApp, App: old})
	}
	sort.Slice(changes, func(i, j int) bool { return changes[i].appID() < changes[j].appID() })
	return changes
}

// startRevert starts the revert of the failed deployment d under the id d.RevertedBy. If it
// cannot start, d's reason says so. m.mu is held.
func (m *Manager) startRevert(ctx context.Context, d *Deployment, changes []Change) {
	rev, err := m.deployAs(ctx, d.RevertedBy, d.ID, changes, false, nil)
	if err == nil {
		m.log.Info("auto-revert started", "deployment", rev.ID, "reverts", d.ID, "apps", rev.AffectedApps)
		return
	}
	var locked *LockedError
	if errors.As(err, &locked) {
		err = fmt.Errorf("the apps are locked by deployments %v", locked.Deployments)
	}
	m.log.Error("auto-revert could not start", "deployment", d.ID, "err", err)
	d.Reason = fmt.Sprintf("%s (it could not start: %v)", d.Reason, err)
	d.RevertedBy, d.UpdatedAt = "", time.Now().UTC()
	m.save(ctx, d)
}
