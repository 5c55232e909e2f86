package events

// Event types. All but TypeStreamGap are Marathon's; field names of the payloads follow
// Marathon's event bus documentation and its JSON writers (1.4-1.10). Publishing fills in
// eventType and timestamp, so the structs below do not carry them.
const (
	TypeAPIPost                   = "api_post_event"
	TypeStatusUpdate              = "status_update_event"
	TypeInstanceChanged           = "instance_changed_event"
	TypeUnknownInstanceTerminated = "unknown_instance_terminated_event"
	TypeInstanceHealthChanged     = "instance_health_changed_event"
	TypeAppTerminated             = "app_terminated_event"
	TypeAddHealthCheck            = "add_health_check_event"
	TypeRemoveHealthCheck         = "remove_health_check_event"
	TypeFailedHealthCheck         = "failed_health_check_event"
	TypeHealthStatusChanged       = "health_status_changed_event"
	TypeUnhealthyTaskKill         = "unhealthy_task_kill_event"
	TypeUnhealthyInstanceKill     = "unhealthy_instance_kill_event"
	TypeGroupChangeSuccess        = "group_change_success"
	TypeGroupChangeFailed         = "group_change_failed"
	TypeDeploymentSuccess         = "deployment_success"
	TypeDeploymentFailed          = "deployment_failed"
	TypeDeploymentInfo            = "deployment_info"
	TypeDeploymentStepSuccess     = "deployment_step_success"
	TypeDeploymentStepFailure     = "deployment_step_failure"
	TypeStreamAttached            = "event_stream_attached"
	TypeStreamDetached            = "event_stream_detached"
	// TypeStreamGap is Strata's: the stream could not continue from the client's Last-Event-ID.
	TypeStreamGap = "event_stream_gap"
)

// Instance conditions of instance_changed_event and unknown_instance_terminated_event.
const (
	ConditionCreated             = "Created"
	ConditionStaging             = "Staging"
	ConditionStarting            = "Starting"
	ConditionRunning             = "Running"
	ConditionKilling             = "Killing"
	ConditionKilled              = "Killed"
	ConditionFailed              = "Failed"
	ConditionFinished            = "Finished"
	ConditionError               = "Error"
	ConditionUnreachable         = "Unreachable"
	ConditionUnreachableInactive = "UnreachableInactive"
	ConditionGone                = "Gone"
	ConditionDropped             = "Dropped"
	ConditionUnknown             = "Unknown"
)

// APIPostEvent (api_post_event): an API request changed an app. AppDefinition is the app as
// GET /v2/apps/{id} shows it.
type APIPostEvent struct {
	ClientIP      string `json:"clientIp"`
	URI           string `json:"uri"`
	AppDefinition any    `json:"appDefinition"`
}

// IPAddress is one address of a task, as in task JSON.
type IPAddress struct {
	IPAddress string `json:"ipAddress"`
	Protocol  string `json:"protocol"` // IPv4 or IPv6
}

// StatusUpdateEvent (status_update_event): a task changed state. TaskStatus is the Mesos state
// (TASK_RUNNING, ...). The bus writes nil IPAddresses and Ports as empty arrays, never null.
type StatusUpdateEvent struct {
	SlaveID     string      `json:"slaveId"`
	TaskID      string      `json:"taskId"`
	TaskStatus  string      `json:"taskStatus"`
	Message     string      `json:"message"`
	AppID       string      `json:"appId"`
	Host        string      `json:"host"`
	IPAddresses []IPAddress `json:"ipAddresses"`
	Ports       []int       `json:"ports"`
	Version     string      `json:"version"`
}

// statusUpdateJSON is StatusUpdateEvent as the bus encodes it.
type statusUpdateJSON StatusUpdateEvent

// encodable writes nil IPAddresses and Ports as empty arrays, as Marathon does.
func (e StatusUpdateEvent) encodable() any {
	if e.IPAddresses == nil {
		e.IPAddresses = []IPAddress{}
	}
	if e.Ports == nil {
		e.Ports = []int{}
	}
	return statusUpdateJSON(e)
}

// InstanceChangedEvent (instance_changed_event): an instance changed its condition.
type InstanceChangedEvent struct {
	InstanceID     string `json:"instanceId"`
	Condition      string `json:"condition"`
	RunSpecID      string `json:"runSpecId"`
	AgentID        string `json:"agentId"`
	Host           string `json:"host"`
	RunSpecVersion string `json:"runSpecVersion"`
}

