package posix

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"strata/kernel/containerizer"
	"strata/kernel/containerizer/cgroups"
	"strata/kernel/mesos/mesospb"
)

// Config configures a posix containerizer.
type Config struct {
	// StateDir holds one small state file per container, for Recover.
	// Required; created if missing.
	StateDir string
	// Logger receives diagnostics; nil means slog.Default().
	Logger *slog.Logger
	// PollInterval is how often a recovered container is checked when the
	// kernel has no pidfd support. Zero means 500ms.
	PollInterval time.Duration
	// Init is the strata executable. Programs it starts (the built-in
	// executors, and `strata container-init`) call standby.Await, so in an
	// isolating containerizer every container starts as one of them: the
	// built-in executors directly, any other program through
	// `Init container-init`, which executes it once the container is set up.
	Init string
	// Namespaces asks for a mount namespace per container with a private
	// /tmp (the sandbox's tmp directory), and for the switch to the
	// container's user inside the container rather than at exec. It needs
	// root and Init; without root it is ignored (and Isolation says so).
	Namespaces bool
	// PIDNamespace also gives every container a PID namespace of its own
	// (with Namespaces): its first process (the executor) is PID 1 there,
	// /proc shows only the container, and when the executor exits the
	// kernel kills everything left in the container.
	PIDNamespace bool
	// Keep lists host directories that stay visible at their path inside
	// every container's mount namespace even when they lie under /tmp,
	// which the private /tmp covers (with Namespaces): the directory of the
	// agent's podman socket, which command executors of image tasks use.
	Keep []string
	// Cgroups, when set, gives every container a cgroup of its own under the
	// agent's root: limits, accounting, OOM detection and a kill that
	// nothing escapes. It needs root and Init (the container's first process
	// must wait, as a standby, until it is in its cgroup).
	Cgroups *cgroups.Manager
	// CFSQuota caps every container's CPU at its cpus with a CFS quota, not
	// only those whose tasks set limits (Mesos' --cgroups_enable_cfs).
	CFSQuota bool
	// PidsMax bounds the processes and threads of every container (0: no
	// bound).
	PidsMax uint64
	// EnforceDiskQuota fails a container whose sandbox grows beyond its disk
	// resource with REASON_CONTAINER_LIMITATION_DISK (Mesos'
	// --enforce_container_disk_quota); usage is measured every
	// DiskWatchInterval (zero: 15 s).
	EnforceDiskQuota  bool
	DiskWatchInterval time.Duration
}

// Containerizer runs containers as process sessions. Create it with New.
type Containerizer struct {
	cfg  Config
	log  *slog.Logger
	boot string

	mu         sync.Mutex
	containers map[string]*container
	stop       chan struct{}
	stopOnce   sync.Once
}

var _ containerizer.Containerizer = (*Containerizer)(nil)

type container struct {
	id       string
	pid      int
	start    uint64
	dir      string
	cpus     float64
	memMB    float64
	diskMB   float64
	done     chan struct{}
	term     *containerizer.Termination
	destroy  bool
	launched time.Time
	// cgroupID names the container's cgroup under the agent's root ("" for
	// none): the container id, or the name the cgroup got when the
	// container's process was started as a standby ahead of demand.
	cgroupID string
	// limitation, when set, is the limit the container hit, which is why
	// it was destroyed.
	limitation *containerizer.Termination
}

