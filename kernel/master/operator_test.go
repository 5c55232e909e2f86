package master

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"strata/kernel/mesos/codec"
	"strata/kernel/mesos/masterpb"
	"strata/kernel/mesos/mesospb"
	"strata/kernel/version"
)

// TestOperatorQueries runs every implemented query in both codecs against a cluster with two
// running tasks, one of them under a custom executor.
func TestOperatorQueries(t *testing.T) {
	for _, cd := range []codec.Codec{codec.JSON, codec.Protobuf} {
		t.Run(cd.Name(), func(t *testing.T) {
			c := startOpCluster(t, func(cfg *Config) { cfg.Flags = map[string]string{"port": "5050", "work_dir": "/var/lib/strata"} })
			c.runTask(t, func(o *mesospb.Offer) *mesospb.TaskInfo { return opRichTask("web-1", o) })
			c.runTask(t, func(o *mesospb.Offer) *mesospb.TaskInfo { return opExecutorTask("worker-1", o) })
			_, port, _ := net.SplitHostPort(c.addr)

			checks := []struct {
				call  masterpb.Call_Type
				check func(t *testing.T, r *masterpb.Response)
			}{
				{masterpb.Call_GET_HEALTH, func(t *testing.T, r *masterpb.Response) {
					if !r.GetGetHealth().GetHealthy() {
						t.Fatal("not healthy")
					}
				}},
				{masterpb.Call_GET_VERSION, func(t *testing.T, r *masterpb.Response) {
					if v := r.GetGetVersion().GetVersionInfo().GetVersion(); v != version.MesosVersion {
						t.Fatalf("version %q", v)
					}
				}},
				{masterpb.Call_GET_FLAGS, func(t *testing.T, r *masterpb.Response) {
					got := map[string]string{}
					for _, f := range r.GetGetFlags().GetFlags() {
						got[f.GetName()] = f.GetValue()
					}
					if got["port"] != "5050" || got["work_dir"] != "/var/lib/strata" {
						t.Fatalf("flags %v", got)
					}
				}},
				{masterpb.Call_GET_METRICS, func(t *testing.T, r *masterpb.Response) {
					got := map[string]float64{}
					for _, m := range r.GetGetMetrics().GetMetrics() {
						got[m.GetName()] = m.GetValue()
					}
					if got["master/elected"] != 1 || got["master/tasks_running"] != 2 || got["master/slaves_active"] != 1 {
						t.Fatalf("metrics %v", got)
					}
				}},
				{masterpb.Call_GET_MASTER, func(t *testing.T, r *masterpb.Response) {
					mi := r.GetGetMaster().GetMasterInfo()
					if mi.GetId() != c.m.ID() || mi.GetPid() != "master@127.0.0.1:"+port || mi.GetAddress().GetIp() != "127.0.0.1" ||
						mi.GetIp() != 16777343 || r.GetGetMaster().GetStartTime() <= 0 {
						t.Fatalf("master %v", r.GetGetMaster())
					}
				}},
				{masterpb.Call_GET_STATE, func(t *testing.T, r *masterpb.Response) {
					st := r.GetGetState()
					if len(st.GetGetTasks().GetTasks()) != 2 || len(st.GetGetAgents().GetAgents()) != 1 ||
						len(st.GetGetFrameworks().GetFrameworks()) != 1 || len(st.GetGetExecutors().GetExecutors()) != 1 {
						t.Fatalf("state %v", st)
					}
				}},
				{masterpb.Call_GET_AGENTS, func(t *testing.T, r *masterpb.Response) {
					as := r.GetGetAgents().GetAgents()
					if len(as) != 1 {
						t.Fatalf("agents %v", as)
					}
					a := as[0]
					if a.GetAgentInfo().GetId().GetValue() != c.agent.ID() || a.GetPid() != "slave(1)@127.0.0.1:5051" || !a.GetActive() ||
						a.GetAgentInfo().GetHostname() != "host-a" || a.GetRegisteredTime().GetNanoseconds() <= 0 {
						t.Fatalf("agent %v", a)
					}
					if got := opResourceSum(a.GetTotalResources(), "cpus"); got != 4 {
						t.Fatalf("total cpus %v", got)
					}
					// Two tasks of 0.5 plus the custom executor's 0.1.
					if got := opResourceSum(a.GetAllocatedResources(), "cpus"); got < 1.09 || got > 1.11 {
						t.Fatalf("allocated cpus %v", got)
					}
				}},
				{masterpb.Call_GET_FRAMEWORKS, func(t *testing.T, r *masterpb.Response) {
					fs := r.GetGetFrameworks().GetFrameworks()
					if len(fs) != 1 || fs[0].GetFrameworkInfo().GetName() != "fixture" || !fs[0].GetActive() || !fs[0].GetConnected() ||
						fs[0].GetFrameworkInfo().GetId().GetValue() != c.sched.fwID {
						t.Fatalf("frameworks %v", fs)
					}
					if got := opResourceSum(fs[0].GetAllocatedResources(), "cpus"); got < 1 {
						t.Fatalf("framework allocated cpus %v", got)
					}
				}},
				{masterpb.Call_GET_EXECUTORS, func(t *testing.T, r *masterpb.Response) {
					ex := r.GetGetExecutors().GetExecutors()
					if len(ex) != 1 || ex[0].GetExecutorInfo().GetExecutorId().GetValue() != "ex-worker-1" || ex[0].GetAgentId().GetValue() != c.agent.ID() {
						t.Fatalf("executors %v", ex)
					}
				}},
				{masterpb.Call_GET_TASKS, func(t *testing.T, r *masterpb.Response) {
					ts := r.GetGetTasks().GetTasks()
					if len(ts) != 2 {
						t.Fatalf("tasks %v", ts)
					}
					for _, tk := range ts {
						if tk.GetState() != mesospb.TaskState_TASK_RUNNING || tk.GetFrameworkId().GetValue() != c.sched.fwID || tk.GetAgentId().GetValue() != c.agent.ID() {
							t.Fatalf("task %v", tk)
						}
					}
					web := ts[0]
					if web.GetTaskId().GetValue() != "web-1" {
						web = ts[1]
					}
					n := len(web.GetStatuses())
					if n == 0 || web.GetStatuses()[n-1].GetContainerStatus().GetNetworkInfos()[0].GetIpAddresses()[0].GetIpAddress() != "10.1.2.3" {
						t.Fatalf("web-1 statuses %v", web.GetStatuses())
					}
					if web.GetDiscovery().GetName() != "web" || len(web.GetLabels().GetLabels()) != 1 {
						t.Fatalf("web-1 %v", web)
					}
				}},
				{masterpb.Call_GET_ROLES, func(t *testing.T, r *masterpb.Response) {
					roles := r.GetGetRoles().GetRoles()
					if len(roles) != 1 || roles[0].GetName() != "*" || roles[0].GetWeight() != 1 || len(roles[0].GetFrameworks()) != 1 ||
						opResourceSum(roles[0].GetResources(), "cpus") < 1 {
						t.Fatalf("roles %v", roles)
					}
				}},
				{masterpb.Call_GET_WEIGHTS, func(t *testing.T, r *masterpb.Response) {
					// Only weights that were set are listed, as in Mesos.
					if w := r.GetGetWeights().GetWeightInfos(); len(w) != 0 {
						t.Fatalf("weights %v", w)
					}
				}},
			}
			for _, tc := range checks {
				t.Run(tc.call.String(), func(t *testing.T) { tc.check(t, opQuery(t, c.addr, cd, opCall(tc.call))) })
			}
		})
	}
}

