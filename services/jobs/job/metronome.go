package job

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
)

// Metronome's defaults (dcos/metronome JobRunSpec, ScheduleSpec, RestartSpec and the Play JSON
// formats in api/v1/models).
const (
	DefaultCpus                    = 1.0
	DefaultMem                     = 128.0
	DefaultDisk                    = 0.0
	DefaultMaxLaunchDelay          = 3600
	DefaultTimezone                = "UTC"
	DefaultStartingDeadlineSeconds = 900
	DefaultImageKind               = ImageKindDocker
)

// Restart policies.
const (
	RestartNever     = "NEVER"
	RestartOnFailure = "ON_FAILURE"
)

// Concurrency policies of a schedule. Replace is a Strata addition: stop the active run, then
// start the new one.
const (
	ConcurrencyAllow   = "ALLOW"
	ConcurrencyForbid  = "FORBID"
	ConcurrencyReplace = "REPLACE"
)

// Catch-up policies of a schedule (a Strata field): what to do with ticks that fell due while no
// leader was running. Both only look at ticks within startingDeadlineSeconds of now; older ticks
// are always skipped. RunOnce (the default) starts one run for the latest missed tick, Skip
// starts none.
const (
	CatchUpSkip    = "SKIP"
	CatchUpRunOnce = "RUN_ONCE"
)

// Constraint operators of Metronome's placement.
const (
	OperatorIs     = "IS"
	OperatorEq     = "EQ"
	OperatorLike   = "LIKE"
	OperatorUnlike = "UNLIKE"
)

// Network modes.
const (
	NetworkHost      = "host"
	NetworkContainer = "container"
	NetworkBridge    = "container/bridge"
)

// Volume modes.
const (
	VolumeRO = "RO"
	VolumeRW = "RW"
)

// UCR image kinds.
const (
	ImageKindDocker = "docker"
	ImageKindAppc   = "appc"
)

// JobSpec is a Metronome job (POST /v1/jobs, GET /v1/jobs/{id}). Schedules is only read from
// /v0/scheduled-jobs bodies and only written with ?embed=schedules.
//
// After DecodeJobSpec every collection is non-nil, so the JSON shows [] and {} as Metronome does.
type JobSpec struct {
	ID           string            `json:"id"`
	Description  string            `json:"description,omitempty"`
	Labels       map[string]string `json:"labels"`
	Dependencies []Dependency      `json:"dependencies"`
	Run          RunSpec           `json:"run"`
	Schedules    []ScheduleSpec    `json:"schedules,omitempty"`
}

// Dependency names a job that must have succeeded before this one runs.
type Dependency struct {
	ID string `json:"id"`
}

// RunSpec is Metronome's `run` object.
type RunSpec struct {
	Cmd                        string               `json:"cmd,omitempty"`
	Args                       []string             `json:"args,omitempty"`
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
	Placement                  Placement            `json:"placement"`
	MaxLaunchDelay             int64                `json:"maxLaunchDelay"`
	TaskKillGracePeriodSeconds *float64             `json:"taskKillGracePeriodSeconds,omitempty"`
	Restart                    RestartSpec          `json:"restart"`
}

// EnvValue is one env entry: a plain string, or a reference to a secret of the job
// (`{"secret": "<name in secrets>"}`).
type EnvValue struct {
	Value  string
	Secret string
}

// MarshalJSON writes a string, or {"secret": name}.
func (e EnvValue) MarshalJSON() ([]byte, error) {
	if e.Secret != "" {
		return json.Marshal(map[string]string{"secret": e.Secret})
	}
	return json.Marshal(e.Value)
}

// UnmarshalJSON reads a string or {"secret": name}.
func (e *EnvValue) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '{' {
		var ref struct {
			Secret *string `json:"secret"`
		}
		if err := json.Unmarshal(b, &ref); err != nil {
			return err
		}
		if ref.Secret == nil || *ref.Secret == "" {
			return &json.UnmarshalTypeError{Value: "object without secret", Type: envValueType}
		}
		*e = EnvValue{Secret: *ref.Secret}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	*e = EnvValue{Value: s}
	return nil
}

