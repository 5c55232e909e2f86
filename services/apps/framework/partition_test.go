package framework

import (
	"context"
	"slices"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"strata/kernel/mesos/mesospb"
	"strata/services/apps/instance"
)

// An app's instances were unreachable long enough to be replaced; then their agent comes back and
// the master reports them RUNNING (REASON_AGENT_REREGISTERED). They count again, and the surplus
// killed is the replacements (YOUNGEST_FIRST), not the instances that came back. The update
// repeats the last health result: it is no check of its own and does not bring a health kill
// closer, while a fresh result from the executor does.
func TestUnreachableInstancesComeBack(t *testing.T) {
	f, _ := newOfflineFramework(t)
	a := mustApp(t, `{"id":"/a","cmd":"x","instances":2,
		"healthChecks":[{"protocol":"COMMAND","command":{"value":"true"},"maxConsecutiveFailures":5}],
		"unreachableStrategy":{"inactiveAfterSeconds":1,"expungeAfterSeconds":600}}`)
	now := time.Now().UTC()
	mk := func(id, state string, started time.Time) *instance.Instance {
		i := &instance.Instance{TaskID: id, AppID: "/a", Version: a.Version, ConfigVersion: a.ConfigVersion(), State: state,
			AgentID: "agent-" + id, Host: "h-" + id, ScheduledAt: started, StagedAt: started, StartedAt: started,
			Health: &instance.Health{Alive: false, ConsecutiveFailures: 2}}
		if state == instance.Unreachable {
			i.UnreachableSince = now.Add(-10 * time.Second)
		}
		return i
	}
	f.Load([]*instance.Instance{
		mk("a.old1", instance.Unreachable, now.Add(-time.Hour)), mk("a.old2", instance.Unreachable, now.Add(-time.Hour)),
		mk("a.new1", instance.Running, now.Add(-5*time.Second)), mk("a.new2", instance.Running, now.Add(-4*time.Second)),
	}, nil)
	f.SetApp(a, false, nil)
	f.mu.Lock()
	f.connected, f.reconciled = true, true
	f.converge("/a")
	f.mu.Unlock()
	if killed := f.killRequested(); len(killed) != 0 {
		t.Fatalf("killed %v while the old instances were unreachable and inactive", killed)
	}

	back := func(id string, reason mesospb.TaskStatus_Reason, source mesospb.TaskStatus_Source) {
		t.Helper()
		err := f.update(context.Background(), &mesospb.TaskStatus{
			TaskId: &mesospb.TaskID{Value: proto.String(id)}, State: mesospb.TaskState_TASK_RUNNING.Enum(),
			AgentId: &mesospb.AgentID{Value: proto.String("agent-" + id)}, Reason: reason.Enum(), Source: source.Enum(),
			Healthy: proto.Bool(false),
		})
		if err != nil {
			t.Fatal(err)
		}
		f.mu.Lock()
		f.converge("/a")
		f.mu.Unlock()
	}
	back("a.old1", mesospb.TaskStatus_REASON_AGENT_REREGISTERED, mesospb.TaskStatus_SOURCE_MASTER)
	if killed := f.killRequested(); len(killed) != 1 || killed[0] != "a.new2" {
		t.Fatalf("after one instance came back, killed %v, want [a.new2] (the youngest)", killed)
	}
	back("a.old2", mesospb.TaskStatus_REASON_AGENT_REREGISTERED, mesospb.TaskStatus_SOURCE_MASTER)
	if killed := f.killRequested(); len(killed) != 2 || killed[0] != "a.new1" || killed[1] != "a.new2" {
		t.Fatalf("after both came back, killed %v, want the replacements [a.new1 a.new2]", killed)
	}
	for _, id := range []string{"a.old1", "a.old2"} {
		i, _ := f.Instance(id)
		if i.State != instance.Running || !i.UnreachableSince.IsZero() || i.KillRequested {
			t.Fatalf("%s after it came back: state %s, unreachable since %v, kill %v", id, i.State, i.UnreachableSince, i.KillRequested)
		}
		if i.Health.ConsecutiveFailures != 2 {
			t.Fatalf("%s: %d consecutive failures after the update that brought it back, want the 2 from before", id, i.Health.ConsecutiveFailures)
		}
	}
	// A result from the executor is a check of its own.
	back("a.old1", mesospb.TaskStatus_REASON_TASK_HEALTH_CHECK_STATUS_UPDATED, mesospb.TaskStatus_SOURCE_EXECUTOR)
	if i, _ := f.Instance("a.old1"); i.Health.ConsecutiveFailures != 3 {
		t.Fatalf("a.old1: %d consecutive failures after a failed check, want 3", i.Health.ConsecutiveFailures)
	}
}

// killRequested lists app /a's instances marked for killing, sorted.
func (f *Framework) killRequested() []string {
	var out []string
	for _, i := range f.Instances("/a") {
		if i.KillRequested {
			out = append(out, i.TaskID)
		}
	}
	slices.Sort(out)
	return out
}
