package mesosspec

import (
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"sort"
	"strings"

	"strata/kernel/containerizer"
	"strata/kernel/containerizer/podman"
	"strata/kernel/mesos/mesospb"
)

// Resource floors of Mesos' docker containerizer.
const (
	// minContainerMemory is the smallest memory limit a container gets.
	minContainerMemory = 32 << 20
	// minCPUQuota is the smallest CFS quota, in cpus (1 ms per 100 ms).
	minCPUQuota = 0.01
)

// Container is a container of an image as Mesos describes it: a task's or an
// executor's ContainerInfo, CommandInfo, resources and limits, and where the
// container belongs.
type Container struct {
	// AgentID and ContainerID become the labels strata.agent and
	// strata.container (the container id of the executor, which the agent
	// finds its containers by).
	AgentID, ContainerID string
	// Name is the podman name; empty means "strata-<ContainerID>".
	Name string
	// Sandbox is the sandbox on the host, mounted at podman.SandboxPath.
	Sandbox string
	// Info is the ContainerInfo naming the image.
	Info *mesospb.ContainerInfo
	// Command is what the container runs, and its user and environment.
	Command *mesospb.CommandInfo
	// Resources and Limits give the cpu shares, the CFS quota and the
	// memory limit; the host ports of port mappings must be among the
	// ports resources.
	Resources []*mesospb.Resource
	Limits    map[string]*mesospb.Value_Scalar
	// Env is the environment below the CommandInfo's (which wins).
	Env map[string]string
	// Labels are added to the container's.
	Labels map[string]string
}

// Spec builds the podman container of c the way Mesos' docker containerizer
// builds its `docker run` (for a ContainerInfo of type DOCKER), or the Mesos
// containerizer its image container (type MESOS). It also returns warnings
// about what c asks for that is ignored.
func Spec(c Container) (podman.Spec, []string, error) {
	var warnings []string
	warn := func(format string, args ...any) { warnings = append(warnings, fmt.Sprintf(format, args...)) }
	ci := c.Info
	img := containerizer.ImageOf(ci)
	switch {
	case img == nil:
		return podman.Spec{}, nil, errors.New("mesosspec: the container names no image")
	case img.Appc:
		return podman.Spec{}, nil, fmt.Errorf("the APPC image '%s' cannot run here: only DOCKER images are supported", img.Name)
	case strings.TrimSpace(img.Name) == "":
		return podman.Spec{}, nil, errors.New("the container names no image")
	case c.AgentID == "" || c.ContainerID == "":
		return podman.Spec{}, nil, errors.New("mesosspec: the agent id and the container id, which label the container, are required")
	}
	spec := podman.Spec{
		AgentID:     c.AgentID,
		ContainerID: c.ContainerID,
		Name:        c.Name,
		Image:       img.Name,
		Sandbox:     c.Sandbox,
		Labels:      c.Labels,
	}
	if img.Docker {
		spec.ForcePull = ci.GetDocker().GetForcePullImage()
	} else {
		// A MESOS container's image is pulled when it is not cached.
		spec.ForcePull = !ci.GetMesos().GetImage().GetCached()
	}

	if err := containerCommand(&spec, c.Command, img.Docker); err != nil {
		return podman.Spec{}, nil, err
	}
	spec.Env = containerEnv(c, spec.ContainerName())
	// Mesos' docker containerizer runs the image's user; Strata honours
	// the CommandInfo's own user (not the framework's, which the image
	// seldom knows).
	spec.User = c.Command.GetUser()

	ports := portRanges(c.Resources)
	if err := containerNetwork(&spec, ci, img.Docker, ports); err != nil {
		return podman.Spec{}, nil, err
	}
	if ci.GetHostname() != "" {
		if spec.Network == podman.NetworkHost {
			return podman.Spec{}, nil, errors.New("unable to set the hostname with the HOST network")
		}
		warn("the container hostname %q is ignored", ci.GetHostname())
	}
	vols, err := containerVolumes(ci.GetVolumes(), c.Sandbox)
	if err != nil {
		return podman.Spec{}, nil, err
	}
	spec.Volumes = vols
	containerResources(&spec, c.Resources, c.Limits)

	if d := ci.GetDocker(); d != nil {
		if d.GetPrivileged() {
			return podman.Spec{}, nil, errors.New("privileged containers are not supported")
		}
		for _, prm := range d.GetParameters() {
			warn("the docker parameter --%s=%s is ignored", prm.GetKey(), prm.GetValue())
		}
	}
	if ci.GetLinuxInfo() != nil {
		warn("linux_info (capabilities, namespaces) is ignored for image containers")
	}
	if ci.GetRlimitInfo() != nil {
		warn("rlimit_info is ignored for image containers: they get the podman service's ulimits")
	}
	return spec, warnings, nil
}