// SecretDef is one entry of `secrets`: where the secret comes from.
type SecretDef struct {
	Source string `json:"source"`
}

// Artifact is a URI the Mesos fetcher downloads into the sandbox. Metronome's default for
// extract is true (the Play format), unlike Chronos' fetch.
type Artifact struct {
	URI        string `json:"uri"`
	Executable bool   `json:"executable"`
	Extract    bool   `json:"extract"`
	Cache      bool   `json:"cache"`
}

// UnmarshalJSON applies Metronome's default extract=true to an absent field.
func (a *Artifact) UnmarshalJSON(b []byte) error {
	type plain Artifact
	p := plain{Extract: true}
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*a = Artifact(p)
	return nil
}

// DockerSpec runs the job in the Docker containerizer.
type DockerSpec struct {
	Image          string      `json:"image"`
	ForcePullImage bool        `json:"forcePullImage"`
	Privileged     bool        `json:"privileged"`
	Parameters     []Parameter `json:"parameters"`
}

// Parameter is a docker run option (`--key=value`).
type Parameter struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// UcrSpec runs the job in the Mesos containerizer (Universal Container Runtime).
type UcrSpec struct {
	Image      ImageSpec `json:"image"`
	Privileged bool      `json:"privileged"`
}

// ImageSpec is the image of a UCR container.
type ImageSpec struct {
	ID        string `json:"id"`
	Kind      string `json:"kind"`
	ForcePull bool   `json:"forcePull"`
}

// UnmarshalJSON applies the default kind "docker" to an absent field.
func (i *ImageSpec) UnmarshalJSON(b []byte) error {
	type plain ImageSpec
	p := plain{Kind: DefaultImageKind}
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*i = ImageSpec(p)
	return nil
}

// Network is one network the job's container joins.
type Network struct {
	Name   string            `json:"name,omitempty"`
	Mode   string            `json:"mode"`
	Labels map[string]string `json:"labels"`
}

// Volume is a host path volume ({containerPath, hostPath, mode}) or a file-based secret volume
// ({containerPath, secret}).
type Volume struct {
	ContainerPath string `json:"containerPath"`
	HostPath      string `json:"hostPath,omitempty"`
	Mode          string `json:"mode,omitempty"`
	Secret        string `json:"secret,omitempty"`
}

// Placement holds the object form of constraints.
type Placement struct {
	Constraints []Constraint `json:"constraints"`
}

// Constraint restricts the agents a job's task may run on.
type Constraint struct {
	Attribute string `json:"attribute"`
	Operator  string `json:"operator"`
	Value     string `json:"value,omitempty"`
}

// RestartSpec says what happens when the job's task fails. ActiveDeadlineSeconds is measured
// from the start of the run; nil means no deadline (a 0 on input means the same).
type RestartSpec struct {
	Policy                string `json:"policy"`
	ActiveDeadlineSeconds *int64 `json:"activeDeadlineSeconds,omitempty"`
}

// ScheduleSpec is a Metronome schedule (/v1/jobs/{id}/schedules). CatchUp is a Strata field;
// NextRunAt is only written in responses (the service fills it in).
type ScheduleSpec struct {
	ID                      string `json:"id"`
	Cron                    string `json:"cron"`
	Timezone                string `json:"timezone"`
	StartingDeadlineSeconds int64  `json:"startingDeadlineSeconds"`
	ConcurrencyPolicy       string `json:"concurrencyPolicy"`
	Enabled                 bool   `json:"enabled"`
	CatchUp                 string `json:"catchUp"`
	NextRunAt               string `json:"nextRunAt,omitempty"`
}

