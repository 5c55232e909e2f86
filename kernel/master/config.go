package master

import (
	"log/slog"
	"time"

	"strata/kernel/mesos/mesospb"
)

// Config configures a master. The zero values of the durations take the Mesos defaults.
type Config struct {
	// IP and Port are where the master serves; Hostname is what it advertises (defaults to IP).
	IP       string
	Hostname string
	Port     int
	// WorkDir holds the SQLite registry when Store is nil.
	WorkDir string
	// Cluster is a human name for the cluster shown in state endpoints.
	Cluster string

	// AllocationInterval is the periodic allocation sweep (default 1 s); passes also run on events.
	AllocationInterval time.Duration
	// OfferTimeout rescinds offers held longer than this; 0 keeps them until used.
	OfferTimeout time.Duration
	// HeartbeatInterval is the scheduler and operator stream heartbeat (Mesos: 15 s, not a flag there).
	HeartbeatInterval time.Duration
	// AgentPingTimeout and MaxAgentPingTimeouts decide when a silent agent becomes unreachable
	// (default 15 s × 5 = 75 s).
	AgentPingTimeout     time.Duration
	MaxAgentPingTimeouts int
	// AgentReregisterTimeout is how long agents known from the registry have to re-register after a
	// master restart before they are marked unreachable (default 10 min). Frameworks that were
	// connected when the previous master stopped get at least as long to re-subscribe.
	AgentReregisterTimeout time.Duration
	// DefaultFailoverTimeout applies to frameworks that do not set failover_timeout at all. Mesos
	// uses 0 (a framework is removed, and its tasks killed, the moment its stream breaks); Strata
	// uses one week unless told otherwise. An explicit 0 from a framework is honoured.
	DefaultFailoverTimeout time.Duration
	// MinAllocatable is the global --min_allocatable_resources (default "cpus:0.01|mem:32").
	MinAllocatable string
	// MaxCompletedFrameworks, MaxCompletedTasksPerFramework, MaxUnreachableTasksPerFramework bound
	// the history kept in memory (Mesos: 50, 1000, 1000).
	MaxCompletedFrameworks          int
	MaxCompletedTasksPerFramework   int
	MaxUnreachableTasksPerFramework int
	// Flags is what GET_FLAGS and /master/flags report (the command line the master was started with).
	Flags map[string]string

	// Elector, when set, makes this master one of several: it is called once the master knows
	// its address, with its MasterInfo, and the master leads only while the returned Elector
	// says so (ZooKeeper: kernel/election). Until elected it answers the APIs with 307 to the
	// leader (503 while none is known); once elected it fences earlier leaders off the store,
	// recovers and serves; when it loses leadership Serve returns ErrLostLeadership. nil: the
	// master runs alone and leads.
	Elector func(info *mesospb.MasterInfo) (Elector, error)

	Logger *slog.Logger
}

func (c *Config) setDefaults() {
	if c.IP == "" {
		c.IP = "127.0.0.1"
	}
	if c.Hostname == "" {
		c.Hostname = c.IP
	}
	if c.AllocationInterval <= 0 {
		c.AllocationInterval = time.Second
	}
	if c.HeartbeatInterval <= 0 {
		c.HeartbeatInterval = 15 * time.Second
	}
	if c.AgentPingTimeout <= 0 {
		c.AgentPingTimeout = 15 * time.Second
	}
	if c.MaxAgentPingTimeouts <= 0 {
		c.MaxAgentPingTimeouts = 5
	}
	if c.AgentReregisterTimeout <= 0 {
		c.AgentReregisterTimeout = 10 * time.Minute
	}
	if c.DefaultFailoverTimeout <= 0 {
		c.DefaultFailoverTimeout = 7 * 24 * time.Hour
	}
	if c.MinAllocatable == "" {
		c.MinAllocatable = "cpus:0.01|mem:32"
	}
	if c.MaxCompletedFrameworks <= 0 {
		c.MaxCompletedFrameworks = 50
	}
	if c.MaxCompletedTasksPerFramework <= 0 {
		c.MaxCompletedTasksPerFramework = 1000
	}
	if c.MaxUnreachableTasksPerFramework <= 0 {
		c.MaxUnreachableTasksPerFramework = 1000
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}
