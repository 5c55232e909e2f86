package master

import (
	"google.golang.org/protobuf/proto"

	"strata/kernel/mesos/internalpb"
	"strata/kernel/mesos/mesospb"
)

// Builders of the events the master sends on an agent's stream (docs/internal-protocol.md).

func fwID(id string) *mesospb.FrameworkID { return &mesospb.FrameworkID{Value: proto.String(id)} }

func agentEventRunTask(fi *mesospb.FrameworkInfo, ti *mesospb.TaskInfo) *internalpb.AgentEvent {
	return &internalpb.AgentEvent{
		Type:    internalpb.AgentEvent_RUN_TASK.Enum(),
		RunTask: &internalpb.AgentEvent_RunTask{Framework: fi, Task: ti},
	}
}

func agentEventRunTaskGroup(fi *mesospb.FrameworkInfo, ex *mesospb.ExecutorInfo, g *mesospb.TaskGroupInfo) *internalpb.AgentEvent {
	return &internalpb.AgentEvent{
		Type:         internalpb.AgentEvent_RUN_TASK_GROUP.Enum(),
		RunTaskGroup: &internalpb.AgentEvent_RunTaskGroup{Framework: fi, Executor: ex, TaskGroup: g},
	}
}

func agentEventKill(fw, task string, kp *mesospb.KillPolicy) *internalpb.AgentEvent {
	return &internalpb.AgentEvent{
		Type: internalpb.AgentEvent_KILL_TASK.Enum(),
		KillTask: &internalpb.AgentEvent_KillTask{
			FrameworkId: fwID(fw),
			TaskId:      &mesospb.TaskID{Value: proto.String(task)},
			KillPolicy:  kp,
		},
	}
}

func agentEventShutdownExecutor(fw, eid string) *internalpb.AgentEvent {
	return &internalpb.AgentEvent{
		Type: internalpb.AgentEvent_SHUTDOWN_EXECUTOR.Enum(),
		ShutdownExecutor: &internalpb.AgentEvent_ShutdownExecutor{
			FrameworkId: fwID(fw),
			ExecutorId:  &mesospb.ExecutorID{Value: proto.String(eid)},
		},
	}
}

func agentEventShutdownFramework(fw string) *internalpb.AgentEvent {
	return &internalpb.AgentEvent{
		Type:              internalpb.AgentEvent_SHUTDOWN_FRAMEWORK.Enum(),
		ShutdownFramework: &internalpb.AgentEvent_ShutdownFramework{FrameworkId: fwID(fw)},
	}
}

func agentEventAck(fw, task string, uuid []byte) *internalpb.AgentEvent {
	return &internalpb.AgentEvent{
		Type: internalpb.AgentEvent_ACKNOWLEDGE_UPDATE.Enum(),
		AcknowledgeUpdate: &internalpb.AgentEvent_AcknowledgeUpdate{
			FrameworkId: fwID(fw),
			TaskId:      &mesospb.TaskID{Value: proto.String(task)},
			Uuid:        uuid,
		},
	}
}

func agentEventFrameworkMessage(fw, eid string, data []byte) *internalpb.AgentEvent {
	return &internalpb.AgentEvent{
		Type: internalpb.AgentEvent_FRAMEWORK_MESSAGE.Enum(),
		FrameworkMessage: &internalpb.AgentEvent_FrameworkMessage{
			FrameworkId: fwID(fw),
			ExecutorId:  &mesospb.ExecutorID{Value: proto.String(eid)},
			Data:        data,
		},
	}
}

func agentEventUpdateFramework(fi *mesospb.FrameworkInfo) *internalpb.AgentEvent {
	return &internalpb.AgentEvent{
		Type:            internalpb.AgentEvent_UPDATE_FRAMEWORK.Enum(),
		UpdateFramework: &internalpb.AgentEvent_UpdateFramework{FrameworkInfo: fi},
	}
}

func agentEventPing(seq uint64) *internalpb.AgentEvent {
	return &internalpb.AgentEvent{
		Type: internalpb.AgentEvent_PING.Enum(),
		Ping: &internalpb.AgentEvent_Ping{Seq: proto.Uint64(seq)},
	}
}

func agentEventError(msg string) *internalpb.AgentEvent {
	return &internalpb.AgentEvent{
		Type:  internalpb.AgentEvent_ERROR.Enum(),
		Error: &internalpb.AgentEvent_Error{Message: proto.String(msg)},
	}
}

// sendToAgent queues an event on the agent's stream (always protobuf). m.mu is held.
func (m *Master) sendToAgent(a *agent, ev *internalpb.AgentEvent) bool {
	if a.stream == nil {
		return false
	}
	rec, err := proto.Marshal(ev)
	if err != nil {
		m.log.Error("encode agent event", "agent_id", a.id, "err", err)
		return false
	}
	return a.stream.send(rec)
}
