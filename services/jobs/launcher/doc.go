// Package launcher is the jobs service's Mesos framework: it registers as
// framework "metronome" through kernel/scheduler (the public scheduler API
// only), launches the tasks the service asks for on offers that fit them,
// kills tasks, and hands every status update to the service, which persists
// it before the update is acknowledged.
//
// The launcher knows tasks, not jobs: a task is queued with Launch (an id
// and a Spec), tracked from its first launch until a terminal update, and
// forgotten after that. On every subscription it reconciles the tracked
// tasks with the master (explicitly, with backoff, then implicitly) before
// it launches anything, and tasks the master reports that it does not track
// are killed. Offers are declined with a long filter and the role is
// suppressed while nothing waits; a queued task revives it.
package launcher
