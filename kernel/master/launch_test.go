package master

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"strata/kernel/mesos/codec"
	"strata/kernel/mesos/mesospb"
	"strata/kernel/mesos/schedulerpb"
)

func launchGroupCall(offer *mesospb.Offer, ex *mesospb.ExecutorInfo, tasks ...*mesospb.TaskInfo) *schedulerpb.Call {
	return &schedulerpb.Call{
		Type: schedulerpb.Call_ACCEPT.Enum(),
		Accept: &schedulerpb.Call_Accept{
			OfferIds: []*mesospb.OfferID{offer.GetId()},
			Operations: []*mesospb.Offer_Operation{{
				Type:        mesospb.Offer_Operation_LAUNCH_GROUP.Enum(),
				LaunchGroup: &mesospb.Offer_Operation_LaunchGroup{Executor: ex, TaskGroup: &mesospb.TaskGroupInfo{Tasks: tasks}},
			}},
			Filters: refuseFor(0),
		},
	}
}

func groupTask(id string, offer *mesospb.Offer, res ...*mesospb.Resource) *mesospb.TaskInfo {
	return &mesospb.TaskInfo{Name: proto.String(id), TaskId: &mesospb.TaskID{Value: proto.String(id)}, AgentId: offer.GetAgentId(), Resources: res}
}

func customExecutor(id, cmd string, res ...*mesospb.Resource) *mesospb.ExecutorInfo {
	return &mesospb.ExecutorInfo{
		ExecutorId: &mesospb.ExecutorID{Value: proto.String(id)},
		Type:       mesospb.ExecutorInfo_CUSTOM.Enum(),
		Command:    &mesospb.CommandInfo{Value: proto.String(cmd)},
		Resources:  res,
	}
}

func executorIDs(o *mesospb.Offer) []string {
	var out []string
	for _, id := range o.GetExecutorIds() {
		out = append(out, id.GetValue())
	}
	return out
}

// wholeAgent checks that an offer holds all of a default simulated agent.
func wholeAgent(t *testing.T, o *mesospb.Offer) {
	t.Helper()
	if c, m := scalarSum(o.GetResources(), "cpus"), scalarSum(o.GetResources(), "mem"); c != 4 || m != 1024 {
		t.Fatalf("offer holds cpus %v mem %v, want the whole agent (4, 1024): resources leaked", c, m)
	}
}

// TestLaunchGroupAllOrNothing checks that one invalid task fails the whole group with
// REASON_TASK_GROUP_INVALID and leaks nothing, and that a valid group runs under one executor that
// later offers list.
func TestLaunchGroupAllOrNothing(t *testing.T) {
	tm := lcStartMaster(t, lcConfig(t))
	agent := lcAgent(t, tm.addr, "host-a")
	s := lcSubscribe(t, tm.addr, codec.Protobuf, frameworkInfo("grouper", mesospb.FrameworkInfo_Capability_PARTITION_AWARE))
	ex := &mesospb.ExecutorInfo{
		ExecutorId: &mesospb.ExecutorID{Value: proto.String("default-ex")},
		Type:       mesospb.ExecutorInfo_DEFAULT.Enum(),
		Resources:  []*mesospb.Resource{scalar("cpus", 0.1), scalar("mem", 32)},
	}

	o := s.offer()
	s.mustCall(launchGroupCall(o, ex,
		groupTask("g1", o, scalar("cpus", 1), scalar("mem", 64)),
		groupTask("g2", o))) // no resources: invalid
	for _, id := range []string{"g1", "g2"} {
		st := s.must("update of "+id, updateFor(id)).GetUpdate().GetStatus()
		if st.GetState() != mesospb.TaskState_TASK_ERROR || st.GetReason() != mesospb.TaskStatus_REASON_TASK_GROUP_INVALID ||
			st.GetSource() != mesospb.TaskStatus_SOURCE_MASTER || len(st.GetUuid()) != 0 {
			t.Fatalf("task %s of an invalid group: %v", id, st)
		}
	}
	o = s.offer()
	wholeAgent(t, o)
	if len(o.GetExecutorIds()) != 0 || agent.Launched() != 0 {
		t.Fatalf("an invalid group started something: executor_ids %v, launched %d", executorIDs(o), agent.Launched())
	}

	// A group whose resources exceed the offer fails as a whole too.
	s.mustCall(launchGroupCall(o, ex,
		groupTask("g3", o, scalar("cpus", 1), scalar("mem", 64)),
		groupTask("g4", o, scalar("cpus", 3.5), scalar("mem", 64))))
	for _, id := range []string{"g3", "g4"} {
		if st := s.must("update of "+id, updateFor(id)).GetUpdate().GetStatus(); st.GetState() != mesospb.TaskState_TASK_ERROR {
			t.Fatalf("task %s of an oversized group: %v", id, st)
		}
	}
	o = s.offer()
	wholeAgent(t, o)

	// A valid group runs; the executor is counted once and listed in the next offer.
	s.mustCall(launchGroupCall(o, ex,
		groupTask("g5", o, scalar("cpus", 1), scalar("mem", 64)),
		groupTask("g6", o, scalar("cpus", 1), scalar("mem", 64))))
	for _, id := range []string{"g5", "g6"} {
		if st := s.must("update of "+id, updateFor(id)).GetUpdate().GetStatus(); st.GetState() != mesospb.TaskState_TASK_RUNNING {
			t.Fatalf("task %s: %v", id, st)
		}
	}
	o = s.offer()
	if c := scalarSum(o.GetResources(), "cpus"); c < 1.899 || c > 1.901 {
		t.Fatalf("after a group of 2×1 cpu with a 0.1 cpu executor the offer has %v cpus, want 1.9", c)
	}
	if ids := executorIDs(o); len(ids) != 1 || ids[0] != "default-ex" {
		t.Fatalf("offer executor_ids = %v, want [default-ex]", ids)
	}
}

