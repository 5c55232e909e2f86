package app

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Kill selections: which instances die first when an app scales down.
const (
	YoungestFirst = "YOUNGEST_FIRST"
	OldestFirst   = "OLDEST_FIRST"
)

// Container types.
const (
	ContainerDocker = "DOCKER"
	ContainerMesos  = "MESOS"
)

// Network modes.
const (
	NetworkHost      = "host"
	NetworkContainer = "container"
	NetworkBridge    = "container/bridge"
)

// Health check protocols.
const (
	ProtocolHTTP       = "HTTP"
	ProtocolHTTPS      = "HTTPS"
	ProtocolTCP        = "TCP"
	ProtocolCommand    = "COMMAND"
	ProtocolMesosHTTP  = "MESOS_HTTP"
	ProtocolMesosHTTPS = "MESOS_HTTPS"
	ProtocolMesosTCP   = "MESOS_TCP"
)

// App is a Marathon app definition (Marathon's App/AppDefinition JSON). Deprecated input fields
// (Ports, URIs, IPAddress, Container.Docker.Network, Container.Docker.PortMappings) are accepted
// and moved into their canonical fields by Normalize, so they never appear in output.
//
// A nil slice or map means "absent" on input (Normalize fills in the default); after Normalize
// every collection is non-nil so that the JSON shows [] and {} the way Marathon does.
type App struct {
	ID                         string               `json:"id"`
	Cmd                        *string              `json:"cmd,omitempty"`
	Args                       []string             `json:"args,omitempty"`
	User                       string               `json:"user,omitempty"`
	Env                        map[string]EnvValue  `json:"env"`
	Instances                  int                  `json:"instances"`
	Cpus                       float64              `json:"cpus"`
	Mem                        float64              `json:"mem"`
	Disk                       float64              `json:"disk"`
	Gpus                       int                  `json:"gpus"`
	Executor                   string               `json:"executor"`
	Constraints                [][]string           `json:"constraints"`
	URIs                       []string             `json:"uris,omitempty"`
	Fetch                      []Fetch              `json:"fetch"`
	BackoffSeconds             int                  `json:"backoffSeconds"`
	BackoffFactor              float64              `json:"backoffFactor"`
	MaxLaunchDelaySeconds      int                  `json:"maxLaunchDelaySeconds"`
	Container                  *Container           `json:"container,omitempty"`
	HealthChecks               []HealthCheck        `json:"healthChecks"`
	ReadinessChecks            []ReadinessCheck     `json:"readinessChecks"`
	Dependencies               []string             `json:"dependencies"`
	UpgradeStrategy            UpgradeStrategy      `json:"upgradeStrategy"`
	Labels                     map[string]string    `json:"labels"`
	AcceptedResourceRoles      []string             `json:"acceptedResourceRoles,omitempty"`
	IPAddress                  *IPAddress           `json:"ipAddress,omitempty"`
	Version                    string               `json:"version,omitempty"`
	Residency                  json.RawMessage      `json:"residency,omitempty"`
	Secrets                    map[string]Secret    `json:"secrets,omitempty"`
	TaskKillGracePeriodSeconds *int                 `json:"taskKillGracePeriodSeconds,omitempty"`
	Role                       string               `json:"role,omitempty"`
	Ports                      []int                `json:"ports,omitempty"`
	PortDefinitions            []PortDefinition     `json:"portDefinitions"`
	RequirePorts               bool                 `json:"requirePorts"`
	Networks                   []Network            `json:"networks"`
	KillSelection              string               `json:"killSelection"`
	UnreachableStrategy        *UnreachableStrategy `json:"unreachableStrategy,omitempty"`
	TTY                        *bool                `json:"tty,omitempty"`
	ResourceLimits             json.RawMessage      `json:"resourceLimits,omitempty"`
	VersionInfo                *VersionInfo         `json:"versionInfo,omitempty"`
}

// EnvValue is one env entry: a plain string, or a reference to a secret of the app
// (`{"secret": "<name in secrets>"}`).
type EnvValue struct {
	Value  string
	Secret string
}

// MarshalJSON writes a string, or {"secret": name}.
func (e EnvValue) MarshalJSON() ([]byte, error) {
	if e.Secret != "" {
		return json.Marshal(map[string]string{"secret": e.Secret})
	}
	return json.Marshal(e.Value)
}

