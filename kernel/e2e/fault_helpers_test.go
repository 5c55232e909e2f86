package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"strata/kernel/mesos/mesospb"
)

// faultTracker records every status update a test framework receives, so that a fault test can
// wait for one update and still check all the others afterwards. Only the test's goroutine
// reads fw.updates through it.
type faultTracker struct {
	t   *testing.T
	fw  *framework
	all []*mesospb.TaskStatus
}

func faultTrack(t *testing.T, fw *framework) *faultTracker { return &faultTracker{t: t, fw: fw} }

// mark is the position of the next update: since arguments count from it.
func (tr *faultTracker) mark() int { return len(tr.all) }

// poll records the updates that already arrived.
func (tr *faultTracker) poll() {
	for {
		select {
		case st := <-tr.fw.updates:
			tr.all = append(tr.all, st)
		default:
			return
		}
	}
}

// await records updates until cond holds, failing the test after within.
func (tr *faultTracker) await(within time.Duration, what string, cond func() bool) {
	tr.t.Helper()
	tr.poll()
	timeout := time.After(within)
	for !cond() {
		select {
		case st := <-tr.fw.updates:
			tr.all = append(tr.all, st)
		case <-timeout:
			tr.t.Fatalf("timed out after %s waiting for %s; updates: %s", within, what, tr.describe(0))
		}
	}
}

// find returns the first update of task id in state at or after position since, or nil.
func (tr *faultTracker) find(id string, state mesospb.TaskState, since int) *mesospb.TaskStatus {
	for _, st := range tr.all[since:] {
		if st.GetTaskId().GetValue() == id && st.GetState() == state {
			return st
		}
	}
	return nil
}

// awaitState waits for an update of task id in state at or after position since.
func (tr *faultTracker) awaitState(id string, state mesospb.TaskState, since int, within time.Duration) *mesospb.TaskStatus {
	tr.t.Helper()
	var st *mesospb.TaskStatus
	tr.await(within, id+" "+state.String(), func() bool {
		st = tr.find(id, state, since)
		return st != nil
	})
	return st
}

// awaitAll waits for an update in state of every task of ids at or after position since.
func (tr *faultTracker) awaitAll(ids []string, state mesospb.TaskState, since int, within time.Duration) {
	tr.t.Helper()
	tr.await(within, fmt.Sprintf("%d tasks %s", len(ids), state), func() bool {
		for _, id := range ids {
			if tr.find(id, state, since) == nil {
				return false
			}
		}
		return true
	})
}

// other lists the updates of ids at or after since whose state is not one of states.
func (tr *faultTracker) other(ids []string, since int, states ...mesospb.TaskState) []string {
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
	}
	var out []string
outer:
	for _, st := range tr.all[since:] {
		if !want[st.GetTaskId().GetValue()] {
			continue
		}
		for _, s := range states {
			if st.GetState() == s {
				continue outer
			}
		}
		out = append(out, fmt.Sprintf("%s %s %s (%s)", st.GetTaskId().GetValue(), st.GetState(), st.GetReason(), st.GetMessage()))
	}
	return out
}

// requireAlive fails the test unless every task of ids still has all of its processes and
// none has left TASK_RUNNING since the mark since.
func (tr *faultTracker) requireAlive(when string, ids []string, procs map[string][]faultProc, since int) {
	tr.t.Helper()
	for _, id := range ids {
		if !faultAlive(procs[id]) {
			tr.t.Fatalf("%s: task %s's processes are gone", when, id)
		}
	}
	tr.poll()
	if bad := tr.other(ids, since, mesospb.TaskState_TASK_RUNNING); len(bad) > 0 {
		tr.t.Fatalf("%s: tasks left RUNNING: %v", when, bad)
	}
}

