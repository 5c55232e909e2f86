package posix

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/google/uuid"

	"strata/kernel/containerizer"
	"strata/kernel/containerizer/cgroups"
	"strata/kernel/containerizer/standby"
)

// Standby is a process started ahead of the container it will become (see
// package standby): it runs a container's command as the container's user, in
// a session of its own, but without the container's sandbox, environment and
// resource limits, which LaunchStandby hands it later. Until then it is not a
// container: Containers, Wait and Recover do not see it, and it has no state
// file, so a standby never outlives the agent (it exits when its socket
// closes).
type Standby struct {
	c    *Containerizer
	ct   *container // pid, start time, done; id and dir are set by LaunchStandby
	path string
	args []string
	user string
	conn *standby.Conn

	mu   sync.Mutex
	used bool // launched or discarded
}

// User is the user the standby runs as ("" for the agent's own user).
func (s *Standby) User() string { return s.user }

// Pid is the standby's process id.
func (s *Standby) Pid() int { return s.ct.pid }

// Ready is closed once the standby has finished starting and waits for its
// launch.
func (s *Standby) Ready() <-chan struct{} { return s.conn.Ready() }

// Done is closed once the standby's process has exited.
func (s *Standby) Done() <-chan struct{} { return s.ct.done }

// claim marks the standby used; it reports false if it already was.
func (s *Standby) claim() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.used {
		return false
	}
	s.used = true
	return true
}

// Discard ends a standby that was not launched: its socket is closed and its
// session killed. It does nothing to a launched standby, which is a container
// by then.
func (s *Standby) Discard() {
	if !s.claim() {
		return
	}
	s.conn.Close()
	if err := killSession(s.ct.pid, s.ct.start); err != nil {
		s.c.log.Warn("discard standby", "pid", s.ct.pid, "error", err)
	}
}

// StartStandby starts cmd as a standby for a container that will run as user
// (empty: the agent's own user). The process gets the standby socket as
// descriptor 3 and standby.EnvFD in its environment; its standard output is
// /dev/null and its standard error the agent's, until its launch. cmd must
// be a program that calls standby.Await.
func (c *Containerizer) StartStandby(cmd containerizer.Command, user string) (*Standby, error) {
	return c.startStandby(cmd, user, "")
}

// startStandby starts a standby; with cgroups it gets cgroup cgid at once
// ("" names one "standby-<uuid>").
func (c *Containerizer) startStandby(cmd containerizer.Command, user, cgid string) (*Standby, error) {
	if cmd.Path == "" {
		return nil, errors.New("posix: standby: empty command")
	}
	path := cmd.Path
	if !strings.Contains(path, "/") {
		p, err := exec.LookPath(path)
		if err != nil {
			return nil, fmt.Errorf("posix: standby: %w", err)
		}
		path = p
	}
	args := cmd.Args
	if len(args) == 0 {
		args = []string{cmd.Path}
	}
	conn, child, err := standby.NewPair()
	if err != nil {
		return nil, fmt.Errorf("posix: %w", err)
	}
	defer child.Close()
	env := append(slices.Clip(cmd.Env), fmt.Sprintf("%s=%d", standby.EnvFD, standby.ChildFD))
	ec := &exec.Cmd{Path: path, Args: args, Env: env, Stderr: os.Stderr, ExtraFiles: []*os.File{child}}
	ec.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if c.namespaces() {
		ec.SysProcAttr.Cloneflags = syscall.CLONE_NEWNS
		if c.cfg.PIDNamespace {
			ec.SysProcAttr.Cloneflags |= syscall.CLONE_NEWPID
		}
	}
	user = c.StandbyUser(user)
	if user != "" {
		cred, err := credential(user)
		if err != nil {
			conn.Close()
			return nil, fmt.Errorf("posix: standby: %w", err)
		}
		ec.SysProcAttr.Credential = cred
	}
	if err := ec.Start(); err != nil {
		conn.Close()
		return nil, fmt.Errorf("posix: standby: %w", err)
	}
	var start uint64
	if st, err := readStat(ec.Process.Pid); err == nil {
		start = st.start
	}
	ct := &container{pid: ec.Process.Pid, start: start, done: make(chan struct{})}
	if c.isolating() && c.cfg.Cgroups != nil {
		// Moving a process into a cgroup is slow on v1; a standby pays for
		// it now, ahead of demand, in a cgroup of its own that becomes its
		// container's (with the container's limits) at launch.
		if cgid == "" {
			cgid = StandbyCgroupPrefix + uuid.NewString()
		}
		if err := c.createCgroup(cgid, ct.pid, cgroups.Limits{CPUs: 1}); err != nil {
			conn.Close()
			_ = killSession(ct.pid, ct.start)
			_ = ec.Wait()
			return nil, fmt.Errorf("posix: standby: %w", err)
		}
		ct.cgroupID = cgid
	}
	s := &Standby{c: c, ct: ct, path: cmd.Path, args: args, user: user, conn: conn}
	go c.reap(ct, ec)
	c.log.Debug("standby started", "pid", ct.pid, "user", user)
	return s, nil
}

