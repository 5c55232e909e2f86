package store

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"testing"
	"time"

	"strata/services/apps/app"
)

func versionApp(t *testing.T, id, version string, instances int) *app.App {
	t.Helper()
	a, err := app.Decode([]byte(fmt.Sprintf(`{"id":%q,"cmd":"serve","instances":%d}`, id, instances)))
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Normalize(); err != nil {
		t.Fatal(err)
	}
	a.SetVersion(version, nil)
	return a
}

func idsAt(t *testing.T, s *Store, version, group string) map[string]int {
	t.Helper()
	apps, err := s.AppsAt(context.Background(), version, group)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, a := range apps {
		out[a.ID] = a.Instances
	}
	return out
}

// TestRootVersions commits changes the way the deploy package does (apps saved with the root
// version, deleted apps archived first) and reads the tree back at each version.
func TestRootVersions(t *testing.T) {
	s, path := openTemp(t)
	s.SetMaxVersions(3)
	ctx := context.Background()
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	v := make([]string, 6)
	for i := range v {
		v[i] = app.FormatVersion(base.Add(time.Duration(i) * time.Minute))
	}
	commit := func(version string, save []*app.App, del ...string) {
		t.Helper()
		err := s.Tx(ctx, func(tx *Store) error {
			for _, id := range del {
				if err := tx.ArchiveApp(ctx, id, version); err != nil {
					return err
				}
				if err := tx.DeleteApp(ctx, id); err != nil {
					return err
				}
			}
			for _, a := range save {
				if err := tx.SaveApp(ctx, a); err != nil {
					return err
				}
			}
			return tx.SaveRoot(ctx, version, []byte(`{"version":"`+version+`","groups":[]}`))
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	commit(v[0], []*app.App{versionApp(t, "/g/db", v[0], 1), versionApp(t, "/g/web", v[0], 1)})
	commit(v[1], []*app.App{versionApp(t, "/g/db", v[1], 2), versionApp(t, "/g/web", v[1], 2)})
	commit(v[2], []*app.App{versionApp(t, "/other", v[2], 1)})
	commit(v[3], nil, "/g/db", "/g/web") // the group is deleted

	if got := idsAt(t, s, v[1], "/g"); !reflect.DeepEqual(got, map[string]int{"/g/db": 2, "/g/web": 2}) {
		t.Fatalf("/g at %s: %v", v[1], got)
	}
	if got := idsAt(t, s, v[2], app.RootID); !reflect.DeepEqual(got, map[string]int{"/g/db": 2, "/g/web": 2, "/other": 1}) {
		t.Fatalf("root at %s: %v", v[2], got)
	}
	if got := idsAt(t, s, v[3], app.RootID); !reflect.DeepEqual(got, map[string]int{"/other": 1}) {
		t.Fatalf("root at %s (after the delete): %v", v[3], got)
	}
	// Recreated: the new app is there from its version on, the old one before the delete.
	commit(v[4], []*app.App{versionApp(t, "/g/db", v[4], 7)})
	if got := idsAt(t, s, v[4], "/g"); !reflect.DeepEqual(got, map[string]int{"/g/db": 7}) {
		t.Fatalf("/g at %s: %v", v[4], got)
	}
	if got := idsAt(t, s, v[2], "/g"); !reflect.DeepEqual(got, map[string]int{"/g/db": 2, "/g/web": 2}) {
		t.Fatalf("/g at %s after the re-creation: %v", v[2], got)
	}
	if vs, _ := s.AppVersions(ctx, "/g/db"); !reflect.DeepEqual(vs, []string{v[4]}) {
		t.Fatalf("versions of the re-created app: %v", vs)
	}

	// Bounded: three root versions are kept, and the archived versions only the dropped ones
	// needed go with them.
	got, err := s.RootVersions(ctx)
	if err != nil || !reflect.DeepEqual(got, []string{v[4], v[3], v[2]}) {
		t.Fatalf("root versions %v %v", got, err)
	}
	if _, err := s.Root(ctx, v[1]); !errors.Is(err, ErrNotFound) {
		t.Fatalf("pruned root: %v", err)
	}
	commit(v[5], nil)
	var archived []string
	if err := s.db.Model(&archivedVersionRow{}).Pluck("app_id", &archived).Error; err != nil {
		t.Fatal(err)
	}
	sort.Strings(archived)
	if len(archived) != 0 {
		t.Fatalf("archived versions no root version holds: %v", archived)
	}

	s.Close()
	s2, err := OpenSQLite(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	version, data, err := s2.LatestRoot(ctx)
	if err != nil || version != v[5] || len(data) == 0 {
		t.Fatalf("latest root after reopening: %s %s %v", version, data, err)
	}
}
