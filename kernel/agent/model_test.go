package agent

import (
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"strata/kernel/mesos/mesospb"
)

// The kind of a checkpointed executor, from its ExecutorInfo alone.
func TestKindOfRecovered(t *testing.T) {
	fw := &framework{id: "fw"}
	image := &mesospb.ContainerInfo{Type: mesospb.ContainerInfo_DOCKER.Enum(),
		Docker: &mesospb.ContainerInfo_DockerInfo{Image: proto.String("busybox")}}
	command := commandExecutorInfo(fw, &mesospb.TaskInfo{TaskId: &mesospb.TaskID{Value: proto.String("t1")},
		Command: &mesospb.CommandInfo{Value: proto.String("true")}}, time.Second)
	imageCommand := commandExecutorInfo(fw, &mesospb.TaskInfo{TaskId: &mesospb.TaskID{Value: proto.String("t2")},
		Command: &mesospb.CommandInfo{Value: proto.String("true")}, Container: image}, time.Second)
	custom := &mesospb.ExecutorInfo{ExecutorId: &mesospb.ExecutorID{Value: proto.String("e")},
		Command: &mesospb.CommandInfo{Value: proto.String("./executor")}}
	// A custom executor in an image may leave the command to the image.
	customImageEntrypoint := &mesospb.ExecutorInfo{ExecutorId: &mesospb.ExecutorID{Value: proto.String("e")},
		Command: &mesospb.CommandInfo{Shell: proto.Bool(false)}, Container: image}
	tests := []struct {
		name string
		info *mesospb.ExecutorInfo
		want executorKind
	}{
		{"command executor", command, commandExecutor},
		{"command executor of an image task", imageCommand, commandExecutor},
		{"custom executor", custom, customExecutor},
		{"custom executor running its image's entrypoint", customImageEntrypoint, customExecutor},
		{"default executor", &mesospb.ExecutorInfo{Type: mesospb.ExecutorInfo_DEFAULT.Enum()}, defaultExecutor},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := kindOfRecovered(tt.info); got != tt.want {
				t.Errorf("kindOfRecovered = %v, want %v", got, tt.want)
			}
			if got := executorImage(tt.want, tt.info) != nil; got != (tt.info.GetContainer() != nil && tt.want == customExecutor) {
				t.Errorf("executorImage = %v", got)
			}
		})
	}
}