// containerCommand sets what the container runs. A shell command is
// `/bin/sh -c VALUE` with the image's entrypoint replaced, for both
// container types. In the argv form a DOCKER container runs the image's
// entrypoint with VALUE and the arguments after it (`docker run IMAGE VALUE
// ARGS...`), while a MESOS container runs VALUE with the arguments as its
// argv (arguments[0] being argv[0]), or, without VALUE, the image's
// entrypoint with the arguments in place of its CMD.
func containerCommand(spec *podman.Spec, cmd *mesospb.CommandInfo, docker bool) error {
	if cmd.GetShell() {
		if cmd.GetValue() == "" {
			return errors.New("shell specified but no command value provided")
		}
		spec.Shell = cmd.GetValue()
		return nil
	}
	args := cmd.GetArguments()
	switch {
	case docker:
		if cmd.GetValue() != "" {
			spec.Args = append(spec.Args, cmd.GetValue())
		}
		spec.Args = append(spec.Args, args...)
	case cmd.GetValue() != "":
		spec.Entrypoint = []string{cmd.GetValue()}
		spec.Args = []string{}
		if len(args) > 1 {
			spec.Args = append(spec.Args, args[1:]...)
		}
	case len(args) > 0:
		spec.Args = append([]string(nil), args...)
	}
	return nil
}

// containerEnv is the container's environment (on top of the image's):
// c.Env, the CommandInfo's environment (secrets left out), and what Mesos
// adds: MESOS_SANDBOX (podman.Spec sets it), MESOS_CONTAINER_NAME and
// MESOS_ALLOCATION_ROLE.
func containerEnv(c Container, name string) map[string]string {
	env := make(map[string]string, len(c.Env)+4)
	for k, v := range c.Env {
		env[k] = v
	}
	for _, v := range c.Command.GetEnvironment().GetVariables() {
		if v.GetType() == mesospb.Environment_Variable_SECRET || v.GetName() == "" || strings.Contains(v.GetName(), "=") {
			continue
		}
		env[v.GetName()] = v.GetValue()
	}
	env["MESOS_CONTAINER_NAME"] = name
	if len(c.Resources) > 0 {
		if role := c.Resources[0].GetAllocationInfo().GetRole(); role != "" {
			env["MESOS_ALLOCATION_ROLE"] = role
		}
	}
	return env
}

// containerNetwork sets the network and the port mappings: DOCKER's
// docker.network (HOST by default, BRIDGE, NONE, or USER naming one
// network_infos entry) and docker.port_mappings, or for a MESOS container the
// network named by its one network_infos entry (the host's without one)
// with that entry's port mappings. Every host port must be one of the task's
// port resources.
func containerNetwork(spec *podman.Spec, ci *mesospb.ContainerInfo, docker bool, ports [][2]uint64) error {
	var err error
	if spec.Network, spec.NetworkName, err = network(ci, docker); err != nil {
		return err
	}
	var mappings []podman.PortMapping
	var from []*mesospb.NetworkInfo_PortMapping
	if docker {
		for _, m := range ci.GetDocker().GetPortMappings() {
			mappings = append(mappings, podman.PortMapping{
				HostPort: uint16(m.GetHostPort()), ContainerPort: uint16(m.GetContainerPort()), Protocol: m.GetProtocol()})
		}
	} else {
		for _, n := range ci.GetNetworkInfos() {
			from = append(from, n.GetPortMappings()...)
		}
	}
	for _, m := range from {
		mappings = append(mappings, podman.PortMapping{
			HostPort: uint16(m.GetHostPort()), ContainerPort: uint16(m.GetContainerPort()), Protocol: m.GetProtocol()})
	}
	if len(mappings) > 0 && (spec.Network == podman.NetworkHost || spec.Network == podman.NetworkNone) {
		return errors.New("port mappings are only supported for bridge and user-defined networks")
	}
	for _, m := range mappings {
		if !inRanges(uint64(m.HostPort), ports) {
			return fmt.Errorf("port [%d] not included in resources", m.HostPort)
		}
	}
	spec.PortMappings = mappings
	return nil
}

