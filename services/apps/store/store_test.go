package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"strata/services/apps/app"
	"strata/services/apps/instance"
	"strata/services/apps/placement/constraint"
)

func openTemp(t *testing.T) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "apps.db")
	s, err := OpenSQLite(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

func testApp(t *testing.T, version string, instances int) *app.App {
	t.Helper()
	a, err := app.Decode([]byte(fmt.Sprintf(`{"id":"/web","cmd":"serve","instances":%d}`, instances)))
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Normalize(); err != nil {
		t.Fatal(err)
	}
	a.SetVersion(version, nil)
	return a
}

func TestAppsAndBoundedVersions(t *testing.T) {
	s, path := openTemp(t)
	s.SetMaxVersions(3)
	ctx := context.Background()
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	var versions []string
	for i := 0; i < 5; i++ {
		v := app.FormatVersion(base.Add(time.Duration(i) * time.Second))
		versions = append(versions, v)
		if err := s.SaveApp(ctx, testApp(t, v, i+1)); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.AppVersions(ctx, "/web")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{versions[4], versions[3], versions[2]}; !reflect.DeepEqual(got, want) {
		t.Fatalf("versions %v, want %v", got, want)
	}
	old, err := s.AppVersion(ctx, "/web", versions[2])
	if err != nil || old.Instances != 3 {
		t.Fatalf("version %s: %+v %v", versions[2], old, err)
	}
	if _, err := s.AppVersion(ctx, "/web", versions[0]); !errors.Is(err, ErrNotFound) {
		t.Fatalf("pruned version: %v", err)
	}
	if err := s.SetLastTaskFailure(ctx, "/web", []byte(`{"state":"TASK_FAILED"}`)); err != nil {
		t.Fatal(err)
	}
	if err := s.SetLastGoodVersion(ctx, "/web", versions[3]); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveApp(ctx, testApp(t, versions[4], 5)); err != nil { // saving again keeps it
		t.Fatal(err)
	}

	// Reopen: everything survives.
	s.Close()
	s2, err := OpenSQLite(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	apps, err := s2.Apps(ctx)
	if err != nil || len(apps) != 1 || apps[0].Instances != 5 || apps[0].Version != versions[4] {
		t.Fatalf("apps after reopen: %+v %v", apps, err)
	}
	failures, err := s2.LastTaskFailures(ctx)
	if err != nil || string(failures["/web"]) != `{"state":"TASK_FAILED"}` {
		t.Fatalf("failures %v %v", failures, err)
	}
	if good, err := s2.LastGoodVersions(ctx); err != nil || len(good) != 1 || good["/web"] != versions[3] {
		t.Fatalf("last good versions %v %v", good, err)
	}
	if err := s2.DeleteApp(ctx, "/web"); err != nil {
		t.Fatal(err)
	}
	if apps, _ := s2.Apps(ctx); len(apps) != 0 {
		t.Fatalf("apps after delete: %v", apps)
	}
	if vs, _ := s2.AppVersions(ctx, "/web"); len(vs) != 0 {
		t.Fatalf("versions after delete: %v", vs)
	}
}

func TestInstances(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	in := &instance.Instance{
		TaskID: "web.1", AppID: "/web", Version: "v1", ConfigVersion: "v0", AgentID: "a1", Host: "h1",
		Ports: []int{31000, 31001}, IPAddresses: []string{"10.0.0.1"}, State: instance.Running, Message: "m",
		KillRequested: true, KillReason: instance.KillUnhealthy, ReplacedBy: "web.3", KillHeldSince: now,
		ScheduledAt: now, StagedAt: now, StartedAt: now, UpdatedAt: now,
		Health:    &instance.Health{Alive: true, ConsecutiveFailures: 0, LastSuccess: now},
		Placement: constraint.Host{AgentID: "a1", Hostname: "h1", Zone: "z1", Attributes: map[string]string{"rack": "r1"}},
	}
	other := &instance.Instance{TaskID: "web.2", AppID: "/web", State: instance.Scheduled, ScheduledAt: now}
	if err := s.PutInstances(ctx, in, other); err != nil {
		t.Fatal(err)
	}
	in.State = instance.Killing
	if err := s.PutInstances(ctx, in); err != nil {
		t.Fatal(err)
	}
	got, err := s.Instances(ctx)
	if err != nil || len(got) != 2 {
		t.Fatalf("instances %v %v", got, err)
	}
	if !reflect.DeepEqual(got[0], in) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got[0], in)
	}
	if got[1].Health != nil || got[1].State != instance.Scheduled {
		t.Errorf("scheduled instance %+v", got[1])
	}
	if err := s.DeleteInstances(ctx, "web.1"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Instances(ctx); len(got) != 1 || got[0].TaskID != "web.2" {
		t.Fatalf("after delete: %v", got)
	}
}

func TestDeploymentsAndFrameworkID(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	for i := 0; i < 4; i++ {
		if err := s.PutDeployment(ctx, Deployment{ID: fmt.Sprint("d", i), Status: "SUCCESS", Data: []byte("{}")}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.PutDeployment(ctx, Deployment{ID: "live", Status: "RUNNING", Data: []byte(`{"a":1}`)}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutDeployment(ctx, Deployment{ID: "live", Status: "RUNNING", Data: []byte(`{"a":2}`)}); err != nil {
		t.Fatal(err)
	}
	running, err := s.Deployments(ctx, "RUNNING")
	if err != nil || len(running) != 1 || string(running[0].Data) != `{"a":2}` {
		t.Fatalf("running %v %v", running, err)
	}
	n, err := s.PruneDeployments(ctx, 2, "RUNNING")
	if err != nil || n != 2 {
		t.Fatalf("pruned %d %v", n, err)
	}
	all, _ := s.Deployments(ctx)
	if len(all) != 3 {
		t.Fatalf("left %d deployments", len(all))
	}

	if id, err := s.FrameworkID(ctx); err != nil || id != "" {
		t.Fatalf("framework id %q %v", id, err)
	}
	if err := s.SetFrameworkID(ctx, "fw-1"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetFrameworkID(ctx, "fw-2"); err != nil {
		t.Fatal(err)
	}
	if id, _ := s.FrameworkID(ctx); id != "fw-2" {
		t.Fatalf("framework id %q", id)
	}

	if id, err := s.LastEventID(ctx); err != nil || id != 0 {
		t.Fatalf("last event id before any: %d %v", id, err)
	}
	for _, id := range []uint64{1000, 1 << 63} {
		if err := s.SetLastEventID(ctx, id); err != nil {
			t.Fatal(err)
		}
		if got, err := s.LastEventID(ctx); err != nil || got != id {
			t.Fatalf("last event id %d %v, want %d", got, err, id)
		}
	}
	if id, _ := s.FrameworkID(ctx); id != "fw-2" {
		t.Fatalf("the event id overwrote the framework id: %q", id)
	}
}

func TestTxRollsBack(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	boom := errors.New("boom")
	err := s.Tx(ctx, func(tx *Store) error {
		if err := tx.SaveApp(ctx, testApp(t, "2024-01-01T00:00:00.000Z", 1)); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatal(err)
	}
	if apps, _ := s.Apps(ctx); len(apps) != 0 {
		t.Fatalf("a failed transaction kept %d apps", len(apps))
	}
}
