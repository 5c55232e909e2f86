package agent

import (
	"context"
	"time"

	"strata/kernel/containerizer"
	"strata/kernel/mesos/mesospb"
)

// EnvPodmanSocket names the podman service's socket in the environment of a
// command executor whose task has a container image.
const EnvPodmanSocket = "STRATA_PODMAN_SOCKET"

// ImageContainers is the agent's side of image containers (package
// podmancz, which `strata agent` plugs in): it tells whether command tasks
// with a container image can run here, and finds, removes and measures their
// containers by the agent's label. The command executor creates and runs
// them through the same podman service.
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
	// RemoveOrphans removes the agent's containers that owned does not
	// claim (by their container id label), returning their names.
	RemoveOrphans(ctx context.Context, agentID string, owned func(containerID string) bool) ([]string, error)
	// RemoveContainer removes the containers of one executor container.
	RemoveContainer(ctx context.Context, agentID, containerID string) ([]string, error)
	// Usage samples the agent's running containers, keyed by the container
	// id of the executor that runs each.
	Usage(ctx context.Context, agentID string) (map[string]*mesospb.ResourceStatistics, error)
	// Close stops the agent's own service; containers keep running.
	Close() error
}

// imageOf returns the image an executor's container asks for, when the
// executor is the command executor of an image task (the only executor
// that runs images); nil otherwise.
func imageOf(kind executorKind, info *mesospb.ExecutorInfo) *containerizer.Image {
	if kind != commandExecutor {
		return nil
	}
	return containerizer.ImageOf(info.GetContainer())
}

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
// container of an executor that has ended: the executor removes it itself
// after the task's terminal update, but one that was destroyed, crashed or
// never re-registered cannot.
func (a *Agent) removeImageContainerLocked(e *executor) {
	if imageOf(e.kind, e.info) == nil || a.cfg.Images == nil || a.cfg.Images.Unavailable() != "" || a.agentID == "" {
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
