package framework

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"strata/services/apps/instance"
	"strata/services/apps/placement"
	"strata/services/apps/placement/constraint"
	"strata/services/apps/store"
)

// The constraint index of an app is rebuilt from the stored instances when the app is set, and
// follows them as they are killed, become unreachable and end.
func TestConstraintIndexFollowsInstances(t *testing.T) {
	f, st := newOfflineFramework(t)
	a := mustApp(t, `{"id":"/a","cmd":"x","instances":3,"constraints":[["rack","UNIQUE"]],
		"unreachableStrategy":{"inactiveAfterSeconds":60,"expungeAfterSeconds":120}}`)
	now := time.Now().UTC()
	mk := func(id, state, rack string) *instance.Instance {
		return &instance.Instance{TaskID: id, AppID: "/a", Version: a.Version, ConfigVersion: a.ConfigVersion(), State: state,
			AgentID: "agent-" + rack, Host: "h-" + rack, ScheduledAt: now,
			Placement: constraint.Host{AgentID: "agent-" + rack, Hostname: "h-" + rack, Attributes: map[string]string{"rack": rack}}}
	}
	ctx := context.Background()
	stored := []*instance.Instance{mk("a.1", instance.Running, "r1"), mk("a.2", instance.Staging, "r2"),
		{TaskID: "a.3", AppID: "/a", Version: a.Version, ConfigVersion: a.ConfigVersion(), State: instance.Scheduled, ScheduledAt: now}}
	if err := st.PutInstances(ctx, stored...); err != nil {
		t.Fatal(err)
	}
	loaded, err := st.Instances(ctx)
	if err != nil {
		t.Fatal(err)
	}
	f.Load(loaded, nil)
	f.SetApp(a, false, nil)

	count := func(rack string) int {
		f.mu.Lock()
		defer f.mu.Unlock()
		return f.apps["/a"].index.Count("rack", rack)
	}
	if count("r1") != 1 || count("r2") != 1 || f.apps["/a"].index.Len() != 2 {
		t.Fatalf("index after load: r1 %d, r2 %d, len %d", count("r1"), count("r2"), f.apps["/a"].index.Len())
	}
	m := f.apps["/a"].matcher
	f.mu.Lock()
	if _, rej := m.Match(placement.NewRemaining(testOffer(t, "cpus:4;mem:1024;ports:[31000-31005]", "rack:r1")), f.apps["/a"].index, nil); rej == nil ||
		rej.Reason() != placement.UnfulfilledConstraint {
		t.Errorf("rack r1 is taken; rejection %v", rej)
	}
	f.mu.Unlock()

	f.Kill([]string{"a.1"})
	if count("r1") != 0 {
		t.Fatalf("a killed instance still counts: %d", count("r1"))
	}
	f.mu.Lock()
	i := f.instances["a.2"]
	i.State, i.UnreachableSince = instance.Unreachable, now.Add(-2*time.Minute)
	f.reindex(i, now)
	f.mu.Unlock()
	if count("r2") != 0 {
		t.Fatalf("an inactive unreachable instance still counts: %d", count("r2"))
	}
	f.mu.Lock()
	i.State, i.UnreachableSince = instance.Running, time.Time{}
	f.reindex(i, now)
	f.mu.Unlock()
	if count("r2") != 1 {
		t.Fatalf("an instance back from unreachable does not count: %d", count("r2"))
	}
	f.mu.Lock()
	f.forget("a.2")
	f.mu.Unlock()
	if f.apps["/a"].index.Len() != 0 {
		t.Fatalf("index after the instances ended: %d", f.apps["/a"].index.Len())
	}
}

// newOfflineFramework is a framework on a fresh SQLite store, pointed at a master that is not
// there: tests drive it by calling its handlers.
func newOfflineFramework(t *testing.T) (*Framework, *store.Store) {
	t.Helper()
	st, err := store.OpenSQLite(filepath.Join(t.TempDir(), "apps.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f, err := New(Config{Masters: []string{"127.0.0.1:1"}, Store: st, User: "nobody", Logger: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	return f, st
}

func quietLog() *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}
