package executor

import (
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"regexp"
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

// containerPlace is what a task's container spec needs besides the TaskInfo.
type containerPlace struct {
	agentID, containerID string
	// sandbox is the sandbox on the host, mounted at podman.SandboxPath.
	sandbox string
	// env is the executor's environment, whose HOST and PORT variables
	// pass into the container.
	env []string
}

// containerSpec builds the podman container of a command task with an image
// the way Mesos' docker containerizer builds its `docker run` (for a
// ContainerInfo of type DOCKER), or the Mesos containerizer its image
// container (type MESOS). It also returns warnings about what the task asks
// for that is ignored.
func containerSpec(info *mesospb.TaskInfo, img *containerizer.Image, p containerPlace) (podman.Spec, []string, error) {
	var warnings []string
	warn := func(format string, args ...any) { warnings = append(warnings, fmt.Sprintf(format, args...)) }
	ci := info.GetContainer()
	switch {
	case img.Appc:
		return podman.Spec{}, nil, fmt.Errorf("the APPC image '%s' cannot run here: only DOCKER images are supported", img.Name)
	case strings.TrimSpace(img.Name) == "":
		return podman.Spec{}, nil, errors.New("the container names no image")
	case p.agentID == "" || p.containerID == "":
		return podman.Spec{}, nil, errors.New("the executor knows neither the agent id nor its container id, which label the container")
	}
	spec := podman.Spec{
		AgentID:     p.agentID,
		ContainerID: p.containerID,
		Image:       img.Name,
		Sandbox:     p.sandbox,
		Labels:      map[string]string{"strata.task": info.GetTaskId().GetValue()},
	}
	if img.Docker {
		spec.ForcePull = ci.GetDocker().GetForcePullImage()
	} else {
		// A MESOS container's image is pulled when it is not cached.
		spec.ForcePull = !ci.GetMesos().GetImage().GetCached()
	}

	if err := containerCommand(&spec, info.GetCommand(), img.Docker); err != nil {
		return podman.Spec{}, nil, err
	}
	spec.Env = containerEnv(info, p)
	// Mesos' docker containerizer runs the image's user; Strata honours
	// the task's own CommandInfo.user (not the framework's, which the
	// image seldom knows).
	spec.User = info.GetCommand().GetUser()

	ports := portRanges(info.GetResources())
	if err := containerNetwork(&spec, ci, img.Docker, ports); err != nil {
		return podman.Spec{}, nil, err
	}
	if ci.GetHostname() != "" {
		if spec.Network == podman.NetworkHost {
			return podman.Spec{}, nil, errors.New("unable to set the hostname with the HOST network")
		}
		warn("the container hostname %q is ignored", ci.GetHostname())
	}
	vols, err := containerVolumes(ci.GetVolumes(), p.sandbox)
	if err != nil {
		return podman.Spec{}, nil, err
	}
	spec.Volumes = vols
	containerResources(&spec, info)

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

// hostPortVar matches the variables that pass from the executor's
// environment into the container: HOST, PORT, PORTS, PORT0…, PORT_NAME.
var hostPortVar = regexp.MustCompile(`^(HOST|PORTS?|PORT[0-9]+|PORT_[A-Za-z0-9_]+)$`)

// containerEnv is the container's environment (on top of the image's): the
// executor's HOST and PORT variables, the CommandInfo's environment, and
// what Mesos adds: MESOS_SANDBOX (podman.Spec sets it), MESOS_CONTAINER_NAME,
// MESOS_TASK_ID and MESOS_ALLOCATION_ROLE.
func containerEnv(info *mesospb.TaskInfo, p containerPlace) map[string]string {
	env := make(map[string]string)
	for _, kv := range p.env {
		if name, value, ok := strings.Cut(kv, "="); ok && hostPortVar.MatchString(name) {
			env[name] = value
		}
	}
	for _, v := range info.GetCommand().GetEnvironment().GetVariables() {
		if v.GetType() == mesospb.Environment_Variable_SECRET || v.GetName() == "" || strings.Contains(v.GetName(), "=") {
			continue
		}
		env[v.GetName()] = v.GetValue()
	}
	env["MESOS_CONTAINER_NAME"] = "strata-" + p.containerID
	env["MESOS_TASK_ID"] = info.GetTaskId().GetValue()
	if res := info.GetResources(); len(res) > 0 {
		if role := res[0].GetAllocationInfo().GetRole(); role != "" {
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
	var mappings []podman.PortMapping
	nets := ci.GetNetworkInfos()
	if docker {
		d := ci.GetDocker()
		switch d.GetNetwork() {
		case mesospb.ContainerInfo_DockerInfo_HOST:
			spec.Network = podman.NetworkHost
		case mesospb.ContainerInfo_DockerInfo_BRIDGE:
			spec.Network = podman.NetworkBridge
		case mesospb.ContainerInfo_DockerInfo_NONE:
			spec.Network = podman.NetworkNone
		case mesospb.ContainerInfo_DockerInfo_USER:
			if len(nets) != 1 || nets[0].GetName() == "" {
				return errors.New("a USER network needs exactly one network_infos entry with a name")
			}
			spec.Network, spec.NetworkName = podman.NetworkUser, nets[0].GetName()
		default:
			return fmt.Errorf("unsupported network mode %v", d.GetNetwork())
		}
		for _, m := range d.GetPortMappings() {
			mappings = append(mappings, podman.PortMapping{
				HostPort: uint16(m.GetHostPort()), ContainerPort: uint16(m.GetContainerPort()), Protocol: m.GetProtocol()})
		}
	} else {
		switch {
		case len(nets) > 1:
			return errors.New("only one network can be joined by an image container")
		case len(nets) == 1 && nets[0].GetName() != "":
			spec.Network, spec.NetworkName = podman.NetworkUser, nets[0].GetName()
		default:
			spec.Network = podman.NetworkHost
		}
		for _, n := range nets {
			for _, m := range n.GetPortMappings() {
				mappings = append(mappings, podman.PortMapping{
					HostPort: uint16(m.GetHostPort()), ContainerPort: uint16(m.GetContainerPort()), Protocol: m.GetProtocol()})
			}
		}
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
func containerResources(spec *podman.Spec, info *mesospb.TaskInfo) {
	cpus := containerizer.ScalarResource(info.GetResources(), "cpus")
	memMB := containerizer.ScalarResource(info.GetResources(), "mem")
	if cpus > 0 {
		spec.CPUShares = podman.CPUShares(cpus)
	}
	limits := info.GetLimits()
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
