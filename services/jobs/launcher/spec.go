package launcher

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"google.golang.org/protobuf/proto"

	"strata/kernel/mesos/mesospb"
	"strata/services/apps/placement"
)

// Spec is what a task of a job run needs.
type Spec struct {
	// Cmd is run with /bin/sh -c when Shell is set; otherwise Cmd is the
	// program and Args its arguments (Args alone with an image runs the
	// image's entrypoint with them).
	Cmd   string
	Args  []string
	Shell bool
	CPUs  float64
	Mem   float64
	Disk  float64
	GPUs  float64
	Env   map[string]string
	// SecretEnv maps an environment variable to the source of a secret the
	// agent resolves (kernel/agent/secrets).
	SecretEnv map[string]string
	User      string
	// Image is a docker image run through the agent's podman.
	Image     string
	ForcePull bool
	// Constraints are in Marathon's array form: [attribute, operator, value].
	Constraints [][]string
	URIs        []URI
	Labels      map[string]string
	// KillGrace is the time between SIGTERM and SIGKILL on a kill.
	KillGrace time.Duration
}

// URI is an artifact the agent fetches into the sandbox.
type URI struct {
	Value                      string
	Executable, Extract, Cache bool
}

// matcher compiles the spec's placement.
func (s Spec) matcher(role string) (*placement.Matcher, error) {
	return placement.NewMatcher(placement.Spec{
		CPUs: s.CPUs, Mem: s.Mem, Disk: s.Disk, GPUs: s.GPUs,
		Constraints: s.Constraints, Role: role,
	})
}

// taskInfo builds the TaskInfo of a task placed by fit.
func (s Spec) taskInfo(taskID, name string, fit *placement.Fit) *mesospb.TaskInfo {
	cmd := &mesospb.CommandInfo{Shell: proto.Bool(s.Shell)}
	switch {
	case s.Shell:
		cmd.Value = proto.String(s.Cmd)
	case s.Cmd != "":
		cmd.Value = proto.String(s.Cmd)
		cmd.Arguments = append([]string{s.Cmd}, s.Args...)
	default:
		cmd.Arguments = s.Args
	}
	if s.User != "" {
		cmd.User = proto.String(s.User)
	}
	env := &mesospb.Environment{}
	for _, k := range slices.Sorted(maps.Keys(s.Env)) {
		env.Variables = append(env.Variables, &mesospb.Environment_Variable{
			Name: proto.String(k), Type: mesospb.Environment_Variable_VALUE.Enum(), Value: proto.String(s.Env[k]),
		})
	}
	for _, k := range slices.Sorted(maps.Keys(s.SecretEnv)) {
		env.Variables = append(env.Variables, &mesospb.Environment_Variable{
			Name: proto.String(k), Type: mesospb.Environment_Variable_SECRET.Enum(),
			Secret: &mesospb.Secret{
				Type:      mesospb.Secret_REFERENCE.Enum(),
				Reference: &mesospb.Secret_Reference{Name: proto.String(s.SecretEnv[k])},
			},
		})
	}
	if len(env.Variables) > 0 {
		cmd.Environment = env
	}
	for _, u := range s.URIs {
		cmd.Uris = append(cmd.Uris, &mesospb.CommandInfo_URI{
			Value: proto.String(u.Value), Executable: proto.Bool(u.Executable),
			Extract: proto.Bool(u.Extract), Cache: proto.Bool(u.Cache),
		})
	}
	t := &mesospb.TaskInfo{
		Name:      proto.String(name),
		TaskId:    &mesospb.TaskID{Value: proto.String(taskID)},
		AgentId:   &mesospb.AgentID{Value: proto.String(fit.AgentID)},
		Resources: fit.Resources,
		Command:   cmd,
	}
	if s.Image != "" {
		t.Container = &mesospb.ContainerInfo{
			Type: mesospb.ContainerInfo_DOCKER.Enum(),
			Docker: &mesospb.ContainerInfo_DockerInfo{
				Image: proto.String(s.Image), ForcePullImage: proto.Bool(s.ForcePull),
				Network: mesospb.ContainerInfo_DockerInfo_HOST.Enum(),
			},
		}
	}
	if len(s.Labels) > 0 {
		t.Labels = &mesospb.Labels{}
		for _, k := range slices.Sorted(maps.Keys(s.Labels)) {
			t.Labels.Labels = append(t.Labels.Labels, &mesospb.Label{Key: proto.String(k), Value: proto.String(s.Labels[k])})
		}
	}
	if s.KillGrace > 0 {
		t.KillPolicy = &mesospb.KillPolicy{GracePeriod: &mesospb.DurationInfo{Nanoseconds: proto.Int64(int64(s.KillGrace))}}
	}
	return t
}

// validate reports a spec that can never launch.
func (s Spec) validate() error {
	if s.Cmd == "" && len(s.Args) == 0 && s.Image == "" {
		return fmt.Errorf("launcher: a task needs a command, arguments or an image")
	}
	if _, err := s.matcher("*"); err != nil {
		return fmt.Errorf("launcher: %w", err)
	}
	return nil
}
