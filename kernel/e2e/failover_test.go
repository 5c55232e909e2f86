package e2e

import (
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"strata/kernel/e2e/pgserver"
	"strata/kernel/e2e/zkserver"
	"strata/kernel/mesos/mesospb"
	"strata/kernel/scheduler"
)

// haSessionTimeout is the masters' ZooKeeper session timeout in the failover tests.
const haSessionTimeout = 4 * time.Second

// haCluster is a highly available cluster of processes: a 3-node ZooKeeper ensemble, a
// PostgreSQL server, three `strata master --zk --db postgres://` and one agent that finds
// the leader through ZooKeeper.
type haCluster struct {
	t       *testing.T
	zk      *zkserver.Ensemble
	pg      *pgserver.Server
	zkURL   string
	masters []*haMaster
	agent   string // host:port
}

type haMaster struct {
	addr string
	args []string
	proc *proc
}

func startHA(t *testing.T) *haCluster {
	t.Helper()
	c := &haCluster{t: t, zk: zkserver.Start(t, 3), pg: pgserver.Start(t)}
	c.zkURL = c.zk.URL("/strata/mesos")
	dsn := c.pg.CreateDB("strata")
	for range 3 {
		port := freePort(t)
		m := &haMaster{addr: fmt.Sprintf("127.0.0.1:%d", port), args: []string{"master", "--ip", "127.0.0.1",
			"--port", strconv.Itoa(port), "--work-dir", t.TempDir(), "--zk", c.zkURL, "--quorum", "2", "--db", dsn,
			"--zk-session-timeout", haSessionTimeout.String(), "--agent-ping-timeout", "1s",
			"--max-agent-ping-timeouts", "30", "--allocation-interval", "200ms"}}
		m.proc = start(t, m.args...)
		c.masters = append(c.masters, m)
	}
	for _, m := range c.masters {
		waitHTTP(t, "http://"+m.addr+"/health", 30*time.Second)
	}
	ap := freePort(t)
	c.agent = fmt.Sprintf("127.0.0.1:%d", ap)
	start(t, "agent", "--work-dir", t.TempDir(), "--master", c.zkURL, "--ip", "127.0.0.1",
		"--hostname", "127.0.0.1", "--port", strconv.Itoa(ap), "--kill-tasks-on-exit", "--resources", "cpus:2;mem:1024;disk:1024;ports:[31000-31100]")
	eventually(t, 60*time.Second, "a leader with the agent registered", func() bool {
		l := c.leading(-1)
		return l >= 0 && activeAgents(t, c.masters[l].addr) == 1
	})
	return c
}

