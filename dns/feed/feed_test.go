package feed

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"

	"strata/dns/records"
	"strata/kernel/agent/simagent"
	"strata/kernel/e2e/cluster"
	"strata/kernel/mesos/mesospb"
)

const webName = "web.marathon.mesos."

func resolves(s *records.Set, name, ip string) bool {
	a := s.A(name)
	return len(a) == 1 && a[0].String() == ip
}

func wantA(t *testing.T, s *records.Set, name, ip string) {
	t.Helper()
	if !resolves(s, name, ip) {
		t.Errorf("A %s = %v, want %s", name, s.A(name), ip)
	}
}

// wantSRV checks that name has exactly one SRV value, with port, whose target ends with
// suffix and resolves to 127.0.0.1.
func wantSRV(t *testing.T, s *records.Set, name string, port uint16, suffix string) {
	t.Helper()
	srv := s.SRV(name)
	if len(srv) != 1 || srv[0].Port != port || !strings.HasPrefix(srv[0].Target, "web-") || !strings.HasSuffix(srv[0].Target, suffix) {
		t.Errorf("SRV %s = %v, want web-….%s:%d", name, srv, suffix, port)
		return
	}
	wantA(t, s, srv[0].Target, "127.0.0.1")
}

func histogram(t *testing.T, tf *testFeed, name string) (count uint64, sum float64) {
	t.Helper()
	mfs, err := tf.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			h := mf.GetMetric()[0].GetHistogram()
			return h.GetSampleCount(), h.GetSampleSum()
		}
	}
	return 0, 0
}

