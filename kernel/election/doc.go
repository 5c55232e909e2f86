// Package election is how Strata masters elect a leader and how everything else finds it,
// through ZooKeeper in Mesos' znode format (reference/mesos-api.md §5), so that tools that
// read Mesos' ZooKeeper data (Mesos-DNS, client libraries, DC/OS scripts) find a Strata leader.
//
// Each master contending (Candidate) creates an ephemeral sequential child
// "json.info_NNNNNNNNNN" under the path of a zk:// URL, holding its MasterInfo as JSON; the
// child with the smallest sequence number leads. Nothing else is ever created under that path
// (other readers take the minimum of all children but "log_replicas"). A Detector watches the
// same children without contending. Both follow the ZooKeeper session: a candidate whose
// session expires, or stays disconnected for two thirds of its timeout, gives its leadership up
// for good (Lost is closed; the master stops, as a Mesos master aborts), and recreates its
// child to contend again only if it never led.
//
// Static is the Leadership of a master that runs alone and the detector of a fixed list.
package election