// UnmarshalJSON applies Metronome's defaults to absent fields (enabled true, timezone UTC,
// startingDeadlineSeconds 900, concurrencyPolicy ALLOW, catchUp RUN_ONCE). Zero values a client
// sends explicitly are turned into defaults by Normalize.
func (s *ScheduleSpec) UnmarshalJSON(b []byte) error {
	type plain ScheduleSpec
	p := plain(NewScheduleSpec())
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*s = ScheduleSpec(p)
	return nil
}

// NewScheduleSpec returns a schedule holding every default.
func NewScheduleSpec() ScheduleSpec {
	return ScheduleSpec{
		Timezone:                DefaultTimezone,
		StartingDeadlineSeconds: DefaultStartingDeadlineSeconds,
		ConcurrencyPolicy:       ConcurrencyAllow,
		Enabled:                 true,
		CatchUp:                 CatchUpRunOnce,
	}
}

// NewRunSpec returns a run spec holding Metronome's defaults.
func NewRunSpec() RunSpec {
	return RunSpec{
		Cpus:           DefaultCpus,
		Mem:            DefaultMem,
		Disk:           DefaultDisk,
		MaxLaunchDelay: DefaultMaxLaunchDelay,
		Restart:        RestartSpec{Policy: RestartNever},
	}
}

// UnmarshalJSON applies Metronome's defaults to absent fields of run.
func (r *RunSpec) UnmarshalJSON(b []byte) error {
	type plain RunSpec
	p := plain(NewRunSpec())
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*r = RunSpec(p)
	return nil
}

// UnmarshalJSON applies the default policy NEVER to an absent field.
func (r *RestartSpec) UnmarshalJSON(b []byte) error {
	type plain RestartSpec
	p := plain{Policy: RestartNever}
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*r = RestartSpec(p)
	return nil
}

// DecodeJobSpec reads a Metronome job body (POST /v1/jobs, PUT /v1/jobs/{id}, and the
// /v0/scheduled-jobs form with embedded schedules): absent and null fields take Metronome's
// defaults, unknown fields are ignored, and the result is normalized (see Normalize). It still
// needs Validate. Errors are *InvalidJSONError (400) or *ValidationError (422, a value of the
// wrong type).
func DecodeJobSpec(body []byte) (*JobSpec, error) {
	if err := checkObject(body); err != nil {
		return nil, err
	}
	if !hasRun(body) {
		return nil, &ValidationError{Details: []Detail{{Path: "/run", Errors: []string{"error.path.missing"}}}}
	}
	var spec JobSpec
	if err := json.Unmarshal(body, &spec); err != nil {
		return nil, decodeError(err)
	}
	spec.Normalize()
	return &spec, nil
}

// DecodeScheduleSpec reads a Metronome schedule body (POST /v1/jobs/{id}/schedules, PUT
// /v1/jobs/{id}/schedules/{sid}), applies defaults and normalizes it. It still needs Validate.
func DecodeScheduleSpec(body []byte) (*ScheduleSpec, error) {
	if err := checkObject(body); err != nil {
		return nil, err
	}
	var s ScheduleSpec
	if err := json.Unmarshal(body, &s); err != nil {
		return nil, decodeError(err)
	}
	s.Normalize()
	return &s, nil
}

// hasRun reports whether body names a run object at all (an absent run is a validation error,
// not a run full of defaults).
func hasRun(body []byte) bool {
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) != nil {
		return false
	}
	for k, v := range m {
		if strings.EqualFold(k, "run") && !isNull(v) {
			return true
		}
	}
	return false
}

// checkObject reports a body that is not a JSON object.
func checkObject(body []byte) error {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return &InvalidJSONError{Err: errors.New("empty body")}
	}
	if !json.Valid(trimmed) {
		var v any
		return &InvalidJSONError{Err: json.Unmarshal(trimmed, &v)}
	}
	if trimmed[0] != '{' {
		return &InvalidJSONError{Err: errNotObject}
	}
	return nil
}

func isNull(v json.RawMessage) bool { return bytes.Equal(bytes.TrimSpace(v), []byte("null")) }

