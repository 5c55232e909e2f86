// Package cgroups puts the agent's containers into Linux control groups:
// it finds the hierarchies, creates one cgroup per container under the
// agent's own root, writes cpu, memory and pids limits, moves processes in,
// samples usage, reports OOM kills, and kills every process of a container.
// It talks to cgroupfs with plain file I/O and has no state of its own.
//
// # Hosts
//
// Detect reads /proc/self/mountinfo (never a hard-coded path) and tells the
// mode apart:
//
//   - v1: one mount per controller, or per co-mounted group such as
//     cpu,cpuacct. Each controller has its own tree.
//   - hybrid: v1 mounts hold the controllers, and a cgroup2 mount (usually
//     /sys/fs/cgroup/unified) with few or no controllers tracks processes.
//   - v2: one unified tree at /sys/fs/cgroup with the controllers listed in
//     its cgroup.controllers.
//
// A controller is usable when its hierarchy is mounted read-write and this
// process may create directories in it (in practice: root). Info.String is
// the one-line summary for the agent's log and /state flags.
//
// # Layout
//
// A Manager owns Config.Root (like Mesos' --cgroups_root, e.g.
// "strata/<hash of the work dir>", see RootFor) below the mount point of
// every hierarchy it uses; two agents on one host must use distinct roots.
// A container's cgroup is <mount>/<root>/<container id>. On v1 it is
// created in the cpu, cpuacct, memory, pids and freezer hierarchies that
// are usable (once for co-mounted ones). On the unified hierarchy the
// container cgroup holds the limits, and its child <id>/leaf holds the
// processes, because v2 forbids processes in a cgroup that hands
// controllers to children; cpu, memory and pids are enabled in
// cgroup.subtree_control from the mount point down to the container. On a
// hybrid host both are used: v1 for limits and accounting, v2 for tracking
// and cgroup.kill.
//
// # Enforced
//
//   - cpu: v1 cpu.shares = 1024 × cpus (at least 2); v2 cpu.weight = 100 ×
//     cpus (1 to 10000), as Mesos' v2 isolator writes them. With a cpu limit, a CFS quota
//     of limit × 100 ms per 100 ms period (v1 cpu.cfs_quota_us and
//     cpu.cfs_period_us, v2 cpu.max).
//   - memory: the request (at least 32 MiB) is v1 memory.soft_limit_in_bytes
//     or v2 memory.low; the hard limit (the request, or the larger limit) is
//     memory.limit_in_bytes or memory.max. Swap is not limited, and
//     memory.memsw.* (absent without swap accounting) is never needed. On
//     v2 Update refuses a memory.max below current usage, which the kernel
//     would meet by OOM-killing.
//   - pids: pids.max on both.
//
// A controller that is not usable is skipped (Manager.Enforced lists what
// is enforced); the container still gets cgroups in the other hierarchies.
//
// # Measured
//
// Stats returns user and system cpu time (v1 cpuacct.stat in USER_HZ ticks;
// v2 cpu.stat user_usec and system_usec, which need no controller), CFS
// periods and throttling (cpu.stat), anonymous memory (v1 memory.stat
// total_rss, v2 anon), cache, usage and the hard limit, the OOM kill count,
// and the number of processes and threads (cgroup.procs; tasks on v1,
// cgroup.threads on v2).
//
// # OOM
//
// The kernel counts OOM kills per cgroup: v1 memory.oom_control oom_kill
// (Linux ≥ 4.13), v2 memory.events oom_kill. OOMState reads it together with
// the limit, the usage and the peak usage (v1 memory.max_usage_in_bytes, v2
// memory.peak), which an OOM kill leaves at the limit. WatchOOM polls these
// counters every interval (1 s by default) and is woken early by the
// kernel: on v1 an eventfd registered through cgroup.event_control, on v2
// inotify on memory.events. With a notification an OOM kill is reported
// within tens of milliseconds; without one, within an interval.
//
// # Kill
//
// Kill returns when no process of the container is left, grandchildren and
// double-forked daemons in their own sessions included, since membership
// follows fork and cannot be escaped without privileges. With the unified
// hierarchy and cgroup.kill (Linux ≥ 5.14) one write kills the whole tree.
// Otherwise each round freezes the container (v1 freezer.state, v2
// cgroup.freeze) so nothing can fork, SIGKILLs every pid of cgroup.procs,
// and thaws so the signals land; rounds repeat until the cgroups are empty
// or Config.KillTimeout (10 s) passes, which is an error naming the
// survivors. Destroy kills, then removes the cgroups, children first. List
// returns the container ids under the root, for orphan cleanup after an
// agent restart.
package cgroups
