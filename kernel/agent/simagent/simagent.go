package simagent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"

	"strata/kernel/mesos/codec"
	"strata/kernel/mesos/internalpb"
	"strata/kernel/mesos/mesospb"
	"strata/kernel/mesos/recordio"
	"strata/kernel/mesos/taskstate"
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
	// FinishAfter, when positive, makes every task report TASK_FINISHED that long after RUNNING.
	FinishAfter time.Duration
	// ContainerIP, when set, is reported in TASK_RUNNING updates as
	// container_status.network_infos[0].ip_addresses[0].ip_address, as a containerizer with a
	// container network does (Mesos-DNS reads it).
	ContainerIP string
	// Client is the HTTP client (default: one with keep-alives).
	Client *http.Client
}

// Ack is one ACKNOWLEDGE_UPDATE the master sent.
type Ack struct {
	FrameworkID, TaskID string
	UUID                []byte
}

// simTask is a task the agent runs.
type simTask struct {
	fw       string
	info     *mesospb.TaskInfo
	executor *mesospb.ExecutorID
	state    mesospb.TaskState
}

// Agent is a running simulated agent.
type Agent struct {
	cfg Config
	ctx context.Context // the agent's lifetime

	mu           sync.Mutex
	id           string
	master       string
	streamID     string
	streamCancel context.CancelFunc
	tasks        map[string]*simTask               // running tasks by id
	frameworks   map[string]*mesospb.FrameworkInfo // by framework id
	executors    map[string]*mesospb.ExecutorInfo  // by framework id + "/" + executor id
	pending      map[string][]byte                 // unacknowledged update uuid by task id
	acks         []Ack
	events       []*internalpb.AgentEvent
	changed      chan struct{} // closed and replaced whenever an event is recorded
	noPongs      bool
	launched     int
	reregistered chan error // the pending Reregister, if any

	registered chan struct{}
	regOnce    sync.Once
}

// Start registers the agent and serves its stream until ctx ends. It returns once the agent is
// registered.
func Start(ctx context.Context, cfg Config) (*Agent, error) {
	if cfg.Client == nil {
		cfg.Client = http.DefaultClient
	}
	a := &Agent{
		cfg: cfg, ctx: ctx, master: cfg.Master,
		tasks: map[string]*simTask{}, frameworks: map[string]*mesospb.FrameworkInfo{},
		executors: map[string]*mesospb.ExecutorInfo{}, pending: map[string][]byte{},
		changed: make(chan struct{}), registered: make(chan struct{}),
	}
	call := &internalpb.AgentCall{
		Type:     internalpb.AgentCall_REGISTER.Enum(),
		Register: &internalpb.AgentCall_Register{AgentInfo: a.agentInfo(""), Version: proto.String("simagent"), Address: proto.String(cfg.Address)},
	}
	errc, err := a.openStream(call, cfg.Master)
	if err != nil {
		return nil, err
	}
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

// Tasks returns the ids of the tasks the agent runs, sorted.
func (a *Agent) Tasks() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]string, 0, len(a.tasks))
	for id := range a.tasks {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

// Acks returns every acknowledgement the master forwarded, oldest first.
func (a *Agent) Acks() []Ack {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]Ack(nil), a.acks...)
}

// Events returns the events the master sent of type typ (all events for UNKNOWN), oldest first.
func (a *Agent) Events(typ internalpb.AgentEvent_Type) []*internalpb.AgentEvent {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []*internalpb.AgentEvent
	for _, ev := range a.events {
		if typ == internalpb.AgentEvent_UNKNOWN || ev.GetType() == typ {
			out = append(out, ev)
		}
	}
	return out
}

// WaitEvent waits up to timeout for an event (already received or arriving) that match accepts.
func (a *Agent) WaitEvent(timeout time.Duration, match func(*internalpb.AgentEvent) bool) (*internalpb.AgentEvent, bool) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	seen := 0
	for {
		a.mu.Lock()
		evs, changed := a.events[seen:], a.changed
		seen = len(a.events)
		a.mu.Unlock()
		for _, ev := range evs {
			if match(ev) {
				return ev, true
			}
		}
		select {
		case <-changed:
		case <-deadline.C:
			return nil, false
		case <-a.ctx.Done():
			return nil, false
		}
	}
}

