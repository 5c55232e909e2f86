// Package containerizer defines how the agent runs executors: the
// Containerizer interface and the value types that cross it.
//
// A containerizer owns a set of containers, each identified by a container id
// the agent chooses (a UUID). Launch starts the executor's command in a new
// container, Wait blocks until the container's init process has exited and
// every process of the container is gone, Destroy kills the container and
// waits for it, Usage samples its resource statistics, and Recover re-attaches
// to the containers that survived an agent restart (and kills the ones the
// agent no longer knows: the orphans).
//
// Implementations differ in how much they isolate. The posix sub-package runs
// each container as a plain session (process group) with rlimits and reports
// itself as "no isolation"; a cgroup based implementation slots in behind the
// same interface: resources and limits are passed in ContainerConfig, the
// Termination carries a TaskState and a Reason so that a memory limitation can
// be reported as REASON_CONTAINER_LIMITATION_MEMORY, and Recover receives
// the ids the agent checkpointed, which is what a cgroup implementation needs
// to tell its own cgroups from orphans.
package containerizer
