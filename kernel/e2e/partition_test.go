package e2e

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"strata/kernel/e2e/netns"
	"strata/kernel/e2e/procs"
)

// partitionFigures are the times of one partition cycle, from the moment agent A's link went
// down (the first three) or came back up (the last two).
type partitionFigures struct {
	unreachable time.Duration // the master reports A's tasks UNREACHABLE
	replaced    time.Duration // the app runs 4 instances again (replacements RUNNING on B)
	reregister  time.Duration // after the heal: A's old tasks RUNNING at the master again
	converged   time.Duration // exactly 4 instances again: the surplus killed, at the master, in the apps service and on the hosts
}

// TestAgentPartition cuts an agent off from the master by taking its network namespace's link
// down: the master marks it unreachable after the missed pings, its tasks become UNREACHABLE,
// and the apps service replaces them on the other agent once the app's
// unreachableStrategy.inactiveAfterSeconds has passed, while the cut-off tasks keep running.
// Then the link comes back: the agent re-registers, its tasks are RUNNING again, and the apps
// service kills the surplus (the replacements, the youngest) so that exactly 4 instances run,
// never fewer once the replacements ran. STRATA_PARTITION_ROUNDS (default 1) repeats the cycle;
// the figures of every round are logged (BENCHMARKS.md, B10).
func TestAgentPartition(t *testing.T) {
	if err := netns.Available(); err != nil {
		procs.Missing(t, err.Error())
	}
	rounds := 1
	if s := os.Getenv("STRATA_PARTITION_ROUNDS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("STRATA_PARTITION_ROUNDS=%q: want a positive integer", s)
		}
		rounds = n
	}
	c := startPartitionCluster(t)
	var all []partitionFigures
	for r := 1; r <= rounds; r++ {
		f := c.partitionRound(t, r)
		all = append(all, f)
		t.Logf("round %d: link down → tasks UNREACHABLE at the master %v; → replacements RUNNING (4 running) %v; "+
			"link up → old tasks RUNNING at the master %v; → surplus killed (exactly 4) %v",
			r, f.unreachable.Round(time.Millisecond), f.replaced.Round(time.Millisecond),
			f.reregister.Round(time.Millisecond), f.converged.Round(time.Millisecond))
	}
	if rounds > 1 {
		pick := func(get func(partitionFigures) time.Duration) string {
			var d []time.Duration
			for _, f := range all {
				d = append(d, get(f))
			}
			slices.Sort(d)
			return fmt.Sprintf("p50 %v max %v", d[(len(d)-1)/2].Round(time.Millisecond), d[len(d)-1].Round(time.Millisecond))
		}
		t.Logf("%d rounds: down → UNREACHABLE %s; down → replaced %s; up → re-registered %s; up → exactly 4 %s", rounds,
			pick(func(f partitionFigures) time.Duration { return f.unreachable }),
			pick(func(f partitionFigures) time.Duration { return f.replaced }),
			pick(func(f partitionFigures) time.Duration { return f.reregister }),
			pick(func(f partitionFigures) time.Duration { return f.converged }))
	}
}

