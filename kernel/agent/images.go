package agent

import (
	"context"
	"fmt"
	"time"

	"strata/kernel/containerizer"
	"strata/kernel/mesos/mesospb"
)

// EnvPodmanSocket names the podman service's socket in the environment of a
// command executor whose task has a container image, and of a default
// executor.
const EnvPodmanSocket = "STRATA_PODMAN_SOCKET"

// SandboxMountPath is where a container of an image has its sandbox, and
// the MESOS_SANDBOX of an executor in one (as with Mesos' docker
// containerizer; package podman mounts it there).
const SandboxMountPath = "/mnt/mesos/sandbox"

// ImageContainers is the agent's side of image containers (package
// podmancz, which `strata agent` plugs in). It tells whether containers of
// images can run here; it runs custom executors whose ExecutorInfo names an
// image in containers of that image, as Mesos' docker containerizer does
// (Launch, Wait, Destroy, Recover, Forget); and it finds, removes and
// measures the agent's containers by its label. The built-in executors
// create the containers of their tasks with images through the same podman
// service.
type ImageContainers interface {
	// Socket is the podman service's socket, known before Start.
	Socket() string
	// Start starts or connects to the service; it never fails the agent.
	Start(ctx context.Context)
	// Unavailable is "" when image containers can run, else why not.
	Unavailable() string
	// Describe is the one-line status for the log.
	Describe() string
	// Flags are the settings and status shown in /flags and /state.
	Flags() map[string]string

	// Launch runs a custom executor (cfg.CommandInfo, with cfg.Command.Env
	// as its whole environment) in a container of the image cfg.Container
	// names, with the sandbox at /mnt/mesos/sandbox, and returns once it
	// runs.
	Launch(ctx context.Context, agentID string, cfg containerizer.ContainerConfig) (*containerizer.Launched, error)
	// Wait blocks until a launched or recovered executor container has
	// ended, and tells how (an OOM kill is a memory limitation).
	Wait(ctx context.Context, containerID string) (*containerizer.Termination, error)
	// Destroy stops an executor container (SIGTERM, SIGKILL after grace)
	// and waits for its end.
	Destroy(ctx context.Context, containerID string, grace time.Duration) (*containerizer.Termination, error)
	// Recover re-attaches the executor containers of checkpointed
	// executors (container id to sandbox) and returns those it found.
	Recover(ctx context.Context, agentID string, known map[string]string) ([]string, error)
	// Forget drops an ended executor container from the books.
	Forget(containerID string)

	// RemoveOrphans removes the agent's containers that owned does not
	// claim (by their container id label), returning their names.
	RemoveOrphans(ctx context.Context, agentID string, owned func(containerID string) bool) ([]string, error)
	// RemoveContainer removes the containers of one executor container.
	RemoveContainer(ctx context.Context, agentID, containerID string) ([]string, error)
	// Usage samples the agent's running containers, keyed by the container
	// id of the executor that runs each (or is each).
	Usage(ctx context.Context, agentID string) (map[string]*mesospb.ResourceStatistics, error)
	// Close stops the agent's own service; containers keep running.
	Close() error
}

// executorImage returns the image a custom executor runs in: the one its
// ExecutorInfo's ContainerInfo names; nil for a built-in executor or a
// custom one without an image, which run as processes.
func executorImage(kind executorKind, info *mesospb.ExecutorInfo) *containerizer.Image {
	if kind != customExecutor {
		return nil
	}
	return containerizer.ImageOf(info.GetContainer())
}

// taskImages returns the first image the tasks of a built-in executor ask
// for: the command executor's task (its ContainerInfo is the executor's) or
// a task of the default executor's groups, each of which the executor runs
// in a podman container; nil when they ask for none.
func taskImages(kind executorKind, info *mesospb.ExecutorInfo, tasks []*mesospb.Task) *containerizer.Image {
	switch kind {
	case commandExecutor:
		return containerizer.ImageOf(info.GetContainer())
	case defaultExecutor:
		for _, t := range tasks {
			if img := containerizer.ImageOf(t.GetContainer()); img != nil {
				return img
			}
		}
	}
	return nil
}

// usesImages reports whether the executor runs in a podman container or
// may have created some for its tasks.
func (e *executor) usesImages() bool {
	if executorImage(e.kind, e.info) != nil {
		return true
	}
	tasks := make([]*mesospb.Task, 0, len(e.tasks)+len(e.finished))
	for _, t := range e.allTasks() {
		tasks = append(tasks, t.t)
	}
	tasks = append(tasks, e.finished...)
	return taskImages(e.kind, e.info, tasks) != nil
}

// inImage reports whether the executor itself runs in a podman container
// (a custom executor with an image), which ImageContainers manages instead
// of the process containerizer.
func (e *executor) inImage() bool { return executorImage(e.kind, e.info) != nil }

// imagesUnavailable says why the agent cannot run image containers, in the
// words a task's TASK_FAILED carries; "" when it can.
func (a *Agent) imagesUnavailable() string {
	why := "the agent was started without podman support"
	if a.cfg.Images != nil {
		if why = a.cfg.Images.Unavailable(); why == "" {
			return ""
		}
	}
	return "this agent cannot run image containers: " + why
}

