package records

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseMasterStateFields(t *testing.T) {
	st := loadFixture(t, "basic")
	if st.Leader != "master@10.0.0.1:5050" || st.Hostname != "master-1.example.com" {
		t.Errorf("leader %q hostname %q", st.Leader, st.Hostname)
	}
	if len(st.Agents) != 3 || !reflect.DeepEqual(st.Agents[1], Agent{ID: "0b1c2d3e-0000-4000-8000-00000000abcd-S1", Hostname: "10.0.1.11", PID: "slave(1)@10.0.1.11:5051", Port: 5051}) {
		t.Errorf("agents: %+v", st.Agents)
	}
	if len(st.Frameworks) != 3 || st.Frameworks[0].Name != "marathon" || st.Frameworks[0].PID != "scheduler-6e1c1c2a@10.0.0.5:15101" ||
		st.Frameworks[0].WebuiURL != "http://10.0.0.5:8080" {
		t.Errorf("frameworks: %+v", st.Frameworks)
	}
	// frameworks[].tasks only: completed_tasks and completed_frameworks are ignored.
	if len(st.Tasks) != 8 {
		t.Fatalf("%d tasks", len(st.Tasks))
	}
	web := st.Tasks[0]
	want := Task{
		ID: "web.6f0a6c2e-0b0a-11ef-9a3c-0242ac110002", Name: "web", FrameworkID: "0b1c2d3e-0000-4000-8000-00000000abcd-0000",
		AgentID: "0b1c2d3e-0000-4000-8000-00000000abcd-S0", State: TaskRunning,
		Statuses: []Status{{State: TaskStarting, Timestamp: 1714000000.1}, {State: TaskRunning, Timestamp: 1714000001.5}},
		Labels:   []Label{{"HAPROXY_GROUP", "external"}},
		Ports:    []PortRange{{31000, 31001}},
	}
	if !reflect.DeepEqual(web, want) {
		t.Errorf("task:\n%+v\nwant\n%+v", web, want)
	}
}

