package app

import (
	"fmt"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"strata/services/apps/placement/constraint"
)

// portNamePattern is Marathon's rule for port names.
var portNameRE = regexp.MustCompile(`^[a-z0-9-]+$`)

// envNameRE is what a POSIX environment variable name may look like; Marathon only requires a
// non-empty name without '=' and NUL, which is what is checked.
func validEnvName(s string) bool { return s != "" && !strings.ContainsAny(s, "=\x00") }

var healthProtocols = map[string]bool{
	ProtocolHTTP: true, ProtocolHTTPS: true, ProtocolTCP: true, ProtocolCommand: true,
	ProtocolMesosHTTP: true, ProtocolMesosHTTPS: true, ProtocolMesosTCP: true,
}

// Validate checks a normalized app the way Marathon's validators do and returns a
// *ValidationError (422) listing every violation with the JSON path of its field.
func (a *App) Validate() error {
	var v violations
	if a.ID == "" {
		v.add("/id", "must not be empty")
	} else if _, err := ParseID(a.ID, "/"); err != nil || !strings.HasPrefix(a.ID, "/") {
		v.add("/id", "%s", idRuleMessage)
	}

	hasImage := a.Image() != ""
	switch {
	case a.Cmd != nil && len(a.Args) > 0:
		v.add("/", "AppDefinition must either contain one of 'cmd' or 'args', and/or a 'container'.")
	case a.Cmd == nil && len(a.Args) == 0 && !hasImage:
		v.add("/", "AppDefinition must either contain one of 'cmd' or 'args', and/or a 'container'.")
	}
	if a.Cmd != nil && strings.TrimSpace(*a.Cmd) == "" {
		v.add("/cmd", "must not be empty")
	}

	min := func(path string, got, want float64) {
		if got < want {
			v.add(path, "got %s, expected %s or more", fmtNum(got), fmtNum(want))
		}
	}
	min("/cpus", a.Cpus, 0.001)
	min("/mem", a.Mem, 0)
	min("/disk", a.Disk, 0)
	min("/gpus", float64(a.Gpus), 0)
	min("/instances", float64(a.Instances), 0)
	min("/backoffSeconds", float64(a.BackoffSeconds), 0)
	min("/backoffFactor", a.BackoffFactor, 1)
	min("/maxLaunchDelaySeconds", float64(a.MaxLaunchDelaySeconds), 0)
	if a.Gpus > 0 {
		v.add("/gpus", "GPU resources are not offered by Strata agents")
	}
	between := func(path string, got float64) {
		if got < 0 || got > 1 {
			v.add(path, "got %s, expected between 0 and 1", fmtNum(got))
		}
	}
	between("/upgradeStrategy/minimumHealthCapacity", a.UpgradeStrategy.MinimumHealthCapacity)
	between("/upgradeStrategy/maximumOverCapacity", a.UpgradeStrategy.MaximumOverCapacity)
	if a.KillSelection != YoungestFirst && a.KillSelection != OldestFirst {
		v.add("/killSelection", "must be one of YOUNGEST_FIRST, OLDEST_FIRST")
	}
	if u := a.UnreachableStrategy; u != nil && !u.Disabled {
		if u.InactiveAfterSeconds < 0 {
			v.add("/unreachableStrategy/inactiveAfterSeconds", "got %d, expected 0 or more", u.InactiveAfterSeconds)
		}
		if u.ExpungeAfterSeconds < u.InactiveAfterSeconds {
			v.add("/unreachableStrategy/expungeAfterSeconds", "got %d, expected %d or more (inactiveAfterSeconds)", u.ExpungeAfterSeconds, u.InactiveAfterSeconds)
		}
	}
	if g := a.TaskKillGracePeriodSeconds; g != nil && *g <= 0 {
		v.add("/taskKillGracePeriodSeconds", "got %d, expected 1 or more", *g)
	}
	if a.Executor != "" && a.Executor != "//cmd" {
		v.add("/executor", "custom executors are not supported; use the default (\"\" or \"//cmd\")")
	}
	if len(a.Residency) > 0 && string(a.Residency) != "null" {
		v.add("/residency", "resident apps (persistent volumes) are not supported")
	}

	for _, k := range sortedKeys(a.Env) {
		if !validEnvName(k) {
			v.add("/env/"+k, "must be a valid environment variable name")
		}
		if s := a.Env[k].Secret; s != "" {
			if _, ok := a.Secrets[s]; !ok {
				v.add("/env/"+k, "references an undefined secret named '%s'", s)
			}
		}
	}
	for _, name := range sortedKeys(a.Secrets) {
		if msg := secretSourceProblem(a.Secrets[name].Source); msg != "" {
			v.add("/secrets/"+name+"/source", "%s", msg)
		}
	}

	for i, c := range a.Constraints {
		validateConstraint(&v, fmt.Sprintf("/constraints(%d)", i), c)
	}
	for i, f := range a.Fetch {
		if strings.TrimSpace(f.URI) == "" {
			v.add(fmt.Sprintf("/fetch(%d)/uri", i), "must not be empty")
		}
	}
	for i, d := range a.Dependencies {
		if _, err := ParseID(d, Parent(a.ID)); err != nil {
			v.add(fmt.Sprintf("/dependencies(%d)", i), "%s", idRuleMessage)
		}
	}

	a.validatePorts(&v)
	a.validateNetworks(&v)
	a.validateContainer(&v)
	a.validateHealthChecks(&v)
	return v.err()
}