// TestOperatorJSONShapes checks the JSON the way clients with strict typed decoders read it.
func TestOperatorJSONShapes(t *testing.T) {
	c := startOpCluster(t, nil)
	c.runTask(t, func(o *mesospb.Offer) *mesospb.TaskInfo { return opRichTask("web-1", o) })

	code, hdr, body := opDo(t, c.addr, codec.JSON, "", opCall(masterpb.Call_GET_HEALTH))
	if code != 200 || string(body) != `{"type":"GET_HEALTH","get_health":{"healthy":true}}` || hdr.Get("Content-Type") != "application/json" {
		t.Fatalf("GET_HEALTH: %d %q %s", code, hdr.Get("Content-Type"), body)
	}
	// A JSON body may ask for a protobuf answer, and the reverse.
	code, hdr, body = opDo(t, c.addr, codec.JSON, codec.ContentTypeProtobuf, opCall(masterpb.Call_GET_HEALTH))
	resp := &masterpb.Response{}
	if code != 200 || hdr.Get("Content-Type") != codec.ContentTypeProtobuf || proto.Unmarshal(body, resp) != nil || !resp.GetGetHealth().GetHealthy() {
		t.Fatalf("JSON call, protobuf answer: %d %q", code, hdr.Get("Content-Type"))
	}
	code, hdr, body = opDo(t, c.addr, codec.Protobuf, "", opCall(masterpb.Call_GET_HEALTH))
	if code != 200 || hdr.Get("Content-Type") != "application/json" || !strings.Contains(string(body), `"healthy":true`) {
		t.Fatalf("protobuf call without Accept: %d %q %s", code, hdr.Get("Content-Type"), body)
	}

	type rangeJSON struct {
		Begin uint64 `json:"begin"`
		End   uint64 `json:"end"`
	}
	type resourceJSON struct {
		Name   string `json:"name"`
		Type   string `json:"type"`
		Role   string `json:"role"`
		Scalar *struct {
			Value float64 `json:"value"`
		} `json:"scalar"`
		Ranges *struct {
			Range []rangeJSON `json:"range"`
		} `json:"ranges"`
	}
	var state struct {
		Type     string `json:"type"`
		GetState struct {
			GetAgents struct {
				Agents []struct {
					AgentInfo struct {
						ID struct {
							Value string `json:"value"`
						} `json:"id"`
						Port int32 `json:"port"`
					} `json:"agent_info"`
					Active         bool   `json:"active"`
					Pid            string `json:"pid"`
					RegisteredTime struct {
						Nanoseconds int64 `json:"nanoseconds"`
					} `json:"registered_time"`
					TotalResources []resourceJSON `json:"total_resources"`
				} `json:"agents"`
			} `json:"get_agents"`
			GetTasks struct {
				Tasks []struct {
					TaskID struct {
						Value string `json:"value"`
					} `json:"task_id"`
					State     string         `json:"state"`
					Resources []resourceJSON `json:"resources"`
					Statuses  []struct {
						State     string  `json:"state"`
						Timestamp float64 `json:"timestamp"`
						UUID      []byte  `json:"uuid"`
					} `json:"statuses"`
				} `json:"tasks"`
			} `json:"get_tasks"`
		} `json:"get_state"`
	}
	code, _, body = opDo(t, c.addr, codec.JSON, "application/json", opCall(masterpb.Call_GET_STATE))
	if code != 200 {
		t.Fatalf("GET_STATE: %d %s", code, body)
	}
	if err := json.Unmarshal(body, &state); err != nil {
		t.Fatalf("GET_STATE does not decode with encoding/json: %v\n%s", err, body)
	}
	agents := state.GetState.GetAgents.Agents
	if state.Type != "GET_STATE" || len(agents) != 1 || agents[0].RegisteredTime.Nanoseconds <= 0 || agents[0].AgentInfo.Port != 5051 {
		t.Fatalf("state %+v", state)
	}
	var ports []rangeJSON
	for _, r := range agents[0].TotalResources {
		if r.Name == "ports" {
			if r.Type != "RANGES" || r.Role != "*" || r.Ranges == nil {
				t.Fatalf("ports resource %+v", r)
			}
			ports = r.Ranges.Range
		}
	}
	if len(ports) != 1 || ports[0] != (rangeJSON{31000, 31010}) {
		t.Fatalf("agent ports %+v", ports)
	}
	tasks := state.GetState.GetTasks.Tasks
	if len(tasks) != 1 || tasks[0].State != "TASK_RUNNING" || len(tasks[0].Statuses) == 0 || len(tasks[0].Statuses[0].UUID) != 16 {
		t.Fatalf("tasks %+v", tasks)
	}
}

