package app

import (
	"strings"
)

// extractSuffixes are the archive forms the fetcher unpacks when a deprecated `uris` entry is
// turned into a fetch entry (Marathon's FetchUri.isExtract).
var extractSuffixes = []string{".tgz", ".tar.gz", ".tbz2", ".tar.bz2", ".txz", ".tar.xz", ".zip"}

// Normalize moves the deprecated forms into the canonical fields and fills in the defaults that
// depend on other fields, as Marathon's AppNormalization does:
//   - uris become fetch entries (extract for archives); ports become portDefinitions;
//   - container.docker.portMappings move to container.portMappings, container.docker.network
//     (HOST, BRIDGE, USER) and ipAddress become networks;
//   - networks default to host; on host networking portDefinitions default to one port named
//     "default" and portMappings are dropped; on other networks portDefinitions are dropped, a
//     container (MESOS) and one port mapping named "default" are added if missing, and on a
//     bridge a mapping's absent hostPort is 0 (a dynamic host port);
//   - HTTP and TCP health checks with neither port nor portIndex get portIndex 0 if the app has
//     ports; requirePorts only applies to host networking;
//   - relative dependencies are resolved against the app's group ("db" in /prod/web is /prod/db);
//   - collections are non-nil, unreachableStrategy defaults to {0, 0}, role to "*".
//
// Conflicting forms (uris with fetch, both portMappings locations, an unknown docker network) are
// reported as a *ValidationError.
func (a *App) Normalize() error {
	var v violations
	a.ID = strings.TrimSpace(a.ID)

	if len(a.URIs) > 0 {
		if len(a.Fetch) > 0 {
			v.add("/uris", "cannot specify both uris and fetch fields")
		} else {
			for _, u := range a.URIs {
				a.Fetch = append(a.Fetch, Fetch{URI: u, Extract: isArchive(u)})
			}
		}
	}
	a.URIs = nil

	if a.PortDefinitions == nil && a.Ports != nil {
		a.PortDefinitions = make([]PortDefinition, 0, len(a.Ports))
		for _, p := range a.Ports {
			a.PortDefinitions = append(a.PortDefinitions, PortDefinition{Port: p, Protocol: "tcp"})
		}
	}
	a.Ports = nil

	if c := a.Container; c != nil {
		if c.Type == "" {
			c.Type = ContainerDocker
		}
		if d := c.Docker; d != nil {
			if len(d.PortMappings) > 0 {
				if len(c.PortMappings) > 0 {
					v.add("/container/docker/portMappings", "cannot specify both portMappings and docker.portMappings")
				} else {
					c.PortMappings = d.PortMappings
				}
			}
			d.PortMappings = nil
			if d.Network != "" && len(a.Networks) == 0 {
				switch strings.ToUpper(d.Network) {
				case "HOST":
					a.Networks = []Network{{Mode: NetworkHost}}
				case "BRIDGE":
					a.Networks = []Network{{Mode: NetworkBridge}}
				case "USER":
					name := ""
					if a.IPAddress != nil {
						name = a.IPAddress.NetworkName
					}
					a.Networks = []Network{{Mode: NetworkContainer, Name: name}}
				default:
					v.add("/container/docker/network", "unsupported docker network %q (HOST, BRIDGE or USER)", d.Network)
				}
			}
			d.Network = ""
			if d.Parameters == nil {
				d.Parameters = []DockerParameter{}
			}
		}
		if c.Volumes == nil {
			c.Volumes = []Volume{}
		}
		for i := range c.Volumes {
			if c.Volumes[i].Mode == "" && c.Volumes[i].HostPath != "" {
				c.Volumes[i].Mode = "RW"
			}
		}
	}
	if a.IPAddress != nil {
		if len(a.Networks) == 0 {
			a.Networks = []Network{{Mode: NetworkContainer, Name: a.IPAddress.NetworkName, Labels: a.IPAddress.Labels}}
		}
		if a.Container == nil {
			a.Container = &Container{Type: ContainerMesos, Volumes: []Volume{}}
		}
		a.IPAddress = nil
	}

	if len(a.Networks) == 0 {
		a.Networks = []Network{{Mode: NetworkHost}}
	}
	if a.HostNetworking() {
		if a.PortDefinitions == nil {
			a.PortDefinitions = []PortDefinition{{Port: 0, Protocol: "tcp", Name: "default"}}
		}
		if a.Container != nil {
			a.Container.PortMappings = nil
		}
	} else {
		a.PortDefinitions = []PortDefinition{}
		a.RequirePorts = false
		if a.Container == nil {
			a.Container = &Container{Type: ContainerMesos, Volumes: []Volume{}}
		}
		if a.Container.PortMappings == nil {
			a.Container.PortMappings = []PortMapping{{Protocol: "tcp", Name: "default"}}
		}
		if a.BridgeNetworking() {
			for i := range a.Container.PortMappings {
				if a.Container.PortMappings[i].HostPort == nil {
					zero := 0
					a.Container.PortMappings[i].HostPort = &zero
				}
			}
		}
	}
	for i := range a.PortDefinitions {
		if a.PortDefinitions[i].Protocol == "" {
			a.PortDefinitions[i].Protocol = "tcp"
		}
	}
	if a.Container != nil {
		for i := range a.Container.PortMappings {
			if a.Container.PortMappings[i].Protocol == "" {
				a.Container.PortMappings[i].Protocol = "tcp"
			}
		}
	}

	if a.PortCount() > 0 {
		for i := range a.HealthChecks {
			hc := &a.HealthChecks[i]
			if hc.Protocol != ProtocolCommand && hc.Port == nil && hc.PortIndex == nil {
				zero := 0
				hc.PortIndex = &zero
			}
		}
	}

	if a.Env == nil {
		a.Env = map[string]EnvValue{}
	}
	if a.Labels == nil {
		a.Labels = map[string]string{}
	}
	if a.Constraints == nil {
		a.Constraints = [][]string{}
	}
	if a.Fetch == nil {
		a.Fetch = []Fetch{}
	}
	if a.HealthChecks == nil {
		a.HealthChecks = []HealthCheck{}
	}
	if a.ReadinessChecks == nil {
		a.ReadinessChecks = []ReadinessCheck{}
	}
	if a.Dependencies == nil {
		a.Dependencies = []string{}
	}
	if strings.HasPrefix(a.ID, "/") {
		for i, d := range a.Dependencies {
			if abs, err := ParseGroupID(d, Parent(a.ID)); err == nil {
				a.Dependencies[i] = abs // relative to the app's group; Validate reports bad ones
			}
		}
	}
	if a.UnreachableStrategy == nil {
		a.UnreachableStrategy = &UnreachableStrategy{}
	}
	if a.KillSelection == "" {
		a.KillSelection = YoungestFirst
	}
	if a.Role == "" {
		a.Role = DefaultRole
	}
	return v.err()
}

