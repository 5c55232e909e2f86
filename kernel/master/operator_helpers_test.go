package master

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"strata/kernel/agent/simagent"
	"strata/kernel/mesos/codec"
	"strata/kernel/mesos/masterpb"
	"strata/kernel/mesos/mesospb"
	"strata/kernel/mesos/schedulerpb"
)

// Helpers of the operator API and endpoint tests (operator_test.go, operator_stream_test.go,
// state_json_test.go).

// runOpMaster starts a master like startMaster, but from a full Config and with an optional
// Leadership, and returns a stop function (also run at cleanup) so that a test can restart a master
// on the same WorkDir.
func runOpMaster(t *testing.T, cfg Config, lead Leadership) (*Master, string, func()) {
	t.Helper()
	if cfg.IP == "" {
		cfg.IP = "127.0.0.1"
	}
	if cfg.WorkDir == "" {
		cfg.WorkDir = t.TempDir()
	}
	if cfg.AllocationInterval == 0 {
		cfg.AllocationInterval = 50 * time.Millisecond
	}
	m, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if lead != nil {
		m.SetLeadership(lead)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- m.Serve(ctx, ready) }()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("master did not start: %v", err)
	case <-time.After(10 * time.Second):
		cancel()
		t.Fatal("master did not start in 10s")
	}
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("master stopped with %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Error("master did not stop in 10s")
			}
		})
	}
	t.Cleanup(stop)
	return m, addr, stop
}

