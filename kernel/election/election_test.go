package election

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"google.golang.org/protobuf/proto"

	"strata/kernel/e2e/procs"
	"strata/kernel/e2e/zkserver"
	"strata/kernel/mesos/mesospb"
)

var quiet = slog.New(slog.DiscardHandler)

func masterInfo(id, host string, port int) *mesospb.MasterInfo {
	return &mesospb.MasterInfo{Id: proto.String(id), Ip: proto.Uint32(0x0100007f), Port: proto.Uint32(uint32(port)),
		Pid: proto.String(fmt.Sprintf("master@%s:%d", host, port)), Hostname: proto.String(host),
		Address: &mesospb.Address{Hostname: proto.String(host), Ip: proto.String("127.0.0.1"), Port: proto.Int32(int32(port))}}
}

type running struct {
	cancel context.CancelFunc
	done   chan struct{} // closed when Run returned, with err set
	err    *error
}

// wait waits for Run to return and returns its error.
func (r running) wait(t *testing.T, within time.Duration) error {
	t.Helper()
	select {
	case <-r.done:
		return *r.err
	case <-time.After(within):
		t.Fatalf("Run did not return within %s", within)
		return nil
	}
}

func (r running) stop(t *testing.T) error {
	t.Helper()
	r.cancel()
	return r.wait(t, 20*time.Second)
}

func run(t *testing.T, fn func(context.Context) error) running {
	ctx, cancel := context.WithCancel(context.Background())
	r := running{cancel: cancel, done: make(chan struct{}), err: new(error)}
	go func() { *r.err = fn(ctx); close(r.done) }()
	t.Cleanup(func() { cancel(); <-r.done })
	return r
}

func candidate(t *testing.T, url string, n int, timeout time.Duration) (*Candidate, running) {
	t.Helper()
	u, err := ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewCandidate(Config{URL: u, SessionTimeout: timeout, Logger: quiet},
		masterInfo(fmt.Sprintf("master-%d", n), fmt.Sprintf("m%d.example", n), 5050+n))
	if err != nil {
		t.Fatal(err)
	}
	return c, run(t, c.Run)
}

