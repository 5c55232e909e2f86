package master

import (
	"fmt"
	"math"
	"time"

	"google.golang.org/protobuf/proto"

	"strata/kernel/allocator"
	"strata/kernel/mesos/mesospb"
	"strata/kernel/mesos/schedulerpb"
)

// accept handles ACCEPT: the offers are used up, operations run in order against the offered
// resources, and whatever is left goes back to the allocator under the call's filters. m.mu is held.
func (m *Master) accept(fw *framework, acc *schedulerpb.Call_Accept) {
	now := time.Now()
	filter := filterFrom(acc.GetFilters())
	offers, invalid := m.validateOffers(fw, acc.GetOfferIds())
	if invalid != "" {
		// The offers are used up, but the framework did not refuse anything: no filter.
		for _, o := range offers {
			m.dropOffer(o)
			_ = m.alloc.RecoverResources(o.agent.id, fw.id, o.role, o.res, nil)
		}
		m.dropLaunches(fw, acc.GetOperations(), invalid, now)
		m.triggerAllocation()
		return
	}
	a, role := offers[0].agent, offers[0].role
	var available allocator.Resources
	for _, o := range offers {
		available.Add(o.res)
		m.dropOffer(o)
	}
	for _, op := range acc.GetOperations() {
		switch op.GetType() {
		case mesospb.Offer_Operation_LAUNCH:
			for _, ti := range op.GetLaunch().GetTaskInfos() {
				m.launchTask(fw, a, role, &available, ti, now)
			}
		case mesospb.Offer_Operation_LAUNCH_GROUP:
			m.launchGroup(fw, a, role, &available, op.GetLaunchGroup(), now)
		default:
			m.log.Warn("operation not supported; its resources stay unused", "framework_id", fw.id, "operation", op.GetType().String())
		}
	}
	if !available.IsEmpty() {
		_ = m.alloc.RecoverResources(a.id, fw.id, role, available, filter)
	}
	m.triggerAllocation()
}

// validateOffers checks the offers of an ACCEPT. It returns the offers that belong to the framework
// and, when any offer is invalid, why.
func (m *Master) validateOffers(fw *framework, ids []*mesospb.OfferID) ([]*offer, string) {
	var out []*offer
	var why string
	seen := map[string]bool{}
	if len(ids) == 0 {
		why = "No offers specified"
	}
	for _, id := range ids {
		v := id.GetValue()
		o := m.offers[v]
		switch {
		case seen[v]:
			why = fmt.Sprintf("Offer %s appears more than once", v)
			continue
		case o == nil:
			why = fmt.Sprintf("Offer %s is no longer valid", v)
			continue
		case o.fw != fw:
			why = fmt.Sprintf("Offer %s is not for framework %s", v, fw.id)
			continue
		}
		seen[v] = true
		if len(out) > 0 && o.agent != out[0].agent {
			why = "Aggregated offers must belong to one agent"
		}
		if len(out) > 0 && o.role != out[0].role {
			why = "Aggregated offers must be allocated to the same role"
		}
		out = append(out, o)
	}
	return out, why
}

// dropLaunches answers every task of a rejected ACCEPT with TASK_DROPPED (TASK_LOST for frameworks
// that are not partition aware). m.mu is held.
func (m *Master) dropLaunches(fw *framework, ops []*mesospb.Offer_Operation, why string, now time.Time) {
	state := forFramework(fw, mesospb.TaskState_TASK_DROPPED)
	send := func(ti *mesospb.TaskInfo) {
		st := masterStatus(ti.GetTaskId().GetValue(), ti.GetAgentId().GetValue(), state, mesospb.TaskStatus_REASON_INVALID_OFFERS, why, now)
		m.sendUpdate(fw, st)
	}
	for _, op := range ops {
		for _, ti := range op.GetLaunch().GetTaskInfos() {
			send(ti)
		}
		for _, ti := range op.GetLaunchGroup().GetTaskGroup().GetTasks() {
			send(ti)
		}
	}
}

