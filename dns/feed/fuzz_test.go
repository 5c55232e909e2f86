package feed

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"strata/kernel/mesos/codec"
	"strata/kernel/mesos/masterpb"
	"strata/kernel/mesos/mesospb"
	"strata/kernel/mesos/recordio"
)

// FuzzEvent feeds arbitrary operator streams (RecordIO framing of protobuf master.Events, as the
// feed reads them) to a view that already holds a small cluster: nothing may panic, and after
// every event the Set must hold exactly the records of the feed's mirror. The seed corpus is
// in testdata/fuzz/FuzzEvent (TestWriteFuzzSeeds writes it).
func FuzzEvent(f *testing.F) {
	for _, s := range seedStreams() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v := newTestView(t)
		v.replace(evSubscribed(seedState()).GetSubscribed(), "master@10.0.0.1:5050", []string{"10.0.0.1:5050"}, time.Unix(0, 0))
		rd := recordio.NewReader(bytes.NewReader(data), recordio.WithMaxRecordSize(1<<16))
		for range 16 {
			rec, err := rd.ReadRecord()
			if err != nil {
				return
			}
			ev := &masterpb.Event{}
			if decode(codec.Protobuf, rec, ev) != nil {
				return
			}
			if tooManyPorts(ev) {
				return // valid but slow: every port gives SRV records
			}
			if ev.GetType() == masterpb.Event_SUBSCRIBED {
				v.replace(ev.GetSubscribed(), "master@10.0.0.1:5050", []string{"10.0.0.1:5050"}, time.Unix(0, 0))
			} else {
				v.apply(ev)
			}
			v.expireCarried(time.Unix(int64(len(rec)), 0), 100*time.Second)
			checkMirror(t, v)
		}
	})
}

// tooManyPorts reports whether the tasks of ev hold more than 4096 ports in all.
func tooManyPorts(ev *masterpb.Event) bool {
	tasks := []*mesospb.Task{ev.GetTaskAdded().GetTask()}
	gt := ev.GetSubscribed().GetGetState().GetGetTasks()
	tasks = append(tasks, gt.GetTasks()...)
	tasks = append(tasks, gt.GetUnreachableTasks()...)
	n := uint64(0)
	for _, t := range tasks {
		for _, r := range portRanges(t.GetResources()) {
			n += min(r.End, 65535) - min(r.Begin, 65535) + 1
		}
	}
	return n > 4096
}

// seedState is the cluster every fuzzed stream starts from: one agent, the framework
// "marathon" and one running task with a container IP, ports and DiscoveryInfo.
func seedState() *masterpb.Response_GetState {
	gs := baseState()
	gs.GetTasks = &masterpb.Response_GetTasks{Tasks: []*mesospb.Task{seedTask("web-1", mesospb.TaskState_TASK_RUNNING)}}
	return gs
}

func seedTask(id string, state mesospb.TaskState) *mesospb.Task {
	t := pTask("fw-1", id, "web", "S-S0", state, pStatus(id, mesospb.TaskState_TASK_RUNNING, 100, "172.17.0.2"))
	t.Resources = []*mesospb.Resource{pPorts([2]uint64{31000, 31001})}
	t.Discovery = &mesospb.DiscoveryInfo{Visibility: mesospb.DiscoveryInfo_FRAMEWORK.Enum(), Name: proto.String("web"),
		Ports: &mesospb.Ports{Ports: []*mesospb.Port{{Number: proto.Uint32(80), Name: proto.String("http")}}}}
	t.Labels = &mesospb.Labels{Labels: []*mesospb.Label{{Key: proto.String("k"), Value: proto.String("v")}}}
	return t
}

// seedStreams are the seed inputs: RecordIO streams of events.
func seedStreams() [][]byte {
	running, killed := mesospb.TaskState_TASK_RUNNING, mesospb.TaskState_TASK_KILLED
	recovered := &masterpb.Response_GetState{
		GetAgents:     &masterpb.Response_GetAgents{RecoveredAgents: []*mesospb.AgentInfo{baseState().GetAgents.Agents[0].AgentInfo}},
		GetFrameworks: baseState().GetFrameworks,
	}
	streams := [][]*masterpb.Event{
		{evTaskAdded(seedTask("web-2", mesospb.TaskState_TASK_STAGING)),
			evTaskUpdated("fw-1", pStatus("web-2", running, 200, "172.17.0.3"), running),
			evTaskUpdated("fw-1", pStatus("web-2", killed, 300), killed)},
		{evAgentRemoved("S-S0"), evAgentAdded(pAgent("S-S0", "a1", "slave(1)@[fd00::2]:5051", 5051))},
		{evFrameworkUpdated(pFramework("fw-1", "Marathon.Prod", "10.0.0.9")), evFrameworkRemoved("fw-1"),
			evFrameworkAdded(pFramework("fw-2", "chronos", ""))},
		{evSubscribed(recovered), evTaskAdded(seedTask("web-1", running)), evAgentAdded(pAgent("S-S0", "a1", "slave(1)@10.0.0.2:5051", 5051))},
		{evSubscribed(seedState()), {Type: masterpb.Event_HEARTBEAT.Enum()}, {Type: masterpb.Event_TASK_UPDATED.Enum()}},
	}
	var out [][]byte
	for _, evs := range streams {
		var b []byte
		for _, ev := range evs {
			rec, err := proto.Marshal(ev)
			if err != nil {
				panic(err)
			}
			b = recordio.AppendRecord(b, rec)
		}
		out = append(out, b)
	}
	return out
}

// TestWriteFuzzSeeds writes seedStreams to testdata/fuzz/FuzzEvent when FEED_WRITE_SEEDS is set.
func TestWriteFuzzSeeds(t *testing.T) {
	if os.Getenv("FEED_WRITE_SEEDS") == "" {
		t.Skip("set FEED_WRITE_SEEDS=1 to rewrite testdata/fuzz/FuzzEvent")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzEvent")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i, s := range seedStreams() {
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", s)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("seed-%d", i)), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
