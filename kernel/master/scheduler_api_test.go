package master

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"strata/kernel/mesos/codec"
	"strata/kernel/mesos/mesospb"
	"strata/kernel/mesos/schedulerpb"
)

func launchCall(offer *mesospb.Offer, tasks ...*mesospb.TaskInfo) *schedulerpb.Call {
	return &schedulerpb.Call{
		Type: schedulerpb.Call_ACCEPT.Enum(),
		Accept: &schedulerpb.Call_Accept{
			OfferIds: []*mesospb.OfferID{offer.GetId()},
			Operations: []*mesospb.Offer_Operation{{
				Type:   mesospb.Offer_Operation_LAUNCH.Enum(),
				Launch: &mesospb.Offer_Operation_Launch{TaskInfos: tasks},
			}},
			Filters: &mesospb.Filters{RefuseSeconds: proto.Float64(0)},
		},
	}
}

func commandTask(id string, offer *mesospb.Offer, res ...*mesospb.Resource) *mesospb.TaskInfo {
	return &mesospb.TaskInfo{
		Name:      proto.String(id),
		TaskId:    &mesospb.TaskID{Value: proto.String(id)},
		AgentId:   offer.GetAgentId(),
		Resources: res,
		Command:   &mesospb.CommandInfo{Value: proto.String("sleep 100")},
	}
}

// TestLaunchRunAcknowledge drives the whole offer cycle over the real HTTP API in both codecs.
func TestLaunchRunAcknowledge(t *testing.T) {
	for _, cd := range []codec.Codec{codec.JSON, codec.Protobuf} {
		t.Run(cd.Name(), func(t *testing.T) {
			m, addr := startMaster(t, nil)
			agent := startSimAgent(t, addr, "host-a")
			s := subscribe(t, addr, cd, frameworkInfo("test", mesospb.FrameworkInfo_Capability_PARTITION_AWARE))
			if !strings.HasPrefix(s.fwID, m.ID()+"-") {
				t.Fatalf("framework id %q does not start with master id %q", s.fwID, m.ID())
			}
			offer := s.next(schedulerpb.Event_OFFERS).GetOffers().GetOffers()[0]
			if offer.GetAgentId().GetValue() != agent.ID() || offer.GetHostname() != "host-a" {
				t.Fatalf("offer = %v", offer)
			}
			if offer.AllocationInfo != nil {
				t.Fatalf("a framework without MULTI_ROLE got allocation_info: %v", offer.AllocationInfo)
			}
			for _, r := range offer.GetResources() {
				if r.GetRole() != "*" || r.AllocationInfo != nil {
					t.Fatalf("resource %v: want role \"*\" and no allocation_info for a pre-MULTI_ROLE framework", r)
				}
			}
			s.mustCall(launchCall(offer, commandTask("t1", offer, scalar("cpus", 1), scalar("mem", 128), portsRes(31000, 31000))))
			up := s.next(schedulerpb.Event_UPDATE).GetUpdate().GetStatus()
			if up.GetState() != mesospb.TaskState_TASK_RUNNING || len(up.GetUuid()) != 16 {
				t.Fatalf("update = %v", up)
			}
			s.mustCall(&schedulerpb.Call{
				Type:        schedulerpb.Call_ACKNOWLEDGE.Enum(),
				Acknowledge: &schedulerpb.Call_Acknowledge{AgentId: up.AgentId, TaskId: up.TaskId, Uuid: up.Uuid},
			})

			// /master/state shows the task with ports as a range string, and Mesos-DNS' fields.
			code, hdr, body := get(t, "http://"+addr+"/master/state")
			if code != 200 || hdr.Get("Content-Type") != "application/json" {
				t.Fatalf("/master/state: %d %q", code, hdr.Get("Content-Type"))
			}
			var state struct {
				Leader string `json:"leader"`
				Slaves []struct {
					ID  string `json:"id"`
					PID string `json:"pid"`
				} `json:"slaves"`
				Frameworks []struct {
					ID    string  `json:"id"`
					Name  string  `json:"name"`
					PID   *string `json:"pid"`
					Tasks []struct {
						ID        string         `json:"id"`
						State     string         `json:"state"`
						SlaveID   string         `json:"slave_id"`
						Resources map[string]any `json:"resources"`
					} `json:"tasks"`
				} `json:"frameworks"`
			}
			if err := json.Unmarshal([]byte(body), &state); err != nil {
				t.Fatalf("decode state: %v", err)
			}
			if !strings.HasPrefix(state.Leader, "master@127.0.0.1:") {
				t.Fatalf("leader = %q", state.Leader)
			}
			if len(state.Slaves) != 1 || state.Slaves[0].PID != "slave(1)@127.0.0.1:5051" {
				t.Fatalf("slaves = %+v", state.Slaves)
			}
			if len(state.Frameworks) != 1 || state.Frameworks[0].PID != nil || len(state.Frameworks[0].Tasks) != 1 {
				t.Fatalf("frameworks = %+v", state.Frameworks)
			}
			tk := state.Frameworks[0].Tasks[0]
			if tk.State != "TASK_RUNNING" || tk.Resources["ports"] != "[31000-31000]" || tk.Resources["cpus"] != 1.0 {
				t.Fatalf("task = %+v", tk)
			}

			// KILL reaches the agent, which answers KILLED.
			s.mustCall(&schedulerpb.Call{Type: schedulerpb.Call_KILL.Enum(), Kill: &schedulerpb.Call_Kill{TaskId: up.TaskId, AgentId: up.AgentId}})
			killed := s.next(schedulerpb.Event_UPDATE).GetUpdate().GetStatus()
			if killed.GetState() != mesospb.TaskState_TASK_KILLED {
				t.Fatalf("after kill: %v", killed)
			}
		})
	}
}

