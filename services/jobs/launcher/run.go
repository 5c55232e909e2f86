package launcher

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/protobuf/proto"

	"strata/kernel/mesos/mesospb"
	"strata/kernel/mesos/schedulerpb"
	"strata/kernel/scheduler"
)

func (l *Launcher) frameworkInfo(id string) *mesospb.FrameworkInfo {
	fi := &mesospb.FrameworkInfo{
		User:            proto.String(l.cfg.User),
		Name:            proto.String(l.cfg.Name),
		Role:            proto.String(l.cfg.Role),
		Checkpoint:      proto.Bool(true),
		FailoverTimeout: proto.Float64(l.cfg.FailoverTimeout.Seconds()),
		Hostname:        proto.String(l.cfg.Hostname),
		Capabilities: []*mesospb.FrameworkInfo_Capability{
			{Type: mesospb.FrameworkInfo_Capability_PARTITION_AWARE.Enum()},
			{Type: mesospb.FrameworkInfo_Capability_TASK_KILLING_STATE.Enum()},
		},
	}
	if l.cfg.WebUIURL != "" {
		fi.WebuiUrl = proto.String(l.cfg.WebUIURL)
	}
	if id != "" {
		fi.Id = &mesospb.FrameworkID{Value: proto.String(id)}
	}
	return fi
}

// Run subscribes with the stored framework id (if any) and serves until ctx
// ends. A framework the master removed registers anew: reconciliation then
// reports its old tasks gone.
func (l *Launcher) Run(ctx context.Context) error {
	loopCtx, stopLoop := context.WithCancel(ctx)
	loopDone := make(chan struct{})
	go func() {
		defer close(loopDone)
		l.loop(loopCtx)
	}()
	defer func() {
		stopLoop()
		<-loopDone
	}()
	configFor := func(id string) scheduler.Config {
		return scheduler.Config{
			Masters:         l.cfg.Masters,
			FrameworkInfo:   l.frameworkInfo(id),
			SuppressedRoles: []string{l.cfg.Role},
			AutoAcknowledge: true,
			Logger:          l.cfg.Logger,
		}
	}
	onClient := func(c *scheduler.Client, id string) {
		l.mu.Lock()
		l.frameworkID = id
		l.mu.Unlock()
		l.clientPtr.Store(c)
	}
	if err := scheduler.RunWithStoredID(ctx, l.cfg.IDs, configFor, onClient, &handler{l: l}); err != nil {
		return fmt.Errorf("launcher: %w", err)
	}
	return nil
}

type handler struct {
	scheduler.NopHandler
	l *Launcher
}

func (h *handler) Subscribed(ctx context.Context, ev *schedulerpb.Event_Subscribed) error {
	l := h.l
	id := ev.GetFrameworkId().GetValue()
	l.mu.Lock()
	known := l.frameworkID
	l.frameworkID = id
	l.connected, l.reconciled, l.suppressed = true, false, true
	l.generation++
	gen := l.generation
	l.pending = map[string]bool{}
	for tid, t := range l.tasks {
		if t.launched {
			l.pending[tid] = true
		}
	}
	l.mu.Unlock()
	if id != known {
		if err := l.cfg.IDs.SetFrameworkID(ctx, id); err != nil {
			return err
		}
		l.log.Info("registered", "framework_id", id)
	} else {
		l.log.Info("re-registered", "framework_id", id)
	}
	go l.reconcile(ctx, gen)
	return nil
}

func (h *handler) Disconnected(ctx context.Context, err error) {
	h.l.mu.Lock()
	h.l.connected, h.l.reconciled = false, false
	h.l.mu.Unlock()
	h.l.log.Warn("disconnected from the master", "err", err)
}

func (h *handler) Offers(ctx context.Context, ev *schedulerpb.Event_Offers) error {
	h.l.offers(ctx, ev.GetOffers())
	return nil
}

func (h *handler) Update(ctx context.Context, ev *schedulerpb.Event_Update) error {
	return h.l.update(ctx, ev.GetStatus())
}

