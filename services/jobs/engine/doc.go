// Package engine is the jobs service's core: it holds the jobs, fires their
// schedules, turns runs into tasks through the launcher, moves runs on with
// their tasks' status updates (retries, deadlines, stop), triggers
// dependent jobs, and keeps everything in the store.
//
// Guarantees:
//   - Never double-fire: a scheduled run's id is derived from its job and
//     tick (schedule.RunID), and the run is created in the same transaction
//     that moves the schedule's last tick; a tick already recorded is never
//     fired again, whatever restarts happen.
//   - Never silently miss: on start, and whenever the engine wakes late,
//     the ticks that came due since a schedule's last tick are handled by
//     schedule.Due: the newest one runs if it is within
//     startingDeadlineSeconds, and every other one is recorded as a
//     SKIPPED run with its reason (bounded: the newest 20 per wake-up, the
//     count in the reason of the newest).
//   - Nothing fires before the engine has loaded the store and the launcher
//     has reconciled the active runs' tasks with the master.
package engine
