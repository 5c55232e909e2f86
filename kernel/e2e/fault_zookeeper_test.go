package e2e

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"strata/kernel/e2e/zkserver"
	"strata/kernel/mesos/mesospb"
	"strata/kernel/scheduler"
)

// TestFaultZooKeeperMembersLost kills ZooKeeper members under a running HA cluster (3-node
// ensemble, 3 masters, an agent and a checkpointing framework with 2 running tasks, all finding
// the leader through ZooKeeper).
//
// Outcome: one member lost (SIGKILL of the member the leading master's session is connected
// to): the ensemble keeps its quorum, the leading master's session moves to another member
// within a second or so, and it keeps leading (no failover); the framework stays subscribed
// (no re-subscription) and launches a task; the member restarts and rejoins. Two members lost
// (quorum gone): the leading master's session stays disconnected for 2/3 of its timeout, it
// steps down and exits with status 3, and no master leads until the quorum is back; the others
// keep running. With the members restarted (and the stepped-down master started again, as its
// supervisor would), a leader is elected, the agent re-registers, the framework re-subscribes,
// and both tasks are still running (same processes; reconciliation answers TASK_RUNNING).
func TestFaultZooKeeperMembersLost(t *testing.T) {
	c := startHAAgent(t, "--kill-tasks-on-exit", "--podman", "off", "--cgroups-root", faultCgroupsRoot(t, 0))
	fw := startFramework(t, c.zkURL, true)
	tr := faultTrack(t, fw)
	ids := []string{"zk-1", "zk-2"}
	for _, id := range ids {
		fw.launch(id, "sleep 100000")
	}
	tr.awaitAll(ids, mesospb.TaskState_TASK_RUNNING, 0, 60*time.Second)
	procs := map[string][]faultProc{}
	for _, id := range ids {
		procs[id] = faultTree(faultExecutorPid(t, tr.find(id, mesospb.TaskState_TASK_RUNNING, 0)))
	}
	started := tr.mark()
	alive := func(when string) {
		t.Helper()
		tr.requireAlive(when, ids, procs, started)
	}
	for len(fw.subscribed) > 0 {
		<-fw.subscribed
	}

	// One member lost: the one the leader's session uses.
	leader := c.leading(-1)
	lm := c.masters[leader]
	member := faultZKMemberOf(t, c.zk, lm.proc.Pid())
	c.zk.Members[member].Kill()
	killed := time.Now()
	moved := time.Duration(0)
	for time.Since(killed) < 2*haSessionTimeout {
		if l := c.leading(-1); l != leader {
			t.Fatalf("%v after member %d was killed: master %d leads, want %d still", time.Since(killed).Round(time.Millisecond),
				c.zk.Members[member].ID, l, leader)
		}
		if moved == 0 {
			if m := faultZKMemberOf(t, c.zk, lm.proc.Pid()); m >= 0 && m != member {
				moved = time.Since(killed)
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	if moved == 0 {
		t.Fatalf("the leader's session did not move to another member")
	}
	t.Logf("member %d killed: the leader's session moved after %v; master %d kept leading for %v", c.zk.Members[member].ID,
		moved.Round(time.Millisecond), leader, 2*haSessionTimeout)
	if len(fw.subscribed) > 0 {
		t.Fatal("the framework re-subscribed")
	}
	mark := tr.mark()
	fw.launch("zk-one-lost", "true")
	tr.awaitState("zk-one-lost", mesospb.TaskState_TASK_FINISHED, mark, 30*time.Second)
	alive("one member lost")
	c.zk.Members[member].Start()
	c.zk.Members[member].WaitServing(60 * time.Second)

	// Two members lost: no quorum.
	lost := []*zkserver.Member{c.zk.Members[0], c.zk.Members[1]}
	for _, m := range lost {
		m.Kill()
	}
	killed = time.Now()
	select {
	case <-lm.proc.Done():
	case <-time.After(3 * haSessionTimeout):
		t.Fatalf("the leading master did not step down within %v of losing the quorum", 3*haSessionTimeout)
	}
	if code := lm.proc.ExitCode(); code != 3 {
		t.Fatalf("the leading master exited with status %d, want 3", code)
	}
	t.Logf("quorum lost: the leading master exited with status 3 after %v", time.Since(killed).Round(time.Millisecond))
	for i := 0; i < 10; i++ {
		if l := c.leading(-1); l >= 0 {
			t.Fatalf("master %d leads without a ZooKeeper quorum", l)
		}
		time.Sleep(200 * time.Millisecond)
	}
	for i, m := range c.masters {
		select {
		case <-m.proc.Done():
			if i != leader {
				t.Fatalf("master %d (not leading) exited without a quorum:\n%s", i, m.proc.Output())
			}
		default:
		}
	}
	alive("no quorum")

	for _, m := range lost {
		m.Start()
	}
	for _, m := range lost {
		m.WaitServing(60 * time.Second)
	}
	back := time.Now()
	lm.proc = start(t, lm.args...) // back as a candidate, as its supervisor would start it
	faultStopFirst(t, c)
	next := -1
	eventually(t, 60*time.Second, "a leader once the quorum is back", func() bool {
		next = c.leading(-1)
		return next >= 0
	})
	led := time.Since(back)
	eventually(t, 60*time.Second, "the agent to re-register", func() bool { return activeAgents(t, c.masters[next].addr) == 1 })
	agentBack := time.Since(back)
	var subscribed time.Time
	select {
	case subscribed = <-fw.subscribed:
	case <-time.After(60 * time.Second):
		t.Fatal("the framework did not re-subscribe")
	}
	t.Logf("quorum back: master %d leads after %v, the agent re-registered after %v, the framework after %v", next,
		led.Round(time.Millisecond), agentBack.Round(time.Millisecond), subscribed.Sub(back).Round(time.Millisecond))
	alive("quorum back")
	var rec []scheduler.ReconcileTask
	for _, id := range ids {
		rec = append(rec, scheduler.ReconcileTask{TaskID: id, AgentID: fw.agentOf(id).GetValue()})
	}
	mark = tr.mark()
	eventually(t, 10*time.Second, "reconciliation", func() bool { return fw.client.Reconcile(t.Context(), rec) == nil })
	tr.awaitAll(ids, mesospb.TaskState_TASK_RUNNING, mark, 20*time.Second)
	alive("the end")
}

// faultZKMemberOf is the index of the ensemble member that process pid has an established TCP
// connection to (its ZooKeeper session's server), -1 if none.
func faultZKMemberOf(t *testing.T, e *zkserver.Ensemble, pid int) int {
	t.Helper()
	inodes := map[string]bool{}
	fds, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	for _, fd := range fds {
		l, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name()))
		if err == nil && strings.HasPrefix(l, "socket:[") {
			inodes[strings.TrimSuffix(strings.TrimPrefix(l, "socket:["), "]")] = true
		}
	}
	f, err := os.Open(fmt.Sprintf("/proc/%d/net/tcp", pid))
	if err != nil {
		return -1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		// sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
		if len(fields) < 10 || fields[3] != "01" || !inodes[fields[9]] {
			continue
		}
		_, portHex, ok := strings.Cut(fields[2], ":")
		if !ok {
			continue
		}
		port, err := strconv.ParseUint(portHex, 16, 16)
		if err != nil {
			continue
		}
		for i, m := range e.Members {
			if m.ClientPort == int(port) {
				return i
			}
		}
	}
	return -1
}
