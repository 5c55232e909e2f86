package store

import (
	"fmt"
	"strings"

	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// IsPostgres reports whether dsn names a PostgreSQL database (postgres:// or postgresql://).
func IsPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// OpenDB opens the database of dsn: a postgres:// URL (shared by every master or service
// replica; a small connection pool), or else the path of an SQLite file (OpenSQLiteDB).
func OpenDB(dsn string) (*gorm.DB, error) {
	if !IsPostgres(dsn) {
		return OpenSQLiteDB(dsn)
	}
	db, err := gorm.Open(postgres.Open(dsn), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		return nil, fmt.Errorf("store: open postgres: %w", err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	sqlDB.SetMaxOpenConns(8)
	sqlDB.SetMaxIdleConns(4)
	return db, nil
}

// Dialect is "postgres" or "sqlite".
func Dialect(db *gorm.DB) string {
	if db.Dialector.Name() == "postgres" {
		return "postgres"
	}
	return "sqlite"
}

// OpenDBWith opens the database of dsn (OpenDB) and hands it to wrap, which migrates it and
// returns the component's store; if wrap fails, the database is closed.
func OpenDBWith[T any](dsn string, wrap func(*gorm.DB) (T, error)) (T, error) {
	db, err := OpenDB(dsn)
	if err != nil {
		var zero T
		return zero, err
	}
	s, err := wrap(db)
	if err != nil {
		if sqlDB, e := db.DB(); e == nil {
			sqlDB.Close()
		}
	}
	return s, err
}
