package job

import "time"

// Creators: which API created a job.
const (
	CreatedByMetronome = "metronome"
	CreatedByChronos   = "chronos"
)

// ChronosScheduleID is the id of the ISO 8601 schedule a Chronos job carries.
const ChronosScheduleID = "chronos"

// RetryUntilDeadline in Job.Retries means "relaunch failed tasks until the run's
// ActiveDeadlineSeconds expires" (Metronome's ON_FAILURE).
const RetryUntilDeadline = -1

// Job is the one model behind both APIs: Metronome's /v1/jobs and Chronos' /v1/scheduler show
// the same set of Jobs, each through its own view (Metronome, MetronomeSchedules, Chronos).
//
// The JSON form is the storage form: it round-trips through encoding/json without loss
// (collections are never omitted, so nil and empty survive; timestamps must be in UTC).
type Job struct {
	// ID is the Metronome id or the Chronos name. Chronos names may hold characters Metronome ids
	// do not (upper case, '_', '#', blanks); such jobs keep their name as id and are still
	// reachable as /v1/jobs/{id}.
	ID          string            `json:"id"`
	Description string            `json:"description,omitempty"`
	Labels      map[string]string `json:"labels"`
	Run         Run               `json:"run"`
	// Schedules are cron-based (Metronome) or ISO 8601-based (Chronos), in any number; ids are
	// unique within the job.
	Schedules []Schedule `json:"schedules"`
	// Parents are Metronome dependencies and Chronos parents: the job runs once all of them
	// have succeeded since its last run.
	Parents []string `json:"parents"`
	// Retries is how often a failed task is relaunched within one run: Chronos' retries, 0 for
	// Metronome's NEVER and RetryUntilDeadline for ON_FAILURE.
	Retries   int    `json:"retries"`
	Owner     string `json:"owner,omitempty"`
	OwnerName string `json:"ownerName,omitempty"`
	// Disabled (Chronos) stops every run of the job, scheduled or triggered by parents.
	Disabled bool `json:"disabled,omitempty"`
	// Chronos holds the Chronos fields that have no Metronome counterpart.
	ChronosOptions ChronosOptions `json:"chronos"`

	// Server-maintained counters, shown by the Chronos view.
	SuccessCount           int64     `json:"successCount"`
	ErrorCount             int64     `json:"errorCount"`
	LastSuccess            time.Time `json:"lastSuccess,omitzero"`
	LastError              time.Time `json:"lastError,omitzero"`
	ErrorsSinceLastSuccess int64     `json:"errorsSinceLastSuccess"`

	CreatedBy string `json:"createdBy"`
}

// Run is what one run of the job launches.
//
// Command forms: with Shell, Cmd runs as `/bin/sh -c Cmd` (Args are kept but ignored, as in
// Chronos). Without Shell, Cmd (if set) is the executable and Args its arguments; with no Cmd,
// Args is the whole command line (Metronome's args, which a container image's entrypoint
// receives).
type Run struct {
	Cmd                        string               `json:"cmd,omitempty"`
	Args                       []string             `json:"args"`
	Shell                      bool                 `json:"shell"`
	Cpus                       float64              `json:"cpus"`
	Mem                        float64              `json:"mem"`
	Disk                       float64              `json:"disk"`
	Gpus                       int                  `json:"gpus"`
	User                       string               `json:"user,omitempty"`
	Env                        map[string]EnvValue  `json:"env"`
	Secrets                    map[string]SecretDef `json:"secrets"`
	Artifacts                  []Artifact           `json:"artifacts"`
	Docker                     *DockerSpec          `json:"docker,omitempty"`
	Ucr                        *UcrSpec             `json:"ucr,omitempty"`
	Networks                   []Network            `json:"networks"`
	Volumes                    []Volume             `json:"volumes"`
	Constraints                []Constraint         `json:"constraints"`
	MaxLaunchDelay             int64                `json:"maxLaunchDelay"`
	TaskKillGracePeriodSeconds *float64             `json:"taskKillGracePeriodSeconds,omitempty"`
	// ActiveDeadlineSeconds bounds a run (from its start) while failed tasks are relaunched;
	// nil means no bound.
	ActiveDeadlineSeconds *int64 `json:"activeDeadlineSeconds,omitempty"`
}

