package records

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// benchState builds the benchmark cluster: 100 agents, 5 frameworks (marathon, metronome and
// three others) and 10,000 running tasks of 500 apps (20 instances each), each with 2 host
// ports; every fifth app has a named DiscoveryInfo port and every third task a container IP.
func benchState() *State {
	st := &State{Leader: "master@10.0.0.1:5050", Masters: []string{"10.0.0.1:5050", "10.0.0.2:5050", "10.0.0.3:5050"}}
	for i := range 100 {
		st.Agents = append(st.Agents, Agent{ID: fmt.Sprintf("0b1c2d3e-0000-4000-8000-00000000abcd-S%d", i),
			PID: fmt.Sprintf("slave(1)@10.1.%d.%d:5051", i/250, i%250+1)})
	}
	fwNames := []string{"marathon", "metronome", "spark", "kafka", "cassandra"}
	for i, n := range fwNames {
		st.Frameworks = append(st.Frameworks, Framework{ID: fmt.Sprint("fw-", i), Name: n, Hostname: fmt.Sprint("10.0.0.", 10+i)})
	}
	for i := range 10000 {
		app := i % 500
		t := Task{
			ID: fmt.Sprintf("app-%d.%08x-0b0a-11ef-9a3c-0242ac110002", app, i), Name: fmt.Sprint("app-", app),
			FrameworkID: fmt.Sprint("fw-", app%5), AgentID: st.Agents[i%100].ID, State: TaskRunning,
			Statuses: []Status{running(float64(i))},
			Ports:    []PortRange{{uint64(31000 + i%1000), uint64(31001 + i%1000)}},
		}
		if i%3 == 0 {
			t.Statuses[0].ContainerStatus.NetworkInfos = []NetworkInfo{{IPAddresses: []IPAddress{{IPAddress: fmt.Sprintf("172.16.%d.%d", i/250, i%250)}}}}
		}
		if app%5 == 0 {
			t.Discovery = &DiscoveryInfo{Name: t.Name, Ports: []DiscoveryPort{{Number: 8080, Name: "http", Protocol: "tcp"}}}
		}
		st.Tasks = append(st.Tasks, t)
	}
	return st
}

var benchCfg = Config{IPSources: []string{SourceNetInfo, SourceHost}}

func BenchmarkReplace10k(b *testing.B) {
	st := benchState()
	s := mustNew(b, benchCfg)
	b.ReportAllocs()
	for b.Loop() {
		s.Replace(st)
	}
	b.ReportMetric(float64(s.Len()), "names")
}

func BenchmarkParseAndReplace10k(b *testing.B) {
	// The bulk path from bytes, as a first load from /master/state would run.
	st := benchState()
	doc := stateJSON(st)
	s := mustNew(b, benchCfg)
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	for b.Loop() {
		parsed, err := ParseMasterState(bytesReader(doc))
		if err != nil {
			b.Fatal(err)
		}
		parsed.Masters = st.Masters
		s.Replace(parsed)
	}
}

// BenchmarkUpsertTask updates one task of the 10k set: each iteration moves it to another
// port, so its SRV records change and the shared names it belongs to are republished.
func BenchmarkUpsertTask(b *testing.B) {
	st := benchState()
	s := mustNew(b, benchCfg)
	s.Replace(st)
	t := st.Tasks[42]
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		t.Ports = []PortRange{{uint64(32000 + i%2), uint64(32000 + i%2)}}
		s.UpsertTask(t)
	}
}

// BenchmarkAddRemoveTask adds a new instance of an app with 20 instances to the 10k set and
// removes it again (two writes per iteration).
func BenchmarkAddRemoveTask(b *testing.B) {
	st := benchState()
	s := mustNew(b, benchCfg)
	s.Replace(st)
	t := st.Tasks[42]
	t.ID = "new-instance"
	b.ReportAllocs()
	for b.Loop() {
		s.UpsertTask(t)
		s.RemoveTask(t.FrameworkID, t.ID)
	}
}

