// Package proc starts a task's command and tears down its process tree on
// Linux, the way the Mesos command executor does.
//
// A task is started with Start from a Spec: either the shell form
// (/bin/sh -c COMMAND) or the argv form (execvp-style lookup of Command with
// Args passed as argv exactly as given, so Args[0] is argv0). Every task runs
// in its own process group (its pgid is its pid), which is what Kill signals.
//
// Process.Kill(grace) sends SIGTERM to the task's process group and to every
// descendant found by walking the /proc parent links from the task's pid (so
// children that moved to another process group or session are found too),
// waits up to grace for them to go away, and then sends SIGKILL to the group
// and to every descendant still alive. Descendants are snapshotted before any
// signal is sent, because once a parent dies its children are reparented and
// the parent links that lead to them are lost; every snapshot entry is
// remembered with its start time so that a recycled pid is never signalled.
//
// Limits: a process that double-forks (a daemon) and so is reparented to init
// before Kill takes its snapshot, and that also left the task's process group,
// cannot be found from /proc parent links. Containing those needs a cgroup
// (freeze and kill every member), which the containerizer layer provides.
//
// Describe renders an ExitStatus as the Mesos command executor words it in
// TaskStatus messages: "Command exited with status 1" or
// "Command terminated with signal Terminated".
package proc
