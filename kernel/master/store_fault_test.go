package master

import (
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"strata/kernel/mesos/codec"
	"strata/kernel/mesos/internalpb"
	"strata/kernel/store"
)

// An agent re-registering while the store cannot record its admission (PostgreSQL down) is not
// refused: the master answers 503, so the agent keeps its id and its tasks and tries again (an
// ERROR would make it start over as a new agent, killing every task), and the master keeps
// tracking the agent and its tasks as before. Once the store is back the agent re-registers and
// nothing is killed.
func TestAgentReregistersAfterTheStoreFailed(t *testing.T) {
	tm := lcStartMaster(t, lcConfig(t))
	agent := lcAgent(t, tm.addr, "host-a")
	fi := frameworkInfo("durable")
	fi.Checkpoint = proto.Bool(true)
	fw := lcSubscribe(t, tm.addr, codec.Protobuf, fi)
	o := fw.offer()
	fw.running(o, 3600, commandTask("t1", o, scalar("cpus", 1), scalar("mem", 128)))

	// The store fails: every write errs.
	broken, err := store.OpenSQLite(filepath.Join(t.TempDir(), "broken.db"))
	if err != nil {
		t.Fatal(err)
	}
	broken.Close()
	tm.m.mu.Lock()
	good := tm.m.store
	tm.m.store = broken
	tm.m.mu.Unlock()
	restore := func() {
		tm.m.mu.Lock()
		tm.m.store = good
		tm.m.mu.Unlock()
	}
	t.Cleanup(restore)

	err = agent.Reregister("")
	if err == nil || !strings.Contains(err.Error(), "503") {
		t.Fatalf("re-registration with the store down: %v, want a 503", err)
	}
	st := lcState(t, tm.addr)
	if !st.hasSlave(agent.ID()) {
		t.Fatalf("the master forgot the agent: %+v", st.Slaves)
	}
	if f := st.framework(fw.fwID); f == nil || strings.Join(lcTaskIDs(f.Tasks), ",") != "t1" {
		t.Fatalf("the master forgot the task: %+v", f)
	}

	restore()
	if err := agent.Reregister(""); err != nil {
		t.Fatalf("re-registration with the store back: %v", err)
	}
	if kill := killTasksOf(t, agent.Events(internalpb.AgentEvent_REREGISTERED)); len(kill) != 0 {
		t.Fatalf("kill_tasks = %v after the store came back", kill)
	}
	if got := strings.Join(agent.Tasks(), ","); got != "t1" {
		t.Fatalf("agent tasks %q, want t1", got)
	}
	if f := lcState(t, tm.addr).framework(fw.fwID); f == nil || strings.Join(lcTaskIDs(f.Tasks), ",") != "t1" {
		t.Fatalf("framework after the re-registration: %+v", f)
	}
}
