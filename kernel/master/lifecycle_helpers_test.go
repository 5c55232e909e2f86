package master

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"sort"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"strata/kernel/agent/simagent"
	"strata/kernel/mesos/codec"
	"strata/kernel/mesos/internalpb"
	"strata/kernel/mesos/masterpb"
	"strata/kernel/mesos/mesospb"
	"strata/kernel/mesos/recordio"
	"strata/kernel/mesos/schedulerpb"
)

// Helpers for the scheduler-API and agent-lifecycle tests: a master that can be stopped and started
// again on the same registry, a scheduler client that keeps the events it skips, and readers of
// /master/state and the lcOperator API.

// waitBound is the bound on waiting for something that should happen; quietFor is how long a test watches
// for something that should not.
const (
	waitBound = 10 * time.Second
	quietFor  = 400 * time.Millisecond
)

// lcMaster is a master running on a free port; stop ends it (idempotent, also run at cleanup).
type lcMaster struct {
	t      *testing.T
	m      *Master
	addr   string
	cancel context.CancelFunc
	done   chan error
}

// lcConfig is a master config for tests: registry in a fresh temp dir, fast allocation.
func lcConfig(t *testing.T) Config {
	return Config{IP: "127.0.0.1", WorkDir: t.TempDir(), AllocationInterval: 50 * time.Millisecond}
}

func lcStartMaster(t *testing.T, cfg Config) *lcMaster {
	t.Helper()
	m, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	tm := &lcMaster{t: t, m: m, cancel: cancel, done: make(chan error, 1)}
	ready := make(chan string, 1)
	go func() { tm.done <- m.Serve(ctx, ready) }()
	select {
	case tm.addr = <-ready:
	case err := <-tm.done:
		t.Fatalf("master did not start: %v", err)
	case <-time.After(waitBound):
		t.Fatal("master did not start in time")
	}
	t.Cleanup(tm.stop)
	return tm
}

func (tm *lcMaster) stop() {
	tm.t.Helper()
	if tm.cancel == nil {
		return
	}
	tm.cancel()
	tm.cancel = nil
	// http.Server.Shutdown waits 5s for connections that never carried a request; the client's
	// transport may hold such a connection in its idle pool, so close those while waiting.
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(waitBound)
	for {
		http.DefaultClient.CloseIdleConnections()
		select {
		case err := <-tm.done:
			if err != nil {
				tm.t.Errorf("master stopped with %v", err)
			}
			return
		case <-tick.C:
		case <-deadline:
			tm.t.Error("master did not stop")
			return
		}
	}
}

