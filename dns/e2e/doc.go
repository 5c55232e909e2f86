// Package e2e tests the DNS server as a user meets it: `strata dev` started
// as a process, apps deployed through the Marathon API, names resolved with
// a DNS client and with dig; and `strata dns --zk` following the leading
// master through ZooKeeper across a SIGKILL of the leader (ZooKeeper,
// PostgreSQL, two `strata master --zk` and an agent, all real processes).
package e2e
