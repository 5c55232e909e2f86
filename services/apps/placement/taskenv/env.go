package taskenv

import (
	"maps"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf16"

	"google.golang.org/protobuf/proto"

	"strata/kernel/mesos/mesospb"
	"strata/services/apps/placement"
)

// Names of the variables Marathon sets.
const (
	Host             = "HOST"
	Port             = "PORT"
	Ports            = "PORTS"
	MesosTaskID      = "MESOS_TASK_ID"
	AppID            = "MARATHON_APP_ID"
	AppVersion       = "MARATHON_APP_VERSION"
	AppDockerImage   = "MARATHON_APP_DOCKER_IMAGE"
	AppResourceCPUs  = "MARATHON_APP_RESOURCE_CPUS"
	AppResourceMem   = "MARATHON_APP_RESOURCE_MEM"
	AppResourceDisk  = "MARATHON_APP_RESOURCE_DISK"
	AppResourceGPUs  = "MARATHON_APP_RESOURCE_GPUS"
	AppLabels        = "MARATHON_APP_LABELS"
	AppLabelPrefix   = "MARATHON_APP_LABEL_"
	maxVariableBytes = 512 // Marathon's limit on a label's name and value
)

// App is the part of an app definition the environment describes.
type App struct {
	ID          string // "/group/app"
	Version     string // "2015-04-02T09:37:00.596Z"
	DockerImage string // empty when the app has no Docker image
	CPUs        float64
	Mem         float64
	Disk        float64
	GPUs        float64
	Labels      map[string]string
}

// Input is everything a task's environment is made of.
type Input struct {
	App    App
	TaskID string
	// Hostname is the agent's hostname (the offer's), for HOST.
	Hostname string
	// Ports are the placed instance's ports (placement.Fit.Ports).
	Ports []placement.AssignedPort
	// Prefix is Marathon's --env_vars_prefix: put before the names of the
	// port variables and HOST, and of nothing else.
	Prefix string
	// User is the app's env (plain values); it overrides generated values.
	User map[string]string
}

// Vars returns the task's whole environment as a map.
func Vars(in Input) map[string]string {
	out := AppVars(in.App, in.TaskID)
	for k, v := range PortVars(in.Ports) {
		out[in.Prefix+k] = v
	}
	if in.Hostname != "" {
		out[in.Prefix+Host] = in.Hostname
	}
	maps.Copy(out, in.User)
	return out
}

// Environment returns Vars as a CommandInfo environment, sorted by name.
func Environment(in Input) *mesospb.Environment {
	vars := Vars(in)
	env := &mesospb.Environment{Variables: make([]*mesospb.Environment_Variable, 0, len(vars))}
	for _, k := range slices.Sorted(maps.Keys(vars)) {
		env.Variables = append(env.Variables, &mesospb.Environment_Variable{
			Name:  proto.String(k),
			Type:  mesospb.Environment_Variable_VALUE.Enum(),
			Value: proto.String(vars[k]),
		})
	}
	return env
}

// AppVars returns MESOS_TASK_ID (when taskID is set), the MARATHON_APP_*
// metadata and the label variables.
func AppVars(app App, taskID string) map[string]string {
	out := LabelVars(app.Labels)
	if taskID != "" {
		out[MesosTaskID] = taskID
	}
	out[AppID] = app.ID
	out[AppVersion] = app.Version
	if app.DockerImage != "" {
		out[AppDockerImage] = app.DockerImage
	}
	out[AppResourceCPUs] = FormatDouble(app.CPUs)
	out[AppResourceMem] = FormatDouble(app.Mem)
	out[AppResourceDisk] = FormatDouble(app.Disk)
	out[AppResourceGPUs] = FormatDouble(app.GPUs)
	return out
}

var labelUnsafe = regexp.MustCompile(`[^a-zA-Z0-9_]+`)

// LabelName turns a label name into the suffix of its variable name.
func LabelName(label string) string {
	return strings.ToUpper(labelUnsafe.ReplaceAllString(label, "_"))
}

