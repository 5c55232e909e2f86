package e2e

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"
	"google.golang.org/protobuf/proto"

	"strata/kernel/e2e/cluster"
	"strata/kernel/e2e/pgserver"
	"strata/kernel/e2e/procs"
	"strata/kernel/e2e/zkserver"
	"strata/kernel/mesos/mesospb"
	"strata/kernel/mesos/schedulerpb"
	"strata/kernel/scheduler"
)

// zkSessionTimeout is the masters' ZooKeeper session timeout: a SIGKILLed leader's znode goes
// this long after the kill.
const zkSessionTimeout = 3 * time.Second

// haMaster is one `strata master --zk` process.
type haMaster struct {
	port int
	proc *procs.Proc
}

// leading returns the index of the leading master (procs.LeadingMaster), skipping skip.
func leading(masters []*haMaster, skip int) int {
	addrs := make([]string, len(masters))
	for i, m := range masters {
		addrs[i] = fmt.Sprintf("127.0.0.1:%d", m.port)
	}
	return procs.LeadingMaster(addrs, skip)
}

// dnsFramework is a framework on kernel/scheduler that launches queued tasks on the next offer.
type dnsFramework struct {
	scheduler.NopHandler
	t       *testing.T
	client  *scheduler.Client
	mu      sync.Mutex
	queue   []*mesospb.TaskInfo
	running chan string // ids of tasks that reached TASK_RUNNING
}

func startDNSFramework(t *testing.T, master, name string) *dnsFramework {
	t.Helper()
	fi := &mesospb.FrameworkInfo{User: proto.String("root"), Name: proto.String(name), Hostname: proto.String("127.0.0.1"),
		FailoverTimeout: proto.Float64(3600), Checkpoint: proto.Bool(true)}
	c, err := scheduler.New(scheduler.Config{Masters: []string{master}, FrameworkInfo: fi, AutoAcknowledge: true})
	if err != nil {
		t.Fatal(err)
	}
	f := &dnsFramework{t: t, client: c, running: make(chan string, 16)}
	cluster.RunFramework(t, c, f)
	return f
}

func (f *dnsFramework) Offers(ctx context.Context, ev *schedulerpb.Event_Offers) error {
	refuse := &mesospb.Filters{RefuseSeconds: proto.Float64(0.2)}
	for _, o := range ev.GetOffers() {
		f.mu.Lock()
		tasks := f.queue
		f.queue = nil
		f.mu.Unlock()
		if len(tasks) == 0 {
			_ = f.client.Decline(ctx, []*mesospb.OfferID{o.GetId()}, refuse)
			continue
		}
		for _, t := range tasks {
			t.AgentId = o.GetAgentId()
		}
		if err := f.client.Launch(ctx, []*mesospb.OfferID{o.GetId()}, tasks, refuse); err != nil {
			f.t.Logf("launch: %v (requeued)", err)
			f.mu.Lock()
			f.queue = append(f.queue, tasks...)
			f.mu.Unlock()
		}
	}
	return nil
}

func (f *dnsFramework) Update(_ context.Context, ev *schedulerpb.Event_Update) error {
	if st := ev.GetStatus(); st.GetState() == mesospb.TaskState_TASK_RUNNING {
		f.running <- st.GetTaskId().GetValue()
	}
	return nil
}

// launch runs `sleep 600` as task id named name, holding host port port, and waits until it
// runs.
func (f *dnsFramework) launch(id, name string, port uint64) {
	f.t.Helper()
	scalar := func(n string, v float64) *mesospb.Resource {
		return &mesospb.Resource{Name: proto.String(n), Type: mesospb.Value_SCALAR.Enum(), Scalar: &mesospb.Value_Scalar{Value: proto.Float64(v)}}
	}
	task := &mesospb.TaskInfo{
		Name: proto.String(name), TaskId: &mesospb.TaskID{Value: proto.String(id)}, AgentId: &mesospb.AgentID{Value: proto.String("")},
		Resources: []*mesospb.Resource{scalar("cpus", 0.1), scalar("mem", 32), {
			Name: proto.String("ports"), Type: mesospb.Value_RANGES.Enum(),
			Ranges: &mesospb.Value_Ranges{Range: []*mesospb.Value_Range{{Begin: proto.Uint64(port), End: proto.Uint64(port)}}},
		}},
		Command: &mesospb.CommandInfo{Value: proto.String("sleep 600")},
	}
	f.mu.Lock()
	f.queue = append(f.queue, task)
	f.mu.Unlock()
	_ = f.client.Revive(context.Background())
	timeout := time.After(30 * time.Second)
	for {
		select {
		case got := <-f.running:
			if got == id {
				return
			}
		case <-timeout:
			f.t.Fatalf("task %s not RUNNING within 30s", id)
		}
	}
}

// resolvesA reports whether name has an A answer (NOERROR).
func resolvesA(t *testing.T, server, name string) bool {
	r := query(t, server, name, dns.TypeA)
	return r != nil && r.Rcode == dns.RcodeSuccess && len(r.Answer) > 0
}