// startOpAgent registers a simulated agent with startSimAgent's resources and the options in cfg.
func startOpAgent(t *testing.T, master string, cfg simagent.Config) *simagent.Agent {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	cfg.Master = master
	if cfg.Port == 0 {
		cfg.Port, cfg.Address = 5051, "127.0.0.1:5051"
	}
	if cfg.Resources == nil {
		cfg.Resources = []*mesospb.Resource{scalar("cpus", 4), scalar("mem", 1024), scalar("disk", 1000), portsRes(31000, 31010)}
	}
	a, err := simagent.Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// opCluster is a master with one simulated agent (reporting container IP 10.1.2.3) and one
// partition-aware framework subscribed over protobuf.
type opCluster struct {
	m     *Master
	addr  string
	agent *simagent.Agent
	sched *schedClient
	// offers seen while waiting for something else, oldest first.
	offers []*mesospb.Offer
}

func startOpCluster(t *testing.T, mutate func(*Config)) *opCluster {
	t.Helper()
	m, addr := startMaster(t, mutate)
	ag := startOpAgent(t, addr, simagent.Config{Hostname: "host-a", ContainerIP: "10.1.2.3"})
	s := subscribe(t, addr, codec.Protobuf, frameworkInfo("fixture", mesospb.FrameworkInfo_Capability_PARTITION_AWARE))
	return &opCluster{m: m, addr: addr, agent: ag, sched: s}
}

// event returns the scheduler's next event, keeping offers aside for nextOffer.
func (c *opCluster) event(t *testing.T) *schedulerpb.Event {
	t.Helper()
	select {
	case ev, ok := <-c.sched.events:
		if !ok {
			t.Fatal("scheduler stream closed")
		}
		if ev.GetType() == schedulerpb.Event_OFFERS {
			c.offers = append(c.offers, ev.GetOffers().GetOffers()...)
		}
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no scheduler event in 10s")
	}
	return nil
}

func (c *opCluster) nextOffer(t *testing.T) *mesospb.Offer {
	t.Helper()
	for len(c.offers) == 0 {
		c.event(t)
	}
	o := c.offers[0]
	c.offers = c.offers[1:]
	return o
}

// waitUpdate returns the next UPDATE for taskID, skipping other updates.
func (c *opCluster) waitUpdate(t *testing.T, taskID string) *mesospb.TaskStatus {
	t.Helper()
	for {
		ev := c.event(t)
		if up := ev.GetUpdate().GetStatus(); ev.GetType() == schedulerpb.Event_UPDATE && up.GetTaskId().GetValue() == taskID {
			return up
		}
	}
}

// runTask launches the task mk builds from the next offer, waits for its TASK_RUNNING and
// acknowledges it.
func (c *opCluster) runTask(t *testing.T, mk func(*mesospb.Offer) *mesospb.TaskInfo) *mesospb.TaskStatus {
	t.Helper()
	offer := c.nextOffer(t)
	ti := mk(offer)
	c.sched.mustCall(launchCall(offer, ti))
	up := c.waitUpdate(t, ti.GetTaskId().GetValue())
	if up.GetState() != mesospb.TaskState_TASK_RUNNING {
		t.Fatalf("task %s: %v", ti.GetTaskId().GetValue(), up)
	}
	c.ack(t, up)
	return up
}

func (c *opCluster) ack(t *testing.T, up *mesospb.TaskStatus) {
	t.Helper()
	if len(up.GetUuid()) == 0 {
		return
	}
	c.sched.mustCall(&schedulerpb.Call{
		Type:        schedulerpb.Call_ACKNOWLEDGE.Enum(),
		Acknowledge: &schedulerpb.Call_Acknowledge{AgentId: up.AgentId, TaskId: up.TaskId, Uuid: up.Uuid},
	})
}

// opRichTask carries what Mesos-DNS reads: two port ranges, labels and a DiscoveryInfo.
func opRichTask(id string, o *mesospb.Offer) *mesospb.TaskInfo {
	ti := commandTask(id, o, scalar("cpus", 0.5), scalar("mem", 64), portsRes(31000, 31001), portsRes(31005, 31005))
	ti.Labels = &mesospb.Labels{Labels: []*mesospb.Label{{Key: proto.String("team"), Value: proto.String("core")}}}
	ti.Discovery = &mesospb.DiscoveryInfo{
		Visibility: mesospb.DiscoveryInfo_EXTERNAL.Enum(),
		Name:       proto.String("web"),
		Ports: &mesospb.Ports{Ports: []*mesospb.Port{{
			Number: proto.Uint32(31000), Name: proto.String("http"), Protocol: proto.String("tcp"),
		}}},
		Labels: &mesospb.Labels{Labels: []*mesospb.Label{{Key: proto.String("tier"), Value: proto.String("front")}}},
	}
	return ti
}

// opExecutorTask runs under a custom executor, so that GET_EXECUTORS has something to show.
func opExecutorTask(id string, o *mesospb.Offer) *mesospb.TaskInfo {
	ti := commandTask(id, o, scalar("cpus", 0.5), scalar("mem", 64))
	ti.Command = nil
	ti.Executor = &mesospb.ExecutorInfo{
		ExecutorId: &mesospb.ExecutorID{Value: proto.String("ex-" + id)},
		Command:    &mesospb.CommandInfo{Value: proto.String("./executor")},
		Resources:  []*mesospb.Resource{scalar("cpus", 0.1), scalar("mem", 32)},
	}
	return ti
}

// opDo posts an operator call encoded in bodyCd with the given Accept header.
func opDo(t *testing.T, addr string, bodyCd codec.Codec, accept string, call *masterpb.Call) (int, http.Header, []byte) {
	t.Helper()
	body, err := bodyCd.Marshal(call)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/api/v1", bytes.NewReader(body))
	req.Header.Set("Content-Type", bodyCd.ContentType())
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

// opQuery sends a call in cd, expects 200 with a response of the same type in cd, and decodes it.
func opQuery(t *testing.T, addr string, cd codec.Codec, call *masterpb.Call) *masterpb.Response {
	t.Helper()
	code, hdr, body := opDo(t, addr, cd, cd.ContentType(), call)
	if code != http.StatusOK {
		t.Fatalf("%s: %d %s", call.GetType(), code, body)
	}
	if got := hdr.Get("Content-Type"); got != cd.ContentType() {
		t.Fatalf("%s: Content-Type %q, want exactly %q", call.GetType(), got, cd.ContentType())
	}
	resp := &masterpb.Response{}
	if err := cd.Unmarshal(body, resp); err != nil {
		t.Fatalf("%s: decode: %v", call.GetType(), err)
	}
	if resp.GetType().String() != call.GetType().String() {
		t.Fatalf("%s answered with type %s", call.GetType(), resp.GetType())
	}
	return resp
}

// opChange sends a call that answers 200 with no body.
func opChange(t *testing.T, addr string, cd codec.Codec, call *masterpb.Call) {
	t.Helper()
	code, _, body := opDo(t, addr, cd, "", call)
	if code != http.StatusOK || len(body) != 0 {
		t.Fatalf("%s: %d %q, want 200 with an empty body", call.GetType(), code, body)
	}
}

func opCall(typ masterpb.Call_Type) *masterpb.Call { return &masterpb.Call{Type: typ.Enum()} }

func opResourceSum(list []*mesospb.Resource, name string) float64 {
	var v float64
	for _, r := range list {
		if r.GetName() == name {
			v += r.GetScalar().GetValue()
		}
	}
	return v
}