// taskError rejects one task with TASK_ERROR. m.mu is held.
func (m *Master) taskError(fw *framework, ti *mesospb.TaskInfo, reason mesospb.TaskStatus_Reason, msg string, now time.Time) {
	st := masterStatus(ti.GetTaskId().GetValue(), ti.GetAgentId().GetValue(), mesospb.TaskState_TASK_ERROR, reason, msg, now)
	m.sendUpdate(fw, st)
	m.metrics.tasksRejected.Inc()
}

// validateResources checks a resource list in isolation.
func validateResources(list []*mesospb.Resource, role string) error {
	for _, r := range list {
		if r.GetName() == "" {
			return fmt.Errorf("resource with an empty name")
		}
		if ar := r.GetAllocationInfo().GetRole(); r.AllocationInfo != nil && ar != role {
			return fmt.Errorf("resource %s is allocated to role %q, not the offer's role %q", r.GetName(), ar, role)
		}
		switch r.GetType() {
		case mesospb.Value_SCALAR:
			v := r.GetScalar().GetValue()
			if r.Scalar == nil || math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
				return fmt.Errorf("resource %s has an invalid scalar value", r.GetName())
			}
		case mesospb.Value_RANGES:
			if r.Ranges == nil {
				return fmt.Errorf("resource %s has no ranges", r.GetName())
			}
			for _, rg := range r.GetRanges().GetRange() {
				if rg.GetBegin() > rg.GetEnd() {
					return fmt.Errorf("resource %s has an invalid range [%d-%d]", r.GetName(), rg.GetBegin(), rg.GetEnd())
				}
			}
		case mesospb.Value_SET:
			if r.Set == nil {
				return fmt.Errorf("resource %s has no set", r.GetName())
			}
			seen := map[string]bool{}
			for _, it := range r.GetSet().GetItem() {
				if seen[it] {
					return fmt.Errorf("resource %s has duplicate item %q", r.GetName(), it)
				}
				seen[it] = true
			}
		default:
			return fmt.Errorf("resource %s has an unsupported type", r.GetName())
		}
	}
	return nil
}

// withAllocationRole sets allocation_info to role where it is missing, as Mesos injects it for
// frameworks that do not set it, and returns list. It updates list in place: every caller passes
// resources of a message it has just cloned from the request, so nothing else refers to them (a
// second copy per resource cost an allocation-heavy proto.Clone for every launched task). The
// resources that get one share a single AllocationInfo, which is never modified afterwards.
func withAllocationRole(list []*mesospb.Resource, role string) []*mesospb.Resource {
	var info *mesospb.Resource_AllocationInfo
	for _, r := range list {
		if r.AllocationInfo == nil {
			if info == nil {
				info = &mesospb.Resource_AllocationInfo{Role: proto.String(role)}
			}
			r.AllocationInfo = info
		}
	}
	return list
}

