package e2e

import (
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"strata/kernel/e2e/pgserver"
	"strata/kernel/e2e/zkserver"
)

// replicaSessionTimeout is the apps replicas' ZooKeeper session timeout in the failover test.
const replicaSessionTimeout = 4 * time.Second

// appsReplica is one `strata apps --zk --db postgres://` process.
type appsReplica struct {
	base, addr string
	args       []string
	proc       *proc
}

// leaderOf asks base who leads (GET /v2/leader; a standby forwards it to the leader).
func leaderOf(base string) string {
	code, body := request("GET", base+"/v2/leader", "")
	if code != 200 {
		return ""
	}
	var out struct {
		Leader string `json:"leader"`
	}
	_ = json.Unmarshal([]byte(body), &out)
	return out.Leader
}

// TestAppsLeaderKilledDuringDeployment runs two replicas of the apps service that elect their
// leader through ZooKeeper and share PostgreSQL, deploys an app through the standby (which
// forwards), starts a rolling restart, and kills the leading replica with SIGKILL while the new
// version's tasks are starting. The other replica must take over (within 2 × the session
// timeout of the kill, plus loading), finish the deployment, and account for every task: the
// master saw exactly the 3 old and the 3 new tasks, the old ones were killed, the new ones run
// healthy, none was killed, lost or launched twice.
func TestAppsLeaderKilledDuringDeployment(t *testing.T) {
	bb := busybox(t)
	zk := zkserver.Start(t, 1)
	dsn := pgserver.Start(t).CreateDB("apps")
	mp, ap := freePort(t), freePort(t)
	start(t, "dev", "--apps=false", "--jobs=false", "--dns=false", "--work-dir", t.TempDir(),
		"--master-port", fmt.Sprint(mp), "--agent-port", fmt.Sprint(ap))
	master := fmt.Sprintf("127.0.0.1:%d", mp)
	eventually(t, 30*time.Second, "the agent to register", func() bool {
		code, body := request("GET", "http://"+master+"/master/slaves", "")
		return code == 200 && strings.Contains(body, `"active":true`)
	})

	zkURL := zk.URL("/strata/apps")
	var replicas []*appsReplica
	for range 2 {
		port := freePort(t)
		r := &appsReplica{addr: fmt.Sprintf("127.0.0.1:%d", port), base: fmt.Sprintf("http://127.0.0.1:%d", port)}
		r.args = []string{"apps", "--master", master, "--ip", "127.0.0.1", "--port", fmt.Sprint(port),
			"--advertise", r.addr, "--work-dir", t.TempDir(), "--zk", zkURL, "--db", dsn,
			"--zk-session-timeout", replicaSessionTimeout.String(), "--reconciliation-interval", "5s"}
		r.proc = start(t, r.args...)
		replicas = append(replicas, r)
	}
	var leader, standby *appsReplica
	eventually(t, 30*time.Second, "a leading apps replica that both replicas name", func() bool {
		l := leaderOf(replicas[0].base)
		if l == "" || leaderOf(replicas[1].base) != l {
			return false
		}
		for i, r := range replicas {
			if r.addr == l {
				leader, standby = r, replicas[1-i]
			}
		}
		return leader != nil
	})

	// Deployed through the standby, which forwards to the leader.
	mustRequest(t, "POST", standby.base+"/v2/apps", webApp(bb, "/ha", 3, 0), 201)
	first := waitHealthy(t, standby.base, "/ha", 3)

	// A rolling restart whose new tasks take 4 s to serve; the leader dies while they start.
	mustRequest(t, "PUT", standby.base+"/v2/apps/ha", webApp(bb, "/ha", 3, 4), 200)
	eventually(t, 30*time.Second, "the new version's tasks to start", func() bool {
		running := 0
		for _, st := range masterTasks(t, master) {
			if st == "TASK_RUNNING" {
				running++
			}
		}
		return running == 6
	})
	killed := time.Now()
	leader.proc.Signal(t, syscall.SIGKILL)
	eventually(t, 4*replicaSessionTimeout, "the standby to lead", func() bool {
		return leaderOf(standby.base) == standby.addr
	})
	t.Logf("apps leader killed; the standby leads %v later", time.Since(killed).Round(time.Millisecond))

	final := waitHealthy(t, standby.base, "/ha", 3)
	if final.Version == first.Version {
		t.Fatalf("the deployment did not finish: version %s is still the first", final.Version)
	}
	for _, tk := range final.Tasks {
		if first.ids()[tk.ID] {
			t.Errorf("task %s of the old version survived the deployment", tk.ID)
		}
		if tk.Version != final.Version {
			t.Errorf("task %s runs version %s, want %s", tk.ID, tk.Version, final.Version)
		}
	}
	// Every task the master ever saw is accounted for: the 3 old ones killed, the 3 new
	// ones running; nothing launched twice, killed or lost across the failover.
	eventually(t, 20*time.Second, "the master to see exactly the 3 old tasks killed and the 3 new running", func() bool {
		tasks := masterTasks(t, master)
		if len(tasks) != 6 {
			return false
		}
		for id, st := range tasks {
			want := "TASK_RUNNING"
			if first.ids()[id] {
				want = "TASK_KILLED"
			} else if !final.ids()[id] {
				t.Fatalf("the master saw task %s (%s), neither old nor new: launched twice? %v", id, st, tasks)
			}
			if st != want {
				return false
			}
		}
		return true
	})

	// The killed replica comes back as a standby and forwards to the new leader.
	leader.proc = start(t, leader.args...)
	eventually(t, 30*time.Second, "the restarted replica to name the new leader", func() bool {
		return leaderOf(leader.base) == standby.addr
	})
	if a, ok := getApp(leader.base, "/ha"); !ok || !a.healthy(3) || a.Version != final.Version {
		t.Fatalf("the restarted replica's view of /ha: %+v", a)
	}
}

