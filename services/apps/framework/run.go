package framework

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/protobuf/proto"

	"strata/kernel/mesos/mesospb"
	"strata/kernel/mesos/schedulerpb"
	"strata/kernel/mesos/taskstate"
	"strata/kernel/scheduler"
	"strata/services/apps/app"
	"strata/services/apps/events"
	"strata/services/apps/instance"
)

// frameworkInfo is what the framework subscribes with.
func (f *Framework) frameworkInfo(id string) *mesospb.FrameworkInfo {
	fi := &mesospb.FrameworkInfo{
		User:            proto.String(f.cfg.User),
		Name:            proto.String(f.cfg.Name),
		Role:            proto.String(f.cfg.Role),
		Checkpoint:      proto.Bool(true),
		FailoverTimeout: proto.Float64(f.cfg.FailoverTimeout.Seconds()),
		Hostname:        proto.String(f.cfg.Hostname),
		Capabilities: []*mesospb.FrameworkInfo_Capability{
			{Type: mesospb.FrameworkInfo_Capability_PARTITION_AWARE.Enum()},
			{Type: mesospb.FrameworkInfo_Capability_TASK_KILLING_STATE.Enum()},
		},
	}
	if f.cfg.WebUIURL != "" {
		fi.WebuiUrl = proto.String(f.cfg.WebUIURL)
	}
	if id != "" {
		fi.Id = &mesospb.FrameworkID{Value: proto.String(id)}
	}
	return fi
}

// Run subscribes (with the stored framework id, if any) and serves until ctx ends. If the
// master has removed the framework (its failover timeout expired, or it was torn down), the id
// is dead: the framework registers anew, and reconciliation then finds the old tasks gone and
// replaces them.
func (f *Framework) Run(ctx context.Context) error {
	loopCtx, stopLoop := context.WithCancel(ctx)
	loopDone := make(chan struct{})
	started := false
	defer func() {
		stopLoop()
		if started {
			<-loopDone
		}
	}()
	configFor := func(id string) scheduler.Config {
		return scheduler.Config{
			Masters:         f.cfg.Masters,
			FrameworkInfo:   f.frameworkInfo(id),
			SuppressedRoles: []string{f.cfg.Role}, // nothing is offered until we ask (REVIVE)
			AutoAcknowledge: true,
			Logger:          f.cfg.Logger,
		}
	}
	onClient := func(c *scheduler.Client, id string) {
		f.mu.Lock()
		f.frameworkID = id
		f.mu.Unlock()
		f.clientPtr.Store(c)
		if !started { // the loop calls through the client: it starts with the first
			started = true
			go func() {
				defer close(loopDone)
				f.loop(loopCtx)
			}()
		}
	}
	if err := scheduler.RunWithStoredID(ctx, f.cfg.Store, configFor, onClient, &handler{f: f}); err != nil {
		return fmt.Errorf("framework: %w", err)
	}
	return nil
}

// handler receives the scheduler events.
type handler struct {
	scheduler.NopHandler
	f *Framework
}

func (h *handler) Subscribed(ctx context.Context, ev *schedulerpb.Event_Subscribed) error {
	f := h.f
	id := ev.GetFrameworkId().GetValue()
	f.mu.Lock()
	known := f.frameworkID
	f.frameworkID = id
	f.connected = true
	f.reconciled = false
	f.suppressed = true // SUBSCRIBE carries the role as suppressed
	f.generation++
	gen := f.generation
	f.mu.Unlock()
	if id != known {
		if err := f.cfg.Store.SetFrameworkID(ctx, id); err != nil {
			return err
		}
		f.log.Info("registered", "framework_id", id)
	} else {
		f.log.Info("re-registered", "framework_id", id)
	}
	go f.reconcile(ctx, gen)
	return nil
}

func (h *handler) Disconnected(ctx context.Context, err error) {
	f := h.f
	f.mu.Lock()
	f.connected = false
	f.reconciled = false
	f.mu.Unlock()
	f.log.Warn("disconnected from the master", "err", err)
}

