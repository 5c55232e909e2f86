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
//   - Instances wait as "scheduled" until an offer fits them. Placement is the
//     services/apps/placement library: Spec maps an app onto a placement.Spec (resources, host,
//     bridge or container networking with its portDefinitions or portMappings, requirePorts,
//     constraints, acceptedResourceRoles, role), compiled into a Matcher when the app's
//     configuration changes; each app keeps one constraint.Index of the agents its launched,
//     active instances run on, rebuilt from the stored instances (which keep the agent as
//     constraints see it) and kept current as instances launch, are killed, become unreachable
//     and end. Every offer is matched against every app with waiting instances, and the app's
//     offerstats.Stats records it as used or, with the Rejection, unused (OfferStats, behind
//     /v2/queue); the statistics start over when all its instances are launched or its
//     configuration changes, and forget an agent the master reports as failed.
//   - A TaskInfo carries the command (shell for cmd, argv for args), the resources of the Fit,
//     Marathon's environment and DiscoveryInfo from placement/taskenv (PORT0..n, PORTS,
//     PORT_<NAME>, HOST, MARATHON_APP_*, MESOS_TASK_ID, then the app env), labels, fetch URIs,
//     user, the container (DOCKER and MESOS images run on the agent through podman), the health
//     check (MESOS_HTTP, MESOS_TCP, COMMAND, and Marathon's HTTP and TCP mapped onto them) and
//     the kill policy. Offers nothing waits for are declined with a long filter; with nothing to
//     launch the framework SUPPRESSes offers, and it REVIVEs when instances are scheduled again.
//   - Status updates are applied to the instances and persisted before they are acknowledged.
//     An instance that ends without having been asked to is replaced, after a launch delay that
//     grows with consecutive failures (backoffSeconds × backoffFactor^n, capped at
//     maxLaunchDelaySeconds, reset on a configuration change).
//   - Unless a deployment holds an app (a rolling restart), the framework keeps the number of its
//     active instances at the app's instances: it schedules the missing ones and kills the surplus
//     in the app's killSelection order.
//   - Health checks run on the agent, in the executor, which reports every result but never kills
//     (the TaskInfo's consecutive_failures is set beyond reach). The framework counts the
//     consecutive failures (not the repeats reconciliation answers carry) and kills an instance
//     once they reach maxConsecutiveFailures (0: never), rate-limited per app so that a flapping
//     check cannot take a whole app down (healthkill.go): at most max(1, floor(HealthKillShare ×
//     instances)) instances of an app are being killed for their health at once, and as many per
//     health kill window (a token bucket; the window is HealthKillWindow or the time a
//     replacement needs before its own checks could fail it). When the app has room above its
//     instance count (maximumOverCapacity) and no deployment holds it, the replacement is
//     launched first and the kill held until the replacement runs (at most ReplacementWait). The
//     end of a health-killed task counts as a task failure (backoff, lastTaskFailure).
//   - Unreachable instances (TASK_UNREACHABLE) are replaced after the app's
//     unreachableStrategy.inactiveAfterSeconds and forgotten after expungeAfterSeconds (a task
//     that comes back after that is killed as unknown); staging tasks that never start within
//     the launch timeout are killed and replaced. When an unreachable instance's agent comes back
//     the master reports the task RUNNING (REASON_AGENT_REREGISTERED): it counts again, and the
//     surplus is killed in killSelection order (the replacements first with YOUNGEST_FIRST). That
//     update repeats the last health result: like a reconciliation answer, it is not counted as
//     a check.
//   - Events go to Config.Events: status_update_event and instance_changed_event when a task
//     is launched (TASK_STAGING) and whenever an update brings a new state (as Marathon, which
//     publishes on condition changes, so reconciliation answers repeating a state publish
//     nothing), instance_health_changed_event and health_status_changed_event when a health
//     result flips, unhealthy_task_kill_event and unhealthy_instance_kill_event when the
//     framework decides a health kill (or finds that an executor killed a task launched with a
//     kill threshold of its own), and
//     unknown_instance_terminated_event for a terminal update of an unknown task.
package framework
