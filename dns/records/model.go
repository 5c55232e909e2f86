package records

import "net/netip"

// This file holds the input model: plain structs that describe the part of the cluster state
// the generator reads. They mirror the fields Mesos-DNS reads from /master/state
// (reference/mesos-dns.md §1, mesos-api.md §3.2) and can be filled as well from the operator
// API's event stream; they do not depend on protobufs.

// Task states the generator cares about. Only TaskRunning tasks get records; the terminal
// states make the Set forget a task (see IsTerminal).
const (
	TaskStaging        = "TASK_STAGING"
	TaskStarting       = "TASK_STARTING"
	TaskRunning        = "TASK_RUNNING"
	TaskKilling        = "TASK_KILLING"
	TaskFinished       = "TASK_FINISHED"
	TaskFailed         = "TASK_FAILED"
	TaskKilled         = "TASK_KILLED"
	TaskError          = "TASK_ERROR"
	TaskLost           = "TASK_LOST"
	TaskDropped        = "TASK_DROPPED"
	TaskUnreachable    = "TASK_UNREACHABLE"
	TaskGone           = "TASK_GONE"
	TaskGoneByOperator = "TASK_GONE_BY_OPERATOR"
	TaskUnknown        = "TASK_UNKNOWN"
)

// Status label keys of the deprecated container IP sources (reference/mesos-dns.md §4).
const (
	labelMesosIP  = "MesosContainerizer.NetworkSettings.IPAddress"
	labelDockerIP = "Docker.NetworkSettings.IPAddress"
)

// The protocols an empty DiscoveryInfo port protocol stands for.
const (
	discoveryProtocolTCP = "tcp"
	discoveryProtocolUDP = "udp"
)

// IsTerminal reports whether state is one of Mesos' terminal task states (the list of
// protobuf::isTerminalState: FINISHED, FAILED, KILLED, LOST, ERROR, DROPPED, GONE,
// GONE_BY_OPERATOR). A Set drops a task that reaches one of them.
func IsTerminal(state string) bool {
	switch state {
	case TaskFinished, TaskFailed, TaskKilled, TaskLost, TaskError, TaskDropped, TaskGone,
		TaskGoneByOperator:
		return true
	}
	return false
}

// Label is a Mesos key/value label.
type Label struct {
	Key   string
	Value string
}

// IPAddress is one address of a container network (NetworkInfo.IPAddress). Protocol is
// "IPv4" or "IPv6" when the master sent it; the generator derives the family from the
// address itself, as Mesos-DNS does.
type IPAddress struct {
	Protocol  string
	IPAddress string
}

// NetworkInfo is one container network of a task status.
type NetworkInfo struct {
	Name        string
	IPAddresses []IPAddress
}

// ContainerStatus is the container part of a task status.
type ContainerStatus struct {
	NetworkInfos []NetworkInfo
}

// Status is one task status as /master/state lists it under statuses[].
type Status struct {
	State           string
	Timestamp       float64 // seconds since the epoch, as Mesos writes it
	Labels          []Label
	ContainerStatus ContainerStatus
}

// PortRange is an inclusive range of the task's "ports" resource, e.g. [31000-31002].
type PortRange struct {
	Begin, End uint64
}

// DiscoveryPort is one port of a task's DiscoveryInfo.
type DiscoveryPort struct {
	Number   uint32
	Name     string
	Protocol string
	Labels   []Label
}

// DiscoveryInfo is a task's DiscoveryInfo. Only Name and Ports influence records; a
// DiscoveryInfo with an empty Name is ignored entirely, as in Mesos-DNS.
type DiscoveryInfo struct {
	Visibility  string
	Name        string
	Version     string
	Location    string
	Environment string
	Labels      []Label
	Ports       []DiscoveryPort
}

// PortMapping is a Docker bridge-network port mapping.
type PortMapping struct {
	HostPort      uint32
	ContainerPort uint32
	Protocol      string
}

// DockerInfo is the Docker part of a task's ContainerInfo.
type DockerInfo struct {
	Image        string
	Network      string // HOST, BRIDGE, USER, NONE
	PortMappings []PortMapping
}

// ContainerInfo is a task's ContainerInfo. Mesos-DNS does not read it: a Docker bridge task
// is published through its "ports" resource (host ports) and its container IP (the netinfo or
// docker IP sources). It is kept in the model for callers and future rules.
type ContainerInfo struct {
	Type   string // DOCKER or MESOS
	Docker *DockerInfo
}

// Task is one task of a framework.
type Task struct {
	ID          string
	Name        string
	FrameworkID string
	AgentID     string
	State       string
	Statuses    []Status
	Labels      []Label     // not used for names (reference §5: no label-based names)
	Ports       []PortRange // the task's "ports" resource
	Discovery   *DiscoveryInfo
	Container   *ContainerInfo
}

// Agent is one agent ("slave").
type Agent struct {
	ID       string
	Hostname string
	// PID is the agent's libprocess address, "slave(1)@10.0.0.1:5051". Its host gives the
	// agent's IP and its port the _slave._tcp port.
	PID string
	// Port is the agent's port from AgentInfo, used when PID carries none.
	Port uint32
	// IPs overrides the addresses derived from PID. The package does no DNS resolution, so a
	// server that wants Mesos-DNS' behaviour for PIDs that name a host instead of an IP
	// resolves it and passes the result here.
	IPs []netip.Addr
}

// Framework is one registered framework.
type Framework struct {
	ID       string
	Name     string
	Hostname string
	// PID is the scheduler's libprocess address ("scheduler(1)@10.0.0.5:25501"); HTTP
	// frameworks have none.
	PID      string
	WebuiURL string
	// IPs overrides the scheduler addresses derived from PID or Hostname (see Agent.IPs).
	IPs []netip.Addr
}

// State is a full snapshot: what /master/state holds plus the list of masters, which the
// state document does not carry (Mesos-DNS takes it from ZooKeeper or its config).
type State struct {
	// Leader is the leading master's PID, "master@10.0.0.1:5050".
	Leader string
	// Masters lists the known masters as "ip:port" in a stable order (ZooKeeper order or
	// the static config list); masterN records are numbered in this order.
	Masters    []string
	Hostname   string
	Frameworks []Framework
	Agents     []Agent
	// Tasks of every framework, each with FrameworkID set.
	Tasks []Task
}
