package framework

import (
	"context"
	"time"

	"google.golang.org/protobuf/proto"

	"strata/kernel/mesos/mesospb"
	"strata/kernel/scheduler"
	"strata/services/apps/instance"
)

// loop does the housekeeping on a tick and whenever kicked: it converges the apps, (re)sends
// kills, enforces the launch timeout and the unreachable strategy, suppresses or revives offers,
// and reconciles periodically.
func (f *Framework) loop(ctx context.Context) {
	t := time.NewTicker(f.cfg.Tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-f.kickCh:
		}
		f.housekeeping(ctx)
	}
}

type killCall struct {
	taskID, agentID string
}

func (f *Framework) housekeeping(ctx context.Context) {
	now := time.Now().UTC()
	f.mu.Lock()
	if !f.connected || !f.reconciled {
		f.mu.Unlock()
		return
	}
	var kills []killCall
	var expunge []string
	changed := f.healthKills(now)
	for _, i := range f.instances {
		switch {
		case i.KillRequested && !i.KillHeld() && i.Launched() && now.Sub(i.KillSentAt) >= f.cfg.KillRetry:
			kills = append(kills, killCall{i.TaskID, i.AgentID})
			i.KillSentAt = now
		case !i.KillRequested && (i.State == instance.Staging || i.State == instance.Starting) &&
			now.Sub(i.StagedAt) > f.cfg.LaunchTimeout:
			f.log.Warn("task did not start within the launch timeout; killing it", "task", i.TaskID, "timeout", f.cfg.LaunchTimeout)
			i.KillRequested, i.KillSentAt = true, now
			kills = append(kills, killCall{i.TaskID, i.AgentID})
			changed = true
		case i.State == instance.Unreachable:
			f.reindex(i, now) // it leaves the constraint index once inactive
			st := f.apps[i.AppID]
			if st == nil || st.app.UnreachableStrategy == nil || st.app.UnreachableStrategy.Disabled {
				continue
			}
			expungeAfter := time.Duration(st.app.UnreachableStrategy.ExpungeAfterSeconds) * time.Second
			if now.Sub(i.UnreachableSince) >= expungeAfter {
				expunge = append(expunge, i.TaskID)
			}
		}
	}
	if len(expunge) > 0 {
		f.log.Info("expunging unreachable instances", "tasks", expunge)
		f.forget(expunge...)
		changed = true
	}
	for id := range f.apps {
		f.converge(id)
	}
	for _, i := range f.instances {
		if f.apps[i.AppID] == nil && !i.KillRequested {
			f.converge(i.AppID) // instances of a removed app
		}
	}
	waiting := len(f.launchable(now))
	var revive, suppress bool
	switch {
	case waiting > 0 && (f.suppressed || f.reviveWant):
		revive = true
		f.suppressed, f.reviveWant = false, false
	case waiting == 0 && !f.suppressed:
		suppress = true
		f.suppressed, f.reviveWant = true, false
	}
	reconcile := now.Sub(f.lastRecon) >= f.cfg.ReconcileInterval
	var recon []scheduler.ReconcileTask
	if reconcile {
		f.lastRecon = now
		for id, i := range f.instances {
			if i.Launched() {
				recon = append(recon, scheduler.ReconcileTask{TaskID: id, AgentID: i.AgentID})
			}
		}
	}
	f.mu.Unlock()

	for _, k := range kills {
		var agent *mesospb.AgentID
		if k.agentID != "" {
			agent = &mesospb.AgentID{Value: proto.String(k.agentID)}
		}
		if err := f.client().Kill(ctx, &mesospb.TaskID{Value: proto.String(k.taskID)}, agent, nil); err != nil {
			f.log.Warn("kill", "task", k.taskID, "err", err)
		} else {
			f.metrics.kills.Inc()
		}
	}
	if revive {
		if err := f.client().Revive(ctx, f.cfg.Role); err != nil {
			f.log.Warn("revive", "err", err)
			f.mu.Lock()
			f.reviveWant = true
			f.mu.Unlock()
		}
	}
	if suppress {
		if err := f.client().Suppress(ctx, f.cfg.Role); err != nil {
			f.log.Warn("suppress", "err", err)
			f.mu.Lock()
			f.suppressed = false
			f.mu.Unlock()
		}
	}
	if reconcile {
		if len(recon) > 0 {
			if err := f.client().Reconcile(ctx, recon); err != nil {
				f.log.Warn("periodic reconciliation", "err", err)
			}
		}
		if err := f.client().Reconcile(ctx, nil); err != nil {
			f.log.Warn("periodic reconciliation", "err", err)
		}
	}
	if changed {
		f.cfg.OnChange()
	}
}
