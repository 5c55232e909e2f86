package feed

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/proto"

	"strata/dns/records"
	"strata/kernel/agent"
	"strata/kernel/e2e/cluster"
	"strata/kernel/e2e/stratabin"
	"strata/kernel/master"
	"strata/kernel/mesos/mesospb"
	"strata/kernel/mesos/schedulerpb"
	"strata/kernel/scheduler"
)

// The integration tests run a real master, a real agent (with the strata binary as its
// executor) and a real framework on kernel/scheduler, all in this process.

var (
	binOnce    sync.Once
	binPath    string
	binErr     error
	binCleanup func()
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binCleanup != nil {
		binCleanup()
	}
	os.Exit(code)
}

// strataBin resolves the strata binary on first use, so that the unit tests and the fuzz
// target do not build it.
func strataBin(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: starts a master, an agent and tasks")
	}
	binOnce.Do(func() { binPath, binCleanup, binErr = stratabin.Resolve() })
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// waitFor polls cond until it holds or within passes.
func waitFor(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", within, what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// --- feeds ---------------------------------------------------------------------------------

type testFeed struct {
	*Feed
	set  *records.Set
	reg  *prometheus.Registry
	t    testing.TB
	stop func()
}

// startFeed creates a feed on a fresh Set and registry (cfg.Set and cfg.Registerer are
// overwritten) and runs it until the test ends.
func startFeed(t testing.TB, cfg Config) *testFeed {
	t.Helper()
	set, err := records.New(records.Config{})
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	cfg.Set, cfg.Registerer = set, reg
	if cfg.Logger == nil {
		cfg.Logger = cluster.QuietLogger()
	}
	f, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tf := &testFeed{Feed: f, set: set, reg: reg, t: t}
	tf.run()
	t.Cleanup(func() { tf.stop() })
	return tf
}

// run starts Run on a new goroutine; stop ends it.
func (tf *testFeed) run() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := tf.Run(ctx); err != nil {
			tf.t.Errorf("Run: %v", err)
		}
	}()
	tf.stop = func() { cancel(); <-done }
}

func (tf *testFeed) waitReady(within time.Duration) {
	tf.t.Helper()
	select {
	case <-tf.Ready():
	case <-time.After(within):
		tf.t.Fatalf("feed not ready within %s", within)
	}
}

func (tf *testFeed) counter(name string, labels ...string) float64 {
	mfs, err := tf.reg.Gather()
	if err != nil {
		tf.t.Fatal(err)
	}
	total := 0.0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metric:
		for _, m := range mf.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				found := false
				for _, lp := range m.GetLabel() {
					found = found || (lp.GetName() == labels[i] && lp.GetValue() == labels[i+1])
				}
				if !found {
					continue metric
				}
			}
			switch {
			case m.Counter != nil:
				total += m.GetCounter().GetValue()
			case m.Gauge != nil:
				total += m.GetGauge().GetValue()
			case m.Histogram != nil:
				total += float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return total
}

// --- masters and agents --------------------------------------------------------------------

type testMaster struct {
	addr string
	stop func()
}

