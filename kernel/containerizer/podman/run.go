package podman

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/containers/podman/v4/pkg/bindings/containers"
	"github.com/containers/podman/v4/pkg/bindings/images"
)

// Started describes a container Run has started.
type Started struct {
	// ID is podman's container id; Name its name. Either identifies the
	// container in the other calls.
	ID   string
	Name string
	// Pid is the container's init process as seen from the host (it may
	// have exited already).
	Pid int
	// LogPath is the container's k8s-file log (see CopyLogs).
	LogPath string
}

// Run makes sure the image is there (pulling it as spec.ForcePull says),
// creates the container and starts it. On error nothing of the container is
// left behind.
func (c *Client) Run(ctx context.Context, spec Spec) (*Started, error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	gen, err := spec.generator()
	if err != nil {
		return nil, fmt.Errorf("podman: %w", err)
	}
	if err := c.EnsureImage(ctx, spec.Image, spec.ForcePull); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(spec.LogPath()), 0o755); err != nil {
		return nil, fmt.Errorf("podman: create log dir in sandbox: %w", err)
	}
	name := spec.ContainerName()
	cctx := c.withConn(ctx)
	created, err := containers.CreateWithSpec(cctx, gen, nil)
	if err != nil {
		return nil, fmt.Errorf("podman: create container %s from %s: %w", name, spec.Image, err)
	}
	for _, w := range created.Warnings {
		c.log.Warn("create container", "name", name, "warning", w)
	}
	// Initialise first (runc create: the cgroup exists, the command has not
	// started), so that the OOM watch is in place before the command runs.
	if err := containers.ContainerInit(cctx, created.ID, nil); err != nil {
		c.cleanupFailed(created.ID)
		return nil, fmt.Errorf("podman: initialise container %s: %w", name, err)
	}
	st := &Started{ID: created.ID, Name: name, LogPath: spec.LogPath()}
	if data, err := containers.Inspect(cctx, created.ID, nil); err == nil && data.State != nil && data.State.Pid > 0 {
		// runc's init process, which becomes the command.
		st.Pid = data.State.Pid
		c.watchOOM(created.ID, name, data.State.Pid)
	}
	if err := containers.Start(cctx, created.ID, nil); err != nil {
		if w := c.takeWatcher(created.ID); w != nil {
			w.close()
		}
		c.cleanupFailed(created.ID)
		return nil, fmt.Errorf("podman: start container %s: %w", name, err)
	}
	if data, err := containers.Inspect(cctx, created.ID, nil); err == nil && data.State != nil && data.State.Pid > 0 {
		st.Pid = data.State.Pid
	}
	c.log.Info("container started", "name", name, "id", shortID(created.ID), "image", spec.Image,
		"network", spec.Network.String(), "pid", st.Pid)
	return st, nil
}

// cleanupFailed removes a container whose start failed, with a fresh
// context: the caller's may be what failed.
func (c *Client) cleanupFailed(id string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.Remove(ctx, id); err != nil {
		c.log.Warn("remove container that failed to start", "id", shortID(id), "err", err)
	}
}

// EnsureImage makes image available locally: with force it is always pulled;
// otherwise a local image is used and a missing one is pulled.
func (c *Client) EnsureImage(ctx context.Context, image string, force bool) error {
	cctx := c.withConn(ctx)
	if !force {
		ok, err := images.Exists(cctx, image, nil)
		if err != nil {
			return fmt.Errorf("podman: look up image %s: %w", image, err)
		}
		if ok {
			return nil
		}
	}
	started := time.Now()
	policy, quiet := "always", true
	var progress io.Writer = io.Discard
	_, err := images.Pull(cctx, image, &images.PullOptions{Policy: &policy, Quiet: &quiet, ProgressWriter: &progress})
	if err != nil {
		return &ImageError{Image: image, Forced: force, Err: err}
	}
	c.log.Info("image pulled", "image", image, "took", time.Since(started).Round(time.Millisecond))
	return nil
}

// ImageError is the failure to find or pull an image: the task's launch
// fails, not the agent. Test for it with errors.As.
type ImageError struct {
	Image string
	// Forced is true when the pull was forced (the local image, if any, was
	// not to be used).
	Forced bool
	// Err is the pull's error.
	Err error
}

func (e *ImageError) Error() string {
	msg := strings.TrimSpace(e.Err.Error())
	if e.Forced {
		return fmt.Sprintf("podman: image %s could not be pulled: %s", e.Image, msg)
	}
	return fmt.Sprintf("podman: image %s not found locally and could not be pulled: %s", e.Image, msg)
}

func (e *ImageError) Unwrap() error { return e.Err }

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
