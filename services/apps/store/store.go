package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	kstore "strata/kernel/store"

	"strata/services/apps/app"
)

// ErrNotFound is returned when a record does not exist.
var ErrNotFound = errors.New("apps store: not found")

// DefaultMaxVersions is how many versions of an app are kept (Marathon's zk_max_versions).
const DefaultMaxVersions = 50

// Store is the apps service's durable state.
type Store struct {
	db          *gorm.DB
	fence       *kstore.Fence
	maxVersions int
}

// epochName is the fencing row of the leading apps service replica.
const epochName = "apps"

// migrations are the store's schema steps; append, never edit.
var migrations = []kstore.Migration{
	{Version: 1, Name: "apps, versions, instances, deployments, meta, roots, archived versions, leader epochs",
		Apply: func(tx *gorm.DB) error {
			return tx.AutoMigrate(&appRow{}, &versionRow{}, &instanceRow{}, &deploymentRow{}, &metaRow{},
				&rootRow{}, &archivedVersionRow{}, &kstore.LeaderEpoch{})
		}},
}

// OpenSQLite opens (creating if needed) the SQLite database at path and migrates it.
func OpenSQLite(path string) (*Store, error) { return OpenDSN(path) }

// OpenDSN opens the database of dsn (a postgres:// URL shared by the service's replicas, or an
// SQLite path) and migrates it; on failure the database is closed.
func OpenDSN(dsn string) (*Store, error) {
	s, err := kstore.OpenDBWith(dsn, Open)
	if err != nil {
		return nil, fmt.Errorf("apps store: %w", err)
	}
	return s, nil
}

// Open migrates db (SQLite or PostgreSQL; versioned, safe for replicas migrating at once),
// installs the apps service's fence on it and returns a Store on it.
func Open(db *gorm.DB) (*Store, error) {
	fence, err := kstore.NewFence(db, epochName)
	if err != nil {
		return nil, fmt.Errorf("apps store: %w", err)
	}
	if err := kstore.Migrate(context.Background(), db, "apps", migrations); err != nil {
		return nil, fmt.Errorf("apps store: %w", err)
	}
	return &Store{db: db, fence: fence, maxVersions: DefaultMaxVersions}, nil
}

// ClaimLeadership fences every earlier leader of the apps service off the store: from now on
// writes through this Store succeed only while no later claim happened, anywhere, and fail with
// store.ErrFenced otherwise (onFenced, if not nil, is called then).
func (s *Store) ClaimLeadership(ctx context.Context, holder string, onFenced func()) (int64, error) {
	epoch, err := s.fence.Claim(ctx, s.db, holder, onFenced)
	if err != nil {
		return 0, fmt.Errorf("apps store: %w", err)
	}
	return epoch, nil
}

// SetMaxVersions changes how many versions per app are kept (at least 1).
func (s *Store) SetMaxVersions(n int) {
	if n < 1 {
		n = 1
	}
	s.maxVersions = n
}

// Close closes the database.
func (s *Store) Close() error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return fmt.Errorf("apps store: %w", err)
	}
	return sqlDB.Close()
}

// Tx runs fn in one transaction: every write fn makes through its Store lands, or none does.
func (s *Store) Tx(ctx context.Context, fn func(tx *Store) error) error {
	return s.db.WithContext(ctx).Transaction(func(db *gorm.DB) error {
		return fn(&Store{db: db, fence: s.fence, maxVersions: s.maxVersions})
	})
}

// SaveApp stores a as the app's current definition and as one of its versions, and drops the
// versions beyond the newest maxVersions.
func (s *Store) SaveApp(ctx context.Context, a *app.App) error {
	def, err := json.Marshal(a)
	if err != nil {
		return fmt.Errorf("apps store: encode app %s: %w", a.ID, err)
	}
	return s.Tx(ctx, func(tx *Store) error {
		db := tx.db
		var cur appRow
		err := db.Where("id = ?", a.ID).Take(&cur).Error
		switch {
		case errors.Is(err, gorm.ErrRecordNotFound):
			cur = appRow{ID: a.ID}
		case err != nil:
			return fmt.Errorf("apps store: read app %s: %w", a.ID, err)
		}
		cur.Version, cur.Definition, cur.UpdatedAt = a.Version, string(def), time.Now()
		if err := db.Save(&cur).Error; err != nil {
			return fmt.Errorf("apps store: save app %s: %w", a.ID, err)
		}
		v := versionRow{AppID: a.ID, Version: a.Version, Definition: string(def), CreatedAt: time.Now()}
		if err := db.Clauses(clause.OnConflict{UpdateAll: true}).Create(&v).Error; err != nil {
			return fmt.Errorf("apps store: save version %s %s: %w", a.ID, a.Version, err)
		}
		var old []string
		if err := db.Model(&versionRow{}).Where("app_id = ?", a.ID).Order("version DESC").
			Offset(tx.maxVersions).Pluck("version", &old).Error; err != nil {
			return fmt.Errorf("apps store: list versions %s: %w", a.ID, err)
		}
		if len(old) > 0 {
			if err := db.Where("app_id = ? AND version IN ?", a.ID, old).Delete(&versionRow{}).Error; err != nil {
				return fmt.Errorf("apps store: prune versions %s: %w", a.ID, err)
			}
		}
		return nil
	})
}

