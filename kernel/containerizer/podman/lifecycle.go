package podman

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/containers/podman/v4/libpod/define"
	"github.com/containers/podman/v4/pkg/bindings/containers"
)

// Exit tells how a container ended.
type Exit struct {
	// Code is the exit code of the container's init process; 128+N when a
	// signal N killed it (137 for SIGKILL).
	Code int
	// OOMKilled is true when the kernel's OOM killer killed a process of
	// the container because of its memory limit.
	OOMKilled bool
	// FinishedAt is when the container exited, if podman knows.
	FinishedAt time.Time
	// Error is podman's error for a container that failed to run, if any.
	Error string
}

// Wait blocks until the container has exited and returns how it ended.
// It may be called for a container that already exited, by any client.
func (c *Client) Wait(ctx context.Context, name string) (*Exit, error) {
	cctx := c.withConn(ctx)
	data, err := containers.Inspect(cctx, name, nil)
	if err != nil {
		return nil, apiError("wait for container", name, err)
	}
	var watcher *oomWatcher
	if data.State != nil && data.State.Running && data.State.Pid > 0 {
		watcher = c.watchOOM(data.ID, data.Name, data.State.Pid)
	}
	code, err := containers.Wait(cctx, data.ID, &containers.WaitOptions{
		Conditions: []string{define.ContainerStateStopped.String(), define.ContainerStateExited.String()},
	})
	if err != nil {
		return nil, apiError("wait for container", name, err)
	}
	exit := &Exit{Code: int(code)}
	if w := c.takeWatcher(data.ID); w != nil {
		watcher = w
	}
	if watcher != nil {
		exit.OOMKilled = watcher.result(250 * time.Millisecond)
	}
	if after, err := containers.Inspect(cctx, data.ID, nil); err == nil && after.State != nil {
		exit.OOMKilled = exit.OOMKilled || after.State.OOMKilled
		exit.FinishedAt = after.State.FinishedAt
		exit.Error = after.State.Error
	}
	c.log.Info("container exited", "name", name, "code", exit.Code, "oom_killed", exit.OOMKilled)
	return exit, nil
}

// Stop stops the container: its stop signal (SIGTERM unless the image says
// otherwise), then SIGKILL once grace has passed. Grace is rounded up to
// whole seconds (podman's unit). Stopping a container that is not running
// is not an error.
func (c *Client) Stop(ctx context.Context, name string, grace time.Duration) error {
	secs := uint(math.Ceil(max(grace, 0).Seconds()))
	err := containers.Stop(c.withConn(ctx), name, &containers.StopOptions{Timeout: &secs})
	if err != nil && statusCode(err) != http.StatusNotModified {
		return apiError("stop container", name, err)
	}
	return nil
}

// Kill sends signal (e.g. "KILL", "TERM") to the container's init process.
func (c *Client) Kill(ctx context.Context, name, signal string) error {
	if err := containers.Kill(c.withConn(ctx), name, &containers.KillOptions{Signal: &signal}); err != nil {
		return apiError("kill container", name, err)
	}
	return nil
}

// Remove removes the container, killing it first if it runs, with its
// anonymous volumes. Removing a container that does not exist is not an
// error.
func (c *Client) Remove(ctx context.Context, name string) error {
	force, volumes, ignore := true, true, true
	var timeout uint
	reports, err := containers.Remove(c.withConn(ctx), name, &containers.RemoveOptions{
		Force: &force, Volumes: &volumes, Ignore: &ignore, Timeout: &timeout,
	})
	if err != nil {
		if statusCode(err) == http.StatusNotFound {
			return nil
		}
		return apiError("remove container", name, err)
	}
	for _, r := range reports {
		if r.Err != nil && statusCode(r.Err) != http.StatusNotFound {
			return apiError("remove container", name, r.Err)
		}
	}
	if w := c.takeWatcher(name); w != nil {
		w.close()
	}
	return nil
}

// Info is what Inspect reports about a container.
type Info struct {
	ID    string
	Name  string
	Image string
	// State is podman's state: "created", "running", "paused", "stopped",
	// "exited", ...
	State     string
	Running   bool
	Pid       int
	ExitCode  int
	OOMKilled bool
	StartedAt time.Time
	// FinishedAt is zero while the container has not exited.
	FinishedAt time.Time
	// IPAddresses are the container's addresses on its networks (none
	// with the HOST network), for TaskStatus.container_status.
	IPAddresses []string
	Labels      map[string]string
	// LogPath is the container's log file.
	LogPath string
	// MemoryLimit is the container's memory limit in bytes (0: none).
	MemoryLimit int64
}

// Inspect reports the container's state and addresses.
func (c *Client) Inspect(ctx context.Context, name string) (*Info, error) {
	data, err := containers.Inspect(c.withConn(ctx), name, nil)
	if err != nil {
		return nil, apiError("inspect container", name, err)
	}
	info := &Info{
		ID:    data.ID,
		Name:  data.Name,
		Image: data.ImageName,
	}
	if hc := data.HostConfig; hc != nil {
		info.MemoryLimit = hc.Memory
		if hc.LogConfig != nil {
			info.LogPath = hc.LogConfig.Path
		}
	}
	if data.Config != nil {
		info.Labels = data.Config.Labels
	}
	if st := data.State; st != nil {
		info.State = st.Status
		info.Running = st.Running
		info.Pid = st.Pid
		info.ExitCode = int(st.ExitCode)
		info.OOMKilled = st.OOMKilled
		info.StartedAt = st.StartedAt
		if !st.Running && !st.FinishedAt.IsZero() && st.FinishedAt.After(st.StartedAt) {
			info.FinishedAt = st.FinishedAt
		}
	}
	if ns := data.NetworkSettings; ns != nil {
		seen := map[string]bool{}
		add := func(ip string) {
			if ip != "" && !seen[ip] {
				seen[ip] = true
				info.IPAddresses = append(info.IPAddresses, ip)
			}
		}
		add(ns.IPAddress)
		add(ns.GlobalIPv6Address)
		names := make([]string, 0, len(ns.Networks))
		for n := range ns.Networks {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			if nw := ns.Networks[n]; nw != nil {
				add(nw.IPAddress)
				add(nw.GlobalIPv6Address)
			}
		}
	}
	return info, nil
}

// Summary is one container found by List.
type Summary struct {
	ID          string
	Name        string
	Image       string
	State       string
	ContainerID string // the strata.container label
	Labels      map[string]string
	Created     time.Time
}

// List returns every container, running or not, that carries the label
// strata.agent=agentID. Containers without it are never listed, so callers
// that remove what List returns never touch anybody else's containers.
func (c *Client) List(ctx context.Context, agentID string) ([]Summary, error) {
	if agentID == "" || strings.ContainsAny(agentID, ",\n") {
		return nil, fmt.Errorf("podman: list containers: invalid agent id %q", agentID)
	}
	all := true
	list, err := containers.List(c.withConn(ctx), &containers.ListOptions{
		All:     &all,
		Filters: map[string][]string{"label": {LabelAgent + "=" + agentID}},
	})
	if err != nil {
		return nil, fmt.Errorf("podman: list containers of agent %s: %w", agentID, err)
	}
	out := make([]Summary, 0, len(list))
	for _, l := range list {
		// The service filters; check again, since removal trusts this.
		if l.Labels[LabelAgent] != agentID {
			continue
		}
		s := Summary{ID: l.ID, Image: l.Image, State: l.State, Labels: l.Labels,
			ContainerID: l.Labels[LabelContainer], Created: l.Created}
		if len(l.Names) > 0 {
			s.Name = l.Names[0]
		}
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}
