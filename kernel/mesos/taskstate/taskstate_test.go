package taskstate

import (
	"testing"

	"strata/kernel/mesos/mesospb"
)

func TestStates(t *testing.T) {
	for v, name := range mesospb.TaskState_name {
		s := mesospb.TaskState(v)
		wantTerminal := map[string]bool{
			"TASK_FINISHED": true, "TASK_FAILED": true, "TASK_KILLED": true, "TASK_LOST": true, "TASK_ERROR": true,
			"TASK_DROPPED": true, "TASK_GONE": true, "TASK_GONE_BY_OPERATOR": true,
		}[name]
		if got := IsTerminal(s); got != wantTerminal {
			t.Errorf("IsTerminal(%s) = %v, want %v", name, got, wantTerminal)
		}
		wantPA := map[string]bool{
			"TASK_DROPPED": true, "TASK_UNREACHABLE": true, "TASK_GONE": true, "TASK_GONE_BY_OPERATOR": true, "TASK_UNKNOWN": true,
		}[name]
		if got := PartitionAwareOnly(s); got != wantPA {
			t.Errorf("PartitionAwareOnly(%s) = %v, want %v", name, got, wantPA)
		}
	}
}
