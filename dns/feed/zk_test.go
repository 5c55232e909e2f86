package feed

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"strata/dns/records"
	"strata/kernel/agent/simagent"
	"strata/kernel/e2e/cluster"
	"strata/kernel/e2e/zkserver"
	"strata/kernel/election"
	"strata/kernel/mesos/mesospb"
)

// logRecorder is a slog.Handler that keeps every record's level and message.
type logRecorder struct {
	mu   sync.Mutex
	msgs []string
}

func (l *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (l *logRecorder) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *logRecorder) WithGroup(string) slog.Handler            { return l }

func (l *logRecorder) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.msgs = append(l.msgs, r.Level.String()+" "+r.Message)
	return nil
}

// has reports whether a record of level holds substr.
func (l *logRecorder) has(level slog.Level, substr string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, m := range l.msgs {
		if strings.HasPrefix(m, level.String()+" ") && strings.Contains(m, substr) {
			return true
		}
	}
	return false
}

// zkElection writes Mesos election znodes (json.info_NNNNNNNNNN holding a MasterInfo) as a
// contending master would, so that a test decides who leads.
type zkElection struct {
	t    *testing.T
	conn *zk.Conn
	path string
}

func newZKElection(t *testing.T, servers []string, path string) *zkElection {
	t.Helper()
	conn, _, err := zk.Connect(servers, 5*time.Second, zk.WithLogInfo(false))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(conn.Close)
	if _, err := conn.Create(path, nil, 0, zk.WorldACL(zk.PermAll)); err != nil && !errors.Is(err, zk.ErrNodeExists) {
		t.Fatalf("create %s: %v", path, err)
	}
	return &zkElection{t: t, conn: conn, path: path}
}

// contend adds the election child of the master at addr ("ip:port") and returns its path.
func (e *zkElection) contend(addr string) string {
	e.t.Helper()
	host, port, _ := net.SplitHostPort(addr)
	p, _ := strconv.Atoi(port)
	info := &mesospb.MasterInfo{
		Id: proto.String("master-" + addr), Ip: proto.Uint32(0), Port: proto.Uint32(uint32(p)),
		Pid: proto.String("master@" + addr), Hostname: proto.String(host),
		Address: &mesospb.Address{Hostname: proto.String(host), Ip: proto.String(host), Port: proto.Int32(int32(p))},
	}
	b, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(info)
	if err != nil {
		e.t.Fatal(err)
	}
	node, err := e.conn.Create(e.path+"/json.info_", b, zk.FlagEphemeral|zk.FlagSequence, zk.WorldACL(zk.PermAll))
	if err != nil {
		e.t.Fatalf("create the election child of %s: %v", addr, err)
	}
	return node
}

func (e *zkElection) withdraw(node string) {
	e.t.Helper()
	if err := e.conn.Delete(node, -1); err != nil {
		e.t.Fatalf("delete %s: %v", node, err)
	}
}

func srvPort(s *records.Set, name string) string {
	srv := s.SRV(name)
	if len(srv) != 1 {
		return ""
	}
	return strconv.Itoa(int(srv[0].Port))
}

