package e2e

import (
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"strata/kernel/mesos/mesospb"
	"strata/kernel/scheduler"
)

// TestFaultPostgresRestart stops the PostgreSQL server under a running HA cluster (3 masters
// with --db postgres://, an agent without --kill-tasks-on-exit, a checkpointing framework with 3
// running tasks), restarts the agent while the database is down, then starts the database again.
//
// Outcome: while the database is down the leading master keeps leading (nothing in the election
// depends on the store) and serves everything that needs no write: /master/state, offers,
// launches and status updates of the running framework (a task runs to TASK_FINISHED). A new
// framework still gets SUBSCRIBED, but its record is not stored (the master logs "persist
// framework"; it is written at the framework's next change, and a new leader would accept its
// re-subscription all the same). An agent cannot be admitted: its (re-)registration is answered
// 503 and it retries with backoff, keeping its id and its tasks, which keep running. Once the
// database is back (the masters' connection pools reconnect by themselves), the agent
// re-registers, the same task processes are adopted (reconciliation answers TASK_RUNNING), a
// new framework subscribes and launches a task, and no task was killed or lost.
func TestFaultPostgresRestart(t *testing.T) {
	c := startHAAgent(t, "--podman", "off", "--cgroups-root", faultCgroupsRoot(t, 0))
	leader := c.leading(-1)
	fw := startFramework(t, c.zkURL, true)
	defer faultTeardown(t, []*framework{fw}, c.agent)
	tr := faultTrack(t, fw)
	ids := []string{"pg-1", "pg-2", "pg-3"}
	for _, id := range ids {
		fw.launch(id, "sleep 100000")
	}
	tr.awaitAll(ids, mesospb.TaskState_TASK_RUNNING, 0, 60*time.Second)
	var all []faultProc
	procs := map[string][]faultProc{}
	for _, id := range ids {
		procs[id] = faultTree(faultExecutorPid(t, tr.find(id, mesospb.TaskState_TASK_RUNNING, 0)))
		all = append(all, procs[id]...)
	}
	t.Cleanup(func() {
		if n := faultKillTree(all); n > 0 {
			t.Errorf("%d task processes outlived the test", n)
		}
	})
	started := tr.mark()
	alive := func(when string) {
		t.Helper()
		tr.requireAlive(when, ids, procs, started)
	}

	c.pg.Stop()
	down := time.Now()
	if code, _ := faultGet("http://" + c.masters[leader].addr + "/master/state"); code != http.StatusOK {
		t.Fatalf("/master/state with the database down: %d", code)
	}
	mark := tr.mark()
	fw.launch("pg-down", "true")
	tr.awaitState("pg-down", mesospb.TaskState_TASK_FINISHED, mark, 30*time.Second)
	fw2 := startFramework(t, c.zkURL, false)
	select {
	case <-fw2.subscribed:
	case <-time.After(20 * time.Second):
		t.Fatal("a new framework did not subscribe with the database down")
	}
	// The agent restarts: it cannot be admitted, and keeps its tasks.
	c.agentProc.Signal(t, syscall.SIGKILL)
	c.agentProc = start(t, c.agentArgs...)
	waitHTTP(t, "http://"+c.agent+"/health", 20*time.Second)
	eventually(t, 20*time.Second, "the agent to be refused with a 503", func() bool {
		return strings.Contains(c.agentProc.Output(), "503 Service Unavailable")
	})
	if n := activeAgents(t, c.masters[leader].addr); n != 0 {
		t.Fatalf("%d agents active with the database down", n)
	}
	if l := c.leading(-1); l != leader {
		t.Fatalf("master %d leads with the database down, want %d", l, leader)
	}
	alive("database down")

	c.pg.Start()
	faultStopFirst(t, c)
	back := time.Now()
	eventually(t, 60*time.Second, "the agent to re-register", func() bool { return activeAgents(t, c.masters[leader].addr) == 1 })
	t.Logf("database down %v; the agent re-registered %v after it came back", back.Sub(down).Round(time.Millisecond),
		time.Since(back).Round(time.Millisecond))
	if l := c.leading(-1); l != leader {
		t.Fatalf("master %d leads, want %d", l, leader)
	}
	alive("database back")
	fw3 := startFramework(t, c.zkURL, false)
	tr3 := faultTrack(t, fw3)
	fw3.launch("pg-back", "true")
	tr3.awaitState("pg-back", mesospb.TaskState_TASK_FINISHED, 0, 30*time.Second)
	var rec []scheduler.ReconcileTask
	for _, id := range ids {
		rec = append(rec, scheduler.ReconcileTask{TaskID: id, AgentID: fw.agentOf(id).GetValue()})
	}
	mark = tr.mark()
	if err := fw.client.Reconcile(t.Context(), rec); err != nil {
		t.Fatal(err)
	}
	tr.awaitAll(ids, mesospb.TaskState_TASK_RUNNING, mark, 20*time.Second)
	alive("the end")
}

// faultGet GETs url (no redirects) and returns the status code and body (0 without an answer).
func faultGet(url string) (int, string) {
	resp, err := noRedirects.Get(url)
	if err != nil {
		return 0, ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, string(b)
}
