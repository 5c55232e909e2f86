// Package faults is the fault-injection suite: it builds a whole Strata cluster of real
// processes on this machine (a 3-node ZooKeeper ensemble, PostgreSQL, three masters, two agents
// each in a network namespace of its own, two replicas each of the apps and jobs services) and
// runs, one after the other on the same cluster, the faults that take clusters down:
//
//   - the leading master killed with SIGKILL while an app runs and a job ticks;
//   - an agent cut off (its namespace's link down) and healed;
//   - every agent killed and restarted on its work dir;
//   - the leading apps replica killed during a rolling restart;
//   - PostgreSQL stopped and started again.
//
// After each fault, and at the end, it checks that nothing acknowledged was lost: the app is at
// its instance count with the master, the apps service and the processes in the namespaces all
// agreeing on its tasks, and every tick of the job's schedule was handled exactly once (run, or
// recorded skipped with its reason) with one execution per run.
//
// It needs root (namespaces, cgroups), iproute2 and util-linux, ZooKeeper and PostgreSQL from
// Debian; under CI=true a missing one fails the suite.
package faults
