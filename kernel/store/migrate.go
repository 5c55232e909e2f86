package store

import (
	"context"
	"fmt"
	"hash/fnv"
	"time"

	"gorm.io/gorm"
)

// Migration is one versioned schema step of a component's tables.
type Migration struct {
	Version int
	Name    string
	Apply   func(tx *gorm.DB) error
}

// SchemaMigration records an applied migration.
type SchemaMigration struct {
	Component string `gorm:"primaryKey;size:64"`
	Version   int    `gorm:"primaryKey"`
	Name      string `gorm:"size:255"`
	AppliedAt time.Time
}

// Migrate applies, in order and each in its own transaction, the steps of component not yet
// recorded in schema_migrations. Several processes may migrate the same PostgreSQL database at
// once: a transaction-scoped advisory lock lets one migration at a time through. A
// database whose recorded version is newer than the newest step is refused: an older binary
// must not write a schema it does not know.
func Migrate(ctx context.Context, db *gorm.DB, component string, steps []Migration) error {
	h := fnv.New64a()
	h.Write([]byte("strata-migrate"))
	lock := int64(h.Sum64() >> 1)
	locked := func(tx *gorm.DB) error {
		if Dialect(tx) == "postgres" {
			return tx.Exec("SELECT pg_advisory_xact_lock(?)", lock).Error
		}
		return nil
	}
	if err := db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := locked(tx); err != nil {
			return err
		}
		return tx.AutoMigrate(&SchemaMigration{})
	}); err != nil {
		return fmt.Errorf("store: migrate %s: schema_migrations: %w", component, err)
	}
	newest := 0
	for _, s := range steps {
		newest = max(newest, s.Version)
	}
	for _, step := range steps {
		err := db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			if err := locked(tx); err != nil {
				return err
			}
			var cur int
			if err := tx.Model(&SchemaMigration{}).Where("component = ?", component).
				Select("COALESCE(MAX(version), 0)").Scan(&cur).Error; err != nil {
				return err
			}
			if cur > newest {
				return fmt.Errorf("schema version %d is newer than this binary's %d", cur, newest)
			}
			if cur >= step.Version {
				return nil
			}
			if err := step.Apply(tx); err != nil {
				return fmt.Errorf("step %d (%s): %w", step.Version, step.Name, err)
			}
			return tx.Create(&SchemaMigration{Component: component, Version: step.Version, Name: step.Name, AppliedAt: time.Now()}).Error
		})
		if err != nil {
			return fmt.Errorf("store: migrate %s: %w", component, err)
		}
	}
	return nil
}