// DeleteApp removes an app and its versions.
func (s *Store) DeleteApp(ctx context.Context, id string) error {
	return s.Tx(ctx, func(tx *Store) error {
		if err := tx.db.Where("id = ?", id).Delete(&appRow{}).Error; err != nil {
			return fmt.Errorf("apps store: delete app %s: %w", id, err)
		}
		if err := tx.db.Where("app_id = ?", id).Delete(&versionRow{}).Error; err != nil {
			return fmt.Errorf("apps store: delete versions %s: %w", id, err)
		}
		return nil
	})
}

// Apps returns every app's current definition, by id.
func (s *Store) Apps(ctx context.Context) ([]*app.App, error) {
	var rows []appRow
	if err := s.db.WithContext(ctx).Order("id").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("apps store: list apps: %w", err)
	}
	out := make([]*app.App, 0, len(rows))
	for _, r := range rows {
		a := &app.App{}
		if err := json.Unmarshal([]byte(r.Definition), a); err != nil {
			return nil, fmt.Errorf("apps store: decode app %s: %w", r.ID, err)
		}
		out = append(out, a)
	}
	return out, nil
}

// AppVersions lists the stored versions of an app, newest first.
func (s *Store) AppVersions(ctx context.Context, id string) ([]string, error) {
	var out []string
	if err := s.db.WithContext(ctx).Model(&versionRow{}).Where("app_id = ?", id).
		Order("version DESC").Pluck("version", &out).Error; err != nil {
		return nil, fmt.Errorf("apps store: list versions %s: %w", id, err)
	}
	return out, nil
}

// AppVersion returns the app as it was at version, or ErrNotFound.
func (s *Store) AppVersion(ctx context.Context, id, version string) (*app.App, error) {
	var r versionRow
	err := s.db.WithContext(ctx).Where("app_id = ? AND version = ?", id, version).Take(&r).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("apps store: read version %s %s: %w", id, version, err)
	}
	a := &app.App{}
	if err := json.Unmarshal([]byte(r.Definition), a); err != nil {
		return nil, fmt.Errorf("apps store: decode version %s %s: %w", id, version, err)
	}
	return a, nil
}

// SetLastTaskFailure stores the JSON of an app's last task failure.
func (s *Store) SetLastTaskFailure(ctx context.Context, appID string, data []byte) error {
	if err := s.db.WithContext(ctx).Model(&appRow{}).Where("id = ?", appID).
		Update("last_task_failure", string(data)).Error; err != nil {
		return fmt.Errorf("apps store: set last task failure %s: %w", appID, err)
	}
	return nil
}

// LastTaskFailures returns the stored last task failure of every app that has one.
func (s *Store) LastTaskFailures(ctx context.Context) (map[string][]byte, error) {
	var rows []appRow
	if err := s.db.WithContext(ctx).Select("id", "last_task_failure").Where("last_task_failure <> ''").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("apps store: list task failures: %w", err)
	}
	out := make(map[string][]byte, len(rows))
	for _, r := range rows {
		out[r.ID] = []byte(r.LastTaskFailure)
	}
	return out, nil
}

// SetLastGoodVersion stores the version of an app that its last successful deployment made.
func (s *Store) SetLastGoodVersion(ctx context.Context, appID, version string) error {
	if err := s.db.WithContext(ctx).Model(&appRow{}).Where("id = ?", appID).
		Update("last_good_version", version).Error; err != nil {
		return fmt.Errorf("apps store: set last good version %s: %w", appID, err)
	}
	return nil
}

// LastGoodVersions returns the last good version of every app that has one.
func (s *Store) LastGoodVersions(ctx context.Context) (map[string]string, error) {
	var rows []appRow
	if err := s.db.WithContext(ctx).Select("id", "last_good_version").Where("last_good_version <> ''").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("apps store: list last good versions: %w", err)
	}
	out := make(map[string]string, len(rows))
	for _, r := range rows {
		out[r.ID] = r.LastGoodVersion
	}
	return out, nil
}

// FrameworkID returns the stored framework id, or "" if none was stored.
func (s *Store) FrameworkID(ctx context.Context) (string, error) {
	var m metaRow
	err := s.db.WithContext(ctx).Where("key = ?", "framework_id").Take(&m).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("apps store: read framework id: %w", err)
	}
	return m.Value, nil
}

// SetFrameworkID stores the framework id.
func (s *Store) SetFrameworkID(ctx context.Context, id string) error {
	if err := s.db.WithContext(ctx).Clauses(clause.OnConflict{UpdateAll: true}).
		Create(&metaRow{Key: "framework_id", Value: id}).Error; err != nil {
		return fmt.Errorf("apps store: save framework id: %w", err)
	}
	return nil
}
