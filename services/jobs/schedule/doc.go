// Package schedule is the schedule arithmetic of the jobs service: Metronome
// cron expressions, Chronos ISO 8601 repeating intervals, the catch-up
// decision after downtime, and deterministic run ids. It does no I/O.
//
// # Cron expressions
//
// ParseCron reads 5 fields (minute hour day-of-month month day-of-week), or 6
// with a leading seconds field, or one of @yearly, @annually, @monthly,
// @weekly, @daily, @midnight, @hourly. Day-of-week takes 0-7 (0 and 7 are
// Sunday) and names; when both day-of-month and day-of-week are restricted,
// a day matching either one runs, as in Vixie cron. @every, TZ= and CRON_TZ=
// are refused: the zone is the schedule's own timezone field (IANA names,
// default UTC). Expressions that can never fire, such as "0 0 31 2 *", are
// refused too.
//
// # Daylight saving time
//
// Ticks are computed in the schedule's zone. Two rules apply, depending on
// the hour field.
//
// Schedules that name hours (the hour field does not match every hour:
// "30 2 * * *", "0 9 * * 1-5", @daily, @weekly, @monthly, @yearly) follow the
// wall clock:
//
//   - A time that does not exist because clocks jump forward fires once, at
//     the first instant after the jump. "30 2 * * *" in America/New_York runs
//     at 03:00 EDT on 8 March 2026; several skipped times ("*/20 2 * * *")
//     still fire only once.
//   - A time that occurs twice because clocks go back fires once, at its first
//     occurrence. "30 1 * * *" in America/New_York runs at 01:30 EDT on
//     1 November 2026 and not again at 01:30 EST.
//
// Schedules that match every hour ("* * * * *", "*/15 * * * *",
// "0 * * * *", @hourly) follow absolute time: they fire at every instant
// whose local time matches. When clocks jump forward the skipped hour simply
// has no ticks (01:45 EST is followed by 03:00 EDT); when clocks go back the
// repeated hour is lived twice and has its ticks twice (01:00 EDT, 01:00 EST,
// 02:00 EST), as an hourly job expects.
//
// The same rules hold for 30-minute shifts (Australia/Lord_Howe), for
// transitions at midnight, and in zones without DST, where they never come
// into play. robfig/cron, which parses the expressions, gets both wall-clock
// cases wrong on its own (it skips the whole day of a jump forward and fires
// twice when clocks go back), so Cron.Next does its own matching and zone
// arithmetic and uses robfig/cron only to parse.
//
// # Chronos repeating intervals
//
// ParseISO8601 reads "R[n]/<start>/<period>": R or R-1 repeats forever, Rn
// gives n ticks in all, R0 none; an empty start means now. The timezone
// (Chronos scheduleTimeZone) takes precedence over an offset written in the
// start, as in Chronos: the start's date and time of day are read in that
// zone. Tick k is computed from the start, not from the previous tick: the
// years, months, weeks and days of the period move the wall-clock date (a
// day past the end of a shorter month is clamped to its last day, so a
// monthly schedule from 31 January runs on 28 or 29 February, then on 31
// March), and its hours, minutes and seconds add elapsed time. So P1D keeps
// the time of day across DST while PT24H is always 24 hours; a wall time that
// does not exist or occurs twice is placed as for cron above.
//
// # Catch-up
//
// The jobs service records, per schedule, the last tick it handled (ran or
// recorded as skipped) and asks Due what to do now. Due never runs a tick
// twice and never loses one silently:
//
//   - The ticks due are those after the last handled tick, up to now.
//   - At most one of them runs: the newest, and only if it is on time, that
//     is no later than the starting deadline (a deadline of 0 means no limit:
//     the current tick may run until the next one comes due). Older ticks are
//     always later still, so under both policies, SkipMissed and RunOnce, a
//     missed tick is never run in place of the current one.
//   - Every other due tick is recorded as skipped with a reason: "missed:
//     service was not running; 3h12m late beyond startingDeadlineSeconds=60",
//     or "missed: superseded by a later tick (...)" for a tick still on time
//     that gave way to a newer one.
//   - The work is bounded whatever the downtime: only the newest ticks are
//     listed, and the count of skipped ticks is computed arithmetically (a
//     year of downtime on a per-second schedule takes well under a
//     millisecond).
//   - If the clock goes back (last handled tick after now), nothing is due.
//
// # Run ids
//
// RunID gives the id Metronome clients expect, yyyyMMddHHmmss in UTC plus
// five characters, but derives the characters from the job id and the tick
// instead of drawing them at random: a new leader re-deriving a run finds it
// instead of launching it again.
package schedule
