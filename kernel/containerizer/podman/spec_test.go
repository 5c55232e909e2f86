package podman

import (
	"reflect"
	"strings"
	"testing"

	"github.com/containers/podman/v4/pkg/specgen"
)

func validSpec() Spec {
	return Spec{AgentID: "a1", ContainerID: "c1", Image: "busybox", Sandbox: "/tmp/sb", Shell: "true"}
}

func TestSpecValidate(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*Spec)
		want   string // substring of the error; empty means valid
	}{
		{"valid", func(*Spec) {}, ""},
		{"no agent", func(s *Spec) { s.AgentID = "" }, "AgentID is required"},
		{"no container", func(s *Spec) { s.ContainerID = "" }, "ContainerID is required"},
		{"bad name", func(s *Spec) { s.Name = "-x y" }, "not valid for podman"},
		{"no image", func(s *Spec) { s.Image = " " }, "Image is required"},
		{"shell and args", func(s *Spec) { s.Args = []string{"x"} }, "Shell cannot be combined"},
		{"relative sandbox", func(s *Spec) { s.Sandbox = "sb" }, "Sandbox must be an absolute path"},
		{"ports on host", func(s *Spec) {
			s.PortMappings = []PortMapping{{HostPort: 1, ContainerPort: 2}}
		}, "port mappings need the BRIDGE or USER network"},
		{"ports on bridge", func(s *Spec) {
			s.Network = NetworkBridge
			s.PortMappings = []PortMapping{{HostPort: 31000, ContainerPort: 80, Protocol: "TCP,udp"}}
		}, ""},
		{"zero port", func(s *Spec) {
			s.Network = NetworkBridge
			s.PortMappings = []PortMapping{{HostPort: 0, ContainerPort: 80}}
		}, "host and container port must be set"},
		{"bad protocol", func(s *Spec) {
			s.Network = NetworkBridge
			s.PortMappings = []PortMapping{{HostPort: 1, ContainerPort: 80, Protocol: "icmp"}}
		}, `unknown protocol "icmp"`},
		{"user network without name", func(s *Spec) { s.Network = NetworkUser }, "needs a NetworkName"},
		{"unknown network", func(s *Spec) { s.Network = Network(9) }, "unknown network Network(9)"},
		{"relative volume", func(s *Spec) {
			s.Volumes = []Volume{{HostPath: "data", ContainerPath: "/data"}}
		}, "must be absolute"},
		{"tiny memory", func(s *Spec) { s.MemoryLimit = 1 << 20 }, "below the 6 MiB"},
		{"negative quota", func(s *Spec) { s.CPUQuota = -1 }, "cannot be negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := validSpec()
			tt.modify(&s)
			err := s.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate() = %v, want an error containing %q", err, tt.want)
			}
			if !strings.HasPrefix(err.Error(), "podman: ") {
				t.Errorf("error %q lacks the component prefix", err)
			}
		})
	}
}

