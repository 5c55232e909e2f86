// Package api serves the HTTP API of the jobs service, Strata's distributed cron, with gin: the
// Metronome API (/v1/jobs, the legacy /v0/scheduled-jobs, /ping, /info, /leader) and the Chronos
// API (/v1/scheduler/..., and the same under /scheduler/... for clients with an empty prefix)
// over one set of jobs held by the engine (package engine). A job created through one API is
// read, changed, run and deleted through the other.
//
// New(Config) returns a gin engine serving everything at its root, with panic recovery and JSON
// answers for unknown routes; Register(router, Config) mounts the same routes on a router of the
// caller's (for instance under /service/metronome). Config holds the Engine (an interface that
// *engine.Engine satisfies), a Logger, the Leader address answered by /leader, and the clock.
// The package exposes no metrics: the service mounts /metrics.
//
// # Metronome (/v1/jobs)
//
//	GET    /ping                                 200 "pong"
//	GET    /info                                 200 {version, libVersion, reconciled}
//	GET    /leader                               200 {leader} | 404 when none is known
//	GET    /v1/jobs[?embed=...]                  200 [job]
//	POST   /v1/jobs                              201 job | 400 | 409 | 422
//	GET    /v1/jobs/{id}[?embed=...]             200 job | 404
//	PUT    /v1/jobs/{id}                         200 job | 400 | 404 | 422 (keeps the schedules)
//	DELETE /v1/jobs/{id}[?stopCurrentJobRuns=]   200 job | 404 | 409 (active runs, dependents)
//	GET    /v1/jobs/{id}/schedules               200 [schedule] | 404
//	POST   /v1/jobs/{id}/schedules               201 schedule | 400 | 404 | 409 | 422
//	GET    /v1/jobs/{id}/schedules/{sid}         200 schedule | 404
//	PUT    /v1/jobs/{id}/schedules/{sid}         200 schedule | 400 | 404 | 422
//	DELETE /v1/jobs/{id}/schedules/{sid}         200 | 404
//	GET    /v1/jobs/{id}/runs                    200 [run] (active runs only) | 404
//	POST   /v1/jobs/{id}/runs                    201 run | 404 | 409 (disabled job)
//	GET    /v1/jobs/{id}/runs/{runId}            200 run (active or finished) | 404
//	POST   /v1/jobs/{id}/runs/{runId}/actions/stop   200 run | 404
//	POST   /v0/scheduled-jobs                    201 job with schedules | 400 | 409 | 422
//	PUT    /v0/scheduled-jobs/{id}               200 job with schedules | 400 | 404 | 422
//
// Errors use Metronome's bodies: 404 {"id": "x", "message": "Job 'x' does not exist"} (also
// "Schedule '...'" and "JobRun '...'"), 409 {"message": "Job with this id already exists"}, 422
// {"message": "Object is not valid", "details": [{"path": "/run/mem", "errors": [...]}]}, 400
// {"message": "Invalid JSON", ...} for a body that is not a JSON object, and {"message"} for a
// bad query parameter (an unknown ?embed= value, a stopCurrentJobRuns that is not a boolean).
// Timestamps are Metronome's, in UTC: "2026-11-22T03:00:00.000+0000".
//
// ?embed= (repeatable, values also comma-separated) takes activeRuns, schedules, history and
// historySummary. Schedules carry nextRunAt. The history is Metronome's {successCount,
// failureCount, lastSuccessAt, lastFailureAt, successfulFinishedRuns, failedFinishedRuns}, whose
// runs also carry status, startedAt, durationSeconds, reason (why it failed), trigger and
// sandbox (the URL of its last task's sandbox, where its output is), plus skippedRuns:
// [{id, scheduleId, scheduledAt, reason}], the ticks that were not run and why. A run is
// Metronome's JobRun {id, jobId, status, createdAt, completedAt, tasks: [{id, startedAt,
// completedAt, status}]}, plus trigger, scheduleId, scheduledAt, startedAt, reason, arguments,
// and each task's agentId, host, message and sandbox.
//
// # Chronos (/v1/scheduler and /scheduler)
//
//	GET    /jobs                      200 [job hash]
//	GET    /jobs/search?name=&command=&any=[&limit=&offset=]   200 [job hash] | 400
//	GET    /jobs/summary              200 {jobs: [{name, status, state, schedule, parents, disabled}]}
//	POST   /iso8601                   204 | 400 (create or replace a scheduled job)
//	POST   /dependency                204 | 400 (create or replace a dependent job)
//	GET    /job/{name}                200 job hash | 404
//	PUT    /job/{name}[?arguments=]   204 | 400 | 404 | 409 (run now)
//	DELETE /job/{name}                204 | 404 | 409 (delete, stopping its runs)
//	PUT    /job/success/{name}        200 "marked job x as successful: true" | 404
//	DELETE /task/kill/{name}          204 | 404 (stop every active run)
//	GET    /graph/dot                 200 Graphviz digraph of the dependencies
//	GET    /graph/csv                 200 node,<name>,<last state>,<state> / link,<parent>,<child>
//
// Errors are {"message": "<field>: <what is wrong>", "status": "Bad Request"}. Job hashes carry
// the counters (successCount, errorCount, lastSuccess, lastError, errorsSinceLastSuccess), which
// a replacing post keeps whatever it says. "R0//PT0M" unschedules a job (it stays, and never
// runs). ?arguments= values are split at blanks, as Chronos splits "-a 1 -b 2", and may repeat.
//
// # Differences from Metronome and Chronos
//
//   - A job may have several schedules (Metronome: one). ISO 8601 (Chronos) schedules do not
//     show under /v1/jobs/{id}/schedules; cron schedules show in the Chronos view as
//     strataCronSchedules.
//   - An empty ISO 8601 start ("R//PT1H", meaning now) is stored as the time of the post, so a
//     restart does not move the schedule; re-posting a job with the same repetitions, period and
//     zone keeps the start it has, so configuration tools that post the same hash again and
//     again do not push its ticks back.
//   - Chronos answered 400 for an unknown job; here it is 404. Deleting a job other jobs depend
//     on is refused with 409 (Chronos handed the children their grandparents or the parent's
//     schedule). Running a disabled job by hand is refused with 409 (Chronos accepted and
//     silently dropped it). Search lists every match unless limit is given (Chronos: 10), and
//     any= matches alone (in Chronos it only widened a name/command filter).
//   - The run-time arguments of a shell job may not hold shell metacharacters (Chronos removed
//     ';' only): they are appended to its command line.
//   - Job and schedule ids are at most 255 characters.
//   - Bad input never gets a 5xx: a body that is not JSON is a 400, a wrong type or value a 422
//     (Metronome) or 400 (Chronos) naming the field. Failures of the store are a 503 (retry); a
//     handler panic is a logged 500.
package api
