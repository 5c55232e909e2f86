package e2e

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"strata/kernel/mesos/mesospb"
	"strata/kernel/mesos/taskstate"
	"strata/kernel/scheduler"
)

// faultAgent is one agent process of a fault test, restarted with the same arguments (and so
// the same work dir and port).
type faultAgent struct {
	addr string
	port uint32
	args []string
	proc *proc
}

// TestFaultAgentsRestartUnderLoad restarts each of two agents in turn, with SIGTERM and then
// with SIGKILL (4 restarts), while a checkpointing framework runs 20 long tasks spread over
// both and a second framework keeps launching short tasks and killing others.
//
// Outcome: every long task keeps running through every restart (the same executor and task
// processes, same pids and start times); the restarted agent re-attaches them, the master keeps
// reporting them TASK_RUNNING, the framework never gets another state for them, and
// reconciliation at the end answers TASK_RUNNING for all 20. A task that finished while its
// agent was down (its executor keeps the TASK_FINISHED until the agent is back) is reported
// TASK_FINISHED after the agent re-registers, not before. Every short task of the load reaches a
// terminal state; the test logs which (FINISHED, KILLED, and the odd DROPPED or FAILED for one
// caught by the restart).
func TestFaultAgentsRestartUnderLoad(t *testing.T) {
	_, master, _, _ := startCluster(t)
	resources := "cpus:8;mem:4096;disk:1024;ports:[31000-31100]"
	var agents []*faultAgent
	for i := range 2 {
		args, addr := agentArgsFor(t, master, t.TempDir(), "--resources", resources, "--podman", "off",
			"--cgroups-root", faultCgroupsRoot(t, i))
		var port uint32
		fmt.Sscanf(addr[strings.LastIndexByte(addr, ':')+1:], "%d", &port)
		agents = append(agents, &faultAgent{addr: addr, port: port, args: args, proc: start(t, args...)})
	}
	eventually(t, 20*time.Second, "both agents to register", func() bool { return activeAgents(t, master) == 2 })

	// Tasks are pinned to an agent through the offers' url.
	pinned := map[string]uint32{}
	long := startFramework(t, master, true)
	long.mu.Lock()
	long.fits = func(o *mesospb.Offer, ti *mesospb.TaskInfo) bool {
		return pinned[ti.GetTaskId().GetValue()] == uint32(o.GetUrl().GetAddress().GetPort())
	}
	long.mu.Unlock()
	load := startFramework(t, master, true)
	var addrs []string
	for _, a := range agents {
		addrs = append(addrs, a.addr)
	}
	// Deferred, not a cleanup: the agents restarted below must still run.
	defer faultTeardown(t, []*framework{long, load}, addrs...)
	tr := faultTrack(t, long)

	var ids []string
	long.mu.Lock()
	for i := range 20 {
		id := fmt.Sprintf("long-%02d", i)
		ids = append(ids, id)
		pinned[id] = agents[i%2].port
	}
	long.mu.Unlock()
	for _, id := range ids {
		long.launch(id, "sleep 100000")
	}
	tr.awaitAll(ids, mesospb.TaskState_TASK_RUNNING, 0, 90*time.Second)
	procs := map[string][]faultProc{}
	var all []faultProc
	for _, id := range ids {
		ps := faultTree(faultExecutorPid(t, tr.find(id, mesospb.TaskState_TASK_RUNNING, 0)))
		if len(ps) < 2 {
			t.Fatalf("task %s: executor without a task process: %v", id, ps)
		}
		procs[id] = ps
		all = append(all, ps...)
	}
	t.Cleanup(func() {
		if n := faultKillTree(all); n > 0 {
			t.Errorf("%d processes of the long tasks outlived the test", n)
		}
	})
	started := tr.mark()

	stopLoad, loadDone := faultLoad(load)
	checkLong := func(when string) {
		t.Helper()
		for _, id := range ids {
			if !faultAlive(procs[id]) {
				t.Fatalf("%s: task %s's processes %v are gone", when, id, procs[id])
			}
		}
		tr.poll()
		if bad := tr.other(ids, started, mesospb.TaskState_TASK_RUNNING); len(bad) > 0 {
			t.Fatalf("%s: long tasks left RUNNING: %v", when, bad)
		}
	}

	rounds := []struct {
		agent int
		sig   syscall.Signal
	}{{0, syscall.SIGTERM}, {1, syscall.SIGTERM}, {0, syscall.SIGKILL}, {1, syscall.SIGKILL}}
	for r, rd := range rounds {
		ag := agents[rd.agent]
		what := fmt.Sprintf("round %d (%s to agent %d)", r+1, rd.sig, rd.agent)
		fin := fmt.Sprintf("finish-%d", r)
		long.mu.Lock()
		pinned[fin] = ag.port
		long.mu.Unlock()
		mark := tr.mark()
		long.launch(fin, "sleep 2")
		st := tr.awaitState(fin, mesospb.TaskState_TASK_RUNNING, mark, 30*time.Second)
		finProcs := faultTree(faultExecutorPid(t, st))
		all = append(all, finProcs...)

		down := time.Now()
		ag.proc.Signal(t, rd.sig)
		checkLong(what + ", agent down")
		// The finisher's command ends while the agent is down; its executor keeps the update.
		eventually(t, 10*time.Second, fin+"'s command to end", func() bool {
			return len(faultTree(finProcs[0].pid)) <= 1
		})
		tr.poll()
		if st := tr.find(fin, mesospb.TaskState_TASK_FINISHED, mark); st != nil {
			t.Fatalf("%s: %s FINISHED reported while its agent was down", what, fin)
		}
		ag.proc = start(t, ag.args...)
		eventually(t, 30*time.Second, "the agent to re-register", func() bool { return activeAgents(t, master) == 2 })
		back := time.Now()
		tr.awaitState(fin, mesospb.TaskState_TASK_FINISHED, mark, 30*time.Second)
		checkLong(what + ", agent back")
		states := faultAgentTasks(t, ag.addr)
		for i, id := range ids {
			if i%2 == rd.agent && states[id] != "TASK_RUNNING" {
				t.Fatalf("%s: the restarted agent reports %s as %q", what, id, states[id])
			}
		}
		t.Logf("%s: down %v, re-registered and %s delivered %v later", what,
			back.Sub(down).Round(time.Millisecond), fin, time.Since(back).Round(time.Millisecond))
	}

	// The master reports the long tasks RUNNING, and reconciliation says so too.
	eventually(t, 10*time.Second, "the master to report the long tasks RUNNING", func() bool {
		states := faultMasterTasks(t, master, long.client.FrameworkID())
		for _, id := range ids {
			if states[id] != "TASK_RUNNING" {
				return false
			}
		}
		return true
	})
	var rec []scheduler.ReconcileTask
	for _, id := range ids {
		rec = append(rec, scheduler.ReconcileTask{TaskID: id, AgentID: long.agentOf(id).GetValue()})
	}
	mark := tr.mark()
	if err := long.client.Reconcile(t.Context(), rec); err != nil {
		t.Fatal(err)
	}
	tr.awaitAll(ids, mesospb.TaskState_TASK_RUNNING, mark, 20*time.Second)
	checkLong("the end")

	close(stopLoad)
	sum := <-loadDone
	t.Logf("load: %s", sum)
	if sum.launched < 10 {
		t.Errorf("the load launched only %d tasks", sum.launched)
	}
	if len(sum.unfinished) > 0 {
		t.Errorf("load tasks without a terminal state: %v", sum.unfinished)
	}
}

