package store

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"strata/kernel/e2e/pgserver"
)

// dsns returns an SQLite path and a fresh PostgreSQL database: the store must behave the
// same on both.
func dsns(t *testing.T) map[string]string {
	pg := pgserver.Start(t)
	return map[string]string{
		"sqlite":   filepath.Join(t.TempDir(), "registry.db"),
		"postgres": pg.CreateDB("registry"),
	}
}

// A second leader's claim fences the first off: its next write fails with ErrFenced (and
// calls its onFenced), the new leader's writes go through, and what the first wrote before
// stays.
func TestClaimLeadershipFencesTheOldLeader(t *testing.T) {
	ctx := context.Background()
	for name, dsn := range dsns(t) {
		t.Run(name, func(t *testing.T) {
			s1, err := Open(dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer s1.Close()
			s2, err := Open(dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer s2.Close()
			var fenced atomic.Int32
			e1, err := s1.ClaimLeadership(ctx, "m1", func() { fenced.Add(1) })
			if err != nil {
				t.Fatal(err)
			}
			now := time.Now().UTC().Truncate(time.Second)
			if err := s1.PutAgent(ctx, &Agent{ID: "a1", State: AgentAdmitted, RegisteredAt: now}); err != nil {
				t.Fatal(err)
			}
			e2, err := s2.ClaimLeadership(ctx, "m2", nil)
			if err != nil || e2 <= e1 {
				t.Fatalf("second claim: epoch %d after %d, %v", e2, e1, err)
			}
			if err := s1.PutAgent(ctx, &Agent{ID: "a2", State: AgentAdmitted, RegisteredAt: now}); !errors.Is(err, ErrFenced) {
				t.Fatalf("deposed leader's write: %v, want ErrFenced", err)
			}
			if err := s1.SetWeights(ctx, map[string]float64{"r": 2}); !errors.Is(err, ErrFenced) {
				t.Fatalf("deposed leader's weights: %v, want ErrFenced", err)
			}
			if fenced.Load() != 2 {
				t.Errorf("onFenced called %d times, want 2", fenced.Load())
			}
			if err := s2.PutAgent(ctx, &Agent{ID: "a3", State: AgentAdmitted, RegisteredAt: now}); err != nil {
				t.Fatal(err)
			}
			agents, err := s2.Agents(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, a := range agents {
				ids = append(ids, a.ID)
			}
			if len(ids) != 2 || ids[0] != "a1" || ids[1] != "a3" {
				t.Errorf("agents %v, want [a1 a3]", ids)
			}
		})
	}
}

// Several masters opening a fresh database at once migrate it once.
func TestConcurrentMigration(t *testing.T) {
	pg := pgserver.Start(t)
	dsn := pg.CreateDB("fresh")
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := Open(dsn)
			if err != nil {
				errs <- err
				return
			}
			s.Close()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	s, err := Open(dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var n int64
	if err := s.db.Model(&SchemaMigration{}).Where("component = ?", "master").Count(&n).Error; err != nil || n != 1 {
		t.Errorf("%d migration rows (%v), want 1", n, err)
	}
	// A database migrated by a newer binary is refused.
	if err := s.db.Create(&SchemaMigration{Component: "master", Version: 99, Name: "future"}).Error; err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dsn); err == nil {
		t.Error("a schema newer than the binary was accepted")
	}
}

// The store survives a PostgreSQL restart: the pool reconnects.
func TestPostgresRestart(t *testing.T) {
	pg := pgserver.Start(t)
	s, err := Open(pg.CreateDB("restart"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	if err := s.SetMeta(ctx, "k", "v1"); err != nil {
		t.Fatal(err)
	}
	pg.Stop()
	if err := s.SetMeta(ctx, "k", "v2"); err == nil {
		t.Error("a write succeeded with PostgreSQL down")
	}
	pg.Start()
	if err := s.SetMeta(ctx, "k", "v3"); err != nil {
		t.Fatalf("write after the restart: %v", err)
	}
	if v, err := s.GetMeta(ctx, "k"); err != nil || v != "v3" {
		t.Errorf("GetMeta = %q, %v", v, err)
	}
}

// fencedRow is a table of another component, fenced through NewFence.
type fencedRow struct {
	ID    string `gorm:"primaryKey;size:64"`
	Value int
}

// A Fence checks every kind of write made through its database, inside or outside an
// explicit transaction, once claimed; before the claim nothing is checked.
func TestFenceChecksEveryWrite(t *testing.T) {
	ctx := context.Background()
	for name, dsn := range dsns(t) {
		t.Run(name, func(t *testing.T) {
			open := func() (*Fence, func() error, *gorm.DB) {
				db, err := OpenDB(dsn)
				if err != nil {
					t.Fatal(err)
				}
				if err := Migrate(ctx, db, "fence-test", []Migration{{Version: 1, Name: "rows", Apply: func(tx *gorm.DB) error {
					return tx.AutoMigrate(&fencedRow{}, &LeaderEpoch{})
				}}}); err != nil {
					t.Fatal(err)
				}
				f, err := NewFence(db, "fence-test")
				if err != nil {
					t.Fatal(err)
				}
				sqlDB, _ := db.DB()
				return f, sqlDB.Close, db
			}
			f1, close1, db1 := open()
			defer close1()
			f2, close2, db2 := open()
			defer close2()
			if err := db1.Create(&fencedRow{ID: "unclaimed", Value: 1}).Error; err != nil {
				t.Fatalf("write before any claim: %v", err)
			}
			var fenced atomic.Int32
			if _, err := f1.Claim(ctx, db1, "one", func() { fenced.Add(1) }); err != nil {
				t.Fatal(err)
			}
			if err := db1.Create(&fencedRow{ID: "a", Value: 1}).Error; err != nil {
				t.Fatalf("leader's write: %v", err)
			}
			if _, err := f2.Claim(ctx, db2, "two", nil); err != nil {
				t.Fatal(err)
			}
			writes := map[string]func() error{
				"create": func() error { return db1.Create(&fencedRow{ID: "b", Value: 1}).Error },
				"save":   func() error { return db1.Save(&fencedRow{ID: "a", Value: 7}).Error },
				"update": func() error { return db1.Model(&fencedRow{}).Where("id = ?", "a").Update("value", 9).Error },
				"delete": func() error { return db1.Delete(&fencedRow{}, "id = ?", "a").Error },
				"tx": func() error {
					return db1.Transaction(func(tx *gorm.DB) error { return tx.Create(&fencedRow{ID: "c"}).Error })
				},
			}
			for w, fn := range writes {
				if err := fn(); !errors.Is(err, ErrFenced) {
					t.Errorf("deposed %s: %v, want ErrFenced", w, err)
				}
			}
			if int(fenced.Load()) != len(writes) {
				t.Errorf("onFenced called %d times, want %d", fenced.Load(), len(writes))
			}
			if err := db2.Save(&fencedRow{ID: "a", Value: 2}).Error; err != nil {
				t.Fatalf("new leader's write: %v", err)
			}
			var rows []fencedRow
			if err := db2.Order("id").Find(&rows).Error; err != nil {
				t.Fatal(err)
			}
			if len(rows) != 2 || rows[0].ID != "a" || rows[0].Value != 2 || rows[1].ID != "unclaimed" {
				t.Errorf("rows %+v, want a=2 and unclaimed", rows)
			}
		})
	}
}