// TestDNSFollowsZooKeeperLeader runs ZooKeeper, PostgreSQL, two `strata master --zk` sharing
// it, an agent and `strata dns --zk`, all as processes. leader.mesos and _leader._tcp.mesos
// name the first leader; after it is SIGKILLed they name the other master within a bounded
// time, the task launched before the kill keeps resolving throughout (no SERVFAIL, no
// NXDOMAIN), leader.mesos never stops resolving, and a task launched through the new leader
// resolves too.
func TestDNSFollowsZooKeeperLeader(t *testing.T) {
	zk := zkserver.Start(t, 1)
	pg := pgserver.Start(t)
	zkURL := zk.URL("/strata/mesos")
	dsn := pg.CreateDB("strata")
	var masters []*haMaster
	for range 2 {
		m := &haMaster{port: procs.FreePort(t)}
		m.proc = procs.Start(t, strataBin, "master", "--ip", "127.0.0.1", "--port", strconv.Itoa(m.port),
			"--work-dir", t.TempDir(), "--zk", zkURL, "--quorum", "2", "--db", dsn,
			"--zk-session-timeout", zkSessionTimeout.String(), "--agent-ping-timeout", "1s",
			"--max-agent-ping-timeouts", "30", "--allocation-interval", "200ms")
		masters = append(masters, m)
	}
	ap := procs.FreePort(t)
	procs.Start(t, strataBin, "agent", "--work-dir", t.TempDir(), "--master", zkURL, "--ip", "127.0.0.1",
		"--hostname", "127.0.0.1", "--port", strconv.Itoa(ap), "--kill-tasks-on-exit",
		"--resources", "cpus:2;mem:1024;disk:1024;ports:[31000-31100]")
	dp, hp := procs.FreePort(t), procs.FreePort(t)
	procs.Start(t, strataBin, "dns", "--zk", zkURL, "--listener", "127.0.0.1", "--port", strconv.Itoa(dp),
		"--http-listener", "127.0.0.1", "--http-port", strconv.Itoa(hp), "--externalon=false")
	server := fmt.Sprintf("127.0.0.1:%d", dp)

	first := -1
	procs.Eventually(t, 30*time.Second, "a leading master", func() bool { first = leading(masters, -1); return first >= 0 })
	leaderPort := func() string {
		if p := srvPorts(t, server, "_leader._tcp.mesos"); len(p) == 1 {
			return strconv.Itoa(p[0])
		}
		return ""
	}
	want := strconv.Itoa(masters[first].port)
	procs.Eventually(t, 15*time.Second, "_leader._tcp.mesos to name master "+want, func() bool { return leaderPort() == want })
	for _, name := range []string{"leader.mesos", "master.mesos", "master0.mesos"} {
		if !resolvesA(t, server, name) {
			t.Fatalf("A %s does not resolve", name)
		}
	}

	fw := startDNSFramework(t, zkURL, "dnsfw")
	fw.launch("web-1", "web", 31001)
	procs.Eventually(t, 10*time.Second, "web.dnsfw.mesos and its SRV", func() bool {
		p := srvPorts(t, server, "_web._tcp.dnsfw.mesos")
		return resolvesA(t, server, "web.dnsfw.mesos") && len(p) == 1 && p[0] == 31001
	})

	// Watch the names that must live through the failover.
	var failures atomic.Int64
	var lastFailure atomic.Value
	stop, watchDone := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(watchDone)
		for {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
			for _, name := range []string{"web.dnsfw.mesos", "leader.mesos"} {
				r := query(t, server, name, dns.TypeA)
				if r == nil {
					continue // a lost UDP packet is no answer from the server
				}
				if r.Rcode != dns.RcodeSuccess || len(r.Answer) == 0 {
					failures.Add(1)
					lastFailure.Store(fmt.Sprintf("%s: %s, %d answers", name, dns.RcodeToString[r.Rcode], len(r.Answer)))
				}
			}
		}
	}()

	killed := time.Now()
	masters[first].proc.Signal(t, syscall.SIGKILL)
	next := -1
	procs.Eventually(t, 5*zkSessionTimeout, "another master to lead", func() bool { next = leading(masters, first); return next >= 0 })
	led := time.Since(killed)
	want = strconv.Itoa(masters[next].port)
	procs.Eventually(t, 10*time.Second, "_leader._tcp.mesos to name the new leader "+want, func() bool { return leaderPort() == want })
	t.Logf("master %d killed: master %d serving after %v, _leader._tcp.mesos names it after %v", first, next,
		led.Round(time.Millisecond), time.Since(killed).Round(time.Millisecond))

	// A task launched through the new leader resolves, and the old one still does.
	fw.launch("api-1", "api", 31002)
	procs.Eventually(t, 10*time.Second, "api.dnsfw.mesos", func() bool { return resolvesA(t, server, "api.dnsfw.mesos") })
	close(stop)
	<-watchDone
	if n := failures.Load(); n > 0 {
		t.Errorf("%d failed answers across the failover, the last %v", n, lastFailure.Load())
	}
	if p := srvPorts(t, server, "_web._tcp.dnsfw.mesos"); len(p) != 1 || p[0] != 31001 {
		t.Errorf("SRV _web._tcp.dnsfw.mesos ports %v after the failover, want [31001]", p)
	}
	code, body := procs.Request("GET", fmt.Sprintf("http://127.0.0.1:%d/v1/services/_leader._tcp.mesos", hp), "")
	if code != 200 || !strings.Contains(body, `"port":"`+want+`"`) {
		t.Errorf("/v1/services/_leader._tcp.mesos: %d %s, want port %s", code, body, want)
	}
}