// UnknownInstanceTerminatedEvent (unknown_instance_terminated_event): a status update reported a
// terminal state for an instance the service does not know.
type UnknownInstanceTerminatedEvent struct {
	InstanceID string `json:"instanceId"`
	RunSpecID  string `json:"runSpecId"`
	Condition  string `json:"condition"`
}

// InstanceHealthChangedEvent (instance_health_changed_event): the health of an instance changed.
// Healthy is null while it is unknown.
type InstanceHealthChangedEvent struct {
	InstanceID     string `json:"instanceId"`
	RunSpecID      string `json:"runSpecId"`
	RunSpecVersion string `json:"runSpecVersion"`
	Healthy        *bool  `json:"healthy"`
}

// AppTerminatedEvent (app_terminated_event): an app was removed and all its instances are gone.
type AppTerminatedEvent struct {
	AppID string `json:"appId"`
}

// AddHealthCheckEvent (add_health_check_event): a health check of an app version started.
type AddHealthCheckEvent struct {
	AppID       string `json:"appId"`
	Version     string `json:"version"`
	HealthCheck any    `json:"healthCheck"`
}

// RemoveHealthCheckEvent (remove_health_check_event): a health check of an app stopped.
// Marathon's documentation shows the health check, its later writers only appId.
type RemoveHealthCheckEvent struct {
	AppID       string `json:"appId"`
	HealthCheck any    `json:"healthCheck,omitempty"`
}

// FailedHealthCheckEvent (failed_health_check_event): one health check attempt failed. Marathon
// 1.4+ puts the instance id in taskId.
type FailedHealthCheckEvent struct {
	AppID       string `json:"appId"`
	TaskID      string `json:"taskId"`
	HealthCheck any    `json:"healthCheck"`
}

// HealthStatusChangedEvent (health_status_changed_event): a task's health flipped. Marathon
// before 1.4 sent taskId, later versions instanceId; set either or both.
type HealthStatusChangedEvent struct {
	AppID      string `json:"appId"`
	InstanceID string `json:"instanceId,omitempty"`
	TaskID     string `json:"taskId,omitempty"`
	Version    string `json:"version"`
	Alive      bool   `json:"alive"`
}

// UnhealthyTaskKillEvent (unhealthy_task_kill_event): a task was killed for failing its health
// checks (Marathon before 1.4).
type UnhealthyTaskKillEvent struct {
	AppID   string `json:"appId"`
	TaskID  string `json:"taskId"`
	Version string `json:"version"`
	Reason  string `json:"reason"`
	Host    string `json:"host"`
	SlaveID string `json:"slaveId,omitempty"`
}

// UnhealthyInstanceKillEvent (unhealthy_instance_kill_event): an instance was killed for failing
// its health checks (Marathon 1.4+).
type UnhealthyInstanceKillEvent struct {
	AppID      string `json:"appId"`
	TaskID     string `json:"taskId"`
	InstanceID string `json:"instanceId"`
	Version    string `json:"version"`
	Reason     string `json:"reason"`
	Host       string `json:"host"`
	SlaveID    string `json:"slaveId,omitempty"`
}

// GroupChangeSuccessEvent (group_change_success): a group change was deployed.
type GroupChangeSuccessEvent struct {
	GroupID string `json:"groupId"`
	Version string `json:"version"`
}

// GroupChangeFailedEvent (group_change_failed): a group change failed.
type GroupChangeFailedEvent struct {
	GroupID string `json:"groupId"`
	Version string `json:"version"`
	Reason  string `json:"reason"`
}

// DeploymentSuccessEvent (deployment_success): a deployment finished. Plan is the deployment
// plan as /v2/deployments shows it (Marathon 1.4+ sends it; older versions only the id).
type DeploymentSuccessEvent struct {
	ID   string `json:"id"`
	Plan any    `json:"plan,omitempty"`
}