func detector(t *testing.T, url string) *Detector {
	t.Helper()
	u, err := ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	d, err := NewDetector(Config{URL: u, SessionTimeout: 4 * time.Second, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	run(t, d.Run)
	return d
}

func leaderIs(d interface{ Leader() (string, bool) }, want string) func() bool {
	return func() bool { l, ok := d.Leader(); return ok && l == want }
}

// Three masters contend: the first leads, the znodes are Mesos' (json.info_ + 10 digits,
// MasterInfo JSON, nothing else under the path), a detector and every candidate agree, and
// stopping the leader hands leadership to the next in sequence order at once.
func TestElectionInMesosFormat(t *testing.T) {
	ens := zkserver.Start(t, 1)
	url := ens.URL("/strata/mesos")
	d := detector(t, url)

	c1, r1 := candidate(t, url, 1, 4*time.Second)
	select {
	case <-c1.Elected():
	case <-time.After(20 * time.Second):
		t.Fatal("the only candidate was not elected")
	}
	c2, r2 := candidate(t, url, 2, 4*time.Second)
	procs.Eventually(t, 10*time.Second, "c2 to have its child", func() bool { return c2.Sequence() >= 0 })
	c3, _ := candidate(t, url, 3, 4*time.Second)
	for _, c := range []interface{ Leader() (string, bool) }{d, c1, c2, c3} {
		procs.Eventually(t, 10*time.Second, "everyone to see m1 lead", leaderIs(c, "m1.example:5051"))
	}
	procs.Eventually(t, 10*time.Second, "c3 to have its child", func() bool { return c3.Sequence() >= 0 })
	if !c1.IsLeader() || c2.IsLeader() || c3.IsLeader() {
		t.Fatalf("IsLeader: %v %v %v", c1.IsLeader(), c2.IsLeader(), c3.IsLeader())
	}
	if !(c1.Sequence() < c2.Sequence() && c2.Sequence() < c3.Sequence()) {
		t.Errorf("sequences %d %d %d", c1.Sequence(), c2.Sequence(), c3.Sequence())
	}

	// What other tools see in ZooKeeper.
	conn, _, err := zk.Connect(ens.Servers(), 4*time.Second, zk.WithLogInfo(false))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	children, _, err := conn.Children("/strata/mesos")
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(children)
	name := regexp.MustCompile(`^json\.info_[0-9]{10}$`)
	if len(children) != 3 {
		t.Fatalf("children %v, want 3", children)
	}
	for _, c := range children {
		if !name.MatchString(c) {
			t.Errorf("child %q is not json.info_NNNNNNNNNN", c)
		}
	}
	data, stat, err := conn.Get("/strata/mesos/" + children[0])
	if err != nil {
		t.Fatal(err)
	}
	if stat.EphemeralOwner == 0 {
		t.Error("the leader's child is not ephemeral")
	}
	info, addr, err := ParseMasterInfo(data)
	if err != nil || info.GetId() != "master-1" || addr != "m1.example:5051" {
		t.Errorf("leader child: %s → %v %q %v", data, info.GetId(), addr, err)
	}
	for _, field := range []string{`"address"`, `"hostname":"m1.example"`, `"port":5051`, `"pid":"master@m1.example:5051"`} {
		if !regexp.MustCompile(regexp.QuoteMeta(field)).Match(data) {
			t.Errorf("leader child lacks %s: %s", field, data)
		}
	}

	// The leader stops (its session closes): the next one leads.
	start := time.Now()
	if err := r1.stop(t); err != nil {
		t.Fatalf("Run: %v", err)
	}
	select {
	case <-c2.Elected():
	case <-time.After(10 * time.Second):
		t.Fatal("c2 not elected after c1 stopped")
	}
	t.Logf("c2 elected %v after c1 stopped", time.Since(start))
	procs.Eventually(t, 10*time.Second, "the detector to follow", leaderIs(d, "m2.example:5052"))
	procs.Eventually(t, 10*time.Second, "c3 to follow", leaderIs(c3, "m2.example:5052"))
	if c3.IsLeader() {
		t.Error("c3 leads too")
	}
	if err := r2.stop(t); err != nil {
		t.Errorf("Run: %v", err)
	}
	select {
	case <-c2.Lost():
		t.Error("a leader that stopped reports Lost")
	default:
	}
	procs.Eventually(t, 10*time.Second, "c3 to lead", c3.IsLeader)
}

// A leader cut off from ZooKeeper steps down within the session timeout (Lost, Run returns
// ErrLost) and never leads again; once ZooKeeper is back, another candidate is elected.
func TestLeaderStepsDownWhenZooKeeperIsGone(t *testing.T) {
	ens := zkserver.Start(t, 1)
	url := ens.URL("/mesos")
	c1, r1 := candidate(t, url, 1, 3*time.Second)
	<-c1.Elected()
	c2, _ := candidate(t, url, 2, 3*time.Second)
	procs.Eventually(t, 10*time.Second, "c2 to contend", func() bool { return c2.Sequence() >= 0 })

	ens.Members[0].Kill()
	start := time.Now()
	select {
	case <-c1.Lost():
	case <-time.After(10 * time.Second):
		t.Fatal("the leader did not step down with ZooKeeper gone")
	}
	t.Logf("stepped down %v after ZooKeeper was killed (session timeout 3s)", time.Since(start))
	if c1.IsLeader() {
		t.Error("IsLeader after Lost")
	}
	if err := r1.wait(t, 10*time.Second); !errors.Is(err, ErrLost) {
		t.Errorf("Run: %v, want ErrLost", err)
	}

	ens.Members[0].Start()
	ens.Members[0].WaitServing(60 * time.Second)
	select {
	case <-c2.Elected():
	case <-time.After(30 * time.Second):
		t.Fatal("c2 not elected once ZooKeeper was back")
	}
	procs.Eventually(t, 10*time.Second, "c2 to see itself lead", leaderIs(c2, "m2.example:5052"))
}

// With a 3-node ensemble, losing one member keeps the quorum and the leader; losing a second
// loses the quorum, and the leader steps down.
func TestLeaderSurvivesLosingOneZooKeeperMember(t *testing.T) {
	ens := zkserver.Start(t, 3)
	url := ens.URL("/mesos")
	c1, _ := candidate(t, url, 1, 4*time.Second)
	<-c1.Elected()
	d := detector(t, url)
	procs.Eventually(t, 10*time.Second, "the detector", leaderIs(d, "m1.example:5051"))

	ens.Members[0].Kill()
	time.Sleep(6 * time.Second) // longer than the session timeout
	if !c1.IsLeader() {
		t.Fatal("the leader stepped down after one of three ZooKeeper members was lost")
	}
	select {
	case <-c1.Lost():
		t.Fatal("Lost closed")
	default:
	}
	if l, _ := d.Leader(); l != "m1.example:5051" {
		t.Errorf("detector: %q", l)
	}

	ens.Members[1].Kill()
	select {
	case <-c1.Lost():
	case <-time.After(15 * time.Second):
		t.Fatal("the leader kept leading without a ZooKeeper quorum")
	}
}

func TestParseURL(t *testing.T) {
	for _, tc := range []struct {
		in      string
		servers []string
		path    string
		user    string
		err     bool
	}{
		{"zk://h1:2181,h2:2182/mesos", []string{"h1:2181", "h2:2182"}, "/mesos", "", false},
		{"zk://h1/mesos/", []string{"h1:2181"}, "/mesos", "", false},
		{"zk://u:p%40ss@h1:2181/a/b", []string{"h1:2181"}, "/a/b", "u", false},
		{"zk://[::1]:2181/mesos", []string{"[::1]:2181"}, "/mesos", "", false},
		{"zk://h1:2181", nil, "", "", true},
		{"zk://h1:2181/", nil, "", "", true},
		{"zk:///mesos", nil, "", "", true},
		{"http://h1:5050", nil, "", "", true},
	} {
		u, err := ParseURL(tc.in)
		if (err != nil) != tc.err {
			t.Errorf("%s: err %v", tc.in, err)
			continue
		}
		if tc.err {
			continue
		}
		if !slices.Equal(u.Servers, tc.servers) || u.Path != tc.path || u.User != tc.user {
			t.Errorf("%s: %+v", tc.in, u)
		}
	}
	if u, _ := ParseURL("zk://u:p%40ss@h1:2181/a"); u.Password != "p@ss" {
		t.Errorf("password %q", u.Password)
	}
}

func TestParseMasterInfo(t *testing.T) {
	for _, tc := range []struct {
		json, addr string
	}{
		{`{"id":"a","ip":16777343,"port":5050,"address":{"hostname":"m1","ip":"127.0.0.1","port":5050}}`, "m1:5050"},
		{`{"id":"a","ip":16777343,"port":5050,"address":{"ip":"10.0.0.1","port":5051}}`, "10.0.0.1:5051"},
		{`{"id":"a","ip":16777343,"port":5050,"hostname":"old"}`, "old:5050"},
		{`{"id":"a","ip":16777343,"port":5050}`, "127.0.0.1:5050"},
		{`{"id":"a","ip":16777343,"port":5050,"unknown_field":1,"version":"1.11.0"}`, "127.0.0.1:5050"},
	} {
		_, addr, err := ParseMasterInfo([]byte(tc.json))
		if err != nil || addr != tc.addr {
			t.Errorf("%s: %q %v, want %q", tc.json, addr, err, tc.addr)
		}
	}
	for _, bad := range []string{`{`, `{"id":"a"}`, `[]`} {
		if _, _, err := ParseMasterInfo([]byte(bad)); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}
