// Package simagent is a simulated agent: it speaks Strata's real master⇄agent protocol
// (docs/internal-protocol.md) over HTTP, but instead of running executors it answers every
// RUN_TASK with TASK_RUNNING at once (and KILL_TASK, SHUTDOWN_EXECUTOR and SHUTDOWN_FRAMEWORK with
// TASK_KILLED). Many of them run in one process, which is how the offer-loop benchmark and the
// master's protocol tests put a thousand agents in front of a real master, the way nomad-nodesim
// does for Nomad.
//
// Tests steer an agent through the failure cases of the protocol: SetPongs(false) makes it stop
// answering PINGs (the master then marks it unreachable), Disconnect breaks its stream,
// Reregister comes back with REREGISTER carrying its id, frameworks, executors and tasks (to the
// same or another master), and SendStatus sends an arbitrary status update. Events, WaitEvent and
// Acks expose what the master sent.
package simagent
