// Package store is the apps service's durable state, kept through gorm: the app definitions with
// a bounded history of versions per app (Marathon's zk_max_versions, 50 by default), the
// instances (task id, app, version, agent, host, ports, state, timestamps, health), the
// deployments, and the framework id the service re-subscribes with.
//
// The embedded default is an SQLite file under the service's work dir, opened with the same
// driver and pragmas as the master's registry (WAL, synchronous=FULL: a write that returned is
// on disk). The schema is plain gorm with no SQLite-only SQL, so Open also takes a PostgreSQL
// *gorm.DB. Tables are prefixed "apps_" so they can share a database with other services.
package store
