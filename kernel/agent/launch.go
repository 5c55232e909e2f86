package agent

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"strata/kernel/agent/fetcher"
	"strata/kernel/agent/sandbox"
	"strata/kernel/containerizer"
	"strata/kernel/mesos/mesospb"
)

// startLaunch launches an executor's container in the background.
func (a *Agent) startLaunch(e *executor) {
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		a.launch(e)
	}()
}

// launchSpec is what launch needs from the model, copied under the lock.
type launchSpec struct {
	agentID, fid, eid, cid string
	info                   *mesospb.ExecutorInfo
	fwInfo                 *mesospb.FrameworkInfo
	kind                   executorKind
	checkpoint             bool
	token                  string
	resources              []*mesospb.Resource
	limits                 map[string]*mesospb.Value_Scalar
	container              *mesospb.ContainerInfo
	// tasks are the executor's tasks at launch.
	tasks []*mesospb.Task
	// execImage is the image a custom executor runs in (nil: a process);
	// taskImage the first image a built-in executor's tasks ask for.
	execImage, taskImage *containerizer.Image
}

// launch prepares the sandbox, fetches the URIs and starts the container.
func (a *Agent) launch(e *executor) {
	a.mu.Lock()
	sp := launchSpec{
		agentID: a.agentID, fid: e.fw.id, eid: e.id, cid: e.containerID,
		info: e.info, fwInfo: e.fw.info, kind: e.kind, checkpoint: e.fw.checkpoint(),
		token: e.token, resources: e.resources(), container: e.info.GetContainer(),
	}
	for _, t := range e.allTasks() {
		sp.tasks = append(sp.tasks, t.t)
		for k, v := range t.t.GetLimits() {
			if sp.limits == nil {
				sp.limits = make(map[string]*mesospb.Value_Scalar)
			}
			sp.limits[k] = v
		}
	}
	a.mu.Unlock()

	// Containers of images run on podman: a custom executor whose
	// ExecutorInfo names an image runs in one, and a built-in executor runs
	// its tasks with images in them. Without podman they fail at once.
	sp.execImage = executorImage(sp.kind, sp.info)
	sp.taskImage = taskImages(sp.kind, sp.info, sp.tasks)
	for _, img := range []*containerizer.Image{sp.execImage, sp.taskImage} {
		if img == nil {
			continue
		}
		if why := a.imagesUnavailable(); why != "" {
			a.launchFailed(e, fmt.Sprintf("Failed to launch the container of image %s: %s", img, why))
			return
		}
	}
	if img := containerizer.ImageOf(sp.info.GetContainer()); img != nil && sp.kind == defaultExecutor {
		a.launchFailed(e, fmt.Sprintf("The default executor cannot run in a container of image %s: "+
			"give the image to the ContainerInfo of its tasks, which then run in containers of their own", img))
		return
	}

	// The start of a built-in executor is CPU-bound (see launchPacer): it
	// waits for a start slot first, or after the fetch if it has URIs.
	uris := sp.info.GetCommand().GetUris()
	if sp.kind.builtin() && len(uris) == 0 && !a.takeStartSlot(e) {
		return
	}
	dir, err := a.layout.CreateRun(sp.agentID, sp.fid, sp.eid, sp.cid)
	if err != nil {
		a.launchFailed(e, fmt.Sprintf("Failed to create the sandbox: %v", err))
		return
	}
	a.logs.Add(dir)
	if err := a.files.Attach(dir, dir); err != nil {
		a.log.Warn("attach sandbox", "error", err)
	}
	if err := a.files.Attach(dir, sandbox.VirtualLatestRun(sp.fid, sp.eid)); err != nil {
		a.log.Warn("attach sandbox", "error", err)
	}

	if len(uris) > 0 {
		if err := a.fetch(dir, uris); err != nil {
			a.launchFailed(e, fmt.Sprintf("Failed to fetch URIs into the sandbox: %v", err))
			return
		}
		if sp.kind.builtin() && !a.takeStartSlot(e) {
			return
		}
	}
	runAs := ""
	if os.Geteuid() == 0 {
		runAs = sp.info.GetCommand().GetUser()
		if runAs == "" {
			runAs = sp.fwInfo.GetUser()
		}
		if runAs != "" {
			if err := chownTree(dir, runAs); err != nil {
				a.launchFailed(e, fmt.Sprintf("Failed to chown the sandbox to user '%s': %v", runAs, err))
				return
			}
		}
	}
	cmd, err := a.executorCommand(sp, dir)
	if err != nil {
		a.launchFailed(e, err.Error())
		return
	}
	if sp.execImage != nil || sp.taskImage != nil {
		// A built-in executor talks to the rootful podman service and
		// runs each task with an image as its container's user, the
		// others as their own (it switches users); an executor in an
		// image runs as the image's user or its CommandInfo.user.
		runAs = ""
	}

	a.mu.Lock()
	if e.state >= execTerminating {
		a.mu.Unlock()
		a.executorTerminated(e, &containerizer.Termination{Message: "Executor was shut down before it was launched"})
		return
	}
	a.mu.Unlock()

	launched, err := a.startContainer(e, sp, containerizer.ContainerConfig{
		ID: sp.cid, Command: cmd, Directory: dir, User: runAs,
		Resources: sp.resources, Limits: sp.limits, Container: sp.container, CommandInfo: sp.info.GetCommand(),
	})
	if err != nil {
		a.launchFailed(e, fmt.Sprintf("Failed to launch the container: %v", err))
		return
	}

	a.mu.Lock()
	e.launching = false
	e.pid = launched.Pid
	e.launchedAt = time.Now()
	a.checkpointPidLocked(e)
	terminating := e.state >= execTerminating
	if e.state == execRegistering {
		e.regTimer = time.AfterFunc(a.cfg.ExecutorRegistrationTimeout, func() { a.registrationTimeout(e, false) })
	}
	a.mu.Unlock()
	a.log.Info("executor launched", "framework", sp.fid, "executor", sp.eid, "container", sp.cid, "pid", launched.Pid,
		"directory", dir)
	if terminating {
		// Shut down while it was starting: destroy it now (synchronously,
		// so that an agent stopping waits for it).
		a.destroy(e)
	}
	a.watch(a.runCtx, e)
}

