package podman

import (
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	nettypes "github.com/containers/common/libnetwork/types"
	"github.com/containers/podman/v4/pkg/specgen"
	ocispec "github.com/opencontainers/runtime-spec/specs-go"
)

// Labels every container this package creates carries.
const (
	// LabelAgent holds the id of the agent that owns the container. List
	// and orphan removal only ever consider containers with this label.
	LabelAgent = "strata.agent"
	// LabelContainer holds the Mesos container id.
	LabelContainer = "strata.container"
)

// SandboxPath is where the sandbox is mounted inside every container, and the
// value of MESOS_SANDBOX there (as with Mesos' docker containerizer).
const SandboxPath = "/mnt/mesos/sandbox"

// Network is the network mode of a container, as in Mesos' DockerInfo.
type Network int

const (
	// NetworkHost shares the host's network namespace (Mesos' default).
	NetworkHost Network = iota
	// NetworkBridge puts the container on podman's default bridge network;
	// PortMappings publish its ports on the host.
	NetworkBridge
	// NetworkNone gives the container a network namespace with only lo.
	NetworkNone
	// NetworkUser joins the podman network named by Spec.NetworkName.
	NetworkUser
)

func (n Network) String() string {
	switch n {
	case NetworkHost:
		return "HOST"
	case NetworkBridge:
		return "BRIDGE"
	case NetworkNone:
		return "NONE"
	case NetworkUser:
		return "USER"
	}
	return fmt.Sprintf("Network(%d)", int(n))
}

// PortMapping publishes a container port on the host.
type PortMapping struct {
	HostPort      uint16
	ContainerPort uint16
	// Protocol is "tcp" (the default when empty), "udp" or "sctp"; several
	// may be given separated by commas ("tcp,udp").
	Protocol string
}

// Volume bind-mounts a host path into the container.
type Volume struct {
	HostPath      string
	ContainerPath string
	ReadOnly      bool
}

// Spec describes a container to run.
type Spec struct {
	// AgentID and ContainerID become the labels strata.agent and
	// strata.container. Both are required.
	AgentID     string
	ContainerID string
	// Name is the podman container name. Empty means "strata-<ContainerID>".
	Name string
	// Image is the image reference, e.g. "busybox:1.36" or
	// "localhost/app:latest".
	Image string
	// ForcePull pulls the image even when it is present locally; otherwise
	// a local image is used and only a missing one is pulled.
	ForcePull bool

	// Shell, when not empty, is run as /bin/sh -c Shell (the image's
	// entrypoint is replaced), as Mesos does for a shell command.
	Shell string
	// Entrypoint replaces the image's entrypoint when not nil (and Shell is
	// empty).
	Entrypoint []string
	// Args are the arguments after the entrypoint (the image's CMD is used
	// when nil). Mesos passes CommandInfo.value and arguments here for a
	// command with shell=false.
	Args []string

	// Env is the container's environment on top of the image's.
	// MESOS_SANDBOX is always set to SandboxPath.
	Env map[string]string
	// User is "user", "uid" or "uid:gid"; empty means the image's.
	User string
	// WorkDir is the working directory; empty means the image's.
	WorkDir string

	// Network and its port mappings. NetworkName names the podman network
	// for NetworkUser.
	Network      Network
	NetworkName  string
	PortMappings []PortMapping

	// Sandbox is the host directory mounted read-write at SandboxPath. The
	// container's stdout and stderr end up in Sandbox/stdout and
	// Sandbox/stderr (see CopyLogs). Required, absolute.
	Sandbox string
	// Volumes are further bind mounts.
	Volumes []Volume

	// CPUShares is the cgroup cpu.shares (v1) or its weight equivalent
	// (v2); 0 leaves the default. See CPUShares().
	CPUShares uint64
	// CPUQuota limits CPU time: CPUQuota cpus worth of time per period
	// (CFS quota). 0 means no hard limit.
	CPUQuota float64
	// MemoryLimit is the memory limit in bytes (swap included: the
	// container gets no swap). 0 means none.
	MemoryLimit int64

	// Labels are added to the container (the strata.* labels win).
	Labels map[string]string
}

// CPUShares converts a cpus resource into cgroup cpu.shares the way Mesos
// does: 1024 per cpu, at least 2.
func CPUShares(cpus float64) uint64 {
	return uint64(max(math.Round(cpus*1024), 2))
}

// cfsPeriod is the CFS period used with a quota, in microseconds (100 ms,
// as Mesos).
const cfsPeriod = 100000

var nameRE = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)

// ContainerName returns the podman name of the container of spec.
func (s *Spec) ContainerName() string {
	if s.Name != "" {
		return s.Name
	}
	return "strata-" + s.ContainerID
}

