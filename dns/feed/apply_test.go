package feed

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"strata/dns/records"
	"strata/kernel/election"
	"strata/kernel/mesos/masterpb"
	"strata/kernel/mesos/mesospb"
)

// Builders of operator events.

func evSubscribed(gs *masterpb.Response_GetState) *masterpb.Event {
	return &masterpb.Event{Type: masterpb.Event_SUBSCRIBED.Enum(),
		Subscribed: &masterpb.Event_Subscribed{GetState: gs, HeartbeatIntervalSeconds: proto.Float64(15)}}
}

func evTaskAdded(t *mesospb.Task) *masterpb.Event {
	return &masterpb.Event{Type: masterpb.Event_TASK_ADDED.Enum(), TaskAdded: &masterpb.Event_TaskAdded{Task: t}}
}

func evTaskUpdated(fw string, st *mesospb.TaskStatus, state mesospb.TaskState) *masterpb.Event {
	return &masterpb.Event{Type: masterpb.Event_TASK_UPDATED.Enum(), TaskUpdated: &masterpb.Event_TaskUpdated{
		FrameworkId: &mesospb.FrameworkID{Value: proto.String(fw)}, Status: st, State: state.Enum()}}
}

func evAgentAdded(a *masterpb.Response_GetAgents_Agent) *masterpb.Event {
	return &masterpb.Event{Type: masterpb.Event_AGENT_ADDED.Enum(), AgentAdded: &masterpb.Event_AgentAdded{Agent: a}}
}

func evAgentRemoved(id string) *masterpb.Event {
	return &masterpb.Event{Type: masterpb.Event_AGENT_REMOVED.Enum(),
		AgentRemoved: &masterpb.Event_AgentRemoved{AgentId: &mesospb.AgentID{Value: proto.String(id)}}}
}

func evFrameworkAdded(f *masterpb.Response_GetFrameworks_Framework) *masterpb.Event {
	return &masterpb.Event{Type: masterpb.Event_FRAMEWORK_ADDED.Enum(), FrameworkAdded: &masterpb.Event_FrameworkAdded{Framework: f}}
}

func evFrameworkUpdated(f *masterpb.Response_GetFrameworks_Framework) *masterpb.Event {
	return &masterpb.Event{Type: masterpb.Event_FRAMEWORK_UPDATED.Enum(), FrameworkUpdated: &masterpb.Event_FrameworkUpdated{Framework: f}}
}

func evFrameworkRemoved(id string) *masterpb.Event {
	return &masterpb.Event{Type: masterpb.Event_FRAMEWORK_REMOVED.Enum(),
		FrameworkRemoved: &masterpb.Event_FrameworkRemoved{FrameworkInfo: pFrameworkInfo(id, "x", "")}}
}

// snapshot is the view's model as one State.
func (v *view) snapshot() *records.State {
	st := &records.State{Leader: v.leader, Masters: v.masters}
	for _, a := range v.agents {
		st.Agents = append(st.Agents, a)
	}
	for _, f := range v.frameworks {
		st.Frameworks = append(st.Frameworks, f)
	}
	for _, t := range v.tasks {
		st.Tasks = append(st.Tasks, t)
	}
	return st
}

// checkMirror fails unless loading the view's model into a fresh Set gives the records the
// view's Set holds: the mirror and the Set agree.
func checkMirror(t testing.TB, v *view) {
	t.Helper()
	fresh, err := records.New(v.set.Config())
	if err != nil {
		t.Fatal(err)
	}
	fresh.Replace(v.snapshot())
	if got, want := dump(v.set), dump(fresh); got != want {
		t.Fatalf("the Set and the feed's mirror differ:\nset:\n%s\nmirror:\n%s", got, want)
	}
}

func dump(s *records.Set) string {
	var b strings.Builder
	for _, r := range s.Records() {
		fmt.Fprintln(&b, r)
	}
	return b.String()
}

func newTestView(t testing.TB) *view {
	t.Helper()
	set, err := records.New(records.Config{IPSources: []string{records.SourceNetInfo, records.SourceHost}})
	if err != nil {
		t.Fatal(err)
	}
	return newView(set)
}

