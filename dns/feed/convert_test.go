package feed

import (
	"math"
	"reflect"
	"testing"

	"google.golang.org/protobuf/proto"

	"strata/dns/records"
	"strata/kernel/mesos/masterpb"
	"strata/kernel/mesos/mesospb"
)

// Builders of operator API messages for the unit tests.

func pAgent(id, hostname, pid string, port int32) *masterpb.Response_GetAgents_Agent {
	info := &mesospb.AgentInfo{Hostname: proto.String(hostname), Port: proto.Int32(port)}
	if id != "" {
		info.Id = &mesospb.AgentID{Value: proto.String(id)}
	}
	return &masterpb.Response_GetAgents_Agent{AgentInfo: info, Active: proto.Bool(true), Version: proto.String("1"), Pid: proto.String(pid)}
}

func pFrameworkInfo(id, name, hostname string) *mesospb.FrameworkInfo {
	fi := &mesospb.FrameworkInfo{User: proto.String("root"), Name: proto.String(name), Hostname: proto.String(hostname)}
	if id != "" {
		fi.Id = &mesospb.FrameworkID{Value: proto.String(id)}
	}
	return fi
}

func pFramework(id, name, hostname string) *masterpb.Response_GetFrameworks_Framework {
	return &masterpb.Response_GetFrameworks_Framework{FrameworkInfo: pFrameworkInfo(id, name, hostname),
		Active: proto.Bool(true), Connected: proto.Bool(true), Recovered: proto.Bool(false)}
}

func pStatus(id string, state mesospb.TaskState, ts float64, ips ...string) *mesospb.TaskStatus {
	st := &mesospb.TaskStatus{TaskId: &mesospb.TaskID{Value: proto.String(id)}, State: state.Enum(), Timestamp: proto.Float64(ts)}
	if len(ips) > 0 {
		ni := &mesospb.NetworkInfo{Name: proto.String("net")}
		for _, ip := range ips {
			ni.IpAddresses = append(ni.IpAddresses, &mesospb.NetworkInfo_IPAddress{Protocol: mesospb.NetworkInfo_IPv4.Enum(), IpAddress: proto.String(ip)})
		}
		st.ContainerStatus = &mesospb.ContainerStatus{NetworkInfos: []*mesospb.NetworkInfo{ni}}
	}
	return st
}

func pPorts(ranges ...[2]uint64) *mesospb.Resource {
	r := &mesospb.Resource{Name: proto.String("ports"), Type: mesospb.Value_RANGES.Enum(), Ranges: &mesospb.Value_Ranges{}}
	for _, x := range ranges {
		r.Ranges.Range = append(r.Ranges.Range, &mesospb.Value_Range{Begin: proto.Uint64(x[0]), End: proto.Uint64(x[1])})
	}
	return r
}

func pTask(fw, id, name, agent string, state mesospb.TaskState, statuses ...*mesospb.TaskStatus) *mesospb.Task {
	return &mesospb.Task{
		Name: proto.String(name), TaskId: &mesospb.TaskID{Value: proto.String(id)},
		FrameworkId: &mesospb.FrameworkID{Value: proto.String(fw)}, AgentId: &mesospb.AgentID{Value: proto.String(agent)},
		State: state.Enum(), Statuses: statuses,
	}
}

