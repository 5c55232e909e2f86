package executor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	"strata/kernel/containerizer"
	"strata/kernel/containerizer/podman"
	"strata/kernel/containerizer/podman/mesosspec"
	"strata/kernel/mesos/mesospb"
)

// How the executor keeps at a podman service that goes away (the agent
// restarts it): retries start at retryMin and back off to retryMax, within
// Config.RecoveryTimeout.
const (
	podmanRetryMin = 100 * time.Millisecond
	podmanRetryMax = 5 * time.Second
	// logFlushTimeout bounds the wait for the container's output to be
	// copied into the sandbox before the terminal update goes out.
	logFlushTimeout = 10 * time.Second
	// removeTimeout bounds the removal of a container.
	removeTimeout = time.Minute
)

// containerRun is the podman container of a task with an image: the
// command executor's task, or a task of one of the default executor's task
// groups. Both modes run it the same way: prepareContainer builds its spec,
// startContainer starts it in the background, watchContainer copies its
// output and waits for it, killContainer and stopContainer stop it, and
// containerExited reports its end and removes it.
type containerRun struct {
	img  *containerizer.Image
	spec podman.Spec
	name string

	// cancelStart cancels the start (connection, pull, creation);
	// watchCtx, cancelled by cancelWatch when the executor exits, bounds
	// everything that follows.
	cancelStart context.CancelFunc
	watchCtx    context.Context
	cancelWatch context.CancelFunc
	// exited is closed once podman reported the container's exit, logsDone
	// once its output is copied into the sandbox.
	exited   chan struct{}
	logsDone chan struct{}

	// ips are the container's addresses (none on the HOST network); owned
	// by the event loop.
	ips []string

	// mu guards what the start goroutine hands over, and removed.
	mu      sync.Mutex
	client  *podman.Client
	started *podman.Started
	removed bool
}

func (c *containerRun) setStarted(client *podman.Client, st *podman.Started) {
	c.mu.Lock()
	c.client, c.started = client, st
	c.mu.Unlock()
}

// leftover returns the client and whether the container was started and
// not yet removed.
func (c *containerRun) leftover() (*podman.Client, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.client, c.started != nil && !c.removed
}

// hostPortVar matches the variables that pass from the executor's
// environment into a task's container: HOST, PORT, PORTS, PORT0…, PORT_NAME.
var hostPortVar = regexp.MustCompile(`^(HOST|PORTS?|PORT[0-9]+|PORT_[A-Za-z0-9_]+)$`)

// launchContainer runs the command executor's task, whose ContainerInfo has
// an image, in a podman container, like mesos-docker-executor.
func (e *executor) launchContainer(t *task, img *containerizer.Image) {
	if err := e.prepareContainer(t, img); err != nil {
		e.launchFailed(t, err)
		return
	}
	e.startContainer(t)
}

// prepareContainer builds the container of task t (whose ContainerInfo asks
// for img) without starting it (package mesosspec): in the task's sandbox,
// named strata-<container id> for the command executor's task and
// strata-<container id>.<nested container id> for a task of a group, and
// labelled with the executor's container id, so the agent can find it.
func (e *executor) prepareContainer(t *task, img *containerizer.Image) error {
	t.ctr = &containerRun{img: img}
	agentID, cid := e.cfg.AgentID, e.cfg.ContainerID
	if e.agentID.GetValue() != "" {
		agentID = e.agentID.GetValue()
	}
	if e.containerID.GetValue() != "" {
		cid = e.containerID.GetValue()
	}
	name := ""
	if t.containerID != nil {
		name = "strata-" + cid + "." + t.containerID.GetValue()
	}
	env := map[string]string{"MESOS_TASK_ID": t.id()}
	for _, kv := range e.cfg.Env {
		if k, v, ok := strings.Cut(kv, "="); ok && hostPortVar.MatchString(k) {
			env[k] = v
		}
	}
	spec, warnings, err := mesosspec.Spec(mesosspec.Container{
		AgentID: agentID, ContainerID: cid, Name: name, Sandbox: t.dir,
		Info: t.info.GetContainer(), Command: t.info.GetCommand(),
		Resources: t.info.GetResources(), Limits: t.info.GetLimits(),
		Env: env, Labels: map[string]string{"strata.task": t.id()},
	})
	for _, w := range warnings {
		e.log.Warn("Container of task "+t.id()+": "+w, "task", t.id())
	}
	switch {
	case err != nil:
		return err
	case e.cfg.PodmanSocket == "":
		return fmt.Errorf("the agent gave the executor no podman service (%s is not set): "+
			"this agent cannot run image containers", EnvPodmanSocket)
	case os.Geteuid() != 0:
		return fmt.Errorf("the executor runs as uid %d, not as root, and cannot use the agent's podman service "+
			"(the agent runs a default executor as root only when its first task group has a task with an image)", os.Geteuid())
	}
	t.ctr.spec, t.ctr.name = spec, spec.ContainerName()
	return nil
}