// reconcile runs after a subscription: the launcher launches and kills only
// once the master has told it the state of every task it tracks.
func (l *Launcher) reconcile(ctx context.Context, gen int) {
	unanswered := func() []scheduler.ReconcileTask {
		l.mu.Lock()
		defer l.mu.Unlock()
		if l.generation != gen {
			return nil
		}
		var out []scheduler.ReconcileTask
		for id := range l.pending {
			if t := l.tasks[id]; t != nil {
				out = append(out, scheduler.ReconcileTask{TaskID: id, AgentID: t.agentID})
			}
		}
		return out
	}
	stale := func() bool {
		l.mu.Lock()
		defer l.mu.Unlock()
		return l.generation != gen || !l.connected
	}
	left, ok := l.client().ReconcileRounds(ctx, unanswered, stale)
	if !ok {
		return
	}
	if len(left) > 0 {
		l.log.Warn("tasks not answered by reconciliation; keeping their last known state", "count", len(left))
	}
	l.mu.Lock()
	if l.generation != gen || !l.connected {
		l.mu.Unlock()
		return
	}
	l.reconciled = true
	l.lastRecon = time.Now()
	l.reviveWant = true
	l.mu.Unlock()
	l.log.Info("reconciled with the master")
	l.kick()
}

// loop does the housekeeping on a tick and when kicked: kills, suppress or
// revive, periodic reconciliation.
func (l *Launcher) loop(ctx context.Context) {
	t := time.NewTicker(l.cfg.Tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-l.kickCh:
		}
		l.housekeeping(ctx)
	}
}

func (l *Launcher) housekeeping(ctx context.Context) {
	now := time.Now()
	l.mu.Lock()
	if !l.connected || !l.reconciled {
		l.mu.Unlock()
		return
	}
	type kill struct{ task, agent string }
	var kills []kill
	waiting := 0
	for _, t := range l.tasks {
		switch {
		case !t.launched:
			waiting++
		case t.killWanted && now.Sub(t.killSentAt) >= l.cfg.KillRetry:
			t.killSentAt = now
			kills = append(kills, kill{t.id, t.agentID})
		}
	}
	var revive, suppress bool
	switch {
	case waiting > 0 && (l.suppressed || l.reviveWant):
		revive = true
		l.suppressed, l.reviveWant = false, false
	case waiting == 0 && !l.suppressed:
		suppress = true
		l.suppressed, l.reviveWant = true, false
	}
	var recon []scheduler.ReconcileTask
	reconcile := now.Sub(l.lastRecon) >= l.cfg.ReconcileInterval
	if reconcile {
		l.lastRecon = now
		for id, t := range l.tasks {
			if t.launched {
				recon = append(recon, scheduler.ReconcileTask{TaskID: id, AgentID: t.agentID})
			}
		}
	}
	c := l.client()
	l.mu.Unlock()

	for _, k := range kills {
		var agent *mesospb.AgentID
		if k.agent != "" {
			agent = &mesospb.AgentID{Value: proto.String(k.agent)}
		}
		if err := c.Kill(ctx, &mesospb.TaskID{Value: proto.String(k.task)}, agent, nil); err != nil {
			l.log.Warn("kill", "task", k.task, "err", err)
		} else {
			l.metrics.kills.Inc()
		}
	}
	if revive {
		if err := c.Revive(ctx, l.cfg.Role); err != nil {
			l.log.Warn("revive", "err", err)
			l.mu.Lock()
			l.reviveWant = true
			l.mu.Unlock()
		}
	}
	if suppress {
		if err := c.Suppress(ctx, l.cfg.Role); err != nil {
			l.log.Warn("suppress", "err", err)
			l.mu.Lock()
			l.suppressed = false
			l.mu.Unlock()
		}
	}
	if reconcile {
		if len(recon) > 0 {
			if err := c.Reconcile(ctx, recon); err != nil {
				l.log.Warn("periodic reconciliation", "err", err)
			}
		}
		if err := c.Reconcile(ctx, nil); err != nil {
			l.log.Warn("periodic reconciliation", "err", err)
		}
	}
}