// validateTask checks a TaskInfo against the framework and agent and returns the resources it needs
// from the offer: the task's, plus its executor's when that executor is not running yet.
func (m *Master) validateTask(fw *framework, a *agent, role string, ti *mesospb.TaskInfo, inGroup bool, launching map[string]bool) (allocator.Resources, error) {
	id := ti.GetTaskId().GetValue()
	if err := validateID("task_id", id); err != nil {
		return allocator.Resources{}, err
	}
	if fw.tasks[id] != nil || launching[id] {
		return allocator.Resources{}, fmt.Errorf("Task has duplicate ID: %s", id)
	}
	for _, t := range fw.unreachableTasks {
		if t.id() == id {
			return allocator.Resources{}, fmt.Errorf("Task has duplicate ID: %s", id)
		}
	}
	if ti.GetAgentId().GetValue() != a.id {
		return allocator.Resources{}, fmt.Errorf("Task uses agent ID %s which does not match offer agent %s", ti.GetAgentId().GetValue(), a.id)
	}
	if inGroup {
		if ti.Executor != nil {
			return allocator.Resources{}, fmt.Errorf("Task %s in a task group must not set 'executor'", id)
		}
	} else if (ti.Command == nil) == (ti.Executor == nil) {
		return allocator.Resources{}, fmt.Errorf("Task should have at least one (but not both) of CommandInfo or ExecutorInfo present")
	}
	if len(ti.GetResources()) == 0 {
		return allocator.Resources{}, fmt.Errorf("Task %s uses no resources", id)
	}
	if err := validateResources(ti.GetResources(), role); err != nil {
		return allocator.Resources{}, fmt.Errorf("Task %s: %v", id, err)
	}
	need := toAlloc(ti.GetResources())
	if ex := ti.GetExecutor(); ex != nil {
		exRes, err := m.executorNeed(fw, a, role, ex)
		if err != nil {
			return allocator.Resources{}, err
		}
		need.Add(exRes)
	}
	return need, nil
}

// executorNeed validates an ExecutorInfo and returns the resources it still needs: none when it is
// already running on the agent with the same definition.
func (m *Master) executorNeed(fw *framework, a *agent, role string, ex *mesospb.ExecutorInfo) (allocator.Resources, error) {
	eid := ex.GetExecutorId().GetValue()
	if err := validateID("executor_id", eid); err != nil {
		return allocator.Resources{}, err
	}
	if ex.FrameworkId != nil && ex.GetFrameworkId().GetValue() != fw.id {
		return allocator.Resources{}, fmt.Errorf("ExecutorInfo has an invalid FrameworkID (Actual: %s vs Expected: %s)", ex.GetFrameworkId().GetValue(), fw.id)
	}
	if err := validateResources(ex.GetResources(), role); err != nil {
		return allocator.Resources{}, fmt.Errorf("Executor %s: %v", eid, err)
	}
	if running := a.executors[fw.id][eid]; running != nil {
		if !sameExecutor(running, ex) {
			return allocator.Resources{}, fmt.Errorf("ExecutorInfo is not compatible with the running executor %s", eid)
		}
		return allocator.Resources{}, nil
	}
	return toAlloc(ex.GetResources()), nil
}

// sameExecutor compares executor definitions the way Mesos does, ignoring how resources carry
// their allocation role.
func sameExecutor(a, b *mesospb.ExecutorInfo) bool {
	ac := proto.Clone(a).(*mesospb.ExecutorInfo)
	bc := proto.Clone(b).(*mesospb.ExecutorInfo)
	for _, ex := range []*mesospb.ExecutorInfo{ac, bc} {
		ex.FrameworkId = nil
		for _, r := range ex.Resources {
			r.AllocationInfo = nil
		}
	}
	return proto.Equal(ac, bc)
}

// launchTask validates and launches one task of a LAUNCH. m.mu is held.
func (m *Master) launchTask(fw *framework, a *agent, role string, available *allocator.Resources, ti *mesospb.TaskInfo, now time.Time) {
	need, err := m.validateTask(fw, a, role, ti, false, nil)
	if err == nil && !available.ContainsAll(need) {
		err = fmt.Errorf("Task %s uses more resources (%s) than available (%s)", ti.GetTaskId().GetValue(), need.String(), available.String())
	}
	if err != nil {
		m.taskError(fw, ti, mesospb.TaskStatus_REASON_TASK_INVALID, err.Error(), now)
		return
	}
	available.Subtract(need)
	ti = proto.Clone(ti).(*mesospb.TaskInfo)
	ti.Resources = withAllocationRole(ti.Resources, role)
	if ex := ti.GetExecutor(); ex != nil {
		ex.FrameworkId = fw.info.GetId()
		ex.Resources = withAllocationRole(ex.Resources, role)
		m.addExecutor(fw, a, role, ex)
	}
	m.addTask(fw, a, role, ti, toAlloc(ti.GetResources()), now)
	m.sendToAgent(a, agentEventRunTask(fw.info, ti))
}