// network is the network of a DOCKER container (docker.network: HOST by
// default, BRIDGE, NONE, or USER naming one network_infos entry), or of a
// MESOS container (the one named network_infos entry, else the host's).
func network(ci *mesospb.ContainerInfo, docker bool) (podman.Network, string, error) {
	nets := ci.GetNetworkInfos()
	if docker {
		switch n := ci.GetDocker().GetNetwork(); n {
		case mesospb.ContainerInfo_DockerInfo_HOST:
			return podman.NetworkHost, "", nil
		case mesospb.ContainerInfo_DockerInfo_BRIDGE:
			return podman.NetworkBridge, "", nil
		case mesospb.ContainerInfo_DockerInfo_NONE:
			return podman.NetworkNone, "", nil
		case mesospb.ContainerInfo_DockerInfo_USER:
			if len(nets) != 1 || nets[0].GetName() == "" {
				return podman.NetworkHost, "", errors.New("a USER network needs exactly one network_infos entry with a name")
			}
			return podman.NetworkUser, nets[0].GetName(), nil
		default:
			return podman.NetworkHost, "", fmt.Errorf("unsupported network mode %v", n)
		}
	}
	switch {
	case len(nets) > 1:
		return podman.NetworkHost, "", errors.New("only one network can be joined by an image container")
	case len(nets) == 1 && nets[0].GetName() != "":
		return podman.NetworkUser, nets[0].GetName(), nil
	}
	return podman.NetworkHost, "", nil
}

// portRanges returns the task's port resources.
func portRanges(resources []*mesospb.Resource) [][2]uint64 {
	var out [][2]uint64
	for _, r := range resources {
		if r.GetName() != "ports" || r.GetType() != mesospb.Value_RANGES {
			continue
		}
		for _, rg := range r.GetRanges().GetRange() {
			out = append(out, [2]uint64{rg.GetBegin(), rg.GetEnd()})
		}
	}
	return out
}

func inRanges(port uint64, ranges [][2]uint64) bool {
	for _, r := range ranges {
		if port >= r[0] && port <= r[1] {
			return true
		}
	}
	return false
}

// containerVolumes maps ContainerInfo.volumes as Mesos' docker containerizer
// does: a relative container_path is under the sandbox mount, a relative
// host_path under the sandbox on the host (not both relative), mode RO or RW.
// A volume may also name its host path through source HOST_PATH; other
// sources (docker volumes, secrets, CSI) are not supported.
func containerVolumes(vols []*mesospb.Volume, sandbox string) ([]podman.Volume, error) {
	var out []podman.Volume
	for i, v := range vols {
		host, ctr := v.GetHostPath(), v.GetContainerPath()
		if host == "" && v.GetSource().GetType() == mesospb.Volume_Source_HOST_PATH {
			host = v.GetSource().GetHostPath().GetPath()
		}
		switch {
		case host == "" && v.GetSource() != nil:
			return nil, fmt.Errorf("volume %d: source %v is not supported for image containers (host paths are)", i, v.GetSource().GetType())
		case host == "":
			return nil, fmt.Errorf("volume %d: host path or volume source is required", i)
		case ctr == "":
			return nil, fmt.Errorf("volume %d: container_path is required", i)
		case !filepath.IsAbs(host) && !filepath.IsAbs(ctr):
			return nil, fmt.Errorf("both host_path '%s' and container_path '%s' of a volume are relative", host, ctr)
		}
		if !filepath.IsAbs(ctr) {
			ctr = filepath.Join(podman.SandboxPath, ctr)
		}
		if !filepath.IsAbs(host) {
			host = filepath.Join(sandbox, host)
		}
		var ro bool
		switch v.GetMode() {
		case mesospb.Volume_RW:
		case mesospb.Volume_RO:
			ro = true
		default:
			return nil, fmt.Errorf("volume %d: unsupported volume mode %v", i, v.GetMode())
		}
		out = append(out, podman.Volume{HostPath: filepath.Clean(host), ContainerPath: filepath.Clean(ctr), ReadOnly: ro})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].ContainerPath < out[j].ContainerPath })
	return out, nil
}

// containerResources sets cpu shares (1024 per cpu, at least 2), a CFS
// quota from limits.cpus when it is finite, and the memory limit:
// limits.mem when finite (none when infinite), else the mem resource; at
// least 32 MB, as Mesos' docker containerizer does.
func containerResources(spec *podman.Spec, resources []*mesospb.Resource, limits map[string]*mesospb.Value_Scalar) {
	cpus := containerizer.ScalarResource(resources, "cpus")
	memMB := containerizer.ScalarResource(resources, "mem")
	if cpus > 0 {
		spec.CPUShares = podman.CPUShares(cpus)
	}
	if l, ok := limits["cpus"]; ok && !math.IsInf(l.GetValue(), 1) && l.GetValue() > 0 {
		spec.CPUQuota = max(l.GetValue(), minCPUQuota)
	}
	if l, ok := limits["mem"]; ok {
		if !math.IsInf(l.GetValue(), 1) {
			spec.MemoryLimit = max(int64(l.GetValue())<<20, minContainerMemory)
		}
		return
	}
	if memMB > 0 {
		spec.MemoryLimit = max(int64(memMB*(1<<20)), minContainerMemory)
	}
}