// TestInvalidLaunches checks that bad TaskInfos get TASK_ERROR and leak no resources.
func TestInvalidLaunches(t *testing.T) {
	_, addr := startMaster(t, nil)
	startSimAgent(t, addr, "host-a")
	s := subscribe(t, addr, codec.JSON, frameworkInfo("test"))
	cases := []struct {
		name string
		task func(o *mesospb.Offer) *mesospb.TaskInfo
		want string
	}{
		{"no resources", func(o *mesospb.Offer) *mesospb.TaskInfo { return commandTask("a", o) }, "uses no resources"},
		{"too much cpu", func(o *mesospb.Offer) *mesospb.TaskInfo { return commandTask("b", o, scalar("cpus", 100)) }, "more resources"},
		{"port not offered", func(o *mesospb.Offer) *mesospb.TaskInfo {
			return commandTask("c", o, scalar("cpus", 1), portsRes(80, 80))
		}, "more resources"},
		{"bad id", func(o *mesospb.Offer) *mesospb.TaskInfo { return commandTask("a/b", o, scalar("cpus", 1)) }, "task_id"},
		{"command and executor", func(o *mesospb.Offer) *mesospb.TaskInfo {
			ti := commandTask("d", o, scalar("cpus", 1))
			ti.Executor = &mesospb.ExecutorInfo{ExecutorId: &mesospb.ExecutorID{Value: proto.String("e")}, Command: &mesospb.CommandInfo{Value: proto.String("x")}}
			return ti
		}, "not both"},
		{"wrong agent", func(o *mesospb.Offer) *mesospb.TaskInfo {
			ti := commandTask("e", o, scalar("cpus", 1))
			ti.AgentId = &mesospb.AgentID{Value: proto.String("other")}
			return ti
		}, "does not match"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			offer := s.next(schedulerpb.Event_OFFERS).GetOffers().GetOffers()[0]
			if got := offer.GetResources(); len(got) == 0 {
				t.Fatal("empty offer")
			}
			s.mustCall(launchCall(offer, tc.task(offer)))
			up := s.next(schedulerpb.Event_UPDATE).GetUpdate().GetStatus()
			if up.GetState() != mesospb.TaskState_TASK_ERROR || up.GetReason() != mesospb.TaskStatus_REASON_TASK_INVALID || len(up.GetUuid()) != 0 {
				t.Fatalf("update = %v", up)
			}
			if !strings.Contains(up.GetMessage(), tc.want) {
				t.Fatalf("message %q does not contain %q", up.GetMessage(), tc.want)
			}
		})
	}
	// All resources came back: the next offer is the whole agent.
	offer := s.next(schedulerpb.Event_OFFERS).GetOffers().GetOffers()[0]
	var cpus float64
	for _, r := range offer.GetResources() {
		if r.GetName() == "cpus" {
			cpus += r.GetScalar().GetValue()
		}
	}
	if cpus != 4 {
		t.Fatalf("after rejected launches the offer has %v cpus, want 4", cpus)
	}
	// A used offer is gone: launching on it again drops the task.
	s.mustCall(launchCall(offer, commandTask("f", offer, scalar("cpus", 1))))
	s.next(schedulerpb.Event_UPDATE)
	s.mustCall(launchCall(offer, commandTask("g", offer, scalar("cpus", 1))))
	up := s.next(schedulerpb.Event_UPDATE).GetUpdate().GetStatus()
	for up.GetTaskId().GetValue() != "g" {
		up = s.next(schedulerpb.Event_UPDATE).GetUpdate().GetStatus()
	}
	if up.GetState() != mesospb.TaskState_TASK_LOST || up.GetReason() != mesospb.TaskStatus_REASON_INVALID_OFFERS {
		t.Fatalf("launch on a used offer: %v", up)
	}
}

