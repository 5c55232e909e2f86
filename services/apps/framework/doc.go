// Package framework is the apps service's Mesos framework, built on kernel/scheduler. It
// registers as "marathon" (user root, or the current user when not root; failover_timeout one
// week; checkpointing; PARTITION_AWARE and TASK_KILLING_STATE), stores the framework id it gets
// and re-subscribes with it, and keeps every instance of every app in step with Mesos:
//
//   - On every (re)subscription it reconciles first: it asks the master for the state of every
//     launched instance it knows (explicit reconciliation, repeated with backoff for those not
//     answered), then for every task of the framework (implicit), and kills tasks it does not
//     know. Until that is done it launches and kills nothing, so a restart of the service or of
//     the master never costs a healthy task. It reconciles again periodically.
//   - Instances wait as "scheduled" until an offer fits them (through a Placer); their TaskInfo
//     carries the command (shell for cmd, argv for args), resources, Marathon's environment
//     (PORT0..n, PORTS, PORT_<NAME>, HOST, MARATHON_APP_*, MESOS_TASK_ID) and the app env,
//     labels, fetch URIs, user, the container (DOCKER and MESOS images run on the agent through
//     podman), the health check (MESOS_HTTP, MESOS_TCP, COMMAND, and Marathon's HTTP and TCP
//     mapped onto them) and the kill policy. Offers nothing waits for are declined with a long
//     filter; with nothing to launch the framework SUPPRESSes offers, and it REVIVEs when
//     instances are scheduled again.
//   - Status updates are applied to the instances and persisted before they are acknowledged.
//     An instance that ends without having been asked to is replaced, after a launch delay that
//     grows with consecutive failures (backoffSeconds × backoffFactor^n, capped at
//     maxLaunchDelaySeconds, reset on a configuration change).
//   - Unless a deployment holds an app (a rolling restart), the framework keeps the number of its
//     active instances at the app's instances: it schedules the missing ones and kills the surplus
//     in the app's killSelection order.
//   - Unhealthy tasks are killed by their executor, which runs the health check and kills after
//     maxConsecutiveFailures; the framework records the health results and replaces the task
//     when it ends, and does not kill on an unhealthy result itself (no double kill).
//   - Unreachable instances (TASK_UNREACHABLE) are replaced after the app's
//     unreachableStrategy.inactiveAfterSeconds and forgotten after expungeAfterSeconds (a task
//     that comes back after that is killed as unknown); staging tasks that never start within
//     the launch timeout are killed and replaced.
package framework