// LabelVars returns MARATHON_APP_LABELS and one MARATHON_APP_LABEL_<NAME>
// per label. A label is left out when its name or value would make the
// variable too long; when two names map to the same variable, the label
// whose name sorts last wins.
func LabelVars(labels map[string]string) map[string]string {
	out := make(map[string]string, len(labels)+1)
	var names []string
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		v := labels[k]
		if javaLen(k) >= maxVariableBytes-len(AppLabelPrefix) || javaLen(v) >= maxVariableBytes {
			continue
		}
		name := LabelName(k)
		if _, dup := out[AppLabelPrefix+name]; !dup {
			names = append(names, name)
		}
		out[AppLabelPrefix+name] = v
	}
	slices.Sort(names)
	out[AppLabels] = strings.Join(names, " ")
	return out
}

// javaLen is a string's length in UTF-16 code units, as Java counts it.
func javaLen(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

// PortVars returns the port variables of a placed instance, without any
// prefix: PORT<i> for every port, PORT_<number> for the port's declared
// number (containerPort for port mappings, else the service or fixed port;
// the assigned port itself when none is declared), PORT_<NAME> for named
// ports, PORT and PORTS. A port without a host port contributes its
// container port where a value is needed, as Marathon does; PORTS lists the
// host ports, then the container ports drawn at random.
//
// PORT_<NAME> is the name upper-cased with every character outside
// [A-Z0-9_] turned into "_"; when that differs from the plain upper-cased
// name Marathon uses (a "-" in the name), both are set.
func PortVars(ports []placement.AssignedPort) map[string]string {
	out := make(map[string]string)
	if len(ports) == 0 {
		return out
	}
	var assigned, generated []string
	for _, p := range ports {
		value := p.HostPort
		if value == 0 {
			value = p.ContainerPort
		}
		v := strconv.Itoa(value)
		out["PORT"+strconv.Itoa(p.Index)] = v
		if declared := declaredPort(p); declared != 0 {
			out["PORT_"+strconv.Itoa(declared)] = v
		} else if value != 0 {
			out["PORT_"+v] = v
		}
		if name := p.Request.Name; name != "" && value != 0 {
			out["PORT_"+envName(name)] = v
			out["PORT_"+strings.ToUpper(name)] = v
		}
		switch {
		case p.HostPort != 0:
			assigned = append(assigned, v)
		case p.Request.ContainerPort == 0 && p.ContainerPort != 0:
			generated = append(generated, v)
		}
	}
	all := append(assigned, generated...)
	if len(all) > 0 {
		out[Port] = all[0]
	}
	out[Ports] = strings.Join(all, ",")
	return out
}

// declaredPort is the number the app declared for a port: the container port
// of a port mapping, or for host networking its service port, else the
// literal host port it asked for.
func declaredPort(p placement.AssignedPort) int {
	if p.ContainerPort != 0 || p.Request.ContainerPort != 0 || p.Request.NoHostPort {
		return p.Request.ContainerPort
	}
	if p.Request.ServicePort != 0 {
		return p.Request.ServicePort
	}
	return p.Request.HostPort
}

var nameUnsafe = regexp.MustCompile(`[^A-Z0-9_]`)

// envName upper-cases a port name and replaces what a shell variable name
// cannot hold with "_".
func envName(name string) string { return nameUnsafe.ReplaceAllString(strings.ToUpper(name), "_") }

// FormatDouble writes v as Java's Double.toString does, which is how
// Marathon writes resource amounts: "1.0", "0.5", "128.0", "1.0E7", "1.0E-4".
func FormatDouble(v float64) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "Infinity"
	case math.IsInf(v, -1):
		return "-Infinity"
	case v == 0:
		if math.Signbit(v) {
			return "-0.0"
		}
		return "0.0"
	}
	if a := math.Abs(v); a >= 1e-3 && a < 1e7 {
		s := strconv.FormatFloat(v, 'f', -1, 64)
		if !strings.Contains(s, ".") {
			s += ".0"
		}
		return s
	}
	mant, exp, _ := strings.Cut(strconv.FormatFloat(v, 'e', -1, 64), "e")
	if !strings.Contains(mant, ".") {
		mant += ".0"
	}
	e, _ := strconv.Atoi(exp)
	return mant + "E" + strconv.Itoa(e)
}
