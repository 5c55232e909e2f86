package framework

import (
	"strings"
	"time"

	"strata/services/apps/app"
	"strata/services/apps/instance"
	"strata/services/apps/placement"
	"strata/services/apps/placement/constraint"
	"strata/services/apps/placement/offerstats"
)

// Spec describes an app to the placement library: its resources, how its ports are declared
// (portDefinitions on host networking, portMappings on bridge and container networking),
// requirePorts, constraints (operators upper-cased, as the API accepts them in any case),
// acceptedResourceRoles and role.
func Spec(a *app.App) placement.Spec {
	s := placement.Spec{
		CPUs: a.Cpus, Mem: a.Mem, Disk: a.Disk, GPUs: float64(a.Gpus),
		Network:       networkMode(a),
		RequirePorts:  a.RequirePorts,
		AcceptedRoles: a.AcceptedResourceRoles,
		Role:          a.Role,
	}
	for _, c := range a.Constraints {
		c = append([]string(nil), c...)
		if len(c) > 1 {
			c[1] = strings.ToUpper(c[1])
		}
		s.Constraints = append(s.Constraints, c)
	}
	if s.Network == placement.NetworkHost {
		for _, p := range a.PortDefinitions {
			// port is the service port, or with requirePorts the literal host port.
			s.Ports = append(s.Ports, placement.PortRequest{
				Name: p.Name, Protocol: p.Protocol, Labels: p.Labels, HostPort: p.Port, ServicePort: p.Port,
			})
		}
		return s
	}
	if a.Container == nil {
		return s
	}
	for _, m := range a.Container.PortMappings {
		r := placement.PortRequest{
			Name: m.Name, Protocol: m.Protocol, Labels: m.Labels, ContainerPort: m.ContainerPort,
			ServicePort: m.ServicePort, NetworkNames: m.NetworkNames,
		}
		switch {
		case m.HostPort != nil:
			r.HostPort = *m.HostPort
		case s.Network == placement.NetworkContainer:
			r.NoHostPort = true
		}
		s.Ports = append(s.Ports, r)
	}
	return s
}

// networkMode is how the app's tasks are networked.
func networkMode(a *app.App) placement.NetworkMode {
	switch {
	case a.HostNetworking():
		return placement.NetworkHost
	case a.BridgeNetworking():
		return placement.NetworkBridge
	}
	return placement.NetworkContainer
}

// containerNetworks names the app's container networks, for DiscoveryInfo.
func containerNetworks(a *app.App) []string {
	var out []string
	for _, n := range a.Networks {
		if n.Mode == app.NetworkContainer && n.Name != "" {
			out = append(out, n.Name)
		}
	}
	return out
}

// placer is the placement state of one app: its compiled spec, the index of the agents its
// placed instances run on (for constraints), and the statistics of the offers processed for it
// while instances wait (/v2/queue).
type placer struct {
	matcher *placement.Matcher
	// specErr says why the app's spec does not compile (its instances cannot be placed);
	// validation keeps it from happening.
	specErr error
	index   *constraint.Index
	// indexed holds the host each indexed instance was added with, by task id.
	indexed map[string]constraint.Host
	stats   offerstats.Stats
}

// compile builds the app's matcher and rebuilds its constraint index from the instances. It
// runs when the app first comes and on every configuration change. f.mu is held.
func (f *Framework) compile(st *appState, now time.Time) {
	st.matcher, st.specErr = placement.NewMatcher(Spec(st.app))
	if st.specErr != nil {
		f.log.Error("the app cannot be placed", "app", st.app.ID, "err", st.specErr)
	}
	st.indexed = map[string]constraint.Host{}
	var hosts []constraint.Host
	for _, i := range f.instances {
		if i.AppID == st.app.ID && indexable(st, i, now) {
			h := hostOf(i)
			st.indexed[i.TaskID] = h
			hosts = append(hosts, h)
		}
	}
	if st.matcher != nil {
		st.index = st.matcher.NewIndex(hosts...)
	} else {
		st.index = constraint.NewIndex(nil, hosts...)
	}
}

// indexable reports whether an instance counts for the app's constraints: launched on an agent
// and active (not being killed, not given up on as unreachable).
func indexable(st *appState, i *instance.Instance, now time.Time) bool {
	inactive, disabled := unreachableTimes(st.app)
	return i.Launched() && i.AgentID != "" && i.Active(now, inactive, disabled)
}

// hostOf is the agent an instance runs on as constraints see it; instances stored before
// placements were kept only know the agent's id and hostname.
func hostOf(i *instance.Instance) constraint.Host {
	if i.Placement.AgentID != "" {
		return i.Placement
	}
	return constraint.Host{AgentID: i.AgentID, Hostname: i.Host}
}

// reindex brings the app's constraint index up to date with one instance after it changed.
// f.mu is held.
func (f *Framework) reindex(i *instance.Instance, now time.Time) {
	st := f.apps[i.AppID]
	if st == nil || st.index == nil {
		return
	}
	h, have := st.indexed[i.TaskID]
	switch want := indexable(st, i, now); {
	case want && !have:
		h = hostOf(i)
		st.index.Add(h)
		st.indexed[i.TaskID] = h
	case !want && have:
		st.index.Remove(h)
		delete(st.indexed, i.TaskID)
	}
}

// unindex takes a forgotten instance out of its app's constraint index. f.mu is held.
func (f *Framework) unindex(i *instance.Instance) {
	if st := f.apps[i.AppID]; st != nil && st.index != nil {
		if h, ok := st.indexed[i.TaskID]; ok {
			st.index.Remove(h)
			delete(st.indexed, i.TaskID)
		}
	}
}

// OfferStats returns the statistics of the offers processed for the app's waiting instances
// since its launch attempt began (nil for an unknown app). They are safe for concurrent use.
func (f *Framework) OfferStats(appID string) *offerstats.Stats {
	f.mu.Lock()
	defer f.mu.Unlock()
	if st := f.apps[appID]; st != nil {
		return &st.stats
	}
	return nil
}

// forgetAgent drops an agent that is gone from every app's offer statistics.
func (f *Framework) forgetAgent(agentID string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, st := range f.apps {
		st.stats.Forget(agentID)
	}
}
