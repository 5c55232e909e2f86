package api

import (
	"context"
	"math"
	"time"

	"strata/services/jobs/job"
	"strata/services/jobs/runs"
)

// metronomeTime is Metronome's timestamp format (Java's yyyy-MM-dd'T'HH:mm:ss.SSSZ), written in
// UTC: "2026-11-22T03:00:00.000+0000".
const metronomeTime = "2006-01-02T15:04:05.000-0700"

func ts(t time.Time) string { return t.UTC().Format(metronomeTime) }

// tsPtr is ts, or nil (JSON null) for a zero or absent time.
func tsPtr(t *time.Time) *string {
	if t == nil || t.IsZero() {
		return nil
	}
	s := ts(*t)
	return &s
}

// runJSON is Metronome's JobRun, with Strata's additions (trigger, scheduleId, scheduledAt,
// startedAt, reason, arguments), which Metronome clients ignore.
type runJSON struct {
	ID          string     `json:"id"`
	JobID       string     `json:"jobId"`
	Status      string     `json:"status"`
	CreatedAt   string     `json:"createdAt"`
	CompletedAt *string    `json:"completedAt"`
	Tasks       []taskJSON `json:"tasks"`
	Trigger     string     `json:"trigger,omitempty"`
	ScheduleID  string     `json:"scheduleId,omitempty"`
	ScheduledAt *string    `json:"scheduledAt,omitempty"`
	StartedAt   *string    `json:"startedAt,omitempty"`
	Reason      string     `json:"reason,omitempty"`
	Arguments   []string   `json:"arguments,omitempty"`
}

// taskJSON is one task of a run: Metronome's {id, startedAt, completedAt, status} plus where it
// ran and the URL of its sandbox.
type taskJSON struct {
	ID          string  `json:"id"`
	StartedAt   *string `json:"startedAt"`
	CompletedAt *string `json:"completedAt,omitempty"`
	Status      string  `json:"status"`
	AgentID     string  `json:"agentId,omitempty"`
	Host        string  `json:"host,omitempty"`
	Message     string  `json:"message,omitempty"`
	ExitStatus  *int    `json:"exitStatus,omitempty"`
	Sandbox     string  `json:"sandbox,omitempty"`
}

func renderRun(r *runs.Run) runJSON {
	out := runJSON{
		ID: r.ID, JobID: r.JobID, Status: string(r.Status), CreatedAt: ts(r.CreatedAt),
		CompletedAt: tsPtr(r.CompletedAt), Tasks: make([]taskJSON, 0, len(r.Tasks)),
		Trigger: r.Trigger, ScheduleID: r.ScheduleID, ScheduledAt: tsPtr(r.ScheduledAt),
		StartedAt: tsPtr(r.StartedAt), Reason: r.Reason, Arguments: r.Arguments,
	}
	for _, t := range r.Tasks {
		out.Tasks = append(out.Tasks, taskJSON{
			ID: t.ID, StartedAt: tsPtr(t.StartedAt), CompletedAt: tsPtr(t.CompletedAt), Status: t.Status,
			AgentID: t.AgentID, Host: t.Host, Message: t.Message, ExitStatus: t.ExitStatus, Sandbox: t.Sandbox,
		})
	}
	return out
}

func renderRuns(list []*runs.Run) []runJSON {
	out := make([]runJSON, 0, len(list))
	for _, r := range list {
		out = append(out, renderRun(r))
	}
	return out
}

// schedules is the job's cron schedules in Metronome's form, each with nextRunAt.
func (s *server) schedules(j *job.Job) []job.ScheduleSpec {
	out := j.MetronomeSchedules()
	for i := range out {
		out[i] = s.withNextRun(j.ID, out[i])
	}
	return out
}

func (s *server) withNextRun(jobID string, spec job.ScheduleSpec) job.ScheduleSpec {
	if next, ok := s.eng.NextRun(jobID, spec.ID); ok {
		spec.NextRunAt = ts(next)
	}
	return spec
}

// embed says what a job's answer carries beyond its spec (?embed=).
type embed struct {
	activeRuns, schedules, history, historySummary bool
}

// jobInfo is Metronome's JobInfo: the job and what was embedded. Its schedules field shadows the
// one of the spec.
type jobInfo struct {
	job.JobSpec
	Schedules      *[]job.ScheduleSpec `json:"schedules,omitempty"`
	ActiveRuns     *[]runJSON          `json:"activeRuns,omitempty"`
	History        *history            `json:"history,omitempty"`
	HistorySummary *historySummary     `json:"historySummary,omitempty"`
}

// historySummary is Metronome's, from the job's counters.
type historySummary struct {
	SuccessCount  int64   `json:"successCount"`
	FailureCount  int64   `json:"failureCount"`
	LastSuccessAt *string `json:"lastSuccessAt"`
	LastFailureAt *string `json:"lastFailureAt"`
}