// Validate checks the spec for mistakes that the service would otherwise
// report less clearly.
func (s *Spec) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if s.AgentID == "" {
		bad("AgentID is required")
	}
	if s.ContainerID == "" {
		bad("ContainerID is required")
	}
	if name := s.ContainerName(); !nameRE.MatchString(name) {
		bad("container name %q is not valid for podman ([a-zA-Z0-9][a-zA-Z0-9_.-]*)", name)
	}
	if strings.TrimSpace(s.Image) == "" {
		bad("Image is required")
	}
	if s.Shell != "" && (s.Entrypoint != nil || s.Args != nil) {
		bad("Shell cannot be combined with Entrypoint or Args")
	}
	if s.Sandbox == "" || !filepath.IsAbs(s.Sandbox) {
		bad("Sandbox must be an absolute path, got %q", s.Sandbox)
	}
	switch s.Network {
	case NetworkHost, NetworkNone:
		if len(s.PortMappings) > 0 {
			bad("port mappings need the BRIDGE or USER network, not %s", s.Network)
		}
	case NetworkBridge:
	case NetworkUser:
		if s.NetworkName == "" {
			bad("the USER network needs a NetworkName")
		}
	default:
		bad("unknown network %s", s.Network)
	}
	for i, p := range s.PortMappings {
		if p.HostPort == 0 || p.ContainerPort == 0 {
			bad("port mapping %d: host and container port must be set (got %d->%d)", i, p.HostPort, p.ContainerPort)
		}
		if _, err := protocols(p.Protocol); err != nil {
			bad("port mapping %d: %v", i, err)
		}
	}
	for i, v := range s.Volumes {
		if !filepath.IsAbs(v.HostPath) || !filepath.IsAbs(v.ContainerPath) {
			bad("volume %d: host and container paths must be absolute (got %q -> %q)", i, v.HostPath, v.ContainerPath)
		}
	}
	if s.CPUQuota < 0 || s.MemoryLimit < 0 {
		bad("CPUQuota and MemoryLimit cannot be negative")
	}
	if s.MemoryLimit > 0 && s.MemoryLimit < 6<<20 {
		bad("MemoryLimit %d is below the 6 MiB runc accepts", s.MemoryLimit)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("podman: invalid container spec: %w", err)
	}
	return nil
}

// protocols validates a port mapping protocol list.
func protocols(p string) (string, error) {
	if p == "" {
		return "tcp", nil
	}
	p = strings.ToLower(p)
	for _, one := range strings.Split(p, ",") {
		switch one {
		case "tcp", "udp", "sctp":
		default:
			return "", fmt.Errorf("unknown protocol %q (tcp, udp or sctp)", one)
		}
	}
	return p, nil
}

// labels returns the container's labels: the caller's plus ours.
func (s *Spec) labels() map[string]string {
	out := make(map[string]string, len(s.Labels)+2)
	for k, v := range s.Labels {
		out[k] = v
	}
	out[LabelAgent] = s.AgentID
	out[LabelContainer] = s.ContainerID
	return out
}

// LogPath returns where conmon writes the k8s-file log of the container of
// spec: a hidden directory of the sandbox, so that it is collected with it.
func (s *Spec) LogPath() string {
	return logPath(s.Sandbox, s.ContainerName())
}

func logPath(sandbox, name string) string {
	return filepath.Join(sandbox, ".podman", name+".log")
}

// generator turns the spec into podman's SpecGenerator.
func (s *Spec) generator() (*specgen.SpecGenerator, error) {
	g := specgen.NewSpecGenerator(s.Image, false)
	g.Name = s.ContainerName()
	g.Labels = s.labels()
	g.RestartPolicy = "no"
	g.LogConfiguration = &specgen.LogConfig{Driver: "k8s-file", Path: s.LogPath()}

	switch {
	case s.Shell != "":
		g.Entrypoint = []string{"/bin/sh", "-c"}
		g.Command = []string{s.Shell}
	default:
		g.Entrypoint = s.Entrypoint
		g.Command = s.Args
	}

	g.Env = make(map[string]string, len(s.Env)+1)
	for k, v := range s.Env {
		g.Env[k] = v
	}
	g.Env["MESOS_SANDBOX"] = SandboxPath
	g.User = s.User
	g.WorkDir = s.WorkDir

	switch s.Network {
	case NetworkHost:
		g.NetNS = specgen.Namespace{NSMode: specgen.Host}
	case NetworkNone:
		g.NetNS = specgen.Namespace{NSMode: specgen.NoNetwork}
	case NetworkBridge:
		g.NetNS = specgen.Namespace{NSMode: specgen.Bridge}
	case NetworkUser:
		g.NetNS = specgen.Namespace{NSMode: specgen.Bridge}
		g.Networks = map[string]nettypes.PerNetworkOptions{s.NetworkName: {}}
	}
	for _, p := range s.PortMappings {
		proto, err := protocols(p.Protocol)
		if err != nil {
			return nil, err
		}
		g.PortMappings = append(g.PortMappings, nettypes.PortMapping{
			HostPort: p.HostPort, ContainerPort: p.ContainerPort, Protocol: proto, Range: 1,
		})
	}

	g.Mounts = append(g.Mounts, ocispec.Mount{
		Type: "bind", Source: s.Sandbox, Destination: SandboxPath, Options: []string{"rbind", "rw"},
	})
	for _, v := range s.Volumes {
		mode := "rw"
		if v.ReadOnly {
			mode = "ro"
		}
		g.Mounts = append(g.Mounts, ocispec.Mount{
			Type: "bind", Source: v.HostPath, Destination: v.ContainerPath, Options: []string{"rbind", mode},
		})
	}
	// A stable order makes specs comparable in tests and logs.
	sort.SliceStable(g.Mounts[1:], func(i, j int) bool {
		return g.Mounts[1+i].Destination < g.Mounts[1+j].Destination
	})

	if s.CPUShares > 0 || s.CPUQuota > 0 || s.MemoryLimit > 0 {
		g.ResourceLimits = &ocispec.LinuxResources{}
	}
	if s.CPUShares > 0 || s.CPUQuota > 0 {
		cpu := &ocispec.LinuxCPU{}
		if s.CPUShares > 0 {
			shares := s.CPUShares
			cpu.Shares = &shares
		}
		if s.CPUQuota > 0 {
			quota := int64(math.Round(s.CPUQuota * cfsPeriod))
			period := uint64(cfsPeriod)
			cpu.Quota, cpu.Period = &quota, &period
		}
		g.ResourceLimits.CPU = cpu
	}
	if s.MemoryLimit > 0 {
		limit, swap := s.MemoryLimit, s.MemoryLimit
		g.ResourceLimits.Memory = &ocispec.LinuxMemory{Limit: &limit, Swap: &swap}
	}
	return g, nil
}