// TestOperatorTransportErrors checks the status codes of /api/v1 and that no call type, supported
// or not, makes the master fail.
func TestOperatorTransportErrors(t *testing.T) {
	_, addr := startMaster(t, nil)
	url := "http://" + addr + "/api/v1"
	health := `{"type":"GET_HEALTH"}`
	cases := []struct {
		name, method, ctype, accept, body string
		want                              int
		contains                          string
	}{
		{"GET", http.MethodGet, "application/json", "", health, 405, "POST"},
		{"PUT", http.MethodPut, "application/json", "", health, 405, "POST"},
		{"no content type", http.MethodPost, "", "", health, 400, "Content-Type"},
		{"text content type", http.MethodPost, "text/plain", "", health, 415, "application/json"},
		{"bad json", http.MethodPost, "application/json", "", "{", 400, "master::Call"},
		{"no type", http.MethodPost, "application/json", "", "{}", 400, "type"},
		{"unknown type name", http.MethodPost, "application/json", "", `{"type":"NOPE"}`, 400, ""},
		{"bad protobuf", http.MethodPost, "application/x-protobuf", "", "\xff\xff\xff", 400, ""},
		{"not acceptable", http.MethodPost, "application/json", "text/html", health, 406, "Accept"},
		{"teardown without body", http.MethodPost, "application/json", "", `{"type":"TEARDOWN"}`, 400, "teardown"},
		{"teardown of unknown framework", http.MethodPost, "application/json", "",
			`{"type":"TEARDOWN","teardown":{"framework_id":{"value":"nope"}}}`, 400, "No framework"},
		{"mark gone without body", http.MethodPost, "application/json", "", `{"type":"MARK_AGENT_GONE"}`, 400, "mark_agent_gone"},
		{"mark unknown agent gone", http.MethodPost, "application/json", "",
			`{"type":"MARK_AGENT_GONE","mark_agent_gone":{"agent_id":{"value":"nope"}}}`, 404, "not known"},
		{"update weights without body", http.MethodPost, "application/json", "", `{"type":"UPDATE_WEIGHTS"}`, 400, "update_weights"},
		{"zero weight", http.MethodPost, "application/json", "",
			`{"type":"UPDATE_WEIGHTS","update_weights":{"weight_infos":[{"role":"a","weight":0}]}}`, 400, "weight"},
		{"bad role", http.MethodPost, "application/json", "",
			`{"type":"UPDATE_WEIGHTS","update_weights":{"weight_infos":[{"role":"a b","weight":2}]}}`, 400, "role"},
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
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.want || !strings.Contains(string(b), tc.contains) {
				t.Fatalf("status %d %q, want %d containing %q", resp.StatusCode, b, tc.want, tc.contains)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
				t.Fatalf("error answered with Content-Type %q", ct)
			}
		})
	}

	// A protobuf body without a required field is refused with the field's path, in either codec.
	partial, err := proto.MarshalOptions{AllowPartial: true}.Marshal(&masterpb.Call{
		Type:     masterpb.Call_TEARDOWN.Enum(),
		Teardown: &masterpb.Call_Teardown{},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ ctype, body string }{
		{codec.ContentTypeProtobuf, string(partial)},
		{codec.ContentTypeJSON, `{"type":"TEARDOWN","teardown":{}}`},
	} {
		code, _, body := post(t, url, tc.ctype, "", tc.body)
		if code != 400 || !strings.Contains(body, "teardown.framework_id") {
			t.Errorf("%s call without a required field: %d %q, want 400 naming teardown.framework_id", tc.ctype, code, body)
		}
	}

	// Every call type Strata does not implement answers 501 with its name, in both codecs; none
	// may fail the master or answer 200.
	implemented := map[masterpb.Call_Type]bool{}
	for _, c := range []masterpb.Call_Type{masterpb.Call_GET_HEALTH, masterpb.Call_GET_FLAGS, masterpb.Call_GET_VERSION,
		masterpb.Call_GET_METRICS, masterpb.Call_GET_STATE, masterpb.Call_GET_AGENTS, masterpb.Call_GET_FRAMEWORKS,
		masterpb.Call_GET_EXECUTORS, masterpb.Call_GET_TASKS, masterpb.Call_GET_ROLES, masterpb.Call_GET_WEIGHTS,
		masterpb.Call_UPDATE_WEIGHTS, masterpb.Call_GET_MASTER, masterpb.Call_SUBSCRIBE, masterpb.Call_TEARDOWN,
		masterpb.Call_MARK_AGENT_GONE, masterpb.Call_UNKNOWN} {
		implemented[c] = true
	}
	for n := range masterpb.Call_Type_name {
		typ := masterpb.Call_Type(n)
		if implemented[typ] {
			continue
		}
		for _, cd := range []codec.Codec{codec.JSON, codec.Protobuf} {
			code, hdr, body := opDo(t, addr, cd, cd.ContentType(), opCall(typ))
			if code != http.StatusNotImplemented || !strings.Contains(string(body), typ.String()) || !strings.HasPrefix(hdr.Get("Content-Type"), "text/plain") {
				t.Errorf("%s in %s: %d %q %q, want 501 naming the call", typ, cd, code, hdr.Get("Content-Type"), body)
			}
		}
	}
	// The master is still fine.
	if code, _, body := opDo(t, addr, codec.JSON, "", opCall(masterpb.Call_GET_HEALTH)); code != 200 {
		t.Fatalf("GET_HEALTH after errors: %d %s", code, body)
	}
}

