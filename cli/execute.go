package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/cobra"
	"google.golang.org/protobuf/proto"

	"strata/kernel/mesos/codec"
	"strata/kernel/mesos/mesospb"
	"strata/kernel/mesos/resources"
	"strata/kernel/mesos/schedulerpb"
	"strata/kernel/scheduler"
)

// executeFlags are the flags of `strata execute`, modelled on mesos-execute.
type executeFlags struct {
	master, name, command, resources, role, user, codecName string
	taskGroup, executorResources                            string
	env                                                     []string
	shell, checkpoint                                       bool
	killAfter                                               time.Duration
}

func newExecuteCommand() *cobra.Command {
	f := &executeFlags{}
	cmd := &cobra.Command{
		Use:   "execute (--name NAME --command CMD | --task-group FILE)",
		Short: "Run a command, or a task group, on the cluster and follow it to the end (like mesos-execute)",
		Long: `Run one command as a task through the Mesos v1 scheduler API, as the framework "strata-execute":
subscribe, wait for an offer that fits --resources, launch, print every status update, and exit
when the task ends: 0 for TASK_FINISHED, 1 for any other end. Ctrl-C kills the task first.

With --task-group (mesos-execute's --task_group), run a task group instead: FILE holds a
TaskGroupInfo in Mesos JSON ({"tasks": [TaskInfo, ...]}; agent_id may be left out), launched with
LAUNCH_GROUP under the built-in default executor (executor id "default-executor", resources
--executor-resources) once an offer fits the tasks and the executor. Its tasks live and die
together: when one fails or is killed, the others are killed. Every task is followed to its end;
the exit status is 0 only if all of them FINISHED. FILE may be a path, a file:// URL, or the JSON
itself; --name, --command, --shell, --env and --resources do not apply.`,
		Example: `  strata execute --master 127.0.0.1:5050 --name hello --command 'echo hello; sleep 2'
  strata execute --name web --command 'python3 -m http.server $PORT0' --resources 'cpus:0.5;mem:64;ports:[31000-31000]'
  strata execute --task-group group.json
    with group.json:
    {"tasks": [
      {"name": "web", "task_id": {"value": "web"}, "command": {"value": "python3 -m http.server 8080"},
       "resources": [{"name": "cpus", "type": "SCALAR", "scalar": {"value": 0.5}},
                     {"name": "mem", "type": "SCALAR", "scalar": {"value": 64}}]},
      {"name": "sidecar", "task_id": {"value": "sidecar"}, "command": {"value": "sleep 1000"},
       "resources": [{"name": "cpus", "type": "SCALAR", "scalar": {"value": 0.1}},
                     {"name": "mem", "type": "SCALAR", "scalar": {"value": 32}}]}]}`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := f.validate(cmd); err != nil {
				return err
			}
			code, err := runExecute(cmd.Context(), cmd.OutOrStdout(), f)
			if err != nil {
				return err
			}
			if code != 0 {
				os.Exit(code)
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.master, "master", "127.0.0.1:5050", "master to use: host:port, or a comma-separated list of them")
	fl.StringVar(&f.name, "name", "", "task name, also its id (required without --task-group)")
	fl.StringVar(&f.command, "command", "", "command to run (required without --task-group)")
	fl.BoolVar(&f.shell, "shell", true, "run the command with /bin/sh -c; false runs it as argv split on spaces")
	fl.StringVar(&f.resources, "resources", "cpus:0.1;mem:32", "resources of the task, in Mesos syntax")
	fl.StringVar(&f.taskGroup, "task-group", "", "run the task group in FILE (Mesos JSON TaskGroupInfo) under the default executor")
	fl.StringVar(&f.executorResources, "executor-resources", "cpus:0.1;mem:32", "resources of the default executor of --task-group, in Mesos syntax")
	fl.StringVar(&f.role, "role", "*", "role to subscribe with")
	fl.StringVar(&f.user, "user", "", "user to run the tasks as, unless a task names its own (default: the current user)")
	fl.StringSliceVar(&f.env, "env", nil, "environment variables for the task, NAME=VALUE (repeatable)")
	fl.BoolVar(&f.checkpoint, "checkpoint", false, "let the task survive agent restarts")
	fl.DurationVar(&f.killAfter, "kill-after", 0, "kill the task (every task of the group) after this long (0: never)")
	fl.StringVar(&f.codecName, "codec", "protobuf", "wire format of the scheduler API: protobuf or json")
	return cmd
}

// validate checks that the flags describe one task or one task group.
func (f *executeFlags) validate(cmd *cobra.Command) error {
	changed := cmd.Flags().Changed
	if f.taskGroup == "" {
		var missing []string
		for _, name := range []string{"name", "command"} {
			if !changed(name) {
				missing = append(missing, `"`+name+`"`)
			}
		}
		if len(missing) > 0 {
			return fmt.Errorf("required flag(s) %s not set (or use --task-group)", strings.Join(missing, ", "))
		}
		if changed("executor-resources") {
			return errors.New("--executor-resources applies to --task-group only")
		}
		return nil
	}
	for _, name := range []string{"name", "command", "env", "resources", "shell"} {
		if changed(name) {
			return fmt.Errorf("--%s cannot be used with --task-group: the task group file describes its tasks", name)
		}
	}
	return nil
}

// executeHandler is the framework behind `strata execute`: it launches one task, or one task group
// under the default executor, and follows every task to its end.
type executeHandler struct {
	scheduler.NopHandler
	client *scheduler.Client
	out    io.Writer
	// tasks is the one task, or the tasks of the group.
	tasks []*mesospb.TaskInfo
	// executor is the default executor of a task group; nil for one task.
	executor *mesospb.ExecutorInfo
	// need is what an offer must hold: the tasks' and the executor's resources.
	need []*mesospb.Resource

	mu       sync.Mutex
	launched bool
	agentID  *mesospb.AgentID
	ended    map[string]mesospb.TaskState
	// done receives, once every task has ended, whether all of them FINISHED.
	done chan bool
}

func (h *executeHandler) Subscribed(ctx context.Context, ev *schedulerpb.Event_Subscribed) error {
	fmt.Fprintf(h.out, "Subscribed with framework id %s\n", ev.GetFrameworkId().GetValue())
	return nil
}

func (h *executeHandler) Offers(ctx context.Context, ev *schedulerpb.Event_Offers) error {
	var unused []*mesospb.OfferID
	for _, o := range ev.GetOffers() {
		h.mu.Lock()
		fits := !h.launched && resources.Contains(resources.Unallocate(o.GetResources()), h.need)
		if fits {
			h.launched = true
			h.agentID = o.GetAgentId()
		}
		h.mu.Unlock()
		if !fits {
			unused = append(unused, o.GetId())
			continue
		}
		tasks := make([]*mesospb.TaskInfo, len(h.tasks))
		for i, t := range h.tasks {
			tasks[i] = proto.CloneOf(t)
			tasks[i].AgentId = o.GetAgentId()
		}
		refuse := &mesospb.Filters{RefuseSeconds: proto.Float64(5)}
		if h.executor == nil {
			fmt.Fprintf(h.out, "Launching task '%s' on agent %s (%s)\n", tasks[0].GetName(), o.GetAgentId().GetValue(), o.GetHostname())
			if err := h.client.Launch(ctx, []*mesospb.OfferID{o.GetId()}, tasks, refuse); err != nil {
				return fmt.Errorf("launch: %w", err)
			}
		} else {
			ex := proto.CloneOf(h.executor)
			ex.FrameworkId = &mesospb.FrameworkID{Value: proto.String(h.client.FrameworkID())}
			fmt.Fprintf(h.out, "Launching task group with tasks %s on agent %s (%s)\n", taskIDs(tasks), o.GetAgentId().GetValue(), o.GetHostname())
			if err := h.client.LaunchGroup(ctx, []*mesospb.OfferID{o.GetId()}, ex, &mesospb.TaskGroupInfo{Tasks: tasks}, refuse); err != nil {
				return fmt.Errorf("launch group: %w", err)
			}
		}
		_ = h.client.Suppress(ctx)
	}
	if len(unused) > 0 {
		return h.client.Decline(ctx, unused, &mesospb.Filters{RefuseSeconds: proto.Float64(5)})
	}
	return nil
}

func (h *executeHandler) Update(ctx context.Context, ev *schedulerpb.Event_Update) error {
	st := ev.GetStatus()
	id := st.GetTaskId().GetValue()
	if !slices.ContainsFunc(h.tasks, func(t *mesospb.TaskInfo) bool { return t.GetTaskId().GetValue() == id }) {
		return nil
	}
	line := fmt.Sprintf("Received status update %s for task '%s'", st.GetState(), id)
	if st.GetMessage() != "" {
		line += "\n  message: '" + st.GetMessage() + "'"
	}
	if st.Reason != nil {
		line += "\n  reason: " + st.GetReason().String()
	}
	if st.Healthy != nil {
		line += fmt.Sprintf("\n  healthy: %v", st.GetHealthy())
	}
	fmt.Fprintln(h.out, line)
	switch st.GetState() {
	case mesospb.TaskState_TASK_FINISHED, mesospb.TaskState_TASK_FAILED, mesospb.TaskState_TASK_KILLED,
		mesospb.TaskState_TASK_LOST, mesospb.TaskState_TASK_ERROR, mesospb.TaskState_TASK_DROPPED,
		mesospb.TaskState_TASK_GONE, mesospb.TaskState_TASK_GONE_BY_OPERATOR:
		h.mu.Lock()
		defer h.mu.Unlock()
		if _, seen := h.ended[id]; seen {
			return nil
		}
		h.ended[id] = st.GetState()
		if len(h.ended) == len(h.tasks) {
			all := true
			for _, s := range h.ended {
				all = all && s == mesospb.TaskState_TASK_FINISHED
			}
			h.done <- all
		}
	}
	return nil
}

// kill asks for a kill of every task that has not ended.
func (h *executeHandler) kill(ctx context.Context) {
	h.mu.Lock()
	agent := h.agentID
	var live []*mesospb.TaskID
	for _, t := range h.tasks {
		if _, ended := h.ended[t.GetTaskId().GetValue()]; !ended {
			live = append(live, t.GetTaskId())
		}
	}
	h.mu.Unlock()
	if agent == nil {
		return
	}
	for _, id := range live {
		_ = h.client.Kill(ctx, id, agent, nil)
	}
}

// what names what strata execute runs, for messages.
func (h *executeHandler) what() string {
	if h.executor == nil {
		return fmt.Sprintf("task '%s'", h.tasks[0].GetName())
	}
	return "task group " + taskIDs(h.tasks)
}

func taskIDs(tasks []*mesospb.TaskInfo) string {
	ids := make([]string, len(tasks))
	for i, t := range tasks {
		ids[i] = t.GetTaskId().GetValue()
	}
	return "[" + strings.Join(ids, ", ") + "]"
}

// singleTask builds the one task of --name and --command.
func singleTask(f *executeFlags) (*mesospb.TaskInfo, error) {
	need, err := resources.Parse(f.resources, "")
	if err != nil {
		return nil, fmt.Errorf("--resources: %w", err)
	}
	cmdInfo := &mesospb.CommandInfo{Shell: proto.Bool(f.shell), Value: proto.String(f.command)}
	if !f.shell {
		argv := strings.Fields(f.command)
		if len(argv) == 0 {
			return nil, errors.New("--command is empty")
		}
		cmdInfo.Value, cmdInfo.Arguments = proto.String(argv[0]), argv
	}
	if f.user != "" {
		cmdInfo.User = proto.String(f.user)
	}
	if len(f.env) > 0 {
		env := &mesospb.Environment{}
		for _, kv := range f.env {
			k, v, ok := strings.Cut(kv, "=")
			if !ok || k == "" {
				return nil, fmt.Errorf("--env %q: want NAME=VALUE", kv)
			}
			env.Variables = append(env.Variables, &mesospb.Environment_Variable{Name: proto.String(k), Value: proto.String(v)})
		}
		cmdInfo.Environment = env
	}
	return &mesospb.TaskInfo{
		Name:      proto.String(f.name),
		TaskId:    &mesospb.TaskID{Value: proto.String(f.name)},
		AgentId:   &mesospb.AgentID{Value: proto.String("")},
		Resources: need,
		Command:   cmdInfo,
	}, nil
}

// newExecuteHandler builds the task or the task group the flags describe.
func newExecuteHandler(f *executeFlags) (*executeHandler, error) {
	h := &executeHandler{ended: map[string]mesospb.TaskState{}, done: make(chan bool, 1)}
	if f.taskGroup == "" {
		t, err := singleTask(f)
		if err != nil {
			return nil, err
		}
		h.tasks = []*mesospb.TaskInfo{t}
		h.need = t.GetResources()
		return h, nil
	}
	group, err := loadTaskGroup(f.taskGroup)
	if err != nil {
		return nil, fmt.Errorf("--task-group: %w", err)
	}
	exRes, err := resources.Parse(f.executorResources, "")
	if err != nil {
		return nil, fmt.Errorf("--executor-resources: %w", err)
	}
	h.tasks = group.GetTasks()
	h.executor = defaultExecutorInfo(exRes)
	h.need = append([]*mesospb.Resource(nil), exRes...)
	for _, t := range h.tasks {
		h.need = append(h.need, t.GetResources()...)
	}
	return h, nil
}

func runExecute(ctx context.Context, out io.Writer, f *executeFlags) (int, error) {
	cd := codec.Protobuf
	switch f.codecName {
	case "protobuf":
	case "json":
		cd = codec.JSON
	default:
		return 1, fmt.Errorf("--codec: %q is not protobuf or json", f.codecName)
	}
	h, err := newExecuteHandler(f)
	if err != nil {
		return 1, err
	}
	user := f.user
	if user == "" {
		user = currentUser()
	}
	fi := &mesospb.FrameworkInfo{
		User:            proto.String(user),
		Name:            proto.String("strata-execute"),
		Role:            proto.String(f.role),
		Checkpoint:      proto.Bool(f.checkpoint),
		FailoverTimeout: proto.Float64(0),
		Hostname:        proto.String(hostname()),
		Id:              nil,
		Labels: &mesospb.Labels{Labels: []*mesospb.Label{
			{Key: proto.String("strata.execute.run"), Value: proto.String(uuid.NewString())},
		}},
		Capabilities: []*mesospb.FrameworkInfo_Capability{
			{Type: mesospb.FrameworkInfo_Capability_TASK_KILLING_STATE.Enum()},
			{Type: mesospb.FrameworkInfo_Capability_PARTITION_AWARE.Enum()},
		},
	}
	client, err := scheduler.New(scheduler.Config{
		Masters:         strings.Split(f.master, ","),
		FrameworkInfo:   fi,
		Codec:           cd,
		AutoAcknowledge: true,
	})
	if err != nil {
		return 1, err
	}
	h.client, h.out = client, out

	sigCtx, stopSignals := signalContext()
	defer stopSignals()
	runCtx, cancel := context.WithCancel(context.Background())
	defer cancel()
	runErr := make(chan error, 1)
	go func() { runErr <- client.Run(runCtx, h) }()

	var killTimer <-chan time.Time
	if f.killAfter > 0 {
		killTimer = time.After(f.killAfter)
	}
	for {
		select {
		case allFinished := <-h.done:
			// Give the acknowledgement a moment, then leave: the framework's failover timeout is 0,
			// so the master removes it as soon as the stream closes.
			time.Sleep(200 * time.Millisecond)
			_ = client.Teardown(context.Background())
			cancel()
			<-runErr
			if allFinished {
				return 0, nil
			}
			return 1, nil
		case <-killTimer:
			fmt.Fprintf(out, "Killing %s after %s\n", h.what(), f.killAfter)
			h.kill(runCtx)
			killTimer = nil
		case <-sigCtx.Done():
			fmt.Fprintf(out, "Interrupted: killing %s\n", h.what())
			h.kill(runCtx)
			sigCtx = context.Background()
		case err := <-runErr:
			if err == nil || errors.Is(err, context.Canceled) {
				return 1, errors.New("the scheduler stream ended before the tasks finished")
			}
			return 1, err
		}
	}
}

func currentUser() string {
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	return "root"
}

func hostname() string {
	h, _ := os.Hostname()
	return h
}