// DeploymentFailedEvent (deployment_failed): a deployment failed or was cancelled. Reason is a
// Strata addition (e.g. the progress deadline passed); Marathon clients ignore it.
type DeploymentFailedEvent struct {
	ID     string `json:"id"`
	Plan   any    `json:"plan,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// DeploymentInfoEvent (deployment_info): a deployment started a step. CurrentStep is
// {"actions": [{"action": ..., "app": ...}]}.
type DeploymentInfoEvent struct {
	Plan        any `json:"plan"`
	CurrentStep any `json:"currentStep"`
}

// DeploymentStepSuccessEvent (deployment_step_success): a deployment step finished.
type DeploymentStepSuccessEvent struct {
	Plan        any `json:"plan"`
	CurrentStep any `json:"currentStep"`
}

// DeploymentStepFailureEvent (deployment_step_failure): a deployment step failed.
type DeploymentStepFailureEvent struct {
	Plan        any `json:"plan"`
	CurrentStep any `json:"currentStep"`
}

// StreamAttachedEvent (event_stream_attached): an SSE client connected. RemoteAddress is its IP.
type StreamAttachedEvent struct {
	RemoteAddress string `json:"remoteAddress"`
}

// StreamDetachedEvent (event_stream_detached): an SSE client disconnected.
type StreamDetachedEvent struct {
	RemoteAddress string `json:"remoteAddress"`
}

// StreamGapEvent (event_stream_gap, Strata's): the stream cannot continue exactly after
// LastEventID (as the client sent it); the next event delivered is FirstAvailableID (or a later
// one when a filter skips it). Reason is GapEvicted, GapUnknown or GapInvalid. The client must
// re-read the state it caches.
type StreamGapEvent struct {
	LastEventID      string `json:"lastEventId"`
	FirstAvailableID uint64 `json:"firstAvailableId"`
	Reason           string `json:"reason"`
}

func (APIPostEvent) EventType() string                   { return TypeAPIPost }
func (StatusUpdateEvent) EventType() string              { return TypeStatusUpdate }
func (InstanceChangedEvent) EventType() string           { return TypeInstanceChanged }
func (UnknownInstanceTerminatedEvent) EventType() string { return TypeUnknownInstanceTerminated }
func (InstanceHealthChangedEvent) EventType() string     { return TypeInstanceHealthChanged }
func (AppTerminatedEvent) EventType() string             { return TypeAppTerminated }
func (AddHealthCheckEvent) EventType() string            { return TypeAddHealthCheck }
func (RemoveHealthCheckEvent) EventType() string         { return TypeRemoveHealthCheck }
func (FailedHealthCheckEvent) EventType() string         { return TypeFailedHealthCheck }
func (HealthStatusChangedEvent) EventType() string       { return TypeHealthStatusChanged }
func (UnhealthyTaskKillEvent) EventType() string         { return TypeUnhealthyTaskKill }
func (UnhealthyInstanceKillEvent) EventType() string     { return TypeUnhealthyInstanceKill }
func (GroupChangeSuccessEvent) EventType() string        { return TypeGroupChangeSuccess }
func (GroupChangeFailedEvent) EventType() string         { return TypeGroupChangeFailed }
func (DeploymentSuccessEvent) EventType() string         { return TypeDeploymentSuccess }
func (DeploymentFailedEvent) EventType() string          { return TypeDeploymentFailed }
func (DeploymentInfoEvent) EventType() string            { return TypeDeploymentInfo }
func (DeploymentStepSuccessEvent) EventType() string     { return TypeDeploymentStepSuccess }
func (DeploymentStepFailureEvent) EventType() string     { return TypeDeploymentStepFailure }
func (StreamAttachedEvent) EventType() string            { return TypeStreamAttached }
func (StreamDetachedEvent) EventType() string            { return TypeStreamDetached }
func (StreamGapEvent) EventType() string                 { return TypeStreamGap }

// The structs above never encode eventType or timestamp keys.
func (APIPostEvent) withoutEnvelope()                   {}
func (StatusUpdateEvent) withoutEnvelope()              {}
func (InstanceChangedEvent) withoutEnvelope()           {}
func (UnknownInstanceTerminatedEvent) withoutEnvelope() {}
func (InstanceHealthChangedEvent) withoutEnvelope()     {}
func (AppTerminatedEvent) withoutEnvelope()             {}
func (AddHealthCheckEvent) withoutEnvelope()            {}
func (RemoveHealthCheckEvent) withoutEnvelope()         {}
func (FailedHealthCheckEvent) withoutEnvelope()         {}
func (HealthStatusChangedEvent) withoutEnvelope()       {}
func (UnhealthyTaskKillEvent) withoutEnvelope()         {}
func (UnhealthyInstanceKillEvent) withoutEnvelope()     {}
func (GroupChangeSuccessEvent) withoutEnvelope()        {}
func (GroupChangeFailedEvent) withoutEnvelope()         {}
func (DeploymentSuccessEvent) withoutEnvelope()         {}
func (DeploymentFailedEvent) withoutEnvelope()          {}
func (DeploymentInfoEvent) withoutEnvelope()            {}
func (DeploymentStepSuccessEvent) withoutEnvelope()     {}
func (DeploymentStepFailureEvent) withoutEnvelope()     {}
func (StreamAttachedEvent) withoutEnvelope()            {}
func (StreamDetachedEvent) withoutEnvelope()            {}
func (StreamGapEvent) withoutEnvelope()                 {}