// opFakeLeader is a Leadership for a master that does not lead.
type opFakeLeader struct {
	leader string
	known  bool
}

func (f opFakeLeader) Leader() (string, bool) { return f.leader, f.known }
func (f opFakeLeader) IsLeader() bool         { return false }

var opNoRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// TestNonLeadingMaster checks 307 to the leader, 503 without one, and what a non-leader still
// answers itself.
func TestNonLeadingMaster(t *testing.T) {
	_, addr, _ := runOpMaster(t, Config{}, opFakeLeader{leader: "leader.example:5050", known: true})
	do := func(method, path, body string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(method, "http://"+addr+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := opNoRedirects.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	for _, tc := range []struct{ method, path, body, location string }{
		{http.MethodPost, "/api/v1", `{"type":"GET_HEALTH"}`, "//leader.example:5050/api/v1"},
		{http.MethodPost, "/api/v1/scheduler", `{"type":"SUBSCRIBE"}`, "//leader.example:5050/api/v1/scheduler"},
		{http.MethodGet, "/master/state?jsonp=x", "", "//leader.example:5050/master/state?jsonp=x"},
		{http.MethodGet, "/master/state-summary", "", "//leader.example:5050/master/state-summary"},
		{http.MethodGet, "/master/redirect", "", "//leader.example:5050"},
	} {
		resp := do(tc.method, tc.path, tc.body)
		if resp.StatusCode != http.StatusTemporaryRedirect || resp.Header.Get("Location") != tc.location {
			t.Errorf("%s %s: %d Location %q, want 307 %q", tc.method, tc.path, resp.StatusCode, resp.Header.Get("Location"), tc.location)
		}
	}
	if resp := do(http.MethodGet, "/health", ""); resp.StatusCode != 200 {
		t.Errorf("/health on a non-leader: %d", resp.StatusCode)
	}
	_, _, body := get(t, "http://"+addr+"/metrics/snapshot")
	var snap map[string]float64
	if err := json.Unmarshal([]byte(body), &snap); err != nil || snap["master/elected"] != 0 {
		t.Errorf("non-leader snapshot: %v %v", err, snap["master/elected"])
	}

	_, addr2, _ := runOpMaster(t, Config{}, opFakeLeader{})
	addr = addr2
	for _, p := range []struct{ method, path, body string }{
		{http.MethodPost, "/api/v1", `{"type":"GET_HEALTH"}`},
		{http.MethodGet, "/master/state", ""},
		{http.MethodGet, "/master/redirect", ""},
	} {
		if resp := do(p.method, p.path, p.body); resp.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("%s %s without a leader: %d, want 503", p.method, p.path, resp.StatusCode)
		}
	}
}

func opWeightsCall(w map[string]float64) *masterpb.Call {
	u := &masterpb.Call_UpdateWeights{}
	for r, v := range w {
		u.WeightInfos = append(u.WeightInfos, &mesospb.WeightInfo{Role: proto.String(r), Weight: proto.Float64(v)})
	}
	return &masterpb.Call{Type: masterpb.Call_UPDATE_WEIGHTS.Enum(), UpdateWeights: u}
}

func opWeightsOf(t *testing.T, addr string, cd codec.Codec) (weights, roles map[string]float64) {
	t.Helper()
	weights, roles = map[string]float64{}, map[string]float64{}
	for _, wi := range opQuery(t, addr, cd, opCall(masterpb.Call_GET_WEIGHTS)).GetGetWeights().GetWeightInfos() {
		weights[wi.GetRole()] = wi.GetWeight()
	}
	for _, r := range opQuery(t, addr, cd, opCall(masterpb.Call_GET_ROLES)).GetGetRoles().GetRoles() {
		roles[r.GetName()] = r.GetWeight()
	}
	return weights, roles
}

// TestOperatorUpdateWeightsPersisted checks that UPDATE_WEIGHTS shows in GET_WEIGHTS, GET_ROLES and
// /master/roles, and survives master restarts on the same work dir.
func TestOperatorUpdateWeightsPersisted(t *testing.T) {
	dir := t.TempDir()
	_, addr, stop := runOpMaster(t, Config{WorkDir: dir}, nil)
	opChange(t, addr, codec.JSON, opWeightsCall(map[string]float64{"analytics": 2.5, "batch": 0.5}))
	want := map[string]float64{"analytics": 2.5, "batch": 0.5}
	check := func(addr string, cd codec.Codec, want map[string]float64) {
		t.Helper()
		weights, roles := opWeightsOf(t, addr, cd)
		if len(weights) != len(want) || len(roles) != len(want) {
			t.Fatalf("weights %v roles %v, want %v", weights, roles, want)
		}
		for r, w := range want {
			if weights[r] != w || roles[r] != w {
				t.Fatalf("weights %v roles %v, want %v", weights, roles, want)
			}
		}
	}
	check(addr, codec.JSON, want)
	_, _, body := get(t, "http://"+addr+"/master/roles")
	var legacy struct {
		Roles []struct {
			Name   string  `json:"name"`
			Weight float64 `json:"weight"`
		} `json:"roles"`
	}
	if err := json.Unmarshal([]byte(body), &legacy); err != nil || len(legacy.Roles) != 2 || legacy.Roles[0].Name != "analytics" || legacy.Roles[0].Weight != 2.5 {
		t.Fatalf("/master/roles: %v %s", err, body)
	}
	var legacyWeights []struct {
		Role   string  `json:"role"`
		Weight float64 `json:"weight"`
	}
	code, _, body := get(t, "http://"+addr+"/weights")
	if err := json.Unmarshal([]byte(body), &legacyWeights); code != 200 || err != nil || len(legacyWeights) != 2 || legacyWeights[1].Role != "batch" || legacyWeights[1].Weight != 0.5 {
		t.Fatalf("/weights: %d %v %s", code, err, body)
	}
	stop()

	_, addr, stop = runOpMaster(t, Config{WorkDir: dir}, nil)
	check(addr, codec.Protobuf, want)
	// Weight 1 is the default: setting it forgets the role.
	opChange(t, addr, codec.Protobuf, opWeightsCall(map[string]float64{"batch": 1}))
	check(addr, codec.JSON, map[string]float64{"analytics": 2.5})
	stop()

	_, addr, _ = runOpMaster(t, Config{WorkDir: dir}, nil)
	check(addr, codec.JSON, map[string]float64{"analytics": 2.5})

	// The legacy PUT /master/weights takes a JSON array.
	req, _ := http.NewRequest(http.MethodPut, "http://"+addr+"/master/weights", strings.NewReader(`[{"role":" ops ","weight":3}]`))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("PUT /master/weights: %d", resp.StatusCode)
	}
	check(addr, codec.JSON, map[string]float64{"analytics": 2.5, "ops": 3})
	for _, bad := range []string{`{`, `[{"role":"x","weight":-1}]`, `[{"role":"","weight":2}]`} {
		req, _ := http.NewRequest(http.MethodPut, "http://"+addr+"/weights", strings.NewReader(bad))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 400 {
			t.Errorf("PUT /weights %s: %d, want 400", bad, resp.StatusCode)
		}
	}
}

