package executor

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"google.golang.org/protobuf/proto"

	"strata/kernel/containerizer"
	"strata/kernel/executor/proc"
	"strata/kernel/mesos/mesospb"
)

// TasksDir is the directory of the executor's sandbox that holds the
// sandboxes of the default executor's tasks: <sandbox>/tasks/<task id>.
const TasksDir = "tasks"

// taskGroup is one LAUNCH_GROUP of the default executor: its tasks live and
// die together.
type taskGroup struct {
	tasks []*task
	// killing is set once the whole group is being killed: a task failed
	// or was killed, or a KILL arrived for one of its tasks.
	killing bool
	// cancelFetch, while the URIs of the group's tasks are being fetched,
	// cancels the fetch.
	cancelFetch func()
}

func (g *taskGroup) ids() string {
	ids := make([]string, len(g.tasks))
	for i, t := range g.tasks {
		ids[i] = t.id()
	}
	return "[" + strings.Join(ids, ", ") + "]"
}

// launchGroup handles a LAUNCH_GROUP event of the default executor. Every
// task gets TASK_STARTING and its sandbox, into which the URIs of its
// CommandInfo are fetched (in the background); then startGroup starts them.
func (e *executor) launchGroup(info *mesospb.TaskGroupInfo) {
	if e.shuttingDown {
		e.log.Warn("Ignoring LAUNCH_GROUP: the executor is shutting down")
		return
	}
	g := &taskGroup{}
	for _, ti := range info.GetTasks() {
		id := ti.GetTaskId().GetValue()
		if e.findTask(id) != nil {
			e.log.Error("Ignoring a task of LAUNCH_GROUP whose id is taken by an earlier task", "task", id)
			continue
		}
		t := &task{info: ti, group: g, dir: filepath.Join(e.cfg.Sandbox, TasksDir, id), containerID: e.nestedContainerID()}
		g.tasks = append(g.tasks, t)
		e.tasks = append(e.tasks, t)
	}
	if len(g.tasks) == 0 {
		e.log.Warn("Ignoring LAUNCH_GROUP without tasks")
		return
	}
	e.log.Info("Launching task group with tasks " + g.ids())
	for _, t := range g.tasks {
		e.forward(t, e.newStatus(t.info.GetTaskId(), mesospb.TaskState_TASK_STARTING))
	}
	errs := make([]error, len(g.tasks))
	fetch := false
	for i, t := range g.tasks {
		errs[i] = e.makeTaskDir(t)
		fetch = fetch || (errs[i] == nil && len(t.info.GetCommand().GetUris()) > 0)
	}
	if fetch {
		e.fetchGroup(g, errs)
		return
	}
	e.startGroup(g, errs)
}

// startGroup starts a group whose sandboxes are ready (errs holds what went
// wrong for each task so far). Every task is prepared (user, command, or the
// spec of its container) before any is started, so that a group with a task
// that cannot run fails as a whole without running any of it; then the
// processes are started, and every process task gets TASK_RUNNING, and the
// containers of the tasks with an image are started in the background (each
// gets TASK_RUNNING once its container runs; one that fails to start fails
// its task and kills the group).
func (e *executor) startGroup(g *taskGroup, errs []error) {
	if e.shuttingDown || g.killing {
		// Killed, or shut down, while its URIs were being fetched.
		e.dropUnstarted(g, "the task group was killed before it started")
		e.maybeExit()
		return
	}
	specs := make([]proc.Spec, len(g.tasks))
	failed := false
	for i, t := range g.tasks {
		if errs[i] == nil {
			if img := containerizer.ImageOf(t.info.GetContainer()); img != nil {
				errs[i] = e.prepareContainer(t, img)
			} else {
				specs[i], errs[i] = e.groupTaskSpec(t)
			}
		}
		failed = failed || errs[i] != nil
	}
	if failed {
		g.killing = true
		for i, t := range g.tasks {
			if errs[i] != nil {
				e.launchFailed(t, errs[i])
			}
		}
		e.dropUnstarted(g, "another task of its group could not be launched")
		e.maybeExit()
		return
	}

	var started []*task
	for i, t := range g.tasks {
		if t.ctr != nil {
			continue
		}
		e.log.Info("Starting task " + t.id())
		if err := e.startTask(t, specs[i]); err != nil {
			g.killing = true
			e.launchFailed(t, err)
			e.dropUnstarted(g, "task "+t.id()+" of its group could not be launched")
			for _, s := range started {
				e.killTask(s, e.killGrace(s, nil))
			}
			e.maybeExit()
			return
		}
		started = append(started, t)
	}
	for _, t := range g.tasks {
		if t.ctr != nil {
			e.startContainer(t)
		}
	}
	for _, t := range started {
		e.running(t)
	}
}

