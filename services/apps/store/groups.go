package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"strata/services/apps/app"
)

// rootRow is one version of the root group: the JSON the deploy package encodes it as (its
// explicit groups). The apps of a root version are the app versions stored with that version or
// before it (see AppsAt).
type rootRow struct {
	Version   string `gorm:"primaryKey;size:32"`
	Data      string `gorm:"type:text"`
	CreatedAt time.Time
}

func (rootRow) TableName() string { return "apps_roots" }

// archivedVersionRow is a version of a deleted app, kept while a stored root version holds it
// (so that a group can be rolled back to a version in which the app existed).
type archivedVersionRow struct {
	AppID      string `gorm:"primaryKey;size:255"`
	Version    string `gorm:"primaryKey;size:32"`
	Definition string `gorm:"type:text"`
	// RemovedAt is the root version that deleted the app.
	RemovedAt string `gorm:"size:32;index"`
}

func (archivedVersionRow) TableName() string { return "apps_archived_versions" }

// SaveRoot stores a root version and drops the root versions beyond the newest maxVersions,
// with the archived app versions that no remaining root version holds.
func (s *Store) SaveRoot(ctx context.Context, version string, data []byte) error {
	return s.Tx(ctx, func(tx *Store) error {
		db := tx.db
		row := rootRow{Version: version, Data: string(data), CreatedAt: time.Now()}
		if err := db.Clauses(clause.OnConflict{UpdateAll: true}).Create(&row).Error; err != nil {
			return fmt.Errorf("apps store: save root %s: %w", version, err)
		}
		var old []string
		if err := db.Model(&rootRow{}).Order("version DESC").Offset(tx.maxVersions).Pluck("version", &old).Error; err != nil {
			return fmt.Errorf("apps store: list root versions: %w", err)
		}
		if len(old) == 0 {
			return nil
		}
		if err := db.Where("version IN ?", old).Delete(&rootRow{}).Error; err != nil {
			return fmt.Errorf("apps store: prune root versions: %w", err)
		}
		var oldest rootRow
		if err := db.Order("version").Take(&oldest).Error; err != nil {
			return fmt.Errorf("apps store: oldest root version: %w", err)
		}
		// A root version at or after an app's removal does not hold it.
		if err := db.Where("removed_at <= ?", oldest.Version).Delete(&archivedVersionRow{}).Error; err != nil {
			return fmt.Errorf("apps store: prune archived versions: %w", err)
		}
		return nil
	})
}

// ArchiveApp keeps the stored versions of an app that the root version removedAt deletes, for
// the root versions before it. Call it before DeleteApp, in the same transaction.
func (s *Store) ArchiveApp(ctx context.Context, id, removedAt string) error {
	var rows []versionRow
	if err := s.db.WithContext(ctx).Where("app_id = ?", id).Find(&rows).Error; err != nil {
		return fmt.Errorf("apps store: read versions %s: %w", id, err)
	}
	if len(rows) == 0 {
		return nil
	}
	out := make([]archivedVersionRow, 0, len(rows))
	for _, r := range rows {
		out = append(out, archivedVersionRow{AppID: r.AppID, Version: r.Version, Definition: r.Definition, RemovedAt: removedAt})
	}
	if err := s.db.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&out).Error; err != nil {
		return fmt.Errorf("apps store: archive versions %s: %w", id, err)
	}
	return nil
}

// LatestRoot returns the newest root version, or ErrNotFound.
func (s *Store) LatestRoot(ctx context.Context) (version string, data []byte, err error) {
	var r rootRow
	err = s.db.WithContext(ctx).Order("version DESC").Take(&r).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return "", nil, ErrNotFound
	}
	if err != nil {
		return "", nil, fmt.Errorf("apps store: read latest root: %w", err)
	}
	return r.Version, []byte(r.Data), nil
}

// RootVersions lists the stored root versions, newest first.
func (s *Store) RootVersions(ctx context.Context) ([]string, error) {
	var out []string
	if err := s.db.WithContext(ctx).Model(&rootRow{}).Order("version DESC").Pluck("version", &out).Error; err != nil {
		return nil, fmt.Errorf("apps store: list root versions: %w", err)
	}
	return out, nil
}

// Root returns a root version's data, or ErrNotFound.
func (s *Store) Root(ctx context.Context, version string) ([]byte, error) {
	var r rootRow
	err := s.db.WithContext(ctx).Where("version = ?", version).Take(&r).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("apps store: read root %s: %w", version, err)
	}
	return []byte(r.Data), nil
}

// AppsAt returns the apps below group ("/": all) as they were at a root version: for every app,
// its newest stored version not after it, unless the app was deleted by then.
func (s *Store) AppsAt(ctx context.Context, version, group string) ([]*app.App, error) {
	filter, args := "", []any{version}
	if group != app.RootID {
		filter, args = " AND app_id LIKE ?", append(args, group+"/%")
	}
	live := "SELECT v.app_id, v.version, v.definition FROM apps_versions v JOIN " +
		"(SELECT app_id, MAX(version) AS version FROM apps_versions WHERE version <= ?" + filter + " GROUP BY app_id) m " +
		"ON v.app_id = m.app_id AND v.version = m.version"
	archived := "SELECT v.app_id, v.version, v.definition FROM apps_archived_versions v JOIN " +
		"(SELECT app_id, MAX(version) AS version FROM apps_archived_versions WHERE version <= ? AND removed_at > ?" + filter +
		" GROUP BY app_id) m ON v.app_id = m.app_id AND v.version = m.version"
	archivedArgs := append([]any{version, version}, args[1:]...)
	var rows []versionRow
	if err := s.db.WithContext(ctx).Raw(live, args...).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("apps store: apps at %s: %w", version, err)
	}
	var gone []versionRow
	if err := s.db.WithContext(ctx).Raw(archived, archivedArgs...).Scan(&gone).Error; err != nil {
		return nil, fmt.Errorf("apps store: deleted apps at %s: %w", version, err)
	}
	seen := map[string]bool{}
	out := make([]*app.App, 0, len(rows)+len(gone))
	for _, r := range append(rows, gone...) {
		if seen[r.AppID] {
			continue
		}
		seen[r.AppID] = true
		a := &app.App{}
		if err := json.Unmarshal([]byte(r.Definition), a); err != nil {
			return nil, fmt.Errorf("apps store: decode app %s at %s: %w", r.AppID, r.Version, err)
		}
		out = append(out, a)
	}
	return out, nil
}
