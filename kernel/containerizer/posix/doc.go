// Package posix is the containerizer that isolates nothing: each container is
// a plain process session with rlimits, for hosts (or users) without cgroups.
// It reports itself honestly as "no isolation".
//
// The executor is started with setsid(2), so its pid is the id of a new
// session and of a new process group; every process it starts stays in that
// session unless it calls setsid itself (the command executor puts each task
// in its own process group, which stays in the session). Destroying a
// container SIGKILLs, repeatedly until none is left, every process of the
// session and every descendant of those processes found through /proc parent
// links (which catches children that started sessions of their own while
// their parent was alive). A daemon that double-forks out of the session
// before the kill cannot be found; containing that needs cgroups.
//
// Because executors are session leaders detached from the agent's terminal,
// a Ctrl-C that reaches the agent's process group does not reach them, and
// they survive an agent restart. For every container the package keeps a
// small state file (<StateDir>/<id>.json: pid, start time, boot id, sandbox)
// so that Recover can re-attach after a restart: a recovered executor is not
// the agent's child, so its exit is observed with a pidfd (or, without pidfd
// support, by polling /proc) and its exit status is unknown.
//
// ContainerInfo.rlimit_info is applied with prlimit(2) right after the
// executor starts (before it has a chance to start tasks). Statistics come
// from /proc: processes, threads, user and system CPU time (live processes
// plus the children they reaped), resident memory, and the sandbox's disk
// usage; cpus_limit and mem_limit_bytes echo the allocated resources, which
// are not enforced.
//
// StartStandby starts a container's command ahead of the container (a
// standby, package standby), and LaunchStandby later makes it container
// cfg.ID: the same session, rlimits applied before the standby gets its
// sandbox, stdout and stderr and environment, the same state file. Until
// then a standby is no container: it has no state file and exits when the
// agent closes its socket or dies.
package posix