// dropUnstarted ends the tasks of a group that were neither started nor
// failed with TASK_KILLED: they never ran because the group is going away.
func (e *executor) dropUnstarted(g *taskGroup, why string) {
	for _, t := range g.tasks {
		if t.launched || t.terminated {
			continue
		}
		t.terminated = true
		msg := "Task was not launched: " + why
		e.log.Info(msg, "task", t.id())
		st := e.newStatus(t.info.GetTaskId(), mesospb.TaskState_TASK_KILLED)
		st.Message = &msg
		e.forward(t, st)
	}
}

// killGroup kills every task of g that is still running. override is the
// kill policy of the KILL event that asked for it, if any.
func (e *executor) killGroup(g *taskGroup, override *mesospb.KillPolicy) {
	if !g.killing {
		e.log.Info("Killing task group containing tasks " + g.ids())
	}
	g.killing = true
	if g.cancelFetch != nil {
		g.cancelFetch()
	}
	for _, t := range g.tasks {
		// A container that is being started counts: its start is
		// cancelled, or it is stopped once it runs.
		if (t.launched || t.ctr != nil) && !t.terminated {
			e.killTask(t, e.killGrace(t, override))
		}
	}
}

// nestedContainerID returns a new container id under the executor's
// container: the id a default executor's task reports, as Mesos' tasks in
// nested containers do.
func (e *executor) nestedContainerID() *mesospb.ContainerID {
	id := &mesospb.ContainerID{Value: proto.String(formatUUID(newUUID()))}
	if e.containerID != nil {
		id.Parent = proto.CloneOf(e.containerID)
	}
	return id
}

// makeTaskDir creates the task's sandbox, <sandbox>/tasks/<id>.
func (e *executor) makeTaskDir(t *task) error {
	id := t.id()
	if err := validTaskDirName(id); err != nil {
		return err
	}
	if err := os.MkdirAll(t.dir, 0o755); err != nil {
		return fmt.Errorf("create the sandbox of task '%s': %w", id, err)
	}
	return nil
}

// groupTaskSpec builds the process specification of a task of a group: in
// its sandbox, with its stdout and stderr there and MESOS_SANDBOX set to it.
// A task that runs as another user gets its sandbox.
func (e *executor) groupTaskSpec(t *task) (proc.Spec, error) {
	id := t.id()
	place := taskPlace{
		dir:        t.dir,
		stdoutPath: filepath.Join(t.dir, "stdout"),
		stderrPath: filepath.Join(t.dir, "stderr"),
		env:        []string{EnvSandbox + "=" + t.dir},
	}
	if e.hostIP != "" {
		place.env = append(place.env, "MESOS_CONTAINER_IP="+e.hostIP)
	}
	spec, err := e.commandSpec(t.info, place)
	if err != nil {
		return proc.Spec{}, err
	}
	if c := spec.Credential; c != nil {
		// The task runs as another user: its sandbox, output and fetched
		// files are its own.
		for _, p := range []string{place.stdoutPath, place.stderrPath} {
			f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
			if err != nil {
				return proc.Spec{}, fmt.Errorf("create the output of task '%s': %w", id, err)
			}
			f.Close()
		}
		err := filepath.WalkDir(t.dir, func(p string, _ fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			return os.Lchown(p, int(c.Uid), int(c.Gid))
		})
		if err != nil {
			return proc.Spec{}, fmt.Errorf("give the sandbox of task '%s' to its user: %w", id, err)
		}
	}
	return spec, nil
}

// validTaskDirName checks that a task id can name its sandbox directory.
// The agent validates ids already (as Mesos does); this keeps a bad one from
// escaping the sandbox all the same.
func validTaskDirName(id string) error {
	if id == "" || id == "." || id == ".." || strings.ContainsAny(id, "/\x00") {
		return fmt.Errorf("task id %q cannot name a sandbox directory", id)
	}
	return nil
}
