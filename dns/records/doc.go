// Package records generates the DNS records of the Strata DNS server, compatible with
// Mesos-DNS: the same names, sanitising, IP sources and SRV rules
// (/work/shared/reference/mesos-dns.md and the Mesos-DNS naming docs). It does no network I/O.
//
// A Set holds the records of one zone (default "mesos"). It is fed either in bulk, from a
// /master/state document,
//
//	st, err := records.ParseMasterState(body) // what Mesos-DNS polls
//	st.Masters = []string{"10.0.0.1:5050", "10.0.0.2:5050"}
//	set.Replace(st)
//
// or incrementally, from the master's operator event stream (UpsertTask, UpdateTaskStatus,
// RemoveTask, UpsertAgent, RemoveAgent, UpsertFramework, RemoveFramework, SetMasters). Each
// task, agent and framework owns the records computed from it; records are reference-counted
// per owner, so two tasks with the same name both resolve and removing one leaves the other,
// and an agent's or framework's change recomputes only its tasks.
//
// Names, for domain D, sanitised framework name F, sanitised task name T (or DiscoveryInfo
// name) and canonical label C = T-<zbase32(sha1(task ID))[:5]>-<agent ID tail>:
//
//	T.F.D, C.F.D                 A/AAAA  task IPs (first IP source that yields one)
//	T.F.slave.D, C.F.slave.D     A/AAAA  agent IPs
//	_T._tcp|_udp.F.slave.D       SRV     C.F.slave.D:<host port>
//	_T._tcp|_udp.F.D             SRV     the same, only without DiscoveryInfo
//	_T._<proto>.F.D              SRV     C.F.D:<DiscoveryInfo port>
//	_<port>._T._<proto>.F.D      SRV     the same, for named DiscoveryInfo ports
//	F.D, _framework._tcp.F.D     A/AAAA, SRV  the scheduler
//	slave.D, _slave._tcp.D       A/AAAA, SRV  every agent (Strata adds agent.D, _agent._tcp.D)
//	leader.D, _leader._tcp|_udp.D, master.D, masterN.D, _master._tcp|_udp.D
//	<SOAMname>                   A/AAAA  the name server itself
//
// Only TASK_RUNNING tasks on known agents get records. Lookups (A, AAAA, SRV, Lookup,
// Exists) take fully qualified lower-case names with the trailing dot; they take a read lock
// for one map access and allocate nothing, while a writer rebuilds only the names it changes
// and publishes them as fresh immutable values. Enumerate and Records serve /v1/enumerate and
// /v1/axfr.
//
// Where Strata deliberately differs from Mesos-DNS (names that no DNS message can carry,
// names sanitised to nothing, upper-case raw DiscoveryInfo names, the canonical label's
// length), the doc comment of the function concerned says so.
package records
