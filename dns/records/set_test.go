package records

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"sync"
	"testing"
)

// cluster returns a Set with two agents and the marathon framework.
func cluster(t testing.TB) *Set {
	s := mustNew(t, Config{IPSources: []string{SourceNetInfo, SourceHost}, DisableAgentAliases: true})
	s.UpsertAgent(Agent{ID: "a-S1", PID: "slave(1)@10.0.0.11:5051"})
	s.UpsertAgent(Agent{ID: "a-S2", PID: "slave(1)@10.0.0.12:5051"})
	s.UpsertFramework(Framework{ID: "fw", Name: "marathon", Hostname: "10.0.0.5"})
	return s
}

func task(id, name, agent string, ports ...uint64) Task {
	t := Task{ID: id, Name: name, FrameworkID: "fw", AgentID: agent, State: TaskRunning, Statuses: []Status{running(1)}}
	for _, p := range ports {
		t.Ports = append(t.Ports, PortRange{p, p})
	}
	return t
}

func eq(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s: got %q, want %q", what, got, want)
	}
}

func TestSameNameTasks(t *testing.T) {
	s := cluster(t)
	s.UpsertTask(task("web.1", "web", "a-S1", 31000))
	s.UpsertTask(task("web.2", "web", "a-S2", 31000))
	s.UpsertTask(task("web.3", "web", "a-S2", 31001)) // same agent as web.2: the IP is shared
	eq(t, "A", recs(s, "web.marathon.mesos."), []string{"A 10.0.0.11", "A 10.0.0.12"})
	if got := len(s.SRV("_web._tcp.marathon.mesos.")); got != 3 {
		t.Errorf("3 SRV targets expected, got %d", got)
	}
	s.RemoveTask("fw", "web.2")
	eq(t, "A after removing web.2", recs(s, "web.marathon.mesos."), []string{"A 10.0.0.11", "A 10.0.0.12"})
	s.RemoveTask("fw", "web.3")
	eq(t, "A after removing web.3", recs(s, "web.marathon.mesos."), []string{"A 10.0.0.11"})
	checkConsistent(t, s)
	s.RemoveTask("fw", "web.1")
	if s.Exists("web.marathon.mesos.") || s.Exists("_web._tcp.marathon.mesos.") {
		t.Error("names of removed tasks still exist")
	}
	s.RemoveTask("fw", "web.1") // unknown: no-op
	checkConsistent(t, s)
}

func TestAgentChangesFollow(t *testing.T) {
	s := cluster(t)
	s.UpsertTask(task("web.1", "web", "a-S1", 31000))
	s.UpsertAgent(Agent{ID: "a-S1", PID: "slave(1)@10.0.0.21:5051"})
	eq(t, "task A follows the agent", recs(s, "web.marathon.mesos."), []string{"A 10.0.0.21"})
	eq(t, "slave A follows the agent", recs(s, "web.marathon.slave.mesos."), []string{"A 10.0.0.21"})
	eq(t, "slave.mesos", recs(s, "slave.mesos."), []string{"A 10.0.0.12", "A 10.0.0.21"})

	s.RemoveAgent("a-S1")
	if s.Exists("web.marathon.mesos.") || s.Exists("_web._tcp.marathon.mesos.") {
		t.Error("a task on a removed agent keeps records")
	}
	eq(t, "slave.mesos without a-S1", recs(s, "slave.mesos."), []string{"A 10.0.0.12"})
	s.UpsertAgent(Agent{ID: "a-S1", PID: "slave(1)@10.0.0.31:5051"})
	eq(t, "task back with its agent", recs(s, "web.marathon.mesos."), []string{"A 10.0.0.31"})
	checkConsistent(t, s)
}

func TestTaskBeforeAgentAndFramework(t *testing.T) {
	s := mustNew(t, DefaultConfig())
	s.UpsertTask(task("web.1", "web", "a-S1"))
	if s.Len() != 0 {
		t.Fatalf("records without agent or framework: %v", s.Names())
	}
	s.UpsertAgent(Agent{ID: "a-S1", PID: "slave(1)@10.0.0.11:5051"})
	if s.Exists("web.marathon.mesos.") {
		t.Fatal("records without framework")
	}
	s.UpsertFramework(Framework{ID: "fw", Name: "marathon"})
	eq(t, "A", recs(s, "web.marathon.mesos."), []string{"A 10.0.0.11"})
}