// lcAgent registers a simulated agent; with no resources it has cpus:4 mem:1024 disk:1000
// ports:[31000-31010].
func lcAgent(t *testing.T, addr, host string, res ...*mesospb.Resource) *simagent.Agent {
	t.Helper()
	if len(res) == 0 {
		res = []*mesospb.Resource{scalar("cpus", 4), scalar("mem", 1024), scalar("disk", 1000), portsRes(31000, 31010)}
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	a, err := simagent.Start(ctx, simagent.Config{Master: addr, Hostname: host, Port: 5051, Address: "127.0.0.1:5051", Resources: res})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// sched wraps the raw scheduler client: take looks for an event without losing the others, which
// stay in the backlog for later takes.
type sched struct {
	*schedClient
	backlog []*schedulerpb.Event
}

func lcSubscribe(t *testing.T, addr string, cd codec.Codec, info *mesospb.FrameworkInfo) *sched {
	t.Helper()
	return &sched{schedClient: subscribe(t, addr, cd, info)}
}

// info returns a copy of fi with this framework's id, for a re-subscription.
func (s *sched) withID(fi *mesospb.FrameworkInfo) *mesospb.FrameworkInfo {
	c := proto.Clone(fi).(*mesospb.FrameworkInfo)
	c.Id = &mesospb.FrameworkID{Value: proto.String(s.fwID)}
	return c
}

// take returns the first event (backlog first) that match accepts, waiting up to d; false when
// none came or the stream ended.
func (s *sched) take(d time.Duration, match func(*schedulerpb.Event) bool) (*schedulerpb.Event, bool) {
	for i, ev := range s.backlog {
		if match(ev) {
			s.backlog = append(s.backlog[:i:i], s.backlog[i+1:]...)
			return ev, true
		}
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		select {
		case ev, ok := <-s.events:
			if !ok {
				return nil, false
			}
			if match(ev) {
				return ev, true
			}
			s.backlog = append(s.backlog, ev)
		case <-timer.C:
			return nil, false
		}
	}
}

// must is take with the standard bound, failing the test when nothing matches.
func (s *sched) must(what string, match func(*schedulerpb.Event) bool) *schedulerpb.Event {
	s.t.Helper()
	ev, ok := s.take(waitBound, match)
	if !ok {
		s.t.Fatalf("framework %s: no %s", s.fwID, what)
	}
	return ev
}

// none fails the test if an event match accepts arrives within d.
func (s *sched) none(what string, d time.Duration, match func(*schedulerpb.Event) bool) {
	s.t.Helper()
	if ev, ok := s.take(d, match); ok {
		s.t.Fatalf("framework %s: unexpected %s: %v", s.fwID, what, ev)
	}
}

// closed waits for the stream to end, keeping what it still delivers.
func (s *sched) closed(d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		select {
		case ev, ok := <-s.events:
			if !ok {
				return true
			}
			s.backlog = append(s.backlog, ev)
		case <-timer.C:
			return false
		}
	}
}

func eventIs(typ schedulerpb.Event_Type) func(*schedulerpb.Event) bool {
	return func(ev *schedulerpb.Event) bool { return ev.GetType() == typ }
}

func isOffers(ev *schedulerpb.Event) bool { return ev.GetType() == schedulerpb.Event_OFFERS }

// updateFor matches UPDATE events of a task.
func updateFor(taskID string) func(*schedulerpb.Event) bool {
	return func(ev *schedulerpb.Event) bool {
		return ev.GetType() == schedulerpb.Event_UPDATE && ev.GetUpdate().GetStatus().GetTaskId().GetValue() == taskID
	}
}

// updateWith matches UPDATE events of a task in a state.
func updateWith(taskID string, state mesospb.TaskState) func(*schedulerpb.Event) bool {
	return func(ev *schedulerpb.Event) bool {
		st := ev.GetUpdate().GetStatus()
		return ev.GetType() == schedulerpb.Event_UPDATE && st.GetTaskId().GetValue() == taskID && st.GetState() == state
	}
}

func rescindFor(offerID string) func(*schedulerpb.Event) bool {
	return func(ev *schedulerpb.Event) bool {
		return ev.GetType() == schedulerpb.Event_RESCIND && ev.GetRescind().GetOfferId().GetValue() == offerID
	}
}

// offer waits for the next OFFERS event and returns its first offer.
func (s *sched) offer() *mesospb.Offer {
	s.t.Helper()
	return s.must("OFFERS", isOffers).GetOffers().GetOffers()[0]
}

// offersFrom collects offers until there is one for each of n distinct agents.
func (s *sched) offersFrom(n int) []*mesospb.Offer {
	s.t.Helper()
	byAgent := map[string]*mesospb.Offer{}
	for len(byAgent) < n {
		for _, o := range s.must("OFFERS", isOffers).GetOffers().GetOffers() {
			byAgent[o.GetAgentId().GetValue()] = o
		}
	}
	out := make([]*mesospb.Offer, 0, n)
	for _, o := range byAgent {
		out = append(out, o)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].GetAgentId().GetValue() < out[j].GetAgentId().GetValue() })
	return out
}

// running launches command tasks on offer (unused resources refused for refuseFor seconds) and waits
// for each to run, acknowledging its RUNNING update.
func (s *sched) running(offer *mesospb.Offer, refuseFor float64, tasks ...*mesospb.TaskInfo) {
	s.t.Helper()
	call := launchCall(offer, tasks...)
	call.Accept.Filters = &mesospb.Filters{RefuseSeconds: proto.Float64(refuseFor)}
	s.mustCall(call)
	for _, ti := range tasks {
		st := s.must("TASK_RUNNING of "+ti.GetTaskId().GetValue(), updateFor(ti.GetTaskId().GetValue())).GetUpdate().GetStatus()
		if st.GetState() != mesospb.TaskState_TASK_RUNNING {
			s.t.Fatalf("task %s: %v", ti.GetTaskId().GetValue(), st)
		}
		s.ack(st)
	}
}

func (s *sched) ack(st *mesospb.TaskStatus) {
	s.t.Helper()
	s.mustCall(&schedulerpb.Call{
		Type:        schedulerpb.Call_ACKNOWLEDGE.Enum(),
		Acknowledge: &schedulerpb.Call_Acknowledge{AgentId: st.AgentId, TaskId: st.TaskId, Uuid: st.Uuid},
	})
}

