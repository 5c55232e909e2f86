// Package job is the job model of the jobs service, Strata's distributed cron, which serves the
// Metronome API (/v1/jobs) and the Chronos API (/v1/scheduler) over one set of jobs.
//
// Three layers:
//
//   - Metronome wire types (metronome.go): JobSpec, RunSpec and ScheduleSpec with Metronome's
//     JSON field names and defaults (cpus 1, mem 128, disk 0, maxLaunchDelay 3600, restart
//     NEVER, artifact extract true, UCR image kind docker; schedule timezone UTC,
//     startingDeadlineSeconds 900, concurrencyPolicy ALLOW, enabled true). DecodeJobSpec and
//     DecodeScheduleSpec apply them; Validate checks what Metronome's validators and JSON schema
//     check and returns a *ValidationError, Metronome's 422 body.
//   - Chronos wire type (chronos.go): ChronosJob, the job hash, with Chronos' defaults (shell
//     true, epsilon PT60S, retries 2, cpus 0.1, mem 128, disk 256) and its leniency (numbers and
//     booleans as strings, 0 resources meaning the default). Validate(kind) returns a
//     *ChronosError (400) naming the field.
//   - The model (model.go): Job, which both APIs map onto: FromMetronome, MergeMetronome,
//     (*Job).Metronome, (*Job).MetronomeSchedules, FromChronos, MergeChronos, (*Job).Chronos.
//     Its JSON form is the storage form and round-trips through encoding/json without loss.
//
// # Where the two APIs meet
//
//   - Ids: a Chronos name is the job's id. Chronos names may hold upper case, '_', '#' and blanks
//     (Chronos' rule [\w\s.#-]+), which Metronome ids may not; such a job keeps its name as id, is
//     listed and reachable under /v1/jobs/{id}, and may be updated there (MergeMetronome skips the
//     id rule). Metronome ids are valid Chronos names, so a Metronome job's name is its id.
//   - Commands: Metronome's cmd is a shell command (Run.Shell), its args an argument vector;
//     Chronos' command, arguments and shell map one to one. The Metronome view shows a Chronos
//     job with shell false as args [command, arguments...].
//   - Schedules: a job has any number of schedules (Metronome allowed one), each either cron
//     (Metronome) or ISO 8601 (Chronos, id "chronos"). /v1/jobs/{id}/schedules shows the cron
//     ones; the Chronos view shows the first ISO 8601 schedule as schedule, or schedule "" when
//     there is none (and no parents), plus the cron schedules in the Strata field
//     strataCronSchedules. Chronos' epsilon is the schedule's startingDeadlineSeconds;
//     concurrent true is concurrencyPolicy ALLOW and false FORBID.
//   - Retries: Chronos' retries is Job.Retries; Metronome's restart NEVER is 0 and ON_FAILURE
//     RetryUntilDeadline (relaunch until restart.activeDeadlineSeconds); a job with retries
//     other than 0 shows ON_FAILURE.
//   - Dependencies: Metronome dependencies and Chronos parents are Job.Parents. CheckCycles finds
//     a cycle in a whole set of jobs; MissingParents lists parents that do not exist.
//   - Constraints: Metronome's object form {attribute, operator IS|EQ|LIKE|UNLIKE, value} and
//     Chronos' [attribute, EQUALS|LIKE|UNLIKE, value]; EQUALS is EQ, and IS shows as EQUALS.
//
// # Differences from the originals (Strata's corrections)
//
//   - Zeros clients send for unset values take the default: startingDeadlineSeconds 0 (900),
//     restart.activeDeadlineSeconds 0 (none), maxLaunchDelay 0 (3600).
//   - Constraint operator IS is accepted (Metronome 0.6.18's schema rejected it).
//   - Schedules: several per job, ids unique within the job; concurrencyPolicy REPLACE (stop the
//     active run, start the new one); catchUp SKIP or RUN_ONCE (default) for ticks that fell due
//     while no leader ran, within startingDeadlineSeconds (Metronome silently lost them).
//   - A schedule id may be one character (Metronome's schema regex demanded two).
//   - Cron expressions are read by package schedule (5 fields, or 6 with leading seconds; day of
//     week 0–7, see NormalizeCron); Metronome's optional year field is not supported. An
//     expression that does not fire within 5 years ("0 0 30 2 *") is invalid.
//   - run.args alone (no cmd, no image) is accepted: it is how a Chronos job without shell shows.
//   - gpus above 0 are refused, as by the apps service: Strata agents offer no GPUs.
//   - Chronos' maxCompletionTime is in milliseconds; 0 and -1 mean no limit.
//   - Unknown fields are ignored (Metronome's schema refused them).
//   - Chronos constraints with an unknown operator are refused (Chronos dropped them silently);
//     Chronos' protocol and portMappings of networkInfos and persistent/external volumes are not
//     supported and dropped.
//
// The package holds no state and does no I/O.
package job
