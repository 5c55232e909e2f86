// Package runs is the model of a job run: its status, its tasks (one per
// attempt) and how a task's status update moves it on.
//
// A run's id is derived from its job and its scheduled tick
// (schedule.RunID), and it is persisted before its first task is launched,
// so a restart or a failover finds the run (and never fires the tick
// again). A task id is "<job id>_<run id>.<attempt>": a new attempt is
// launched only once the previous one is known to have ended.
package runs
