package e2e

import (
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"

	"strata/kernel/e2e/pgserver"
	"strata/kernel/e2e/procs"
	"strata/kernel/e2e/zkserver"
	"strata/kernel/mesos/mesospb"
)

// haSessionTimeout is the masters' ZooKeeper session timeout in the HA tests.
const haSessionTimeout = 4 * time.Second

// haCluster is a highly available cluster of processes: a 3-node ZooKeeper ensemble, a
// PostgreSQL server, three `strata master --zk --db postgres://` and one agent that finds
// the leader through ZooKeeper.
type haCluster struct {
	t         *testing.T
	zk        *zkserver.Ensemble
	pg        *pgserver.Server
	zkURL     string
	masters   []*haMaster
	agent     string   // host:port
	agentArgs []string // to start the agent again
	agentProc *proc
}

type haMaster struct {
	addr string
	args []string
	proc *proc
}

// startHA starts an HA cluster whose agent kills its tasks when it stops (--kill-tasks-on-exit).
func startHA(t *testing.T) *haCluster {
	t.Helper()
	return startHAAgent(t, "--kill-tasks-on-exit")
}

// startHAAgent starts an HA cluster whose agent gets agentFlags on top of the usual ones.
func startHAAgent(t *testing.T, agentFlags ...string) *haCluster {
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
	c.agentArgs = append([]string{"agent", "--work-dir", t.TempDir(), "--master", c.zkURL, "--ip", "127.0.0.1",
		"--hostname", "127.0.0.1", "--port", strconv.Itoa(ap), "--resources", "cpus:2;mem:1024;disk:1024;ports:[31000-31100]"},
		agentFlags...)
	c.agentProc = start(t, c.agentArgs...)
	eventually(t, 60*time.Second, "a leader with the agent registered", func() bool {
		l := c.leading(-1)
		return l >= 0 && activeAgents(t, c.masters[l].addr) == 1
	})
	return c
}

var noRedirects = &http.Client{Timeout: 2 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// leading returns the index of the leading master (procs.LeadingMaster), skipping skip.
func (c *haCluster) leading(skip int) int {
	addrs := make([]string, len(c.masters))
	for i, m := range c.masters {
		addrs[i] = m.addr
	}
	return procs.LeadingMaster(addrs, skip)
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
