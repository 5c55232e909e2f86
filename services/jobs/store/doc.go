// Package store is the jobs service's durable state through gorm (SQLite
// by default, PostgreSQL for a shared store): job definitions, the last
// handled tick of every schedule, runs (active ones and a bounded history),
// and the framework id.
//
// A scheduled run is created in the same transaction that moves its
// schedule's last tick forward, and a run's key is its job and its id
// (derived from the tick): a tick is either never recorded or recorded
// exactly once, whatever restarts happen between the two.
package store
