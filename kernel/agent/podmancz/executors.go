package podmancz

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"
	"time"

	"google.golang.org/protobuf/proto"

	"strata/kernel/containerizer"
	"strata/kernel/containerizer/podman"
	"strata/kernel/containerizer/podman/mesosspec"
	"strata/kernel/mesos/mesospb"
)

// How the watch of an executor's container keeps at a podman service that
// does not answer: retries back off from retryMin to retryMax, for at most
// lostTimeout, after which the container is reported lost.
const (
	retryMin    = 100 * time.Millisecond
	retryMax    = 5 * time.Second
	lostTimeout = 5 * time.Minute
	// logFlushTimeout bounds the wait for the container's output to be
	// copied into the sandbox once it has exited.
	logFlushTimeout = 10 * time.Second
)

// executorContainer is a custom executor the agent runs in a container of
// its image.
type executorContainer struct {
	id       string // the executor's container id
	name     string // podman's name
	sandbox  string
	memLimit int64
	// done is closed once term is set.
	done chan struct{}
	// term and destroyed are guarded by Containers.mu.
	term      *containerizer.Termination
	destroyed bool
}

// Launch runs a custom executor in a container of the image its
// ContainerInfo (cfg.Container) names, as Mesos' docker containerizer runs
// one: cfg.CommandInfo in the image (package mesosspec), cfg.Command.Env as
// its whole environment (the agent's own environment stays out: it would
// replace the image's PATH), the sandbox (cfg.Directory) at
// /mnt/mesos/sandbox, the cpu and memory limits of cfg.Resources and
// cfg.Limits, and the labels strata.agent=agentID and
// strata.container=cfg.ID. It returns once the container runs; from then on
// the container's output is copied into the sandbox's stdout and stderr,
// and Wait reports its end.
func (c *Containers) Launch(ctx context.Context, agentID string, cfg containerizer.ContainerConfig) (*containerizer.Launched, error) {
	client, err := c.usable()
	if err != nil {
		return nil, err
	}
	env := make(map[string]string, len(cfg.Command.Env))
	for _, kv := range cfg.Command.Env {
		if k, v, ok := strings.Cut(kv, "="); ok && k != "" {
			env[k] = v
		}
	}
	spec, warnings, err := mesosspec.Spec(mesosspec.Container{
		AgentID: agentID, ContainerID: cfg.ID, Sandbox: cfg.Directory,
		Info: cfg.Container, Command: cfg.CommandInfo,
		Resources: cfg.Resources, Limits: cfg.Limits, Env: env,
	})
	for _, w := range warnings {
		c.log.Warn("executor container: "+w, "container", cfg.ID)
	}
	if err != nil {
		return nil, fmt.Errorf("podmancz: %w", err)
	}
	if err := reachesAgent(&spec); err != nil {
		return nil, err
	}
	ec := &executorContainer{id: cfg.ID, name: spec.ContainerName(), sandbox: cfg.Directory,
		memLimit: spec.MemoryLimit, done: make(chan struct{})}
	c.mu.Lock()
	if _, ok := c.execs[cfg.ID]; ok {
		c.mu.Unlock()
		return nil, fmt.Errorf("podmancz: launch %s: %w", cfg.ID, containerizer.ErrExists)
	}
	c.execs[cfg.ID] = ec
	c.mu.Unlock()
	st, err := client.Run(ctx, spec)
	if err != nil {
		c.mu.Lock()
		delete(c.execs, cfg.ID)
		c.mu.Unlock()
		return nil, fmt.Errorf("podmancz: %w", err)
	}
	c.log.Info("executor container started", "container", cfg.ID, "name", ec.name, "image", spec.Image,
		"network", spec.Network.String(), "pid", st.Pid)
	c.startWatch(client, ec)
	return &containerizer.Launched{Pid: st.Pid}, nil
}

