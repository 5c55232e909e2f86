package e2e

import (
	"context"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"strata/kernel/e2e/cluster"
	"strata/kernel/mesos/mesospb"
	"strata/kernel/mesos/schedulerpb"
	"strata/kernel/scheduler"
)

// framework is a small test framework on kernel/scheduler: it launches the tasks queued with
// launch on the next offer that fits, declines the rest, and records every status update.
type framework struct {
	scheduler.NopHandler
	t      *testing.T
	client *scheduler.Client
	cancel context.CancelFunc

	mu      sync.Mutex
	queue   []*mesospb.TaskInfo
	groups  []*mesospb.Offer_Operation // LAUNCH_GROUP operations
	updates chan *mesospb.TaskStatus
	agents  map[string]*mesospb.AgentID
	// fits, if set, picks the queued tasks an offer takes (the others wait for another offer);
	// without it the first offer takes them all.
	fits func(*mesospb.Offer, *mesospb.TaskInfo) bool
	// subscribed receives the time of every SUBSCRIBED (the first and each resubscription).
	subscribed chan time.Time
}

func (f *framework) Subscribed(context.Context, *schedulerpb.Event_Subscribed) error {
	select {
	case f.subscribed <- time.Now():
	default:
	}
	return nil
}

func startFramework(t *testing.T, master string, checkpoint bool) *framework {
	t.Helper()
	fi := &mesospb.FrameworkInfo{
		User:            proto.String("root"),
		Name:            proto.String("e2e"),
		Checkpoint:      proto.Bool(checkpoint),
		FailoverTimeout: proto.Float64(3600),
		Capabilities: []*mesospb.FrameworkInfo_Capability{
			{Type: mesospb.FrameworkInfo_Capability_PARTITION_AWARE.Enum()},
		},
	}
	c, err := scheduler.New(scheduler.Config{Masters: []string{master}, FrameworkInfo: fi, AutoAcknowledge: true})
	if err != nil {
		t.Fatal(err)
	}
	f := &framework{t: t, client: c, updates: make(chan *mesospb.TaskStatus, 256),
		agents: map[string]*mesospb.AgentID{}, subscribed: make(chan time.Time, 16)}
	f.cancel = cluster.RunFramework(t, c, f)
	return f
}

func (f *framework) Offers(ctx context.Context, ev *schedulerpb.Event_Offers) error {
	for _, o := range ev.GetOffers() {
		f.mu.Lock()
		tasks, groups := f.queue, f.groups
		f.queue, f.groups = nil, nil
		if f.fits != nil {
			queued := tasks
			tasks = nil
			for _, t := range queued {
				if f.fits(o, t) {
					tasks = append(tasks, t)
				} else {
					f.queue = append(f.queue, t)
				}
			}
		}
		f.mu.Unlock()
		if len(tasks) == 0 && len(groups) == 0 {
			_ = f.client.Decline(ctx, []*mesospb.OfferID{o.GetId()}, &mesospb.Filters{RefuseSeconds: proto.Float64(0.5)})
			continue
		}
		all := append([]*mesospb.TaskInfo(nil), tasks...)
		for _, g := range groups {
			all = append(all, g.GetLaunchGroup().GetTaskGroup().GetTasks()...)
		}
		for _, t := range all {
			t.AgentId = o.GetAgentId()
			f.mu.Lock()
			f.agents[t.GetTaskId().GetValue()] = o.GetAgentId()
			f.mu.Unlock()
		}
		ops := groups
		if len(tasks) > 0 {
			ops = append([]*mesospb.Offer_Operation{scheduler.LaunchOp(tasks...)}, groups...)
		}
		if err := f.client.Accept(ctx, []*mesospb.OfferID{o.GetId()}, ops, &mesospb.Filters{RefuseSeconds: proto.Float64(0.5)}); err != nil {
			f.t.Errorf("launch: %v", err)
		}
	}
	return nil
}

func (f *framework) Update(ctx context.Context, ev *schedulerpb.Event_Update) error {
	f.updates <- ev.GetStatus()
	return nil
}

// launch queues a command task for the next offer.
func (f *framework) launch(id, command string, mutate ...func(*mesospb.TaskInfo)) {
	t := &mesospb.TaskInfo{
		Name:    proto.String(id),
		TaskId:  &mesospb.TaskID{Value: proto.String(id)},
		AgentId: &mesospb.AgentID{Value: proto.String("")},
		Resources: []*mesospb.Resource{
			{Name: proto.String("cpus"), Type: mesospb.Value_SCALAR.Enum(), Scalar: &mesospb.Value_Scalar{Value: proto.Float64(0.1)}},
			{Name: proto.String("mem"), Type: mesospb.Value_SCALAR.Enum(), Scalar: &mesospb.Value_Scalar{Value: proto.Float64(32)}},
		},
		Command: &mesospb.CommandInfo{Value: proto.String(command)},
	}
	for _, m := range mutate {
		m(t)
	}
	f.mu.Lock()
	f.queue = append(f.queue, t)
	f.mu.Unlock()
	_ = f.client.Revive(context.Background())
}

// launchGroup queues a task group under executor for the next offer.
func (f *framework) launchGroup(executor *mesospb.ExecutorInfo, tasks ...*mesospb.TaskInfo) {
	for _, t := range tasks {
		t.AgentId = &mesospb.AgentID{Value: proto.String("")}
	}
	f.mu.Lock()
	f.groups = append(f.groups, scheduler.LaunchGroupOp(executor, &mesospb.TaskGroupInfo{Tasks: tasks}))
	f.mu.Unlock()
	_ = f.client.Revive(context.Background())
}

// waitState waits for an update of task id in state.
func (f *framework) waitState(id string, state mesospb.TaskState, within time.Duration) *mesospb.TaskStatus {
	f.t.Helper()
	timeout := time.After(within)
	for {
		select {
		case st := <-f.updates:
			if st.GetTaskId().GetValue() == id && st.GetState() == state {
				return st
			}
			if st.GetTaskId().GetValue() == id {
				f.t.Logf("task %s: %s %s", id, st.GetState(), st.GetMessage())
			}
		case <-timeout:
			f.t.Fatalf("task %s did not reach %s within %s", id, state, within)
			return nil
		}
	}
}

func (f *framework) agentOf(id string) *mesospb.AgentID {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.agents[id]
}
