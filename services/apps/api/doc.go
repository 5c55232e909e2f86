// Package api serves the apps service's Marathon-compatible REST API (/v2) with gin: apps
// (nested ids such as /a/b/c are dispatched by hand from one catch-all route, with the
// /restart, /tasks, /tasks/{taskId}, /versions and /versions/{version} suffixes), deployments,
// tasks, the launch queue, /v2/info, /v2/leader, /ping, Prometheus /metrics and, when the
// service gives it a stream handler, the /v2/events stream (package services/apps/events).
//
// Every deployable call answers {deploymentId, version} with the Marathon-Deployment-Id header
// (POST /v2/apps: 201 with Location and the app). Errors use Marathon's body, {message,
// details:[{path, errors}]}: 400 for a body that is not JSON, 404 for unknown apps, tasks,
// versions and deployments, 409 for an existing id or an app locked by a deployment (with the
// deployments named, unless ?force=true), 422 for an invalid object. Bad input never gets a
// 5xx; a handler panic is recovered and logged and answered 500.
//
// GET /v2/apps/{id} always embeds the counts (tasksStaged, tasksRunning, tasksHealthy,
// tasksUnhealthy), the deployments as [{id}], the tasks with their healthCheckResults, and the
// lastTaskFailure, which is what clients' waiting loops read. embed=apps.readiness (or
// app.readiness) adds readinessCheckResults, [{name, taskId, ready, lastResponse}], the results
// of the readiness checks a running deployment waits for; the deployments' currentActions carry
// the same per action. embed=apps.taskStats (or app.taskStats) adds Marathon's tasksStats, the
// task counts and life times in total and by version (startedAfterLastScaling, withLatestConfig,
// withOutdatedConfig, as versionInfo tells them; empty categories left out). On the list,
// embed=apps.failures adds the tasks and the lastTaskFailure. GET /v2/deployments/{id} adds,
// beyond Marathon, status, reason, progress and, for auto-reverts, revertOf and revertedBy.
//
// GET /v2/queue lists the apps with waiting instances in Marathon's shape (app, count, role,
// delay, since, processedOffersSummary and, with ?embed=lastUnusedOffers, lastUnusedOffers), from
// the framework's offer statistics. Beyond Marathon it answers "why is my app waiting?":
// processedOffersSummary.rejectSummaryConstraints names the constraints that declined the last
// offers and how many each, and waitingReason says it all in one sentence.
//
// Groups (groups.go): GET /v2/groups[/{id}] with Marathon's embeds (group.groups, group.apps
// and group.pods by default; group.apps.counts, .deployments, .tasks, .lastTaskFailure),
// /versions (a JSON array of root versions at which the group existed) and /versions/{version};
// POST creates (201, 409 for an existing group or app), PUT changes or creates a group (a
// GroupUpdate; {"version"} rolls the group back, {"scaleBy"} scales every app below it,
// ?dryRun=true answers {"steps"} instead of deploying), PATCH sets enforceRole (stored, not
// enforced), DELETE removes a group with everything below it (the root: everything). Unknown
// groups are 404 "Group '/x' does not exist", invalid trees 422 (a dependency cycle is named).
//
// Every change of an app through the API (create, update, patch, bulk, rollback, restart, scale
// by killing, delete, a deployment's rollback) publishes an api_post_event with the client's
// IP, the path and the app's definition.
package api