func addrs(s *records.Set, name string) []string {
	var out []string
	for _, a := range s.A(name) {
		out = append(out, a.String())
	}
	return out
}

// baseState is a cluster of one agent and the framework "marathon", with no tasks.
func baseState() *masterpb.Response_GetState {
	return &masterpb.Response_GetState{
		GetAgents:     &masterpb.Response_GetAgents{Agents: []*masterpb.Response_GetAgents_Agent{pAgent("S-S0", "a1", "slave(1)@10.0.0.2:5051", 5051)}},
		GetFrameworks: &masterpb.Response_GetFrameworks{Frameworks: []*masterpb.Response_GetFrameworks_Framework{pFramework("fw-1", "marathon", "")}},
	}
}

func TestApplyEvents(t *testing.T) {
	const web = "web.marathon.mesos."
	running, staging := mesospb.TaskState_TASK_RUNNING, mesospb.TaskState_TASK_STAGING
	webTask := func(state mesospb.TaskState, st ...*mesospb.TaskStatus) *mesospb.Task {
		return pTask("fw-1", "web-1", "web", "S-S0", state, st...)
	}
	steps := []struct {
		name string
		ev   *masterpb.Event
		want []string // A records of web.marathon.mesos.
		out  outcome
	}{
		{"staged", evTaskAdded(webTask(staging)), nil, outcome{}},
		{"running", evTaskUpdated("fw-1", pStatus("web-1", running, 100, "172.17.0.2"), running), []string{"172.17.0.2"}, outcome{taskUpdate: true, statusTime: 100}},
		{"an older RUNNING status does not win", evTaskUpdated("fw-1", pStatus("web-1", running, 90, "172.17.0.9"), running), []string{"172.17.0.2"}, outcome{taskUpdate: true, statusTime: 90}},
		{"a newer RUNNING status moves the IP", evTaskUpdated("fw-1", pStatus("web-1", running, 110, "172.17.0.3"), running), []string{"172.17.0.3"}, outcome{taskUpdate: true, statusTime: 110}},
		{"heartbeat", &masterpb.Event{Type: masterpb.Event_HEARTBEAT.Enum()}, []string{"172.17.0.3"}, outcome{}},
		{"agent removed: no records", evAgentRemoved("S-S0"), nil, outcome{}},
		{"agent back", evAgentAdded(pAgent("S-S0", "a1", "slave(1)@10.0.0.2:5051", 5051)), []string{"172.17.0.3"}, outcome{}},
		{"framework renamed", evFrameworkUpdated(pFramework("fw-1", "apps", "")), nil, outcome{}},
		{"framework name back", evFrameworkUpdated(pFramework("fw-1", "marathon", "")), []string{"172.17.0.3"}, outcome{}},
		{"state ahead of the status: killing", evTaskUpdated("fw-1", pStatus("web-1", running, 120, "172.17.0.3"), mesospb.TaskState_TASK_KILLING), nil, outcome{taskUpdate: true, statusTime: 120}},
		{"killed", evTaskUpdated("fw-1", pStatus("web-1", mesospb.TaskState_TASK_KILLED, 130), mesospb.TaskState_TASK_KILLED), nil, outcome{taskUpdate: true, statusTime: 130}},
		{"update of a forgotten task", evTaskUpdated("fw-1", pStatus("web-1", running, 140), running), nil, outcome{ignored: true}},
		{"added again, running", evTaskAdded(webTask(running, pStatus("web-1", running, 150, "172.17.0.4"))), []string{"172.17.0.4"}, outcome{}},
		{"a task added in a terminal state is removed", evTaskAdded(webTask(mesospb.TaskState_TASK_FAILED)), nil, outcome{}},
		{"added once more", evTaskAdded(webTask(running, pStatus("web-1", running, 160, "172.17.0.5"))), []string{"172.17.0.5"}, outcome{}},
		{"framework removed with its tasks", evFrameworkRemoved("fw-1"), nil, outcome{}},
		{"framework added back: its tasks are gone", evFrameworkAdded(pFramework("fw-1", "marathon", "")), nil, outcome{}},
		{"an event without a body", &masterpb.Event{Type: masterpb.Event_TASK_ADDED.Enum()}, nil, outcome{ignored: true}},
		{"an unknown event type", &masterpb.Event{Type: masterpb.Event_Type(77).Enum()}, nil, outcome{ignored: true}},
	}
	v := newTestView(t)
	v.replace(evSubscribed(baseState()).GetSubscribed(), "master@10.0.0.1:5050", []string{"10.0.0.1:5050"}, time.Now())
	for _, s := range steps {
		out := v.apply(s.ev)
		if out != s.out {
			t.Errorf("%s: outcome %+v, want %+v", s.name, out, s.out)
		}
		if got := addrs(v.set, web); !slices.Equal(got, s.want) {
			t.Fatalf("%s: A %s = %v, want %v", s.name, web, got, s.want)
		}
		checkMirror(t, v)
	}
	if _, ok := v.tasks[taskKey{"fw-1", "web-1"}]; ok {
		t.Error("the removed framework's task is still in the mirror")
	}
}

