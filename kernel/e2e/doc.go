// Package e2e holds the kernel's end-to-end tests: they run the real strata binary (master, agent,
// command and default executors, strata execute, strata dev) as separate processes on free loopback ports
// (agents of the partition test in network namespaces of their own, kernel/e2e/netns), drive
// them through the public Mesos APIs with kernel/scheduler and raw HTTP, and check what a user
// would see: exit codes, status updates, sandbox files, and that no task process outlives a shutdown.
// The whole-cluster fault suite is kernel/e2e/faults; the fault_*_test.go files here test the
// kernel's faults one at a time (agents restarted under load, executor and task crashes, a full
// agent work dir, ZooKeeper members and PostgreSQL lost), each documenting the outcome it checks.
//
// The binary comes from $STRATA_BIN (set by `make test`) or is built once by TestMain.
package e2e