// BenchmarkUpsertAgentIPChange changes the IP of an agent running 100 of the 10k tasks.
func BenchmarkUpsertAgentIPChange(b *testing.B) {
	st := benchState()
	s := mustNew(b, benchCfg)
	s.Replace(st)
	a := st.Agents[7]
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		a.PID = fmt.Sprintf("slave(1)@10.2.0.%d:5051", i%2+1)
		s.UpsertAgent(a)
	}
}

func benchLookup(b *testing.B, fn func(s *Set) int) {
	s := mustNew(b, benchCfg)
	s.Replace(benchState())
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		n := 0
		for pb.Next() {
			n += fn(s)
		}
		_ = n
	})
}

func BenchmarkLookupAHit(b *testing.B) {
	benchLookup(b, func(s *Set) int { return len(s.A("app-42.metronome.mesos.")) })
}

func BenchmarkLookupAMiss(b *testing.B) {
	benchLookup(b, func(s *Set) int { return len(s.A("nope-42.metronome.mesos.")) })
}

func BenchmarkLookupSRVHit(b *testing.B) {
	benchLookup(b, func(s *Set) int { return len(s.SRV("_app-42._tcp.metronome.mesos.")) })
}

func BenchmarkLookupSRVMiss(b *testing.B) {
	benchLookup(b, func(s *Set) int { return len(s.SRV("_nope._tcp.metronome.mesos.")) })
}

// BenchmarkLookupAHitSerial is the single-goroutine cost of a hit, for comparison with the
// parallel figures above.
func BenchmarkLookupAHitSerial(b *testing.B) {
	s := mustNew(b, benchCfg)
	s.Replace(benchState())
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		n += len(s.A("app-42.metronome.mesos."))
	}
	_ = n
}

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }

// stateJSON renders st as a /master/state document (the fields ParseMasterState reads).
func stateJSON(st *State) []byte {
	type obj = map[string]any
	byFw := map[string][]obj{}
	for _, t := range st.Tasks {
		var statuses []obj
		for _, s := range t.Statuses {
			so := obj{"state": s.State, "timestamp": s.Timestamp}
			var nis []obj
			for _, ni := range s.ContainerStatus.NetworkInfos {
				var ips []obj
				for _, a := range ni.IPAddresses {
					ips = append(ips, obj{"ip_address": a.IPAddress})
				}
				nis = append(nis, obj{"ip_addresses": ips})
			}
			if nis != nil {
				so["container_status"] = obj{"network_infos": nis}
			}
			statuses = append(statuses, so)
		}
		var ports []string
		for _, r := range t.Ports {
			ports = append(ports, fmt.Sprintf("%d-%d", r.Begin, r.End))
		}
		to := obj{"id": t.ID, "name": t.Name, "framework_id": t.FrameworkID, "slave_id": t.AgentID, "state": t.State,
			"statuses": statuses, "resources": obj{"cpus": 0.1, "mem": 32, "ports": "[" + strings.Join(ports, ", ") + "]"}}
		if d := t.Discovery; d != nil {
			var dps []obj
			for _, p := range d.Ports {
				dps = append(dps, obj{"number": p.Number, "name": p.Name, "protocol": p.Protocol})
			}
			to["discovery"] = obj{"name": d.Name, "visibility": "FRAMEWORK", "ports": obj{"ports": dps}}
		}
		byFw[t.FrameworkID] = append(byFw[t.FrameworkID], to)
	}
	var fws, slaves []obj
	for _, f := range st.Frameworks {
		fws = append(fws, obj{"id": f.ID, "name": f.Name, "hostname": f.Hostname, "pid": f.PID, "tasks": byFw[f.ID]})
	}
	for _, a := range st.Agents {
		slaves = append(slaves, obj{"id": a.ID, "hostname": a.Hostname, "pid": a.PID})
	}
	b, err := json.Marshal(obj{"leader": st.Leader, "frameworks": fws, "slaves": slaves})
	if err != nil {
		panic(err)
	}
	return b
}
