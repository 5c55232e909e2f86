// Package health runs task health checks the way the Mesos built-in
// executors (the command and default executors) do, and decides what to
// report.
//
// A Check is a COMMAND (run with /bin/sh -c, or in argv form), an HTTP GET of
// http(s)://127.0.0.1:<port><path> (certificates are not verified for https,
// redirects are followed, 200-399 is healthy unless Statuses lists the
// accepted codes), or a TCP connect to 127.0.0.1:<port>.
//
// Timing follows mesos.v1.HealthCheck: the first check runs Delay after
// Start, then each next one Interval after the previous one finished. A check
// running longer than Timeout fails (zero Timeout: no limit); a timed-out
// command is killed with its whole process group. Defaults fills in the Mesos
// defaults (delay 15 s, interval 10 s, timeout 20 s, 3 consecutive failures,
// grace period 10 s) for the fields that were not given explicitly; the
// durations are time.Duration so tests can use milliseconds.
//
// Reporting follows the built-in executors:
//   - failures while the grace period (counted from Start, so it includes the
//     delay) lasts are ignored, but only until the first success: after that
//     every failure counts;
//   - every counted failure is reported, with the number of consecutive
//     failures;
//   - a success is reported only when it is the first one, or the first one
//     after reported failures;
//   - when the consecutive failures reach ConsecutiveFailures, OnKill is called
//     (once); checking goes on until Stop, as in Mesos, where the executor
//     decides what to do with the kill request.
//
// Containers: Mesos enters the task's network and mount namespaces to run
// checks of containerized tasks. Here the caller gives a Check a Runner that
// runs the command inside the container (podman exec) and a Host for HTTP
// and TCP checks (the container's IP on a bridge network); without them the
// check runs on this host against 127.0.0.1.
package health