// SetPongs turns the answers to the master's PINGs on or off; a silent agent is eventually marked
// unreachable by the master while its stream stays open.
func (a *Agent) SetPongs(on bool) {
	a.mu.Lock()
	a.noPongs = !on
	a.mu.Unlock()
}

// Disconnect breaks the agent's stream, as a network failure would; the agent keeps its tasks and
// can come back with Reregister.
func (a *Agent) Disconnect() {
	a.mu.Lock()
	cancel := a.streamCancel
	a.streamCancel = nil
	a.mu.Unlock()
	if cancel != nil {
		cancel()
	}
}

// Reregister opens a new stream with REREGISTER, reporting the agent's id, frameworks, executors
// and tasks, to master ("host:port"; the current master when empty). It returns once the master
// answered REREGISTERED, after killing the tasks the master listed in kill_tasks, or the master's
// ERROR.
func (a *Agent) Reregister(master string) error {
	a.Disconnect()
	a.mu.Lock()
	if master == "" {
		master = a.master
	}
	r := &internalpb.AgentCall_Reregister{
		AgentInfo: a.agentInfo(a.id),
		Version:   proto.String("simagent"),
		Address:   proto.String(a.cfg.Address),
	}
	fwIDs := make([]string, 0, len(a.frameworks))
	for id := range a.frameworks {
		fwIDs = append(fwIDs, id)
	}
	sort.Strings(fwIDs)
	for _, id := range fwIDs {
		r.Frameworks = append(r.Frameworks, a.frameworks[id])
	}
	exKeys := make([]string, 0, len(a.executors))
	for k := range a.executors {
		exKeys = append(exKeys, k)
	}
	sort.Strings(exKeys)
	for _, k := range exKeys {
		r.Executors = append(r.Executors, a.executors[k])
	}
	for _, id := range sortedKeys(a.tasks) {
		r.Tasks = append(r.Tasks, a.taskProto(a.tasks[id]))
	}
	done := make(chan error, 1)
	a.reregistered = done
	a.mu.Unlock()

	errc, err := a.openStream(&internalpb.AgentCall{Type: internalpb.AgentCall_REREGISTER.Enum(), Reregister: r}, master)
	if err != nil {
		return err
	}
	select {
	case err := <-done:
		return err
	case err := <-errc:
		return fmt.Errorf("simagent: stream ended before re-registration: %w", err)
	case <-a.ctx.Done():
		return a.ctx.Err()
	}
}

// SendStatus sends a status update for a task the agent runs, with a fresh uuid, as an executor's
// update would arrive; latest is the newest state the agent knows (it may be ahead of state). A
// terminal latest state ends the task. It returns the update's uuid.
func (a *Agent) SendStatus(taskID string, state, latest mesospb.TaskState) ([]byte, error) {
	a.mu.Lock()
	t := a.tasks[taskID]
	if t == nil {
		a.mu.Unlock()
		return nil, fmt.Errorf("simagent: no task %s", taskID)
	}
	t.state = latest
	if terminal(latest) {
		delete(a.tasks, taskID)
	}
	a.mu.Unlock()
	return a.sendUpdate(t, state, latest), nil
}