// faultLoadSummary is what faultLoad did.
type faultLoadSummary struct {
	launched   int
	states     map[string]int // terminal state → tasks
	unfinished []string
}

func (s faultLoadSummary) String() string {
	var parts []string
	for st, n := range s.states {
		parts = append(parts, fmt.Sprintf("%s %d", st, n))
	}
	sort.Strings(parts)
	return fmt.Sprintf("%d tasks launched: %s", s.launched, strings.Join(parts, ", "))
}

// faultLoad keeps launching short tasks on fw (sleep 0.2), and every third one a long task it
// kills once RUNNING, with at most 6 unfinished at a time, until stop is closed; then it waits
// (up to 60s) for every task it launched to reach a terminal state and reports.
func faultLoad(fw *framework) (stop chan struct{}, done chan faultLoadSummary) {
	stop, done = make(chan struct{}), make(chan faultLoadSummary, 1)
	go func() {
		sum := faultLoadSummary{states: map[string]int{}}
		live := map[string]bool{}
		kill := map[string]bool{}
		handle := func(st *mesospb.TaskStatus) {
			id := st.GetTaskId().GetValue()
			if !live[id] {
				return
			}
			switch s := st.GetState(); {
			case taskstate.IsTerminal(s):
				delete(live, id)
				sum.states[s.String()]++
			case s == mesospb.TaskState_TASK_RUNNING && kill[id]:
				delete(kill, id)
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				if err := fw.client.Kill(ctx, &mesospb.TaskID{Value: proto.String(id)}, fw.agentOf(id), nil); err != nil {
					kill[id] = true // again on the next update or reconciliation
				}
				cancel()
			}
		}
		tick := time.NewTicker(150 * time.Millisecond)
		defer tick.Stop()
	launching:
		for i := 0; ; {
			select {
			case <-stop:
				break launching
			case st := <-fw.updates:
				handle(st)
			case <-tick.C:
				if len(live) >= 6 {
					continue
				}
				id := fmt.Sprintf("load-%d", i)
				live[id] = true
				if i%3 == 2 {
					kill[id] = true
					fw.launch(id, "sleep 60")
				} else {
					fw.launch(id, "sleep 0.2")
				}
				i++
				sum.launched++
			}
		}
		deadline := time.After(60 * time.Second)
		reconcile := time.NewTicker(5 * time.Second)
		defer reconcile.Stop()
		for len(live) > 0 {
			select {
			case st := <-fw.updates:
				handle(st)
			case <-reconcile.C:
				for id := range kill {
					ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
					_ = fw.client.Kill(ctx, &mesospb.TaskID{Value: proto.String(id)}, fw.agentOf(id), nil)
					cancel()
				}
				var rec []scheduler.ReconcileTask
				for id := range live {
					rec = append(rec, scheduler.ReconcileTask{TaskID: id, AgentID: fw.agentOf(id).GetValue()})
				}
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				_ = fw.client.Reconcile(ctx, rec)
				cancel()
			case <-deadline:
				for id := range live {
					sum.unfinished = append(sum.unfinished, id)
				}
				sort.Strings(sum.unfinished)
				done <- sum
				return
			}
		}
		done <- sum
	}()
	return stop, done
}
