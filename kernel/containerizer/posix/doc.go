// Package posix is the process containerizer: executors run as processes on
// the host, isolated with cgroups and namespaces when the agent runs as root,
// and as plain process sessions with rlimits otherwise — a mode it reports
// honestly as "no isolation".
//
// # Isolation (root, Config.Init set, cgroups and/or namespaces asked for)
//
// Every container starts as a standby (package standby) started for it: the
// executor itself when its program is the strata executable (Config.Init),
// else `strata container-init`, which executes the program once the
// container is set up. The standby is started as root in a new mount
// namespace (and PID namespace with Config.PIDNamespace); before it gets its
// launch it is moved into the container's cgroup (package cgroups: cpu
// weight and optional CFS quota, memory request and limit, pids) and given
// its rlimits, so nothing of the container ever runs outside them. The
// launch then makes mounts private, binds the sandbox's tmp directory on
// /tmp (keeping the sandbox, and the directories of Config.Keep such as the
// agent's podman socket directory, reachable at their host paths), mounts
// /proc for a PID namespace, switches to the container's user, and goes on
// (or execs).
// Standbys of the agent's pool are started the same way, as root, so one
// pool serves every user.
//
// Limitations: the cgroup's OOM counter is watched (and read once more when
// the container ends); an OOM kill destroys the container, whose termination
// is then TASK_FAILED with REASON_CONTAINER_LIMITATION_MEMORY and Mesos'
// "Memory limit exceeded: Requested: …, Maximum Used: …" message. With
// Config.EnforceDiskQuota the sandbox is measured every DiskWatchInterval
// and a sandbox above the container's disk ends it with
// REASON_CONTAINER_LIMITATION_DISK. Limitation lets the agent check for an
// OOM kill at once when an executor reports a failed task. Destroy kills the
// whole cgroup (cgroup.kill, or freeze and kill), so double-forked daemons go
// too; Usage reads the cgroup's statistics. Recover removes the cgroups no
// recovered container owns.
//
// # No isolation
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
