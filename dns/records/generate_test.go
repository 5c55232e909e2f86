package records

import (
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

func testGenerator(t *testing.T, cfg Config) generator {
	t.Helper()
	c, err := cfg.normalize()
	if err != nil {
		t.Fatal(err)
	}
	return newGenerator(c)
}

func recordStrings(rs []Record) []string {
	out := make([]string, 0, len(rs))
	for _, r := range rs {
		out = append(out, r.String())
	}
	slices.Sort(out)
	return out
}

func running(ts float64) Status { return Status{State: TaskRunning, Timestamp: ts} }

// The task ID "test" hashes to "iffe9" (reference §2), the agent ID "…-S1" gives "s1".
func webTask() Task {
	return Task{ID: "test", Name: "web", FrameworkID: "fw", AgentID: "a-S1", State: TaskRunning,
		Statuses: []Status{running(1)}, Ports: []PortRange{{31000, 31001}}}
}

// TestTaskRecordsWithoutDiscovery pins the complete record list of a task with ports and no
// DiscoveryInfo (reference §2 table, naming docs' SRV table rows 1-2 and 5).
func TestTaskRecordsWithoutDiscovery(t *testing.T) {
	g := testGenerator(t, DefaultConfig())
	task := webTask()
	got := recordStrings(g.taskRecords(&task, "marathon", addrs("10.0.0.11")))
	var want []string
	for _, n := range []string{"web.marathon.mesos.", "web-iffe9-s1.marathon.mesos.",
		"web.marathon.slave.mesos.", "web-iffe9-s1.marathon.slave.mesos."} {
		want = append(want, "A "+n+" 10.0.0.11")
	}
	for _, n := range []string{"_web._tcp.marathon.mesos.", "_web._udp.marathon.mesos.",
		"_web._tcp.marathon.slave.mesos.", "_web._udp.marathon.slave.mesos."} {
		for _, p := range []string{"31000", "31001"} {
			want = append(want, "SRV "+n+" web-iffe9-s1.marathon.slave.mesos.:"+p)
		}
	}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestTaskRecordsWithDiscovery pins the record list of a task with a named DiscoveryInfo port
// (naming docs' SRV table rows 3-4: target C.F.D and the DiscoveryInfo port; slave SRV keep the
// host ports) and the raw + sanitised name variants (reference §3).
func TestTaskRecordsWithDiscovery(t *testing.T) {
	g := testGenerator(t, Config{IPSources: []string{SourceNetInfo, SourceHost}})
	task := webTask()
	task.Ports = []PortRange{{31000, 31000}}
	task.Statuses = []Status{{State: TaskRunning, Timestamp: 1, ContainerStatus: ContainerStatus{
		NetworkInfos: []NetworkInfo{{IPAddresses: []IPAddress{{IPAddress: "172.17.0.2"}}}}}}}
	task.Discovery = &DiscoveryInfo{Name: "big.dog", Ports: []DiscoveryPort{{Number: 80, Name: "http", Protocol: "tcp"}}}
	got := recordStrings(g.taskRecords(&task, "marathon", addrs("10.0.0.11")))
	want := []string{}
	for _, tn := range []string{"big.dog", "big-dog"} {
		c := tn + "-iffe9-s1"
		want = append(want,
			"A "+tn+".marathon.mesos. 172.17.0.2",
			"A "+c+".marathon.mesos. 172.17.0.2",
			"A "+tn+".marathon.slave.mesos. 10.0.0.11",
			"A "+c+".marathon.slave.mesos. 10.0.0.11",
			"SRV _"+tn+"._tcp.marathon.slave.mesos. "+c+".marathon.slave.mesos.:31000",
			"SRV _"+tn+"._udp.marathon.slave.mesos. "+c+".marathon.slave.mesos.:31000",
			"SRV _"+tn+"._tcp.marathon.mesos. "+c+".marathon.mesos.:80",
			"SRV _http._"+tn+"._tcp.marathon.mesos. "+c+".marathon.mesos.:80",
		)
	}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestDiscoveryPorts(t *testing.T) {
	g := testGenerator(t, DefaultConfig())
	tests := []struct {
		name    string
		di      *DiscoveryInfo
		present []string
		absent  []string
	}{
		{"empty protocol means tcp and udp", &DiscoveryInfo{Name: "svc", Ports: []DiscoveryPort{{Number: 53}}},
			[]string{"_svc._tcp.marathon.mesos.", "_svc._udp.marathon.mesos."}, nil},
		{"protocol is sanitised", &DiscoveryInfo{Name: "svc", Ports: []DiscoveryPort{{Number: 53, Name: "DNS", Protocol: "UDP"}}},
			[]string{"_svc._udp.marathon.mesos.", "_dns._svc._udp.marathon.mesos."}, []string{"_svc._tcp.marathon.mesos."}},
		{"unnamed port has no _name variant", &DiscoveryInfo{Name: "svc", Ports: []DiscoveryPort{{Number: 80, Protocol: "tcp"}}},
			[]string{"_svc._tcp.marathon.mesos."}, []string{"_._svc._tcp.marathon.mesos."}},
		{"DiscoveryInfo without name is ignored", &DiscoveryInfo{Ports: []DiscoveryPort{{Number: 80, Name: "http", Protocol: "tcp"}}},
			[]string{"_web._tcp.marathon.mesos.", "web.marathon.mesos."}, []string{"_http._web._tcp.marathon.mesos."}},
		{"DiscoveryInfo name replaces the task name", &DiscoveryInfo{Name: "Other_Name"},
			[]string{"other-name.marathon.mesos.", "other_name.marathon.mesos."}, []string{"web.marathon.mesos."}},
		{"no non-slave SRV from host ports with DiscoveryInfo", &DiscoveryInfo{Name: "svc"},
			[]string{"_svc._tcp.marathon.slave.mesos."}, []string{"_svc._tcp.marathon.mesos."}},
		{"port number over 65535 skipped", &DiscoveryInfo{Name: "svc", Ports: []DiscoveryPort{{Number: 70000, Protocol: "tcp"}}},
			nil, []string{"_svc._tcp.marathon.mesos."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			task := webTask()
			task.Discovery = tt.di
			names := map[string]bool{}
			for _, r := range g.taskRecords(&task, "marathon", addrs("10.0.0.11")) {
				names[r.Name] = true
			}
			for _, n := range tt.present {
				if !names[n] {
					t.Errorf("missing %s", n)
				}
			}
			for _, n := range tt.absent {
				if names[n] {
					t.Errorf("unexpected %s", n)
				}
			}
		})
	}
}

func TestIPSources(t *testing.T) {
	netinfo := func(ts float64, ips ...string) Status {
		st := Status{State: TaskRunning, Timestamp: ts}
		var as []IPAddress
		for _, ip := range ips {
			as = append(as, IPAddress{IPAddress: ip})
		}
		st.ContainerStatus.NetworkInfos = []NetworkInfo{{IPAddresses: as}}
		return st
	}
	label := func(ts float64, key, ip string) Status {
		return Status{State: TaskRunning, Timestamp: ts, Labels: []Label{{Key: key, Value: ip}}}
	}
	host := addrs("10.0.0.11")
	tests := []struct {
		name     string
		sources  []string
		statuses []Status
		agent    []netip.Addr
		want     []string
	}{
		{"host first wins (DC/OS default)", []string{"host", "netinfo"}, []Status{netinfo(1, "172.17.0.2")}, host, []string{"10.0.0.11"}},
		{"netinfo first wins", []string{"netinfo", "host"}, []Status{netinfo(1, "172.17.0.2")}, host, []string{"172.17.0.2"}},
		{"empty source falls through", []string{"netinfo", "host"}, []Status{running(1)}, host, []string{"10.0.0.11"}},
		{"agent without IP falls through to netinfo", []string{"host", "netinfo"}, []Status{netinfo(1, "172.17.0.2")}, nil, []string{"172.17.0.2"}},
		{"no source yields anything", []string{"netinfo", "mesos"}, []Status{running(1)}, host, nil},
		{"all IPs of the source, both families", []string{"netinfo"}, []Status{netinfo(1, "12.0.1.2", "fd01:b::1:8000:2", "12.0.1.3")}, host,
			[]string{"12.0.1.2", "fd01:b::1:8000:2", "12.0.1.3"}},
		{"latest running status only", []string{"netinfo", "host"},
			[]Status{netinfo(5, "10.9.0.2"), netinfo(9, "10.9.0.3"), netinfo(1, "10.9.0.1")}, host, []string{"10.9.0.3"}},
		{"latest running status without netinfo does not fall back to older ones", []string{"netinfo", "host"},
			[]Status{netinfo(1, "10.9.0.1"), running(2)}, host, []string{"10.0.0.11"}},
		{"non-running statuses ignored", []string{"netinfo", "host"},
			[]Status{{State: TaskStaging, Timestamp: 9, ContainerStatus: netinfo(0, "10.9.0.9").ContainerStatus}}, host, []string{"10.0.0.11"}},
		{"mesos label", []string{"mesos", "host"}, []Status{label(1, labelMesosIP, "10.3.0.9")}, host, []string{"10.3.0.9"}},
		{"docker label", []string{"docker", "host"}, []Status{label(1, labelDockerIP, "172.17.0.3")}, host, []string{"172.17.0.3"}},
		{"docker source ignores the mesos label", []string{"docker", "host"}, []Status{label(1, labelMesosIP, "10.3.0.9")}, host, []string{"10.0.0.11"}},
		{"invalid IPs are skipped", []string{"netinfo", "host"}, []Status{netinfo(1, "bogus", "fe80::1%eth0", "")}, host, []string{"10.0.0.11"}},
		{"IPv4-mapped IPv6 is IPv4", []string{"netinfo"}, []Status{netinfo(1, "::ffff:10.7.0.1")}, nil, []string{"10.7.0.1"}},
		{"duplicates collapse", []string{"netinfo"}, []Status{netinfo(1, "10.1.1.1", "10.1.1.1")}, nil, []string{"10.1.1.1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			task := webTask()
			task.Statuses = tt.statuses
			var got []string
			for _, ip := range taskIPs(&task, tt.agent, tt.sources) {
				got = append(got, ip.String())
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestPublishedTaskStates(t *testing.T) {
	for _, state := range []string{TaskStaging, TaskStarting, TaskRunning, TaskKilling, TaskUnreachable,
		TaskUnknown, TaskFinished, TaskFailed, TaskKilled, TaskLost, TaskError, TaskDropped, TaskGone} {
		s := mustNew(t, DefaultConfig())
		s.UpsertAgent(Agent{ID: "a-S1", PID: "slave(1)@10.0.0.11:5051"})
		s.UpsertFramework(Framework{ID: "fw", Name: "marathon"})
		task := webTask()
		task.State = state
		s.UpsertTask(task)
		if got, want := s.Exists("web.marathon.mesos."), state == TaskRunning; got != want {
			t.Errorf("%s: web.marathon.mesos exists = %v, want %v", state, got, want)
		}
		// Only TASK_RUNNING on a known agent (reference §2).
		if got, want := len(s.Enumerate().Frameworks[0].Tasks), map[bool]int{true: 1}[state == TaskRunning]; got != want {
			t.Errorf("%s: enumerate lists %d tasks, want %d", state, got, want)
		}
	}
}

func TestAgentAndFrameworkRecords(t *testing.T) {
	tests := []struct {
		name  string
		agent *Agent
		fw    *Framework
		cfg   Config
		want  []string
	}{
		{"agent from PID", &Agent{ID: "a", Hostname: "agent-1", PID: "slave(1)@10.0.0.11:5051"}, nil, DefaultConfig(),
			[]string{"A agent.mesos. 10.0.0.11", "A slave.mesos. 10.0.0.11",
				"SRV _agent._tcp.mesos. agent.mesos.:5051", "SRV _slave._tcp.mesos. slave.mesos.:5051"}},
		{"IPv6 agent", &Agent{ID: "a", PID: "slave(1)@[2001:db8::11]:5051"}, nil, Config{DisableAgentAliases: true},
			[]string{"AAAA slave.mesos. 2001:db8::11", "SRV _slave._tcp.mesos. slave.mesos.:5051"}},
		{"agent PID naming a host: nothing without IPs", &Agent{ID: "a", Hostname: "agent-1", PID: "slave(1)@agent-1:5051"}, nil, DefaultConfig(), nil},
		{"agent IPs given by the caller", &Agent{ID: "a", PID: "slave(1)@agent-1:5051", IPs: addrs("10.0.0.12")}, nil, Config{DisableAgentAliases: true},
			[]string{"A slave.mesos. 10.0.0.12", "SRV _slave._tcp.mesos. slave.mesos.:5051"}},
		{"agent without PID: hostname IP and port", &Agent{ID: "a", Hostname: "10.0.0.13", Port: 5052}, nil, Config{DisableAgentAliases: true},
			[]string{"A slave.mesos. 10.0.0.13", "SRV _slave._tcp.mesos. slave.mesos.:5052"}},
		{"framework with PID", nil, &Framework{ID: "f", Name: "Marathon", PID: "scheduler(1)@10.0.0.5:15101", Hostname: "10.9.9.9"}, DefaultConfig(),
			[]string{"A marathon.mesos. 10.0.0.5", "SRV _framework._tcp.marathon.mesos. marathon.mesos.:15101"}},
		{"HTTP framework: hostname, no SRV", nil, &Framework{ID: "f", Name: "metronome", Hostname: "10.0.0.6"}, DefaultConfig(),
			[]string{"A metronome.mesos. 10.0.0.6"}},
		{"HTTP framework: webui_url port gives the SRV", nil, &Framework{ID: "f", Name: "marathon", Hostname: "10.0.0.6", WebuiURL: "http://10.0.0.6:8080"}, DefaultConfig(),
			[]string{"A marathon.mesos. 10.0.0.6", "SRV _framework._tcp.marathon.mesos. marathon.mesos.:8080"}},
		{"PID port wins over webui_url", nil, &Framework{ID: "f", Name: "marathon", PID: "scheduler(1)@10.0.0.5:15101", WebuiURL: "http://10.0.0.5:8080"}, DefaultConfig(),
			[]string{"A marathon.mesos. 10.0.0.5", "SRV _framework._tcp.marathon.mesos. marathon.mesos.:15101"}},
		{"webui_url without a port or not http: no SRV", nil, &Framework{ID: "f", Name: "a", Hostname: "10.0.0.6", WebuiURL: "https://10.0.0.6/ui"}, DefaultConfig(),
			[]string{"A a.mesos. 10.0.0.6"}},
		{"webui_url not http", nil, &Framework{ID: "f", Name: "a", Hostname: "10.0.0.6", WebuiURL: "ftp://10.0.0.6:21"}, DefaultConfig(),
			[]string{"A a.mesos. 10.0.0.6"}},
		{"framework hostname that is not an IP", nil, &Framework{ID: "f", Name: "chronos", Hostname: "chronos.example.com"}, DefaultConfig(), nil},
		{"framework IPs given by the caller (a resolved hostname)", nil, &Framework{ID: "f", Name: "chronos", Hostname: "chronos.example.com", IPs: addrs("10.0.0.8")}, DefaultConfig(),
			[]string{"A chronos.mesos. 10.0.0.8"}},
		{"framework name with dots", nil, &Framework{ID: "f", Name: "marathon.prod", Hostname: "2001:db8::5"}, DefaultConfig(),
			[]string{"AAAA marathon.prod.mesos. 2001:db8::5"}},
		{"framework name sanitised to nothing", nil, &Framework{ID: "f", Name: "***", Hostname: "10.0.0.7"}, DefaultConfig(), nil},
		{"other domain", &Agent{ID: "a", PID: "slave(1)@10.0.0.11:5051"}, nil, Config{Domain: "DC1.Example.", DisableAgentAliases: true},
			[]string{"A slave.dc1.example. 10.0.0.11", "SRV _slave._tcp.dc1.example. slave.dc1.example.:5051"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustNew(t, tt.cfg)
			if tt.agent != nil {
				s.UpsertAgent(*tt.agent)
			}
			if tt.fw != nil {
				s.UpsertFramework(*tt.fw)
			}
			if got := recordStrings(s.Records()); !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// TestMasterRecords follows Mesos-DNS' masterRecord cases (leader, masterN order, duplicates,
// a leader missing from the list) plus the _master SRV records of its naming docs.
func TestMasterRecords(t *testing.T) {
	g := testGenerator(t, Config{Domain: "foo.com"})
	base := func(ip, port string) []string {
		return []string{"A leader.foo.com. " + ip, "SRV _leader._tcp.foo.com. leader.foo.com.:" + port,
			"SRV _leader._udp.foo.com. leader.foo.com.:" + port}
	}
	mN := func(n, ip, port string) []string {
		return []string{"A master" + n + ".foo.com. " + ip, "SRV _master._tcp.foo.com. master" + n + ".foo.com.:" + port,
			"SRV _master._udp.foo.com. master" + n + ".foo.com.:" + port}
	}
	all := func(ips ...string) (out []string) {
		for _, ip := range ips {
			out = append(out, "A master.foo.com. "+ip)
		}
		return out
	}
	cat := func(parts ...[]string) (out []string) {
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	tests := []struct {
		name    string
		leader  string
		masters []string
		want    []string
	}{
		{"no leader", "", nil, nil},
		{"no @", "0.0.0.6:7", nil, nil},
		{"empty", "@", nil, nil},
		{"no port", "3@4", nil, nil},
		{"leader only", "5@0.0.0.6:7", nil, cat(base("0.0.0.6", "7"), all("0.0.0.6"), mN("0", "0.0.0.6", "7"))},
		{"IPv6 leader", "5@[2001:db8::1]:7", nil, []string{"AAAA leader.foo.com. 2001:db8::1", "AAAA master.foo.com. 2001:db8::1",
			"AAAA master0.foo.com. 2001:db8::1", "SRV _leader._tcp.foo.com. leader.foo.com.:7", "SRV _leader._udp.foo.com. leader.foo.com.:7",
			"SRV _master._tcp.foo.com. master0.foo.com.:7", "SRV _master._udp.foo.com. master0.foo.com.:7"}},
		{"leader is the only master", "5@0.0.0.6:7", []string{"0.0.0.6:7"}, cat(base("0.0.0.6", "7"), all("0.0.0.6"), mN("0", "0.0.0.6", "7"))},
		{"leader not in list gets the next index", "5@0.0.0.6:7", []string{"0.0.0.8:9"},
			cat(base("0.0.0.6", "7"), all("0.0.0.6", "0.0.0.8"), mN("0", "0.0.0.8", "9"), mN("1", "0.0.0.6", "7"))},
		{"duplicate masters", "5@0.0.0.6:7", []string{"0.0.0.8:9", "0.0.0.8:9"},
			cat(base("0.0.0.6", "7"), all("0.0.0.6", "0.0.0.8"), mN("0", "0.0.0.8", "9"), mN("1", "0.0.0.6", "7"))},
		{"leader listed last", "5@0.0.0.6:7", []string{"0.0.0.8:9", "0.0.0.6:7"},
			cat(base("0.0.0.6", "7"), all("0.0.0.6", "0.0.0.8"), mN("0", "0.0.0.8", "9"), mN("1", "0.0.0.6", "7"))},
		{"leader listed twice", "5@0.0.0.6:7", []string{"0.0.0.8:9", "0.0.0.6:7", "0.0.0.6:7"},
			cat(base("0.0.0.6", "7"), all("0.0.0.6", "0.0.0.8"), mN("0", "0.0.0.8", "9"), mN("1", "0.0.0.6", "7"))},
		{"leader in the middle", "5@0.0.0.6:7", []string{"0.0.0.8:9", "0.0.0.6:7", "0.0.0.7:0"},
			cat(base("0.0.0.6", "7"), all("0.0.0.6", "0.0.0.8", "0.0.0.7"), mN("0", "0.0.0.8", "9"), mN("1", "0.0.0.6", "7"), mN("2", "0.0.0.7", "0"))},
		{"host names are skipped", "5@0.0.0.6:7", []string{"master-2:5050", "0.0.0.8:9"},
			cat(base("0.0.0.6", "7"), all("0.0.0.6", "0.0.0.8"), mN("0", "0.0.0.8", "9"), mN("1", "0.0.0.6", "7"))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := recordStrings(g.masterRecords(tt.leader, tt.masters))
			want := slices.Clone(tt.want)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

func TestNameserverRecords(t *testing.T) {
	s := mustNew(t, Config{Domain: "dc1"})
	s.SetNameserver(addrs("10.0.0.53", "2001:db8::53"))
	want := []string{"A ns1.dc1. 10.0.0.53", "AAAA ns1.dc1. 2001:db8::53"}
	if got := recordStrings(s.Records()); !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	s = mustNew(t, Config{SOAMname: "DNS.Example.com"})
	s.SetNameserver(addrs("10.0.0.53"))
	if got := s.A("dns.example.com."); len(got) != 1 {
		t.Errorf("SOAMname outside the domain: %v", got)
	}
}

// TestUnservableNames: names no DNS message can carry are not generated; the canonical label is
// shortened to fit.
func TestUnservableNames(t *testing.T) {
	g := testGenerator(t, DefaultConfig())
	task := webTask()
	task.Name = strings.Repeat("n", 63)
	var names []string
	for _, r := range g.taskRecords(&task, "marathon", addrs("10.0.0.11")) {
		if !validName(r.Name) || r.Type == TypeSRV && !validName(r.SRV.Target) {
			t.Errorf("invalid record %v", r)
		}
		names = append(names, r.Name)
	}
	if !slices.Contains(names, task.Name+".marathon.mesos.") {
		t.Errorf("a 63-character task name is a valid label: %v", names)
	}
	if !slices.Contains(names, strings.Repeat("n", 54)+"-iffe9-s1.marathon.mesos.") {
		t.Errorf("canonical label not shortened: %v", names)
	}
	for _, n := range names {
		if strings.HasPrefix(n, "_") {
			t.Errorf("SRV name with a 64-character label: %s", n)
		}
	}
	task.Name = "___"
	if rs := g.taskRecords(&task, "marathon", addrs("10.0.0.11")); len(rs) != 0 {
		t.Errorf("task name sanitised to nothing gave %v", rs)
	}
	task.Name = "web"
	if rs := g.taskRecords(&task, "", addrs("10.0.0.11")); len(rs) != 0 {
		t.Errorf("framework name sanitised to nothing gave %v", rs)
	}
	long := strings.Repeat("f", 60) + "." + strings.Repeat("g", 60) + "." + strings.Repeat("h", 60) + "." + strings.Repeat("i", 60)
	frag := g.frameworkFrag(long)
	rs := g.taskRecords(&task, frag, addrs("10.0.0.11"))
	if len(rs) != 1 || len(rs[0].Name) != 254 { // only "web.<frag>.mesos." fits in 254 characters
		t.Errorf("names near the 254-character limit: %v", rs)
	}
}

func TestConfig(t *testing.T) {
	s := mustNew(t, Config{})
	c := s.Config()
	if c.Domain != "mesos" || !slices.Equal(c.IPSources, []string{"host", "netinfo"}) || c.SOAMname != "ns1.mesos." || c.EnforceRFC952 {
		t.Errorf("defaults: %+v", c)
	}
	bad := []Config{
		{IPSources: []string{}},
		{IPSources: []string{"host", "host"}},
		{IPSources: []string{"rkt"}},
		{Domain: "bad domain"},
		{Domain: "a..b"},
		{SOAMname: "bad name"},
	}
	for _, cfg := range bad {
		if _, err := New(cfg); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("New(%+v) = %v, want ErrInvalidConfig", cfg, err)
		}
	}
}