// reachesAgent checks that an executor in a container of spec can reach
// the agent at MESOS_AGENT_ENDPOINT. On the HOST network (the default) it
// reaches whatever the agent advertises. On a BRIDGE or USER network it
// reaches the host's addresses but not its loopback, so the agent must
// advertise (and listen on) another address; there LIBPROCESS_IP, the
// host's address, is dropped, since an executor cannot bind it. With NONE
// it reaches nothing.
func reachesAgent(spec *podman.Spec) error {
	endpoint := spec.Env["MESOS_AGENT_ENDPOINT"]
	switch spec.Network {
	case podman.NetworkHost:
		return nil
	case podman.NetworkNone:
		return errors.New("podmancz: the executor's container has no network (NONE) and could not reach the agent at " +
			endpoint + ": use the HOST (default) or BRIDGE network")
	}
	host, _, err := net.SplitHostPort(endpoint)
	if err != nil {
		return fmt.Errorf("podmancz: the agent's endpoint %q: %w", endpoint, err)
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsLoopback() {
		return fmt.Errorf("podmancz: the executor's container is on the %s network, from where the agent's address %s "+
			"is out of reach (only a host IP other than loopback is): start the agent with --ip set to such an address "+
			"(or 0.0.0.0 with a host name that resolves to one), or run the executor on the HOST network", spec.Network, endpoint)
	}
	delete(spec.Env, "LIBPROCESS_IP")
	return nil
}

// Recover re-attaches the executor containers of agentID that the agent
// recovered from its checkpoints: known maps each one's container id to its
// sandbox. It returns the container ids found (running, or exited and not
// yet removed); Wait reports their ends from then on.
func (c *Containers) Recover(ctx context.Context, agentID string, known map[string]string) ([]string, error) {
	if len(known) == 0 {
		return nil, nil
	}
	client, err := c.usable()
	if err != nil {
		return nil, err
	}
	var found []string
	var errs []error
	for cid, sandbox := range known {
		name := "strata-" + cid
		info, err := client.Inspect(ctx, name)
		if errors.Is(err, podman.ErrNotFound) {
			continue
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if info.Labels[podman.LabelAgent] != agentID || info.Labels[podman.LabelContainer] != cid {
			c.log.Warn("a container with an executor's name is not the agent's; leaving it alone", "name", name)
			continue
		}
		ec := &executorContainer{id: cid, name: name, sandbox: sandbox, memLimit: info.MemoryLimit, done: make(chan struct{})}
		c.mu.Lock()
		_, dup := c.execs[cid]
		if !dup {
			c.execs[cid] = ec
		}
		c.mu.Unlock()
		if !dup {
			c.startWatch(client, ec)
		}
		found = append(found, cid)
	}
	if err := errors.Join(errs...); err != nil {
		return found, fmt.Errorf("podmancz: recover executor containers: %w", err)
	}
	return found, nil
}

// Wait blocks until the executor's container has ended (and its output is
// in the sandbox) and tells how.
func (c *Containers) Wait(ctx context.Context, containerID string) (*containerizer.Termination, error) {
	ec, err := c.executor(containerID)
	if err != nil {
		return nil, err
	}
	select {
	case <-ec.done:
		c.mu.Lock()
		defer c.mu.Unlock()
		term := *ec.term
		term.Destroyed = ec.destroyed
		return &term, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("podmancz: wait for %s: %w", containerID, ctx.Err())
	}
}

// Destroy stops the executor's container, its stop signal (SIGTERM) first
// and SIGKILL once grace has passed, and waits for its end.
func (c *Containers) Destroy(ctx context.Context, containerID string, grace time.Duration) (*containerizer.Termination, error) {
	ec, err := c.executor(containerID)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	ec.destroyed = true
	c.mu.Unlock()
	select {
	case <-ec.done:
	default:
		client, err := c.usable()
		if err != nil {
			return nil, err
		}
		c.log.Info("stopping executor container", "container", containerID, "name", ec.name, "grace", grace)
		if err := client.Stop(ctx, ec.name, grace); err != nil && !errors.Is(err, podman.ErrNotFound) {
			return nil, fmt.Errorf("podmancz: destroy %s: %w", containerID, err)
		}
	}
	return c.Wait(ctx, containerID)
}

// Forget drops an ended executor container from the books; RemoveContainer
// removes the container itself.
func (c *Containers) Forget(containerID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ec := c.execs[containerID]; ec != nil && ec.term != nil {
		delete(c.execs, containerID)
	}
}

// executor returns the executor container with the given id.
func (c *Containers) executor(containerID string) (*executorContainer, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ec := c.execs[containerID]
	if ec == nil {
		return nil, fmt.Errorf("podmancz: executor container %s: %w", containerID, containerizer.ErrUnknownContainer)
	}
	return ec, nil
}

// startWatch copies the container's output into the sandbox and waits for
// its exit, in the background, until the containerizer is closed.
func (c *Containers) startWatch(client *podman.Client, ec *executorContainer) {
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		c.watch(client, ec)
	}()
}

func (c *Containers) watch(client *podman.Client, ec *executorContainer) {
	ctx := c.ctx
	exited, logsDone := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(logsDone)
		c.copyLogs(ctx, client, ec, exited)
	}()
	exit, err := c.waitExit(ctx, client, ec)
	close(exited)
	if ctx.Err() != nil {
		return // the agent is stopping: the container lives on
	}
	select {
	case <-logsDone:
	case <-time.After(logFlushTimeout):
		c.log.Warn("the executor container's output is not all in the sandbox yet; reporting its end anyway", "name", ec.name)
	case <-ctx.Done():
		return
	}
	term := termination(ec, exit, err)
	c.log.Info("executor container ended", "container", ec.id, "name", ec.name, "message", term.Message)
	c.mu.Lock()
	ec.term = term
	c.mu.Unlock()
	close(ec.done)
}

