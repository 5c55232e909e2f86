package mesosspec

import (
	"math"
	"reflect"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"strata/kernel/containerizer/podman"
	"strata/kernel/mesos/mesospb"
)

func scalar(name string, v float64) *mesospb.Resource {
	return &mesospb.Resource{Name: proto.String(name), Type: mesospb.Value_SCALAR.Enum(), Scalar: &mesospb.Value_Scalar{Value: proto.Float64(v)}}
}

func portsResource(begin, end uint64) *mesospb.Resource {
	return &mesospb.Resource{Name: proto.String("ports"), Type: mesospb.Value_RANGES.Enum(),
		Ranges: &mesospb.Value_Ranges{Range: []*mesospb.Value_Range{{Begin: proto.Uint64(begin), End: proto.Uint64(end)}}}}
}

// dockerTask is a task with a DOCKER container of image busybox.
func dockerTask(cmd *mesospb.CommandInfo, mods ...func(*mesospb.TaskInfo)) *mesospb.TaskInfo {
	t := &mesospb.TaskInfo{
		Name:      proto.String("t"),
		TaskId:    &mesospb.TaskID{Value: proto.String("task-7")},
		Command:   proto.CloneOf(cmd),
		Resources: []*mesospb.Resource{scalar("cpus", 0.5), scalar("mem", 64)},
		Container: &mesospb.ContainerInfo{
			Type:   mesospb.ContainerInfo_DOCKER.Enum(),
			Docker: &mesospb.ContainerInfo_DockerInfo{Image: proto.String("busybox")},
		},
	}
	for _, m := range mods {
		m(t)
	}
	return t
}

