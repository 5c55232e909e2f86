// Package store is the apps service's durable state, kept through gorm: the app definitions with
// a bounded history of versions per app (Marathon's zk_max_versions, 50 by default), the
// instances (task id, app, version, agent, host, ports, state, timestamps, health, the kill's
// reason and held replacement, and the agent as placement constraints see it), each app's last
// good version (what its last successful deployment made, for auto-revert), the deployments, the framework id the service re-subscribes
// with, and the high-water mark of the event ids.
//
// Root group versions (groups.go) are stored as their explicit groups; the apps of a version
// are the newest app versions not after it. Versions of a deleted app are archived until no
// kept root version holds them, so that a group can be rolled back to before its deletion.
//
// The embedded default is an SQLite file under the service's work dir, opened with the same
// driver and pragmas as the master's registry (WAL, synchronous=FULL: a write that returned is
// on disk). The schema is plain gorm with no SQLite-only SQL, so Open also takes a PostgreSQL
// *gorm.DB. Tables are prefixed "apps_" so they can share a database with other services.
package store
