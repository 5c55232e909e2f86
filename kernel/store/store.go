package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/glebarez/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
	"gorm.io/gorm/logger"
)

// ErrNotFound is returned when a record does not exist.
var ErrNotFound = errors.New("store: not found")

// Store is the durable master state.
type Store struct {
	db    *gorm.DB
	fence *Fence
}

// epochName is the fencing row of the leading master.
const epochName = "master"

// Open opens the store of dsn (OpenDB: a postgres:// URL or an SQLite path) and migrates it.
func Open(dsn string) (*Store, error) {
	db, err := OpenDB(dsn)
	if err != nil {
		return nil, err
	}
	return open(db)
}

// ClaimLeadership fences every earlier leader off the store: from now on this store's writes
// succeed only while no later ClaimLeadership happened, anywhere. onFenced, if not nil, is
// called (once per failed write) when a write fails because of a later claim.
func (s *Store) ClaimLeadership(ctx context.Context, holder string, onFenced func()) (int64, error) {
	return s.fence.Claim(ctx, s.db, holder, onFenced)
}

// write runs fn in one transaction; each of its writes checks the leader's epoch (Fence).
func (s *Store) write(ctx context.Context, fn func(tx *gorm.DB) error) error {
	return s.db.WithContext(ctx).Transaction(fn)
}

// OpenSQLite opens (creating if needed) the SQLite database at path and migrates it. Writes are
// synchronous (WAL with synchronous=FULL) so that a 2xx given after a write survives a crash.
func OpenSQLite(path string) (*Store, error) {
	db, err := OpenSQLiteDB(path)
	if err != nil {
		return nil, err
	}
	return open(db)
}

// OpenSQLiteDB opens (creating it and its directory if needed) the SQLite database at path the
// way every Strata store uses SQLite: WAL with synchronous=FULL, so that a write acknowledged is
// one that survives a crash, a 10 s busy timeout, and one connection (SQLite has one writer;
// one connection avoids lock contention inside the process). The apps and jobs services' stores
// open theirs with it too.
func OpenSQLiteDB(path string) (*gorm.DB, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("store: create dir: %w", err)
	}
	dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)"
	db, err := gorm.Open(sqlite.Open(dsn), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	sqlDB.SetMaxOpenConns(1)
	return db, nil
}

// migrations are the master's schema steps; append, never edit.
var migrations = []Migration{
	{Version: 1, Name: "registry, frameworks, weights, meta, leader epochs", Apply: func(tx *gorm.DB) error {
		return tx.AutoMigrate(&Agent{}, &Framework{}, &Weight{}, &Meta{}, &LeaderEpoch{})
	}},
}

// open migrates db, installs the master's fence on it and wraps it; on failure it closes db.
func open(db *gorm.DB) (*Store, error) {
	fence, err := NewFence(db, epochName)
	if err == nil {
		err = Migrate(context.Background(), db, "master", migrations)
	}
	if err != nil {
		if sqlDB, e := db.DB(); e == nil {
			sqlDB.Close()
		}
		return nil, err
	}
	return &Store{db: db, fence: fence}, nil
}

// Close closes the database.
func (s *Store) Close() error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	return sqlDB.Close()
}

// PutAgent inserts or replaces an agent record.
func (s *Store) PutAgent(ctx context.Context, a *Agent) error {
	a.UpdatedAt = time.Now()
	if err := s.write(ctx, func(tx *gorm.DB) error {
		return tx.Clauses(clause.OnConflict{UpdateAll: true}).Create(a).Error
	}); err != nil {
		return fmt.Errorf("store: put agent %s: %w", a.ID, err)
	}
	return nil
}

// Agents lists every agent in the registry.
func (s *Store) Agents(ctx context.Context) ([]Agent, error) {
	var out []Agent
	if err := s.db.WithContext(ctx).Order("id").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("store: list agents: %w", err)
	}
	return out, nil
}

