// Package deploy runs the apps service's deployments. Every change to an app (create, update,
// scale, restart, delete, rollback) becomes a Deployment: a plan of steps, each a set of
// actions (StartApplication, ScaleApplication, RestartApplication, StopApplication) carried
// out together, the next step starting when the previous one is complete, as Marathon's
// DeploymentPlan does. The Manager owns the app definitions: it computes the plan from the
// current and target definitions, stamps versions, assigns service ports, persists the new
// versions and the deployment in one transaction, and drives the steps through the framework.
//
// One deployment at a time may touch an app: a conflicting change gets ErrLocked (the API's
// 409 with Marathon's body) unless forced, which cancels the conflicting deployments without
// rollback. Cancelling a deployment rolls its apps back through a new deployment, or, forced,
// just stops it.
//
// Steps are level-triggered: each tick compares what runs with what the step wants, so a
// deployment resumes where it was after a restart of the service (deployments are persisted
// and reloaded). A rolling restart follows Marathon's TaskReplaceActor arithmetic (see
// Restart): never fewer than ceil(instances × minimumHealthCapacity) healthy instances, never
// more than floor(instances × (1 + maximumOverCapacity)), an instance of an app with health
// checks counting as new capacity only once healthy.
//
// Readiness checks (ready.go) gate steps too, as Marathon's do: an instance a deployment
// launched counts toward its Scale or Restart step only once it is ready (after being healthy,
// when the app has health checks), so a rolling restart kills an old instance only for a ready
// new one. The Manager has them run (Config.Readiness, a readiness.Checker by default) for the
// instances its running deployments wait for and stops them when those end; they never kill.
// ReadinessResults serves the results to the API (AppInfo.readinessCheckResults and the
// deployments' currentActions).
//
// The Manager also owns the group tree (groups.go): explicit groups with their dependencies,
// and every change, whether made through /v2/apps or /v2/groups, is one change of the root group
// that makes a root version (kept by the store with the app versions it holds, bounded like
// them). A change is refused (422) if an app and a group would share an id or the dependencies
// would form a cycle. Plans follow the dependencies (dependencyPlan): stops dependents first,
// then the starts, then scales and restarts in layers by the longest dependency chain, as
// Marathon's DeploymentPlan does. An app's action in a step is only released once what it
// depends on runs (and is healthy, with health checks), also across deployments: an app posted
// alone waits for a dependency another deployment is still bringing up. Until released, an app
// keeps running as it was (a new one has no instances).
//
// Beyond Marathon, whose steps never time out, a deployment that makes no progress for the
// progress deadline (10 minutes by default) is FAILED with a reason naming what it waited for;
// its app keeps whatever runs and is again kept at its instance count. With auto-revert (a
// Strata extension, autorevert.go: upgradeStrategy.autoRevert, or Config.AutoRevert for apps
// that do not set it), a new deployment then takes each such app back to its last good version,
// the target of its last deployment that succeeded (kept in the store); the failed deployment's
// reason and revertedBy name it, and its revertOf names the failed one. A revert is not
// reverted.
//
// The Manager publishes Marathon's deployment events to Config.Events: group_change_success
// when a deployment is committed (for the innermost group holding its apps), deployment_info
// when a step starts, deployment_step_success when it completes (with app_terminated_event for
// the apps a StopApplication step removed), deployment_success, and deployment_step_failure
// with deployment_failed when the deadline fails it (deployment_failed alone, with the reason,
// when it is canceled or superseded). Each carries the plan {id, version, steps, affectedApps}.
package deploy