// Normalize turns a decoded job into its canonical form: collections are non-nil, enumerations
// are upper case (network and image kinds lower case), the zeros clients send for unset values
// take their defaults (maxLaunchDelay 0 → 3600, restart.activeDeadlineSeconds 0 → none) and an
// empty args list is dropped. Schedules are normalized with ScheduleSpec.Normalize.
func (s *JobSpec) Normalize() {
	if s.Labels == nil {
		s.Labels = map[string]string{}
	}
	if s.Dependencies == nil {
		s.Dependencies = []Dependency{}
	}
	s.Run.Normalize()
	for i := range s.Schedules {
		s.Schedules[i].Normalize()
	}
}

// Normalize is JobSpec.Normalize for the run object alone.
func (r *RunSpec) Normalize() {
	if len(r.Args) == 0 {
		r.Args = nil
	}
	if r.Env == nil {
		r.Env = map[string]EnvValue{}
	}
	if r.Secrets == nil {
		r.Secrets = map[string]SecretDef{}
	}
	if r.Artifacts == nil {
		r.Artifacts = []Artifact{}
	}
	if r.Networks == nil {
		r.Networks = []Network{}
	}
	for i := range r.Networks {
		r.Networks[i].Mode = strings.ToLower(r.Networks[i].Mode)
		if r.Networks[i].Labels == nil {
			r.Networks[i].Labels = map[string]string{}
		}
	}
	if r.Volumes == nil {
		r.Volumes = []Volume{}
	}
	for i := range r.Volumes {
		r.Volumes[i].Mode = strings.ToUpper(r.Volumes[i].Mode)
	}
	if r.Placement.Constraints == nil {
		r.Placement.Constraints = []Constraint{}
	}
	for i := range r.Placement.Constraints {
		r.Placement.Constraints[i].Operator = strings.ToUpper(r.Placement.Constraints[i].Operator)
	}
	if r.Docker != nil && r.Docker.Parameters == nil {
		r.Docker.Parameters = []Parameter{}
	}
	if r.Ucr != nil {
		r.Ucr.Image.Kind = strings.ToLower(r.Ucr.Image.Kind)
		if r.Ucr.Image.Kind == "" {
			r.Ucr.Image.Kind = DefaultImageKind
		}
	}
	if r.MaxLaunchDelay == 0 {
		r.MaxLaunchDelay = DefaultMaxLaunchDelay
	}
	r.Restart.Policy = strings.ToUpper(r.Restart.Policy)
	if r.Restart.Policy == "" {
		r.Restart.Policy = RestartNever
	}
	if d := r.Restart.ActiveDeadlineSeconds; d != nil && *d == 0 {
		r.Restart.ActiveDeadlineSeconds = nil
	}
}

// Normalize turns the zeros clients send for unset values into defaults (timezone "" → UTC,
// startingDeadlineSeconds 0 → 900, "" policies → ALLOW and RUN_ONCE), upper-cases the policies
// and drops nextRunAt, which is only ever written by the service.
func (s *ScheduleSpec) Normalize() {
	s.NextRunAt = ""
	s.ID = strings.TrimSpace(s.ID)
	s.Cron = strings.TrimSpace(s.Cron)
	s.Timezone = strings.TrimSpace(s.Timezone)
	if s.Timezone == "" {
		s.Timezone = DefaultTimezone
	}
	if s.StartingDeadlineSeconds == 0 {
		s.StartingDeadlineSeconds = DefaultStartingDeadlineSeconds
	}
	s.ConcurrencyPolicy = strings.ToUpper(strings.TrimSpace(s.ConcurrencyPolicy))
	if s.ConcurrencyPolicy == "" {
		s.ConcurrencyPolicy = ConcurrencyAllow
	}
	s.CatchUp = strings.ToUpper(strings.TrimSpace(s.CatchUp))
	if s.CatchUp == "" {
		s.CatchUp = CatchUpRunOnce
	}
}
