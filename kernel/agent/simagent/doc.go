// Package simagent is a simulated agent: it speaks Strata's real master⇄agent protocol
// (docs/internal-protocol.md) over HTTP, but instead of running executors it answers every
// RUN_TASK with TASK_RUNNING at once (and KILL_TASK with TASK_KILLED). Many of them run in one
// process, which is how the offer-loop benchmark and the master's protocol tests put a thousand
// agents in front of a real master, the way nomad-nodesim does for Nomad.
package simagent