// startContainer starts a prepared container in the background: it
// connects to the agent's podman service, pulls the image if needed,
// creates and starts the container; containerStarted goes on from there.
func (e *executor) startContainer(t *task) {
	c := t.ctr
	spec := c.spec
	var startCtx context.Context
	startCtx, c.cancelStart = context.WithCancel(e.ctx)
	c.watchCtx, c.cancelWatch = context.WithCancel(e.ctx)
	c.exited, c.logsDone = make(chan struct{}), make(chan struct{})
	e.log.Info(fmt.Sprintf("Starting task %s in container %s of image %s (network %s)", t.id(), c.name, spec.Image, spec.Network))
	e.bg.Go(func() {
		defer c.cancelStart()
		client, err := e.connectPodman(startCtx)
		var (
			st   *podman.Started
			info *podman.Info
		)
		if err == nil {
			st, err = client.Run(startCtx, spec)
		}
		if err == nil {
			c.setStarted(client, st)
			if info, err = client.Inspect(startCtx, st.ID); err != nil {
				e.log.Warn("Cannot inspect the started container; reporting the host's IP", "container", c.name, "err", err)
				info, err = nil, nil
			}
		} else if client != nil {
			client.Close()
		}
		e.post(func() { e.containerStarted(t, st, info, err) })
	})
}

// connectPodman connects to the agent's podman service, retrying while it
// does not answer (the agent may be restarting it) for at most the recovery
// timeout.
func (e *executor) connectPodman(ctx context.Context) (*podman.Client, error) {
	var since time.Time
	for delay := podmanRetryMin; ; delay = min(2*delay, podmanRetryMax) {
		client, err := podman.Connect(ctx, e.cfg.PodmanSocket, e.log)
		if err == nil {
			return client, nil
		}
		if since.IsZero() {
			since = time.Now()
			e.log.Warn("The podman service does not answer; retrying for up to "+FormatDuration(e.cfg.RecoveryTimeout), "err", err)
		}
		if ctx.Err() != nil || time.Since(since) >= e.cfg.RecoveryTimeout {
			return nil, err
		}
		if !sleepCtx(ctx, delay) {
			return nil, ctx.Err()
		}
	}
}

// containerStarted handles the end of a container's start: the task fails
// (REASON_CONTAINER_LAUNCH_FAILED, with podman's message) or is killed if
// a kill came meanwhile, or it is running.
func (e *executor) containerStarted(t *task, st *podman.Started, info *podman.Info, err error) {
	c := t.ctr
	if err != nil {
		if t.killed {
			e.stopHelpers(t)
			t.terminated = true
			msg := "Task was killed before its container started"
			e.log.Info(msg, "task", t.id(), "err", err)
			s := e.newStatus(t.info.GetTaskId(), mesospb.TaskState_TASK_KILLED)
			s.Message = &msg
			e.forward(t, s)
			e.maybeExit()
			return
		}
		e.launchFailed(t, err)
		if g := t.group; g != nil && !e.shuttingDown {
			// A group lives and dies together.
			e.killGroup(g, nil)
		}
		return
	}
	t.launched = true
	if info != nil {
		c.ips = info.IPAddresses
	}
	e.log.Info(fmt.Sprintf("Started container %s (%s) at pid %d", c.name, shortID(st.ID), st.Pid), "task", t.id(), "ips", c.ips)
	e.watchContainer(t)
	if t.killed {
		// Killed while it was starting: stop it with what is left of
		// the grace period; it never was RUNNING.
		e.stopContainer(t, max(time.Until(t.killDeadline), 0))
		return
	}
	e.running(t)
}