// EndUnreported ends a task while the master cannot hear of it (the agent is cut off): no update
// is sent, and the task stays in the agent's report, in its terminal state, until it is
// acknowledged, as a real agent keeps a task whose terminal update is pending: the next
// re-registration reports it so. Use SendStatus afterwards to deliver the update.
func (a *Agent) EndUnreported(taskID string, state mesospb.TaskState) error {
	if !terminal(state) {
		return fmt.Errorf("simagent: %s is not a terminal state", state)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	t := a.tasks[taskID]
	if t == nil {
		return fmt.Errorf("simagent: no task %s", taskID)
	}
	t.state = state
	return nil
}

// Forget drops a task without any status update, as if its RUN_TASK had never arrived; the next
// re-registration does not report it.
func (a *Agent) Forget(taskID string) {
	a.mu.Lock()
	delete(a.tasks, taskID)
	a.mu.Unlock()
}

func (a *Agent) agentInfo(id string) *mesospb.AgentInfo {
	info := &mesospb.AgentInfo{
		Hostname:   proto.String(a.cfg.Hostname),
		Port:       proto.Int32(a.cfg.Port),
		Resources:  a.cfg.Resources,
		Attributes: a.cfg.Attributes,
	}
	if id != "" {
		info.Id = &mesospb.AgentID{Value: proto.String(id)}
	}
	return info
}

func (a *Agent) taskProto(t *simTask) *mesospb.Task {
	ti := t.info
	return &mesospb.Task{
		Name:        ti.Name,
		TaskId:      ti.TaskId,
		FrameworkId: &mesospb.FrameworkID{Value: proto.String(t.fw)},
		ExecutorId:  t.executor,
		AgentId:     &mesospb.AgentID{Value: proto.String(a.id)},
		State:       t.state.Enum(),
		Resources:   ti.Resources,
		Labels:      ti.Labels,
		Discovery:   ti.Discovery,
		Container:   ti.Container,
		KillPolicy:  ti.KillPolicy,
	}
}

// openStream posts a REGISTER or REREGISTER and reads the answer stream in the background; errc
// receives the reason the stream ended.
func (a *Agent) openStream(call *internalpb.AgentCall, master string) (<-chan error, error) {
	body, err := proto.Marshal(call)
	if err != nil {
		return nil, fmt.Errorf("simagent: encode: %w", err)
	}
	ctx, cancel := context.WithCancel(a.ctx)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+master+"/internal/v1/agent", bytes.NewReader(body))
	if err != nil {
		cancel()
		return nil, fmt.Errorf("simagent: request: %w", err)
	}
	req.Header.Set("Content-Type", codec.ContentTypeProtobuf)
	resp, err := a.cfg.Client.Do(req)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("simagent: %s: %w", call.GetType(), err)
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		cancel()
		return nil, fmt.Errorf("simagent: %s: %s: %s", call.GetType(), resp.Status, b)
	}
	a.mu.Lock()
	a.master = master
	a.streamID = resp.Header.Get(streamHeader)
	a.streamCancel = cancel
	a.mu.Unlock()
	errc := make(chan error, 1)
	go func() {
		defer cancel()
		errc <- a.readStream(resp)
	}()
	return errc, nil
}

func (a *Agent) readStream(resp *http.Response) error {
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
		a.record(ev)
		if err := a.handle(ev); err != nil {
			return err
		}
	}
}

func (a *Agent) record(ev *internalpb.AgentEvent) {
	a.mu.Lock()
	a.events = append(a.events, ev)
	close(a.changed)
	a.changed = make(chan struct{})
	a.mu.Unlock()
}