// startMaster serves a master with the given work dir on ln, advertising ln's IP.
func startMaster(t testing.TB, dir string, ln net.Listener, leadership master.Leadership) *testMaster {
	t.Helper()
	ip, _, _ := net.SplitHostPort(ln.Addr().String())
	m, err := master.New(master.Config{IP: ip, WorkDir: dir, HeartbeatInterval: 300 * time.Millisecond,
		AllocationInterval: 100 * time.Millisecond, Logger: cluster.QuietLogger()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if leadership != nil {
		m.SetLeadership(leadership)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := m.ServeListener(ctx, ln, ready); err != nil {
			t.Errorf("master: %v", err)
		}
	}()
	tm := &testMaster{}
	select {
	case tm.addr = <-ready:
	case <-time.After(20 * time.Second):
		t.Fatal("master not serving")
	}
	var once sync.Once
	tm.stop = func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(tm.stop)
	return tm
}

func listen(t testing.TB, addr string) net.Listener {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ln, err := net.Listen("tcp", addr)
		if err == nil {
			return ln
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// startAgent runs a real agent registered with masterAddr; it re-registers quickly after a
// master restart.
func startAgent(t testing.TB, masterAddr string) {
	t.Helper()
	a, err := agent.New(agent.Config{
		WorkDir: t.TempDir(), IP: "127.0.0.1", Hostname: "127.0.0.1", Master: masterAddr,
		Resources: "cpus:8;mem:8192;disk:10000;ports:[31000-31999]", Executable: strataBin(t), KillTasksOnExit: true,
		RegistrationBackoffFactor: 100 * time.Millisecond, MaxRegistrationBackoff: 500 * time.Millisecond,
		Logger: cluster.QuietLogger(),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := a.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("agent: %v", err)
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case <-a.Ready():
	case <-time.After(20 * time.Second):
		t.Fatal("agent not ready")
	}
	waitFor(t, 20*time.Second, "the agent to register", func() bool { return agentActive(masterAddr) })
}

func agentActive(masterAddr string) bool {
	resp, err := http.Get("http://" + masterAddr + "/master/slaves")
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return strings.Contains(string(b), `"active":true`)
}

// --- a framework ---------------------------------------------------------------------------

// testFramework launches queued tasks on the next offer and records every status update.
type testFramework struct {
	scheduler.NopHandler
	t       testing.TB
	client  *scheduler.Client
	mu      sync.Mutex
	queue   []*mesospb.TaskInfo
	agents  map[string]*mesospb.AgentID
	updates chan *mesospb.TaskStatus
}

func startFramework(t testing.TB, masterAddr, name string) *testFramework {
	t.Helper()
	fi := &mesospb.FrameworkInfo{User: proto.String("root"), Name: proto.String(name), Hostname: proto.String("127.0.0.1"),
		FailoverTimeout: proto.Float64(3600), Checkpoint: proto.Bool(true)}
	c, err := scheduler.New(scheduler.Config{Masters: []string{masterAddr}, FrameworkInfo: fi, AutoAcknowledge: true,
		Logger: cluster.QuietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	f := &testFramework{t: t, client: c, agents: map[string]*mesospb.AgentID{}, updates: make(chan *mesospb.TaskStatus, 256)}
	cluster.RunFramework(t, c, f)
	return f
}

func (f *testFramework) Offers(ctx context.Context, ev *schedulerpb.Event_Offers) error {
	refuse := &mesospb.Filters{RefuseSeconds: proto.Float64(0.2)}
	for _, o := range ev.GetOffers() {
		f.mu.Lock()
		tasks := f.queue
		f.queue = nil
		for _, t := range tasks {
			t.AgentId = o.GetAgentId()
			f.agents[t.GetTaskId().GetValue()] = o.GetAgentId()
		}
		f.mu.Unlock()
		if len(tasks) == 0 {
			_ = f.client.Decline(ctx, []*mesospb.OfferID{o.GetId()}, refuse)
			continue
		}
		if err := f.client.Launch(ctx, []*mesospb.OfferID{o.GetId()}, tasks, refuse); err != nil {
			f.t.Errorf("launch: %v", err)
		}
	}
	return nil
}

func (f *testFramework) Update(_ context.Context, ev *schedulerpb.Event_Update) error {
	f.updates <- ev.GetStatus()
	return nil
}

func (f *testFramework) launch(t *mesospb.TaskInfo) {
	f.mu.Lock()
	f.queue = append(f.queue, t)
	f.mu.Unlock()
	_ = f.client.Revive(context.Background())
}

func (f *testFramework) kill(id string) {
	f.mu.Lock()
	agentID := f.agents[id]
	f.mu.Unlock()
	if err := f.client.Kill(context.Background(), &mesospb.TaskID{Value: proto.String(id)}, agentID, nil); err != nil {
		f.t.Fatalf("kill %s: %v", id, err)
	}
}

// waitState waits for an update of task id in state and returns it with its receipt time.
func (f *testFramework) waitState(id string, state mesospb.TaskState, within time.Duration) (*mesospb.TaskStatus, time.Time) {
	f.t.Helper()
	timeout := time.After(within)
	for {
		select {
		case st := <-f.updates:
			if st.GetTaskId().GetValue() != id {
				continue
			}
			if st.GetState() == state {
				return st, time.Now()
			}
			f.t.Logf("task %s: %s %s", id, st.GetState(), st.GetMessage())
		case <-timeout:
			f.t.Fatalf("task %s did not reach %s within %s", id, state, within)
		}
	}
}

// webTask is the task "web": a port from the agent's range and DiscoveryInfo naming port 8080
// "http".
func webTask(id string, hostPort uint64) *mesospb.TaskInfo {
	scalar := func(name string, v float64) *mesospb.Resource {
		return &mesospb.Resource{Name: proto.String(name), Type: mesospb.Value_SCALAR.Enum(), Scalar: &mesospb.Value_Scalar{Value: proto.Float64(v)}}
	}
	return &mesospb.TaskInfo{
		Name: proto.String("web"), TaskId: &mesospb.TaskID{Value: proto.String(id)}, AgentId: &mesospb.AgentID{Value: proto.String("")},
		Resources: []*mesospb.Resource{scalar("cpus", 0.1), scalar("mem", 32), {
			Name: proto.String("ports"), Type: mesospb.Value_RANGES.Enum(),
			Ranges: &mesospb.Value_Ranges{Range: []*mesospb.Value_Range{{Begin: proto.Uint64(hostPort), End: proto.Uint64(hostPort)}}},
		}},
		Command: &mesospb.CommandInfo{Value: proto.String("sleep 600")},
		Discovery: &mesospb.DiscoveryInfo{Visibility: mesospb.DiscoveryInfo_FRAMEWORK.Enum(), Name: proto.String("web"),
			Ports: &mesospb.Ports{Ports: []*mesospb.Port{{Number: proto.Uint32(8080), Name: proto.String("http"), Protocol: proto.String("tcp")}}}},
	}
}