func (s *sched) decline(offer *mesospb.Offer, filters *mesospb.Filters) {
	s.t.Helper()
	s.mustCall(&schedulerpb.Call{
		Type:    schedulerpb.Call_DECLINE.Enum(),
		Decline: &schedulerpb.Call_Decline{OfferIds: []*mesospb.OfferID{offer.GetId()}, Filters: filters},
	})
}

func (s *sched) reconcile(tasks ...*schedulerpb.Call_Reconcile_Task) {
	s.t.Helper()
	s.mustCall(&schedulerpb.Call{Type: schedulerpb.Call_RECONCILE.Enum(), Reconcile: &schedulerpb.Call_Reconcile{Tasks: tasks}})
}

func reconcileEntry(taskID, agentID string) *schedulerpb.Call_Reconcile_Task {
	rt := &schedulerpb.Call_Reconcile_Task{TaskId: &mesospb.TaskID{Value: proto.String(taskID)}}
	if agentID != "" {
		rt.AgentId = &mesospb.AgentID{Value: proto.String(agentID)}
	}
	return rt
}

func refuseFor(secs float64) *mesospb.Filters {
	return &mesospb.Filters{RefuseSeconds: proto.Float64(secs)}
}

// scalarSum sums a scalar resource of an offer or task.
func scalarSum(res []*mesospb.Resource, name string) float64 {
	var v float64
	for _, r := range res {
		if r.GetName() == name {
			v += r.GetScalar().GetValue()
		}
	}
	return v
}

func multiRole(fi *mesospb.FrameworkInfo, rs ...string) *mesospb.FrameworkInfo {
	fi.Roles = rs
	fi.Capabilities = append(fi.Capabilities, &mesospb.FrameworkInfo_Capability{Type: mesospb.FrameworkInfo_Capability_MULTI_ROLE.Enum()})
	return fi
}

func failoverAfter(fi *mesospb.FrameworkInfo, secs float64) *mesospb.FrameworkInfo {
	fi.FailoverTimeout = proto.Float64(secs)
	return fi
}

// lcEventually polls cond until it holds or the bound passes.
func lcEventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitBound)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// lcAgentEvent waits for an event the agent received.
func lcAgentEvent(t *testing.T, a *simagent.Agent, what string, match func(*internalpb.AgentEvent) bool) *internalpb.AgentEvent {
	t.Helper()
	ev, ok := a.WaitEvent(waitBound, match)
	if !ok {
		t.Fatalf("agent %s: no %s", a.ID(), what)
	}
	return ev
}

func shutdownFor(fwID string) func(*internalpb.AgentEvent) bool {
	return func(ev *internalpb.AgentEvent) bool {
		return ev.GetType() == internalpb.AgentEvent_SHUTDOWN_FRAMEWORK && ev.GetShutdownFramework().GetFrameworkId().GetValue() == fwID
	}
}

// lcTask, lcFramework and lcMasterState are the parts of /master/state these tests read.
type lcTask struct {
	ID      string `json:"id"`
	State   string `json:"state"`
	SlaveID string `json:"slave_id"`
	Role    string `json:"role"`
}

type lcFramework struct {
	ID               string         `json:"id"`
	Name             string         `json:"name"`
	Active           bool           `json:"active"`
	Connected        bool           `json:"connected"`
	Recovered        bool           `json:"recovered"`
	FailoverTimeout  float64        `json:"failover_timeout"`
	UsedResources    map[string]any `json:"used_resources"`
	Tasks            []lcTask       `json:"tasks"`
	UnreachableTasks []lcTask       `json:"unreachable_tasks"`
	CompletedTasks   []lcTask       `json:"completed_tasks"`
}

type lcMasterState struct {
	Frameworks          []lcFramework `json:"frameworks"`
	CompletedFrameworks []lcFramework `json:"completed_frameworks"`
	Slaves              []struct {
		ID     string `json:"id"`
		Active bool   `json:"active"`
	} `json:"slaves"`
	RecoveredSlaves []struct {
		ID string `json:"id"`
	} `json:"recovered_slaves"`
	UnreachableSlaves int `json:"unreachable_slaves"`
}

func lcState(t *testing.T, addr string) lcMasterState {
	t.Helper()
	code, _, body := get(t, "http://"+addr+"/master/state")
	if code != http.StatusOK {
		t.Fatalf("/master/state: %d %s", code, body)
	}
	var st lcMasterState
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatalf("decode /master/state: %v", err)
	}
	return st
}

func (st lcMasterState) framework(id string) *lcFramework {
	for i := range st.Frameworks {
		if st.Frameworks[i].ID == id {
			return &st.Frameworks[i]
		}
	}
	return nil
}

