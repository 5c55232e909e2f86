package simagent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"

	"strata/kernel/mesos/codec"
	"strata/kernel/mesos/internalpb"
	"strata/kernel/mesos/mesospb"
	"strata/kernel/mesos/recordio"
)

const streamHeader = "Strata-Agent-Stream-Id"

// Config describes one simulated agent.
type Config struct {
	// Master is the master's "host:port".
	Master string
	// Hostname and Port are advertised in AgentInfo; Address ("ip:port") in the registration.
	Hostname string
	Port     int32
	Address  string
	// Resources are the agent's total resources.
	Resources []*mesospb.Resource
	// Attributes are advertised in AgentInfo.
	Attributes []*mesospb.Attribute
	// ContainerIP, when set, is reported in TASK_RUNNING updates as
	// container_status.network_infos[0].ip_addresses[0].ip_address, as a containerizer with a
	// container network does (Mesos-DNS reads it).
	ContainerIP string
	// FinishAfter, when positive, makes every task report TASK_FINISHED that long after RUNNING.
	FinishAfter time.Duration
	// Client is the HTTP client (default: one with keep-alives).
	Client *http.Client
}

// Agent is a running simulated agent.
type Agent struct {
	cfg Config

	mu       sync.Mutex
	id       string
	streamID string
	tasks    map[string]*mesospb.TaskInfo // running tasks by id
	pending  map[string][]byte            // unacknowledged update uuid by task id
	launched int

	registered chan struct{}
	regOnce    sync.Once
}

// Start registers the agent and serves its stream until ctx ends. It returns once the agent is
// registered.
func Start(ctx context.Context, cfg Config) (*Agent, error) {
	if cfg.Client == nil {
		cfg.Client = http.DefaultClient
	}
	a := &Agent{cfg: cfg, tasks: map[string]*mesospb.TaskInfo{}, pending: map[string][]byte{}, registered: make(chan struct{})}
	resp, err := a.subscribe(ctx)
	if err != nil {
		return nil, err
	}
	errc := make(chan error, 1)
	go func() { errc <- a.readStream(ctx, resp) }()
	select {
	case <-a.registered:
		return a, nil
	case err := <-errc:
		return nil, fmt.Errorf("simagent: stream ended before registration: %w", err)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// ID returns the agent id the master assigned.
func (a *Agent) ID() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.id
}

// Launched returns how many tasks the agent was asked to run.
func (a *Agent) Launched() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.launched
}

func (a *Agent) subscribe(ctx context.Context) (*http.Response, error) {
	info := &mesospb.AgentInfo{
		Hostname:   proto.String(a.cfg.Hostname),
		Port:       proto.Int32(a.cfg.Port),
		Resources:  a.cfg.Resources,
		Attributes: a.cfg.Attributes,
	}
	call := &internalpb.AgentCall{
		Type:     internalpb.AgentCall_REGISTER.Enum(),
		Register: &internalpb.AgentCall_Register{AgentInfo: info, Version: proto.String("simagent"), Address: proto.String(a.cfg.Address)},
	}
	body, err := proto.Marshal(call)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+a.cfg.Master+"/internal/v1/agent", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", codec.ContentTypeProtobuf)
	resp, err := a.cfg.Client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("simagent: register: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return nil, fmt.Errorf("simagent: register: %s: %s", resp.Status, b)
	}
	a.mu.Lock()
	a.streamID = resp.Header.Get(streamHeader)
	a.mu.Unlock()
	return resp, nil
}

func (a *Agent) readStream(ctx context.Context, resp *http.Response) error {
	defer resp.Body.Close()
	rd := recordio.NewReader(resp.Body)
	for {
		rec, err := rd.ReadRecord()
		if err != nil {
			return err
		}
		ev := &internalpb.AgentEvent{}
		if err := proto.Unmarshal(rec, ev); err != nil {
			return fmt.Errorf("simagent: decode event: %w", err)
		}
		if err := a.handle(ctx, ev); err != nil {
			return err
		}
	}
}