// Schedule is one trigger of a job: exactly one of Cron (Metronome, 5 fields or 6 with a
// year) and ISO8601 (Chronos, R[n]/[start]/period) is set.
type Schedule struct {
	ID      string `json:"id"`
	Cron    string `json:"cron,omitempty"`
	ISO8601 string `json:"iso8601,omitempty"`
	// Timezone is an IANA zone name. Cron schedules always have one (default UTC); an ISO 8601
	// schedule may leave it empty, meaning the offset written in its start time (else UTC).
	Timezone string `json:"timezone"`
	// StartingDeadlineSeconds is how late a run may still start; Chronos' epsilon.
	StartingDeadlineSeconds int64 `json:"startingDeadlineSeconds"`
	// Epsilon is the Chronos spelling of StartingDeadlineSeconds (e.g. "PT15M"), kept so the
	// Chronos view shows what the client sent; empty for Metronome schedules.
	Epsilon           string `json:"epsilon,omitempty"`
	ConcurrencyPolicy string `json:"concurrencyPolicy"`
	CatchUp           string `json:"catchUp"`
	Enabled           bool   `json:"enabled"`
}

// IsCron reports whether the schedule is a cron expression (else it is an ISO 8601 interval).
func (s Schedule) IsCron() bool { return s.Cron != "" }

// ChronosOptions are the Chronos job fields Metronome has no word for. Epsilon and Concurrent
// only matter for a job without an ISO 8601 schedule (a dependent job); otherwise the schedule's
// StartingDeadlineSeconds and ConcurrencyPolicy carry them.
type ChronosOptions struct {
	Epsilon           string `json:"epsilon,omitempty"`
	Concurrent        bool   `json:"concurrent,omitempty"`
	Async             bool   `json:"async,omitempty"`
	SoftError         bool   `json:"softError,omitempty"`
	HighPriority      bool   `json:"highPriority,omitempty"`
	DataJob           bool   `json:"dataJob,omitempty"`
	Executor          string `json:"executor,omitempty"`
	ExecutorFlags     string `json:"executorFlags,omitempty"`
	TaskInfoData      string `json:"taskInfoData,omitempty"`
	MaxCompletionTime int64  `json:"maxCompletionTime,omitempty"`
}

// ISOSchedule returns the job's first ISO 8601 schedule, if any.
func (j *Job) ISOSchedule() (Schedule, bool) {
	for _, s := range j.Schedules {
		if !s.IsCron() {
			return s, true
		}
	}
	return Schedule{}, false
}

// CronSchedules returns the job's cron schedules in order.
func (j *Job) CronSchedules() []Schedule {
	var out []Schedule
	for _, s := range j.Schedules {
		if s.IsCron() {
			out = append(out, s)
		}
	}
	return out
}

// Schedule returns the schedule with the given id.
func (j *Job) Schedule(id string) (Schedule, bool) {
	for _, s := range j.Schedules {
		if s.ID == id {
			return s, true
		}
	}
	return Schedule{}, false
}

// Clone returns a deep copy of j.
func (j *Job) Clone() *Job {
	c := *j
	c.Labels = cloneMap(j.Labels)
	c.Schedules = cloneSlice(j.Schedules)
	c.Parents = cloneSlice(j.Parents)
	c.Run = j.Run.clone()
	return &c
}

func (r Run) clone() Run {
	c := r
	c.Args = cloneSlice(r.Args)
	c.Env = cloneMap(r.Env)
	c.Secrets = cloneMap(r.Secrets)
	c.Artifacts = cloneSlice(r.Artifacts)
	c.Docker = cloneDocker(r.Docker)
	c.Ucr = clonePtr(r.Ucr)
	c.Networks = cloneNetworks(r.Networks)
	c.Volumes = cloneSlice(r.Volumes)
	c.Constraints = cloneSlice(r.Constraints)
	c.TaskKillGracePeriodSeconds = clonePtr(r.TaskKillGracePeriodSeconds)
	c.ActiveDeadlineSeconds = clonePtr(r.ActiveDeadlineSeconds)
	return c
}

func cloneDocker(d *DockerSpec) *DockerSpec {
	if d == nil {
		return nil
	}
	c := *d
	c.Parameters = cloneSlice(d.Parameters)
	return &c
}

func cloneNetworks(ns []Network) []Network {
	out := cloneSlice(ns)
	for i := range out {
		out[i].Labels = cloneMap(out[i].Labels)
	}
	return out
}

func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

func cloneSlice[T any](s []T) []T {
	if s == nil {
		return nil
	}
	return append(make([]T, 0, len(s)), s...)
}

func cloneMap[V any](m map[string]V) map[string]V {
	if m == nil {
		return nil
	}
	out := make(map[string]V, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