func TestSpecGenerator(t *testing.T) {
	tests := []struct {
		name  string
		spec  func() Spec
		check func(t *testing.T, g *specgen.SpecGenerator)
	}{
		{"shell command", validSpec, func(t *testing.T, g *specgen.SpecGenerator) {
			if !reflect.DeepEqual(g.Entrypoint, []string{"/bin/sh", "-c"}) || !reflect.DeepEqual(g.Command, []string{"true"}) {
				t.Errorf("entrypoint %q command %q", g.Entrypoint, g.Command)
			}
			if g.Name != "strata-c1" || g.Labels[LabelAgent] != "a1" || g.Labels[LabelContainer] != "c1" {
				t.Errorf("name %q labels %v", g.Name, g.Labels)
			}
			if g.Env["MESOS_SANDBOX"] != SandboxPath {
				t.Errorf("env %v", g.Env)
			}
			if g.NetNS.NSMode != specgen.Host {
				t.Errorf("netns %v, want host", g.NetNS)
			}
			if g.LogConfiguration == nil || g.LogConfiguration.Driver != "k8s-file" || g.LogConfiguration.Path != "/tmp/sb/.podman/strata-c1.log" {
				t.Errorf("log configuration %+v", g.LogConfiguration)
			}
			if len(g.Mounts) != 1 || g.Mounts[0].Source != "/tmp/sb" || g.Mounts[0].Destination != SandboxPath {
				t.Errorf("mounts %+v", g.Mounts)
			}
			if g.ResourceLimits != nil {
				t.Errorf("resource limits %+v, want none", g.ResourceLimits)
			}
		}},
		{"argv keeps the image entrypoint", func() Spec {
			s := validSpec()
			s.Shell, s.Args = "", []string{"echo", "a b"}
			return s
		}, func(t *testing.T, g *specgen.SpecGenerator) {
			if g.Entrypoint != nil || !reflect.DeepEqual(g.Command, []string{"echo", "a b"}) {
				t.Errorf("entrypoint %q command %q", g.Entrypoint, g.Command)
			}
		}},
		{"caller labels and env cannot override ours", func() Spec {
			s := validSpec()
			s.Labels = map[string]string{LabelAgent: "other", "app": "web"}
			s.Env = map[string]string{"MESOS_SANDBOX": "/elsewhere", "A": "1"}
			return s
		}, func(t *testing.T, g *specgen.SpecGenerator) {
			if g.Labels[LabelAgent] != "a1" || g.Labels["app"] != "web" {
				t.Errorf("labels %v", g.Labels)
			}
			if g.Env["MESOS_SANDBOX"] != SandboxPath || g.Env["A"] != "1" {
				t.Errorf("env %v", g.Env)
			}
		}},
		{"bridge with ports and volumes", func() Spec {
			s := validSpec()
			s.Network = NetworkBridge
			s.PortMappings = []PortMapping{{HostPort: 31000, ContainerPort: 80}, {HostPort: 31001, ContainerPort: 53, Protocol: "UDP"}}
			s.Volumes = []Volume{{HostPath: "/srv/b", ContainerPath: "/b", ReadOnly: true}, {HostPath: "/srv/a", ContainerPath: "/a"}}
			return s
		}, func(t *testing.T, g *specgen.SpecGenerator) {
			if g.NetNS.NSMode != specgen.Bridge || len(g.PortMappings) != 2 {
				t.Fatalf("netns %v ports %+v", g.NetNS, g.PortMappings)
			}
			if p := g.PortMappings[1]; p.HostPort != 31001 || p.ContainerPort != 53 || p.Protocol != "udp" || p.Range != 1 {
				t.Errorf("port mapping %+v", p)
			}
			var got []string
			for _, m := range g.Mounts {
				got = append(got, m.Source+":"+m.Destination+":"+m.Options[1])
			}
			want := []string{"/tmp/sb:" + SandboxPath + ":rw", "/srv/a:/a:rw", "/srv/b:/b:ro"}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("mounts %q, want %q", got, want)
			}
		}},
		{"user network", func() Spec {
			s := validSpec()
			s.Network, s.NetworkName = NetworkUser, "backend"
			return s
		}, func(t *testing.T, g *specgen.SpecGenerator) {
			if _, ok := g.Networks["backend"]; !ok || g.NetNS.NSMode != specgen.Bridge {
				t.Errorf("netns %v networks %v", g.NetNS, g.Networks)
			}
		}},
		{"none network", func() Spec {
			s := validSpec()
			s.Network = NetworkNone
			return s
		}, func(t *testing.T, g *specgen.SpecGenerator) {
			if g.NetNS.NSMode != specgen.NoNetwork {
				t.Errorf("netns %v", g.NetNS)
			}
		}},
		{"resources", func() Spec {
			s := validSpec()
			s.CPUShares = CPUShares(0.5)
			s.CPUQuota = 1.5
			s.MemoryLimit = 64 << 20
			return s
		}, func(t *testing.T, g *specgen.SpecGenerator) {
			r := g.ResourceLimits
			if r == nil || r.CPU == nil || r.Memory == nil {
				t.Fatalf("resource limits %+v", r)
			}
			if *r.CPU.Shares != 512 || *r.CPU.Quota != 150000 || *r.CPU.Period != 100000 {
				t.Errorf("cpu shares %d quota %d period %d", *r.CPU.Shares, *r.CPU.Quota, *r.CPU.Period)
			}
			if *r.Memory.Limit != 64<<20 || *r.Memory.Swap != 64<<20 {
				t.Errorf("memory limit %d swap %d", *r.Memory.Limit, *r.Memory.Swap)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.spec()
			if err := s.Validate(); err != nil {
				t.Fatal(err)
			}
			g, err := s.generator()
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, g)
		})
	}
}

func TestCPUShares(t *testing.T) {
	for _, tt := range []struct {
		cpus float64
		want uint64
	}{{0, 2}, {0.001, 2}, {0.1, 102}, {1, 1024}, {2.5, 2560}} {
		if got := CPUShares(tt.cpus); got != tt.want {
			t.Errorf("CPUShares(%v) = %d, want %d", tt.cpus, got, tt.want)
		}
	}
}