// takeStartSlot waits for a start slot of the pacer and gives it to e; it
// reports false (and ends e) if the agent stops first.
func (a *Agent) takeStartSlot(e *executor) bool {
	release, ok := a.pacer.acquire(a.runCtx)
	if !ok {
		a.executorTerminated(e, &containerizer.Termination{Message: "Executor was not launched: the agent is stopping"})
		return false
	}
	a.mu.Lock()
	e.startSlot = release
	a.mu.Unlock()
	return true
}

// startContainer launches the executor's container: a custom executor with
// an image in a podman container of that image, a built-in executor
// (command or default: the launch environment chooses) with a standby when
// one is available, anything else with a new process.
func (a *Agent) startContainer(e *executor, sp launchSpec, cfg containerizer.ContainerConfig) (*containerizer.Launched, error) {
	if sp.execImage != nil {
		return a.cfg.Images.Launch(a.runCtx, sp.agentID, cfg)
	}
	if sp.kind.builtin() && a.standby != nil {
		if s := a.standby.take(a.ownCz.StandbyUser(cfg.User)); s != nil {
			launched, err := a.ownCz.LaunchStandby(a.runCtx, s, cfg)
			if err == nil {
				return launched, nil
			}
			a.mu.Lock()
			ran := e.conn != nil || e.state == execRunning
			a.mu.Unlock()
			if ran {
				// The standby had become the executor (it subscribed and
				// took its tasks) before the launch failed (its state file
				// could not be written: a full disk): a new process would
				// look like it re-subscribing without them, which drops
				// them. The launch fails instead, saying why.
				return nil, err
			}
			a.log.Warn("standby executor not usable; starting a new one", "executor", sp.eid, "error", err)
		}
	}
	return a.cz.Launch(a.runCtx, cfg)
}

// launchFailed fails the executor's tasks with REASON_CONTAINER_LAUNCH_FAILED.
func (a *Agent) launchFailed(e *executor, msg string) {
	a.log.Error("executor launch failed", "framework", e.fw.id, "executor", e.id, "error", msg)
	a.mu.Lock()
	if e.failState == nil {
		e.failState = mesospb.TaskState_TASK_FAILED.Enum()
		e.failReason = mesospb.TaskStatus_REASON_CONTAINER_LAUNCH_FAILED.Enum()
		e.failMessage = msg
	}
	a.mu.Unlock()
	a.executorTerminated(e, &containerizer.Termination{Message: msg})
}

