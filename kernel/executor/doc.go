// Package executor is Strata's built-in executor: the process the agent
// starts as `strata executor`. It speaks the Mesos v1 executor HTTP API to
// the agent and is, depending on its environment, either
//
//   - the command executor (MESOS_HTTP_COMMAND_EXECUTOR=1, Config.Mode
//     CommandMode), which the agent starts for a TaskInfo that carries a
//     command and no executor, and which runs exactly that one task with the
//     semantics of the Mesos command executor; or
//   - the default executor (no MESOS_HTTP_COMMAND_EXECUTOR, DefaultMode),
//     which the agent starts for a LAUNCH_GROUP whose ExecutorInfo is of
//     type DEFAULT (or has no command), and which runs task groups with the
//     semantics of the Mesos default executor.
//
// Both share everything but the launch: the connection to the agent, the
// reliable status updates, kills, health checks, max_completion_time and
// reconnection.
//
// # Command executor
//
// Run subscribes to the agent (POST /api/v1/executor, SUBSCRIBE) and reads
// the RecordIO event stream. On LAUNCH it sends TASK_STARTING, starts the
// command (the shell form /bin/sh -c VALUE, or the argv form: VALUE looked
// up like execvp with ARGUMENTS passed as argv exactly as given) in the
// sandbox, with the executor's environment plus the CommandInfo environment,
// as the task's user when the executor runs as root, and then sends
// TASK_RUNNING with the executor's pid and the host IP in container_status.
// When the command exits, it sends TASK_FINISHED (exit code 0), TASK_FAILED
// ("Command exited with status N", "Command terminated with signal X") or,
// after a kill, TASK_KILLED, and exits once the agent has acknowledged that
// terminal update (or, failing an acknowledgement, shortly afterwards).
// Whatever is left of the task's process tree when the executor exits is
// killed, as Mesos destroys the container of an executor that has exited. A
// second LAUNCH fails its task; LAUNCH_GROUP shuts the executor down. A task
// whose ContainerInfo has an image runs in a podman container instead (see
// Image containers).
//
// # Image containers
//
// A task whose ContainerInfo has type DOCKER with docker.image, or type MESOS
// with a docker mesos.image, runs the way mesos-docker-executor runs it,
// through the agent's podman service (STRATA_PODMAN_SOCKET; package podman),
// in both modes: the command executor's task, and each task with an image of
// the default executor's groups, in a container of its own. Both modes run
// it with the same code (containerRun: prepare, start, watch, stop, remove).
// The container is named strata-<container id> (MESOS_CONTAINER_ID, or
// SUBSCRIBED's container_id) for the command executor's task and
// strata-<container id>.<nested container id> for a task of a group, and
// labelled strata.agent and strata.container (the executor's container id)
// and strata.task, so the agent can find it. Its sandbox (the executor's, or
// the task's tasks/<task id>) is bind-mounted at /mnt/mesos/sandbox. The
// spec follows Mesos' docker containerizer (package mesosspec): the image,
// pulled when missing or with force_pull_image (a MESOS image that is not
// cached); a shell command as /bin/sh -c VALUE replacing the entrypoint, the
// argv form as VALUE and ARGUMENTS after the image's entrypoint (DOCKER) or
// as the program and its argv (MESOS); CommandInfo.environment plus the
// executor's HOST and PORT* variables, MESOS_SANDBOX=/mnt/mesos/sandbox,
// MESOS_CONTAINER_NAME, MESOS_TASK_ID and MESOS_ALLOCATION_ROLE;
// CommandInfo.user (not the framework's user, which images seldom have); the
// image's working directory; the HOST network by default, BRIDGE (or USER)
// with docker.port_mappings whose host ports must be among the task's ports;
// host_path volumes (a relative host_path is in the sandbox, a relative
// container_path under /mnt/mesos/sandbox), RO or RW; cpu shares (1024 per
// cpu), a CFS quota from limits.cpus, and a memory limit from limits.mem or
// the mem resource, at least 32 MB. docker.parameters, linux_info and
// rlimit_info are ignored with a warning; privileged containers and volume
// sources other than host paths fail the launch. The executor must run as
// root to use the (rootful) service.
//
// The task gets TASK_STARTING, then, once the container runs, TASK_RUNNING
// whose container_status has the executor's pid and the container's IP
// addresses (the host's on the HOST network). The container's output goes to
// its sandbox's stdout and stderr (podman's CopyLogs, which resumes where it
// stopped), all of it before the terminal update: TASK_FINISHED for exit
// code 0, TASK_FAILED "Container exited with status N" otherwise, TASK_FAILED
// with REASON_CONTAINER_LIMITATION_MEMORY and "Memory limit exceeded:
// Requested: …" when the kernel's OOM killer ended a process of the container
// (whatever the exit code). The container is removed after the terminal
// update, and when the executor exits with it still there. A failure to
// connect, pull or create fails the task with REASON_CONTAINER_LAUNCH_FAILED
// and podman's message, which names the image (and kills the rest of a
// group). A kill sends TASK_KILLING (with the capability), then podman's
// stop: the stop signal (SIGTERM), and SIGKILL after the grace period;
// TASK_KILLED follows the container's exit. A kill while the image is being
// pulled cancels the start. COMMAND health checks run inside the container
// (podman exec, with the container's MESOS_SANDBOX); HTTP and TCP checks
// connect to the container's IP on a BRIDGE or USER network, to 127.0.0.1
// on the host network.
//
// The podman service is the agent's and restarts with it. While it does not
// answer, the executor retries (connecting, waiting for the container,
// copying its output, stopping it) with a backoff for up to the recovery
// timeout rather than failing the task; the container runs on under its own
// conmon meanwhile, so a checkpointing framework's image task survives an
// agent restart.
//
// # Default executor
//
// Each LAUNCH_GROUP (an executor may get several over its life) is a task
// group. Every task gets TASK_STARTING and its own sandbox,
// <sandbox>/tasks/<task id>, which is its working directory and
// MESOS_SANDBOX and holds its stdout and stderr. The URIs of its
// CommandInfo are fetched into it first (package fetcher, logging to the
// task's stderr; a kill or a shutdown cancels the fetch). It runs its
// CommandInfo like the command executor does (environment on top of the
// executor's, without the authentication token, plus MESOS_CONTAINER_IP; the
// task's user when the executor is root, who then owns the task's sandbox).
// A task whose ContainerInfo names an image runs in a podman container of
// its own instead (see Image containers), with its sandbox at
// /mnt/mesos/sandbox; a group may mix such tasks with process tasks. Every
// task of the group is prepared before any is started: a task that cannot
// be (a failed fetch, an unknown user, no command, an invalid container or
// no podman service) fails with REASON_CONTAINER_LAUNCH_FAILED and the rest
// of its group ends TASK_KILLED without having run. Then the processes are
// started and get TASK_RUNNING, and the containers are started in the
// background, each task getting TASK_RUNNING once its container runs (one
// that fails to start fails its task, which kills the group). Every
// TASK_RUNNING's container_status names a container nested in the
// executor's (as Mesos' nested containers do), and each task ends FINISHED
// or FAILED by its exit status (a container's, for a task with an image,
// whose container is removed after the terminal update). A group lives and dies
// together: when one of its tasks ends FAILED or KILLED (a health check kill
// and max_completion_time included), or a KILL arrives for any of them, the
// others still running are killed. A task that FINISHED leaves its siblings
// running, and groups are independent of each other. LAUNCH shuts the
// default executor down, as in Mesos. The executor exits once every task of
// every group has ended and the terminal updates were acknowledged.
//
// # Status updates
//
// Every update carries a fresh random (v4) UUID and is kept until the agent
// sends ACKNOWLEDGED for it; unacknowledged updates, and the tasks none of
// whose updates was acknowledged, are sent again with SUBSCRIBE after a
// reconnection.
//
// # Start
//
// The agent may start the executor ahead of demand as a standby (package
// standby): AwaitLaunch then waits until the agent hands it a container's
// sandbox, output and environment, after which the executor is
// indistinguishable from one started for that container (the environment
// chooses the mode). Config.Launched lets the process defer work until the
// first launch is over (`strata executor` keeps the garbage collector off
// during the launch and uses a single P afterwards).
//
// # Kills
//
// KILL sends TASK_KILLING first when the framework has the TASK_KILLING_STATE
// capability, then SIGTERM to the task's whole process tree and SIGKILL after
// the grace period: the KILL event's kill_policy, else the task's, else 3 s. A
// later KILL can only shorten the grace period. SHUTDOWN kills every task
// with the executor shutdown grace period minus a 2 s buffer and exits. A
// task running longer than its max_completion_time is killed without grace
// and reported as TASK_FAILED with REASON_MAX_COMPLETION_TIME_REACHED.
//
// # Health checks
//
// A task's HealthCheck (COMMAND, HTTP or TCP) is run by package health once
// the task is running; a command check runs in the task's sandbox. Results
// are reported as TASK_RUNNING updates with healthy set and
// REASON_TASK_HEALTH_CHECK_STATUS_UPDATED (every unhealthy result, and the
// first healthy one and the first after failures); after
// consecutive_failures the task is killed, and its TASK_KILLED carries
// healthy=false. No health updates are sent once a kill has begun.
//
// # Disconnections
//
// When the stream to the agent breaks, an executor of a checkpointing
// framework retries SUBSCRIBE with a randomized exponential backoff capped at
// MESOS_SUBSCRIPTION_BACKOFF_MAX, for at most MESOS_RECOVERY_TIMEOUT; after
// that it kills its tasks and exits. Without checkpointing it kills its tasks
// and exits at once, as Mesos executors do.
//
// # Not supported
//
// CheckInfo (TaskInfo.check) is ignored: no check_status is reported.
// Environment variables of type SECRET are skipped. The default executor's
// process tasks run in the executor's own container, not in isolated nested
// containers, and their resources are accounted to the executor's container;
// its tasks with images run in podman containers (see above). Image
// containers support neither APPC images, registry credentials, docker
// volumes nor a hostname; an OOM kill that happens while the executor is not watching (it
// was down) is reported as a plain exit; with the pid-namespace isolation of
// the executor's own container the OOM watch does not work (podman's own
// report is used). For process tasks of the command executor, capabilities
// and rlimits are the containerizer's business, not this package's.
package executor