// DeleteAgent removes an agent record (registry garbage collection).
func (s *Store) DeleteAgent(ctx context.Context, id string) error {
	if err := s.write(ctx, func(tx *gorm.DB) error { return tx.Delete(&Agent{}, "id = ?", id).Error }); err != nil {
		return fmt.Errorf("store: delete agent %s: %w", id, err)
	}
	return nil
}

// PutFramework inserts or replaces a framework record.
func (s *Store) PutFramework(ctx context.Context, f *Framework) error {
	f.UpdatedAt = time.Now()
	if err := s.write(ctx, func(tx *gorm.DB) error {
		return tx.Clauses(clause.OnConflict{UpdateAll: true}).Create(f).Error
	}); err != nil {
		return fmt.Errorf("store: put framework %s: %w", f.ID, err)
	}
	return nil
}

// Frameworks lists every framework, active and removed.
func (s *Store) Frameworks(ctx context.Context) ([]Framework, error) {
	var out []Framework
	if err := s.db.WithContext(ctx).Order("registered_at").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("store: list frameworks: %w", err)
	}
	return out, nil
}

// Framework returns one framework record.
func (s *Store) Framework(ctx context.Context, id string) (*Framework, error) {
	var f Framework
	err := s.db.WithContext(ctx).First(&f, "id = ?", id).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: get framework %s: %w", id, err)
	}
	return &f, nil
}

// PruneFrameworks deletes removed frameworks beyond the newest keep, and returns how many it deleted.
func (s *Store) PruneFrameworks(ctx context.Context, keep int) (int64, error) {
	var n int64
	err := s.write(ctx, func(tx *gorm.DB) error {
		sub := tx.Session(&gorm.Session{NewDB: true}).Model(&Framework{}).Select("id").
			Where("removed_at IS NOT NULL").Order("removed_at DESC").Limit(keep)
		res := tx.Where("removed_at IS NOT NULL AND id NOT IN (?)", sub).Delete(&Framework{})
		n = res.RowsAffected
		return res.Error
	})
	if err != nil {
		return 0, fmt.Errorf("store: prune frameworks: %w", err)
	}
	return n, nil
}

// SetWeights stores role weights; a weight of 1 (the default) deletes the row.
func (s *Store) SetWeights(ctx context.Context, weights map[string]float64) error {
	return s.write(ctx, func(tx *gorm.DB) error {
		for role, w := range weights {
			if w == 1 {
				if err := tx.Delete(&Weight{}, "role = ?", role).Error; err != nil {
					return fmt.Errorf("store: delete weight %s: %w", role, err)
				}
				continue
			}
			if err := tx.Clauses(clause.OnConflict{UpdateAll: true}).Create(&Weight{Role: role, Weight: w}).Error; err != nil {
				return fmt.Errorf("store: set weight %s: %w", role, err)
			}
		}
		return nil
	})
}

// Weights returns every stored role weight.
func (s *Store) Weights(ctx context.Context) (map[string]float64, error) {
	var rows []Weight
	if err := s.db.WithContext(ctx).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("store: list weights: %w", err)
	}
	out := make(map[string]float64, len(rows))
	for _, r := range rows {
		out[r.Role] = r.Weight
	}
	return out, nil
}

// SetMeta stores a named value.
func (s *Store) SetMeta(ctx context.Context, key, value string) error {
	if err := s.write(ctx, func(tx *gorm.DB) error {
		return tx.Clauses(clause.OnConflict{UpdateAll: true}).Create(&Meta{Key: key, Value: value}).Error
	}); err != nil {
		return fmt.Errorf("store: set %s: %w", key, err)
	}
	return nil
}

// GetMeta returns a named value, or ErrNotFound.
func (s *Store) GetMeta(ctx context.Context, key string) (string, error) {
	var m Meta
	err := s.db.WithContext(ctx).First(&m, "key = ?", strings.TrimSpace(key)).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return "", ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("store: get %s: %w", key, err)
	}
	return m.Value, nil
}