// groupImagesUnavailable says why a task group of the default executor
// cannot run when one of its tasks asks for an image and the agent cannot
// run image containers; "" when it can run.
func (a *Agent) groupImagesUnavailable(tasks []*mesospb.TaskInfo) string {
	for _, ti := range tasks {
		if img := containerizer.ImageOf(ti.GetContainer()); img != nil {
			if why := a.imagesUnavailable(); why != "" {
				return fmt.Sprintf("Failed to launch the container of image %s for task '%s' of the group: %s",
					img, ti.GetTaskId().GetValue(), why)
			}
			return ""
		}
	}
	return ""
}

// startImages starts the podman service (or connects to it) before the
// agent recovers, so that recovery can remove orphan containers.
func (a *Agent) startImages(ctx context.Context) {
	if a.cfg.Images == nil {
		return
	}
	a.cfg.Images.Start(ctx)
	a.log.Info("image containers", "podman", a.cfg.Images.Describe())
}

// removeImageOrphans removes the agent's podman containers that no executor
// the agent kept owns: after recovery, the containers of executors that did
// not survive (and any a crash left behind). It never touches a container
// without the agent's label.
func (a *Agent) removeImageOrphans(ctx context.Context, owned map[string]bool) {
	if a.cfg.Images == nil || a.cfg.Images.Unavailable() != "" {
		return
	}
	a.mu.Lock()
	agentID := a.agentID
	a.mu.Unlock()
	if agentID == "" {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	removed, err := a.cfg.Images.RemoveOrphans(ctx, agentID, func(cid string) bool { return owned[cid] })
	if len(removed) > 0 {
		a.log.Info("removed orphan image containers", "containers", removed)
	}
	if err != nil {
		a.log.Warn("remove orphan image containers", "error", err)
	}
}

// removeImageContainerLocked removes, in the background, the podman
// containers of an executor that has ended: its own (a custom executor in an
// image), or those it ran its tasks in (a built-in executor removes them
// itself after each terminal update, but one that was destroyed, crashed or
// never re-registered cannot).
func (a *Agent) removeImageContainerLocked(e *executor) {
	if !e.usesImages() || a.cfg.Images == nil || a.cfg.Images.Unavailable() != "" || a.agentID == "" {
		return
	}
	agentID, cid := a.agentID, e.containerID
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		removed, err := a.cfg.Images.RemoveContainer(ctx, agentID, cid)
		if len(removed) > 0 {
			a.log.Info("removed the image container of an ended executor", "container", cid, "podman", removed)
		}
		if err != nil {
			a.log.Warn("remove the image container of an ended executor", "container", cid, "error", err)
		}
	}()
}

// imageUsage samples the podman containers of the agent, keyed by executor
// container id; nil when there are none or podman is not usable.
func (a *Agent) imageUsage(ctx context.Context) map[string]*mesospb.ResourceStatistics {
	if a.cfg.Images == nil || a.cfg.Images.Unavailable() != "" {
		return nil
	}
	a.mu.Lock()
	agentID := a.agentID
	a.mu.Unlock()
	if agentID == "" {
		return nil
	}
	usage, err := a.cfg.Images.Usage(ctx, agentID)
	if err != nil {
		a.log.Warn("usage of image containers", "error", err)
		return nil
	}
	return usage
}

// waitContainer waits for the end of the executor's container: a podman
// container for an executor in an image, else the process containerizer's.
func (a *Agent) waitContainer(ctx context.Context, e *executor) (*containerizer.Termination, error) {
	if e.inImage() {
		if a.cfg.Images == nil {
			return nil, fmt.Errorf("agent: wait for %s: %w", e.containerID, containerizer.ErrUnknownContainer)
		}
		return a.cfg.Images.Wait(ctx, e.containerID)
	}
	return a.cz.Wait(ctx, e.containerID)
}

// destroyContainer kills the executor's container. A podman container is
// stopped with the executor's shutdown grace period (SIGTERM, then SIGKILL),
// or what is left of it when the executor was sent SHUTDOWN already.
func (a *Agent) destroyContainer(ctx context.Context, e *executor) (*containerizer.Termination, error) {
	if !e.inImage() {
		return a.cz.Destroy(ctx, e.containerID)
	}
	if a.cfg.Images == nil {
		return nil, fmt.Errorf("agent: destroy %s: %w", e.containerID, containerizer.ErrUnknownContainer)
	}
	grace := a.shutdownGrace(e)
	a.mu.Lock()
	if !e.shutdownAt.IsZero() {
		grace = max(grace-time.Since(e.shutdownAt), 0)
	}
	a.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, grace+time.Minute)
	defer cancel()
	return a.cfg.Images.Destroy(ctx, e.containerID, grace)
}

// forgetContainerLocked drops an ended executor's container from its
// containerizer's books.
func (a *Agent) forgetContainerLocked(e *executor) {
	if !e.inImage() {
		a.cz.Forget(e.containerID)
		return
	}
	if a.cfg.Images != nil {
		a.cfg.Images.Forget(e.containerID)
	}
}