func (a *Agent) handle(ev *internalpb.AgentEvent) error {
	switch ev.GetType() {
	case internalpb.AgentEvent_REGISTERED:
		a.mu.Lock()
		a.id = ev.GetRegistered().GetAgentId().GetValue()
		a.mu.Unlock()
		a.regOnce.Do(func() { close(a.registered) })
	case internalpb.AgentEvent_REREGISTERED:
		var killed []*simTask
		a.mu.Lock()
		for _, id := range ev.GetReregistered().GetKillTasks() {
			if t := a.tasks[id.GetValue()]; t != nil {
				delete(a.tasks, id.GetValue())
				killed = append(killed, t)
			}
		}
		done := a.reregistered
		a.reregistered = nil
		a.mu.Unlock()
		for _, t := range killed {
			go a.sendUpdate(t, mesospb.TaskState_TASK_KILLED, mesospb.TaskState_TASK_KILLED)
		}
		if done != nil {
			done <- nil
		}
	case internalpb.AgentEvent_RUN_TASK:
		rt := ev.GetRunTask()
		fw := rt.GetFramework().GetId().GetValue()
		t := &simTask{fw: fw, info: rt.GetTask(), state: mesospb.TaskState_TASK_STAGING}
		a.mu.Lock()
		a.frameworks[fw] = rt.GetFramework()
		if ex := rt.GetTask().GetExecutor(); ex != nil {
			t.executor = ex.GetExecutorId()
			a.executors[fw+"/"+ex.GetExecutorId().GetValue()] = ex
		}
		a.tasks[rt.GetTask().GetTaskId().GetValue()] = t
		a.launched++
		a.mu.Unlock()
		go a.runTask(t)
	case internalpb.AgentEvent_RUN_TASK_GROUP:
		g := ev.GetRunTaskGroup()
		fw := g.GetFramework().GetId().GetValue()
		a.mu.Lock()
		a.frameworks[fw] = g.GetFramework()
		a.executors[fw+"/"+g.GetExecutor().GetExecutorId().GetValue()] = g.GetExecutor()
		var group []*simTask
		for _, ti := range g.GetTaskGroup().GetTasks() {
			t := &simTask{fw: fw, info: ti, executor: g.GetExecutor().GetExecutorId(), state: mesospb.TaskState_TASK_STAGING}
			a.tasks[ti.GetTaskId().GetValue()] = t
			group = append(group, t)
			a.launched++
		}
		a.mu.Unlock()
		for _, t := range group {
			go a.runTask(t)
		}
	case internalpb.AgentEvent_KILL_TASK:
		k := ev.GetKillTask()
		a.kill(func(t *simTask) bool {
			return t.fw == k.GetFrameworkId().GetValue() && t.info.GetTaskId().GetValue() == k.GetTaskId().GetValue()
		})
	case internalpb.AgentEvent_SHUTDOWN_FRAMEWORK:
		fw := ev.GetShutdownFramework().GetFrameworkId().GetValue()
		a.kill(func(t *simTask) bool { return t.fw == fw })
		a.mu.Lock()
		delete(a.frameworks, fw)
		for k := range a.executors {
			if strings.HasPrefix(k, fw+"/") {
				delete(a.executors, k)
			}
		}
		a.mu.Unlock()
	case internalpb.AgentEvent_SHUTDOWN_EXECUTOR:
		se := ev.GetShutdownExecutor()
		fw, eid := se.GetFrameworkId().GetValue(), se.GetExecutorId().GetValue()
		a.kill(func(t *simTask) bool { return t.fw == fw && t.executor.GetValue() == eid })
		a.mu.Lock()
		_, known := a.executors[fw+"/"+eid]
		delete(a.executors, fw+"/"+eid)
		a.mu.Unlock()
		if known {
			go a.call(&internalpb.AgentCall{
				Type: internalpb.AgentCall_EXITED_EXECUTOR.Enum(),
				ExitedExecutor: &internalpb.AgentCall_ExitedExecutor{
					FrameworkId: se.GetFrameworkId(), ExecutorId: se.GetExecutorId(), Status: proto.Int32(0),
				},
			})
		}
	case internalpb.AgentEvent_ACKNOWLEDGE_UPDATE:
		ack := ev.GetAcknowledgeUpdate()
		a.mu.Lock()
		a.acks = append(a.acks, Ack{FrameworkID: ack.GetFrameworkId().GetValue(), TaskID: ack.GetTaskId().GetValue(), UUID: ack.GetUuid()})
		if bytes.Equal(a.pending[ack.GetTaskId().GetValue()], ack.GetUuid()) {
			delete(a.pending, ack.GetTaskId().GetValue())
		}
		a.mu.Unlock()
	case internalpb.AgentEvent_PING:
		a.mu.Lock()
		silent := a.noPongs
		a.mu.Unlock()
		if !silent {
			go a.call(&internalpb.AgentCall{
				Type: internalpb.AgentCall_PONG.Enum(),
				Pong: &internalpb.AgentCall_Pong{Seq: proto.Uint64(ev.GetPing().GetSeq())},
			})
		}
	case internalpb.AgentEvent_ERROR:
		err := errors.New("simagent: master error: " + ev.GetError().GetMessage())
		a.mu.Lock()
		done := a.reregistered
		a.reregistered = nil
		a.mu.Unlock()
		if done != nil {
			done <- err
		}
		return err
	}
	return nil
}