func (st lcMasterState) completed(id string) *lcFramework {
	for i := range st.CompletedFrameworks {
		if st.CompletedFrameworks[i].ID == id {
			return &st.CompletedFrameworks[i]
		}
	}
	return nil
}

func (st lcMasterState) hasSlave(id string) bool {
	for _, s := range st.Slaves {
		if s.ID == id {
			return true
		}
	}
	return false
}

func (st lcMasterState) hasRecoveredSlave(id string) bool {
	for _, s := range st.RecoveredSlaves {
		if s.ID == id {
			return true
		}
	}
	return false
}

func lcTaskIDs(ts []lcTask) []string {
	out := []string{}
	for _, t := range ts {
		out = append(out, t.ID)
	}
	sort.Strings(out)
	return out
}

// lcOperator posts one lcOperator API call in protobuf and decodes the answer.
func lcOperator(t *testing.T, addr string, call *masterpb.Call) (int, *masterpb.Response, string) {
	t.Helper()
	body, err := proto.Marshal(call)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/api/v1", bytes.NewReader(body))
	req.Header.Set("Content-Type", codec.ContentTypeProtobuf)
	req.Header.Set("Accept", codec.ContentTypeProtobuf)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || len(b) == 0 {
		return resp.StatusCode, nil, string(b)
	}
	out := &masterpb.Response{}
	if err := proto.Unmarshal(b, out); err != nil {
		t.Fatalf("decode lcOperator response: %v", err)
	}
	return resp.StatusCode, out, ""
}

// lcSubscribeRefused subscribes and expects the master to answer with an ERROR event and close the
// stream; it returns the message.
func lcSubscribeRefused(t *testing.T, addr string, info *mesospb.FrameworkInfo) string {
	t.Helper()
	call := &schedulerpb.Call{Type: schedulerpb.Call_SUBSCRIBE.Enum(), FrameworkId: info.Id, Subscribe: &schedulerpb.Call_Subscribe{FrameworkInfo: info}}
	body, _ := proto.Marshal(call)
	ctx, cancel := context.WithTimeout(context.Background(), waitBound)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+"/api/v1/scheduler", bytes.NewReader(body))
	req.Header.Set("Content-Type", codec.ContentTypeProtobuf)
	req.Header.Set("Accept", codec.ContentTypeProtobuf)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("SUBSCRIBE: %s %s", resp.Status, b)
	}
	rd := recordio.NewReader(resp.Body)
	rec, err := rd.ReadRecord()
	if err != nil {
		t.Fatalf("SUBSCRIBE: no event: %v", err)
	}
	ev := &schedulerpb.Event{}
	if err := proto.Unmarshal(rec, ev); err != nil {
		t.Fatal(err)
	}
	if ev.GetType() != schedulerpb.Event_ERROR {
		t.Fatalf("SUBSCRIBE of %s: first event %v, want ERROR", info.GetId().GetValue(), ev)
	}
	if _, err := rd.ReadRecord(); err == nil || ctx.Err() != nil {
		t.Fatalf("stream did not close after ERROR (err %v)", err)
	}
	return ev.GetError().GetMessage()
}

// lcOperatorEvents subscribes to the operator event stream (protobuf) and returns its events after
// SUBSCRIBED; the channel closes with the stream.
func lcOperatorEvents(t *testing.T, addr string) <-chan *masterpb.Event {
	t.Helper()
	body, _ := proto.Marshal(&masterpb.Call{Type: masterpb.Call_SUBSCRIBE.Enum()})
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+"/api/v1", bytes.NewReader(body))
	req.Header.Set("Content-Type", codec.ContentTypeProtobuf)
	req.Header.Set("Accept", codec.ContentTypeProtobuf)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		t.Fatalf("operator SUBSCRIBE: %s", resp.Status)
	}
	rd := recordio.NewReader(resp.Body)
	decode := func() (*masterpb.Event, error) {
		rec, err := rd.ReadRecord()
		if err != nil {
			return nil, err
		}
		ev := &masterpb.Event{}
		return ev, proto.Unmarshal(rec, ev)
	}
	if ev, err := decode(); err != nil || ev.GetType() != masterpb.Event_SUBSCRIBED {
		t.Fatalf("operator SUBSCRIBE: first event %v (%v)", ev, err)
	}
	out := make(chan *masterpb.Event, 1024)
	go func() {
		defer close(out)
		defer resp.Body.Close()
		for {
			ev, err := decode()
			if err != nil {
				return
			}
			out <- ev
		}
	}()
	return out
}
