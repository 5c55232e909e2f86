package e2e

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"strata/kernel/mesos/mesospb"
	"strata/kernel/scheduler"
)

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
