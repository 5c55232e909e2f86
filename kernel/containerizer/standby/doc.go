// Package standby is the small protocol between a containerizer and a process
// it starts before the container that process will belong to exists: a
// standby. Starting a process costs the same whenever it happens, so a
// containerizer can pay that cost ahead of demand and, when a container is
// launched, hand the waiting process what exec would have given it: a working
// directory, standard output and error, and an environment. The process then
// carries on exactly as if it had just been started for the container.
//
// The containerizer creates a connected pair of Unix stream sockets with
// NewPair, passes the child's end as descriptor 3 of the new process and sets
// EnvFD=3 in its environment. The process calls Await early in main (after
// warming up whatever it can do without its configuration): Await writes one
// byte to say it is ready, then reads one Launch message: a 4-byte big-endian
// length and that many bytes of JSON (directory and environment), sent
// together with the standard output and error descriptors as SCM_RIGHTS. It
// applies them (chdir, dup3 onto descriptors 1 and 2, a new environment) and
// closes the socket. If the containerizer's end closes first (the agent went
// away or discarded the standby), Await returns ErrDiscarded and the process
// should exit.
//
// A Launch may also carry the container's isolation, applied in this order
// before the process goes on: mounts in the process's own mount namespace
// (the containerizer starts it with CLONE_NEWNS; mounts are made private, a
// host directory is bound on /tmp, and the sandbox stays reachable at its
// path even when it lies under /tmp), then descriptors, directory and
// environment, then the switch to the container's user (a standby runs as
// root until then, so one pool serves every user), and finally, for a
// container whose program is not the standby's, execve of that program.
//
// What cannot be handed over this way stays as it was at exec: the argument
// vector (unless Exec replaces the program), the namespaces the process was
// started in, the cgroups and resource limits the containerizer applies to
// the pid, and /proc/<pid>/environ, which keeps showing the environment the
// process was started with.
package standby
