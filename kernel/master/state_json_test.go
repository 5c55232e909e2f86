package master

import (
	"encoding/json"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	"google.golang.org/protobuf/proto"

	"strata/kernel/allocator"
	"strata/kernel/mesos/mesospb"
	"strata/kernel/mesos/schedulerpb"
	"strata/kernel/version"
)

// dnsState is /master/state as Mesos-DNS decodes it: typed fields only, with encoding/json.
type dnsState struct {
	Leader string `json:"leader"`
	Slaves []struct {
		ID       string `json:"id"`
		Hostname string `json:"hostname"`
		PID      string `json:"pid"`
	} `json:"slaves"`
	Frameworks []struct {
		Name     string    `json:"name"`
		Hostname string    `json:"hostname"`
		PID      *string   `json:"pid"`
		Tasks    []dnsTask `json:"tasks"`
	} `json:"frameworks"`
}

type dnsLabel struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

type dnsTask struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	FrameworkID string `json:"framework_id"`
	SlaveID     string `json:"slave_id"`
	State       string `json:"state"`
	Resources   struct {
		Ports string `json:"ports"`
	} `json:"resources"`
	Statuses []struct {
		Timestamp       float64    `json:"timestamp"`
		State           string     `json:"state"`
		Labels          []dnsLabel `json:"labels"`
		ContainerStatus struct {
			NetworkInfos []struct {
				IPAddresses []struct {
					IPAddress string `json:"ip_address"`
				} `json:"ip_addresses"`
				Name string `json:"name"`
			} `json:"network_infos"`
		} `json:"container_status"`
	} `json:"statuses"`
	Discovery struct {
		Visibility string `json:"visibility"`
		Name       string `json:"name"`
		Labels     struct {
			Labels []dnsLabel `json:"labels"`
		} `json:"labels"`
		Ports struct {
			Ports []struct {
				Number   int    `json:"number"`
				Name     string `json:"name"`
				Protocol string `json:"protocol"`
			} `json:"ports"`
		} `json:"ports"`
	} `json:"discovery"`
}