// TestFeedFollowsZooKeeper runs two masters, A (leading, with an agent) and B, and a real
// ZooKeeper whose election znodes the test writes. A feed following the detector waits for a
// leader (logging an error after DetectionTimeout), subscribes to A once ZooKeeper names it,
// and when ZooKeeper names B, drops A's stream although A still serves it, points the leader
// names at B and loads B's snapshot, never losing leader.D meanwhile. A second feed, with B as
// a static master too, numbers masterN from the detected leader and then B.
func TestFeedFollowsZooKeeper(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: starts ZooKeeper and two masters")
	}
	zks := zkserver.Start(t, 1)
	u, err := election.ParseURL(zks.URL("/mesos"))
	if err != nil {
		t.Fatal(err)
	}
	det, err := election.NewDetector(election.Config{URL: u, Logger: cluster.QuietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	detDone := make(chan struct{})
	go func() { defer close(detDone); _ = det.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-detDone })
	elect := newZKElection(t, zks.Servers(), u.Path)

	lnA, lnB := listen(t, "127.0.0.1:0"), listen(t, "127.0.0.2:0")
	addrA, addrB := lnA.Addr().String(), lnB.Addr().String()
	_, portA, _ := strings.Cut(addrA, ":")
	_, portB, _ := strings.Cut(addrB, ":")
	lead := &sharedLeader{}
	lead.addr.Store(addrA)
	startMaster(t, t.TempDir(), lnA, leaderView{lead, addrA})
	startMaster(t, t.TempDir(), lnB, leaderView{lead, addrB})
	if _, err := simagent.Start(ctx, simagent.Config{Master: addrA, Hostname: "sim", Port: 5051, Address: "127.0.0.7:5051"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the simulated agent to register", func() bool { return agentActive(addrA) })

	logs := &logRecorder{}
	f := startFeed(t, Config{Detector: det, DetectionTimeout: 300 * time.Millisecond, Logger: slog.New(logs)})
	waitFor(t, 5*time.Second, "the detection timeout error", func() bool {
		return logs.has(slog.LevelError, "no leading master detected")
	})
	if f.isReady() {
		t.Fatal("the feed is ready with no leader detected")
	}

	nodeA := elect.contend(addrA)
	f.waitReady(10 * time.Second)
	if f.Leader() != addrA {
		t.Errorf("Leader() = %q, want %q", f.Leader(), addrA)
	}
	wantA(t, f.set, "leader.mesos.", "127.0.0.1")
	wantA(t, f.set, "master0.mesos.", "127.0.0.1")
	wantA(t, f.set, "slave.mesos.", "127.0.0.7")
	if p := srvPort(f.set, "_leader._tcp.mesos."); p != portA {
		t.Errorf("SRV _leader._tcp.mesos. port %q, want %s", p, portA)
	}

	g := startFeed(t, Config{Detector: det, Masters: []string{addrB}})
	g.waitReady(10 * time.Second)
	wantA(t, g.set, "master0.mesos.", "127.0.0.1")
	wantA(t, g.set, "master1.mesos.", "127.0.0.2")
	if got := g.set.A("master.mesos."); len(got) != 2 {
		t.Errorf("A master.mesos. = %v, want A's and B's", got)
	}

	// leader.mesos. must never vanish across the change.
	var vanished atomic.Int64
	stopWatch, watchDone := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(watchDone)
		for {
			select {
			case <-stopWatch:
				return
			default:
			}
			if len(f.set.A("leader.mesos.")) != 1 {
				vanished.Add(1)
			}
			time.Sleep(time.Millisecond)
		}
	}()

	// B takes over while A keeps running (and keeps the feed's stream open).
	lead.addr.Store(addrB)
	changedAt := time.Now()
	elect.contend(addrB)
	elect.withdraw(nodeA)
	waitFor(t, 10*time.Second, "the feed to subscribe to B", func() bool { return f.Connected() && f.Leader() == addrB })
	t.Logf("subscribed to the new leader %v after its znode led", time.Since(changedAt).Round(time.Millisecond))
	close(stopWatch)
	<-watchDone
	if n := vanished.Load(); n > 0 {
		t.Errorf("leader.mesos. did not resolve %d times across the change", n)
	}
	if !logs.has(slog.LevelInfo, "dropping the stream") {
		t.Error("the feed did not drop the deposed master's stream on the detector's word")
	}
	wantA(t, f.set, "leader.mesos.", "127.0.0.2")
	wantA(t, f.set, "master0.mesos.", "127.0.0.2")
	if p := srvPort(f.set, "_leader._tcp.mesos."); p != portB {
		t.Errorf("SRV _leader._tcp.mesos. port %q, want %s", p, portB)
	}
	if f.set.Exists("slave.mesos.") {
		t.Errorf("slave.mesos. = %v after B's snapshot, which has no agent", f.set.A("slave.mesos."))
	}
	if n := f.counter("strata_dns_feed_leader_changes_total"); n < 1 {
		t.Errorf("strata_dns_feed_leader_changes_total = %v, want at least 1", n)
	}
	waitFor(t, 10*time.Second, "the second feed to follow B", func() bool { return g.Connected() && g.Leader() == addrB })
	wantA(t, g.set, "master0.mesos.", "127.0.0.2")
	if g.set.Exists("master1.mesos.") {
		t.Errorf("master1.mesos. = %v, want B named once", g.set.A("master1.mesos."))
	}
	var got []string
	for _, s := range g.set.SRV("_master._tcp.mesos.") {
		got = append(got, s.String())
	}
	if want := []string{"master0.mesos.:" + portB}; !slices.Equal(got, want) {
		t.Errorf("SRV _master._tcp.mesos. = %v, want %v", got, want)
	}
}