func TestParseMasterStateDetails(t *testing.T) {
	doc := `{
	  "leader_info": {"pid": "master@10.0.0.2:5050"},
	  "frameworks": [{"name": "noid", "tasks": [{
	    "id": "t1", "name": "n", "framework_id": "ignored", "slave_id": "s", "state": "TASK_RUNNING",
	    "resources": {"ports": "[31000-31001, 31005-31005]", "cpus": 1},
	    "labels": {"labels": [{"key": "k", "value": "v"}]},
	    "statuses": [{"state": "TASK_RUNNING", "timestamp": "12.5",
	      "labels": [{"key": "Docker.NetworkSettings.IPAddress", "value": "172.17.0.2"}],
	      "container_status": {"network_infos": [{"ip_address": "10.8.0.1"},
	        {"name": "n2", "ip_addresses": [{"protocol": "IPv6", "ip_address": "fd00::1"}], "ip_address": "10.8.0.2"}]}}],
	    "discovery": {"visibility": "FRAMEWORK", "name": "svc", "ports": {"ports": [{"number": 80.0, "name": "http", "protocol": "tcp",
	      "labels": {"labels": [{"key": "VIP_0", "value": "/svc:80"}]}}]}},
	    "container": {"type": "DOCKER", "docker": {"image": "nginx", "network": "BRIDGE",
	      "port_mappings": [{"host_port": 31000, "container_port": 80, "protocol": "tcp"}]}}
	  }]}],
	  "slaves": [{"id": "s", "pid": "slave(1)@10.0.0.11:5051", "port": "5051"}]
	}`
	st, err := ParseMasterState(strings.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	if st.Leader != "master@10.0.0.2:5050" {
		t.Errorf("leader_info fallback: %q", st.Leader)
	}
	if st.Frameworks[0].ID == "" || st.Tasks[0].FrameworkID != st.Frameworks[0].ID {
		t.Errorf("tasks belong to the enclosing framework: %q vs %q", st.Tasks[0].FrameworkID, st.Frameworks[0].ID)
	}
	tk := st.Tasks[0]
	if !reflect.DeepEqual(tk.Ports, []PortRange{{31000, 31001}, {31005, 31005}}) {
		t.Errorf("ports %v", tk.Ports)
	}
	if !reflect.DeepEqual(tk.Labels, []Label{{"k", "v"}}) {
		t.Errorf("object-form labels %v", tk.Labels)
	}
	sts := tk.Statuses[0]
	if sts.Timestamp != 12.5 || sts.Labels[0].Value != "172.17.0.2" {
		t.Errorf("status %+v", sts)
	}
	nis := sts.ContainerStatus.NetworkInfos
	if len(nis) != 2 || nis[0].IPAddresses[0].IPAddress != "10.8.0.1" || len(nis[1].IPAddresses) != 1 ||
		nis[1].IPAddresses[0] != (IPAddress{"IPv6", "fd00::1"}) || nis[1].Name != "n2" {
		t.Errorf("network infos %+v (the 0.25 ip_address is used only without ip_addresses)", nis)
	}
	d := tk.Discovery
	if d == nil || d.Name != "svc" || d.Visibility != "FRAMEWORK" || len(d.Ports) != 1 ||
		d.Ports[0].Number != 80 || d.Ports[0].Labels[0].Key != "VIP_0" {
		t.Errorf("discovery %+v", d)
	}
	c := tk.Container
	if c == nil || c.Type != "DOCKER" || c.Docker.Network != "BRIDGE" || c.Docker.PortMappings[0] != (PortMapping{31000, 80, "tcp"}) {
		t.Errorf("container %+v", c)
	}
	if st.Agents[0].Port != 5051 {
		t.Errorf("agent port from a string: %d", st.Agents[0].Port)
	}
}

func TestParseMasterStateErrors(t *testing.T) {
	for _, doc := range []string{
		``,
		`{`,
		`[]`,
		`{"leader": 5}`,
		`{"leader": "master@10.0.0.1:5050", "frameworks": [{"name": 5}]}`,
		`{"leader": "master@10.0.0.1:5050", "frameworks": [{"tasks": [{"labels": "x"}]}]}`,
	} {
		if _, err := ParseMasterState(strings.NewReader(doc)); err == nil || !strings.HasPrefix(err.Error(), "records: ") {
			t.Errorf("%q: err = %v", doc, err)
		}
	}
	for _, doc := range []string{`{}`, `{"leader": ""}`, `{"leader_info": {}}`, `{"frameworks": []}`} {
		if _, err := ParseMasterState(strings.NewReader(doc)); !errors.Is(err, ErrNoLeader) {
			t.Errorf("%q: err = %v, want ErrNoLeader", doc, err)
		}
	}
	// Odd numbers, ranges and PIDs lose only what needs them.
	st, err := ParseMasterState(strings.NewReader(`{"leader": "master@10.0.0.1:5050",
	  "slaves": [{"id": "s", "pid": "garbage", "port": -3}],
	  "frameworks": [{"id": "f", "name": "m", "pid": "nope", "tasks": [{"id": "t", "resources": {"ports": 5},
	    "statuses": [{"timestamp": {"x": 1}}], "discovery": {"name": "d", "ports": {"ports": [{"number": "eighty"}]}}}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if st.Agents[0].Port != 0 || st.Tasks[0].Ports != nil || st.Tasks[0].Statuses[0].Timestamp != 0 || st.Tasks[0].Discovery.Ports[0].Number != 0 {
		t.Errorf("lenient fields: %+v", st)
	}
}

func TestParsePortRanges(t *testing.T) {
	tests := []struct {
		in   string
		want []PortRange
	}{
		{"", nil},
		{"[]", nil},
		{"[31000-31000]", []PortRange{{31000, 31000}}},
		{"[31000-31002, 31005-31005]", []PortRange{{31000, 31002}, {31005, 31005}}},
		{" [ 1-2 ,3-4 ] ", []PortRange{{1, 2}, {3, 4}}},
		{"[80]", []PortRange{{80, 80}}},
		{"[5-3, x-1, 7-, 9-10]", []PortRange{{9, 10}}},
		{"31000-31001", []PortRange{{31000, 31001}}},
	}
	for _, tt := range tests {
		if got := ParsePortRanges(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParsePortRanges(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
	if got := expandPorts([]PortRange{{65534, 70000}, {65535, 65535}, {70000, 70001}, {1, 2}, {2, 3}}); !reflect.DeepEqual(got, []uint16{65534, 65535, 1, 2, 3}) {
		t.Errorf("expandPorts clamps and deduplicates: %v", got)
	}
}
