// Package store is the master's durable state, kept through gorm in SQLite (a file under the
// work dir, the embedded default) or PostgreSQL (shared by several masters). It holds the Mesos
// registry — agents admitted, unreachable and gone; role weights — and, unlike Mesos, the
// frameworks with their failover timeouts, so that a master restart neither forgets a framework nor
// leaves its tasks running forever. Tasks are not stored: agents report them when they re-register.
//
// Protobuf messages (AgentInfo, FrameworkInfo) are stored as their binary encoding, so the schema
// does not follow every field of the wire types.
package store
