// Package feed keeps a records.Set current from the master's operator event stream, so that a
// task resolves within milliseconds of TASK_RUNNING and stops resolving as fast once it ends.
// Mesos-DNS polled /master/state every 60 s (reference/mesos-dns.md §1); Strata pushes
// (§9: "Push-based updates from Strata's own master (the event stream) instead of 60 s polling").
//
//	f, err := feed.New(feed.Config{Masters: []string{"10.0.0.1:5050", "10.0.0.2:5050"}, Set: set})
//	...
//	go f.Run(ctx)
//	<-f.Ready() // the DNS server answers SERVFAIL until then
//
// # The stream
//
// Run POSTs {"type":"SUBSCRIBE"} to /api/v1 with Accept: application/x-protobuf, trying the last
// leader first and then every configured master. A master that does not lead answers 307 with a
// protocol-relative Location (//host:port/api/v1); the feed follows it (only to the host:port it
// names, at most a few hops). The answer is a RecordIO stream of master.Event messages:
//
//	SUBSCRIBED         get_state → records.State → Set.Replace (Leader from GET_MASTER,
//	                   Masters from Config.Masters, for leader.D and masterN.D)
//	TASK_ADDED         Set.UpsertTask (a task in a terminal state is removed instead)
//	TASK_UPDATED       the task takes the event's state and the status joins its statuses
//	                   (replacing the older one of the same state) → Set.UpsertTask; a terminal
//	                   state → Set.RemoveTask
//	AGENT_ADDED        Set.UpsertAgent (agent_info.id, hostname, port and the agent's pid)
//	AGENT_REMOVED      Set.RemoveAgent (its tasks stay, without records, as the records
//	                   package keeps them, until they are updated or removed)
//	FRAMEWORK_ADDED,   Set.UpsertFramework (framework_info.id, name, hostname, webui_url)
//	FRAMEWORK_UPDATED
//	FRAMEWORK_REMOVED  Set.RemoveFramework (with all its tasks)
//	HEARTBEAT          nothing but liveness
//
// The feed keeps its own copy of every task it gave the Set (the Set keeps its model private),
// so that a TASK_UPDATED, which carries only a status and a state, can be applied as a whole
// task. The snapshot's unreachable tasks are loaded too (they get no records, but a later
// TASK_UPDATED back to TASK_RUNNING finds them); completed tasks, completed frameworks and
// recovered agents are not, as Mesos-DNS reads none of them (but see the carry-over below).
//
// # Failures
//
// The set is never cleared on a disconnect: the last good records keep being served while the
// master is away. Run reconnects with exponential backoff (100 ms doubling to 5 s, with jitter,
// reset once a session has lasted longer than the maximum) and the next SUBSCRIBED replaces
// the whole set, which corrects anything missed meanwhile. A stream on which nothing (not even
// a HEARTBEAT) arrives for MissedHeartbeats heartbeat intervals is dropped as dead, and the
// client's idle connections with it (a half-open connection must not carry the next
// SUBSCRIBE).
//
// Strata goes one step further than a plain replace after a master restart or failover: the
// new leader's snapshot lists the agents it knows from its registry but that have not
// re-registered yet (recovered_agents), with none of their tasks. For such an agent the feed
// carries over the agent and the tasks it knew from the previous snapshot and events, so that
// names do not vanish for the seconds the agents need to find the new leader. A carried-over
// task is dropped when its agent re-registers without reporting it (the master sends the
// agent's TASK_ADDEDs before its AGENT_ADDED), when the agent is removed, or after
// CarryOverTimeout (the master's agent re-registration timeout, 10 minutes by default).
//
// # Metrics
//
// With Config.Registerer set, the feed registers strata_dns_feed_events_total{type},
// strata_dns_feed_reconnects_total, strata_dns_feed_connected,
// strata_dns_feed_last_event_timestamp_seconds, strata_dns_feed_carried_over_tasks,
// strata_dns_feed_apply_duration_seconds (from
// the receipt of an event to the Set reflecting it) and strata_dns_programming_latency_seconds:
// for every TASK_UPDATED, the time from the status' timestamp (written by the executor or the
// master) to the moment the Set reflects it, or from the event's receipt when the status has no
// usable timestamp (none, in the future, or more than an hour old: another host's clock).
//
// # Not done
//
// Frameworks: the v1 operator API carries no libprocess pid, so F.D and _framework._tcp.F.D
// come from framework_info.hostname only when it is an IP literal; the feed does no DNS
// resolution (records.Framework.IPs and records.Agent.IPs stay empty).
package feed