func fmtNum(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// validateConstraint checks one constraint: its shape and operator with Marathon's messages,
// then everything else (values, regular expressions) by the rules placement applies, so that an
// app the API accepts can always be placed.
func validateConstraint(v *violations, path string, c []string) {
	if len(c) < 2 || len(c) > 3 {
		v.add(path, "Each constraint must have either 2 or 3 fields")
		return
	}
	op := strings.ToUpper(c[1])
	if !slices.Contains(constraint.Operators, constraint.Operator(op)) {
		v.add(path, "Constraint operator must be one of the following: [CLUSTER, GROUP_BY, IS, LIKE, MAX_PER, UNIQUE, UNLIKE]")
		return
	}
	if strings.TrimSpace(c[0]) == "" {
		v.add(path, "Missing field for constraint")
		return
	}
	norm := append([]string{c[0], op}, c[2:]...)
	for _, bad := range constraint.Validate([][]string{norm}) {
		v.add(path, "%s", bad.Message)
	}
}

func validProtocol(p string) bool {
	switch p {
	case "tcp", "udp", "udp,tcp", "tcp,udp":
		return true
	}
	return false
}

func (a *App) validatePorts(v *violations) {
	names := map[string]bool{}
	fixed := map[int]bool{}
	for i, p := range a.PortDefinitions {
		path := fmt.Sprintf("/portDefinitions(%d)", i)
		if p.Port < 0 || p.Port > 65535 {
			v.add(path+"/port", "got %d, expected between 0 and 65535", p.Port)
		}
		if !validProtocol(p.Protocol) {
			v.add(path+"/protocol", "must be one of tcp, udp, udp,tcp")
		}
		if p.Name != "" {
			if !portNameRE.MatchString(p.Name) {
				v.add(path+"/name", "must fully match regular expression '^[a-z0-9-]+$'")
			}
			if names[p.Name] {
				v.add("/portDefinitions", "Port names must be unique.")
			}
			names[p.Name] = true
		}
		if p.Port != 0 {
			if fixed[p.Port] {
				v.add("/portDefinitions", "Ports must be unique.")
			}
			fixed[p.Port] = true
		}
	}
	if a.Container == nil {
		return
	}
	names = map[string]bool{}
	hostPorts := map[int]bool{}
	for i, m := range a.Container.PortMappings {
		if m.HostPort != nil && *m.HostPort != 0 {
			if hostPorts[*m.HostPort] {
				v.add("/container/portMappings", "Host ports must be unique.")
			}
			hostPorts[*m.HostPort] = true
		}
		path := fmt.Sprintf("/container/portMappings(%d)", i)
		if m.ContainerPort < 0 || m.ContainerPort > 65535 {
			v.add(path+"/containerPort", "got %d, expected between 0 and 65535", m.ContainerPort)
		}
		if m.HostPort != nil && (*m.HostPort < 0 || *m.HostPort > 65535) {
			v.add(path+"/hostPort", "got %d, expected between 0 and 65535", *m.HostPort)
		}
		if m.ServicePort < 0 || m.ServicePort > 65535 {
			v.add(path+"/servicePort", "got %d, expected between 0 and 65535", m.ServicePort)
		}
		if !validProtocol(m.Protocol) {
			v.add(path+"/protocol", "must be one of tcp, udp, udp,tcp")
		}
		if m.Name != "" {
			if !portNameRE.MatchString(m.Name) {
				v.add(path+"/name", "must fully match regular expression '^[a-z0-9-]+$'")
			}
			if names[m.Name] {
				v.add("/container/portMappings", "Port names must be unique.")
			}
			names[m.Name] = true
		}
	}
}

func (a *App) validateNetworks(v *violations) {
	hostCount := 0
	for i, n := range a.Networks {
		path := fmt.Sprintf("/networks(%d)", i)
		switch n.Mode {
		case NetworkHost:
			hostCount++
		case NetworkBridge:
			if n.Name != "" {
				v.add(path+"/name", "must be empty for mode container/bridge")
			}
		case NetworkContainer:
		default:
			v.add(path+"/mode", "must be one of host, container, container/bridge")
		}
	}
	if hostCount > 0 && len(a.Networks) > 1 {
		v.add("/networks", "host networking may not be combined with other networks")
	}
	if !a.HostNetworking() && a.Container != nil && a.Container.Type == ContainerDocker && a.Container.Docker == nil {
		v.add("/container/docker", "must not be empty for a DOCKER container")
	}
}

func (a *App) validateContainer(v *violations) {
	c := a.Container
	if c == nil {
		return
	}
	switch c.Type {
	case ContainerDocker:
		if c.Docker == nil || strings.TrimSpace(c.Docker.Image) == "" {
			v.add("/container/docker/image", "must not be empty")
		}
	case ContainerMesos:
		if c.Docker != nil && strings.TrimSpace(c.Docker.Image) == "" {
			v.add("/container/docker/image", "must not be empty")
		}
	default:
		v.add("/container/type", "must be one of DOCKER, MESOS")
	}
	if c.Docker != nil && c.Docker.Privileged {
		v.add("/container/docker/privileged", "privileged containers are not supported (the agent runs images through podman without privileges)")
	}
	for i, vol := range c.Volumes {
		path := fmt.Sprintf("/container/volumes(%d)", i)
		if strings.TrimSpace(vol.ContainerPath) == "" {
			v.add(path+"/containerPath", "must not be empty")
		}
		if vol.HostPath != "" && vol.Mode != "RO" && vol.Mode != "RW" {
			v.add(path+"/mode", "must be one of RO, RW")
		}
		if vol.HostPath == "" && (len(vol.Persistent) > 0 || len(vol.External) > 0) {
			v.add(path, "persistent and external volumes are not supported")
		}
	}
}

func (a *App) validateHealthChecks(v *violations) {
	if len(a.HealthChecks) > 1 {
		// Every check runs on the agent as the task's one Mesos health check.
		v.add("/healthChecks", "AppDefinition can contain at most one Mesos health check")
	}
	ports := a.PortCount()
	for i, hc := range a.HealthChecks {
		path := fmt.Sprintf("/healthChecks(%d)", i)
		if !healthProtocols[hc.Protocol] {
			v.add(path+"/protocol", "must be one of HTTP, HTTPS, TCP, COMMAND, MESOS_HTTP, MESOS_HTTPS, MESOS_TCP")
			continue
		}
		if hc.Protocol == ProtocolCommand {
			if hc.Command == nil || strings.TrimSpace(hc.Command.Value) == "" {
				v.add(path+"/command", "must not be empty for a COMMAND health check")
			}
		} else {
			switch {
			case hc.Port != nil && hc.PortIndex != nil:
				v.add(path, "Health check port index and port can not both be specified")
			case hc.Port != nil:
				if *hc.Port < 1 || *hc.Port > 65535 {
					v.add(path+"/port", "got %d, expected between 1 and 65535", *hc.Port)
				}
			case hc.PortIndex != nil:
				if *hc.PortIndex < 0 || *hc.PortIndex >= ports {
					v.add(path+"/portIndex", "Health check port indices must address an element of the ports array or container port mappings.")
				}
			default:
				v.add(path, "Health check must specify either a port or a portIndex")
			}
			if hc.IsHTTP() && hc.Path != "" && !strings.HasPrefix(hc.Path, "/") {
				v.add(path+"/path", "must start with /")
			}
		}
		if hc.IntervalSeconds < 1 {
			v.add(path+"/intervalSeconds", "got %d, expected 1 or more", hc.IntervalSeconds)
		}
		if hc.TimeoutSeconds < 1 {
			v.add(path+"/timeoutSeconds", "got %d, expected 1 or more", hc.TimeoutSeconds)
		}
		if hc.GracePeriodSeconds < 0 {
			v.add(path+"/gracePeriodSeconds", "got %d, expected 0 or more", hc.GracePeriodSeconds)
		}
		if hc.DelaySeconds < 0 {
			v.add(path+"/delaySeconds", "got %d, expected 0 or more", hc.DelaySeconds)
		}
		if hc.MaxConsecutiveFailures < 0 {
			v.add(path+"/maxConsecutiveFailures", "got %d, expected 0 or more", hc.MaxConsecutiveFailures)
		}
		if hc.IPProtocol != "" && hc.IPProtocol != "IPv4" && hc.IPProtocol != "IPv6" {
			v.add(path+"/ipProtocol", "must be one of IPv4, IPv6")
		}
	}
	a.validateReadinessChecks(v)
}

// validateReadinessChecks applies Marathon's rules: one readiness check at most, a name, a path,
// a portName naming one of the app's ports, 0 < timeoutSeconds < intervalSeconds and at least one
// status code for ready.
func (a *App) validateReadinessChecks(v *violations) {
	if len(a.ReadinessChecks) > 1 {
		v.add("/readinessChecks", "AppDefinition can contain at most one readiness check")
	}
	for i, rc := range a.ReadinessChecks {
		path := fmt.Sprintf("/readinessChecks(%d)", i)
		if strings.TrimSpace(rc.Name) == "" {
			v.add(path+"/name", "must not be empty")
		}
		if rc.Protocol != "HTTP" && rc.Protocol != "HTTPS" {
			v.add(path+"/protocol", "must be one of HTTP, HTTPS")
		}
		if !strings.HasPrefix(rc.Path, "/") {
			v.add(path+"/path", "must start with /")
		}
		switch {
		case strings.TrimSpace(rc.PortName) == "":
			v.add(path+"/portName", "must not be empty")
		case a.PortIndex(rc.PortName) < 0:
			v.add(path+"/portName", "must be the name of one of the app's ports; %q is not", rc.PortName)
		}
		if rc.TimeoutSeconds < 1 {
			v.add(path+"/timeoutSeconds", "got %d, expected 1 or more", rc.TimeoutSeconds)
		}
		if rc.TimeoutSeconds >= rc.IntervalSeconds {
			v.add(path+"/timeoutSeconds", "got %d, expected less than intervalSeconds (%d)", rc.TimeoutSeconds, rc.IntervalSeconds)
		}
		if len(rc.HTTPStatusCodesForReady) == 0 {
			v.add(path+"/httpStatusCodesForReady", "must not be empty")
		}
		for _, c := range rc.HTTPStatusCodesForReady {
			if c < 100 || c > 999 {
				v.add(path+"/httpStatusCodesForReady", "got %d, expected between 100 and 999", c)
			}
		}
	}
}

// secretSourceProblem says what is wrong with a secret's source: a path naming the secret in
// the agents' secrets directories ("/db/password" or "db/password"), clean, without segments
// starting with a dot.
func secretSourceProblem(src string) string {
	trimmed := strings.TrimPrefix(src, "/")
	switch {
	case trimmed == "":
		return "must not be empty"
	case strings.ContainsRune(src, 0):
		return "must not contain a NUL byte"
	case path.Clean("/"+trimmed) != "/"+trimmed:
		return "must be a clean path such as /db/password"
	}
	for _, seg := range strings.Split(trimmed, "/") {
		if strings.HasPrefix(seg, ".") {
			return "no path segment may start with a dot"
		}
	}
	return ""
}
