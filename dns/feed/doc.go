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
// With ZooKeeper, the feed follows whichever master leads, as Mesos-DNS does with its zk
// setting; the caller runs the detector:
//
//	u, _ := election.ParseURL("zk://10.0.0.1:2181,10.0.0.2:2181/mesos")
//	det, _ := election.NewDetector(election.Config{URL: u})
//	go det.Run(ctx)
//	f, err := feed.New(feed.Config{Detector: det, DetectionTimeout: 30 * time.Second, Set: set})
//
// # The stream
//
// Run POSTs {"type":"SUBSCRIBE"} to /api/v1 with Accept: application/x-protobuf, trying the last
// leader first and then every configured master (with a Detector: the leader it names first,
// see below). A master that does not lead answers 307 with a
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
// # Following the leader through ZooKeeper
//
// With Config.Detector (an *election.Detector on a zk:// URL, reading the Mesos election znodes
// json.info_NNNNNNNNNN) the feed does what Mesos-DNS does with zk:
//
//   - It subscribes to the master the detector names, then to the configured Masters, if any,
//     as Mesos-DNS falls back to its masters list. ZooKeeper wins: a configured master is only
//     tried after the detected leader failed, and a redirect from it is followed as usual. Until
//     the detector names a first leader, with no Masters configured, the feed waits.
//   - When the detector names another leader, the feed drops its stream at once (even if the
//     deposed master still serves it) and subscribes to the new leader; a wait between failed
//     attempts is cut short the same way. The new leader's SUBSCRIBED snapshot then replaces
//     the whole set (with the carry-over below), so records missed meanwhile are corrected.
//   - Meanwhile the last good records keep being served: a leader change never makes the
//     server answer SERVFAIL once the first snapshot is in. As soon as the change is seen, and
//     before the new snapshot arrives, leader.D, _leader._tcp.D, _leader._udp.D and master.D
//     point at the new leader (its pid from the znode's MasterInfo).
//   - masterN.D are numbered from the detected leader followed by the configured Masters
//     (Mesos-DNS' order: its zk leader, then its config's masters); a master listed twice gets
//     one name.
//   - If the detector names no leader Config.DetectionTimeout after Run starts, the feed logs
//     an error. Mesos-DNS exits at that point (zkDetectionTimeout); the feed keeps waiting
//     and loads the records once a leader shows up (or keeps following the configured
//     Masters, if they gave it a snapshot).
//
// The ZooKeeper session itself (timeouts, reconnection) is the detector's; a leader that dies
// is seen when its session expires (the master's --zk_session_timeout), though its stream
// usually breaks first and the feed retries it with backoff until the detector names the next
// leader.
//
// # Metrics
//
// With Config.Registerer set, the feed registers strata_dns_feed_events_total{type},
// strata_dns_feed_reconnects_total, strata_dns_feed_leader_changes_total (changes of the
// detected leader the feed followed), strata_dns_feed_connected,
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
