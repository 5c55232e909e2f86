package master

import (
	"time"

	"strata/kernel/allocator"
	"strata/kernel/mesos/codec"
	"strata/kernel/mesos/mesospb"
)

// framework is the master's record of one framework.
type framework struct {
	id   string
	info *mesospb.FrameworkInfo

	stream   *eventStream
	codec    codec.Codec
	streamID string

	connected bool
	active    bool
	// inAllocator is set once the allocator knows the framework.
	inAllocator bool
	// recovered is set for frameworks loaded from the store that have not re-subscribed yet.
	recovered bool
	// recoveryGrace is the least time a framework that was connected when the previous master
	// stopped gets to re-subscribe to this one, whatever its failover_timeout: a master failover
	// is no scheduler failover.
	recoveryGrace time.Duration

	registeredTime   time.Time
	reregisteredTime time.Time
	unregisteredTime time.Time
	removedTime      time.Time

	failoverTimer *time.Timer

	tasks            map[string]*task // active tasks by task id
	unreachableTasks []*task
	completedTasks   []*task
	offers           map[string]*offer
	// executors running for this framework, by agent id then executor id.
	executors map[string]map[string]*mesospb.ExecutorInfo

	suppressedRoles map[string]bool
}

func (f *framework) roles() []string {
	if hasCapability(f.info, mesospb.FrameworkInfo_Capability_MULTI_ROLE) {
		return f.info.GetRoles()
	}
	return []string{f.info.GetRole()}
}

func (f *framework) partitionAware() bool {
	return hasCapability(f.info, mesospb.FrameworkInfo_Capability_PARTITION_AWARE)
}

func (f *framework) multiRole() bool {
	return hasCapability(f.info, mesospb.FrameworkInfo_Capability_MULTI_ROLE)
}

func (f *framework) refinement() bool {
	return hasCapability(f.info, mesospb.FrameworkInfo_Capability_RESERVATION_REFINEMENT)
}

func hasCapability(info *mesospb.FrameworkInfo, c mesospb.FrameworkInfo_Capability_Type) bool {
	for _, cap := range info.GetCapabilities() {
		if cap.GetType() == c {
			return true
		}
	}
	return false
}

// task is the master's record of one task: the Mesos Task message plus bookkeeping.
type task struct {
	t     *mesospb.Task
	fw    *framework
	agent *agent // nil once the agent is gone
	// res is the task's resources in allocator form, released when the task reaches a terminal
	// state.
	res      allocator.Resources
	role     string
	released bool
	// killPending is set when a kill could not be sent because the agent was away.
	killPending bool
	// unreachableTime is when the task's agent became unreachable.
	unreachableTime time.Time
}

func (t *task) id() string { return t.t.GetTaskId().GetValue() }

// agent is the master's record of one registered agent.
type agent struct {
	id      string
	info    *mesospb.AgentInfo
	pid     string // "slave(1)@ip:port"
	address string // "ip:port"
	version string
	caps    []*mesospb.AgentInfo_Capability

	stream   *eventStream
	streamID string

	connected bool
	active    bool

	registeredTime   time.Time
	reregisteredTime time.Time
	lastPong         time.Time
	pingSeq          uint64

	total allocator.Resources
	// tasks on the agent by framework id then task id.
	tasks map[string]map[string]*task
	// executors on the agent by framework id then executor id.
	executors map[string]map[string]*mesospb.ExecutorInfo
	offers    map[string]*offer
	// executorRes are the executors' own resources, by framework id then executor id; they are
	// released when the executor exits.
	executorRes map[string]map[string]executorAlloc
}

// used is what the agent's live tasks and executors hold.
func (a *agent) used() allocator.Resources {
	var out allocator.Resources
	for _, byTask := range a.tasks {
		for _, t := range byTask {
			if !t.released {
				out.Add(t.res)
			}
		}
	}
	for _, byEx := range a.executorRes {
		for _, ea := range byEx {
			out.Add(ea.res)
		}
	}
	return out
}

// offered is what the agent's outstanding offers hold.
func (a *agent) offered() allocator.Resources {
	var out allocator.Resources
	for _, o := range a.offers {
		out.Add(o.res)
	}
	return out
}

// executorAlloc is what an executor itself holds on an agent.
type executorAlloc struct {
	role string
	res  allocator.Resources
}

// offer is one outstanding offer: one agent × one role × one framework.
type offer struct {
	id      string
	msg     *mesospb.Offer
	fw      *framework
	agent   *agent
	role    string
	res     allocator.Resources
	created time.Time
	// expiry rescinds the offer after the offer timeout, if one is set.
	expiry *time.Timer
}