// launchGroup validates and launches a LAUNCH_GROUP: all tasks or none. m.mu is held.
func (m *Master) launchGroup(fw *framework, a *agent, role string, available *allocator.Resources, lg *mesospb.Offer_Operation_LaunchGroup, now time.Time) {
	tasks := lg.GetTaskGroup().GetTasks()
	fail := func(err error) {
		for _, ti := range tasks {
			m.taskError(fw, ti, mesospb.TaskStatus_REASON_TASK_GROUP_INVALID, err.Error(), now)
		}
	}
	ex := lg.GetExecutor()
	if ex == nil {
		fail(fmt.Errorf("Task group needs an 'executor'"))
		return
	}
	if len(tasks) == 0 {
		return
	}
	if err := validateGroupExecutorType(ex); err != nil {
		fail(err)
		return
	}
	need, err := m.executorNeed(fw, a, role, ex)
	if err != nil {
		fail(err)
		return
	}
	if a.executors[fw.id][ex.GetExecutorId().GetValue()] == nil {
		q := toAlloc(ex.GetResources())
		if q.Scalar("cpus") < minExecutorCPUs || q.Scalar("mem") < minExecutorMemMB {
			fail(fmt.Errorf("Executor %s needs at least cpus:0.01 and mem:32", ex.GetExecutorId().GetValue()))
			return
		}
	}
	launching := map[string]bool{}
	for _, ti := range tasks {
		tn, err := m.validateTask(fw, a, role, ti, true, launching)
		if err != nil {
			fail(err)
			return
		}
		launching[ti.GetTaskId().GetValue()] = true
		need.Add(tn)
	}
	if !available.ContainsAll(need) {
		fail(fmt.Errorf("Task group uses more resources (%s) than available (%s)", need.String(), available.String()))
		return
	}
	available.Subtract(need)
	ex = proto.Clone(ex).(*mesospb.ExecutorInfo)
	ex.FrameworkId = fw.info.GetId()
	ex.Resources = withAllocationRole(ex.Resources, role)
	m.addExecutor(fw, a, role, ex)
	group := &mesospb.TaskGroupInfo{}
	for _, ti := range tasks {
		ti = proto.Clone(ti).(*mesospb.TaskInfo)
		ti.Resources = withAllocationRole(ti.Resources, role)
		m.addTask(fw, a, role, ti, toAlloc(ti.GetResources()), now)
		fw.tasks[ti.GetTaskId().GetValue()].t.ExecutorId = ex.GetExecutorId()
		group.Tasks = append(group.Tasks, ti)
	}
	m.sendToAgent(a, agentEventRunTaskGroup(fw.info, ex, group))
}

// The minimum resources of a task group's executor (Mesos' MIN_CPUS and MIN_MEM).
const (
	minExecutorCPUs  = 0.01
	minExecutorMemMB = 32
)

// validateGroupExecutorType checks the type of a task group's executor as Mesos does: it must be set;
// a DEFAULT executor (the agent's built-in default executor) has no command and no container image,
// and a CUSTOM one has a command.
func validateGroupExecutorType(ex *mesospb.ExecutorInfo) error {
	switch {
	case ex.Type == nil:
		return fmt.Errorf("'ExecutorInfo.type' must be set")
	case ex.GetType() == mesospb.ExecutorInfo_DEFAULT:
		if ex.Command != nil {
			return fmt.Errorf("'ExecutorInfo.command' must not be set for 'DEFAULT' executor")
		}
		if c := ex.GetContainer(); c != nil && c.GetType() != mesospb.ContainerInfo_MESOS {
			return fmt.Errorf("'ExecutorInfo.container.type' must be 'MESOS' for 'DEFAULT' executor")
		}
		if ex.GetContainer().GetMesos().GetImage() != nil {
			return fmt.Errorf("'ExecutorInfo.container.mesos.image' must not be set for 'DEFAULT' executor")
		}
	case ex.GetType() == mesospb.ExecutorInfo_CUSTOM:
		if ex.Command == nil {
			return fmt.Errorf("'ExecutorInfo.command' must be set for 'CUSTOM' executor")
		}
	default:
		return fmt.Errorf("Unknown executor type")
	}
	return nil
}

