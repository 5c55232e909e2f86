// Package master is the Strata master: the Mesos-compatible control plane that admits agents,
// turns their free resources into offers for frameworks through the allocator, validates and
// forwards launches, relays status updates reliably, and serves the public APIs existing Mesos
// clients use:
//
//   - the v1 scheduler API, POST /api/v1/scheduler (JSON or protobuf, RecordIO event streams);
//   - the v1 operator API, POST /api/v1 (queries and the SUBSCRIBE event stream);
//   - the legacy read-only JSON endpoints (/master/state, /master/state-summary, /master/frameworks,
//     /master/slaves, /master/tasks, /master/redirect, /health, /version, /metrics/snapshot);
//   - Prometheus /metrics;
//   - Strata's own agent protocol, POST /internal/v1/agent (docs/internal-protocol.md).
//
// All master state lives in one struct guarded by one mutex; HTTP handlers and timers take the
// lock, change state, and queue pre-encoded events on per-subscriber streams that are written out by
// their own goroutines, so a slow client never blocks the master. Durable state (the registry of
// agents and, unlike Mesos, the frameworks with their failover timeouts) goes through kernel/store
// before the change is acknowledged.
package master
