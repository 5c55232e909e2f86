package runs

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Status is a run's status, as Metronome names them, plus SKIPPED for a
// tick recorded as not run.
type Status string

// Run statuses.
const (
	Initial  Status = "INITIAL"  // persisted, no task launched yet
	Starting Status = "STARTING" // a task is launched, not running yet
	Active   Status = "ACTIVE"   // a task runs
	Success  Status = "SUCCESS"
	Failed   Status = "FAILED"
	Skipped  Status = "SKIPPED"
)

// Done reports whether the status is final.
func (s Status) Done() bool { return s == Success || s == Failed || s == Skipped }

// Trigger says what made a run.
const (
	TriggerSchedule   = "schedule"
	TriggerManual     = "manual"
	TriggerDependency = "dependency"
)

// Task is one attempt of a run.
type Task struct {
	ID          string     `json:"id"`
	Status      string     `json:"status"` // TASK_*
	AgentID     string     `json:"agentId,omitempty"`
	Host        string     `json:"host,omitempty"`
	StartedAt   *time.Time `json:"startedAt,omitempty"`
	CompletedAt *time.Time `json:"completedAt,omitempty"`
	Message     string     `json:"message,omitempty"`
	Reason      string     `json:"reason,omitempty"`
	// ExitStatus is the command's exit status when its executor reported
	// one ("Command exited with status 3").
	ExitStatus *int `json:"exitStatus,omitempty"`
	// Sandbox is the URL of the task's sandbox on its agent.
	Sandbox string `json:"sandbox,omitempty"`
}

// Run is one run of a job.
type Run struct {
	ID    string `json:"id"`
	JobID string `json:"jobId"`
	// Trigger is schedule, manual or dependency; ScheduleID names the
	// schedule of a scheduled run.
	Trigger    string `json:"trigger"`
	ScheduleID string `json:"scheduleId,omitempty"`
	// ScheduledAt is the tick a scheduled run is for.
	ScheduledAt *time.Time `json:"scheduledAt,omitempty"`
	Status      Status     `json:"status"`
	CreatedAt   time.Time  `json:"createdAt"`
	// StartedAt is when the first task ran.
	StartedAt   *time.Time `json:"startedAt,omitempty"`
	CompletedAt *time.Time `json:"completedAt,omitempty"`
	Tasks       []Task     `json:"tasks"`
	// Reason says why a run failed or was skipped.
	Reason string `json:"reason,omitempty"`
	// Arguments are appended to the job's command (Chronos' PUT
	// /job/{name}?arguments=).
	Arguments []string `json:"arguments,omitempty"`
	// StopReason is set once the run is being stopped: its task is killed
	// and the run fails with this reason.
	StopReason string `json:"stopReason,omitempty"`
	// RetryAt is when the next attempt may launch (restart backoff).
	RetryAt *time.Time `json:"retryAt,omitempty"`
	// Spec is the job's definition when the run was created: a later
	// update of the job does not change a run under way.
	Spec []byte `json:"spec,omitempty"`
}

// TaskID is the id of a run's attempt n (1-based).
func TaskID(jobID, runID string, attempt int) string {
	return fmt.Sprintf("%s_%s.%d", jobID, runID, attempt)
}

// ParseTaskID splits a task id into job id, run id and attempt.
func ParseTaskID(id string) (jobID, runID string, attempt int, err error) {
	dot := strings.LastIndexByte(id, '.')
	if dot < 0 {
		return "", "", 0, fmt.Errorf("runs: task id %q has no attempt", id)
	}
	attempt, err = strconv.Atoi(id[dot+1:])
	if err != nil || attempt < 1 {
		return "", "", 0, fmt.Errorf("runs: task id %q has no attempt", id)
	}
	rest := id[:dot]
	us := strings.LastIndexByte(rest, '_')
	if us <= 0 || us == len(rest)-1 {
		return "", "", 0, fmt.Errorf("runs: task id %q names no run", id)
	}
	return rest[:us], rest[us+1:], attempt, nil
}

// Current is the run's latest attempt, or nil.
func (r *Run) Current() *Task {
	if len(r.Tasks) == 0 {
		return nil
	}
	return &r.Tasks[len(r.Tasks)-1]
}

// Attempts is how many tasks the run has launched.
func (r *Run) Attempts() int { return len(r.Tasks) }

// Finish makes the run final.
func (r *Run) Finish(s Status, reason string, at time.Time) {
	r.Status, r.Reason = s, reason
	at = at.UTC()
	r.CompletedAt = &at
	r.RetryAt = nil
}

// Duration is how long a finished run took from creation to completion.
func (r *Run) Duration() time.Duration {
	if r.CompletedAt == nil {
		return 0
	}
	return r.CompletedAt.Sub(r.CreatedAt)
}

// ExitStatusOf reads the exit status out of a command executor's message
// ("Command exited with status 3"); ok is false when the message has none.
func ExitStatusOf(message string) (status int, ok bool) {
	const marker = "exited with status "
	i := strings.Index(message, marker)
	if i < 0 {
		return 0, false
	}
	rest := message[i+len(marker):]
	end := 0
	for end < len(rest) && rest[end] >= '0' && rest[end] <= '9' {
		end++
	}
	n, err := strconv.Atoi(rest[:end])
	if err != nil {
		return 0, false
	}
	return n, true
}
