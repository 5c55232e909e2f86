package records

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// This file decodes the /master/state document (reference/mesos-api.md §3.2) into a State.
// Only the fields Mesos-DNS reads are decoded, plus a few the model carries for callers.

// ErrNoLeader is returned by ParseMasterState for a state without a leader: Mesos-DNS refuses
// such a state (reference/mesos-dns.md §1).
var ErrNoLeader = errors.New("records: master state has no leader")

// ParseMasterState decodes a /master/state (or legacy /master/state.json) document. It reads
// leader (else leader_info.pid), hostname, slaves[].{id,hostname,pid,port} and
// frameworks[].{id,name,hostname,pid,webui_url,tasks[]}; per task id, name, slave_id, state,
// statuses[], labels, resources.ports, discovery and container. completed_frameworks,
// completed_tasks and unreachable_tasks are ignored, as Mesos-DNS ignores them.
//
// Malformed JSON and wrongly typed strings are errors; malformed numbers, port ranges and
// PIDs are not (they only lose the records that need them), so one odd field cannot take a
// whole cluster's names down. The caller bounds the size of r.
func ParseMasterState(r io.Reader) (*State, error) {
	var ws wireState
	dec := json.NewDecoder(r)
	if err := dec.Decode(&ws); err != nil {
		return nil, fmt.Errorf("records: decode master state: %w", err)
	}
	st := &State{Leader: ws.Leader, Hostname: ws.Hostname}
	if st.Leader == "" && ws.LeaderInfo != nil {
		st.Leader = ws.LeaderInfo.PID
	}
	if st.Leader == "" {
		return nil, ErrNoLeader
	}
	for _, a := range ws.Slaves {
		st.Agents = append(st.Agents, Agent{ID: a.ID, Hostname: a.Hostname, PID: a.PID, Port: uint32(min(uint64(a.Port), math.MaxUint32))})
	}
	for i, f := range ws.Frameworks {
		id := f.ID
		if id == "" {
			id = "<no-id>#" + strconv.Itoa(i) // keep ID-less frameworks apart
		}
		st.Frameworks = append(st.Frameworks, Framework{ID: id, Name: f.Name, Hostname: f.Hostname, PID: f.PID, WebuiURL: f.WebuiURL})
		for j := range f.Tasks {
			st.Tasks = append(st.Tasks, f.Tasks[j].task(id))
		}
	}
	return st, nil
}

type wireState struct {
	Leader     string `json:"leader"`
	LeaderInfo *struct {
		PID string `json:"pid"`
	} `json:"leader_info"`
	Hostname   string          `json:"hostname"`
	Frameworks []wireFramework `json:"frameworks"`
	Slaves     []wireAgent     `json:"slaves"`
}

type wireAgent struct {
	ID       string   `json:"id"`
	Hostname string   `json:"hostname"`
	PID      string   `json:"pid"`
	Port     jsonUint `json:"port"`
}

type wireFramework struct {
	ID       string     `json:"id"`
	Name     string     `json:"name"`
	Hostname string     `json:"hostname"`
	PID      string     `json:"pid"`
	WebuiURL string     `json:"webui_url"`
	Tasks    []wireTask `json:"tasks"`
}

type wireTask struct {
	ID        string                     `json:"id"`
	Name      string                     `json:"name"`
	SlaveID   string                     `json:"slave_id"`
	State     string                     `json:"state"`
	Statuses  []wireStatus               `json:"statuses"`
	Labels    wireLabels                 `json:"labels"`
	Resources map[string]json.RawMessage `json:"resources"`
	Discovery *wireDiscovery             `json:"discovery"`
	Container *wireContainer             `json:"container"`
}

type wireStatus struct {
	State           string     `json:"state"`
	Timestamp       jsonFloat  `json:"timestamp"`
	Labels          wireLabels `json:"labels"`
	ContainerStatus *struct {
		NetworkInfos []wireNetworkInfo `json:"network_infos"`
	} `json:"container_status"`
}

type wireNetworkInfo struct {
	Name        string `json:"name"`
	IPAddresses []struct {
		Protocol  string `json:"protocol"`
		IPAddress string `json:"ip_address"`
	} `json:"ip_addresses"`
	IPAddress string `json:"ip_address"` // Mesos 0.25's single address
}

type wireDiscovery struct {
	Visibility  string     `json:"visibility"`
	Name        string     `json:"name"`
	Version     string     `json:"version"`
	Location    string     `json:"location"`
	Environment string     `json:"environment"`
	Labels      wireLabels `json:"labels"`
	Ports       struct {
		Ports []struct {
			Number   jsonUint   `json:"number"`
			Name     string     `json:"name"`
			Protocol string     `json:"protocol"`
			Labels   wireLabels `json:"labels"`
		} `json:"ports"`
	} `json:"ports"`
}

type wireContainer struct {
	Type   string `json:"type"`
	Docker *struct {
		Image        string `json:"image"`
		Network      string `json:"network"`
		PortMappings []struct {
			HostPort      jsonUint `json:"host_port"`
			ContainerPort jsonUint `json:"container_port"`
			Protocol      string   `json:"protocol"`
		} `json:"port_mappings"`
	} `json:"docker"`
}

