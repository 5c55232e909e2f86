package framework

import (
	"maps"
	"math"
	"slices"
	"sort"
	"time"

	"google.golang.org/protobuf/proto"

	"strata/kernel/mesos/mesospb"
	"strata/services/apps/app"
	"strata/services/apps/placement"
	"strata/services/apps/placement/taskenv"
)

// buildTask builds the TaskInfo of one instance of a placed on offer with fit, the way
// Marathon's task builder does for the command executor.
func buildTask(a *app.App, taskID string, offer *mesospb.Offer, fit *placement.Fit) *mesospb.TaskInfo {
	t := &mesospb.TaskInfo{
		Name:      proto.String(app.Hostname(a.ID)),
		TaskId:    &mesospb.TaskID{Value: proto.String(taskID)},
		AgentId:   offer.GetAgentId(),
		Resources: fit.Resources,
		Command:   command(a, taskID, offer.GetHostname(), fit.Ports),
	}
	if len(a.Labels) > 0 {
		t.Labels = &mesospb.Labels{}
		for _, k := range sortedKeys(a.Labels) {
			t.Labels.Labels = append(t.Labels.Labels, &mesospb.Label{Key: proto.String(k), Value: proto.String(a.Labels[k])})
		}
	}
	if c := container(a, fit.Ports); c != nil {
		t.Container = c
	}
	if len(a.HealthChecks) > 0 {
		t.HealthCheck = healthCheck(a, a.HealthChecks[0], fit.Ports)
	}
	if g := a.TaskKillGracePeriodSeconds; g != nil && *g > 0 {
		t.KillPolicy = &mesospb.KillPolicy{GracePeriod: &mesospb.DurationInfo{
			Nanoseconds: proto.Int64(int64(*g) * int64(time.Second)),
		}}
	}
	t.Discovery = taskenv.Discovery(a.ID, networkMode(a), fit.Ports, containerNetworks(a))
	return t
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// command builds the CommandInfo: `cmd` through the shell, `args` as argv (after the image's
// entrypoint for an image), the environment, the fetch URIs and the app's user.
func command(a *app.App, taskID, host string, ports []placement.AssignedPort) *mesospb.CommandInfo {
	c := &mesospb.CommandInfo{}
	switch {
	case a.Cmd != nil:
		c.Shell = proto.Bool(true)
		c.Value = proto.String(*a.Cmd)
	case len(a.Args) > 0:
		c.Shell = proto.Bool(false)
		if a.Image() == "" {
			c.Value = proto.String(a.Args[0])
		}
		c.Arguments = append([]string(nil), a.Args...)
	default:
		c.Shell = proto.Bool(false) // the image's own entrypoint and command
	}
	if a.User != "" {
		c.User = proto.String(a.User)
	}
	for _, f := range a.Fetch {
		u := &mesospb.CommandInfo_URI{
			Value:      proto.String(f.URI),
			Extract:    proto.Bool(f.Extract),
			Executable: proto.Bool(f.Executable),
			Cache:      proto.Bool(f.Cache),
		}
		if f.DestPath != "" {
			u.OutputFile = proto.String(f.DestPath)
		}
		c.Uris = append(c.Uris, u)
	}
	c.Environment = taskenv.Environment(taskEnvInput(a, taskID, host, ports))
	c.Environment.Variables = append(c.Environment.Variables, secretVariables(a)...)
	return c
}

// taskEnvInput is what the task environment is built from. Secret-valued env entries are left
// out: secretVariables adds them as references the agent resolves.
func taskEnvInput(a *app.App, taskID, host string, ports []placement.AssignedPort) taskenv.Input {
	in := taskenv.Input{
		App: taskenv.App{
			ID: a.ID, Version: a.Version, DockerImage: a.Image(),
			CPUs: a.Cpus, Mem: a.Mem, Disk: a.Disk, GPUs: float64(a.Gpus), Labels: a.Labels,
		},
		TaskID: taskID, Hostname: host, Ports: ports, User: map[string]string{},
	}
	for k, v := range a.Env {
		if v.Secret == "" {
			in.User[k] = v.Value
		}
	}
	return in
}

// container builds the ContainerInfo of an app with a container: DOCKER (run by the agent
// through podman) or MESOS with an optional docker image, volumes and networks.
func container(a *app.App, ports []placement.AssignedPort) *mesospb.ContainerInfo {
	c := a.Container
	if c == nil {
		return nil
	}
	ci := &mesospb.ContainerInfo{}
	for _, v := range c.Volumes {
		if v.HostPath == "" {
			continue // only host volumes pass validation
		}
		mode := mesospb.Volume_RW
		if v.Mode == "RO" {
			mode = mesospb.Volume_RO
		}
		ci.Volumes = append(ci.Volumes, &mesospb.Volume{
			ContainerPath: proto.String(v.ContainerPath), HostPath: proto.String(v.HostPath), Mode: mode.Enum(),
		})
	}
	mappings := containerPortMappings(a, ports)
	switch c.Type {
	case app.ContainerDocker:
		ci.Type = mesospb.ContainerInfo_DOCKER.Enum()
		d := &mesospb.ContainerInfo_DockerInfo{
			Image:          proto.String(c.Docker.Image),
			ForcePullImage: proto.Bool(c.Docker.ForcePullImage),
			Privileged:     proto.Bool(c.Docker.Privileged),
		}
		for _, p := range c.Docker.Parameters {
			d.Parameters = append(d.Parameters, &mesospb.Parameter{Key: proto.String(p.Key), Value: proto.String(p.Value)})
		}
		switch {
		case a.HostNetworking():
			d.Network = mesospb.ContainerInfo_DockerInfo_HOST.Enum()
		case a.BridgeNetworking():
			d.Network = mesospb.ContainerInfo_DockerInfo_BRIDGE.Enum()
			for _, m := range mappings {
				d.PortMappings = append(d.PortMappings, &mesospb.ContainerInfo_DockerInfo_PortMapping{
					HostPort: proto.Uint32(m.host), ContainerPort: proto.Uint32(m.container), Protocol: proto.String(m.protocol),
				})
			}
		default:
			d.Network = mesospb.ContainerInfo_DockerInfo_USER.Enum()
			ci.NetworkInfos = networkInfos(a, mappings)
		}
		ci.Docker = d
	default:
		ci.Type = mesospb.ContainerInfo_MESOS.Enum()
		if img := a.Image(); img != "" {
			ci.Mesos = &mesospb.ContainerInfo_MesosInfo{Image: &mesospb.Image{
				Type:   mesospb.Image_DOCKER.Enum(),
				Docker: &mesospb.Image_Docker{Name: proto.String(img)},
				Cached: proto.Bool(!c.Docker.ForcePullImage),
			}}
		}
		if !a.HostNetworking() {
			ci.NetworkInfos = networkInfos(a, mappings)
		}
	}
	return ci
}

type portMapping struct {
	host, container uint32
	protocol        string
}

// containerPortMappings pairs each port that has a host port with its container port (the
// declared one, or the host port when it declared 0).
func containerPortMappings(a *app.App, ports []placement.AssignedPort) []portMapping {
	if a.HostNetworking() {
		return nil
	}
	var out []portMapping
	for _, p := range ports {
		if p.HostPort == 0 {
			continue
		}
		for _, protocol := range p.Request.Protocols() {
			out = append(out, portMapping{host: uint32(p.HostPort), container: uint32(p.ContainerPort), protocol: protocol})
		}
	}
	return out
}

func networkInfos(a *app.App, mappings []portMapping) []*mesospb.NetworkInfo {
	var out []*mesospb.NetworkInfo
	for _, n := range a.Networks {
		ni := &mesospb.NetworkInfo{}
		switch n.Mode {
		case app.NetworkBridge:
			ni.Name = proto.String("mesos-bridge")
		case app.NetworkContainer:
			if n.Name != "" {
				ni.Name = proto.String(n.Name)
			}
		default:
			continue
		}
		for _, m := range mappings {
			ni.PortMappings = append(ni.PortMappings, &mesospb.NetworkInfo_PortMapping{
				HostPort: proto.Uint32(m.host), ContainerPort: proto.Uint32(m.container), Protocol: proto.String(m.protocol),
			})
		}
		out = append(out, ni)
	}
	return out
}

// healthCheck maps the app's health check onto a Mesos HealthCheck run by the executor: HTTP(S)
// and MESOS_HTTP(S) become HTTP checks, TCP and MESOS_TCP TCP checks, COMMAND a shell command.
// A portIndex is the task's host port on host networking and the container port otherwise (the
// executor checks a container on its own IP).
//
// The executor kills a task once consecutive_failures checks in a row failed; the framework
// kills unhealthy instances itself, rate-limited per app (healthkill.go), so consecutive_failures
// is the largest count the executor can reach: it reports every result and never kills.
func healthCheck(a *app.App, hc app.HealthCheck, ports []placement.AssignedPort) *mesospb.HealthCheck {
	out := &mesospb.HealthCheck{
		DelaySeconds:        proto.Float64(float64(hc.DelaySeconds)),
		IntervalSeconds:     proto.Float64(float64(hc.IntervalSeconds)),
		TimeoutSeconds:      proto.Float64(float64(hc.TimeoutSeconds)),
		GracePeriodSeconds:  proto.Float64(float64(hc.GracePeriodSeconds)),
		ConsecutiveFailures: proto.Uint32(math.MaxUint32),
	}
	ipProto := mesospb.NetworkInfo_IPv4
	if hc.IPProtocol == "IPv6" {
		ipProto = mesospb.NetworkInfo_IPv6
	}
	port := uint32(checkPort(a, hc, ports))
	switch {
	case hc.Protocol == app.ProtocolCommand:
		out.Type = mesospb.HealthCheck_COMMAND.Enum()
		out.Command = &mesospb.CommandInfo{Shell: proto.Bool(true), Value: proto.String(hc.Command.Value)}
	case hc.IsHTTP():
		scheme := "http"
		if hc.Protocol == app.ProtocolHTTPS || hc.Protocol == app.ProtocolMesosHTTPS {
			scheme = "https"
		}
		path := hc.Path
		if path == "" {
			path = "/"
		}
		out.Type = mesospb.HealthCheck_HTTP.Enum()
		out.Http = &mesospb.HealthCheck_HTTPCheckInfo{
			Scheme: proto.String(scheme), Port: proto.Uint32(port), Path: proto.String(path), Protocol: ipProto.Enum(),
		}
		if hc.IgnoreHTTP1xx {
			for s := uint32(200); s < 400; s++ {
				out.Http.Statuses = append(out.Http.Statuses, s)
			}
		}
	default:
		out.Type = mesospb.HealthCheck_TCP.Enum()
		out.Tcp = &mesospb.HealthCheck_TCPCheckInfo{Port: proto.Uint32(port), Protocol: ipProto.Enum()}
	}
	return out
}

// checkPort is the port a health check connects to: a fixed port, or the port at portIndex
// (its container port when the task has a network of its own).
func checkPort(a *app.App, hc app.HealthCheck, ports []placement.AssignedPort) int {
	if hc.Port != nil {
		return *hc.Port
	}
	if hc.PortIndex == nil || *hc.PortIndex < 0 || *hc.PortIndex >= len(ports) {
		return 0
	}
	p := ports[*hc.PortIndex]
	if !a.HostNetworking() && p.ContainerPort != 0 {
		return p.ContainerPort
	}
	return p.HostPort
}

// secretVariables are the app's secret-valued env entries as Mesos SECRET variables that
// reference the secret's source: the agent resolves them for the executor alone, so neither
// this service nor the master ever holds the value.
func secretVariables(a *app.App) []*mesospb.Environment_Variable {
	var out []*mesospb.Environment_Variable
	for _, k := range slices.Sorted(maps.Keys(a.Env)) {
		ref := a.Env[k].Secret
		if ref == "" {
			continue
		}
		out = append(out, &mesospb.Environment_Variable{
			Name: proto.String(k),
			Type: mesospb.Environment_Variable_SECRET.Enum(),
			Secret: &mesospb.Secret{
				Type:      mesospb.Secret_REFERENCE.Enum(),
				Reference: &mesospb.Secret_Reference{Name: proto.String(a.Secrets[ref].Source)},
			},
		})
	}
	return out
}