// fetch downloads the URIs into the sandbox, logging to its stderr.
func (a *Agent) fetch(dir string, uris []*mesospb.CommandInfo_URI) error {
	list := make([]fetcher.URI, 0, len(uris))
	for _, u := range uris {
		list = append(list, fetcher.URI{
			Value: u.GetValue(), Executable: u.GetExecutable(), Extract: u.GetExtract(),
			Cache: u.GetCache(), OutputFile: u.GetOutputFile(),
		})
	}
	logf, err := os.OpenFile(filepath.Join(dir, "stderr"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("open stderr: %w", err)
	}
	defer logf.Close()
	return fetcher.Fetch(a.runCtx, dir, list, fetcher.Options{Log: logf, Logger: a.cfg.Logger})
}

// executorCommand resolves the command line and environment of the
// executor. An executor in a container of an image gets the executor
// environment alone (the agent's own would replace the image's PATH and
// more) and runs its CommandInfo as the image's entrypoint semantics say
// (see ImageContainers.Launch).
func (a *Agent) executorCommand(sp launchSpec, dir string) (containerizer.Command, error) {
	env := a.executorEnv(sp, dir)
	if sp.execImage == nil {
		env = append(os.Environ(), env...)
	}
	if sp.kind.builtin() {
		if sp.kind == defaultExecutor {
			// The agent's own environment may name the mode (an agent
			// started by a command executor): the launch decides.
			env = withoutEnv(env, "MESOS_HTTP_COMMAND_EXECUTOR")
		}
		return containerizer.Command{Path: a.cfg.Executable, Args: []string{a.cfg.Executable, "executor"}, Env: env}, nil
	}
	ci := sp.info.GetCommand()
	cenv, _, err := a.secrets.Environment(ci.GetEnvironment())
	if err != nil {
		return containerizer.Command{}, fmt.Errorf("executor %s: %s", sp.eid, secretsFailure(err))
	}
	for _, v := range cenv.GetVariables() {
		env = append(env, v.GetName()+"="+v.GetValue())
	}
	if sp.execImage != nil {
		// The image may have the program (its entrypoint or CMD).
		return containerizer.Command{Path: ci.GetValue(), Args: ci.GetArguments(), Env: env}, nil
	}
	if ci.GetValue() == "" {
		return containerizer.Command{}, fmt.Errorf("executor %s has no command", sp.eid)
	}
	if ci.GetShell() {
		return containerizer.Command{Path: "/bin/sh", Args: []string{"sh", "-c", ci.GetValue()}, Env: env}, nil
	}
	args := ci.GetArguments()
	if len(args) == 0 {
		args = []string{ci.GetValue()}
	}
	return containerizer.Command{Path: ci.GetValue(), Args: args, Env: env}, nil
}

// executorEnv is the MESOS_* environment of an executor.
func (a *Agent) executorEnv(sp launchSpec, dir string) []string {
	checkpoint := "0"
	if sp.checkpoint {
		checkpoint = "1"
	}
	grace := a.cfg.ExecutorShutdownGracePeriod
	if g := sp.info.GetShutdownGracePeriod(); g != nil && g.GetNanoseconds() > 0 {
		grace = time.Duration(g.GetNanoseconds())
	}
	sandbox := dir
	if sp.execImage != nil {
		sandbox = SandboxMountPath
	}
	env := []string{
		"MESOS_FRAMEWORK_ID=" + sp.fid,
		"MESOS_EXECUTOR_ID=" + sp.eid,
		"MESOS_DIRECTORY=" + dir,
		"MESOS_SANDBOX=" + sandbox,
		"MESOS_AGENT_ENDPOINT=" + a.addr,
		"MESOS_SLAVE_ID=" + sp.agentID,
		"MESOS_AGENT_ID=" + sp.agentID,
		"MESOS_CHECKPOINT=" + checkpoint,
		"MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD=" + mesosDuration(grace),
		"MESOS_EXECUTOR_AUTHENTICATION_TOKEN=" + sp.token,
		"MESOS_CONTAINER_ID=" + sp.cid,
		"STRATA_IP=" + a.advertisedIP,
		"LIBPROCESS_IP=" + a.advertisedIP,
	}
	if sp.checkpoint {
		env = append(env,
			"MESOS_RECOVERY_TIMEOUT="+mesosDuration(a.cfg.RecoveryTimeout),
			"MESOS_SUBSCRIPTION_BACKOFF_MAX="+mesosDuration(a.cfg.SubscriptionBackoffMax))
	}
	if sp.kind == commandExecutor {
		env = append(env, "MESOS_HTTP_COMMAND_EXECUTOR=1")
	}
	if sp.kind.builtin() && (sp.taskImage != nil || sp.kind == defaultExecutor) && a.imagesUnavailable() == "" {
		// The default executor may get tasks with images in later groups
		// too.
		env = append(env, EnvPodmanSocket+"="+a.cfg.Images.Socket())
	}
	return env
}

// withoutEnv returns env without the entries of the named variable.
func withoutEnv(env []string, name string) []string {
	out := env[:0:0]
	for _, kv := range env {
		if !strings.HasPrefix(kv, name+"=") {
			out = append(out, kv)
		}
	}
	return out
}

// chownTree gives the sandbox to the user the executor runs as.
func chownTree(dir, name string) error {
	u, err := user.Lookup(name)
	if err != nil {
		if _, numErr := strconv.Atoi(name); numErr != nil {
			return err
		}
		if u, err = user.LookupId(name); err != nil {
			return err
		}
	}
	uid, err := strconv.Atoi(u.Uid)
	if err != nil {
		return err
	}
	gid, err := strconv.Atoi(u.Gid)
	if err != nil {
		return err
	}
	return filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	})
}