// TestLaunchGroupExecutorRules checks the executor rules of LAUNCH_GROUP that Mesos applies: a type
// that fits the executor (DEFAULT without a command or image, CUSTOM with a command) and at least
// MIN_CPUS 0.01 and MIN_MEM 32 MB. A rejected group leaks nothing, and a DEFAULT executor at exactly
// the minimum is accepted.
func TestLaunchGroupExecutorRules(t *testing.T) {
	tm := lcStartMaster(t, lcConfig(t))
	agent := lcAgent(t, tm.addr, "host-a")
	s := lcSubscribe(t, tm.addr, codec.JSON, frameworkInfo("rules"))
	def := func(res ...*mesospb.Resource) *mesospb.ExecutorInfo {
		return &mesospb.ExecutorInfo{
			ExecutorId: &mesospb.ExecutorID{Value: proto.String("default-executor")},
			Type:       mesospb.ExecutorInfo_DEFAULT.Enum(),
			Resources:  res,
		}
	}
	minimum := []*mesospb.Resource{scalar("cpus", 0.01), scalar("mem", 32)}
	tests := []struct {
		name string
		ex   *mesospb.ExecutorInfo
		want string // substring of the TASK_ERROR message
	}{
		{"type unset", func() *mesospb.ExecutorInfo { e := def(minimum...); e.Type = nil; return e }(), "'ExecutorInfo.type' must be set"},
		{"default with a command", func() *mesospb.ExecutorInfo {
			e := def(minimum...)
			e.Command = &mesospb.CommandInfo{Value: proto.String("true")}
			return e
		}(), "must not be set for 'DEFAULT' executor"},
		{"default with an image", func() *mesospb.ExecutorInfo {
			e := def(minimum...)
			e.Container = &mesospb.ContainerInfo{Type: mesospb.ContainerInfo_MESOS.Enum(), Mesos: &mesospb.ContainerInfo_MesosInfo{
				Image: &mesospb.Image{Type: mesospb.Image_DOCKER.Enum(), Docker: &mesospb.Image_Docker{Name: proto.String("busybox")}}}}
			return e
		}(), "'ExecutorInfo.container.mesos.image' must not be set"},
		{"custom without a command", func() *mesospb.ExecutorInfo {
			e := def(minimum...)
			e.Type = mesospb.ExecutorInfo_CUSTOM.Enum()
			return e
		}(), "'ExecutorInfo.command' must be set for 'CUSTOM' executor"},
		{"too few cpus", def(scalar("cpus", 0.005), scalar("mem", 32)), "needs at least cpus:0.01 and mem:32"},
		{"too little memory", def(scalar("cpus", 0.1), scalar("mem", 31)), "needs at least cpus:0.01 and mem:32"},
		{"no resources", def(), "needs at least cpus:0.01 and mem:32"},
	}
	o := s.offer()
	for i, tt := range tests {
		id := fmt.Sprintf("r%d", i)
		s.mustCall(launchGroupCall(o, tt.ex, groupTask(id, o, scalar("cpus", 1), scalar("mem", 64))))
		st := s.must("update of "+id, updateFor(id)).GetUpdate().GetStatus()
		if st.GetState() != mesospb.TaskState_TASK_ERROR || st.GetReason() != mesospb.TaskStatus_REASON_TASK_GROUP_INVALID ||
			!strings.Contains(st.GetMessage(), tt.want) {
			t.Fatalf("%s: status %v, want TASK_ERROR with %q", tt.name, st, tt.want)
		}
		o = s.offer()
		wholeAgent(t, o)
	}
	if agent.Launched() != 0 {
		t.Fatalf("an invalid group reached the agent: launched %d", agent.Launched())
	}
	s.mustCall(launchGroupCall(o, def(minimum...), groupTask("ok", o, scalar("cpus", 1), scalar("mem", 64))))
	if st := s.must("update of ok", updateFor("ok")).GetUpdate().GetStatus(); st.GetState() != mesospb.TaskState_TASK_RUNNING {
		t.Fatalf("group with a DEFAULT executor at the minimum: %v", st)
	}
}

