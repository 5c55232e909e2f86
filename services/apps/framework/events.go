package framework

import (
	"errors"
	"strings"

	"strata/kernel/mesos/mesospb"
	"strata/services/apps/events"
	"strata/services/apps/instance"
)

// Publisher receives events (an *events.Bus, or the service's wrapper of one).
type Publisher interface {
	Emit(e events.Typed) (uint64, error)
}

type nopPublisher struct{}

func (nopPublisher) Emit(events.Typed) (uint64, error) { return 0, nil }

// emit publishes events; a bus that is closed (the service is stopping) drops them.
func (f *Framework) emit(evs ...events.Typed) {
	for _, e := range evs {
		if _, err := f.cfg.Events.Emit(e); err != nil && !errors.Is(err, events.ErrClosed) {
			f.log.Warn("publishing an event", "event_type", e.EventType(), "err", err)
		}
	}
}

// statusEvents are the events of an instance reaching a new task state: status_update_event
// and instance_changed_event, as Marathon publishes them when a task's condition changes.
func statusEvents(i *instance.Instance, state mesospb.TaskState, msg string) []events.Typed {
	su := events.StatusUpdateEvent{
		SlaveID: i.AgentID, TaskID: i.TaskID, TaskStatus: state.String(), Message: msg, AppID: i.AppID,
		Host: i.Host, Ports: hostPorts(i.Ports), Version: i.Version,
	}
	for _, ip := range i.IPAddresses {
		p := "IPv4"
		if strings.Contains(ip, ":") {
			p = "IPv6"
		}
		su.IPAddresses = append(su.IPAddresses, events.IPAddress{IPAddress: ip, Protocol: p})
	}
	return []events.Typed{su, events.InstanceChangedEvent{
		InstanceID: i.TaskID, Condition: condition(state), RunSpecID: i.AppID, AgentID: i.AgentID,
		Host: i.Host, RunSpecVersion: i.Version,
	}}
}

// hostPorts leaves out the ports without a host port.
func hostPorts(ports []int) []int {
	out := []int{}
	for _, p := range ports {
		if p != 0 {
			out = append(out, p)
		}
	}
	return out
}

// condition is Marathon's instance condition for a Mesos task state.
func condition(s mesospb.TaskState) string {
	switch s {
	case mesospb.TaskState_TASK_STAGING:
		return events.ConditionStaging
	case mesospb.TaskState_TASK_STARTING:
		return events.ConditionStarting
	case mesospb.TaskState_TASK_RUNNING:
		return events.ConditionRunning
	case mesospb.TaskState_TASK_KILLING:
		return events.ConditionKilling
	case mesospb.TaskState_TASK_KILLED:
		return events.ConditionKilled
	case mesospb.TaskState_TASK_FAILED:
		return events.ConditionFailed
	case mesospb.TaskState_TASK_FINISHED:
		return events.ConditionFinished
	case mesospb.TaskState_TASK_ERROR:
		return events.ConditionError
	case mesospb.TaskState_TASK_LOST, mesospb.TaskState_TASK_GONE, mesospb.TaskState_TASK_GONE_BY_OPERATOR:
		return events.ConditionGone
	case mesospb.TaskState_TASK_DROPPED:
		return events.ConditionDropped
	case mesospb.TaskState_TASK_UNREACHABLE:
		return events.ConditionUnreachable
	}
	return events.ConditionUnknown
}

// healthEvents are the events of an instance whose health check result flipped (or came for
// the first time).
func healthEvents(i *instance.Instance, healthy bool) []events.Typed {
	h := healthy
	return []events.Typed{
		events.InstanceHealthChangedEvent{InstanceID: i.TaskID, RunSpecID: i.AppID, RunSpecVersion: i.Version, Healthy: &h},
		events.HealthStatusChangedEvent{AppID: i.AppID, InstanceID: i.TaskID, TaskID: i.TaskID, Version: i.Version, Alive: healthy},
	}
}

// unhealthyKillEvents are the events of a task killed for failing its health
// checks: Marathon's unhealthy_task_kill_event and, since 1.4, unhealthy_instance_kill_event.
func unhealthyKillEvents(i *instance.Instance, reason string) []events.Typed {
	return []events.Typed{
		events.UnhealthyTaskKillEvent{AppID: i.AppID, TaskID: i.TaskID, Version: i.Version, Reason: reason, Host: i.Host, SlaveID: i.AgentID},
		events.UnhealthyInstanceKillEvent{AppID: i.AppID, TaskID: i.TaskID, InstanceID: i.TaskID, Version: i.Version,
			Reason: reason, Host: i.Host, SlaveID: i.AgentID},
	}
}