// kill ends the tasks match selects with TASK_KILLED.
func (a *Agent) kill(match func(*simTask) bool) {
	var killed []*simTask
	a.mu.Lock()
	for id, t := range a.tasks {
		if match(t) {
			delete(a.tasks, id)
			killed = append(killed, t)
		}
	}
	a.mu.Unlock()
	for _, t := range killed {
		go a.sendUpdate(t, mesospb.TaskState_TASK_KILLED, mesospb.TaskState_TASK_KILLED)
	}
}

func (a *Agent) runTask(t *simTask) {
	id := t.info.GetTaskId().GetValue()
	a.mu.Lock()
	running := a.tasks[id] == t
	if running {
		t.state = mesospb.TaskState_TASK_RUNNING
	}
	a.mu.Unlock()
	if !running {
		return
	}
	a.sendUpdate(t, mesospb.TaskState_TASK_RUNNING, mesospb.TaskState_TASK_RUNNING)
	if a.cfg.FinishAfter <= 0 {
		return
	}
	select {
	case <-a.ctx.Done():
		return
	case <-time.After(a.cfg.FinishAfter):
	}
	a.mu.Lock()
	ok := a.tasks[id] == t
	if ok {
		delete(a.tasks, id)
		t.state = mesospb.TaskState_TASK_FINISHED
	}
	a.mu.Unlock()
	if ok {
		a.sendUpdate(t, mesospb.TaskState_TASK_FINISHED, mesospb.TaskState_TASK_FINISHED)
	}
}

func (a *Agent) sendUpdate(t *simTask, state, latest mesospb.TaskState) []byte {
	u := uuid.New()
	taskID := t.info.GetTaskId().GetValue()
	a.mu.Lock()
	a.pending[taskID] = u[:]
	agentID := a.id
	a.mu.Unlock()
	executorID := t.executor
	if executorID == nil {
		// A command task runs under an executor named after it.
		executorID = &mesospb.ExecutorID{Value: proto.String(taskID)}
	}
	st := &mesospb.TaskStatus{
		TaskId:     &mesospb.TaskID{Value: proto.String(taskID)},
		State:      state.Enum(),
		Source:     mesospb.TaskStatus_SOURCE_EXECUTOR.Enum(),
		Uuid:       u[:],
		AgentId:    &mesospb.AgentID{Value: proto.String(agentID)},
		ExecutorId: executorID,
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
	a.call(&internalpb.AgentCall{
		Type: internalpb.AgentCall_STATUS_UPDATE.Enum(),
		StatusUpdate: &internalpb.AgentCall_StatusUpdate{
			FrameworkId: &mesospb.FrameworkID{Value: proto.String(t.fw)},
			ExecutorId:  st.ExecutorId,
			Status:      st,
			LatestState: latest.Enum(),
		},
	})
	return u[:]
}

// call sends one non-stream call on the current stream; failures are dropped (the simulator does
// not retry).
func (a *Agent) call(c *internalpb.AgentCall) {
	a.mu.Lock()
	c.AgentId = &mesospb.AgentID{Value: proto.String(a.id)}
	sid, master := a.streamID, a.master
	a.mu.Unlock()
	body, err := proto.Marshal(c)
	if err != nil {
		return
	}
	req, err := http.NewRequestWithContext(a.ctx, http.MethodPost, "http://"+master+"/internal/v1/agent", bytes.NewReader(body))
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

var terminal = taskstate.IsTerminal

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
