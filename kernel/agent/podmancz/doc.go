// Package podmancz is the agent's podman containerizer: the agent's side of
// image containers. It runs custom executors whose ExecutorInfo names an
// image in containers of that image, as Mesos' docker containerizer does,
// and the built-in executors run their tasks with images through the same
// podman service (package podman), as Mesos' docker containerizer pairs with
// mesos-docker-executor.
//
// New plans it from the agent's flags (--podman=auto|off, --podman-socket),
// and Start, called before the agent recovers its checkpoints, makes it
// usable or records why not: with auto it looks for podman, runc, conmon and
// root (podman.Detect) and starts the agent's own podman service
// (podman.Start) with its configuration under <work dir>/podman and its
// socket there (or, when that path is too long for a unix socket, at
// /run/strata/podman-<hash of the work dir>.sock); with --podman-socket it
// connects to a service that is already running on this host instead. It
// never fails the agent: an agent without podman runs process tasks as
// before, and Unavailable says why image tasks cannot run, in words a person
// can act on ("podman is not installed (apt-get install podman runc)").
// Describe gives the one line the agent logs and shows in /flags and /state
// ("podman 4.3.1 (runc) at /var/lib/strata/agent/podman/podman.sock").
//
// Launch runs a custom executor in a container of its image (built by
// package mesosspec from the executor's ContainerInfo, CommandInfo,
// resources and limits, with the environment the agent gives it), named
// strata-<container id>, and checks first that the executor can reach the
// agent from the container's network: always on HOST, only at an address
// other than loopback on BRIDGE or USER (where LIBPROCESS_IP, the host's, is
// dropped), never on NONE. From then on a watch copies the container's
// output into the sandbox's stdout and stderr (podman.CopyLogs, resuming
// where it stopped) and waits for its exit through service restarts (for at
// most 5 minutes without an answer); Wait reports the end as a
// containerizer.Termination: the exit status ("Executor's container exited
// with status N"), or a memory limitation (TASK_FAILED,
// REASON_CONTAINER_LIMITATION_MEMORY, "Memory limit exceeded: Requested: …")
// when the kernel's OOM killer struck in it. Destroy stops it (SIGTERM,
// SIGKILL after the grace period the agent gives) and waits for the end;
// Recover re-attaches the containers of the executors a restarted agent
// recovered (checking their labels), which Wait then reports on like
// launched ones; Forget drops an ended one. Close ends the watches, not the
// containers.
//
// The built-in executors create the containers of their tasks; for those
// this package only finds and removes them and samples their usage. It does
// so always through the label strata.agent=<agent id> that every container
// carries (podman.List), so it never touches a container of another agent
// or of anybody else: RemoveOrphans removes the agent's containers no
// recovered executor owns (after an agent restart), RemoveContainer those of
// one executor container (when the executor has ended), and Usage samples
// every running one, keyed by its strata.container label (the executor's
// container id).
//
// Close stops the agent's own service (not a service it connected to);
// containers outlive it, each under its own conmon.
//
// This package and the executor are the only importers of package podman
// (and of package mesosspec), whose bindings need the Makefile's build tags.
package podmancz
