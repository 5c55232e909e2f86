package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"strata/kernel/mesos/mesospb"
)

const twoTaskGroup = `{"tasks": [
  {"name": "a", "task_id": {"value": "a"}, "agent_id": {"value": ""}, "command": {"value": "true"},
   "resources": [{"name": "cpus", "type": "SCALAR", "scalar": {"value": 0.1}}]},
  {"name": "b", "task_id": {"value": "b"}, "command": {"value": "true"},
   "resources": [{"name": "mem", "type": "SCALAR", "scalar": {"value": 32}}]}
]}`

func TestLoadTaskGroup(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "group.json")
	if err := os.WriteFile(file, []byte(twoTaskGroup), 0o644); err != nil {
		t.Fatal(err)
	}
	task := func(body string) string { return `{"tasks": [` + body + `]}` }
	tests := []struct {
		name string
		arg  string
		ids  []string
		err  string
	}{
		{name: "file path", arg: file, ids: []string{"a", "b"}},
		{name: "file URL", arg: "file://" + file, ids: []string{"a", "b"}},
		{name: "inline JSON", arg: twoTaskGroup, ids: []string{"a", "b"}},
		{name: "missing file", arg: filepath.Join(dir, "nope.json"), err: "no such file"},
		{name: "not JSON", arg: "{tasks", err: "decode"},
		{name: "no tasks", arg: `{"tasks": []}`, err: "no tasks"},
		{name: "name missing", arg: task(`{"task_id": {"value": "x"}, "resources": [{"name": "cpus", "type": "SCALAR", "scalar": {"value": 1}}]}`),
			err: "tasks[0].name: required field missing"},
		{name: "duplicate ids", arg: task(`{"name": "x", "task_id": {"value": "x"}, "resources": [{"name": "cpus", "type": "SCALAR", "scalar": {"value": 1}}]},
			{"name": "y", "task_id": {"value": "x"}, "resources": [{"name": "cpus", "type": "SCALAR", "scalar": {"value": 1}}]}`),
			err: `duplicate task_id "x"`},
		{name: "no resources", arg: task(`{"name": "x", "task_id": {"value": "x"}}`), err: "no resources"},
		{name: "own executor", arg: task(`{"name": "x", "task_id": {"value": "x"}, "resources": [{"name": "cpus", "type": "SCALAR", "scalar": {"value": 1}}],
			"executor": {"executor_id": {"value": "e"}}}`), err: "no executor of its own"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := loadTaskGroup(tt.arg)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("loadTaskGroup: %v, want an error with %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, ti := range g.GetTasks() {
				ids = append(ids, ti.GetTaskId().GetValue())
				if ti.AgentId == nil {
					t.Errorf("task %s without agent_id", ti.GetTaskId().GetValue())
				}
			}
			if strings.Join(ids, ",") != strings.Join(tt.ids, ",") {
				t.Errorf("task ids %v, want %v", ids, tt.ids)
			}
		})
	}
}

func TestExecuteFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		err  string
	}{
		{name: "one task", args: []string{"--name", "x", "--command", "true"}},
		{name: "task group", args: []string{"--task-group", "g.json", "--executor-resources", "cpus:0.2;mem:64"}},
		{name: "nothing", args: nil, err: `"name", "command"`},
		{name: "no command", args: []string{"--name", "x"}, err: `"command"`},
		{name: "group and name", args: []string{"--task-group", "g.json", "--name", "x"}, err: "--name cannot be used with --task-group"},
		{name: "group and resources", args: []string{"--task-group", "g.json", "--resources", "cpus:1"}, err: "--resources cannot"},
		{name: "executor resources without a group", args: []string{"--name", "x", "--command", "true", "--executor-resources", "cpus:1"},
			err: "--task-group only"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := newExecuteCommand()
			if err := cmd.ParseFlags(tt.args); err != nil {
				t.Fatal(err)
			}
			f := &executeFlags{taskGroup: cmd.Flags().Lookup("task-group").Value.String()}
			err := f.validate(cmd)
			if tt.err == "" && err != nil || tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)) {
				t.Fatalf("validate: %v, want %q", err, tt.err)
			}
		})
	}
}

func TestExecuteHandlerOfTaskGroup(t *testing.T) {
	file := filepath.Join(t.TempDir(), "group.json")
	if err := os.WriteFile(file, []byte(twoTaskGroup), 0o644); err != nil {
		t.Fatal(err)
	}
	h, err := newExecuteHandler(&executeFlags{taskGroup: file, executorResources: "cpus:0.1;mem:32"})
	if err != nil {
		t.Fatal(err)
	}
	ex := h.executor
	if ex.GetType() != mesospb.ExecutorInfo_DEFAULT || ex.GetExecutorId().GetValue() != "default-executor" || ex.Command != nil {
		t.Fatalf("executor = %v", ex)
	}
	sum := map[string]float64{}
	for _, r := range h.need {
		sum[r.GetName()] += r.GetScalar().GetValue()
	}
	if sum["cpus"] < 0.199 || sum["cpus"] > 0.201 || sum["mem"] != 64 {
		t.Fatalf("an offer must hold %v, want the tasks' and the executor's resources (cpus 0.2, mem 64)", sum)
	}
	if _, err := newExecuteHandler(&executeFlags{taskGroup: file, executorResources: "cpus:x"}); err == nil ||
		!strings.Contains(err.Error(), "--executor-resources") {
		t.Fatalf("bad executor resources: %v", err)
	}
}