func opTeardownCall(fwID string) *masterpb.Call {
	return &masterpb.Call{
		Type:     masterpb.Call_TEARDOWN.Enum(),
		Teardown: &masterpb.Call_Teardown{FrameworkId: &mesospb.FrameworkID{Value: proto.String(fwID)}},
	}
}

// TestOperatorTeardown removes a framework with TEARDOWN in both codecs and with the legacy
// /master/teardown endpoint.
func TestOperatorTeardown(t *testing.T) {
	for _, via := range []string{"json", "protobuf", "endpoint"} {
		t.Run(via, func(t *testing.T) {
			c := startOpCluster(t, nil)
			c.runTask(t, func(o *mesospb.Offer) *mesospb.TaskInfo { return commandTask("t1", o, scalar("cpus", 1)) })
			switch via {
			case "json":
				opChange(t, c.addr, codec.JSON, opTeardownCall(c.sched.fwID))
			case "protobuf":
				opChange(t, c.addr, codec.Protobuf, opTeardownCall(c.sched.fwID))
			case "endpoint":
				code, _, body := post(t, "http://"+c.addr+"/master/teardown", "application/x-www-form-urlencoded", "", "frameworkId="+c.sched.fwID)
				if code != 200 {
					t.Fatalf("/master/teardown: %d %s", code, body)
				}
				code, _, _ = post(t, "http://"+c.addr+"/master/teardown", "application/x-www-form-urlencoded", "", "frameworkId="+c.sched.fwID)
				if code != 400 {
					t.Fatalf("/master/teardown of a removed framework: %d", code)
				}
				if code, _, _ := post(t, "http://"+c.addr+"/teardown", "application/x-www-form-urlencoded", "", ""); code != 400 {
					t.Fatalf("/teardown without frameworkId: %d", code)
				}
				if code, _, _ := get(t, "http://"+c.addr+"/master/teardown"); code != 405 {
					t.Fatalf("GET /master/teardown: %d", code)
				}
			}
			up := c.waitUpdate(t, "t1")
			if up.GetState() != mesospb.TaskState_TASK_KILLED || up.GetReason() != mesospb.TaskStatus_REASON_FRAMEWORK_REMOVED {
				t.Fatalf("after teardown: %v", up)
			}
			fws := opQuery(t, c.addr, codec.JSON, opCall(masterpb.Call_GET_FRAMEWORKS)).GetGetFrameworks()
			if len(fws.GetFrameworks()) != 0 || len(fws.GetCompletedFrameworks()) != 1 ||
				fws.GetCompletedFrameworks()[0].GetFrameworkInfo().GetId().GetValue() != c.sched.fwID {
				t.Fatalf("frameworks after teardown: %v", fws)
			}
			tasks := opQuery(t, c.addr, codec.JSON, opCall(masterpb.Call_GET_TASKS)).GetGetTasks()
			if len(tasks.GetTasks()) != 0 || len(tasks.GetCompletedTasks()) != 1 {
				t.Fatalf("tasks after teardown: %v", tasks)
			}
			// A second teardown finds nothing.
			if code, _, _ := opDo(t, c.addr, codec.JSON, "", opTeardownCall(c.sched.fwID)); code != 400 {
				t.Fatalf("second TEARDOWN: %d", code)
			}
		})
	}
}