func (tr *faultTracker) describe(since int) string {
	var b strings.Builder
	for _, st := range tr.all[since:] {
		fmt.Fprintf(&b, "\n  %s %s %s %q", st.GetTaskId().GetValue(), st.GetState(), faultReason(st), st.GetMessage())
	}
	return b.String()
}

// faultProc identifies a process across pid reuse: its pid and its start time in clock ticks.
type faultProc struct {
	pid   int
	start uint64
}

func (p faultProc) String() string { return fmt.Sprintf("%d@%d", p.pid, p.start) }

// faultStat reads a process's parent and start time from /proc/<pid>/stat.
func faultStat(pid int) (ppid int, start uint64, ok bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, 0, false
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state): ppid is field 4, starttime field 22.
	if len(f) < 20 || f[0] == "Z" || f[0] == "X" {
		return 0, 0, false
	}
	ppid, _ = strconv.Atoi(f[1])
	start, _ = strconv.ParseUint(f[19], 10, 64)
	return ppid, start, true
}

// faultTree is a process and all its live descendants.
func faultTree(pid int) []faultProc {
	_, start, ok := faultStat(pid)
	if !ok {
		return nil
	}
	children := map[int][]int{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if pp, _, ok := faultStat(p); ok {
			children[pp] = append(children[pp], p)
		}
	}
	out := []faultProc{{pid, start}}
	for i := 0; i < len(out); i++ {
		for _, c := range children[out[i].pid] {
			if _, st, ok := faultStat(c); ok {
				out = append(out, faultProc{c, st})
			}
		}
	}
	return out
}

// faultAlive reports whether every process of ps still runs (same pid, same start time).
func faultAlive(ps []faultProc) bool {
	for _, p := range ps {
		if _, start, ok := faultStat(p.pid); !ok || start != p.start {
			return false
		}
	}
	return true
}

// faultKillTree SIGKILLs what is left of ps (a safety net for processes a test started).
func faultKillTree(ps []faultProc) (killed int) {
	for _, p := range ps {
		if _, start, ok := faultStat(p.pid); ok && start == p.start {
			if syscall.Kill(p.pid, syscall.SIGKILL) == nil {
				killed++
			}
		}
	}
	return killed
}

// faultExecutorPid is the executor pid a RUNNING update carries.
func faultExecutorPid(t *testing.T, st *mesospb.TaskStatus) int {
	t.Helper()
	pid := int(st.GetContainerStatus().GetExecutorPid())
	if pid <= 0 {
		t.Fatalf("task %s: the %s update has no container_status.executor_pid", st.GetTaskId().GetValue(), st.GetState())
	}
	return pid
}

// faultMasterTasks maps the tasks of framework fid to their state as the master at addr reports
// them (/master/tasks).
func faultMasterTasks(t *testing.T, addr, fid string) map[string]string {
	var body struct {
		Tasks []struct {
			ID    string `json:"id"`
			State string `json:"state"`
		} `json:"tasks"`
	}
	out := map[string]string{}
	if err := json.Unmarshal([]byte(getBody(t, "http://"+addr+"/master/tasks?limit=10000&framework_id="+fid)), &body); err != nil {
		return out
	}
	for _, tk := range body.Tasks {
		out[tk.ID] = tk.State
	}
	return out
}

// faultAgentTasks maps task id to state as the agent at addr reports its live tasks (/state).
func faultAgentTasks(t *testing.T, addr string) map[string]string {
	var body struct {
		Frameworks []struct {
			Executors []struct {
				Tasks []struct {
					ID    string `json:"id"`
					State string `json:"state"`
				} `json:"tasks"`
			} `json:"executors"`
		} `json:"frameworks"`
	}
	out := map[string]string{}
	if err := json.Unmarshal([]byte(getBody(t, "http://"+addr+"/state")), &body); err != nil {
		return out
	}
	for _, f := range body.Frameworks {
		for _, e := range f.Executors {
			for _, tk := range e.Tasks {
				out[tk.ID] = tk.State
			}
		}
	}
	return out
}