// TestStateForMesosDNS reads /master/state (and its aliases) the way Mesos-DNS does.
func TestStateForMesosDNS(t *testing.T) {
	c := startOpCluster(t, nil)
	c.runTask(t, func(o *mesospb.Offer) *mesospb.TaskInfo { return opRichTask("web-1", o) })
	_, port, _ := net.SplitHostPort(c.addr)

	for _, path := range []string{"/master/state", "/state", "/state.json", "/master/state.json"} {
		t.Run(strings.TrimPrefix(path, "/"), func(t *testing.T) {
			code, hdr, body := get(t, "http://"+c.addr+path)
			if code != 200 || hdr.Get("Content-Type") != "application/json" {
				t.Fatalf("%s: %d %q", path, code, hdr.Get("Content-Type"))
			}
			var st dnsState
			if err := json.Unmarshal([]byte(body), &st); err != nil {
				t.Fatalf("Mesos-DNS cannot decode %s: %v", path, err)
			}
			if st.Leader != "master@127.0.0.1:"+port {
				t.Fatalf("leader %q", st.Leader)
			}
			if len(st.Slaves) != 1 || st.Slaves[0].PID != "slave(1)@127.0.0.1:5051" || st.Slaves[0].ID != c.agent.ID() || st.Slaves[0].Hostname != "host-a" {
				t.Fatalf("slaves %+v", st.Slaves)
			}
			if len(st.Frameworks) != 1 || st.Frameworks[0].PID != nil || st.Frameworks[0].Name != "fixture" {
				t.Fatalf("frameworks %+v (an HTTP framework has no pid)", st.Frameworks)
			}
			if len(st.Frameworks[0].Tasks) != 1 {
				t.Fatalf("tasks %+v", st.Frameworks[0].Tasks)
			}
			tk := st.Frameworks[0].Tasks[0]
			if tk.ID != "web-1" || tk.Name != "web-1" || tk.State != "TASK_RUNNING" || tk.SlaveID != c.agent.ID() || tk.FrameworkID != c.sched.fwID {
				t.Fatalf("task %+v", tk)
			}
			if tk.Resources.Ports != "[31000-31001, 31005-31005]" {
				t.Fatalf("resources.ports %q", tk.Resources.Ports)
			}
			var ip string
			for _, s := range tk.Statuses {
				if s.State == "TASK_RUNNING" && s.Timestamp > 0 && len(s.ContainerStatus.NetworkInfos) > 0 &&
					len(s.ContainerStatus.NetworkInfos[0].IPAddresses) > 0 {
					ip = s.ContainerStatus.NetworkInfos[0].IPAddresses[0].IPAddress
				}
			}
			if ip != "10.1.2.3" {
				t.Fatalf("no container IP in the RUNNING status: %+v", tk.Statuses)
			}
			d := tk.Discovery
			if d.Visibility != "EXTERNAL" || d.Name != "web" || len(d.Ports.Ports) != 1 || d.Ports.Ports[0].Number != 31000 ||
				d.Ports.Ports[0].Protocol != "tcp" || len(d.Labels.Labels) != 1 || d.Labels.Labels[0] != (dnsLabel{"tier", "front"}) {
				t.Fatalf("discovery %+v", d)
			}

			// The generic shape: resource maps always carry cpus, gpus, mem and disk; task labels are
			// a flat list; 64-bit numbers are numbers.
			var raw struct {
				LeaderInfo struct {
					Port uint32 `json:"port"`
				} `json:"leader_info"`
				StartTime  float64 `json:"start_time"`
				Frameworks []struct {
					Tasks []struct {
						Resources map[string]any `json:"resources"`
						Labels    []dnsLabel     `json:"labels"`
						Role      string         `json:"role"`
					} `json:"tasks"`
				} `json:"frameworks"`
				Slaves []struct {
					Port           int            `json:"port"`
					RegisteredTime float64        `json:"registered_time"`
					Resources      map[string]any `json:"resources"`
				} `json:"slaves"`
			}
			if err := json.Unmarshal([]byte(body), &raw); err != nil {
				t.Fatal(err)
			}
			res := raw.Frameworks[0].Tasks[0].Resources
			for _, k := range []string{"cpus", "gpus", "mem", "disk"} {
				if _, ok := res[k].(float64); !ok {
					t.Fatalf("task resources %v lack a number for %s", res, k)
				}
			}
			if res["cpus"] != 0.5 || res["mem"] != 64.0 || res["gpus"] != 0.0 {
				t.Fatalf("task resources %v", res)
			}
			if l := raw.Frameworks[0].Tasks[0].Labels; len(l) != 1 || l[0] != (dnsLabel{"team", "core"}) || raw.Frameworks[0].Tasks[0].Role != "*" {
				t.Fatalf("task labels %v role %q", l, raw.Frameworks[0].Tasks[0].Role)
			}
			if s := raw.Slaves[0]; s.Port != 5051 || s.RegisteredTime <= 0 || s.Resources["ports"] != "[31000-31010]" || s.Resources["cpus"] != 4.0 {
				t.Fatalf("slave %+v", s)
			}
			if strconv.Itoa(int(raw.LeaderInfo.Port)) != port || raw.StartTime <= 0 {
				t.Fatalf("leader_info %+v start_time %v", raw.LeaderInfo, raw.StartTime)
			}
		})
	}
}