func (a *Agent) handle(ctx context.Context, ev *internalpb.AgentEvent) error {
	switch ev.GetType() {
	case internalpb.AgentEvent_REGISTERED:
		a.mu.Lock()
		a.id = ev.GetRegistered().GetAgentId().GetValue()
		a.mu.Unlock()
		a.regOnce.Do(func() { close(a.registered) })
	case internalpb.AgentEvent_RUN_TASK:
		rt := ev.GetRunTask()
		a.mu.Lock()
		a.tasks[rt.GetTask().GetTaskId().GetValue()] = rt.GetTask()
		a.launched++
		a.mu.Unlock()
		go a.runTask(ctx, rt.GetFramework().GetId().GetValue(), rt.GetTask())
	case internalpb.AgentEvent_RUN_TASK_GROUP:
		g := ev.GetRunTaskGroup()
		for _, t := range g.GetTaskGroup().GetTasks() {
			a.mu.Lock()
			a.tasks[t.GetTaskId().GetValue()] = t
			a.launched++
			a.mu.Unlock()
			go a.runTask(ctx, g.GetFramework().GetId().GetValue(), t)
		}
	case internalpb.AgentEvent_KILL_TASK:
		k := ev.GetKillTask()
		a.mu.Lock()
		_, ok := a.tasks[k.GetTaskId().GetValue()]
		delete(a.tasks, k.GetTaskId().GetValue())
		a.mu.Unlock()
		if ok {
			go a.sendUpdate(ctx, k.GetFrameworkId().GetValue(), k.GetTaskId().GetValue(), mesospb.TaskState_TASK_KILLED)
		}
	case internalpb.AgentEvent_ACKNOWLEDGE_UPDATE:
		ack := ev.GetAcknowledgeUpdate()
		a.mu.Lock()
		if bytes.Equal(a.pending[ack.GetTaskId().GetValue()], ack.GetUuid()) {
			delete(a.pending, ack.GetTaskId().GetValue())
		}
		a.mu.Unlock()
	case internalpb.AgentEvent_PING:
		go a.call(ctx, &internalpb.AgentCall{
			Type: internalpb.AgentCall_PONG.Enum(),
			Pong: &internalpb.AgentCall_Pong{Seq: proto.Uint64(ev.GetPing().GetSeq())},
		})
	case internalpb.AgentEvent_ERROR:
		return errors.New("simagent: master error: " + ev.GetError().GetMessage())
	}
	return nil
}

func (a *Agent) runTask(ctx context.Context, fw string, t *mesospb.TaskInfo) {
	id := t.GetTaskId().GetValue()
	a.sendUpdate(ctx, fw, id, mesospb.TaskState_TASK_RUNNING)
	if a.cfg.FinishAfter <= 0 {
		return
	}
	select {
	case <-ctx.Done():
		return
	case <-time.After(a.cfg.FinishAfter):
	}
	a.mu.Lock()
	_, ok := a.tasks[id]
	delete(a.tasks, id)
	a.mu.Unlock()
	if ok {
		a.sendUpdate(ctx, fw, id, mesospb.TaskState_TASK_FINISHED)
	}
}

func (a *Agent) sendUpdate(ctx context.Context, fw, taskID string, state mesospb.TaskState) {
	u := uuid.New()
	a.mu.Lock()
	a.pending[taskID] = u[:]
	agentID := a.id
	a.mu.Unlock()
	st := &mesospb.TaskStatus{
		TaskId:     &mesospb.TaskID{Value: proto.String(taskID)},
		State:      state.Enum(),
		Source:     mesospb.TaskStatus_SOURCE_EXECUTOR.Enum(),
		Uuid:       u[:],
		AgentId:    &mesospb.AgentID{Value: proto.String(agentID)},
		ExecutorId: &mesospb.ExecutorID{Value: proto.String(taskID)},
		Timestamp:  proto.Float64(float64(time.Now().UnixNano()) / 1e9),
	}
	if state == mesospb.TaskState_TASK_RUNNING && a.cfg.ContainerIP != "" {
		st.ContainerStatus = &mesospb.ContainerStatus{
			NetworkInfos: []*mesospb.NetworkInfo{{
				IpAddresses: []*mesospb.NetworkInfo_IPAddress{{
					Protocol:  mesospb.NetworkInfo_IPv4.Enum(),
					IpAddress: proto.String(a.cfg.ContainerIP),
				}},
			}},
		}
	}
	a.call(ctx, &internalpb.AgentCall{
		Type: internalpb.AgentCall_STATUS_UPDATE.Enum(),
		StatusUpdate: &internalpb.AgentCall_StatusUpdate{
			FrameworkId: &mesospb.FrameworkID{Value: proto.String(fw)},
			ExecutorId:  st.ExecutorId,
			Status:      st,
			LatestState: state.Enum(),
		},
	})
}

// call sends one non-stream call; failures are dropped (the simulator does not retry).
func (a *Agent) call(ctx context.Context, c *internalpb.AgentCall) {
	a.mu.Lock()
	c.AgentId = &mesospb.AgentID{Value: proto.String(a.id)}
	sid := a.streamID
	a.mu.Unlock()
	body, err := proto.Marshal(c)
	if err != nil {
		return
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+a.cfg.Master+"/internal/v1/agent", bytes.NewReader(body))
	if err != nil {
		return
	}
	req.Header.Set("Content-Type", codec.ContentTypeProtobuf)
	req.Header.Set(streamHeader, sid)
	resp, err := a.cfg.Client.Do(req)
	if err != nil {
		return
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}