// TestSchedulerTransportErrors checks the status codes of the reference's §1.1, in its order.
func TestSchedulerTransportErrors(t *testing.T) {
	_, addr := startMaster(t, nil)
	url := "http://" + addr + "/api/v1/scheduler"
	sub := `{"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"u","name":"n"}}}`
	cases := []struct {
		name, method, ctype, accept, body string
		want                              int
	}{
		{"GET", http.MethodGet, "application/json", "", sub, 405},
		{"no content type", http.MethodPost, "", "", sub, 400},
		{"text content type", http.MethodPost, "text/plain", "", sub, 415},
		{"bad json", http.MethodPost, "application/json", "", "{", 400},
		{"missing required user", http.MethodPost, "application/json", "", `{"type":"SUBSCRIBE","subscribe":{"framework_info":{"name":"n"}}}`, 400},
		{"unknown type name", http.MethodPost, "application/json", "", `{"type":"NOPE"}`, 400},
		{"no framework id", http.MethodPost, "application/json", "", `{"type":"DECLINE","decline":{}}`, 400},
		{"unknown framework", http.MethodPost, "application/json", "", `{"type":"REVIVE","framework_id":{"value":"x"}}`, 400},
		{"not acceptable", http.MethodPost, "application/json", "text/html", sub, 406},
		{"bad protobuf", http.MethodPost, "application/x-protobuf", "", "\xff\xff\xff", 400},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, url, strings.NewReader(tc.body))
			if tc.ctype != "" {
				req.Header.Set("Content-Type", tc.ctype)
			}
			if tc.accept != "" {
				req.Header.Set("Accept", tc.accept)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.want)
			}
		})
	}

	// Stream id rules on a live subscription.
	s := subscribe(t, addr, codec.JSON, frameworkInfo("ids"))
	s.streamID, _ = "wrong", s.streamID
	if code, body := s.call(&schedulerpb.Call{Type: schedulerpb.Call_REVIVE.Enum()}); code != 400 || !strings.Contains(body, "stream ID") {
		t.Fatalf("wrong stream id: %d %s", code, body)
	}
	s.streamID = ""
	if code, _ := s.call(&schedulerpb.Call{Type: schedulerpb.Call_REVIVE.Enum()}); code != 400 {
		t.Fatalf("missing stream id: %d", code)
	}
	// SUBSCRIBE must not carry a stream id.
	code, _, _ := postWithHeader(t, url, sub, "Mesos-Stream-Id", "x")
	if code != 400 {
		t.Fatalf("SUBSCRIBE with Mesos-Stream-Id: %d", code)
	}
}

func postWithHeader(t *testing.T, url, body, k, v string) (int, http.Header, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(k, v)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header, ""
}