func TestFrameworkRename(t *testing.T) {
	s := cluster(t)
	s.UpsertTask(task("web.1", "web", "a-S1", 31000))
	s.UpsertFramework(Framework{ID: "fw", Name: "Marathon-User", Hostname: "10.0.0.5"})
	if s.Exists("web.marathon.mesos.") || s.Exists("marathon.mesos.") {
		t.Error("old framework names survive a rename")
	}
	eq(t, "renamed task", recs(s, "web.marathon-user.mesos."), []string{"A 10.0.0.11"})
	eq(t, "renamed framework", recs(s, "marathon-user.mesos."), []string{"A 10.0.0.5"})
	s.RemoveFramework("fw")
	if s.Len() != 2 { // slave.mesos and _slave._tcp.mesos remain
		t.Errorf("after RemoveFramework: %v", s.Names())
	}
	s.UpsertFramework(Framework{ID: "fw", Name: "marathon"})
	if s.Exists("web.marathon.mesos.") {
		t.Error("RemoveFramework must drop its tasks")
	}
	checkConsistent(t, s)
}

func TestUpdateTaskStatus(t *testing.T) {
	s := cluster(t)
	tk := task("web.1", "web", "a-S1", 31000)
	tk.State, tk.Statuses = TaskStaging, []Status{{State: TaskStaging, Timestamp: 1}}
	s.UpsertTask(tk)
	if s.Exists("web.marathon.mesos.") {
		t.Fatal("staging task published")
	}
	st := Status{State: TaskRunning, Timestamp: 2}
	st.ContainerStatus.NetworkInfos = []NetworkInfo{{IPAddresses: []IPAddress{{IPAddress: "172.17.0.2"}}}}
	if !s.UpdateTaskStatus("fw", "web.1", st) {
		t.Fatal("known task reported unknown")
	}
	eq(t, "running with netinfo", recs(s, "web.marathon.mesos."), []string{"A 172.17.0.2"})
	// An older RUNNING status does not replace the newer one.
	old := Status{State: TaskRunning, Timestamp: 1}
	old.ContainerStatus.NetworkInfos = []NetworkInfo{{IPAddresses: []IPAddress{{IPAddress: "172.17.0.9"}}}}
	s.UpdateTaskStatus("fw", "web.1", old)
	eq(t, "older status ignored", recs(s, "web.marathon.mesos."), []string{"A 172.17.0.2"})
	s.UpdateTaskStatus("fw", "web.1", Status{State: TaskKilling, Timestamp: 3})
	if s.Exists("web.marathon.mesos.") {
		t.Error("TASK_KILLING keeps records")
	}
	s.UpdateTaskStatus("fw", "web.1", Status{State: TaskRunning, Timestamp: 4})
	eq(t, "running again, latest running status has no netinfo", recs(s, "web.marathon.mesos."), []string{"A 10.0.0.11"})
	s.UpdateTaskStatus("fw", "web.1", Status{State: TaskFinished, Timestamp: 5})
	if s.UpdateTaskStatus("fw", "web.1", running(6)) {
		t.Error("a terminal task must be forgotten")
	}
	if s.Len() != 3 {
		t.Errorf("left: %v", s.Names())
	}
	checkConsistent(t, s)
}

func TestTerminalUpsertRemoves(t *testing.T) {
	s := cluster(t)
	s.UpsertTask(task("web.1", "web", "a-S1"))
	tk := task("web.1", "web", "a-S1")
	tk.State = TaskFailed
	s.UpsertTask(tk)
	if s.Exists("web.marathon.mesos.") || len(s.w.tasks) != 0 {
		t.Error("terminal task kept")
	}
}

func TestTaskMovesAgent(t *testing.T) {
	s := cluster(t)
	s.UpsertTask(task("web.1", "web", "a-S1"))
	s.UpsertTask(task("web.1", "web", "a-S2"))
	eq(t, "moved", recs(s, "web.marathon.mesos."), []string{"A 10.0.0.12"})
	s.UpsertAgent(Agent{ID: "a-S1", PID: "slave(1)@10.0.0.99:5051"})
	eq(t, "old agent's change does not touch it", recs(s, "web.marathon.mesos."), []string{"A 10.0.0.12"})
	if !s.Exists(canonicalLabel("web", taskHash("web.1"), "s2") + ".marathon.mesos.") {
		t.Error("canonical name does not follow the agent ID")
	}
	checkConsistent(t, s)
}

func TestExistsNoData(t *testing.T) {
	s := cluster(t)
	s.UpsertTask(task("web.1", "web", "a-S1", 31000))
	if !s.Exists("web.marathon.mesos.") || s.AAAA("web.marathon.mesos.") != nil {
		t.Error("an IPv4-only name exists with no AAAA (NODATA)")
	}
	if s.Exists("nope.marathon.mesos.") || s.A("nope.marathon.mesos.") != nil || s.SRV("nope.") != nil {
		t.Error("unknown name exists (NXDOMAIN expected)")
	}
	if s.Exists("WEB.marathon.mesos.") || s.Exists("web.marathon.mesos") {
		t.Error("lookups take canonical names only")
	}
	if CanonicalName("WEB.Marathon.mesos") != "web.marathon.mesos." || CanonicalName("a.") != "a." {
		t.Error("CanonicalName")
	}
}