// UnmarshalJSON reads a string or {"secret": name}.
func (e *EnvValue) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '{' {
		var ref struct {
			Secret *string `json:"secret"`
		}
		if err := json.Unmarshal(b, &ref); err != nil {
			return err
		}
		if ref.Secret == nil {
			return &json.UnmarshalTypeError{Value: "object without secret", Type: envValueType}
		}
		*e = EnvValue{Secret: *ref.Secret}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	*e = EnvValue{Value: s}
	return nil
}

// Fetch is one artifact the agent downloads into the sandbox before the task starts.
type Fetch struct {
	URI        string `json:"uri"`
	Extract    bool   `json:"extract"`
	Executable bool   `json:"executable"`
	Cache      bool   `json:"cache"`
	DestPath   string `json:"destPath,omitempty"`
}

// UnmarshalJSON applies the defaults (extract true) to absent fields.
func (f *Fetch) UnmarshalJSON(b []byte) error {
	type plain Fetch
	p := plain{Extract: true}
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*f = Fetch(p)
	return nil
}

// Container is the app's container: a DOCKER image (run by the agent through podman) or a MESOS
// container, optionally with a docker image.
type Container struct {
	Type         string          `json:"type"`
	Docker       *Docker         `json:"docker,omitempty"`
	Volumes      []Volume        `json:"volumes"`
	PortMappings []PortMapping   `json:"portMappings,omitempty"`
	LinuxInfo    json.RawMessage `json:"linuxInfo,omitempty"`
}

// UnmarshalJSON applies the default type (DOCKER).
func (c *Container) UnmarshalJSON(b []byte) error {
	type plain Container
	p := plain{Type: ContainerDocker}
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*c = Container(p)
	return nil
}

// Docker is the docker part of a container. Network and PortMappings are the deprecated
// locations that Normalize moves to App.Networks and Container.PortMappings.
type Docker struct {
	Image          string            `json:"image"`
	ForcePullImage bool              `json:"forcePullImage"`
	Privileged     bool              `json:"privileged"`
	Parameters     []DockerParameter `json:"parameters"`
	PullConfig     json.RawMessage   `json:"pullConfig,omitempty"`
	Network        string            `json:"network,omitempty"`
	PortMappings   []PortMapping     `json:"portMappings,omitempty"`
}

// DockerParameter is one docker run option.
type DockerParameter struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Volume is a container volume. Only host-path volumes are run; the other kinds round-trip.
type Volume struct {
	ContainerPath string          `json:"containerPath"`
	HostPath      string          `json:"hostPath,omitempty"`
	Mode          string          `json:"mode,omitempty"`
	Persistent    json.RawMessage `json:"persistent,omitempty"`
	External      json.RawMessage `json:"external,omitempty"`
	Secret        string          `json:"secret,omitempty"`
}

// PortMapping maps a container port to a host port (bridge networking) or names a container port
// (container networking, where HostPort may be absent: no host port at all).
type PortMapping struct {
	ContainerPort int               `json:"containerPort"`
	HostPort      *int              `json:"hostPort,omitempty"`
	ServicePort   int               `json:"servicePort"`
	Protocol      string            `json:"protocol"`
	Name          string            `json:"name,omitempty"`
	Labels        map[string]string `json:"labels,omitempty"`
	NetworkNames  []string          `json:"networkNames,omitempty"`
}

// UnmarshalJSON applies the default protocol (tcp).
func (m *PortMapping) UnmarshalJSON(b []byte) error {
	type plain PortMapping
	p := plain{Protocol: "tcp"}
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*m = PortMapping(p)
	return nil
}

// PortDefinition is one port of an app on host networking.
type PortDefinition struct {
	Port     int               `json:"port"`
	Protocol string            `json:"protocol"`
	Name     string            `json:"name,omitempty"`
	Labels   map[string]string `json:"labels,omitempty"`
}

// UnmarshalJSON applies the default protocol (tcp).
func (d *PortDefinition) UnmarshalJSON(b []byte) error {
	type plain PortDefinition
	p := plain{Protocol: "tcp"}
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*d = PortDefinition(p)
	return nil
}

// Network is one network the app's tasks join.
type Network struct {
	Mode   string            `json:"mode"`
	Name   string            `json:"name,omitempty"`
	Labels map[string]string `json:"labels,omitempty"`
}

// UnmarshalJSON applies the default mode (container).
func (n *Network) UnmarshalJSON(b []byte) error {
	type plain Network
	p := plain{Mode: NetworkContainer}
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*n = Network(p)
	return nil
}