// addExecutor records an executor the master launched (or learned of), unless it is known. m.mu is
// held.
func (m *Master) addExecutor(fw *framework, a *agent, role string, ex *mesospb.ExecutorInfo) {
	eid := ex.GetExecutorId().GetValue()
	if a.executors[fw.id] == nil {
		a.executors[fw.id] = map[string]*mesospb.ExecutorInfo{}
	}
	if a.executors[fw.id][eid] != nil {
		return
	}
	a.executors[fw.id][eid] = ex
	if fw.executors[a.id] == nil {
		fw.executors[a.id] = map[string]*mesospb.ExecutorInfo{}
	}
	fw.executors[a.id][eid] = ex
	if a.executorRes[fw.id] == nil {
		a.executorRes[fw.id] = map[string]executorAlloc{}
	}
	a.executorRes[fw.id][eid] = executorAlloc{role: role, res: toAlloc(ex.GetResources())}
}

// removeExecutor forgets an executor and returns its own resources to the allocator. m.mu is held.
func (m *Master) removeExecutor(a *agent, fwID, eid string) {
	if ea, ok := a.executorRes[fwID][eid]; ok {
		if !ea.res.IsEmpty() {
			_ = m.alloc.RecoverResources(a.id, fwID, ea.role, ea.res, nil)
			m.triggerAllocation()
		}
		delete(a.executorRes[fwID], eid)
	}
	delete(a.executors[fwID], eid)
	if len(a.executors[fwID]) == 0 {
		delete(a.executors, fwID)
		delete(a.executorRes, fwID)
	}
	if fw := m.frameworks[fwID]; fw != nil {
		delete(fw.executors[a.id], eid)
		if len(fw.executors[a.id]) == 0 {
			delete(fw.executors, a.id)
		}
	}
}

// removeExecutorsOf forgets every executor of a framework on an agent. m.mu is held.
func (m *Master) removeExecutorsOf(a *agent, fwID string) {
	for eid := range a.executors[fwID] {
		m.removeExecutor(a, fwID, eid)
	}
}

// addTask records a launched task in STAGING. m.mu is held.
func (m *Master) addTask(fw *framework, a *agent, role string, ti *mesospb.TaskInfo, res allocator.Resources, now time.Time) *task {
	user := ti.GetCommand().GetUser()
	if user == "" {
		user = ti.GetExecutor().GetCommand().GetUser()
	}
	if user == "" {
		user = fw.info.GetUser()
	}
	tk := &mesospb.Task{
		Name:        ti.Name,
		TaskId:      ti.TaskId,
		FrameworkId: fw.info.GetId(),
		AgentId:     ti.AgentId,
		State:       mesospb.TaskState_TASK_STAGING.Enum(),
		Resources:   ti.Resources,
		Labels:      ti.Labels,
		Discovery:   ti.Discovery,
		Container:   ti.Container,
		HealthCheck: ti.HealthCheck,
		KillPolicy:  ti.KillPolicy,
		User:        proto.String(user),
		Limits:      ti.Limits,
	}
	if ti.Executor != nil {
		tk.ExecutorId = ti.GetExecutor().GetExecutorId()
	}
	t := &task{t: tk, fw: fw, agent: a, res: res, role: role}
	fw.tasks[t.id()] = t
	if a.tasks[fw.id] == nil {
		a.tasks[fw.id] = map[string]*task{}
	}
	a.tasks[fw.id][t.id()] = t
	m.operatorTaskAdded(t)
	m.metrics.tasksLaunched.Inc()
	return t
}
