package store

import "time"

// Agent states in the registry.
const (
	AgentAdmitted    = "admitted"
	AgentUnreachable = "unreachable"
	AgentGone        = "gone"
)

// Agent is one agent admitted to the registry.
type Agent struct {
	ID            string `gorm:"primaryKey;size:255"`
	Hostname      string `gorm:"size:255"`
	Info          []byte // binary mesos.v1.AgentInfo
	State         string `gorm:"size:16;index"`
	RegisteredAt  time.Time
	UnreachableAt *time.Time
	GoneAt        *time.Time
	UpdatedAt     time.Time
}

// Framework is one framework the master has accepted, active or completed.
type Framework struct {
	ID              string `gorm:"primaryKey;size:255"`
	Name            string `gorm:"size:255"`
	Info            []byte // binary mesos.v1.FrameworkInfo
	FailoverTimeout float64
	RegisteredAt    time.Time
	// DisconnectedAt is when the framework's stream last broke; nil while connected.
	DisconnectedAt *time.Time
	// RemovedAt is set when the framework is torn down or its failover timeout expired; a removed
	// framework's id can never be used again.
	RemovedAt *time.Time `gorm:"index"`
	UpdatedAt time.Time
}

// Weight is a role's DRF weight.
type Weight struct {
	Role   string `gorm:"primaryKey;size:255"`
	Weight float64
}

// Meta holds small named values (for example a schema or cluster identity).
type Meta struct {
	Key   string `gorm:"primaryKey;size:128"`
	Value string
}