// faultAgentExecutors counts the executors the agent at addr still runs; -1 if it does not answer.
func faultAgentExecutors(t *testing.T, addr string) int {
	var body struct {
		Frameworks []struct {
			Executors []json.RawMessage `json:"executors"`
		} `json:"frameworks"`
	}
	if err := json.Unmarshal([]byte(getBody(t, "http://"+addr+"/state")), &body); err != nil {
		return -1
	}
	n := 0
	for _, f := range body.Frameworks {
		n += len(f.Executors)
	}
	return n
}

// faultTeardown tears the frameworks down and waits until the agents at addrs run no executor,
// so that agents started without --kill-tasks-on-exit leave no task behind when they stop.
// Register it with t.Cleanup after the agents and frameworks started (cleanups run last in,
// first out).
func faultTeardown(t *testing.T, fws []*framework, addrs ...string) {
	for _, fw := range fws {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := fw.client.Teardown(ctx); err != nil {
			t.Logf("teardown: %v", err)
		}
		cancel()
	}
	deadline := time.Now().Add(30 * time.Second)
	for _, a := range addrs {
		for n := faultAgentExecutors(t, a); n != 0; n = faultAgentExecutors(t, a) {
			if time.Now().After(deadline) {
				t.Errorf("agent %s still runs %d executors 30s after the teardown", a, n)
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

// faultCgroupsLeft lists the cgroup directories under /sys/fs/cgroup whose path contains root.
func faultCgroupsLeft(root string) []string {
	var out []string
	hier, _ := os.ReadDir("/sys/fs/cgroup")
	for _, h := range hier {
		base := filepath.Join("/sys/fs/cgroup", h.Name(), root)
		_ = filepath.WalkDir(base, func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				out = append(out, p)
			}
			return nil
		})
	}
	return out
}

// faultNoLeftovers fails the test when a cgroup under root is left (and removes it, deepest
// first, after killing what runs in it: those are the test's own).
func faultNoLeftovers(t *testing.T, root string) {
	t.Helper()
	left := faultCgroupsLeft(root)
	if len(left) == 0 {
		return
	}
	t.Errorf("cgroups left behind: %v", left)
	for i := len(left) - 1; i >= 0; i-- {
		if b, err := os.ReadFile(filepath.Join(left[i], "cgroup.procs")); err == nil {
			sc := bufio.NewScanner(strings.NewReader(string(b)))
			for sc.Scan() {
				if pid, err := strconv.Atoi(sc.Text()); err == nil {
					_ = syscall.Kill(pid, syscall.SIGKILL)
				}
			}
		}
	}
	time.Sleep(200 * time.Millisecond)
	for i := len(left) - 1; i >= 0; i-- {
		_ = os.Remove(left[i])
	}
}

// faultCgroupsRoot is a cgroup root of the test's own for an agent (--cgroups-root), so that what
// it leaves behind can be told from what other tests' agents run.
func faultCgroupsRoot(t *testing.T, n int) string {
	root := fmt.Sprintf("strata/fault-%d-%d-%d", os.Getpid(), time.Now().UnixNano()%1_000_000, n)
	t.Cleanup(func() { faultNoLeftovers(t, root) })
	return root
}

// faultStopFirst registers a cleanup that stops the cluster's agent and masters (the leader
// last, so that no election happens) before the servers started again by the test, whose own
// cleanups were registered later and would otherwise run first: PostgreSQL's smart shutdown
// waits for the masters' connections, and masters losing ZooKeeper first would step down.
func faultStopFirst(t *testing.T, c *haCluster) {
	t.Cleanup(func() {
		c.agentProc.Stop(t)
		leader := c.leading(-1)
		for i, m := range c.masters {
			if i != leader {
				m.proc.Stop(t)
			}
		}
		if leader >= 0 {
			c.masters[leader].proc.Stop(t)
		}
	})
}