func (wt *wireTask) task(frameworkID string) Task {
	t := Task{
		ID: wt.ID, Name: wt.Name, FrameworkID: frameworkID, AgentID: wt.SlaveID, State: wt.State,
		Labels: wt.Labels,
	}
	if raw, ok := wt.Resources["ports"]; ok {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			t.Ports = ParsePortRanges(s)
		}
	}
	for _, ws := range wt.Statuses {
		st := Status{State: ws.State, Timestamp: float64(ws.Timestamp), Labels: ws.Labels}
		if ws.ContainerStatus != nil {
			for _, wn := range ws.ContainerStatus.NetworkInfos {
				ni := NetworkInfo{Name: wn.Name}
				for _, a := range wn.IPAddresses {
					ni.IPAddresses = append(ni.IPAddresses, IPAddress{Protocol: a.Protocol, IPAddress: a.IPAddress})
				}
				if len(ni.IPAddresses) == 0 && wn.IPAddress != "" {
					ni.IPAddresses = []IPAddress{{IPAddress: wn.IPAddress}}
				}
				st.ContainerStatus.NetworkInfos = append(st.ContainerStatus.NetworkInfos, ni)
			}
		}
		t.Statuses = append(t.Statuses, st)
	}
	if d := wt.Discovery; d != nil {
		di := &DiscoveryInfo{Visibility: d.Visibility, Name: d.Name, Version: d.Version,
			Location: d.Location, Environment: d.Environment, Labels: d.Labels}
		for _, p := range d.Ports.Ports {
			di.Ports = append(di.Ports, DiscoveryPort{Number: uint32(min(uint64(p.Number), math.MaxUint32)),
				Name: p.Name, Protocol: p.Protocol, Labels: p.Labels})
		}
		t.Discovery = di
	}
	if c := wt.Container; c != nil {
		ci := &ContainerInfo{Type: c.Type}
		if d := c.Docker; d != nil {
			ci.Docker = &DockerInfo{Image: d.Image, Network: d.Network}
			for _, pm := range d.PortMappings {
				ci.Docker.PortMappings = append(ci.Docker.PortMappings, PortMapping{
					HostPort:      uint32(min(uint64(pm.HostPort), math.MaxUint32)),
					ContainerPort: uint32(min(uint64(pm.ContainerPort), math.MaxUint32)),
					Protocol:      pm.Protocol,
				})
			}
		}
		t.Container = ci
	}
	return t
}

// ParsePortRanges parses a RANGES resource as /master/state writes it, "[31000-31002,
// 31005-31005]". Malformed parts are skipped (Mesos-DNS logged and skipped them too); a bare
// number is taken as a one-port range.
func ParsePortRanges(s string) []PortRange {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, "[")
	s = strings.TrimSuffix(s, "]")
	var out []PortRange
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		lo, hi, isRange := strings.Cut(part, "-")
		if !isRange {
			hi = lo
		}
		b, err1 := strconv.ParseUint(strings.TrimSpace(lo), 10, 64)
		e, err2 := strconv.ParseUint(strings.TrimSpace(hi), 10, 64)
		if err1 != nil || err2 != nil || e < b {
			continue
		}
		out = append(out, PortRange{Begin: b, End: e})
	}
	return out
}

// wireLabels decodes labels in either form Mesos writes them: a flat list of {key, value}
// (the /master/state form) or protobuf JSON's {"labels": [...]}.
type wireLabels []Label

func (l *wireLabels) UnmarshalJSON(b []byte) error {
	type kv struct {
		Key   string `json:"key"`
		Value string `json:"value"`
	}
	var list []kv
	b = bytes.TrimSpace(b)
	switch {
	case len(b) > 0 && b[0] == '{':
		var obj struct {
			Labels []kv `json:"labels"`
		}
		if err := json.Unmarshal(b, &obj); err != nil {
			return err
		}
		list = obj.Labels
	default:
		if err := json.Unmarshal(b, &list); err != nil {
			return err
		}
	}
	*l = nil
	for _, x := range list {
		*l = append(*l, Label(x))
	}
	return nil
}

// jsonUint decodes a non-negative integer leniently: from a number (integral or not) or a
// numeric string; anything else (or out of range) decodes as 0.
type jsonUint uint64

func (u *jsonUint) UnmarshalJSON(b []byte) error {
	*u = 0
	s := strings.Trim(string(bytes.TrimSpace(b)), `"`)
	if n, err := strconv.ParseUint(s, 10, 64); err == nil {
		*u = jsonUint(n)
	} else if f, err := strconv.ParseFloat(s, 64); err == nil && f >= 0 && f < math.MaxUint64 {
		*u = jsonUint(f)
	}
	return nil
}

// jsonFloat decodes a number leniently (a numeric string too); anything else decodes as 0.
type jsonFloat float64

func (f *jsonFloat) UnmarshalJSON(b []byte) error {
	*f = 0
	s := strings.Trim(string(bytes.TrimSpace(b)), `"`)
	if v, err := strconv.ParseFloat(s, 64); err == nil && !math.IsNaN(v) && !math.IsInf(v, 0) {
		*f = jsonFloat(v)
	}
	return nil
}