func (h *handler) Offers(ctx context.Context, ev *schedulerpb.Event_Offers) error {
	h.f.offers(ctx, ev.GetOffers())
	return nil
}

// Failure of an agent (not of an executor) drops the agent's last unused offer from the offer
// statistics: it no longer describes the cluster.
func (h *handler) Failure(ctx context.Context, ev *schedulerpb.Event_Failure) error {
	if ev.GetExecutorId() == nil && ev.GetAgentId().GetValue() != "" {
		h.f.forgetAgent(ev.GetAgentId().GetValue())
	}
	return nil
}

func (h *handler) Update(ctx context.Context, ev *schedulerpb.Event_Update) error {
	return h.f.update(ctx, ev.GetStatus())
}

// reconcile runs after every subscription: explicit reconciliation of every launched instance,
// repeated with backoff for those not answered, then implicit reconciliation. Only then does
// the framework launch and kill.
func (f *Framework) reconcile(ctx context.Context, gen int) {
	f.mu.Lock()
	f.pending = map[string]bool{}
	for id, i := range f.instances {
		if i.Launched() {
			f.pending[id] = true
		}
	}
	f.mu.Unlock()
	unanswered := func() []scheduler.ReconcileTask {
		if f.pendingCount(gen) == 0 {
			return nil
		}
		return f.pendingTasks()
	}
	stale := func() bool { return !f.current(gen) }
	left, ok := f.client().ReconcileRounds(ctx, unanswered, stale)
	if !ok {
		return
	}
	if len(left) > 0 {
		f.log.Warn("tasks not answered by reconciliation; keeping their last known state", "count", len(left))
	}
	f.mu.Lock()
	if f.generation != gen || !f.connected {
		f.mu.Unlock()
		return
	}
	f.reconciled = true
	f.lastRecon = time.Now()
	for id := range f.apps {
		f.converge(id)
	}
	for _, i := range f.instances {
		if f.apps[i.AppID] == nil {
			f.converge(i.AppID)
		}
	}
	f.reviveWant = true
	f.mu.Unlock()
	f.log.Info("reconciled with the master")
	f.kick()
	f.cfg.OnChange()
}

func (f *Framework) current(gen int) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.generation == gen && f.connected
}

func (f *Framework) pendingCount(gen int) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.generation != gen {
		return 0
	}
	return len(f.pending)
}

func (f *Framework) pendingTasks() []scheduler.ReconcileTask {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []scheduler.ReconcileTask
	for id := range f.pending {
		if i := f.instances[id]; i != nil {
			out = append(out, scheduler.ReconcileTask{TaskID: id, AgentID: i.AgentID})
		}
	}
	return out
}

// gone reports whether a state means the task no longer runs (or is unknown to Mesos).
func gone(s mesospb.TaskState) bool {
	return taskstate.IsTerminal(s) || s == mesospb.TaskState_TASK_UNKNOWN
}