func TestConvertState(t *testing.T) {
	running := mesospb.TaskState_TASK_RUNNING
	web := pTask("fw-1", "web-1", "web", "S-S0", running, pStatus("web-1", mesospb.TaskState_TASK_STARTING, 99),
		pStatus("web-1", running, 100, "172.17.0.2"))
	web.Resources = []*mesospb.Resource{
		{Name: proto.String("cpus"), Type: mesospb.Value_SCALAR.Enum(), Scalar: &mesospb.Value_Scalar{Value: proto.Float64(0.1)}},
		pPorts([2]uint64{31000, 31001}, [2]uint64{31010, 31005}), pPorts([2]uint64{32000, 32000}),
	}
	web.Labels = &mesospb.Labels{Labels: []*mesospb.Label{{Key: proto.String("tier"), Value: proto.String("front")}}}
	web.Discovery = &mesospb.DiscoveryInfo{Visibility: mesospb.DiscoveryInfo_FRAMEWORK.Enum(), Name: proto.String("big.web"),
		Ports: &mesospb.Ports{Ports: []*mesospb.Port{{Number: proto.Uint32(80), Name: proto.String("http"), Protocol: proto.String("tcp")}}}}
	web.Container = &mesospb.ContainerInfo{Type: mesospb.ContainerInfo_DOCKER.Enum(), Docker: &mesospb.ContainerInfo_DockerInfo{
		Image: proto.String("nginx"), Network: mesospb.ContainerInfo_DockerInfo_BRIDGE.Enum(),
		PortMappings: []*mesospb.ContainerInfo_DockerInfo_PortMapping{{HostPort: proto.Uint32(31000), ContainerPort: proto.Uint32(80), Protocol: proto.String("tcp")}},
	}}
	nan := pStatus("odd", running, math.NaN())

	wantWeb := records.Task{
		ID: "web-1", Name: "web", FrameworkID: "fw-1", AgentID: "S-S0", State: records.TaskRunning,
		Statuses: []records.Status{
			{State: records.TaskStarting, Timestamp: 99},
			{State: records.TaskRunning, Timestamp: 100, ContainerStatus: records.ContainerStatus{NetworkInfos: []records.NetworkInfo{
				{Name: "net", IPAddresses: []records.IPAddress{{Protocol: "IPv4", IPAddress: "172.17.0.2"}}}}}},
		},
		Labels: []records.Label{{Key: "tier", Value: "front"}},
		Ports:  []records.PortRange{{Begin: 31000, End: 31001}, {Begin: 32000, End: 32000}},
		Discovery: &records.DiscoveryInfo{Visibility: "FRAMEWORK", Name: "big.web",
			Ports: []records.DiscoveryPort{{Number: 80, Name: "http", Protocol: "tcp"}}},
		Container: &records.ContainerInfo{Type: "DOCKER", Docker: &records.DockerInfo{Image: "nginx", Network: "BRIDGE",
			PortMappings: []records.PortMapping{{HostPort: 31000, ContainerPort: 80, Protocol: "tcp"}}}},
	}

	for _, tc := range []struct {
		name string
		in   *masterpb.Response_GetState
		want *records.State
	}{
		{name: "nil", in: nil, want: &records.State{}},
		{
			name: "running task with every field",
			in: &masterpb.Response_GetState{
				GetAgents:     &masterpb.Response_GetAgents{Agents: []*masterpb.Response_GetAgents_Agent{pAgent("S-S0", "a1", "slave(1)@10.0.0.2:5051", 5051)}},
				GetFrameworks: &masterpb.Response_GetFrameworks{Frameworks: []*masterpb.Response_GetFrameworks_Framework{pFramework("fw-1", "marathon", "10.0.0.9")}},
				GetTasks:      &masterpb.Response_GetTasks{Tasks: []*mesospb.Task{web}},
			},
			want: &records.State{
				Agents:     []records.Agent{{ID: "S-S0", Hostname: "a1", PID: "slave(1)@10.0.0.2:5051", Port: 5051}},
				Frameworks: []records.Framework{{ID: "fw-1", Name: "marathon", Hostname: "10.0.0.9"}},
				Tasks:      []records.Task{wantWeb},
			},
		},
		{
			name: "history is left out, unreachable tasks are kept",
			in: &masterpb.Response_GetState{
				GetAgents: &masterpb.Response_GetAgents{
					RecoveredAgents: []*mesospb.AgentInfo{{Hostname: proto.String("gone"), Id: &mesospb.AgentID{Value: proto.String("S-S9")}}},
				},
				GetFrameworks: &masterpb.Response_GetFrameworks{CompletedFrameworks: []*masterpb.Response_GetFrameworks_Framework{pFramework("old", "chronos", "")}},
				GetTasks: &masterpb.Response_GetTasks{
					Tasks:            []*mesospb.Task{pTask("fw-1", "done", "batch", "S-S0", mesospb.TaskState_TASK_FINISHED)},
					UnreachableTasks: []*mesospb.Task{pTask("fw-1", "far", "far", "S-S1", mesospb.TaskState_TASK_UNREACHABLE)},
					CompletedTasks:   []*mesospb.Task{pTask("fw-1", "old", "old", "S-S0", mesospb.TaskState_TASK_KILLED)},
				},
			},
			want: &records.State{Tasks: []records.Task{{ID: "far", Name: "far", FrameworkID: "fw-1", AgentID: "S-S1", State: records.TaskUnreachable}}},
		},
		{
			name: "entities without IDs are skipped, a NaN timestamp is zero",
			in: &masterpb.Response_GetState{
				GetAgents:     &masterpb.Response_GetAgents{Agents: []*masterpb.Response_GetAgents_Agent{pAgent("", "x", "", 0), {}}},
				GetFrameworks: &masterpb.Response_GetFrameworks{Frameworks: []*masterpb.Response_GetFrameworks_Framework{pFramework("", "anon", ""), {}}},
				GetTasks: &masterpb.Response_GetTasks{Tasks: []*mesospb.Task{
					pTask("fw-1", "", "noid", "S-S0", running), pTask("", "nofw", "nofw", "S-S0", running), {},
					pTask("fw-1", "odd", "odd", "S-S0", running, nan),
				}},
			},
			want: &records.State{Tasks: []records.Task{{ID: "odd", Name: "odd", FrameworkID: "fw-1", AgentID: "S-S0", State: records.TaskRunning,
				Statuses: []records.Status{{State: records.TaskRunning}}}}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := convertState(tc.in)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("convertState:\n got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

// TestConvertedStateResolves checks the converted model end to end through a records.Set,
// with Mesos-DNS' own IP source order so that the container IP wins.
func TestConvertedStateResolves(t *testing.T) {
	web := pTask("fw-1", "web-1", "web", "S-S0", mesospb.TaskState_TASK_RUNNING, pStatus("web-1", mesospb.TaskState_TASK_RUNNING, 100, "172.17.0.2"))
	web.Resources = []*mesospb.Resource{pPorts([2]uint64{31000, 31000})}
	st := convertState(&masterpb.Response_GetState{
		GetAgents:     &masterpb.Response_GetAgents{Agents: []*masterpb.Response_GetAgents_Agent{pAgent("S-S0", "a1", "slave(1)@10.0.0.2:5051", 5051)}},
		GetFrameworks: &masterpb.Response_GetFrameworks{Frameworks: []*masterpb.Response_GetFrameworks_Framework{pFramework("fw-1", "marathon", "")}},
		GetTasks:      &masterpb.Response_GetTasks{Tasks: []*mesospb.Task{web}},
	})
	st.Leader, st.Masters = "master@10.0.0.1:5050", []string{"10.0.0.1:5050"}
	set, err := records.New(records.Config{IPSources: []string{records.SourceNetInfo, records.SourceHost}})
	if err != nil {
		t.Fatal(err)
	}
	set.Replace(st)
	for name, want := range map[string]string{
		"web.marathon.mesos.":       "172.17.0.2",
		"web.marathon.slave.mesos.": "10.0.0.2",
		"slave.mesos.":              "10.0.0.2",
		"leader.mesos.":             "10.0.0.1",
		"master0.mesos.":            "10.0.0.1",
	} {
		if got := set.A(name); len(got) != 1 || got[0].String() != want {
			t.Errorf("A %s = %v, want %s", name, got, want)
		}
	}
	if srv := set.SRV("_web._tcp.marathon.mesos."); len(srv) != 1 || srv[0].Port != 31000 {
		t.Errorf("SRV _web._tcp.marathon.mesos. = %v, want port 31000", srv)
	}
}

func TestLeaderPID(t *testing.T) {
	for _, tc := range []struct {
		name string
		mi   *mesospb.MasterInfo
		want string
	}{
		{"pid", &mesospb.MasterInfo{Pid: proto.String("master@10.0.0.1:5050")}, "master@10.0.0.1:5050"},
		{"pid with a host name, address ip", &mesospb.MasterInfo{Pid: proto.String("master@m1:5050"), Port: proto.Uint32(5050),
			Address: &mesospb.Address{Ip: proto.String("10.0.0.3"), Port: proto.Int32(5051)}}, "master@10.0.0.3:5051"},
		{"packed ip", &mesospb.MasterInfo{Ip: proto.Uint32(0x0100000a), Port: proto.Uint32(5050)}, "master@10.0.0.1:5050"},
		{"ipv6 address", &mesospb.MasterInfo{Address: &mesospb.Address{Ip: proto.String("fd00::1"), Port: proto.Int32(5050)}}, "master@[fd00::1]:5050"},
		{"nothing", nil, "master@127.0.0.1:5050"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := leaderPID(tc.mi, "127.0.0.1:5050"); got != tc.want {
				t.Errorf("leaderPID = %q, want %q", got, tc.want)
			}
		})
	}
}