func TestReplaceKeepsNameserverOnly(t *testing.T) {
	s := cluster(t)
	s.SetNameserver(addrs("10.0.0.53"))
	s.SetMasters("master@10.0.0.1:5050", nil)
	s.UpsertTask(task("web.1", "web", "a-S1"))
	v := s.Version()
	s.Replace(&State{Leader: "master@10.0.0.2:5050"})
	eq(t, "names", s.Names(), []string{"_leader._tcp.mesos.", "_leader._udp.mesos.", "_master._tcp.mesos.",
		"_master._udp.mesos.", "leader.mesos.", "master.mesos.", "master0.mesos.", "ns1.mesos."})
	if s.Version() == v {
		t.Error("Version did not move")
	}
	s.Replace(nil)
	eq(t, "after Replace(nil)", s.Names(), []string{"ns1.mesos."})
	checkConsistent(t, s)
}

func TestReturnedSlicesAreCapped(t *testing.T) {
	s := cluster(t)
	for i := range 5 {
		s.UpsertTask(task(fmt.Sprint("web.", i), "web", "a-S1", uint64(31000+i)))
	}
	srv := s.SRV("_web._tcp.marathon.mesos.")
	_ = append(srv, SRV{Target: "evil.", Port: 1}) // must not write into the shared array
	s.UpsertTask(task("web.9", "web", "a-S1", 31009))
	for _, x := range s.SRV("_web._tcp.marathon.mesos.") {
		if x.Target == "evil." {
			t.Fatal("caller's append leaked into the set")
		}
	}
}

func TestLookupsDoNotAllocate(t *testing.T) {
	s := cluster(t)
	s.UpsertTask(task("web.1", "web", "a-S1", 31000))
	for name, fn := range map[string]func(){
		"A hit":     func() { s.A("web.marathon.mesos.") },
		"A miss":    func() { s.A("nope.marathon.mesos.") },
		"SRV hit":   func() { s.SRV("_web._tcp.marathon.mesos.") },
		"Lookup":    func() { s.Lookup("web.marathon.mesos.") },
		"Exists":    func() { s.Exists("web.marathon.mesos.") },
		"AAAA miss": func() { s.AAAA("web.marathon.mesos.") },
	} {
		if n := testing.AllocsPerRun(100, fn); n != 0 {
			t.Errorf("%s: %v allocations", name, n)
		}
	}
}