// StandbyCgroupPrefix starts the name of the cgroup a standby of the pool
// gets when it starts (it keeps the name once launched).
const StandbyCgroupPrefix = "standby-"

// StandbyUser is the user a standby for a container running as user is
// started as: the same user, or none (root) when the containerizer isolates
// containers, which switch users inside the container at launch; one
// standby then serves every user.
func (c *Containerizer) StandbyUser(user string) string {
	if c.isolating() {
		return ""
	}
	return user
}

// LaunchStandby launches container cfg.ID with a standby instead of a new
// process. cfg is what Launch would get, and must name the standby's command
// (its environment may differ: the standby takes cfg's), its user and a
// sandbox directory. The standby gets the resource limits first, then its
// launch: the sandbox's stdout and stderr, cfg.Directory as its working
// directory and cfg.Command.Env. On error the standby is discarded and
// nothing of the container is left: Launch may be called with the same id.
func (c *Containerizer) LaunchStandby(ctx context.Context, s *Standby, cfg containerizer.ContainerConfig) (*containerizer.Launched, error) {
	return c.launchStandby(ctx, s, cfg, nil)
}

// launchStandby launches container cfg.ID with s; exec, when set, is the
// program s (then `Init container-init`) executes once the container is set
// up, instead of being the container's program itself.
func (c *Containerizer) launchStandby(ctx context.Context, s *Standby, cfg containerizer.ContainerConfig, exec *standby.Exec) (*containerizer.Launched, error) {
	if !s.claim() {
		return nil, errors.New("posix: standby already used")
	}
	fail := func(err error) (*containerizer.Launched, error) {
		s.conn.Close()
		_ = killSession(s.ct.pid, s.ct.start)
		// Let the reaper finish with the process before the id is reused.
		select {
		case <-s.ct.done:
		case <-time.After(killTimeout):
		}
		return nil, err
	}
	if err := validID(cfg.ID); err != nil {
		return fail(err)
	}
	args := cfg.Command.Args
	if len(args) == 0 {
		args = []string{cfg.Command.Path}
	}
	switch {
	case exec == nil && (cfg.Command.Path != s.path || !slices.Equal(args, s.args)):
		return fail(fmt.Errorf("posix: launch %s: the standby runs another command", cfg.ID))
	case cfg.User != s.user && !(s.user == "" && c.isolating()):
		return fail(fmt.Errorf("posix: launch %s: the standby runs as user %q, not %q", cfg.ID, s.user, cfg.User))
	case cfg.Directory == "":
		return fail(fmt.Errorf("posix: launch %s: a standby needs a sandbox directory", cfg.ID))
	}
	if err := ctx.Err(); err != nil {
		return fail(fmt.Errorf("posix: launch %s: %w", cfg.ID, err))
	}
	select {
	case <-s.ct.done:
		return fail(fmt.Errorf("posix: launch %s: the standby has exited", cfg.ID))
	default:
	}
	c.mu.Lock()
	if _, ok := c.containers[cfg.ID]; ok {
		c.mu.Unlock()
		return fail(fmt.Errorf("posix: launch %s: %w", cfg.ID, containerizer.ErrExists))
	}
	c.mu.Unlock()

	mounts, cred, err := c.isolation(cfg)
	if err != nil {
		return fail(fmt.Errorf("posix: launch %s: %w", cfg.ID, err))
	}
	uid, gid := -1, -1
	if cfg.User != "" {
		cred, err := credential(cfg.User)
		if err != nil {
			return fail(fmt.Errorf("posix: launch %s: %w", cfg.ID, err))
		}
		uid, gid = int(cred.Uid), int(cred.Gid)
	}
	files, err := openOutput(cfg.Directory, uid, gid)
	if err != nil {
		return fail(fmt.Errorf("posix: launch %s: %w", cfg.ID, err))
	}
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	// The limits must be in place before the standby can start anything.
	if err := applyRLimits(s.ct.pid, cfg.Container.GetRlimitInfo()); err != nil {
		return fail(fmt.Errorf("posix: launch %s: %w", cfg.ID, err))
	}
	if c.isolating() && c.cfg.Cgroups != nil {
		// A standby sits in its cgroup already (see StartStandby): the
		// launch only sets the container's limits. (A failed launch leaves
		// the cgroup to the reaper, which removes it with the process.)
		l := c.cgroupLimits(cfg.Resources, cfg.Limits)
		c.mu.Lock()
		cgid := s.ct.cgroupID
		c.mu.Unlock()
		if cgid != "" {
			if err := c.cfg.Cgroups.Update(cgid, l); err != nil {
				return fail(fmt.Errorf("posix: launch %s: %w", cfg.ID, err))
			}
		} else {
			if err := c.createCgroup(cfg.ID, s.ct.pid, l); err != nil {
				return fail(fmt.Errorf("posix: launch %s: %w", cfg.ID, err))
			}
			c.mu.Lock()
			s.ct.cgroupID = cfg.ID
			c.mu.Unlock()
		}
	}
	env := cfg.Command.Env
	if env == nil {
		env = []string{}
	}
	launch := standby.Launch{Dir: cfg.Directory, Env: env, Stdout: files[0], Stderr: files[1],
		Mounts: mounts, User: cred, Exec: exec}
	if err := s.conn.Send(launch); err != nil {
		return fail(fmt.Errorf("posix: launch %s: %w", cfg.ID, err))
	}
	s.conn.Close()

	ct := s.ct
	c.mu.Lock()
	ct.id = cfg.ID
	ct.dir = cfg.Directory
	ct.cpus = containerizer.ScalarResource(cfg.Resources, "cpus")
	ct.memMB = containerizer.ScalarResource(cfg.Resources, "mem")
	ct.diskMB = containerizer.ScalarResource(cfg.Resources, "disk")
	ct.launched = time.Now()
	c.containers[cfg.ID] = ct
	c.mu.Unlock()
	if err := c.writeState(ct); err != nil {
		// As in Launch: a container without a state file cannot be
		// recovered, so it must not run.
		_ = c.kill(ct)
		<-ct.done
		c.mu.Lock()
		delete(c.containers, cfg.ID)
		c.mu.Unlock()
		return nil, err
	}
	c.mu.Lock()
	exited := ct.term != nil
	c.mu.Unlock()
	if exited {
		// The reaper finished before the state file was written: it is
		// left to us to remove.
		_ = os.Remove(c.statePath(cfg.ID))
	}
	c.log.Info("container launched", "container", cfg.ID, "pid", ct.pid, "command", cfg.Command.Path, "standby", true)
	go c.superviseLimits(ct)
	return &containerizer.Launched{Pid: ct.pid}, nil
}