// partitionRound runs one cycle: A's link down until the app is whole again on B, then up until
// exactly 4 instances run. It fails the test with what it waited for when a bound is exceeded.
func (c *partitionCluster) partitionRound(t *testing.T, round int) partitionFigures {
	t.Helper()
	var f partitionFigures
	onA := c.appTasksOn(t, c.a.NSIP, "TASK_RUNNING")
	if len(onA) == 0 {
		t.Fatalf("round %d: no running instance on agent A to cut off: %+v", round, c.appTasks(t))
	}
	before := c.masterTasks(t)
	for _, id := range onA {
		if before.state[id] != "TASK_RUNNING" {
			t.Fatalf("round %d: the master has task %s as %q before the partition", round, id, before.state[id])
		}
	}
	procsA := c.processes(c.a)

	// Partition.
	down := time.Now()
	if err := c.a.LinkDown(); err != nil {
		t.Fatal(err)
	}
	healed := false
	defer func() {
		if !healed {
			_ = c.a.LinkUp() // let the agent go away cleanly at cleanup
		}
	}()
	partitionPoll(t, 20*time.Second, fmt.Sprintf("round %d: the master to report A's tasks %v UNREACHABLE", round, onA), func() bool {
		m := c.masterTasks(t)
		for _, id := range onA {
			if !m.unreachable[id] {
				return false
			}
		}
		return true
	})
	f.unreachable = time.Since(down)
	var replacements []string
	partitionPoll(t, 30*time.Second, fmt.Sprintf("round %d: %d instances RUNNING again (replacements on B)", round, partitionInstances), func() bool {
		replacements = c.appTasksOn(t, c.b.NSIP, "TASK_RUNNING")
		return len(replacements) == partitionInstances
	})
	f.replaced = time.Since(down)
	// The apps service shows the cut-off tasks as unreachable; they still run, unseen.
	for _, id := range onA {
		if st := c.taskState(t, id); st != "TASK_UNREACHABLE" {
			t.Errorf("round %d: the apps service has the cut-off task %s as %q, want TASK_UNREACHABLE", round, id, st)
		}
	}
	if n := c.processes(c.a); n != procsA {
		t.Errorf("round %d: %d task processes in A's namespace during the partition, want the %d from before", round, n, procsA)
	}
	if n := c.processes(c.b); n != partitionInstances {
		t.Errorf("round %d: %d task processes in B's namespace after the replacement, want %d", round, n, partitionInstances)
	}

	// Heal.
	up := time.Now()
	if err := c.a.LinkUp(); err != nil {
		t.Fatal(err)
	}
	healed = true
	back := false
	partitionPoll(t, 40*time.Second, fmt.Sprintf("round %d: exactly %d instances running after the heal (A's tasks %v back, the surplus killed)",
		round, partitionInstances, onA), func() bool {
		m := c.masterTasks(t)
		if !m.ok {
			return false
		}
		running := m.count("TASK_RUNNING")
		if running < partitionInstances {
			t.Fatalf("round %d: only %d tasks RUNNING at the master %v after the heal, want never fewer than %d",
				round, running, time.Since(up).Round(time.Millisecond), partitionInstances)
		}
		if !back {
			back = true
			for _, id := range onA {
				back = back && m.state[id] == "TASK_RUNNING"
			}
			if back {
				f.reregister = time.Since(up)
			}
		}
		if !back || running != partitionInstances || len(m.state) != partitionInstances || len(m.unreachable) != 0 {
			return false
		}
		tasks := c.appTasks(t)
		if len(tasks) != partitionInstances {
			return false
		}
		for _, tk := range tasks {
			if tk.State != "TASK_RUNNING" {
				return false
			}
		}
		return c.processes(c.a)+c.processes(c.b) == partitionInstances
	})
	f.converged = time.Since(up)

	// Which instances stayed: killSelection YOUNGEST_FIRST kills replacements, not the old tasks.
	for _, id := range onA {
		if st := c.taskState(t, id); st != "TASK_RUNNING" {
			t.Errorf("round %d: old task %s on A is %q after the heal, want TASK_RUNNING (the younger replacements go)", round, id, st)
		}
	}
	// And it stays so: nothing more is launched or killed.
	hold := time.Now().Add(2 * time.Second)
	for time.Now().Before(hold) {
		m := c.masterTasks(t)
		if m.ok && (m.count("TASK_RUNNING") != partitionInstances || len(m.state) != partitionInstances) {
			t.Fatalf("round %d: after converging the master has %v", round, m.state)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if pa, pb := c.processes(c.a), c.processes(c.b); pa+pb != partitionInstances || pa != len(onA) {
		t.Fatalf("round %d: task processes after the heal: %d in A's namespace and %d in B's, want %d and %d",
			round, pa, pb, len(onA), partitionInstances-len(onA))
	}
	return f
}

// taskState is the state the apps service reports for a task ("" when it does not list it).
func (c *partitionCluster) taskState(t *testing.T, id string) string {
	for _, tk := range c.appTasks(t) {
		if tk.ID == id {
			return tk.State
		}
	}
	return ""
}

// partitionPoll is eventually with a finer grain, for the figures: cond is checked every 50ms.
func partitionPoll(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		if cond() {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", within, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
