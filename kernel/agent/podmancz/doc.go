// Package podmancz is the agent's podman containerizer: the agent's side of
// image containers, which the command executor runs through the same podman
// service (package podman), as Mesos' docker containerizer pairs with
// mesos-docker-executor.
//
// New plans it from the agent's flags (--podman=auto|off, --podman-socket),
// and Start, called before the agent recovers its checkpoints, makes it
// usable or records why not: with auto it looks for podman, runc, conmon and
// root (podman.Detect) and starts the agent's own podman service
// (podman.Start) with its configuration under <work dir>/podman and its
// socket there (or, when that path is too long for a unix socket, at
// /run/strata/podman-<hash of the work dir>.sock); with --podman-socket it
// connects to a service that is already running on this host instead. It
// never fails the agent: an agent without podman runs process tasks as
// before, and Unavailable says why image tasks cannot run, in words a person
// can act on ("podman is not installed (apt-get install podman runc)").
// Describe gives the one line the agent logs and shows in /flags and /state
// ("podman 4.3.1 (runc) at /var/lib/strata/agent/podman/podman.sock").
//
// The executors create the containers; this package only finds and removes
// them and samples their usage, always through the label strata.agent=<agent
// id> that every container carries (podman.List), so it never touches a
// container of another agent or of anybody else: RemoveOrphans removes the
// agent's containers no recovered executor owns (after an agent restart),
// RemoveContainer those of one executor container (when the executor has
// ended), and Usage samples every running one, keyed by its strata.container
// label (the executor's container id).
//
// Close stops the agent's own service (not a service it connected to);
// containers outlive it, each under its own conmon.
//
// This package and the executor are the only importers of package podman,
// whose bindings need the Makefile's build tags.
package podmancz