// TestTaskJSONLikeMesos checks the parts of a task's JSON that Mesos writes in its own way: status
// and network labels as flat lists, which Mesos-DNS decodes into slices.
func TestTaskJSONLikeMesos(t *testing.T) {
	m, err := New(Config{WorkDir: t.TempDir()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	label := func(k, v string) *mesospb.Label { return &mesospb.Label{Key: proto.String(k), Value: proto.String(v)} }
	tk := &task{
		t: &mesospb.Task{
			Name:        proto.String("docker-web"),
			TaskId:      &mesospb.TaskID{Value: proto.String("docker-web")},
			FrameworkId: &mesospb.FrameworkID{Value: proto.String("fw")},
			AgentId:     &mesospb.AgentID{Value: proto.String("ag")},
			State:       mesospb.TaskState_TASK_RUNNING.Enum(),
			Statuses: []*mesospb.TaskStatus{{
				TaskId:    &mesospb.TaskID{Value: proto.String("docker-web")},
				State:     mesospb.TaskState_TASK_RUNNING.Enum(),
				Timestamp: proto.Float64(1700000000.5),
				Healthy:   proto.Bool(true),
				Labels:    &mesospb.Labels{Labels: []*mesospb.Label{label("Docker.NetworkSettings.IPAddress", "172.17.0.2")}},
				ContainerStatus: &mesospb.ContainerStatus{
					ContainerId: &mesospb.ContainerID{Value: proto.String("c1")},
					NetworkInfos: []*mesospb.NetworkInfo{{
						Name:        proto.String("overlay"),
						IpAddresses: []*mesospb.NetworkInfo_IPAddress{{IpAddress: proto.String("9.0.0.1")}},
						Labels:      &mesospb.Labels{Labels: []*mesospb.Label{label("net", "a")}},
					}},
				},
			}},
		},
		role: "*",
	}
	tk.res.AddScalar(allocator.Unreserved, "cpus", 1)
	m.mu.Lock()
	b, err := json.Marshal(m.taskJSON(tk))
	m.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Resources map[string]float64 `json:"resources"`
		Statuses  []struct {
			State           string     `json:"state"`
			Timestamp       float64    `json:"timestamp"`
			Healthy         bool       `json:"healthy"`
			Labels          []dnsLabel `json:"labels"`
			ContainerStatus struct {
				ContainerID struct {
					Value string `json:"value"`
				} `json:"container_id"`
				NetworkInfos []struct {
					Name        string     `json:"name"`
					Labels      []dnsLabel `json:"labels"`
					IPAddresses []struct {
						IPAddress string `json:"ip_address"`
					} `json:"ip_addresses"`
				} `json:"network_infos"`
			} `json:"container_status"`
		} `json:"statuses"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	st := got.Statuses[0]
	ni := st.ContainerStatus.NetworkInfos[0]
	if st.State != "TASK_RUNNING" || st.Timestamp != 1700000000.5 || !st.Healthy || len(st.Labels) != 1 || st.Labels[0].Value != "172.17.0.2" ||
		st.ContainerStatus.ContainerID.Value != "c1" || ni.Name != "overlay" || len(ni.Labels) != 1 || ni.IPAddresses[0].IPAddress != "9.0.0.1" {
		t.Fatalf("status %+v\n%s", st, b)
	}
	if len(got.Resources) != 4 || got.Resources["cpus"] != 1 {
		t.Fatalf("resources %v", got.Resources)
	}
}

// TestStateSummary checks per-state counts and the framework/agent links.
func TestStateSummary(t *testing.T) {
	c := startOpCluster(t, func(cfg *Config) { cfg.Cluster = "test-cluster" })
	c.runTask(t, func(o *mesospb.Offer) *mesospb.TaskInfo { return commandTask("runs", o, scalar("cpus", 1)) })
	killed := c.runTask(t, func(o *mesospb.Offer) *mesospb.TaskInfo { return commandTask("killed", o, scalar("cpus", 1)) })
	c.sched.mustCall(&schedulerpb.Call{Type: schedulerpb.Call_KILL.Enum(), Kill: &schedulerpb.Call_Kill{TaskId: killed.TaskId, AgentId: killed.AgentId}})
	up := c.waitUpdate(t, "killed")
	if up.GetState() != mesospb.TaskState_TASK_KILLED {
		t.Fatalf("kill: %v", up)
	}
	c.ack(t, up)

	type counts struct {
		Staging     int `json:"TASK_STAGING"`
		Starting    int `json:"TASK_STARTING"`
		Running     int `json:"TASK_RUNNING"`
		Killing     int `json:"TASK_KILLING"`
		Finished    int `json:"TASK_FINISHED"`
		Killed      int `json:"TASK_KILLED"`
		Failed      int `json:"TASK_FAILED"`
		Lost        int `json:"TASK_LOST"`
		Error       int `json:"TASK_ERROR"`
		Unreachable int `json:"TASK_UNREACHABLE"`
	}
	var sum struct {
		Hostname string `json:"hostname"`
		Cluster  string `json:"cluster"`
		Slaves   []struct {
			counts
			ID           string   `json:"id"`
			PID          string   `json:"pid"`
			FrameworkIDs []string `json:"framework_ids"`
		} `json:"slaves"`
		Frameworks []struct {
			counts
			ID       string   `json:"id"`
			Name     string   `json:"name"`
			SlaveIDs []string `json:"slave_ids"`
		} `json:"frameworks"`
	}
	// The kill is acknowledged asynchronously: wait until the task has moved to completed.
	want := counts{Running: 1, Killed: 1}
	deadline := time.Now().Add(5 * time.Second)
	for {
		code, hdr, body := get(t, "http://"+c.addr+"/master/state-summary")
		if code != 200 || hdr.Get("Content-Type") != "application/json" {
			t.Fatalf("state-summary: %d %q", code, hdr.Get("Content-Type"))
		}
		// Every count is present, as a number.
		for _, k := range []string{"TASK_STAGING", "TASK_ERROR", "TASK_UNREACHABLE"} {
			if !strings.Contains(body, `"`+k+`":0`) {
				t.Fatalf("state-summary lacks %s: %s", k, body)
			}
		}
		if err := json.Unmarshal([]byte(body), &sum); err != nil {
			t.Fatal(err)
		}
		if len(sum.Slaves) == 1 && len(sum.Frameworks) == 1 && sum.Slaves[0].counts == want && sum.Frameworks[0].counts == want {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("state-summary counts: %s", body)
		}
		time.Sleep(20 * time.Millisecond)
	}
	s, f := sum.Slaves[0], sum.Frameworks[0]
	if sum.Hostname != "127.0.0.1" || sum.Cluster != "test-cluster" || s.ID != c.agent.ID() || s.PID != "slave(1)@127.0.0.1:5051" ||
		len(s.FrameworkIDs) != 1 || s.FrameworkIDs[0] != c.sched.fwID || f.ID != c.sched.fwID || f.Name != "fixture" ||
		len(f.SlaveIDs) != 1 || f.SlaveIDs[0] != c.agent.ID() {
		t.Fatalf("summary %+v", sum)
	}
}

// TestLegacyListEndpoints covers /master/frameworks, /master/slaves and /master/tasks with its
// paging, ordering and filters.
func TestLegacyListEndpoints(t *testing.T) {
	c := startOpCluster(t, nil)
	for _, id := range []string{"t1", "t2", "t3"} {
		c.runTask(t, func(o *mesospb.Offer) *mesospb.TaskInfo { return commandTask(id, o, scalar("cpus", 0.5)) })
		time.Sleep(2 * time.Millisecond) // distinct status timestamps
	}

	var fws struct {
		Frameworks []struct {
			ID    string `json:"id"`
			Tasks []struct {
				ID string `json:"id"`
			} `json:"tasks"`
			UsedResources map[string]any `json:"used_resources"`
		} `json:"frameworks"`
		CompletedFrameworks []json.RawMessage `json:"completed_frameworks"`
	}
	for _, p := range []string{"/master/frameworks", "/frameworks"} {
		code, _, body := get(t, "http://"+c.addr+p)
		if err := json.Unmarshal([]byte(body), &fws); code != 200 || err != nil || len(fws.Frameworks) != 1 || len(fws.Frameworks[0].Tasks) != 3 ||
			fws.Frameworks[0].UsedResources["cpus"] != 1.5 || fws.CompletedFrameworks == nil {
			t.Fatalf("%s: %d %v %s", p, code, err, body)
		}
	}
	var slaves struct {
		Slaves []struct {
			ID            string         `json:"id"`
			PID           string         `json:"pid"`
			UsedResources map[string]any `json:"used_resources"`
			Active        bool           `json:"active"`
		} `json:"slaves"`
	}
	for _, p := range []string{"/master/slaves", "/slaves"} {
		code, _, body := get(t, "http://"+c.addr+p)
		if err := json.Unmarshal([]byte(body), &slaves); code != 200 || err != nil || len(slaves.Slaves) != 1 ||
			slaves.Slaves[0].PID != "slave(1)@127.0.0.1:5051" || !slaves.Slaves[0].Active || slaves.Slaves[0].UsedResources["cpus"] != 1.5 {
			t.Fatalf("%s: %d %v %s", p, code, err, body)
		}
	}

	ids := func(query string) []string {
		t.Helper()
		code, _, body := get(t, "http://"+c.addr+"/master/tasks"+query)
		if code != 200 {
			t.Fatalf("/master/tasks%s: %d %s", query, code, body)
		}
		var out struct {
			Tasks []struct {
				ID string `json:"id"`
			} `json:"tasks"`
		}
		if err := json.Unmarshal([]byte(body), &out); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, tk := range out.Tasks {
			got = append(got, tk.ID)
		}
		return strings.Fields(strings.Join(got, " "))
	}
	for _, tc := range []struct{ query, want string }{
		{"", "t3 t2 t1"},
		{"?order=asc", "t1 t2 t3"},
		{"?limit=2", "t3 t2"},
		{"?limit=2&offset=2", "t1"},
		{"?offset=5", ""},
		{"?limit=0", ""},
		{"?order=asc&offset=1&limit=1", "t2"},
		{"?task_id=t2", "t2"},
		{"?framework_id=" + c.sched.fwID + "&order=asc", "t1 t2 t3"},
		{"?framework_id=other", ""},
	} {
		if got := strings.Join(ids(tc.query), " "); got != tc.want {
			t.Errorf("/master/tasks%s = %q, want %q", tc.query, got, tc.want)
		}
	}
	if got := strings.Join(ids("?order=asc"), " "); got != "t1 t2 t3" {
		t.Fatalf("/tasks: %q", got)
	}
	for _, q := range []string{"?limit=-1", "?limit=abc", "?limit=1.5", "?offset=-2", "?offset=x", "?order=up"} {
		if code, _, body := get(t, "http://"+c.addr+"/master/tasks"+q); code != 400 {
			t.Errorf("/master/tasks%s: %d %s, want 400", q, code, body)
		}
	}
}

// TestSmallEndpoints covers /health, /version, /master/redirect and /master/flags.
func TestSmallEndpoints(t *testing.T) {
	_, addr := startMaster(t, func(c *Config) { c.Flags = map[string]string{"quorum": "1"} })
	for _, p := range []string{"/health", "/master/health"} {
		code, _, body := get(t, "http://"+addr+p)
		if code != 200 || body != "" {
			t.Errorf("%s: %d %q, want 200 with an empty body", p, code, body)
		}
	}
	for _, p := range []string{"/version", "/master/version"} {
		code, hdr, body := get(t, "http://"+addr+p)
		var v version.Info
		if err := json.Unmarshal([]byte(body), &v); code != 200 || err != nil || v.Version != version.MesosVersion || hdr.Get("Content-Type") != "application/json" {
			t.Errorf("%s: %d %v %s", p, code, err, body)
		}
	}
	for _, p := range []string{"/master/redirect", "/redirect"} {
		resp, err := opNoRedirects.Get("http://" + addr + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusTemporaryRedirect || resp.Header.Get("Location") != "//"+addr {
			t.Errorf("%s: %d Location %q, want 307 //%s", p, resp.StatusCode, resp.Header.Get("Location"), addr)
		}
	}
	for _, p := range []string{"/master/redirect/x", "/master/redirect/a/b"} {
		if code, _, _ := get(t, "http://"+addr+p); code != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", p, code)
		}
	}
	var flags struct {
		Flags map[string]string `json:"flags"`
	}
	if code, _, body := get(t, "http://"+addr+"/master/flags"); code != 200 || json.Unmarshal([]byte(body), &flags) != nil || flags.Flags["quorum"] != "1" {
		t.Errorf("/master/flags: %d %s", code, body)
	}
	// jsonp wraps the answer for old browsers.
	if code, hdr, body := get(t, "http://"+addr+"/master/state?jsonp=cb"); code != 200 || !strings.HasPrefix(body, "cb({") || !strings.HasSuffix(body, "});") ||
		hdr.Get("Content-Type") != "text/javascript" {
		t.Errorf("jsonp: %d %q %.40s", code, hdr.Get("Content-Type"), body)
	}
}

// TestMetricsEndpoints checks /metrics/snapshot (flat numbers) and /metrics (Prometheus text that
// passes promlint).
func TestMetricsEndpoints(t *testing.T) {
	c := startOpCluster(t, nil)
	c.runTask(t, func(o *mesospb.Offer) *mesospb.TaskInfo {
		return commandTask("t1", o, scalar("cpus", 1), scalar("mem", 128))
	})
	c.runTask(t, func(o *mesospb.Offer) *mesospb.TaskInfo { return commandTask("t2", o, scalar("cpus", 1)) })

	code, hdr, body := get(t, "http://"+c.addr+"/metrics/snapshot")
	if code != 200 || hdr.Get("Content-Type") != "application/json" {
		t.Fatalf("/metrics/snapshot: %d %q", code, hdr.Get("Content-Type"))
	}
	var snap map[string]float64
	if err := json.Unmarshal([]byte(body), &snap); err != nil {
		t.Fatalf("/metrics/snapshot is not a flat object of numbers: %v", err)
	}
	want := map[string]float64{
		"master/elected": 1, "master/tasks_running": 2, "master/tasks_staging": 0, "master/tasks_finished": 0,
		"master/slaves_active": 1, "master/slaves_connected": 1, "master/slaves_inactive": 0,
		"master/frameworks_active": 1, "master/frameworks_connected": 1,
		"master/cpus_total": 4, "master/cpus_used": 2, "master/cpus_percent": 0.5, "master/mem_total": 1024, "master/mem_used": 128,
		"master/gpus_total": 0, "registrar/log/ensemble_size": 1,
	}
	for k, v := range want {
		if got, ok := snap[k]; !ok || got != v {
			t.Errorf("%s = %v (present %v), want %v", k, got, ok, v)
		}
	}
	for _, k := range []string{"master/uptime_secs", "master/outstanding_offers", "system/cpus_total", "master/disk_percent", "master/tasks_unreachable"} {
		if _, ok := snap[k]; !ok {
			t.Errorf("%s missing", k)
		}
	}
	if snap["master/uptime_secs"] <= 0 || snap["system/cpus_total"] < 1 {
		t.Errorf("uptime %v cpus %v", snap["master/uptime_secs"], snap["system/cpus_total"])
	}

	code, hdr, body = get(t, "http://"+c.addr+"/metrics")
	if code != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "text/plain") {
		t.Fatalf("/metrics: %d %q", code, hdr.Get("Content-Type"))
	}
	problems, err := promlint.New(strings.NewReader(body)).Lint()
	if err != nil {
		t.Fatalf("promlint: %v", err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
	for _, line := range []string{
		"strata_master_tasks_running 2", "strata_master_elected 1", "strata_master_agents 1", "strata_master_frameworks 1",
		"strata_master_tasks_launched_total 2", `strata_master_status_updates_total{state="TASK_RUNNING"} 2`,
		`strata_master_scheduler_calls_total{type="ACCEPT"} 2`,
	} {
		if !strings.Contains(body, "\n"+line+"\n") {
			t.Errorf("/metrics lacks %q", line)
		}
	}
	if !strings.Contains(body, `strata_master_http_request_duration_seconds_count{code="200",route="/metrics/snapshot"} 1`) {
		t.Errorf("/metrics lacks the request histogram for /metrics/snapshot")
	}
}