// TestRandomOperations drives a Set with random upserts, status updates and removals and
// checks after each step that readers see exactly the counted records, and at the end that the
// result equals a Replace of the same final model.
func TestRandomOperations(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	s := mustNew(t, Config{IPSources: []string{SourceNetInfo, SourceHost}})
	agents := map[string]Agent{}
	fws := map[string]Framework{}
	tasks := map[taskKey]Task{}
	names := []string{"web", "api", "Web", "db.primary", "x"}
	for step := range 3000 {
		switch rng.IntN(10) {
		case 0:
			a := Agent{ID: fmt.Sprint("ag-S", rng.IntN(4)), PID: fmt.Sprintf("slave(1)@10.0.0.%d:5051", rng.IntN(3))}
			s.UpsertAgent(a)
			agents[a.ID] = a
		case 1:
			id := fmt.Sprint("ag-S", rng.IntN(4))
			s.RemoveAgent(id)
			delete(agents, id)
		case 2:
			f := Framework{ID: fmt.Sprint("fw", rng.IntN(3)), Name: []string{"marathon", "metronome", "Marathon"}[rng.IntN(3)], Hostname: "10.0.9.1"}
			s.UpsertFramework(f)
			fws[f.ID] = f
		case 3:
			id := fmt.Sprint("fw", rng.IntN(3))
			s.RemoveFramework(id)
			delete(fws, id)
			for k := range tasks {
				if k.fw == id {
					delete(tasks, k)
				}
			}
		case 4:
			k := taskKey{fmt.Sprint("fw", rng.IntN(3)), fmt.Sprint("t", rng.IntN(20))}
			s.RemoveTask(k.fw, k.id)
			delete(tasks, k)
		case 5:
			k := taskKey{fmt.Sprint("fw", rng.IntN(3)), fmt.Sprint("t", rng.IntN(20))}
			st := Status{State: []string{TaskRunning, TaskRunning, TaskStaging, TaskFinished}[rng.IntN(4)], Timestamp: float64(step)}
			if rng.IntN(2) == 0 {
				st.ContainerStatus.NetworkInfos = []NetworkInfo{{IPAddresses: []IPAddress{{IPAddress: fmt.Sprint("172.17.0.", rng.IntN(3))}}}}
			}
			if s.UpdateTaskStatus(k.fw, k.id, st) {
				tk := tasks[k]
				tk.State, tk.Statuses = st.State, MergeStatus(tk.Statuses, st)
				if IsTerminal(st.State) {
					delete(tasks, k)
				} else {
					tasks[k] = tk
				}
			}
		default:
			tk := Task{ID: fmt.Sprint("t", rng.IntN(20)), FrameworkID: fmt.Sprint("fw", rng.IntN(3)),
				Name: names[rng.IntN(len(names))], AgentID: fmt.Sprint("ag-S", rng.IntN(4)), State: TaskRunning,
				Statuses: []Status{running(float64(step))}, Ports: []PortRange{{uint64(31000 + rng.IntN(3)), uint64(31000 + rng.IntN(3))}}}
			if rng.IntN(4) == 0 {
				tk.Discovery = &DiscoveryInfo{Name: "svc", Ports: []DiscoveryPort{{Number: uint32(80 + rng.IntN(2)), Name: "http"}}}
			}
			s.UpsertTask(tk)
			tasks[taskKey{tk.FrameworkID, tk.ID}] = tk
		}
		if step%50 == 0 {
			checkConsistent(t, s)
		}
	}
	checkConsistent(t, s)
	st := &State{}
	for _, a := range agents {
		st.Agents = append(st.Agents, a)
	}
	for _, f := range fws {
		st.Frameworks = append(st.Frameworks, f)
	}
	for _, tk := range tasks {
		st.Tasks = append(st.Tasks, tk)
	}
	fresh := mustNew(t, Config{IPSources: []string{SourceNetInfo, SourceHost}})
	fresh.Replace(st)
	if a, b := dump(s), dump(fresh); a != b {
		t.Fatalf("incremental result differs from Replace:\n%s\nvs\n%s", a, b)
	}
}

func TestConcurrentReaders(t *testing.T) {
	s := cluster(t)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				for _, ip := range s.A("web.marathon.mesos.") {
					if !ip.Is4() {
						t.Error("bad A value")
					}
				}
				for _, x := range s.SRV("_web._tcp.marathon.mesos.") {
					if x.Port < 31000 || x.Port > 31010 {
						t.Errorf("bad SRV %v", x)
					}
				}
				s.Exists("web.marathon.mesos.")
			}
		}()
	}
	for i := range 2000 {
		s.UpsertTask(task(fmt.Sprint("web.", i%7), "web", []string{"a-S1", "a-S2"}[i%2], uint64(31000+i%10)))
		if i%3 == 0 {
			s.RemoveTask("fw", fmt.Sprint("web.", (i+3)%7))
		}
		if i%100 == 0 {
			s.UpsertAgent(Agent{ID: "a-S1", PID: fmt.Sprintf("slave(1)@10.0.1.%d:5051", i%200)})
		}
		if i%500 == 0 {
			s.Replace(&State{Agents: []Agent{{ID: "a-S1", PID: "slave(1)@10.0.0.11:5051"}},
				Frameworks: []Framework{{ID: "fw", Name: "marathon"}}})
		}
	}
	close(stop)
	wg.Wait()
	checkConsistent(t, s)
}

func TestAddrsHelpersIgnoreZones(t *testing.T) {
	got := cleanAddrs([]netip.Addr{netip.MustParseAddr("fe80::1%eth0"), netip.MustParseAddr("::ffff:10.0.0.1"), {}})
	if len(got) != 1 || got[0] != netip.MustParseAddr("10.0.0.1") {
		t.Errorf("cleanAddrs = %v", got)
	}
	for _, tt := range []struct {
		pid  string
		host string
		port uint16
		ok   bool
	}{
		{"slave(1)@10.0.0.1:5051", "10.0.0.1", 5051, true},
		{"master@[2001:db8::1]:5050", "2001:db8::1", 5050, true},
		{"scheduler-x@host.example:0", "host.example", 0, true},
		{"a@b@c:1", "", 0, false},
		{"10.0.0.1:5051", "", 0, false},
		{"x@10.0.0.1", "", 0, false},
		{"x@:5051", "", 0, false},
		{"x@10.0.0.1:99999", "", 0, false},
	} {
		_, h, p, ok := ParsePID(tt.pid)
		if h != tt.host || p != tt.port || ok != tt.ok {
			t.Errorf("ParsePID(%q) = %q %d %v", tt.pid, h, p, ok)
		}
	}
}
