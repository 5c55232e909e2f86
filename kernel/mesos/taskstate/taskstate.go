package taskstate

import "strata/kernel/mesos/mesospb"

// IsTerminal follows Mesos' protobuf::isTerminalState: the task is over (TASK_LOST included, even
// though a lost task may come back RUNNING).
func IsTerminal(s mesospb.TaskState) bool {
	switch s {
	case mesospb.TaskState_TASK_FINISHED, mesospb.TaskState_TASK_FAILED, mesospb.TaskState_TASK_KILLED,
		mesospb.TaskState_TASK_LOST, mesospb.TaskState_TASK_ERROR, mesospb.TaskState_TASK_DROPPED,
		mesospb.TaskState_TASK_GONE, mesospb.TaskState_TASK_GONE_BY_OPERATOR:
		return true
	}
	return false
}

// PartitionAwareOnly reports whether s is one of the states Mesos sends only to frameworks with the
// PARTITION_AWARE capability; the others get TASK_LOST instead.
func PartitionAwareOnly(s mesospb.TaskState) bool {
	switch s {
	case mesospb.TaskState_TASK_DROPPED, mesospb.TaskState_TASK_UNREACHABLE, mesospb.TaskState_TASK_GONE,
		mesospb.TaskState_TASK_GONE_BY_OPERATOR, mesospb.TaskState_TASK_UNKNOWN:
		return true
	}
	return false
}
