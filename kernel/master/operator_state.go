package master

import (
	"sort"
	"time"

	"google.golang.org/protobuf/proto"

	"strata/kernel/allocator"
	"strata/kernel/mesos/masterpb"
	"strata/kernel/mesos/mesospb"
)

// Conversions of the master's state to the operator API's protobuf messages. m.mu is held by every
// caller.

func timeInfo(t time.Time) *mesospb.TimeInfo {
	if t.IsZero() {
		return nil
	}
	return &mesospb.TimeInfo{Nanoseconds: proto.Int64(t.UnixNano())}
}

// operatorFormat is how resources appear in the operator API and endpoints: the pre-refinement
// format with "role":"*" on unreserved resources.
var operatorFormat = resourceFormat{}

func (m *Master) agentProto(a *agent) *masterpb.Response_GetAgents_Agent {
	offered, allocated := a.offered(), a.used()
	return &masterpb.Response_GetAgents_Agent{
		AgentInfo:          a.info,
		Active:             proto.Bool(a.active),
		Deactivated:        proto.Bool(false),
		Version:            proto.String(a.version),
		Pid:                proto.String(a.pid),
		RegisteredTime:     timeInfo(a.registeredTime),
		ReregisteredTime:   timeInfo(a.reregisteredTime),
		TotalResources:     a.info.GetResources(),
		AllocatedResources: toProto(allocated, operatorFormat),
		OfferedResources:   toProto(offered, operatorFormat),
		Capabilities:       a.caps,
	}
}

func (m *Master) frameworkProto(fw *framework) *masterpb.Response_GetFrameworks_Framework {
	var offered, allocated allocator.Resources
	var offers []*mesospb.Offer
	for _, o := range fw.offers {
		offered.Add(o.res)
		offers = append(offers, o.msg)
	}
	for _, t := range fw.tasks {
		if !t.released {
			allocated.Add(t.res)
		}
	}
	return &masterpb.Response_GetFrameworks_Framework{
		FrameworkInfo:      fw.info,
		Active:             proto.Bool(fw.active),
		Connected:          proto.Bool(fw.connected),
		Recovered:          proto.Bool(fw.recovered),
		RegisteredTime:     timeInfo(fw.registeredTime),
		ReregisteredTime:   timeInfo(fw.reregisteredTime),
		UnregisteredTime:   timeInfo(fw.unregisteredTime),
		Offers:             offers,
		AllocatedResources: toProto(allocated, operatorFormat),
		OfferedResources:   toProto(offered, operatorFormat),
	}
}

// sortedFrameworks returns the active frameworks in registration order.
func (m *Master) sortedFrameworks() []*framework {
	out := make([]*framework, 0, len(m.frameworks))
	for _, fw := range m.frameworks {
		out = append(out, fw)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].registeredTime.Equal(out[j].registeredTime) {
			return out[i].registeredTime.Before(out[j].registeredTime)
		}
		return out[i].id < out[j].id
	})
	return out
}

func (m *Master) sortedAgents() []*agent {
	out := make([]*agent, 0, len(m.agents))
	for _, a := range m.agents {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

func sortedTasks(ts map[string]*task) []*task {
	out := make([]*task, 0, len(ts))
	for _, t := range ts {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id() < out[j].id() })
	return out
}

func (m *Master) getAgents() *masterpb.Response_GetAgents {
	resp := &masterpb.Response_GetAgents{}
	for _, a := range m.sortedAgents() {
		resp.Agents = append(resp.Agents, m.agentProto(a))
	}
	for _, rec := range m.recoveredAgents {
		info := &mesospb.AgentInfo{}
		if proto.Unmarshal(rec.Info, info) == nil {
			resp.RecoveredAgents = append(resp.RecoveredAgents, info)
		}
	}
	return resp
}

func (m *Master) getFrameworks() *masterpb.Response_GetFrameworks {
	resp := &masterpb.Response_GetFrameworks{}
	for _, fw := range m.sortedFrameworks() {
		resp.Frameworks = append(resp.Frameworks, m.frameworkProto(fw))
	}
	for _, fw := range m.completedFrameworks {
		resp.CompletedFrameworks = append(resp.CompletedFrameworks, m.frameworkProto(fw))
	}
	return resp
}

func (m *Master) getTasks() *masterpb.Response_GetTasks {
	resp := &masterpb.Response_GetTasks{}
	for _, fw := range m.sortedFrameworks() {
		for _, t := range sortedTasks(fw.tasks) {
			resp.Tasks = append(resp.Tasks, t.t)
		}
		for _, t := range fw.unreachableTasks {
			resp.UnreachableTasks = append(resp.UnreachableTasks, t.t)
		}
		for _, t := range fw.completedTasks {
			resp.CompletedTasks = append(resp.CompletedTasks, t.t)
		}
	}
	for _, fw := range m.completedFrameworks {
		for _, t := range fw.completedTasks {
			resp.CompletedTasks = append(resp.CompletedTasks, t.t)
		}
	}
	return resp
}

func (m *Master) getExecutors() *masterpb.Response_GetExecutors {
	resp := &masterpb.Response_GetExecutors{}
	for _, a := range m.sortedAgents() {
		for _, byEx := range a.executors {
			for _, ex := range byEx {
				resp.Executors = append(resp.Executors, &masterpb.Response_GetExecutors_Executor{
					ExecutorInfo: ex,
					AgentId:      a.info.GetId(),
				})
			}
		}
	}
	return resp
}

func (m *Master) getState() *masterpb.Response_GetState {
	return &masterpb.Response_GetState{
		GetTasks:      m.getTasks(),
		GetExecutors:  m.getExecutors(),
		GetFrameworks: m.getFrameworks(),
		GetAgents:     m.getAgents(),
	}
}

// roleNames are every role known: with weights, frameworks subscribed, or reservations.
func (m *Master) roleNames() []string {
	set := map[string]bool{}
	for r := range m.weights {
		set[r] = true
	}
	for _, fw := range m.frameworks {
		for _, r := range fw.roles() {
			set[r] = true
		}
	}
	for _, a := range m.agents {
		for _, r := range a.total.ReservationRoles() {
			set[r] = true
		}
	}
	out := make([]string, 0, len(set))
	for r := range set {
		out = append(out, r)
	}
	sort.Strings(out)
	return out
}

func (m *Master) getRoles() *masterpb.Response_GetRoles {
	resp := &masterpb.Response_GetRoles{}
	for _, name := range m.roleNames() {
		role := &mesospb.Role{Name: proto.String(name), Weight: proto.Float64(m.weight(name))}
		var used allocator.Resources
		for _, fw := range m.sortedFrameworks() {
			in := false
			for _, r := range fw.roles() {
				if r == name {
					in = true
				}
			}
			if !in {
				continue
			}
			role.Frameworks = append(role.Frameworks, fw.info.GetId())
			for _, t := range fw.tasks {
				if t.role == name && !t.released {
					used.Add(t.res)
				}
			}
		}
		role.Resources = toProto(used, operatorFormat)
		resp.Roles = append(resp.Roles, role)
	}
	return resp
}

func (m *Master) weight(role string) float64 {
	if w, ok := m.weights[role]; ok {
		return w
	}
	return 1
}
