// Package agent is the Strata agent: the process on every host that
// registers with the master, runs executors in containers and reports the
// status of their tasks, with the semantics of the Mesos agent.
//
// # Master
//
// The agent speaks Strata's internal protocol (docs/internal-protocol.md):
// it POSTs REGISTER (or REREGISTER, once it has an id) to the master's
// /internal/v1/agent, follows 307 redirects to the leader, and reads the
// RecordIO stream of AgentEvents. It answers PING with PONG and re-registers,
// with a random backoff in [0, b·2ⁿ] capped at a minute, when the stream
// breaks or no PING came for ping interval × max ping timeouts. Calls to the
// master (STATUS_UPDATE, EXECUTOR_MESSAGE, EXITED_EXECUTOR, PONG) go on
// separate requests carrying the stream id; a 403 makes the agent
// re-register.
//
// # Executors
//
// A task with a CommandInfo runs under a generated command executor (the
// agent's own binary run as `strata executor`; executor id = task id; the
// executor gets 0.1 cpus and 32 MB on top of the task, agent-side only). A
// task with an ExecutorInfo runs under that custom executor, launched once
// per executor id; RUN_TASK_GROUP delivers a LAUNCH_GROUP to its executor.
// A task group whose ExecutorInfo is of type DEFAULT (or has no command) runs
// under the built-in default executor: the agent's binary run as `strata
// executor` without MESOS_HTTP_COMMAND_EXECUTOR, with the ExecutorInfo's
// resources; each of its tasks has its sandbox in tasks/<task id> of the
// executor's (see package executor), browsable through /files like the rest.
// A custom executor whose ExecutorInfo names an image runs in a podman
// container of it (see Image containers).
// The default executor is the framework's executor: it is checkpointed,
// recovered and re-registered with the master like a custom one.
// Before the container starts, the sandbox is created
// (work_dir/slaves/<agent>/frameworks/<fid>/executors/<eid>/runs/<cid>, see
// package sandbox) and the executor's CommandInfo.uris are fetched into it.
// Tasks are queued until the executor SUBSCRIBEs on /api/v1/executor, then
// sent as LAUNCH or LAUNCH_GROUP. An executor that does not subscribe within
// the registration timeout is destroyed and its tasks fail with
// REASON_EXECUTOR_REGISTRATION_TIMEOUT; when an executor's container ends,
// its tasks that are not terminal get TASK_FAILED (TASK_KILLED if a kill was
// pending, TASK_LOST/TASK_GONE if the executor was being shut down) with
// REASON_EXECUTOR_TERMINATED, and the master gets EXITED_EXECUTOR.
//
// Starting a built-in (command or default) executor is mostly the start of
// the strata process itself (runtime and package initialisation, 10 to 20 ms
// of CPU), so the agent keeps Config.StandbyExecutors of them started ahead of
// demand with the posix containerizer (posix.Standby): a launch takes one,
// which receives the executor's sandbox, output files and MESOS_*
// environment (which also tells it to be a command or a default executor)
// and is from then on that executor, recoverable like any other; the pool
// starts a replacement. Standbys run as the user of the latest built-in
// executor launch, are not containers until launched, and end with the agent.
// Built-in executors that do start are paced, one per CPU at a time in
// arrival order, from the sandbox's creation until they subscribe (see
// launchPacer), so that a burst of tasks reaches TASK_RUNNING in order
// instead of all at its end.
//
// # Image containers
//
// Containers of images run on podman, through Config.Images (package
// podmancz, which `strata agent` plugs in with --podman=auto|off and
// --podman-socket): Run starts the agent's own podman service under <work
// dir>/podman (or connects to the given socket) before recovery, logs what
// it found ("podman 4.3.1 (runc) at <socket>", or why not), shows it in
// /flags and /state (podman, podman_socket, podman_status), and closes the
// service when it returns (the containers live on under their conmon).
//
//   - A command task whose ContainerInfo asks for an image (DOCKER
//     docker.image, or MESOS mesos.image) runs in a podman container that
//     its command executor creates (see package executor), as with Mesos'
//     docker containerizer and mesos-docker-executor.
//   - A task of a task group with an image runs in a podman container of its
//     own that the default executor creates, beside the group's process
//     tasks. The default executor gets STRATA_PODMAN_SOCKET whenever podman
//     is usable, and runs as root (it switches users for its process tasks)
//     when its first group has a task with an image; a default executor that
//     does not run as root fails later tasks with images, saying so. A
//     default executor whose own ExecutorInfo names an image fails its tasks
//     at once (REASON_CONTAINER_LAUNCH_FAILED): images belong to its tasks.
//   - A custom executor whose ExecutorInfo.container names an image runs in
//     a podman container of that image, which the agent creates itself
//     (ImageContainers.Launch; the process containerizer is not involved),
//     as Mesos' docker containerizer runs custom executors: the URIs are
//     fetched into the sandbox, then the executor's CommandInfo runs in the
//     image (a shell command as /bin/sh -c, the argv form after the image's
//     entrypoint for DOCKER; see package mesosspec) with the sandbox at
//     /mnt/mesos/sandbox and the executor environment alone (MESOS_SANDBOX
//     is /mnt/mesos/sandbox, MESOS_DIRECTORY the sandbox on the host, all
//     the other MESOS_* variables as for any executor, plus the
//     CommandInfo's; the agent's own environment stays out), the cpu shares
//     and memory limit of the executor's resources and those of the tasks it
//     is launched with (they are not resized for later tasks), the labels
//     strata.agent and strata.container, its output copied into the
//     sandbox's stdout and stderr, and its CommandInfo.user (else the
//     image's). It runs on the HOST network by default and reaches the agent
//     at MESOS_AGENT_ENDPOINT; on a BRIDGE or USER network it can only reach
//     an agent that advertises a host address other than loopback (--ip),
//     and the launch fails with that advice otherwise (NONE always fails);
//     LIBPROCESS_IP is then left out. The end of the container is the end of
//     the executor: its exit status, or, when the kernel's OOM killer struck
//     in it, TASK_FAILED with REASON_CONTAINER_LIMITATION_MEMORY for its
//     tasks that were not terminal. Destroying it (shutdown, registration
//     timeout, kill) stops the container: SIGTERM, then SIGKILL after the
//     executor's shutdown grace period (what is left of it when SHUTDOWN was
//     sent). Its usage is podman's (/monitor/statistics, /containers).
//
// Without usable podman all of these fail at once with TASK_FAILED,
// REASON_CONTAINER_LAUNCH_FAILED and the reason ("this agent cannot run
// image containers: podman is not installed (apt-get install podman
// runc)"); a built-in executor that runs tasks with images runs as root
// with STRATA_PODMAN_SOCKET in its environment, and the socket's directory
// stays visible inside its mount namespace even when it lies under /tmp.
// Every container carries the labels strata.agent=<agent id> and
// strata.container=<executor container id>, and the agent only ever touches
// containers with its own agent label: after recovery it re-attaches the
// containers of recovered custom executors in images (it waits for them
// again and resumes copying their output), removes those no recovered
// executor owns, and when an executor that used podman has ended (it may
// have been destroyed or have crashed) it removes that executor's
// containers. /monitor/statistics, /containers and GET_CONTAINERS report a
// built-in executor's usage as the sum of the executor process and the
// podman containers of its tasks (podman's stats: cpu user and system time,
// rss, page cache and total memory, processes), found by the
// strata.container label; the limits are those of the executor's container
// (task plus executor resources).
//
// # Status updates
//
// Every update, from an executor or made by the agent, goes through the
// status update manager (package statusupdate): checkpointed first for
// checkpointing frameworks, then acknowledged to the executor, then
// forwarded to the master one per task at a time and retried with backoff
// until ACKNOWLEDGE_UPDATE comes back with its uuid. When the checkpoint
// cannot be written (a full disk), an executor's update is refused (500: the
// executor keeps it), while an update the agent makes itself is sent without
// being checkpointed rather than dropped; a task whose executor then ends
// fails with REASON_EXECUTOR_TERMINATED and a message saying that its updates
// could not be checkpointed, and why.
//
// # Checkpointing and recovery
//
// For frameworks with checkpoint=true the agent writes the meta tree
// (package checkpoint). On start it reads it back, re-attaches the executors
// still running through the containerizer (through ImageContainers for
// custom executors in images), gives them the re-registration timeout to
// subscribe again (they retry on their own), fails the tasks of those that
// do not, and re-registers with the master listing what it runs
// and the updates still unacknowledged. A re-subscribing executor that does
// not know a task the agent had handed it (the LAUNCH was lost with the
// restart) gets that task dropped (TASK_DROPPED, or TASK_LOST for frameworks
// that are not partition aware, with REASON_AGENT_RESTARTED); a built-in
// executor left without a live task by that is shut down. Containers of
// frameworks that do not checkpoint are destroyed. When Run returns, executors of checkpointing
// frameworks are left running (each is its own session, so a Ctrl-C at the
// agent's terminal does not reach them) unless Config.KillTasksOnExit is set
// (strata dev), which shuts every executor down.
//
// # HTTP
//
// Served with gin, each route also under /slave(1)/: /api/v1/executor,
// /api/v1 (operator GET_* calls), /state, /flags, /health, /version,
// /metrics/snapshot (flat JSON, Mesos names), /metrics (Prometheus,
// strata_agent_*), /monitor/statistics, /containers and /files/{browse,
// read,download,debug} (package files), confined to the sandboxes.
package agent