// TestLaunchCustomExecutor checks that an executor's resources are taken once, that offers list the
// running executor, and that a second, different ExecutorInfo with the same id is refused.
func TestLaunchCustomExecutor(t *testing.T) {
	tm := lcStartMaster(t, lcConfig(t))
	lcAgent(t, tm.addr, "host-a")
	s := lcSubscribe(t, tm.addr, codec.JSON, frameworkInfo("custom"))
	exRes := func() []*mesospb.Resource { return []*mesospb.Resource{scalar("cpus", 0.5), scalar("mem", 64)} }
	task := func(id string, o *mesospb.Offer, ex *mesospb.ExecutorInfo) *mesospb.TaskInfo {
		ti := commandTask(id, o, scalar("cpus", 1), scalar("mem", 128))
		ti.Command, ti.Executor = nil, ex
		return ti
	}

	o := s.offer()
	s.running(o, 0, task("t1", o, customExecutor("ex1", "./executor", exRes()...)))
	o = s.offer()
	if c, m := scalarSum(o.GetResources(), "cpus"), scalarSum(o.GetResources(), "mem"); c != 2.5 || m != 832 {
		t.Fatalf("after task (1, 128) + executor (0.5, 64) the offer has cpus %v mem %v, want 2.5, 832", c, m)
	}
	if ids := executorIDs(o); len(ids) != 1 || ids[0] != "ex1" {
		t.Fatalf("offer executor_ids = %v, want [ex1]", ids)
	}

	// The same executor again: only the task's resources are taken.
	s.running(o, 0, task("t2", o, customExecutor("ex1", "./executor", exRes()...)))
	o = s.offer()
	if c, m := scalarSum(o.GetResources(), "cpus"), scalarSum(o.GetResources(), "mem"); c != 1.5 || m != 704 {
		t.Fatalf("after a second task on ex1 the offer has cpus %v mem %v, want 1.5, 704", c, m)
	}

	// A different definition under the same id is an error and takes nothing.
	s.mustCall(launchCall(o, task("t3", o, customExecutor("ex1", "./other-executor", exRes()...))))
	st := s.must("update of t3", updateFor("t3")).GetUpdate().GetStatus()
	if st.GetState() != mesospb.TaskState_TASK_ERROR || st.GetReason() != mesospb.TaskStatus_REASON_TASK_INVALID || !strings.Contains(st.GetMessage(), "not compatible") {
		t.Fatalf("incompatible executor: %v", st)
	}
	o = s.offer()
	if c := scalarSum(o.GetResources(), "cpus"); c != 1.5 {
		t.Fatalf("after a refused launch the offer has %v cpus, want 1.5", c)
	}
}