// history is Metronome's history plus skippedRuns, the ticks that were not run and why.
type history struct {
	historySummary
	SuccessfulFinishedRuns []finishedRun `json:"successfulFinishedRuns"`
	FailedFinishedRuns     []finishedRun `json:"failedFinishedRuns"`
	SkippedRuns            []skippedRun  `json:"skippedRuns"`
}

// finishedRun is Metronome's {id, createdAt, finishedAt, tasks} plus what a user looks for in
// a history: how it ended (status, reason), when its task started, how long it took and where
// its output is (sandbox: the URL of its last task's sandbox, null without a task).
type finishedRun struct {
	ID              string   `json:"id"`
	CreatedAt       string   `json:"createdAt"`
	FinishedAt      string   `json:"finishedAt"`
	Tasks           []string `json:"tasks"`
	Status          string   `json:"status"`
	StartedAt       *string  `json:"startedAt"`
	DurationSeconds float64  `json:"durationSeconds"`
	Reason          string   `json:"reason"`
	// ExitStatus is the last task's exit status, when its executor reported one.
	ExitStatus  *int    `json:"exitStatus"`
	Sandbox     *string `json:"sandbox"`
	Trigger     string  `json:"trigger,omitempty"`
	ScheduledAt *string `json:"scheduledAt,omitempty"`
}

// skippedRun is a tick recorded as not run.
type skippedRun struct {
	ID          string  `json:"id"`
	ScheduleID  string  `json:"scheduleId,omitempty"`
	ScheduledAt *string `json:"scheduledAt"`
	Reason      string  `json:"reason"`
}

func summaryOf(j *job.Job) historySummary {
	return historySummary{
		SuccessCount: j.SuccessCount, FailureCount: j.ErrorCount,
		LastSuccessAt: tsPtr(&j.LastSuccess), LastFailureAt: tsPtr(&j.LastError),
	}
}

func renderFinished(r *runs.Run) finishedRun {
	out := finishedRun{
		ID: r.ID, CreatedAt: ts(r.CreatedAt), Tasks: make([]string, 0, len(r.Tasks)), Status: string(r.Status),
		StartedAt: tsPtr(r.StartedAt), Reason: r.Reason, Trigger: r.Trigger, ScheduledAt: tsPtr(r.ScheduledAt),
	}
	if r.CompletedAt != nil {
		out.FinishedAt = ts(*r.CompletedAt)
		out.DurationSeconds = math.Round(r.Duration().Seconds()*1000) / 1000
	}
	for _, t := range r.Tasks {
		out.Tasks = append(out.Tasks, t.ID)
	}
	if t := r.Current(); t != nil {
		out.ExitStatus = t.ExitStatus
		if t.Sandbox != "" {
			sb := t.Sandbox
			out.Sandbox = &sb
		}
	}
	return out
}

// historyOf reads a job's finished runs from the engine.
func (s *server) historyOf(ctx context.Context, j *job.Job) (*history, error) {
	list, err := s.eng.History(ctx, j.ID)
	if err != nil {
		return nil, err
	}
	h := &history{
		historySummary:         summaryOf(j),
		SuccessfulFinishedRuns: []finishedRun{}, FailedFinishedRuns: []finishedRun{}, SkippedRuns: []skippedRun{},
	}
	for _, r := range list {
		switch r.Status {
		case runs.Success:
			h.SuccessfulFinishedRuns = append(h.SuccessfulFinishedRuns, renderFinished(r))
		case runs.Failed:
			h.FailedFinishedRuns = append(h.FailedFinishedRuns, renderFinished(r))
		case runs.Skipped:
			h.SkippedRuns = append(h.SkippedRuns, skippedRun{ID: r.ID, ScheduleID: r.ScheduleID,
				ScheduledAt: tsPtr(r.ScheduledAt), Reason: r.Reason})
		}
	}
	return h, nil
}

// jobInfo renders a job with the embeds asked for.
func (s *server) jobInfo(ctx context.Context, j *job.Job, e embed) (jobInfo, error) {
	info := jobInfo{JobSpec: j.Metronome()}
	if e.schedules {
		list := s.schedules(j)
		info.Schedules = &list
	}
	if e.activeRuns {
		list := renderRuns(s.eng.ActiveRuns(j.ID))
		info.ActiveRuns = &list
	}
	if e.history {
		h, err := s.historyOf(ctx, j)
		if err != nil {
			return jobInfo{}, err
		}
		info.History = h
	}
	if e.historySummary {
		sum := summaryOf(j)
		info.HistorySummary = &sum
	}
	return info, nil
}