// TestOperatorMarkAgentGone checks MARK_AGENT_GONE: the agent disappears, its tasks become
// GONE_BY_OPERATOR, and marking it again is a no-op.
func TestOperatorMarkAgentGone(t *testing.T) {
	for _, cd := range []codec.Codec{codec.JSON, codec.Protobuf} {
		t.Run(cd.Name(), func(t *testing.T) {
			c := startOpCluster(t, nil)
			c.runTask(t, func(o *mesospb.Offer) *mesospb.TaskInfo { return commandTask("t1", o, scalar("cpus", 1)) })
			call := &masterpb.Call{
				Type:          masterpb.Call_MARK_AGENT_GONE.Enum(),
				MarkAgentGone: &masterpb.Call_MarkAgentGone{AgentId: &mesospb.AgentID{Value: proto.String(c.agent.ID())}},
			}
			opChange(t, c.addr, cd, call)
			up := c.waitUpdate(t, "t1")
			if up.GetState() != mesospb.TaskState_TASK_GONE_BY_OPERATOR || up.GetReason() != mesospb.TaskStatus_REASON_AGENT_REMOVED_BY_OPERATOR {
				t.Fatalf("after MARK_AGENT_GONE: %v", up)
			}
			st := opQuery(t, c.addr, cd, opCall(masterpb.Call_GET_STATE)).GetGetState()
			if len(st.GetGetAgents().GetAgents()) != 0 || len(st.GetGetTasks().GetTasks()) != 0 || len(st.GetGetTasks().GetCompletedTasks()) != 1 ||
				st.GetGetTasks().GetCompletedTasks()[0].GetState() != mesospb.TaskState_TASK_GONE_BY_OPERATOR {
				t.Fatalf("state after MARK_AGENT_GONE: %v", st)
			}
			opChange(t, c.addr, cd, call)
		})
	}
}
