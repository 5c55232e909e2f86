// Package mesosspec turns Mesos' description of a container of an image
// into the podman container that runs it (a podman.Spec), following what
// Mesos' docker containerizer does with `docker run` (ContainerInfo of type
// DOCKER) and what its Mesos containerizer does with an image (type MESOS
// with a docker mesos.image). Both users of image containers build their
// containers here: the built-in executor for its tasks (a command task, or a
// task of a task group) and the agent's podman containerizer for custom
// executors whose ExecutorInfo names an image.
//
// Spec maps:
//
//   - the image, pulled when missing, or always with docker.force_pull_image
//     (a MESOS image: unless it is cached);
//   - the command: a shell command is /bin/sh -c VALUE with the image's
//     entrypoint replaced; in the argv form a DOCKER container runs the
//     image's entrypoint with VALUE and the arguments after it (`docker run
//     IMAGE VALUE ARGS...`, the image's CMD when there is neither), a MESOS
//     container VALUE with the arguments as its argv (arguments[0] being
//     argv[0]);
//   - the environment: the caller's, then the CommandInfo's (secrets left
//     out), plus MESOS_SANDBOX=/mnt/mesos/sandbox, MESOS_CONTAINER_NAME and
//     MESOS_ALLOCATION_ROLE;
//   - CommandInfo.user (empty: the image's user);
//   - the network: HOST by default, BRIDGE, NONE or USER (one named
//     network_infos entry) with port mappings whose host ports must be among
//     the ports resources;
//   - host-path volumes, RO or RW (a relative host_path is in the sandbox, a
//     relative container_path under /mnt/mesos/sandbox);
//   - cpu shares (1024 per cpu, at least 2), a CFS quota from a finite
//     limits.cpus, and a memory limit from limits.mem (none when infinite)
//     or the mem resource, at least 32 MB.
//
// It refuses APPC images, privileged containers, volume sources other than
// host paths, a hostname on the host network and port mappings on the host
// network, and warns about what it ignores (docker.parameters, linux_info,
// rlimit_info, a hostname).
//
// Like package podman, it needs the Makefile's build tags; only the
// executor and the agent's podman containerizer import it.
package mesosspec