// watchContainer copies the container's output into the sandbox and waits
// for its exit, in the background, and hands the exit to containerExited
// once the output is copied.
func (e *executor) watchContainer(t *task) {
	c := t.ctr
	client, _ := c.leftover()
	e.bg.Go(func() { e.copyContainerLogs(client, c) })
	e.bg.Go(func() {
		exit, err := e.waitContainer(client, c)
		close(c.exited)
		if c.watchCtx.Err() != nil {
			return
		}
		select {
		case <-c.logsDone:
		case <-time.After(logFlushTimeout):
			e.log.Warn("The container's output is not all copied into the sandbox yet; reporting its end anyway", "container", c.name)
		case <-c.watchCtx.Done():
			return
		}
		e.post(func() { e.containerExited(t, exit, err) })
	})
}

// waitContainer waits for the container to exit, through service restarts:
// a failed wait is retried for up to the recovery timeout (the container
// goes on under its conmon meanwhile).
func (e *executor) waitContainer(client *podman.Client, c *containerRun) (*podman.Exit, error) {
	var since time.Time
	for delay := podmanRetryMin; ; delay = min(2*delay, podmanRetryMax) {
		exit, err := client.Wait(c.watchCtx, c.name)
		if err == nil {
			if !since.IsZero() {
				e.log.Info("The podman service answers again", "container", c.name)
			}
			return exit, nil
		}
		if c.watchCtx.Err() != nil || errors.Is(err, podman.ErrNotFound) {
			return nil, err
		}
		if since.IsZero() {
			since = time.Now()
			e.log.Warn("Lost the podman service while waiting for the container; retrying for up to "+
				FormatDuration(e.cfg.RecoveryTimeout), "container", c.name, "err", err)
		}
		if time.Since(since) >= e.cfg.RecoveryTimeout {
			return nil, fmt.Errorf("the podman service was unreachable for %s: %w", FormatDuration(e.cfg.RecoveryTimeout), err)
		}
		if !sleepCtx(c.watchCtx, delay) {
			return nil, c.watchCtx.Err()
		}
	}
}

// copyContainerLogs appends the container's output to the sandbox's stdout
// and stderr (podman.CopyLogs, which resumes where it stopped) until the
// container has exited and all of it is copied. A copy that ends early (the
// service went away) is started again.
func (e *executor) copyContainerLogs(client *podman.Client, c *containerRun) {
	defer close(c.logsDone)
	after := 0 // attempts after the exit
	for delay := podmanRetryMin; ; delay = min(2*delay, podmanRetryMax) {
		err := client.CopyLogs(c.watchCtx, c.name, c.spec.Sandbox)
		if c.watchCtx.Err() != nil {
			return
		}
		select {
		case <-c.exited:
			if err == nil || errors.Is(err, podman.ErrNotFound) || after >= 5 {
				if err != nil && !errors.Is(err, podman.ErrNotFound) {
					e.log.Warn("Could not copy all of the container's output into the sandbox", "container", c.name, "err", err)
				}
				return
			}
			after++
		default:
			if err == nil {
				delay = podmanRetryMin
			}
		}
		if err != nil {
			e.log.Debug("Copying the container's output stopped; retrying", "container", c.name, "err", err)
		}
		if !sleepCtx(c.watchCtx, delay) {
			return
		}
	}
}

