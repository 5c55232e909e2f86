package instance

import (
	"sort"
	"time"

	"strata/services/apps/placement/constraint"
)

// Scheduled is the state of an instance that waits for an offer: it has a task id but no task
// yet. The other states are the Mesos task states by name ("TASK_RUNNING", ...).
const Scheduled = "SCHEDULED"

// Mesos task states used by the service.
const (
	Staging     = "TASK_STAGING"
	Starting    = "TASK_STARTING"
	Running     = "TASK_RUNNING"
	Killing     = "TASK_KILLING"
	Unreachable = "TASK_UNREACHABLE"
)

// Instance is one instance of an app.
type Instance struct {
	TaskID string
	AppID  string
	// Version is the app version the instance was launched from (MARATHON_APP_VERSION, the
	// task JSON's "version"); ConfigVersion is that version's lastConfigChangeAt, which tells
	// current instances from outdated ones.
	Version       string
	ConfigVersion string

	AgentID     string
	Host        string
	Ports       []int
	IPAddresses []string
	// Placement is the agent the instance was placed on as constraints see it (hostname, fault
	// domain, attributes), kept so that the app's constraint index can be rebuilt after a
	// restart of the service. Empty before the instance is placed.
	Placement constraint.Host

	State   string
	Message string

	// KillRequested is set when the service asked for the task to be killed (scale down, a
	// restart, a kill through the API): its end is expected, it no longer counts toward the
	// app's instances, and it is not replaced with a backoff.
	KillRequested bool
	KillSentAt    time.Time
	// KillReason is why the service asked for the kill: "" for an ordinary kill, KillUnhealthy
	// for a health kill (after the app's maxConsecutiveFailures), whose end counts as a task
	// failure (the launch backoff, lastTaskFailure).
	KillReason string
	// ReplacedBy names the replacement a health kill launched first; until it runs (or ends, or
	// waited too long) the kill is held back, and KillHeldSince says since when.
	ReplacedBy    string
	KillHeldSince time.Time

	ScheduledAt      time.Time
	StagedAt         time.Time
	StartedAt        time.Time
	UpdatedAt        time.Time
	UnreachableSince time.Time

	Health *Health
}

// KillUnhealthy is the KillReason of a health kill.
const KillUnhealthy = "unhealthy"

// KillHeld reports whether the instance's kill waits for its replacement to run.
func (i *Instance) KillHeld() bool { return i.KillRequested && !i.KillHeldSince.IsZero() }

// Health is the latest health check result of an instance's one health check.
type Health struct {
	Alive               bool
	ConsecutiveFailures int
	FirstSuccess        time.Time
	LastSuccess         time.Time
	LastFailure         time.Time
	LastFailureCause    string
}

// Clone returns a deep copy.
func (i *Instance) Clone() *Instance {
	c := *i
	c.Ports = append([]int(nil), i.Ports...)
	c.IPAddresses = append([]string(nil), i.IPAddresses...)
	if i.Placement.Attributes != nil {
		c.Placement.Attributes = make(map[string]string, len(i.Placement.Attributes))
		for k, v := range i.Placement.Attributes {
			c.Placement.Attributes[k] = v
		}
	}
	if i.Health != nil {
		h := *i.Health
		c.Health = &h
	}
	return &c
}

// Launched reports whether a task was sent to Mesos for the instance.
func (i *Instance) Launched() bool { return i.State != Scheduled }

// IsRunning reports whether the task runs (TASK_RUNNING and no kill asked for).
func (i *Instance) IsRunning() bool { return i.State == Running && !i.KillRequested }

// IsStaged reports whether the task was launched and has not started running yet.
func (i *Instance) IsStaged() bool {
	return (i.State == Staging || i.State == Starting) && !i.KillRequested
}

// Healthy reports whether the instance counts as healthy: running and, when the app has a
// health check, with a passing result (no result yet counts as not healthy, as clients expect).
func (i *Instance) Healthy(hasChecks bool) bool {
	if !i.IsRunning() {
		return false
	}
	if !hasChecks {
		return true
	}
	return i.Health != nil && i.Health.Alive
}

// Unhealthy reports whether a running instance has a failing health check result.
func (i *Instance) Unhealthy() bool {
	return i.IsRunning() && i.Health != nil && !i.Health.Alive
}

// Active reports whether the instance counts toward the app's instances: not asked to die and
// not an unreachable instance that has been given up on (inactiveAfter elapsed at now).
func (i *Instance) Active(now time.Time, inactiveAfter time.Duration, unreachableDisabled bool) bool {
	if i.KillRequested {
		return false
	}
	if i.State == Unreachable && !unreachableDisabled && !i.UnreachableSince.IsZero() &&
		now.Sub(i.UnreachableSince) >= inactiveAfter {
		return false
	}
	return true
}

// Started is when the task started running, or when it was staged or scheduled: its age for the
// kill order.
func (i *Instance) Started() time.Time {
	switch {
	case !i.StartedAt.IsZero():
		return i.StartedAt
	case !i.StagedAt.IsZero():
		return i.StagedAt
	}
	return i.ScheduledAt
}

// killRank orders instances by how readily they are killed: those that never ran or cannot be
// reached go before running ones, unhealthy ones before healthy ones.
func (i *Instance) killRank(hasChecks bool) int {
	switch {
	case i.State == Scheduled:
		return 0
	case i.State == Unreachable:
		return 1
	case i.State != Running:
		return 2
	case hasChecks && !i.Healthy(true):
		return 3
	}
	return 4
}

// KillOrder sorts instances into the order in which they should be killed when an app has too
// many: instances that are not up first (scheduled, unreachable, staging, unhealthy), then by
// killSelection: YOUNGEST_FIRST kills the most recently started first, OLDEST_FIRST the
// oldest. It sorts in place and returns its argument.
func KillOrder(list []*Instance, oldestFirst, hasChecks bool) []*Instance {
	sort.SliceStable(list, func(a, b int) bool {
		ra, rb := list[a].killRank(hasChecks), list[b].killRank(hasChecks)
		if ra != rb {
			return ra < rb
		}
		ta, tb := list[a].Started(), list[b].Started()
		if oldestFirst {
			return ta.Before(tb)
		}
		return ta.After(tb)
	})
	return list
}
