// Package executor is Strata's built-in command executor: the process the
// agent starts (as `strata executor`) for a TaskInfo that carries a command
// and no executor. It speaks the Mesos v1 executor HTTP API to the agent and
// runs exactly one task, with the semantics of the Mesos command executor.
//
// # Lifecycle
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
// killed, as Mesos destroys the container of an executor that has exited.
//
// Every update carries a fresh random (v4) UUID and is kept until the agent
// sends ACKNOWLEDGED for it; unacknowledged updates, and the task while none
// of its updates was acknowledged, are sent again with SUBSCRIBE after a
// reconnection.
//
// # Start
//
// The agent may start the executor ahead of demand as a standby (package
// standby): AwaitLaunch then waits until the agent hands it a task's
// sandbox, output and environment, after which the executor is
// indistinguishable from one started for that task. Config.Launched lets the
// process defer work until the launch is over (`strata executor` keeps the
// garbage collector off during the launch and uses a single P afterwards).
//
// # Kills
//
// KILL sends TASK_KILLING first when the framework has the TASK_KILLING_STATE
// capability, then SIGTERM to the task's whole process tree and SIGKILL after
// the grace period: the KILL event's kill_policy, else the task's, else 3 s. A
// later KILL can only shorten the grace period. SHUTDOWN kills the task with
// the executor shutdown grace period minus a 2 s buffer and exits. A task
// running longer than its max_completion_time is killed without grace and
// reported as TASK_FAILED with REASON_MAX_COMPLETION_TIME_REACHED.
//
// # Health checks
//
// A task's HealthCheck (COMMAND, HTTP or TCP) is run by package health once
// the task is running. Results are reported as TASK_RUNNING updates with
// healthy set and REASON_TASK_HEALTH_CHECK_STATUS_UPDATED (every unhealthy
// result, and the first healthy one and the first after failures); after
// consecutive_failures the task is killed, and its TASK_KILLED carries
// healthy=false. No health updates are sent once a kill has begun.
//
// # Disconnections
//
// When the stream to the agent breaks, an executor of a checkpointing
// framework retries SUBSCRIBE with a randomized exponential backoff capped at
// MESOS_SUBSCRIPTION_BACKOFF_MAX, for at most MESOS_RECOVERY_TIMEOUT; after
// that it kills the task and exits. Without checkpointing it kills the task
// and exits at once, as Mesos executors do.
//
// # Not supported
//
// CheckInfo (TaskInfo.check) is ignored: no check_status is reported.
// LAUNCH_GROUP is for the default executor; the command executor shuts down
// when it receives one. Environment variables of type SECRET are skipped.
// Containers with images (a rootfs), capabilities and rlimits are the
// containerizer's business, not this package's.
package executor