// TestLaunchDuplicateTaskID checks that a task id in use is refused with TASK_ERROR, within one
// LAUNCH and across launches, without leaking resources.
func TestLaunchDuplicateTaskID(t *testing.T) {
	tm := lcStartMaster(t, lcConfig(t))
	lcAgent(t, tm.addr, "host-a")
	s := lcSubscribe(t, tm.addr, codec.Protobuf, frameworkInfo("dup"))
	o := s.offer()
	s.running(o, 0, commandTask("t1", o, scalar("cpus", 1), scalar("mem", 128)))

	o = s.offer()
	s.mustCall(launchCall(o, commandTask("t1", o, scalar("cpus", 1), scalar("mem", 128))))
	st := s.must("TASK_ERROR for the duplicate", updateWith("t1", mesospb.TaskState_TASK_ERROR)).GetUpdate().GetStatus()
	if st.GetReason() != mesospb.TaskStatus_REASON_TASK_INVALID || !strings.Contains(st.GetMessage(), "duplicate") || len(st.GetUuid()) != 0 {
		t.Fatalf("duplicate task: %v", st)
	}
	o = s.offer()
	if c := scalarSum(o.GetResources(), "cpus"); c != 3 {
		t.Fatalf("after a refused duplicate the offer has %v cpus, want 3", c)
	}

	// Twice in one LAUNCH: the first runs, the second is refused.
	s.mustCall(launchCall(o, commandTask("d", o, scalar("cpus", 1), scalar("mem", 128)), commandTask("d", o, scalar("cpus", 1), scalar("mem", 128))))
	s.must("TASK_RUNNING of d", updateWith("d", mesospb.TaskState_TASK_RUNNING))
	s.must("TASK_ERROR of the second d", updateWith("d", mesospb.TaskState_TASK_ERROR))
	o = s.offer()
	if c := scalarSum(o.GetResources(), "cpus"); c != 2 {
		t.Fatalf("after one of two duplicates ran the offer has %v cpus, want 2", c)
	}
	if st := lcState(t, tm.addr).framework(s.fwID); st == nil || strings.Join(lcTaskIDs(st.Tasks), ",") != "d,t1" {
		t.Fatalf("state tasks = %+v, want d and t1", st)
	}
}

// TestLaunchOffersFromTwoAgents checks that an ACCEPT combining offers of two agents fails its
// tasks with REASON_INVALID_OFFERS (DROPPED for partition-aware frameworks, LOST otherwise) and
// returns both offers' resources without a refusal filter.
func TestLaunchOffersFromTwoAgents(t *testing.T) {
	for _, tc := range []struct {
		name string
		caps []mesospb.FrameworkInfo_Capability_Type
		want mesospb.TaskState
	}{
		{"partition-aware", []mesospb.FrameworkInfo_Capability_Type{mesospb.FrameworkInfo_Capability_PARTITION_AWARE}, mesospb.TaskState_TASK_DROPPED},
		{"not partition-aware", nil, mesospb.TaskState_TASK_LOST},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tm := lcStartMaster(t, lcConfig(t))
			lcAgent(t, tm.addr, "host-a")
			lcAgent(t, tm.addr, "host-b")
			s := lcSubscribe(t, tm.addr, codec.Protobuf, frameworkInfo("greedy", tc.caps...))
			offers := s.offersFrom(2)
			call := launchCall(offers[0], commandTask("x", offers[0], scalar("cpus", 1), scalar("mem", 128)))
			call.Accept.OfferIds = append(call.Accept.OfferIds, offers[1].GetId())
			call.Accept.Filters = nil // the default 5s filter must not apply to invalid offers
			s.mustCall(call)
			st := s.must("update of x", updateFor("x")).GetUpdate().GetStatus()
			if st.GetState() != tc.want || st.GetReason() != mesospb.TaskStatus_REASON_INVALID_OFFERS || len(st.GetUuid()) != 0 {
				t.Fatalf("task on offers of two agents: %v", st)
			}
			// Both agents' resources come back at once, whole.
			back := map[string]bool{}
			deadline := time.Now().Add(3 * time.Second)
			for len(back) < 2 {
				ev, ok := s.take(time.Until(deadline), isOffers)
				if !ok {
					t.Fatalf("offers of the rejected ACCEPT not re-offered within 3s (got %v)", back)
				}
				for _, o := range ev.GetOffers().GetOffers() {
					wholeAgent(t, o)
					back[o.GetAgentId().GetValue()] = true
				}
			}
		})
	}
}