// IPAddress is the deprecated (pre-1.5) ip-per-task request; Normalize turns it into a container
// network.
type IPAddress struct {
	NetworkName string            `json:"networkName,omitempty"`
	Groups      []string          `json:"groups,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Discovery   json.RawMessage   `json:"discovery,omitempty"`
}

// HealthCheck is one health check. All are run by the agent: MESOS_HTTP, MESOS_HTTPS, MESOS_TCP
// and COMMAND as Mesos health checks, and Marathon's leader-side HTTP, HTTPS and TCP mapped onto
// them.
type HealthCheck struct {
	Protocol               string        `json:"protocol"`
	Path                   string        `json:"path,omitempty"`
	PortIndex              *int          `json:"portIndex,omitempty"`
	Port                   *int          `json:"port,omitempty"`
	Command                *CommandCheck `json:"command,omitempty"`
	GracePeriodSeconds     int           `json:"gracePeriodSeconds"`
	IntervalSeconds        int           `json:"intervalSeconds"`
	TimeoutSeconds         int           `json:"timeoutSeconds"`
	MaxConsecutiveFailures int           `json:"maxConsecutiveFailures"`
	DelaySeconds           int           `json:"delaySeconds"`
	IgnoreHTTP1xx          bool          `json:"ignoreHttp1xx"`
	IPProtocol             string        `json:"ipProtocol"`
}

// CommandCheck is the command of a COMMAND health check, run by /bin/sh -c.
type CommandCheck struct {
	Value string `json:"value"`
}

// UnmarshalJSON applies Marathon's defaults to absent fields.
func (h *HealthCheck) UnmarshalJSON(b []byte) error {
	type plain HealthCheck
	p := plain{
		Protocol:               ProtocolHTTP,
		GracePeriodSeconds:     300,
		IntervalSeconds:        60,
		TimeoutSeconds:         20,
		MaxConsecutiveFailures: 3,
		DelaySeconds:           15,
		IPProtocol:             "IPv4",
	}
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*h = HealthCheck(p)
	return nil
}

// IsHTTP reports whether the check is an HTTP(S) check, leader-side or Mesos.
func (h HealthCheck) IsHTTP() bool {
	switch h.Protocol {
	case ProtocolHTTP, ProtocolHTTPS, ProtocolMesosHTTP, ProtocolMesosHTTPS:
		return true
	}
	return false
}

// IsTCP reports whether the check is a TCP check, leader-side or Mesos.
func (h HealthCheck) IsTCP() bool { return h.Protocol == ProtocolTCP || h.Protocol == ProtocolMesosTCP }

// ReadinessCheck is polled by the apps service during deployments: a new instance counts toward
// its deployment step only once a GET of the check's path on the port named PortName answers one
// of HTTPStatusCodesForReady (package services/apps/readiness). It never kills.
type ReadinessCheck struct {
	Name                    string `json:"name"`
	Protocol                string `json:"protocol"`
	Path                    string `json:"path"`
	PortName                string `json:"portName"`
	IntervalSeconds         int    `json:"intervalSeconds"`
	TimeoutSeconds          int    `json:"timeoutSeconds"`
	HTTPStatusCodesForReady []int  `json:"httpStatusCodesForReady"`
	PreserveLastResponse    bool   `json:"preserveLastResponse"`
}

// UnmarshalJSON applies Marathon's defaults to absent fields.
func (r *ReadinessCheck) UnmarshalJSON(b []byte) error {
	type plain ReadinessCheck
	p := plain{
		Name:            "readinessCheck",
		Protocol:        "HTTP",
		Path:            "/",
		PortName:        "http-api",
		IntervalSeconds: 30,
		TimeoutSeconds:  10,
	}
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	if p.HTTPStatusCodesForReady == nil {
		p.HTTPStatusCodesForReady = []int{200}
	}
	*r = ReadinessCheck(p)
	return nil
}

// UpgradeStrategy bounds a rolling restart: at least MinimumHealthCapacity×instances healthy,
// at most (1+MaximumOverCapacity)×instances in total.
//
// AutoRevert is a Strata extension (absent from Marathon, and from the JSON unless set): when a
// deployment of the app is FAILED by the progress deadline, the app is rolled back, in a new
// deployment, to the last version whose deployment succeeded. Unset, the service's default
// (--deployment-auto-revert) applies.
type UpgradeStrategy struct {
	MinimumHealthCapacity float64 `json:"minimumHealthCapacity"`
	MaximumOverCapacity   float64 `json:"maximumOverCapacity"`
	AutoRevert            *bool   `json:"autoRevert,omitempty"`
}

// UnmarshalJSON applies the defaults (1, 1) to absent fields.
func (u *UpgradeStrategy) UnmarshalJSON(b []byte) error {
	type plain UpgradeStrategy
	p := plain{MinimumHealthCapacity: 1, MaximumOverCapacity: 1}
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*u = UpgradeStrategy(p)
	return nil
}

// UnreachableStrategy says when an unreachable instance is replaced (InactiveAfterSeconds) and
// when it is forgotten and killed should it come back (ExpungeAfterSeconds); Disabled ("disabled"
// in JSON) never replaces it.
type UnreachableStrategy struct {
	Disabled             bool
	InactiveAfterSeconds int64
	ExpungeAfterSeconds  int64
}

// MarshalJSON writes "disabled" or {inactiveAfterSeconds, expungeAfterSeconds}.
func (u UnreachableStrategy) MarshalJSON() ([]byte, error) {
	if u.Disabled {
		return []byte(`"disabled"`), nil
	}
	return json.Marshal(struct {
		InactiveAfterSeconds int64 `json:"inactiveAfterSeconds"`
		ExpungeAfterSeconds  int64 `json:"expungeAfterSeconds"`
	}{u.InactiveAfterSeconds, u.ExpungeAfterSeconds})
}

// UnmarshalJSON reads "disabled" or the object form (absent fields 0).
func (u *UnreachableStrategy) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		if s != "disabled" {
			return fmt.Errorf("unreachableStrategy: %q is neither \"disabled\" nor an object", s)
		}
		*u = UnreachableStrategy{Disabled: true}
		return nil
	}
	var o struct {
		InactiveAfterSeconds int64 `json:"inactiveAfterSeconds"`
		ExpungeAfterSeconds  int64 `json:"expungeAfterSeconds"`
	}
	if err := json.Unmarshal(b, &o); err != nil {
		return err
	}
	*u = UnreachableStrategy{InactiveAfterSeconds: o.InactiveAfterSeconds, ExpungeAfterSeconds: o.ExpungeAfterSeconds}
	return nil
}

// Secret names where a secret comes from.
type Secret struct {
	Source string `json:"source"`
}

// VersionInfo tells scaling changes from configuration changes.
type VersionInfo struct {
	LastScalingAt      string `json:"lastScalingAt"`
	LastConfigChangeAt string `json:"lastConfigChangeAt"`
}

// ConfigVersion is the version of the app's last configuration (non-scaling) change: instances
// launched from an older one are outdated.
func (a *App) ConfigVersion() string {
	if a.VersionInfo != nil && a.VersionInfo.LastConfigChangeAt != "" {
		return a.VersionInfo.LastConfigChangeAt
	}
	return a.Version
}

// Clone returns a deep copy.
func (a *App) Clone() *App {
	b, err := json.Marshal(a)
	if err != nil {
		panic(fmt.Sprintf("app: clone %s: %v", a.ID, err)) // every field marshals
	}
	out := &App{}
	if err := json.Unmarshal(b, out); err != nil {
		panic(fmt.Sprintf("app: clone %s: %v", a.ID, err))
	}
	return out
}

// SameConfig reports whether a and b differ at most in instances and version: a change from one
// to the other is a scale, not a restart.
func SameConfig(a, b *App) bool {
	ca, cb := *a, *b
	ca.Instances, cb.Instances = 0, 0
	ca.Version, cb.Version = "", ""
	ca.VersionInfo, cb.VersionInfo = nil, nil
	ja, err1 := json.Marshal(&ca)
	jb, err2 := json.Marshal(&cb)
	return err1 == nil && err2 == nil && bytes.Equal(ja, jb)
}

// HostNetworking reports whether the app's tasks use the host's network.
func (a *App) HostNetworking() bool {
	for _, n := range a.Networks {
		if n.Mode != NetworkHost {
			return false
		}
	}
	return true
}

// BridgeNetworking reports whether the app's tasks use a bridge network.
func (a *App) BridgeNetworking() bool {
	for _, n := range a.Networks {
		if n.Mode == NetworkBridge {
			return true
		}
	}
	return false
}

// Image is the docker image of the app's container, or "".
func (a *App) Image() string {
	if a.Container != nil && a.Container.Docker != nil {
		return a.Container.Docker.Image
	}
	return ""
}