// containerExited sends the terminal update of a task whose container has
// exited, then removes the container.
func (e *executor) containerExited(t *task, exit *podman.Exit, waitErr error) {
	e.stopHelpers(t)
	t.terminated = true
	c := t.ctr
	st := e.newStatus(t.info.GetTaskId(), mesospb.TaskState_TASK_FAILED)
	var msg string
	if waitErr == nil {
		msg = fmt.Sprintf("Container exited with status %d", exit.Code)
		if exit.Error != "" {
			msg += ": " + exit.Error
		}
	}
	switch {
	case waitErr != nil:
		msg = "Failed to wait for the container: " + waitErr.Error()
	case t.killedByMaxCompletion:
		st.Reason = mesospb.TaskStatus_REASON_MAX_COMPLETION_TIME_REACHED.Enum()
	case t.killed:
		st.State = mesospb.TaskState_TASK_KILLED.Enum()
	case exit.OOMKilled:
		// As Mesos' memory isolator reports it; the cgroup, and with it
		// the peak usage, is gone by now.
		st.Reason = mesospb.TaskStatus_REASON_CONTAINER_LIMITATION_MEMORY.Enum()
		msg = fmt.Sprintf("Memory limit exceeded: Requested: %s (the kernel OOM-killed a process of container %s, which then exited with status %d)",
			formatMB(c.spec.MemoryLimit), c.name, exit.Code)
		st.Limitation = &mesospb.TaskResourceLimitation{Resources: []*mesospb.Resource{{
			Name: proto.String("mem"), Type: mesospb.Value_SCALAR.Enum(),
			Scalar: &mesospb.Value_Scalar{Value: proto.Float64(float64(c.spec.MemoryLimit) / (1 << 20))},
		}}}
	case exit.Code == 0:
		st.State = mesospb.TaskState_TASK_FINISHED.Enum()
	}
	e.log.Info(msg, "task", t.id(), "container", c.name)
	st.Message = &msg
	if t.killed && t.killedByHealthCheck {
		st.Healthy = ptr(false)
	}
	e.forward(t, st)
	e.removeContainer(c)
	e.groupTaskEnded(t, st.GetState())
	e.maybeExit()
}

// removeContainer removes the task's container in the background, after
// its terminal update; the executor waits for it before exiting.
func (e *executor) removeContainer(c *containerRun) {
	client, ok := c.leftover()
	if !ok {
		return
	}
	e.bg.Go(func() {
		ctx, cancel := context.WithTimeout(context.Background(), removeTimeout)
		defer cancel()
		if err := client.Remove(ctx, c.name); err != nil {
			e.log.Warn("Failed to remove the container; the agent removes it when the executor has ended", "container", c.name, "err", err)
			return
		}
		c.mu.Lock()
		c.removed = true
		c.mu.Unlock()
		e.log.Info("Removed container "+c.name, "container", c.name)
	})
}

// killContainer kills a container task: TASK_KILLING (with the framework's
// capability), then podman's stop (SIGTERM, SIGKILL after grace). A kill
// while the container is being started cancels the start. A later kill can
// only bring the SIGKILL forward.
func (e *executor) killContainer(t *task, grace time.Duration) {
	if t.terminated {
		return
	}
	c := t.ctr
	now := time.Now()
	if t.killed {
		deadline := t.killStart.Add(grace)
		if !deadline.Before(t.killDeadline) {
			return
		}
		remaining := max(deadline.Sub(now), 0)
		t.killDeadline = deadline
		if !t.launched {
			return
		}
		e.log.Info(fmt.Sprintf("Rescheduling the container's SIGKILL in %s from now", FormatDuration(remaining)), "task", t.id())
		client, _ := c.leftover()
		e.bg.Go(func() {
			if sleepCtx(c.watchCtx, remaining) {
				_ = client.Kill(c.watchCtx, c.name, "KILL")
			}
		})
		return
	}
	if !t.killedByMaxCompletion && e.frameworkHasCapability(mesospb.FrameworkInfo_Capability_TASK_KILLING_STATE) {
		e.forward(t, e.newStatus(t.info.GetTaskId(), mesospb.TaskState_TASK_KILLING))
	}
	e.stopHelpers(t)
	t.killed = true
	t.killStart = now
	t.killDeadline = now.Add(grace)
	if !t.launched {
		e.log.Info("Killing task "+t.id()+" while its container is being started", "task", t.id())
		if c.cancelStart != nil {
			c.cancelStart()
		}
		return
	}
	e.stopContainer(t, grace)
}

// stopContainer stops the container in the background: its stop signal
// (SIGTERM), then SIGKILL once grace has passed; retried through service
// restarts until the container has exited.
func (e *executor) stopContainer(t *task, grace time.Duration) {
	c := t.ctr
	client, _ := c.leftover()
	deadline := time.Now().Add(grace)
	e.log.Info(fmt.Sprintf("Stopping container %s: SIGTERM, SIGKILL after %s", c.name, FormatDuration(grace)), "task", t.id())
	e.bg.Go(func() {
		var since time.Time
		for delay := podmanRetryMin; ; delay = min(2*delay, podmanRetryMax) {
			g := max(time.Until(deadline), 0)
			ctx, cancel := context.WithTimeout(c.watchCtx, g+time.Minute)
			err := client.Stop(ctx, c.name, g)
			cancel()
			if err == nil || errors.Is(err, podman.ErrNotFound) || c.watchCtx.Err() != nil {
				return
			}
			select {
			case <-c.exited:
				return
			default:
			}
			if since.IsZero() {
				since = time.Now()
			}
			if time.Since(since) >= e.cfg.RecoveryTimeout {
				e.log.Error("Failed to stop the container", "container", c.name, "err", err)
				return
			}
			e.log.Warn("Failed to stop the container; retrying", "container", c.name, "err", err)
			if !sleepCtx(c.watchCtx, delay) {
				return
			}
		}
	})
}

