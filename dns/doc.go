// Package dns is Strata's service discovery: `strata dns`, and part of
// `strata dev` on 127.0.0.1:8053 (UDP and TCP) with its HTTP API on 8123. It
// answers the names mesos-dns produces (package records) from records kept
// current by the master's operator event stream (package feed) rather than
// by polling, serves them over DNS and mesos-dns' HTTP API (package server),
// and forwards other zones to upstream resolvers. With a zk:// URL (config
// zk, --zk) the Service runs a ZooKeeper detector (kernel/election) and the
// feed follows whichever master it names, as mesos-dns does.
package dns