func isArchive(uri string) bool {
	for _, s := range extractSuffixes {
		if strings.HasSuffix(uri, s) {
			return true
		}
	}
	return false
}

// PortCount is the number of ports the app's tasks get: its port definitions on host
// networking, its port mappings otherwise.
func (a *App) PortCount() int {
	if a.HostNetworking() {
		return len(a.PortDefinitions)
	}
	if a.Container != nil {
		return len(a.Container.PortMappings)
	}
	return 0
}

// PortNames are the names of the app's ports by port index ("" for an unnamed one): its port
// definitions' on host networking, its port mappings' otherwise.
func (a *App) PortNames() []string {
	var out []string
	if a.HostNetworking() {
		for _, p := range a.PortDefinitions {
			out = append(out, p.Name)
		}
		return out
	}
	if a.Container != nil {
		for _, m := range a.Container.PortMappings {
			out = append(out, m.Name)
		}
	}
	return out
}

// PortIndex is the index of the app's port named name, or -1.
func (a *App) PortIndex(name string) int {
	for i, n := range a.PortNames() {
		if n != "" && n == name {
			return i
		}
	}
	return -1
}

// ServicePorts are the app's service ports: the port of each port definition (host networking)
// or the servicePort of each port mapping.
func (a *App) ServicePorts() []int {
	out := []int{}
	if a.HostNetworking() {
		for _, p := range a.PortDefinitions {
			out = append(out, p.Port)
		}
		return out
	}
	if a.Container != nil {
		for _, m := range a.Container.PortMappings {
			out = append(out, m.ServicePort)
		}
	}
	return out
}