// stopWatch ends the background work of a container task, for the
// executor's exit.
func (c *containerRun) stopWatch() {
	if c.cancelStart != nil {
		c.cancelStart()
	}
	if c.cancelWatch != nil {
		c.cancelWatch()
	}
}

// cleanupContainer removes the container of a task when the executor exits
// (after the background work has ended): one that never ended is killed
// with it, as Mesos destroys an exited executor's container.
func (e *executor) cleanupContainer(t *task) {
	c := t.ctr
	client, ok := c.leftover()
	if ok {
		if !t.terminated {
			e.log.Warn("Removing the task's container "+c.name+" before exiting", "task", t.id())
		}
		ctx, cancel := context.WithTimeout(context.Background(), removeTimeout)
		if err := client.Remove(ctx, c.name); err != nil {
			e.log.Error("Failed to remove the task's container", "container", c.name, "err", err)
		}
		cancel()
	}
	if client != nil {
		client.Close()
	}
}

// containerRunner runs COMMAND health checks inside the task's container
// (podman exec), as Mesos enters a container's namespaces for them.
type containerRunner struct {
	client *podman.Client
	c      *containerRun
}

// exitGrace bounds how long a failed health check command waits for the
// container's exit to be seen: a container that is exiting refuses exec
// sessions before podman reports its exit.
const exitGrace = 2 * time.Second

func (r containerRunner) RunCommand(ctx context.Context, argv, env []string, output io.Writer) (int, error) {
	vars := make(map[string]string, len(env))
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok && k != "" {
			vars[k] = v
		}
	}
	res, err := r.client.Exec(ctx, r.c.name, argv, podman.ExecOptions{Env: vars})
	if err != nil {
		// The task is ending if its container is: that is no health
		// failure of it (healthResult ignores results once it has exited).
		t := time.NewTimer(exitGrace)
		defer t.Stop()
		select {
		case <-r.c.exited:
		case <-ctx.Done():
		case <-t.C:
		}
		return 0, err
	}
	if output != nil {
		_, _ = output.Write(res.Stdout)
		_, _ = output.Write(res.Stderr)
	}
	return res.ExitCode, nil
}

// hasExited reports whether podman has reported the container's exit.
func (c *containerRun) hasExited() bool {
	if c.exited == nil {
		return false
	}
	select {
	case <-c.exited:
		return true
	default:
		return false
	}
}

// networkInfos describes the container's addresses for container_status.
func (c *containerRun) networkInfos() []*mesospb.NetworkInfo {
	var out []*mesospb.NetworkInfo
	for _, ip := range c.ips {
		if ni := networkInfo(ip); ni != nil {
			if len(out) == 0 {
				if c.spec.Network == podman.NetworkUser {
					ni.Name = proto.String(c.spec.NetworkName)
				}
				out = append(out, ni)
				continue
			}
			out[0].IpAddresses = append(out[0].IpAddresses, ni.IpAddresses...)
		}
	}
	return out
}

// checkHost is where HTTP and TCP health checks of the container connect:
// its IP on a bridge or user network, else the host ("").
func (c *containerRun) checkHost() string {
	if (c.spec.Network == podman.NetworkBridge || c.spec.Network == podman.NetworkUser) && len(c.ips) > 0 {
		return c.ips[0]
	}
	return ""
}

// sleepCtx waits for d or until ctx ends, and reports whether d elapsed.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// formatMB renders a byte count in whole megabytes, as Mesos words memory.
func formatMB(b int64) string {
	if b <= 0 {
		return "unlimited"
	}
	return fmt.Sprintf("%dMB", b>>20)
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