// TestAppsSurvivePostgresRestart stops the apps service's PostgreSQL under a running app and
// starts it again. While it is down the service keeps serving reads from memory and refuses
// changes it cannot store (5xx, nothing deployed); its tasks keep running. Once PostgreSQL is
// back, changes are accepted again without a restart of the service, and no task was killed.
func TestAppsSurvivePostgresRestart(t *testing.T) {
	bb := busybox(t)
	pg := pgserver.Start(t)
	dsn := pg.CreateDB("apps")
	mp, ap, pp := freePort(t), freePort(t), freePort(t)
	start(t, "dev", "--apps=false", "--jobs=false", "--dns=false", "--work-dir", t.TempDir(),
		"--master-port", fmt.Sprint(mp), "--agent-port", fmt.Sprint(ap))
	master := fmt.Sprintf("127.0.0.1:%d", mp)
	base := fmt.Sprintf("http://127.0.0.1:%d", pp)
	svc := start(t, "apps", "--master", master, "--ip", "127.0.0.1", "--port", fmt.Sprint(pp),
		"--work-dir", t.TempDir(), "--db", dsn)
	eventually(t, 30*time.Second, "the apps service", func() bool {
		code, _ := request("GET", base+"/ping", "")
		return code == 200
	})
	mustRequest(t, "POST", base+"/v2/apps", webApp(bb, "/pg", 2, 0), 201)
	first := waitHealthy(t, base, "/pg", 2)

	pg.Stop()
	eventually(t, 30*time.Second, "PostgreSQL to stop", func() bool {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", pg.Port), time.Second)
		if err == nil {
			c.Close()
		}
		return err != nil
	})
	if a, ok := getApp(base, "/pg"); !ok || !a.healthy(2) {
		t.Fatalf("reads while PostgreSQL is down: %+v", a)
	}
	asked := time.Now()
	if code, body := request("PUT", base+"/v2/apps/pg", scaleBody("/pg", 3)); code < 500 {
		t.Fatalf("a change while PostgreSQL is down: %d %s, want a 5xx", code, body)
	} else {
		t.Logf("a change while PostgreSQL is down: %d after %v: %s", code, time.Since(asked).Round(time.Millisecond), body)
	}
	time.Sleep(2 * time.Second)
	if a, _ := getApp(base, "/pg"); a.Instances != 2 || len(masterTasks(t, master)) != 2 {
		t.Fatalf("a change that could not be stored was deployed: %+v", a)
	}

	stopped := time.Now()
	pg.Start()
	restarted := time.Now()
	eventually(t, 30*time.Second, "a change to be accepted again", func() bool {
		code, _ := request("PUT", base+"/v2/apps/pg", scaleBody("/pg", 3))
		return code == 200
	})
	accepted := time.Now()
	final := waitHealthy(t, base, "/pg", 3)
	t.Logf("PostgreSQL restarted in %v; the first change accepted %v after; scaled %v after that",
		restarted.Sub(stopped).Round(time.Millisecond), accepted.Sub(restarted).Round(time.Millisecond),
		time.Since(accepted).Round(time.Millisecond))
	for id := range first.ids() {
		if !final.ids()[id] {
			t.Errorf("task %s did not survive the PostgreSQL restart", id)
		}
	}
	select {
	case <-svc.Done():
		t.Fatalf("the apps service exited:\n%s", svc.Output())
	default:
	}
}

// TestAppsLeaderExitsWhenZooKeeperIsLost kills the ZooKeeper the apps replica leads through:
// the leader steps down (2/3 of its session timeout without a connection) and `strata apps`
// exits with status 3, for its supervisor to restart it as a fresh candidate.
func TestAppsLeaderExitsWhenZooKeeperIsLost(t *testing.T) {
	zk := zkserver.Start(t, 1)
	dsn := pgserver.Start(t).CreateDB("apps")
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	svc := start(t, "apps", "--master", "127.0.0.1:1", "--ip", "127.0.0.1", "--port", fmt.Sprint(port),
		"--advertise", addr, "--work-dir", t.TempDir(), "--zk", zk.URL("/strata/apps"), "--db", dsn,
		"--zk-session-timeout", replicaSessionTimeout.String())
	eventually(t, 30*time.Second, "the replica to lead", func() bool { return leaderOf("http://"+addr) == addr })
	zk.Members[0].Kill()
	select {
	case <-svc.Done():
	case <-time.After(4 * replicaSessionTimeout):
		t.Fatalf("the leader still runs %v after ZooKeeper was lost:\n%s", 4*replicaSessionTimeout, svc.Output())
	}
	if code := svc.ExitCode(); code != 3 {
		t.Fatalf("exit status %d, want 3:\n%s", code, svc.Output())
	}
}