func TestContainerSpec(t *testing.T) {
	base := map[string]string{"HOST": "10.0.0.9", "PORT0": "31001", "MESOS_TASK_ID": "task-7"}
	shell := &mesospb.CommandInfo{Value: proto.String("echo hi")}
	tests := []struct {
		name  string
		task  *mesospb.TaskInfo
		name2 string // the podman name, if not the default
		check func(t *testing.T, s podman.Spec, warnings []string)
		err   string
	}{
		{
			name: "shell command, defaults",
			task: dockerTask(shell),
			check: func(t *testing.T, s podman.Spec, _ []string) {
				if s.Shell != "echo hi" || s.Entrypoint != nil || s.Args != nil {
					t.Errorf("command: shell %q entrypoint %q args %q", s.Shell, s.Entrypoint, s.Args)
				}
				if s.Image != "busybox" || s.ForcePull || s.AgentID != "agent-1" || s.ContainerID != "cid-1" ||
					s.Sandbox != "/sb" || s.ContainerName() != "strata-cid-1" {
					t.Errorf("identity: %+v", s)
				}
				if s.Network != podman.NetworkHost || s.PortMappings != nil {
					t.Errorf("network %v %v, want HOST", s.Network, s.PortMappings)
				}
				if s.CPUShares != 512 || s.CPUQuota != 0 || s.MemoryLimit != 64<<20 {
					t.Errorf("resources: shares %d quota %v mem %d", s.CPUShares, s.CPUQuota, s.MemoryLimit)
				}
				want := map[string]string{"HOST": "10.0.0.9", "PORT0": "31001",
					"MESOS_CONTAINER_NAME": "strata-cid-1", "MESOS_TASK_ID": "task-7"}
				if !reflect.DeepEqual(s.Env, want) {
					t.Errorf("env %v, want %v", s.Env, want)
				}
				if err := s.Validate(); err != nil {
					t.Errorf("Validate: %v", err)
				}
			},
		},
		{
			name: "argv form: value and arguments follow the image's entrypoint (DOCKER)",
			task: dockerTask(&mesospb.CommandInfo{Shell: proto.Bool(false), Value: proto.String("/bin/echo"), Arguments: []string{"a", "b"}}),
			check: func(t *testing.T, s podman.Spec, _ []string) {
				if s.Shell != "" || s.Entrypoint != nil || !reflect.DeepEqual(s.Args, []string{"/bin/echo", "a", "b"}) {
					t.Errorf("entrypoint %q args %q", s.Entrypoint, s.Args)
				}
			},
		},
		{
			name: "argv form without a value: the image's command with the arguments (DOCKER)",
			task: dockerTask(&mesospb.CommandInfo{Shell: proto.Bool(false), Arguments: []string{"--port", "80"}}),
			check: func(t *testing.T, s podman.Spec, _ []string) {
				if s.Entrypoint != nil || !reflect.DeepEqual(s.Args, []string{"--port", "80"}) {
					t.Errorf("entrypoint %q args %q", s.Entrypoint, s.Args)
				}
			},
		},
		{
			name: "MESOS container with a docker image: value is the program, arguments its argv",
			task: dockerTask(&mesospb.CommandInfo{Shell: proto.Bool(false), Value: proto.String("/bin/echo"), Arguments: []string{"echo", "x"}},
				func(ti *mesospb.TaskInfo) {
					ti.Container = &mesospb.ContainerInfo{Type: mesospb.ContainerInfo_MESOS.Enum(), Mesos: &mesospb.ContainerInfo_MesosInfo{
						Image: &mesospb.Image{Type: mesospb.Image_DOCKER.Enum(), Docker: &mesospb.Image_Docker{Name: proto.String("alpine:3")},
							Cached: proto.Bool(false)}}}
				}),
			check: func(t *testing.T, s podman.Spec, _ []string) {
				if s.Image != "alpine:3" || !s.ForcePull || !reflect.DeepEqual(s.Entrypoint, []string{"/bin/echo"}) ||
					!reflect.DeepEqual(s.Args, []string{"x"}) {
					t.Errorf("image %q force %v entrypoint %q args %q", s.Image, s.ForcePull, s.Entrypoint, s.Args)
				}
			},
		},
		{
			name: "bridge with port mappings, force pull, user, env, limits",
			task: dockerTask(shell, func(ti *mesospb.TaskInfo) {
				ti.Command.User = proto.String("nobody")
				ti.Command.Environment = &mesospb.Environment{Variables: []*mesospb.Environment_Variable{
					{Name: proto.String("PORT0"), Value: proto.String("8080")},
					{Name: proto.String("S"), Type: mesospb.Environment_Variable_SECRET.Enum()},
				}}
				ti.Resources = append(ti.Resources, portsResource(31000, 31010))
				ti.Limits = map[string]*mesospb.Value_Scalar{"cpus": {Value: proto.Float64(1.5)}, "mem": {Value: proto.Float64(128)}}
				d := ti.Container.Docker
				d.Network = mesospb.ContainerInfo_DockerInfo_BRIDGE.Enum()
				d.ForcePullImage = proto.Bool(true)
				d.PortMappings = []*mesospb.ContainerInfo_DockerInfo_PortMapping{
					{HostPort: proto.Uint32(31005), ContainerPort: proto.Uint32(80), Protocol: proto.String("tcp")}}
				d.Parameters = []*mesospb.Parameter{{Key: proto.String("label"), Value: proto.String("x=y")}}
			}),
			check: func(t *testing.T, s podman.Spec, warnings []string) {
				if s.Network != podman.NetworkBridge || !s.ForcePull || s.User != "nobody" {
					t.Errorf("network %v force %v user %q", s.Network, s.ForcePull, s.User)
				}
				if !reflect.DeepEqual(s.PortMappings, []podman.PortMapping{{HostPort: 31005, ContainerPort: 80, Protocol: "tcp"}}) {
					t.Errorf("port mappings %+v", s.PortMappings)
				}
				if s.Env["PORT0"] != "8080" || s.Env["S"] != "" {
					t.Errorf("env %v: the CommandInfo wins, secrets are left out", s.Env)
				}
				if s.CPUQuota != 1.5 || s.MemoryLimit != 128<<20 {
					t.Errorf("limits: quota %v mem %d", s.CPUQuota, s.MemoryLimit)
				}
				if len(warnings) != 1 || !strings.Contains(warnings[0], "--label=x=y") {
					t.Errorf("warnings %q", warnings)
				}
			},
		},
		{
			name: "volumes: relative paths are under the sandbox; infinite memory limit",
			task: dockerTask(shell, func(ti *mesospb.TaskInfo) {
				ti.Limits = map[string]*mesospb.Value_Scalar{"mem": {Value: proto.Float64(math.Inf(1))}}
				ti.Resources = []*mesospb.Resource{scalar("cpus", 0.001), scalar("mem", 8)}
				ti.Container.Volumes = []*mesospb.Volume{
					{HostPath: proto.String("/data"), ContainerPath: proto.String("/in"), Mode: mesospb.Volume_RO.Enum()},
					{HostPath: proto.String("cache"), ContainerPath: proto.String("/cache"), Mode: mesospb.Volume_RW.Enum()},
					{HostPath: proto.String("/logs"), ContainerPath: proto.String("logs"), Mode: mesospb.Volume_RW.Enum()},
					{ContainerPath: proto.String("/src"), Mode: mesospb.Volume_RO.Enum(), Source: &mesospb.Volume_Source{
						Type: mesospb.Volume_Source_HOST_PATH.Enum(), HostPath: &mesospb.Volume_Source_HostPath{Path: proto.String("/srv")}}},
				}
			}),
			check: func(t *testing.T, s podman.Spec, _ []string) {
				want := []podman.Volume{
					{HostPath: "/sb/cache", ContainerPath: "/cache"},
					{HostPath: "/data", ContainerPath: "/in", ReadOnly: true},
					{HostPath: "/logs", ContainerPath: "/mnt/mesos/sandbox/logs"},
					{HostPath: "/srv", ContainerPath: "/src", ReadOnly: true},
				}
				if !reflect.DeepEqual(s.Volumes, want) {
					t.Errorf("volumes\n%+v\nwant\n%+v", s.Volumes, want)
				}
				if s.MemoryLimit != 0 || s.CPUShares != 2 {
					t.Errorf("mem %d shares %d, want no memory limit and the minimum shares", s.MemoryLimit, s.CPUShares)
				}
			},
		},
		{
			name: "small memory is raised to 32 MB",
			task: dockerTask(shell, func(ti *mesospb.TaskInfo) { ti.Resources = []*mesospb.Resource{scalar("mem", 4)} }),
			check: func(t *testing.T, s podman.Spec, _ []string) {
				if s.MemoryLimit != 32<<20 || s.CPUShares != 0 {
					t.Errorf("mem %d shares %d", s.MemoryLimit, s.CPUShares)
				}
			},
		},
		{
			name: "user network",
			task: dockerTask(shell, func(ti *mesospb.TaskInfo) {
				ti.Container.Docker.Network = mesospb.ContainerInfo_DockerInfo_USER.Enum()
				ti.Container.NetworkInfos = []*mesospb.NetworkInfo{{Name: proto.String("podman")}}
			}),
			check: func(t *testing.T, s podman.Spec, _ []string) {
				if s.Network != podman.NetworkUser || s.NetworkName != "podman" {
					t.Errorf("network %v %q", s.Network, s.NetworkName)
				}
			},
		},
		{
			name: "named container with an allocation role",
			task: dockerTask(shell, func(ti *mesospb.TaskInfo) {
				ti.Resources[0].AllocationInfo = &mesospb.Resource_AllocationInfo{Role: proto.String("web")}
			}),
			name2: "strata-cid-1.nested",
			check: func(t *testing.T, s podman.Spec, _ []string) {
				if s.ContainerName() != "strata-cid-1.nested" || s.ContainerID != "cid-1" ||
					s.Env["MESOS_CONTAINER_NAME"] != "strata-cid-1.nested" || s.Env["MESOS_ALLOCATION_ROLE"] != "web" {
					t.Errorf("name %q label %q env %v", s.ContainerName(), s.ContainerID, s.Env)
				}
			},
		},
		{name: "shell without a value", task: dockerTask(&mesospb.CommandInfo{}), err: "no command value"},
		{
			name: "port mapping on the host network",
			task: dockerTask(shell, func(ti *mesospb.TaskInfo) {
				ti.Resources = append(ti.Resources, portsResource(31000, 31010))
				ti.Container.Docker.PortMappings = []*mesospb.ContainerInfo_DockerInfo_PortMapping{
					{HostPort: proto.Uint32(31005), ContainerPort: proto.Uint32(80)}}
			}),
			err: "only supported for bridge",
		},
		{
			name: "host port outside the task's ports",
			task: dockerTask(shell, func(ti *mesospb.TaskInfo) {
				ti.Container.Docker.Network = mesospb.ContainerInfo_DockerInfo_BRIDGE.Enum()
				ti.Container.Docker.PortMappings = []*mesospb.ContainerInfo_DockerInfo_PortMapping{
					{HostPort: proto.Uint32(8080), ContainerPort: proto.Uint32(80)}}
			}),
			err: "port [8080] not included in resources",
		},
		{
			name: "relative volume paths",
			task: dockerTask(shell, func(ti *mesospb.TaskInfo) {
				ti.Container.Volumes = []*mesospb.Volume{{HostPath: proto.String("a"), ContainerPath: proto.String("b"), Mode: mesospb.Volume_RW.Enum()}}
			}),
			err: "are relative",
		},
		{
			name: "docker volume",
			task: dockerTask(shell, func(ti *mesospb.TaskInfo) {
				ti.Container.Volumes = []*mesospb.Volume{{ContainerPath: proto.String("/v"), Mode: mesospb.Volume_RW.Enum(),
					Source: &mesospb.Volume_Source{Type: mesospb.Volume_Source_DOCKER_VOLUME.Enum()}}}
			}),
			err: "not supported",
		},
		{
			name: "privileged",
			task: dockerTask(shell, func(ti *mesospb.TaskInfo) { ti.Container.Docker.Privileged = proto.Bool(true) }),
			err:  "privileged",
		},
		{
			name: "hostname on the host network",
			task: dockerTask(shell, func(ti *mesospb.TaskInfo) { ti.Container.Hostname = proto.String("h") }),
			err:  "hostname",
		},
		{
			name: "user network without a name",
			task: dockerTask(shell, func(ti *mesospb.TaskInfo) { ti.Container.Docker.Network = mesospb.ContainerInfo_DockerInfo_USER.Enum() }),
			err:  "network_infos",
		},
		{
			name: "appc",
			task: dockerTask(shell, func(ti *mesospb.TaskInfo) {
				ti.Container = &mesospb.ContainerInfo{Type: mesospb.ContainerInfo_MESOS.Enum(), Mesos: &mesospb.ContainerInfo_MesosInfo{
					Image: &mesospb.Image{Type: mesospb.Image_APPC.Enum(), Appc: &mesospb.Image_Appc{Name: proto.String("coreos.com/etcd")}}}}
			}),
			err: "APPC image 'coreos.com/etcd'",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, warnings, err := Spec(Container{AgentID: "agent-1", ContainerID: "cid-1", Name: tt.name2, Sandbox: "/sb",
				Info: tt.task.GetContainer(), Command: tt.task.GetCommand(), Resources: tt.task.GetResources(),
				Limits: tt.task.GetLimits(), Env: base})
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, s, warnings)
		})
	}
}