// update applies a status update. An error leaves the update unacknowledged.
func (f *Framework) update(ctx context.Context, st *mesospb.TaskStatus) error {
	tid, state := st.GetTaskId().GetValue(), st.GetState()
	f.metrics.updates.WithLabelValues(state.String()).Inc()
	now := time.Now().UTC()
	f.mu.Lock()
	delete(f.pending, tid)
	i := f.instances[tid]
	if i == nil {
		f.mu.Unlock()
		if gone(state) {
			appID, _ := app.AppIDFromTaskID(tid)
			f.emit(events.UnknownInstanceTerminatedEvent{InstanceID: tid, RunSpecID: appID, Condition: condition(state)})
		}
		if !gone(state) && state != mesospb.TaskState_TASK_KILLING {
			f.log.Warn("killing unknown task", "task", tid, "state", state.String())
			if err := f.client().Kill(ctx, st.GetTaskId(), st.GetAgentId(), nil); err != nil {
				f.log.Warn("kill unknown task", "task", tid, "err", err)
			}
		}
		return nil
	}
	if a := st.GetAgentId().GetValue(); a != "" {
		i.AgentID = a
	}
	i.Message = st.GetMessage()
	i.UpdatedAt = now
	if state.String() != i.State {
		f.emit(statusEvents(i, state, st.GetMessage())...)
	}
	var err error
	switch {
	case gone(state):
		f.forget(tid)
		switch {
		case i.KillReason == instance.KillUnhealthy: // a health kill: a failure, announced when decided
			f.recordFailure(i, st, now)
		case !i.KillRequested:
			f.recordFailure(i, st, now)
			if state == mesospb.TaskState_TASK_KILLED && st.Healthy != nil && !st.GetHealthy() {
				// The executor killed it (a task launched with a kill threshold of its own).
				reason := "health check failed"
				if h := i.Health; h != nil && h.LastFailureCause != "" {
					reason += ": " + h.LastFailureCause
				}
				f.emit(unhealthyKillEvents(i, reason)...)
			}
		}
		f.reviveWant = true
		f.converge(i.AppID)
	case state == mesospb.TaskState_TASK_UNREACHABLE:
		i.State = instance.Unreachable
		if i.UnreachableSince.IsZero() {
			i.UnreachableSince = now
			if ut := st.GetUnreachableTime().GetNanoseconds(); ut > 0 {
				i.UnreachableSince = time.Unix(0, ut).UTC()
			}
		}
		err = f.cfg.Store.PutInstances(ctx, i)
		f.reindex(i, now)
		f.converge(i.AppID)
	default:
		i.State = state.String()
		i.UnreachableSince = time.Time{}
		if state == mesospb.TaskState_TASK_RUNNING && i.StartedAt.IsZero() {
			i.StartedAt = now
			if ts := st.GetTimestamp(); ts > 0 {
				i.StartedAt = time.Unix(0, int64(ts*1e9)).UTC()
			}
		}
		// A reconciliation answer (or the master's word that a task came back with its agent)
		// repeats the last result: it is not a check of its own, and counting it would bring a
		// health kill closer.
		if st.Healthy != nil && (i.Health == nil || !repeatsHealth(st)) {
			if i.Health == nil || i.Health.Alive != st.GetHealthy() {
				f.emit(healthEvents(i, st.GetHealthy())...)
			}
			applyHealth(i, st.GetHealthy(), st.GetMessage(), now)
		}
		if ips := ipAddresses(st); len(ips) > 0 {
			i.IPAddresses = ips
		}
		err = f.cfg.Store.PutInstances(ctx, i)
		f.reindex(i, now)
	}
	f.mu.Unlock()
	f.kick()
	f.cfg.OnChange()
	return err
}

// repeatsHealth reports whether an update carries a health result already reported rather than a
// new check: reconciliation answers, and the update the master sends when an unreachable task's
// agent re-registers.
func repeatsHealth(st *mesospb.TaskStatus) bool {
	switch st.GetReason() {
	case mesospb.TaskStatus_REASON_RECONCILIATION, mesospb.TaskStatus_REASON_AGENT_REREGISTERED:
		return true
	}
	return false
}

// applyHealth records a health check result.
func applyHealth(i *instance.Instance, healthy bool, msg string, now time.Time) {
	h := i.Health
	if h == nil {
		h = &instance.Health{}
		i.Health = h
	}
	h.Alive = healthy
	if healthy {
		h.ConsecutiveFailures = 0
		h.LastSuccess = now
		if h.FirstSuccess.IsZero() {
			h.FirstSuccess = now
		}
		return
	}
	h.ConsecutiveFailures++
	h.LastFailure = now
	h.LastFailureCause = msg
}

func ipAddresses(st *mesospb.TaskStatus) []string {
	var out []string
	for _, n := range st.GetContainerStatus().GetNetworkInfos() {
		for _, ip := range n.GetIpAddresses() {
			if a := ip.GetIpAddress(); a != "" {
				out = append(out, a)
			}
		}
	}
	return out
}
