// Package replica runs one replica of a service that several processes may run at once (the
// apps and jobs services): the replicas elect a leader through ZooKeeper, in the same znode
// format as the masters (kernel/election: ephemeral sequential json.info_ children holding
// MasterInfo JSON whose address is the replica's API), only the leader acts (subscribes to the
// master, launches, writes the shared store), and the others forward every API call to it.
//
// A Replica is an http.Handler for the service's whole API:
//
//   - the leader's own handler once the leader has loaded its state and installed it;
//   - on any other replica, a reverse proxy to the leader (streaming responses such as
//     /v2/events are passed through as they come), with X-Strata-Leader naming the leader
//     (and X-Marathon-Leader, as Marathon's replicas do);
//   - the paths of Config.Local (/ping, /metrics) are answered by each replica itself;
//   - while no leader is known, or the leader is still loading, a request waits up to
//     HoldTimeout for one, and is then answered 503.
//
// A request already forwarded once (X-Strata-Forwarded-By) is never forwarded again: two
// replicas that disagree for a moment on who leads answer 503 rather than loop.
//
// Run contends for leadership and, while this replica leads, runs the service's lead function.
// Leadership ends for good when the ZooKeeper session is lost (kernel/election's step-down
// rules) or when the store reports that a newer leader has claimed the epoch (the lead
// function returns an error wrapping store.ErrFenced): Run then returns ErrLostLeadership and
// the process should exit for its supervisor to restart it as a fresh candidate, as Marathon
// does. Without a ZooKeeper URL the replica leads alone at once.
package replica
