package framework

import (
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"

	"strata/kernel/mesos/mesospb"
	"strata/services/apps/app"
)

// maxLabelEnvSize bounds the MARATHON_APP_LABEL_* variables of one task, as Marathon does, so
// that large labels cannot blow up the environment.
const maxLabelEnvSize = 10 * 1024

var envNameSanitizer = regexp.MustCompile(`[^A-Z0-9_]`)

// envName turns a port or label name into the suffix of an environment variable name.
func envName(s string) string { return envNameSanitizer.ReplaceAllString(strings.ToUpper(s), "_") }

// buildTask builds the TaskInfo of one instance of a placed on offer with fit, the way
// Marathon's task builder does for the command executor.
func buildTask(a *app.App, taskID string, offer *mesospb.Offer, fit Fit) *mesospb.TaskInfo {
	host := offer.GetHostname()
	t := &mesospb.TaskInfo{
		Name:      proto.String(app.Hostname(a.ID)),
		TaskId:    &mesospb.TaskID{Value: proto.String(taskID)},
		AgentId:   offer.GetAgentId(),
		Resources: fit.Resources,
		Command:   command(a, taskID, host, fit.Ports),
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
	t.Discovery = discovery(a, fit.Ports)
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
func command(a *app.App, taskID, host string, ports []int) *mesospb.CommandInfo {
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
	env := TaskEnv(a, taskID, host, ports)
	c.Environment = &mesospb.Environment{}
	for _, k := range sortedKeys(env) {
		c.Environment.Variables = append(c.Environment.Variables, &mesospb.Environment_Variable{
			Name: proto.String(k), Value: proto.String(env[k]),
		})
	}
	return c
}

// TaskEnv is the environment Marathon gives a task: the ports (PORT0..n, PORT, PORTS,
// PORT_<NAME> for named ports, PORT_<n> for ports given a fixed number), HOST, MESOS_TASK_ID,
// MARATHON_APP_ID, MARATHON_APP_VERSION, MARATHON_APP_DOCKER_IMAGE, the resources, the labels
// (MARATHON_APP_LABELS and MARATHON_APP_LABEL_<NAME>), and then the app's own env, which wins.
// Secret-valued env entries are not included (secrets are not supported).
func TaskEnv(a *app.App, taskID, host string, ports []int) map[string]string {
	env := map[string]string{
		"HOST":                       host,
		"MESOS_TASK_ID":              taskID,
		"MARATHON_APP_ID":            a.ID,
		"MARATHON_APP_VERSION":       a.Version,
		"MARATHON_APP_RESOURCE_CPUS": fmtFloat(a.Cpus),
		"MARATHON_APP_RESOURCE_MEM":  fmtFloat(a.Mem),
		"MARATHON_APP_RESOURCE_DISK": fmtFloat(a.Disk),
		"MARATHON_APP_RESOURCE_GPUS": strconv.Itoa(a.Gpus),
		"MARATHON_APP_LABELS":        "",
		"MARATHON_APP_DOCKER_IMAGE":  a.Image(),
	}
	if env["MARATHON_APP_DOCKER_IMAGE"] == "" {
		delete(env, "MARATHON_APP_DOCKER_IMAGE")
	}
	names, defined := portNames(a)
	var all []string
	for i, p := range ports {
		effective := p
		if effective == 0 && i < len(defined) {
			effective = defined[i] // a container port without a host port
		}
		if effective == 0 {
			continue
		}
		env[fmt.Sprintf("PORT%d", i)] = strconv.Itoa(effective)
		all = append(all, strconv.Itoa(effective))
		if i < len(names) && names[i] != "" {
			env["PORT_"+envName(names[i])] = strconv.Itoa(effective)
		}
		if i < len(defined) && defined[i] != 0 {
			env[fmt.Sprintf("PORT_%d", defined[i])] = strconv.Itoa(effective)
		}
	}
	if len(all) > 0 {
		env["PORT"] = all[0]
		env["PORTS"] = strings.Join(all, ",")
	}
	var labelNames []string
	size := 0
	for _, k := range sortedKeys(a.Labels) {
		name, v := envName(k), a.Labels[k]
		if size += len(name) + len(v); size > maxLabelEnvSize {
			break
		}
		env["MARATHON_APP_LABEL_"+name] = v
		labelNames = append(labelNames, name)
	}
	env["MARATHON_APP_LABELS"] = strings.Join(labelNames, " ")
	for k, v := range a.Env {
		if v.Secret == "" {
			env[k] = v.Value
		}
	}
	return env
}

// portNames returns the name of each port of the app and the number the app defines for it:
// the port definition's port (host networking; its service port unless requirePorts) or the
// mapping's container port.
func portNames(a *app.App) (names []string, defined []int) {
	if a.HostNetworking() {
		for _, p := range a.PortDefinitions {
			names = append(names, p.Name)
			defined = append(defined, p.Port)
		}
		return
	}
	if a.Container != nil {
		for _, m := range a.Container.PortMappings {
			names = append(names, m.Name)
			defined = append(defined, m.ContainerPort)
		}
	}
	return
}

func fmtFloat(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// container builds the ContainerInfo of an app with a container: DOCKER (run by the agent
// through podman) or MESOS with an optional docker image, volumes and networks.
func container(a *app.App, ports []int) *mesospb.ContainerInfo {
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

// containerPortMappings pairs each port mapping that has a host port with the port assigned to
// it; a container port of 0 means "the same as the host port".
func containerPortMappings(a *app.App, ports []int) []portMapping {
	if a.HostNetworking() || a.Container == nil {
		return nil
	}
	var out []portMapping
	for i, m := range a.Container.PortMappings {
		if m.HostPort == nil || i >= len(ports) || ports[i] == 0 {
			continue
		}
		cp := m.ContainerPort
		if cp == 0 {
			cp = ports[i]
		}
		for _, proto := range strings.Split(m.Protocol, ",") {
			out = append(out, portMapping{host: uint32(ports[i]), container: uint32(cp), protocol: proto})
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
// executor checks a container on its own IP). maxConsecutiveFailures 0 means "never kill" in
// Marathon, so it is passed as the largest count the executor can reach.
func healthCheck(a *app.App, hc app.HealthCheck, ports []int) *mesospb.HealthCheck {
	failures := uint32(hc.MaxConsecutiveFailures)
	if hc.MaxConsecutiveFailures == 0 {
		failures = math.MaxUint32
	}
	out := &mesospb.HealthCheck{
		DelaySeconds:        proto.Float64(float64(hc.DelaySeconds)),
		IntervalSeconds:     proto.Float64(float64(hc.IntervalSeconds)),
		TimeoutSeconds:      proto.Float64(float64(hc.TimeoutSeconds)),
		GracePeriodSeconds:  proto.Float64(float64(hc.GracePeriodSeconds)),
		ConsecutiveFailures: proto.Uint32(failures),
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

// checkPort is the port a health check connects to.
func checkPort(a *app.App, hc app.HealthCheck, ports []int) int {
	if hc.Port != nil {
		return *hc.Port
	}
	if hc.PortIndex == nil {
		return 0
	}
	i := *hc.PortIndex
	if !a.HostNetworking() && a.Container != nil && i < len(a.Container.PortMappings) {
		if cp := a.Container.PortMappings[i].ContainerPort; cp != 0 {
			return cp
		}
	}
	if i < len(ports) {
		return ports[i]
	}
	return 0
}

// discovery is the DiscoveryInfo mesos-dns and load balancers read: the app's name and its
// ports with their names and protocols.
func discovery(a *app.App, ports []int) *mesospb.DiscoveryInfo {
	d := &mesospb.DiscoveryInfo{
		Visibility: mesospb.DiscoveryInfo_FRAMEWORK.Enum(),
		Name:       proto.String(app.Hostname(a.ID)),
		Ports:      &mesospb.Ports{},
	}
	names, _ := portNames(a)
	protocols := make([]string, len(names))
	if a.HostNetworking() {
		for i, p := range a.PortDefinitions {
			protocols[i] = p.Protocol
		}
	} else if a.Container != nil {
		for i, m := range a.Container.PortMappings {
			protocols[i] = m.Protocol
		}
	}
	for i, p := range ports {
		if p == 0 || i >= len(names) {
			continue
		}
		for _, proto0 := range strings.Split(protocols[i], ",") {
			port := &mesospb.Port{Number: proto.Uint32(uint32(p)), Protocol: proto.String(proto0)}
			if names[i] != "" {
				port.Name = proto.String(names[i])
			}
			d.Ports.Ports = append(d.Ports.Ports, port)
		}
	}
	return d
}