// TestCarryOver covers a leader change: the new leader's snapshot lists the agent only as
// recovered, with none of its tasks.
func TestCarryOver(t *testing.T) {
	const web = "web.marathon.mesos."
	running := mesospb.TaskState_TASK_RUNNING
	webTask := func() *mesospb.Task {
		return pTask("fw-1", "web-1", "web", "S-S0", running, pStatus("web-1", running, 100, "172.17.0.2"))
	}
	before := baseState()
	before.GetTasks = &masterpb.Response_GetTasks{Tasks: []*mesospb.Task{webTask(),
		pTask("fw-1", "api-1", "api", "S-S0", running, pStatus("api-1", running, 100, "172.17.0.3"))}}
	after := &masterpb.Response_GetState{
		GetAgents:     &masterpb.Response_GetAgents{RecoveredAgents: []*mesospb.AgentInfo{before.GetAgents.Agents[0].AgentInfo}},
		GetFrameworks: before.GetFrameworks,
	}
	agent := pAgent("S-S0", "a1", "slave(1)@10.0.0.2:5051", 5051)
	start := time.Now()
	setup := func(t *testing.T) *view {
		v := newTestView(t)
		v.replace(evSubscribed(before).GetSubscribed(), "master@10.0.0.1:5050", nil, start)
		if n := v.replace(evSubscribed(after).GetSubscribed(), "master@10.0.0.3:5050", nil, start); n != 2 {
			t.Fatalf("carried over %d tasks, want 2", n)
		}
		if got := addrs(v.set, web); !slices.Equal(got, []string{"172.17.0.2"}) {
			t.Fatalf("after the leader change A %s = %v", web, got)
		}
		if got := addrs(v.set, "leader.mesos."); !slices.Equal(got, []string{"10.0.0.3"}) {
			t.Fatalf("leader.mesos. = %v", got)
		}
		checkMirror(t, v)
		return v
	}
	check := func(t *testing.T, v *view, web, api bool) {
		t.Helper()
		if got := len(v.set.A("web.marathon.mesos.")) > 0; got != web {
			t.Errorf("web resolves: %v, want %v", got, web)
		}
		if got := len(v.set.A("api.marathon.mesos.")) > 0; got != api {
			t.Errorf("api resolves: %v, want %v", got, api)
		}
		checkMirror(t, v)
	}
	t.Run("agent re-registers with one task", func(t *testing.T) {
		v := setup(t)
		v.apply(evTaskAdded(webTask()))
		check(t, v, true, true)
		v.apply(evAgentAdded(agent))
		check(t, v, true, false)
		if len(v.carried) != 0 {
			t.Errorf("carried = %v, want none", v.carried)
		}
	})
	t.Run("agent removed", func(t *testing.T) {
		v := setup(t)
		v.apply(evAgentRemoved("S-S0"))
		check(t, v, false, false)
		if len(v.tasks) != 0 {
			t.Errorf("tasks = %v, want none", v.tasks)
		}
	})
	t.Run("agent never comes back", func(t *testing.T) {
		v := setup(t)
		if n := v.expireCarried(start.Add(time.Minute), 10*time.Minute); n != 0 {
			t.Fatalf("expired %d agents early", n)
		}
		check(t, v, true, true)
		if n := v.expireCarried(start.Add(11*time.Minute), 10*time.Minute); n != 1 {
			t.Fatalf("expired %d agents, want 1", n)
		}
		check(t, v, false, false)
		if len(v.agents) != 0 || len(v.tasks) != 0 {
			t.Errorf("agents %v, tasks %v left", v.agents, v.tasks)
		}
	})
	t.Run("a carried task ends", func(t *testing.T) {
		v := setup(t)
		v.apply(evTaskUpdated("fw-1", pStatus("api-1", mesospb.TaskState_TASK_LOST, 200), mesospb.TaskState_TASK_LOST))
		check(t, v, true, false)
	})
	t.Run("a plain reconnect carries nothing", func(t *testing.T) {
		v := setup(t)
		if n := v.replace(evSubscribed(before).GetSubscribed(), "master@10.0.0.1:5050", nil, start); n != 0 {
			t.Errorf("carried %d", n)
		}
		if len(v.carried) != 0 {
			t.Errorf("carried = %v", v.carried)
		}
		check(t, v, true, true)
	})
}