// New returns a posix containerizer keeping its state in cfg.StateDir.
func New(cfg Config) (*Containerizer, error) {
	if cfg.StateDir == "" {
		return nil, errors.New("posix: StateDir is required")
	}
	if err := os.MkdirAll(cfg.StateDir, 0o755); err != nil {
		return nil, fmt.Errorf("posix: create state dir: %w", err)
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = 500 * time.Millisecond
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Containerizer{
		cfg:        cfg,
		log:        log.With("component", "containerizer/posix"),
		boot:       bootID(),
		containers: make(map[string]*container),
		stop:       make(chan struct{}),
	}, nil
}

// Isolation implements containerizer.Containerizer.
func (c *Containerizer) Isolation() string {
	if !c.isolating() {
		return "posix (no isolation: process session and rlimits only)"
	}
	var parts []string
	if c.cfg.Cgroups != nil {
		parts = append(parts, "cgroups "+c.cfg.Cgroups.String())
	}
	if c.namespaces() {
		if c.cfg.PIDNamespace {
			parts = append(parts, "namespaces: mount with a private /tmp, pid")
		} else {
			parts = append(parts, "namespaces: mount with a private /tmp")
		}
	}
	parts = append(parts, "users switched in the container")
	if c.cfg.EnforceDiskQuota {
		parts = append(parts, "disk quota enforced")
	}
	return "process (" + strings.Join(parts, "; ") + ")"
}

// isolating reports whether containers are set up by their first process
// (a standby) before they run: needed for cgroups and namespaces.
func (c *Containerizer) isolating() bool {
	return c.cfg.Init != "" && os.Geteuid() == 0 && (c.cfg.Namespaces || c.cfg.Cgroups != nil)
}

// namespaces reports whether containers get namespaces of their own.
func (c *Containerizer) namespaces() bool {
	return c.cfg.Namespaces && c.isolating()
}

// Close stops the goroutines watching recovered containers. It does not
// touch any container: they keep running.
func (c *Containerizer) Close() {
	c.stopOnce.Do(func() { close(c.stop) })
}

func validID(id string) error {
	if id == "" || id == "." || id == ".." || strings.ContainsAny(id, "/\\\x00") {
		return fmt.Errorf("posix: invalid container id %q", id)
	}
	return nil
}

// Launch implements containerizer.Containerizer.
func (c *Containerizer) Launch(ctx context.Context, cfg containerizer.ContainerConfig) (*containerizer.Launched, error) {
	if err := validID(cfg.ID); err != nil {
		return nil, err
	}
	if cfg.Command.Path == "" {
		return nil, errors.New("posix: launch: empty command")
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("posix: launch %s: %w", cfg.ID, err)
	}
	if c.isolating() {
		return c.launchIsolated(ctx, cfg)
	}
	ct := &container{
		id:       cfg.ID,
		dir:      cfg.Directory,
		cpus:     containerizer.ScalarResource(cfg.Resources, "cpus"),
		memMB:    containerizer.ScalarResource(cfg.Resources, "mem"),
		done:     make(chan struct{}),
		launched: time.Now(),
	}
	c.mu.Lock()
	if _, ok := c.containers[cfg.ID]; ok {
		c.mu.Unlock()
		return nil, fmt.Errorf("posix: launch %s: %w", cfg.ID, containerizer.ErrExists)
	}
	c.containers[cfg.ID] = ct
	c.mu.Unlock()

	cmd, err := c.start(cfg)
	if err != nil {
		c.mu.Lock()
		delete(c.containers, cfg.ID)
		c.mu.Unlock()
		return nil, err
	}
	var start uint64
	if st, err := readStat(cmd.Process.Pid); err == nil {
		start = st.start
	}
	c.mu.Lock()
	ct.pid, ct.start = cmd.Process.Pid, start
	c.mu.Unlock()
	fail := func(err error) (*containerizer.Launched, error) {
		_ = killSession(ct.pid, ct.start)
		_ = cmd.Wait()
		c.mu.Lock()
		delete(c.containers, cfg.ID)
		c.mu.Unlock()
		return nil, err
	}
	if err := applyRLimits(ct.pid, cfg.Container.GetRlimitInfo()); err != nil {
		return fail(fmt.Errorf("posix: launch %s: %w", cfg.ID, err))
	}
	if err := c.writeState(ct); err != nil {
		return fail(err)
	}
	c.log.Info("container launched", "container", cfg.ID, "pid", ct.pid, "command", cfg.Command.Path)
	go c.reap(ct, cmd)
	return &containerizer.Launched{Pid: ct.pid}, nil
}

// start opens the sandbox's output files and starts the command in a new
// session.
func (c *Containerizer) start(cfg containerizer.ContainerConfig) (*exec.Cmd, error) {
	path := cfg.Command.Path
	if !strings.Contains(path, "/") {
		p, err := exec.LookPath(path)
		if err != nil {
			return nil, fmt.Errorf("posix: launch %s: %w", cfg.ID, err)
		}
		path = p
	}
	args := cfg.Command.Args
	if len(args) == 0 {
		args = []string{cfg.Command.Path}
	}
	cmd := &exec.Cmd{Path: path, Args: args, Env: cfg.Command.Env, Dir: cfg.Directory}
	if cmd.Env == nil {
		cmd.Env = []string{}
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	var uid, gid int = -1, -1
	if cfg.User != "" {
		cred, err := credential(cfg.User)
		if err != nil {
			return nil, fmt.Errorf("posix: launch %s: %w", cfg.ID, err)
		}
		cmd.SysProcAttr.Credential = cred
		uid, gid = int(cred.Uid), int(cred.Gid)
	}
	if cfg.Directory != "" {
		files, err := openOutput(cfg.Directory, uid, gid)
		if err != nil {
			return nil, fmt.Errorf("posix: launch %s: %w", cfg.ID, err)
		}
		defer func() {
			for _, f := range files {
				f.Close()
			}
		}()
		cmd.Stdout, cmd.Stderr = files[0], files[1]
		if err := cmd.Start(); err != nil {
			return nil, fmt.Errorf("posix: launch %s: %w", cfg.ID, err)
		}
		return cmd, nil
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("posix: launch %s: %w", cfg.ID, err)
	}
	return cmd, nil
}

// openOutput opens (creating them if needed) the stdout and stderr files of
// a sandbox for appending, owned by uid:gid when uid is not -1.
func openOutput(dir string, uid, gid int) ([]*os.File, error) {
	var files []*os.File
	for _, name := range []string{"stdout", "stderr"} {
		f, err := os.OpenFile(filepath.Join(dir, name), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			for _, f := range files {
				f.Close()
			}
			return nil, fmt.Errorf("open %s: %w", name, err)
		}
		if uid >= 0 {
			_ = f.Chown(uid, gid)
		}
		files = append(files, f)
	}
	return files, nil
}

// credential resolves a user name (or numeric uid) into the credential to
// run as.
func credential(name string) (*syscall.Credential, error) {
	u, err := user.Lookup(name)
	if err != nil {
		if _, numErr := strconv.Atoi(name); numErr == nil {
			u, err = user.LookupId(name)
		}
		if err != nil {
			return nil, fmt.Errorf("user %q: %w", name, err)
		}
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("user %q: uid %q: %w", name, u.Uid, err)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("user %q: gid %q: %w", name, u.Gid, err)
	}
	cred := &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	if ids, err := u.GroupIds(); err == nil {
		for _, g := range ids {
			if v, err := strconv.ParseUint(g, 10, 32); err == nil {
				cred.Groups = append(cred.Groups, uint32(v))
			}
		}
	}
	return cred, nil
}

// reap waits for a launched executor, kills whatever it left in its
// session, and records the termination.
func (c *Containerizer) reap(ct *container, cmd *exec.Cmd) {
	_ = cmd.Wait()
	term := &containerizer.Termination{}
	if ps := cmd.ProcessState; ps != nil {
		if ws, ok := ps.Sys().(syscall.WaitStatus); ok {
			term.HasStatus = true
			term.WaitStatus = ws
			term.Message = "Executor " + containerizer.Describe(ws)
		}
	}
	if term.Message == "" {
		term.Message = "Executor exited (status unknown)"
	}
	if err := c.kill(ct); err != nil {
		c.mu.Lock()
		id := ct.id
		c.mu.Unlock()
		c.log.Warn("container leftovers", "container", id, "pid", ct.pid, "error", err)
	}
	c.finish(ct, term)
}

func (c *Containerizer) finish(ct *container, term *containerizer.Termination) {
	// An OOM kill that ended the container before the watcher saw it is
	// still a limitation: read the counter before the cgroup goes.
	c.mu.Lock()
	id, cgid := ct.id, ct.cgroupID
	checkOOM := ct.limitation == nil && cgid != "" && c.cfg.Cgroups != nil
	c.mu.Unlock()
	if checkOOM {
		if o, err := c.cfg.Cgroups.OOMState(cgid); err == nil && o.Kills > 0 {
			c.mu.Lock()
			if ct.limitation == nil {
				ct.limitation = memoryLimitation(o)
			}
			c.mu.Unlock()
		}
	}
	c.removeCgroup(ct)
	c.mu.Lock()
	term.Destroyed = ct.destroy
	if lim := ct.limitation; lim != nil {
		term.State, term.Reason, term.Limitation = lim.State, lim.Reason, lim.Limitation
		term.Message = lim.Message
	}
	ct.term = term
	c.mu.Unlock()
	if id == "" {
		// A standby that was never launched: not a container.
		c.log.Debug("standby exited", "pid", ct.pid, "message", term.Message)
		close(ct.done)
		return
	}
	if err := os.Remove(c.statePath(id)); err != nil && !errors.Is(err, os.ErrNotExist) {
		c.log.Warn("remove container state", "container", id, "error", err)
	}
	c.log.Info("container terminated", "container", id, "pid", ct.pid, "message", term.Message, "destroyed", term.Destroyed)
	close(ct.done)
}

func (c *Containerizer) get(id string) (*container, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ct, ok := c.containers[id]
	if !ok {
		return nil, fmt.Errorf("posix: container %s: %w", id, containerizer.ErrUnknownContainer)
	}
	return ct, nil
}

// Wait implements containerizer.Containerizer.
func (c *Containerizer) Wait(ctx context.Context, id string) (*containerizer.Termination, error) {
	ct, err := c.get(id)
	if err != nil {
		return nil, err
	}
	select {
	case <-ct.done:
		c.mu.Lock()
		defer c.mu.Unlock()
		return ct.term, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("posix: wait %s: %w", id, ctx.Err())
	}
}

// Destroy implements containerizer.Containerizer.
func (c *Containerizer) Destroy(ctx context.Context, id string) (*containerizer.Termination, error) {
	ct, err := c.get(id)
	if err != nil {
		return nil, err
	}
	select {
	case <-ct.done:
		return c.Wait(ctx, id)
	default:
	}
	c.mu.Lock()
	ct.destroy = true
	pid := ct.pid
	c.mu.Unlock()
	c.log.Info("destroying container", "container", id, "pid", pid)
	if err := c.kill(ct); err != nil {
		c.log.Warn("destroy container", "container", id, "error", err)
	}
	return c.Wait(ctx, id)
}

// Update implements containerizer.Containerizer. With cgroups the new
// limits are applied; without, the new cpus and mem are only what Usage
// reports as limits.
func (c *Containerizer) Update(ctx context.Context, id string, resources []*mesospb.Resource, limits map[string]*mesospb.Value_Scalar) error {
	ct, err := c.get(id)
	if err != nil {
		return err
	}
	cpus, memMB := containerizer.ScalarResource(resources, "cpus"), containerizer.ScalarResource(resources, "mem")
	diskMB := containerizer.ScalarResource(resources, "disk")
	c.mu.Lock()
	changed := ct.cpus != cpus || ct.memMB != memMB || ct.diskMB != diskMB
	ct.cpus, ct.memMB, ct.diskMB = cpus, memMB, diskMB
	running := ct.term == nil
	cgid := ct.cgroupID
	c.mu.Unlock()
	if running && cgid != "" && c.cfg.Cgroups != nil {
		if err := c.cfg.Cgroups.Update(cgid, c.cgroupLimits(resources, limits)); err != nil {
			return fmt.Errorf("posix: update %s: %w", id, err)
		}
	}
	if !running || !changed {
		// The state file already holds these values: rewriting it would
		// cost a new file for nothing (the agent calls Update whenever a
		// task is delivered, mostly with the resources of the launch).
		return nil
	}
	return c.writeState(ct)
}

// Forget implements containerizer.Containerizer. A running container is not
// forgotten.
func (c *Containerizer) Forget(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ct, ok := c.containers[id]; ok && ct.term != nil {
		delete(c.containers, id)
	}
}

// Live lists the launched containers that have not ended.
func (c *Containerizer) Live() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var ids []string
	for id, ct := range c.containers {
		if ct.term == nil {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids
}

// Containers implements containerizer.Containerizer.
func (c *Containerizer) Containers() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	ids := make([]string, 0, len(c.containers))
	for id := range c.containers {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// Status implements containerizer.Containerizer.
func (c *Containerizer) Status(ctx context.Context, id string) (*mesospb.ContainerStatus, error) {
	ct, err := c.get(id)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	pid := uint32(ct.pid)
	c.mu.Unlock()
	return &mesospb.ContainerStatus{
		ContainerId: &mesospb.ContainerID{Value: &ct.id},
		ExecutorPid: &pid,
	}, nil
}
