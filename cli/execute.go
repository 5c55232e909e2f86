package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
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
	env                                                     []string
	shell, checkpoint                                       bool
	killAfter                                               time.Duration
}

func newExecuteCommand() *cobra.Command {
	f := &executeFlags{}
	cmd := &cobra.Command{
		Use:   "execute --name NAME --command CMD",
		Short: "Run one command as a task on the cluster and follow it to the end (like mesos-execute)",
		Long: `Run one command as a task through the Mesos v1 scheduler API, as the framework "strata-execute":
subscribe, wait for an offer that fits --resources, launch, print every status update, and exit
when the task ends: 0 for TASK_FINISHED, 1 for any other end. Ctrl-C kills the task first.`,
		Example: `  strata execute --master 127.0.0.1:5050 --name hello --command 'echo hello; sleep 2'
  strata execute --name web --command 'python3 -m http.server $PORT0' --resources 'cpus:0.5;mem:64;ports:[31000-31000]'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
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
	fl.StringVar(&f.name, "name", "", "task name, also its id (required)")
	fl.StringVar(&f.command, "command", "", "command to run (required)")
	fl.BoolVar(&f.shell, "shell", true, "run the command with /bin/sh -c; false runs it as argv split on spaces")
	fl.StringVar(&f.resources, "resources", "cpus:0.1;mem:32", "resources of the task, in Mesos syntax")
	fl.StringVar(&f.role, "role", "*", "role to subscribe with")
	fl.StringVar(&f.user, "user", "", "user to run the task as (default: the current user)")
	fl.StringSliceVar(&f.env, "env", nil, "environment variables for the task, NAME=VALUE (repeatable)")
	fl.BoolVar(&f.checkpoint, "checkpoint", false, "let the task survive agent restarts")
	fl.DurationVar(&f.killAfter, "kill-after", 0, "kill the task after this long (0: never)")
	fl.StringVar(&f.codecName, "codec", "protobuf", "wire format of the scheduler API: protobuf or json")
	_ = cmd.MarkFlagRequired("name")
	_ = cmd.MarkFlagRequired("command")
	return cmd
}

// executeHandler is the framework behind `strata execute`: it launches one task and follows it.
type executeHandler struct {
	scheduler.NopHandler
	client *scheduler.Client
	out    io.Writer
	task   *mesospb.TaskInfo
	need   []*mesospb.Resource

	mu       sync.Mutex
	launched bool
	agentID  *mesospb.AgentID
	done     chan mesospb.TaskState
	once     sync.Once
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
		t := proto.Clone(h.task).(*mesospb.TaskInfo)
		t.AgentId = o.GetAgentId()
		fmt.Fprintf(h.out, "Launching task '%s' on agent %s (%s)\n", t.GetName(), o.GetAgentId().GetValue(), o.GetHostname())
		if err := h.client.Launch(ctx, []*mesospb.OfferID{o.GetId()}, []*mesospb.TaskInfo{t}, &mesospb.Filters{RefuseSeconds: proto.Float64(5)}); err != nil {
			return fmt.Errorf("launch: %w", err)
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
	if st.GetTaskId().GetValue() != h.task.GetTaskId().GetValue() {
		return nil
	}
	line := fmt.Sprintf("Received status update %s for task '%s'", st.GetState(), h.task.GetName())
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
		h.once.Do(func() { h.done <- st.GetState() })
	}
	return nil
}

func (h *executeHandler) kill(ctx context.Context) {
	h.mu.Lock()
	agent := h.agentID
	h.mu.Unlock()
	if agent != nil {
		_ = h.client.Kill(ctx, h.task.GetTaskId(), agent, nil)
	}
}

func runExecute(ctx context.Context, out io.Writer, f *executeFlags) (int, error) {
	need, err := resources.Parse(f.resources, "")
	if err != nil {
		return 1, fmt.Errorf("--resources: %w", err)
	}
	cd := codec.Protobuf
	switch f.codecName {
	case "protobuf":
	case "json":
		cd = codec.JSON
	default:
		return 1, fmt.Errorf("--codec: %q is not protobuf or json", f.codecName)
	}
	user := f.user
	if user == "" {
		user = currentUser()
	}
	cmdInfo := &mesospb.CommandInfo{Shell: proto.Bool(f.shell), Value: proto.String(f.command)}
	if !f.shell {
		argv := strings.Fields(f.command)
		if len(argv) == 0 {
			return 1, errors.New("--command is empty")
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
				return 1, fmt.Errorf("--env %q: want NAME=VALUE", kv)
			}
			env.Variables = append(env.Variables, &mesospb.Environment_Variable{Name: proto.String(k), Value: proto.String(v)})
		}
		cmdInfo.Environment = env
	}
	task := &mesospb.TaskInfo{
		Name:      proto.String(f.name),
		TaskId:    &mesospb.TaskID{Value: proto.String(f.name)},
		AgentId:   &mesospb.AgentID{Value: proto.String("")},
		Resources: need,
		Command:   cmdInfo,
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
	h := &executeHandler{client: client, out: out, task: task, need: need, done: make(chan mesospb.TaskState, 1)}

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
		case state := <-h.done:
			// Give the acknowledgement a moment, then leave: the framework's failover timeout is 0,
			// so the master removes it as soon as the stream closes.
			time.Sleep(200 * time.Millisecond)
			_ = client.Teardown(context.Background())
			cancel()
			<-runErr
			if state == mesospb.TaskState_TASK_FINISHED {
				return 0, nil
			}
			return 1, nil
		case <-killTimer:
			fmt.Fprintf(out, "Killing task '%s' after %s\n", f.name, f.killAfter)
			h.kill(runCtx)
			killTimer = nil
		case <-sigCtx.Done():
			fmt.Fprintf(out, "Interrupted: killing task '%s'\n", f.name)
			h.kill(runCtx)
			sigCtx = context.Background()
		case err := <-runErr:
			if err == nil || errors.Is(err, context.Canceled) {
				return 1, errors.New("the scheduler stream ended before the task finished")
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