// TestFeedFollowsTasks runs a framework "marathon" launching the task "web" on a real cluster.
// Feed A runs from before the launch (the incremental path), feed B starts once the task runs
// (the SUBSCRIBED snapshot path); both, and a Set loaded from /master/state the way Mesos-DNS
// polls it, must hold the same records. After a kill the names go, and a feed that was stopped
// meanwhile is corrected by its next snapshot.
func TestFeedFollowsTasks(t *testing.T) {
	addr := cluster.Start(t, cluster.Options{Executable: strataBin(t)})
	var readyCalls atomic.Int32
	a := startFeed(t, Config{Masters: []string{addr}, OnReady: func() { readyCalls.Add(1) }})
	a.waitReady(10 * time.Second)
	if a.Leader() != addr || !a.Connected() {
		t.Errorf("Leader() = %q, Connected() = %v; want %q, true", a.Leader(), a.Connected(), addr)
	}
	wantA(t, a.set, "leader.mesos.", "127.0.0.1")
	wantA(t, a.set, "master0.mesos.", "127.0.0.1")
	wantA(t, a.set, "slave.mesos.", "127.0.0.1")
	_, port, _ := strings.Cut(addr, ":")
	if srv := a.set.SRV("_leader._tcp.mesos."); len(srv) != 1 || strconv.Itoa(int(srv[0].Port)) != port {
		t.Errorf("SRV _leader._tcp.mesos. = %v, want port %s", srv, port)
	}

	fw := startFramework(t, addr, "marathon")
	waitFor(t, 20*time.Second, "FRAMEWORK_ADDED: marathon.mesos.", func() bool { return resolves(a.set, "marathon.mesos.", "127.0.0.1") })
	fw.launch(webTask("web-1", 31005))
	_, runningAt := fw.waitState("web-1", mesospb.TaskState_TASK_RUNNING, 60*time.Second)
	waitFor(t, 10*time.Second, webName+" to resolve", func() bool { return resolves(a.set, webName, "127.0.0.1") })
	t.Logf("%s resolved at most %v after the framework received TASK_RUNNING", webName, time.Since(runningAt))
	wantA(t, a.set, "web.marathon.slave.mesos.", "127.0.0.1")
	wantSRV(t, a.set, "_web._tcp.marathon.mesos.", 8080, ".marathon.mesos.")
	wantSRV(t, a.set, "_http._web._tcp.marathon.mesos.", 8080, ".marathon.mesos.")
	wantSRV(t, a.set, "_web._tcp.marathon.slave.mesos.", 31005, ".marathon.slave.mesos.")

	b := startFeed(t, Config{Masters: []string{addr}})
	b.waitReady(10 * time.Second)
	waitFor(t, 5*time.Second, "the incremental and the snapshot feed to agree", func() bool { return dump(a.set) == dump(b.set) })

	// The same cluster through /master/state and records.ParseMasterState, as Mesos-DNS polls it.
	resp, err := http.Get("http://" + addr + "/master/state")
	if err != nil {
		t.Fatal(err)
	}
	st, err := records.ParseMasterState(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	st.Masters = []string{addr}
	polled, _ := records.New(records.Config{})
	polled.Replace(st)
	if got, want := dump(a.set), dump(polled); got != want {
		t.Errorf("the feed and /master/state disagree:\nfeed:\n%s\n/master/state:\n%s", got, want)
	}

	// Kill the task with feed A stopped: B drops the names at once, A keeps its last records
	// until its next snapshot corrects them.
	before := dump(a.set)
	a.stop()
	fw.kill("web-1")
	_, killedAt := fw.waitState("web-1", mesospb.TaskState_TASK_KILLED, 30*time.Second)
	waitFor(t, 10*time.Second, webName+" to go", func() bool { return !b.set.Exists(webName) })
	t.Logf("%s gone at most %v after the framework received TASK_KILLED", webName, time.Since(killedAt))
	for _, name := range []string{"web.marathon.slave.mesos.", "_web._tcp.marathon.mesos.", "_web._tcp.marathon.slave.mesos.", "_http._web._tcp.marathon.mesos."} {
		if b.set.Exists(name) {
			t.Errorf("%s still exists after the kill", name)
		}
	}
	if dump(a.set) != before {
		t.Error("a stopped feed changed its records")
	}
	a.run()
	waitFor(t, 10*time.Second, "the restarted feed's snapshot to drop "+webName, func() bool { return !a.set.Exists(webName) })
	waitFor(t, 5*time.Second, "the feeds to agree after the kill", func() bool { return dump(a.set) == dump(b.set) })
	if n := readyCalls.Load(); n != 1 {
		t.Errorf("OnReady called %d times, want once", n)
	}

	for name, tf := range map[string]*testFeed{"A (launch: STARTING, RUNNING)": a, "B (kill: KILLED)": b} {
		n, sum := histogram(t, tf, "strata_dns_programming_latency_seconds")
		if n == 0 {
			t.Errorf("feed %s: no programming latency observed", name)
			continue
		}
		t.Logf("programming latency (status timestamp → Set), feed %s: %d TASK_UPDATED, mean %v", name, n, time.Duration(sum/float64(n)*1e9))
	}
	if got := b.counter("strata_dns_feed_events_total", "type", "TASK_UPDATED"); got == 0 {
		t.Error("strata_dns_feed_events_total{type=TASK_UPDATED} is 0")
	}
	mfs, err := a.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	if problems, err := promlint.NewWithMetricFamilies(mfs).Lint(); err != nil || len(problems) > 0 {
		t.Errorf("promlint: %v %v", problems, err)
	}
}

// TestFeedSurvivesMasterRestart stops the master: the records stay. It restarts it on the
// same port with the same work dir while the agent cannot reach it (its connection goes
// through a proxy that is blocked): the new master knows the agent only from its registry, so
// the names live on as carried over until the agent re-registers, and never vanish.
func TestFeedSurvivesMasterRestart(t *testing.T) {
	dir := t.TempDir()
	m := startMaster(t, dir, listen(t, "127.0.0.1:0"), nil)
	addr := m.addr
	agentPath := startProxy(t, addr)
	startAgent(t, agentPath.addr())
	fw := startFramework(t, addr, "marathon")
	f := startFeed(t, Config{Masters: []string{addr}})
	f.waitReady(10 * time.Second)
	fw.launch(webTask("web-1", 31007))
	fw.waitState("web-1", mesospb.TaskState_TASK_RUNNING, 60*time.Second)
	waitFor(t, 10*time.Second, webName+" to resolve", func() bool { return resolves(f.set, webName, "127.0.0.1") })
	before := dump(f.set)

	var vanished atomic.Int64
	stopWatch := make(chan struct{})
	watchDone := make(chan struct{})
	go func() {
		defer close(watchDone)
		for {
			select {
			case <-stopWatch:
				return
			default:
			}
			if !resolves(f.set, webName, "127.0.0.1") {
				vanished.Add(1)
			}
			time.Sleep(time.Millisecond)
		}
	}()

	m.stop()
	agentPath.block()
	waitFor(t, 10*time.Second, "the feed to notice the master is gone", func() bool { return !f.Connected() })
	waitFor(t, 10*time.Second, "reconnection attempts", func() bool { return f.counter("strata_dns_feed_reconnects_total") >= 2 })
	if dump(f.set) != before {
		t.Errorf("records changed while the master was down:\n%s\nwant\n%s", dump(f.set), before)
	}

	startMaster(t, dir, listen(t, addr), nil)
	waitFor(t, 20*time.Second, "the feed to reconnect", f.Connected)
	if n := f.counter("strata_dns_feed_carried_over_tasks"); n != 1 {
		t.Errorf("strata_dns_feed_carried_over_tasks = %v, want 1 (the agent has not re-registered)", n)
	}
	agentPath.open()
	waitFor(t, 30*time.Second, "the agent to re-register", func() bool { return agentActive(addr) })
	waitFor(t, 10*time.Second, "the carried-over task to be confirmed", func() bool {
		return f.counter("strata_dns_feed_carried_over_tasks") == 0
	})
	fresh := startFeed(t, Config{Masters: []string{addr}})
	fresh.waitReady(10 * time.Second)
	waitFor(t, 10*time.Second, "the feed to match a fresh one", func() bool { return dump(f.set) == dump(fresh.set) })
	close(stopWatch)
	<-watchDone
	if n := vanished.Load(); n > 0 {
		t.Errorf("%s failed to resolve %d times across the master restart", webName, n)
	}
	if !resolves(f.set, webName, "127.0.0.1") {
		t.Errorf("%s does not resolve after the restart", webName)
	}
}

// TestFeedDropsStalledStream freezes the stream (the connection stays open, nothing arrives):
// after MissedHeartbeats heartbeat intervals the feed drops it and subscribes again, keeping
// its records.
func TestFeedDropsStalledStream(t *testing.T) {
	m := startMaster(t, t.TempDir(), listen(t, "127.0.0.1:0"), nil) // heartbeats every 300 ms
	p := startProxy(t, m.addr)
	f := startFeed(t, Config{Masters: []string{p.addr()}})
	f.waitReady(10 * time.Second)
	before := dump(f.set)
	frozenAt := time.Now()
	p.freeze()
	waitFor(t, 10*time.Second, "the stalled stream to be dropped", func() bool { return f.counter("strata_dns_feed_reconnects_total") >= 1 })
	t.Logf("stalled stream dropped %v after the freeze (heartbeat 300 ms × %d)", time.Since(frozenAt), DefaultMissedHeartbeats)
	waitFor(t, 10*time.Second, "the feed to subscribe again", f.Connected)
	if got := dump(f.set); got != before {
		t.Errorf("records changed:\n%s\nwant\n%s", got, before)
	}
	if n := f.counter("strata_dns_feed_events_total", "type", "SUBSCRIBED"); n != 2 {
		t.Errorf("%v SUBSCRIBED events, want 2", n)
	}
}

// sharedLeader is the leadership two masters agree on, switched by the test.
type sharedLeader struct{ addr atomic.Value }

type leaderView struct {
	s    *sharedLeader
	self string
}

func (l leaderView) Leader() (string, bool) { a, _ := l.s.addr.Load().(string); return a, a != "" }
func (l leaderView) IsLeader() bool         { a, _ := l.s.addr.Load().(string); return a == l.self }

// TestFeedFollowsTheLeader runs two masters: B answers 307 to A, the leader. The feed, given
// [B, A], follows the redirect; when A stops and B takes over, it finds B and B's snapshot
// replaces A's records.
func TestFeedFollowsTheLeader(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	// Distinct IPs: Mesos-DNS numbers masters by IP, one masterN name per address.
	lnA, lnB := listen(t, "127.0.0.1:0"), listen(t, "127.0.0.2:0")
	addrA, addrB := lnA.Addr().String(), lnB.Addr().String()
	lead := &sharedLeader{}
	lead.addr.Store(addrA)
	a := startMaster(t, t.TempDir(), lnA, leaderView{lead, addrA})
	startMaster(t, t.TempDir(), lnB, leaderView{lead, addrB})
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if _, err := simagent.Start(ctx, simagent.Config{Master: addrA, Hostname: "sim", Port: 5051, Address: "127.0.0.7:5051"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the simulated agent to register", func() bool { return agentActive(addrA) })

	f := startFeed(t, Config{Masters: []string{addrB, addrA}})
	f.waitReady(10 * time.Second)
	if f.Leader() != addrA {
		t.Errorf("Leader() = %q, want %q", f.Leader(), addrA)
	}
	wantA(t, f.set, "slave.mesos.", "127.0.0.7")
	wantA(t, f.set, "leader.mesos.", "127.0.0.1")
	wantA(t, f.set, "master0.mesos.", "127.0.0.2")
	wantA(t, f.set, "master1.mesos.", "127.0.0.1")
	_, portA, _ := strings.Cut(addrA, ":")
	_, portB, _ := strings.Cut(addrB, ":")
	var got []string
	for _, s := range f.set.SRV("_master._tcp.mesos.") {
		got = append(got, s.String())
	}
	slices.Sort(got)
	if want := []string{"master0.mesos.:" + portB, "master1.mesos.:" + portA}; !slices.Equal(got, want) {
		t.Errorf("SRV _master._tcp.mesos. = %v, want %v", got, want)
	}

	a.stop()
	lead.addr.Store(addrB)
	waitFor(t, 20*time.Second, "the feed to find the new leader", func() bool { return f.Connected() && f.Leader() == addrB })
	if srv := f.set.SRV("_leader._tcp.mesos."); len(srv) != 1 || strconv.Itoa(int(srv[0].Port)) != portB {
		t.Errorf("SRV _leader._tcp.mesos. = %v, want port %s", srv, portB)
	}
	wantA(t, f.set, "leader.mesos.", "127.0.0.2")
	if f.set.Exists("slave.mesos.") {
		t.Errorf("slave.mesos. = %v after B's snapshot, which has no agent", f.set.A("slave.mesos."))
	}
}