var noRedirects = &http.Client{Timeout: 2 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// leading returns the index of the master that serves /master/state-summary itself (it leads
// and has recovered), skipping index skip; -1 if none does.
func (c *haCluster) leading(skip int) int {
	for i, m := range c.masters {
		if i == skip {
			continue
		}
		resp, err := noRedirects.Get("http://" + m.addr + "/master/state-summary")
		if err != nil {
			continue
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			return i
		}
	}
	return -1
}

// TestMasterFailover kills the leading master with SIGKILL again and again (3 times; set
// STRATA_FAILOVER_KILLS for more) while a checkpointing framework's tasks run. Each time
// another master must lead within 2 × the ZooKeeper session timeout, the framework (which
// finds the leader through ZooKeeper) must be subscribed again, the killed master comes back as
// a candidate, and no task may be killed or lost: the agent still runs every one, and
// reconciliation reports them RUNNING.
func TestMasterFailover(t *testing.T) {
	c := startHA(t)
	fw := startFramework(t, c.zkURL, true)
	ids := []string{"ha-1", "ha-2", "ha-3"}
	for _, id := range ids {
		fw.launch(id, "sleep 600")
	}
	waitAll(t, fw, ids, 60*time.Second, nil)
	kills := 3
	if n, err := strconv.Atoi(os.Getenv("STRATA_FAILOVER_KILLS")); err == nil && n > 0 {
		kills = n
	}
	var toLeader, toSubscribed []time.Duration
	for k := range kills {
		old := c.leading(-1)
		if old < 0 {
			t.Fatal("no leading master")
		}
		for len(fw.subscribed) > 0 {
			<-fw.subscribed
		}
		killed := time.Now()
		c.masters[old].proc.Signal(t, syscall.SIGKILL)
		next := -1
		for deadline := killed.Add(4 * haSessionTimeout); next < 0; time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("kill %d: no other master leads after %v", k+1, 4*haSessionTimeout)
			}
			next = c.leading(old)
		}
		led := time.Now()
		var subscribed time.Time
		select {
		case subscribed = <-fw.subscribed:
		case <-time.After(30 * time.Second):
			t.Fatalf("kill %d: the framework did not subscribe to the new leader", k+1)
		}
		toLeader = append(toLeader, led.Sub(killed))
		// The framework may subscribe before this poll sees the leader serve: never negative.
		toSubscribed = append(toSubscribed, max(0, subscribed.Sub(led)))
		t.Logf("kill %d: master %d → %d serving after %v; framework subscribed %v after the kill", k+1, old, next,
			led.Sub(killed).Round(time.Millisecond), subscribed.Sub(killed).Round(time.Millisecond))
		if d := led.Sub(killed); d > 2*haSessionTimeout {
			t.Errorf("kill %d: new leader after %v, more than 2 × the session timeout", k+1, d)
		}
		eventually(t, 30*time.Second, "the agent to re-register", func() bool { return activeAgents(t, c.masters[next].addr) == 1 })
		c.masters[old].proc = start(t, c.masters[old].args...) // back as a candidate
		waitHTTP(t, "http://"+c.masters[old].addr+"/health", 30*time.Second)
	}
	t.Logf("%d failovers: kill → new leader serving p50 %v p99 %v; → framework subscribed p50 %v p99 %v after that",
		kills, percentile(toLeader, 0.5), percentile(toLeader, 0.99), percentile(toSubscribed, 0.5), percentile(toSubscribed, 0.99))

	// Nothing was killed or lost: no terminal update reached the framework, the agent runs
	// every task, and the leader reconciles them RUNNING.
	for len(fw.updates) > 0 {
		st := <-fw.updates
		if st.GetState() != mesospb.TaskState_TASK_RUNNING {
			t.Errorf("task %s: %s (%s) during the failovers", st.GetTaskId().GetValue(), st.GetState(), st.GetMessage())
		}
	}
	state := getBody(t, "http://"+c.agent+"/state")
	for _, id := range ids {
		if !strings.Contains(state, `"id":"`+id+`"`) {
			t.Errorf("the agent no longer runs %s", id)
		}
	}
	var rec []scheduler.ReconcileTask
	for _, id := range ids {
		rec = append(rec, scheduler.ReconcileTask{TaskID: id, AgentID: fw.agentOf(id).GetValue()})
	}
	eventually(t, 10*time.Second, "reconciliation", func() bool { return fw.client.Reconcile(t.Context(), rec) == nil })
	waitAll(t, fw, ids, 10*time.Second, func(st *mesospb.TaskStatus) {
		if st.GetReason() != mesospb.TaskStatus_REASON_RECONCILIATION {
			t.Errorf("%s: reason %s, want REASON_RECONCILIATION", st.GetTaskId().GetValue(), st.GetReason())
		}
	})
}

// waitAll waits until every task of ids has had a TASK_RUNNING update, passing each to check.
func waitAll(t *testing.T, fw *framework, ids []string, within time.Duration, check func(*mesospb.TaskStatus)) {
	t.Helper()
	left := map[string]bool{}
	for _, id := range ids {
		left[id] = true
	}
	timeout := time.After(within)
	for len(left) > 0 {
		select {
		case st := <-fw.updates:
			id := st.GetTaskId().GetValue()
			if st.GetState() == mesospb.TaskState_TASK_RUNNING && left[id] {
				delete(left, id)
				if check != nil {
					check(st)
				}
			}
		case <-timeout:
			t.Fatalf("tasks %v not RUNNING within %s", left, within)
		}
	}
}