// waitExit waits for the container's exit, retrying while the service does
// not answer (for at most lostTimeout).
func (c *Containers) waitExit(ctx context.Context, client *podman.Client, ec *executorContainer) (*podman.Exit, error) {
	var since time.Time
	for delay := retryMin; ; delay = min(2*delay, retryMax) {
		exit, err := client.Wait(ctx, ec.name)
		if err == nil || ctx.Err() != nil || errors.Is(err, podman.ErrNotFound) {
			return exit, err
		}
		if since.IsZero() {
			since = time.Now()
			c.log.Warn("lost the podman service while waiting for an executor container; retrying", "name", ec.name, "error", err)
		}
		if time.Since(since) >= lostTimeout {
			return nil, err
		}
		if !sleep(ctx, delay) {
			return nil, ctx.Err()
		}
	}
}

// copyLogs appends the container's output to the sandbox's stdout and
// stderr (podman.CopyLogs, which resumes where it stopped) until the
// container has exited and all of it is copied.
func (c *Containers) copyLogs(ctx context.Context, client *podman.Client, ec *executorContainer, exited <-chan struct{}) {
	after := 0 // attempts after the exit
	for delay := retryMin; ; delay = min(2*delay, retryMax) {
		err := client.CopyLogs(ctx, ec.name, ec.sandbox)
		if ctx.Err() != nil {
			return
		}
		select {
		case <-exited:
			if err == nil || errors.Is(err, podman.ErrNotFound) || after >= 5 {
				if err != nil && !errors.Is(err, podman.ErrNotFound) {
					c.log.Warn("could not copy all of an executor container's output into the sandbox", "name", ec.name, "error", err)
				}
				return
			}
			after++
		default:
			if err == nil {
				delay = retryMin
			}
		}
		if !sleep(ctx, delay) {
			return
		}
	}
}

// termination tells the agent how the executor's container ended: its exit
// status, or, when the kernel's OOM killer killed a process of it, a memory
// limitation (TASK_FAILED, REASON_CONTAINER_LIMITATION_MEMORY) as Mesos'
// memory isolator reports one.
func termination(ec *executorContainer, exit *podman.Exit, err error) *containerizer.Termination {
	if err != nil {
		return &containerizer.Termination{Message: fmt.Sprintf("Lost track of the executor's container %s: %v", ec.name, err)}
	}
	term := &containerizer.Termination{
		HasStatus:  true,
		WaitStatus: syscall.WaitStatus(exit.Code&0xff) << 8,
		Message:    fmt.Sprintf("Executor's container exited with status %d", exit.Code),
	}
	if exit.Error != "" {
		term.Message += ": " + exit.Error
	}
	if exit.OOMKilled {
		term.State = mesospb.TaskState_TASK_FAILED.Enum()
		term.Reason = mesospb.TaskStatus_REASON_CONTAINER_LIMITATION_MEMORY.Enum()
		term.Message = fmt.Sprintf("Memory limit exceeded: Requested: %s (the kernel OOM-killed a process of the executor's container %s, which then exited with status %d)",
			formatMB(ec.memLimit), ec.name, exit.Code)
		term.Limitation = &mesospb.TaskResourceLimitation{Resources: []*mesospb.Resource{{
			Name: proto.String("mem"), Type: mesospb.Value_SCALAR.Enum(),
			Scalar: &mesospb.Value_Scalar{Value: proto.Float64(float64(ec.memLimit) / (1 << 20))},
		}}}
	}
	return term
}

// formatMB renders a byte count in whole megabytes, as Mesos words memory.
func formatMB(b int64) string {
	if b <= 0 {
		return "unlimited"
	}
	return fmt.Sprintf("%dMB", b>>20)
}

// sleep waits for d or until ctx ends, and reports whether d elapsed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
