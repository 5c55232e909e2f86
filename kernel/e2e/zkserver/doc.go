// Package zkserver runs real ZooKeeper servers (Debian's zookeeper package) for tests: a
// standalone server or an ensemble on free loopback ports, each member with its own config and
// data dir under the test's temp dir, that a test can stop, kill and restart one by one.
package zkserver