func TestMergeStatus(t *testing.T) {
	var sts []records.Status
	for i := range 40 {
		sts = mergeStatus(sts, records.Status{State: fmt.Sprintf("S%d", i%20), Timestamp: float64(i)})
	}
	if len(sts) != maxStatuses {
		t.Fatalf("%d statuses, want %d", len(sts), maxStatuses)
	}
	for _, s := range sts {
		var n int
		fmt.Sscanf(s.State, "S%d", &n)
		if s.Timestamp != float64(n+20) {
			t.Errorf("status %s kept timestamp %v, want the newer %d", s.State, s.Timestamp, n+20)
		}
	}
}

func TestProgrammingLatency(t *testing.T) {
	recv := time.Unix(1_700_000_000, 0)
	done := recv.Add(2 * time.Millisecond)
	for _, tc := range []struct {
		name   string
		status float64
		want   time.Duration
	}{
		{"from the status", float64(recv.Unix()) - 0.5, 502 * time.Millisecond},
		{"no timestamp", 0, 2 * time.Millisecond},
		{"in the future", float64(recv.Unix()) + 10, 2 * time.Millisecond},
		{"too old", float64(recv.Unix()) - 7200, 2 * time.Millisecond},
		{"absurd", 1e300, 2 * time.Millisecond},
	} {
		got := programmingLatency(tc.status, recv, done)
		if d := got - tc.want; d < -time.Microsecond || d > time.Microsecond {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestBackoff(t *testing.T) {
	b := backoff{min: 100 * time.Millisecond, max: 5 * time.Second}
	wantCeil := []time.Duration{100, 200, 400, 800, 1600, 3200, 5000, 5000}
	for i, c := range wantCeil {
		c *= time.Millisecond
		if d := b.next(); d < c/2 || d > c {
			t.Errorf("wait %d = %v, want in [%v, %v]", i, d, c/2, c)
		}
	}
	b.reset()
	if d := b.next(); d > 100*time.Millisecond {
		t.Errorf("after reset: %v", d)
	}
}

func TestNewValidates(t *testing.T) {
	set, _ := records.New(records.Config{})
	for _, tc := range []struct {
		name string
		cfg  Config
	}{
		{"no set", Config{Masters: []string{"127.0.0.1:5050"}}},
		{"no masters", Config{Set: set}},
		{"no port", Config{Set: set, Masters: []string{"127.0.0.1"}}},
		{"bad scheme", Config{Set: set, Masters: []string{"ftp://127.0.0.1:5050"}}},
	} {
		if _, err := New(tc.cfg); err == nil {
			t.Errorf("%s: New accepted %+v", tc.name, tc.cfg)
		}
	}
	f, err := New(Config{Set: set, Masters: []string{"http://10.0.0.1:5050", "10.0.0.2:5050"}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(f.hosts, []string{"10.0.0.1:5050", "10.0.0.2:5050"}) {
		t.Errorf("hosts %v", f.hosts)
	}
	// A detector alone will do: it names the masters.
	det, err := election.NewDetector(election.Config{URL: election.URL{Servers: []string{"127.0.0.1:2181"}, Path: "/mesos"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := New(Config{Set: set, Detector: det}); err != nil {
		t.Errorf("New with a Detector and no Masters: %v", err)
	}
}
