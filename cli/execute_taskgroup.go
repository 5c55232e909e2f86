package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"google.golang.org/protobuf/proto"

	"strata/kernel/mesos/codec"
	"strata/kernel/mesos/mesospb"
)

// defaultExecutorID is the executor id `strata execute --task-group` gives its default executor, as
// mesos-execute does.
const defaultExecutorID = "default-executor"

// maxTaskGroupFile bounds the size of a --task-group file.
const maxTaskGroupFile = 4 << 20

// defaultExecutorInfo is the ExecutorInfo of the built-in default executor with the given
// resources; the framework id is filled in at launch.
func defaultExecutorInfo(res []*mesospb.Resource) *mesospb.ExecutorInfo {
	return &mesospb.ExecutorInfo{
		Type:       mesospb.ExecutorInfo_DEFAULT.Enum(),
		ExecutorId: &mesospb.ExecutorID{Value: proto.String(defaultExecutorID)},
		Resources:  res,
	}
}

// loadTaskGroup reads the TaskGroupInfo of --task-group: a file path, a file:// URL, or the JSON
// itself (as mesos-execute's --task_group accepts), in Mesos JSON. Tasks may leave agent_id out: it
// is set from the offer at launch.
func loadTaskGroup(arg string) (*mesospb.TaskGroupInfo, error) {
	var data []byte
	if strings.HasPrefix(strings.TrimSpace(arg), "{") {
		data = []byte(arg)
	} else {
		path := strings.TrimPrefix(arg, "file://")
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("read the task group: %w", err)
		}
		defer f.Close()
		data, err = io.ReadAll(io.LimitReader(f, maxTaskGroupFile+1))
		if err != nil {
			return nil, fmt.Errorf("read the task group %s: %w", path, err)
		}
		if len(data) > maxTaskGroupFile {
			return nil, fmt.Errorf("the task group file %s is larger than %d bytes", path, maxTaskGroupFile)
		}
	}
	group := &mesospb.TaskGroupInfo{}
	err := codec.UnmarshalJSON(data, group)
	if errors.Is(err, codec.ErrRequiredFieldMissing) {
		// The document was decoded; only required fields are missing. agent_id is set at launch.
		for _, t := range group.GetTasks() {
			if t.AgentId == nil {
				t.AgentId = &mesospb.AgentID{Value: proto.String("")}
			}
		}
		err = codec.CheckRequired(group)
	}
	if err != nil {
		return nil, fmt.Errorf("decode the task group: %w", err)
	}
	if len(group.GetTasks()) == 0 {
		return nil, errors.New("the task group has no tasks")
	}
	seen := map[string]bool{}
	for i, t := range group.GetTasks() {
		id := t.GetTaskId().GetValue()
		switch {
		case id == "":
			return nil, fmt.Errorf("tasks[%d]: empty task_id", i)
		case seen[id]:
			return nil, fmt.Errorf("tasks[%d]: duplicate task_id %q", i, id)
		case t.Executor != nil:
			return nil, fmt.Errorf("tasks[%d] (%s): a task of a group has no executor of its own", i, id)
		case len(t.GetResources()) == 0:
			return nil, fmt.Errorf("tasks[%d] (%s): no resources", i, id)
		}
		seen[id] = true
	}
	return group, nil
}
