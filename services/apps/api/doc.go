// Package api serves the apps service's Marathon-compatible REST API (/v2) with gin: apps
// (nested ids such as /a/b/c are dispatched by hand from one catch-all route, with the
// /restart, /tasks, /tasks/{taskId}, /versions and /versions/{version} suffixes), deployments,
// tasks, the launch queue, /v2/info, /v2/leader, /ping and Prometheus /metrics.
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
// lastTaskFailure, which is what clients' waiting loops read.
package api
