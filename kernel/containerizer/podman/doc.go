// Package podman runs OCI containers through podman's REST API (the
// github.com/containers/podman/v4 bindings), as a library for the agent
// (custom executors in images) and the built-in executor (tasks with
// images): it plays the part Mesos' docker containerizer and
// mesos-docker-executor give the docker CLI. Package mesosspec turns what
// Mesos says about a container into a Spec.
//
// # The service
//
// Start runs the agent's own `podman system service --time=0` on a unix
// socket under <work dir>/podman, and Close stops it; Connect uses a service
// that is already running (an agent flag). The agent's service gets its own
// containers.conf through CONTAINERS_CONF:
//
//   - runtime "runc": crun fails on hosts with hybrid cgroups (Debian 12);
//   - cgroup_manager "cgroupfs" and events_logger "file": no systemd or
//     journald needed;
//   - default_ulimits for nofile and nproc no higher than the service's own
//     hard limits (DefaultUlimits): without them podman asks runc for
//     1048576 of each and runc fails with "error setting rlimit type 7:
//     operation not permitted" wherever the limits are lower. Start checks
//     the running service's limits and restarts it with lower values if
//     podman lowered its own (it caps nproc at kernel.pid_max);
//   - pids_limit 0 (no per-container pids limit, as Mesos), log_driver
//     k8s-file, and exit_command_delay 10 (an exec session, i.e. a health
//     check, is cleaned up 10 s after it ends rather than 5 minutes).
//
// Storage stays podman's default (/var/lib/containers/storage for root), so
// the agent sees the images that are on the host, including ones built with
// `podman import`, and several agents or test services on one host share it
// (podman locks it). Containers are independent of the service: each has its
// own conmon, so they survive a service restart and an agent restart.
//
// Detect tells whether podman, runc and conmon are installed and the agent
// is root, with a reason to show when they are not.
//
// # Containers
//
// Client.Run pulls the image if needed (Spec.ForcePull, else only when it is
// missing locally; a failure is an *ImageError naming the image), creates
// the container from a Spec and starts it. A Spec maps what a Mesos
// ContainerInfo of type DOCKER (or MESOS with an image) asks for: the image,
// a shell command (/bin/sh -c) or an entrypoint and arguments, environment,
// user, working directory, the HOST, BRIDGE, NONE or USER network with port
// mappings, host-path volumes (read-only or read-write), cpu shares, a CFS
// quota and a memory limit (swap included). The sandbox is bind-mounted at
// /mnt/mesos/sandbox and MESOS_SANDBOX points there. Every container carries
// the labels strata.agent=<agent id> and strata.container=<container id>;
// List returns only containers with the given agent label, so recovery and
// orphan removal never touch anybody else's containers.
//
// Wait returns the exit code and whether the kernel's OOM killer ended the
// container. On cgroup v1, podman 4.3's conmon does not notice OOM kills, so
// the package watches the container's memory.oom_control through an eventfd
// while it runs (started by Run, or by Wait for a running container) and
// reads the kill counter before the cgroup goes away; Run initialises the
// container (runc create) and starts the watch before the command starts, so
// even an immediate OOM kill is seen. One that happens while no client
// watches (the executor is down) is missed there. Stop sends the stop
// signal and SIGKILL after a grace period (whole seconds); Remove removes a
// container (idempotently); Inspect reports state, IP addresses and the
// memory limit; Stats samples CPU time, memory and processes (podman's
// numbers, plus rss and page cache from the container's memory.stat, since a
// 4.3 service counts page cache as usage); Exec runs a command inside (for
// COMMAND health checks).
//
// Wait, Stats and CopyLogs read /proc and the cgroup filesystem, and
// containers mount host paths: the service must run on the agent's host,
// which a unix socket implies.
//
// # Output
//
// conmon writes the container's output to a k8s-file log inside the sandbox
// (<sandbox>/.podman/<name>.log) whether or not anybody reads it, and
// CopyLogs appends it to the sandbox's stdout and stderr, keeping its
// position in a file beside the log. Attaching to the container instead
// would lose whatever it prints while the reader (executor or agent) is
// down; with the log file a restarted CopyLogs continues where the last one
// stopped, also after the container has been removed (the log stays in the
// sandbox). The log is not rotated (conmon's log_size_max is unset), so a
// sandbox holds the output twice.
//
// # Not supported
//
// Registry credentials, image verification, pods, nested containers,
// rootless podman, GPUs, and killing an exec session that outlives its
// context (the podman 4.3 API has no call for it). Spec carries no
// ulimits of its own: every container gets the service's defaults.
//
// # Building
//
// The bindings need the build tags `remote exclude_graphdriver_btrfs
// btrfs_noversion exclude_graphdriver_devicemapper containers_image_openpgp`
// (no cgo libraries then); the Makefile passes them (`make -s print-tags`).
// Keep the import of this package (and of mesosspec) to the agent's podman
// containerizer and the executor, so that other packages build without them.
package podman
