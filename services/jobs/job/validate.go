package job

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"strata/services/jobs/schedule"
)

// jobIDPattern is Metronome's JobId rule (dcos/metronome model/JobId.scala): dot-separated
// segments of lowercase letters, digits and '-', each starting and ending with a letter or digit.
const jobIDPattern = `^(([a-z0-9]|[a-z0-9][a-z0-9\-]*[a-z0-9])\.)*([a-z0-9]|[a-z0-9][a-z0-9\-]*[a-z0-9])$`

// scheduleIDPattern is the schedule id rule of Metronome's schedulespec schema as its
// description states it: lowercase letters, digits and '-', not starting or ending with '-' (the
// schema's regex wrongly demands two characters; one is accepted here).
const scheduleIDPattern = `^([a-z0-9]|[a-z0-9][a-z0-9\-]*[a-z0-9])$`

var (
	jobIDRE      = regexp.MustCompile(jobIDPattern)
	scheduleIDRE = regexp.MustCompile(scheduleIDPattern)
)

// Messages of Metronome's validators.
const (
	msgCmdOrImage    = "Cmd, docker or ucr image must be specified"
	msgCmdAndArgs    = "Either cmd or args must be supplied, but not both"
	msgDockerAndUcr  = "Either Docker or UCR should be provided, but not both"
	msgNoTick        = "the expression does not fire within 5 years: the day of the month must exist in the selected months (e.g. not 30 February)"
	msgIDRule        = "must fully match regular expression '" + jobIDPattern + "'"
	msgScheduleIDRul = "must fully match regular expression '" + scheduleIDPattern + "'"
)

// ValidJobID reports whether id is a valid Metronome job id.
func ValidJobID(id string) bool { return jobIDRE.MatchString(id) }

// Validate checks a normalized job the way Metronome's validators and JSON schema do (with
// Strata's corrections, see the package documentation) and returns a *ValidationError (422)
// listing every violation with the JSON path of its field. Embedded schedules are checked too.
func (s *JobSpec) Validate() error { return s.validate(true) }

// ValidateExisting is Validate without the id rule: for PUT /v1/jobs/{id} of a job that already
// exists under an id Metronome would not accept (a Chronos name such as "Nightly_Report").
func (s *JobSpec) ValidateExisting() error { return s.validate(false) }

func (s *JobSpec) validate(checkID bool) error {
	var v violations
	switch {
	case s.ID == "":
		v.add("/id", "error.path.missing")
	case checkID && !jobIDRE.MatchString(s.ID):
		v.add("/id", "%s", msgIDRule)
	}
	seen := map[string]bool{}
	for i, d := range s.Dependencies {
		path := fmt.Sprintf("/dependencies/%d/id", i)
		switch {
		case d.ID == "":
			v.add(path, "error.path.missing")
		case d.ID == s.ID:
			v.add(path, "a job cannot depend on itself")
		case seen[d.ID]:
			v.add(path, "duplicate dependency '%s'", d.ID)
		case !jobIDRE.MatchString(d.ID) && !chronosNameRE.MatchString(d.ID):
			v.add(path, "%s", msgIDRule)
		}
		seen[d.ID] = true
	}
	s.Run.validate(&v, "/run")
	ids := map[string]bool{}
	for i := range s.Schedules {
		prefix := fmt.Sprintf("/schedules/%d", i)
		s.Schedules[i].validate(&v, prefix)
		if id := s.Schedules[i].ID; id != "" {
			if ids[id] {
				v.add(prefix+"/id", "duplicate schedule id '%s'", id)
			}
			ids[id] = true
		}
	}
	return v.err()
}

// Validate checks a normalized schedule (POST /v1/jobs/{id}/schedules); paths are relative to
// the schedule ("/cron", "/timezone").
func (s *ScheduleSpec) Validate() error {
	var v violations
	s.validate(&v, "")
	return v.err()
}

func (s *ScheduleSpec) validate(v *violations, prefix string) {
	switch {
	case s.ID == "":
		v.add(prefix+"/id", "error.path.missing")
	case !scheduleIDRE.MatchString(s.ID):
		v.add(prefix+"/id", "%s", msgScheduleIDRul)
	}
	validateCron(v, prefix, s.Cron, s.Timezone)
	if s.StartingDeadlineSeconds < 0 {
		v.add(prefix+"/startingDeadlineSeconds", "got %d, expected 0 or more", s.StartingDeadlineSeconds)
	}
	switch s.ConcurrencyPolicy {
	case ConcurrencyAllow, ConcurrencyForbid, ConcurrencyReplace:
	default:
		v.add(prefix+"/concurrencyPolicy", "'%s' is not a valid concurrency policy. Allowed values: ALLOW, FORBID, REPLACE", s.ConcurrencyPolicy)
	}
	switch s.CatchUp {
	case CatchUpSkip, CatchUpRunOnce:
	default:
		v.add(prefix+"/catchUp", "'%s' is not a valid catch-up policy. Allowed values: SKIP, RUN_ONCE", s.CatchUp)
	}
}

// validateCron checks a cron expression (after NormalizeCron) and its time zone with package
// schedule, and rejects expressions that name no existing date.
func validateCron(v *violations, prefix, cron, tz string) {
	if _, err := schedule.LoadLocation(tz); err != nil {
		v.add(prefix+"/timezone", "%s", fieldMessage(err))
		tz = DefaultTimezone
	}
	if cron == "" {
		v.add(prefix+"/cron", "error.path.missing")
		return
	}
	c, err := schedule.ParseCron(NormalizeCron(cron), tz)
	if err != nil {
		v.add(prefix+"/"+fieldOf(err, "cron"), "%s", fieldMessage(err))
		return
	}
	now := time.Now()
	if next, ok := c.Next(now); !ok || next.After(now.AddDate(cronHorizonYears, 0, 0)) {
		v.add(prefix+"/cron", "%s", msgNoTick)
	}
}

// cronHorizonYears bounds the search for a cron expression's next tick: one that does not fire
// within this many years (e.g. "0 0 30 2 *") is invalid.
const cronHorizonYears = 5

// fieldOf is the field a *schedule.FieldError names, else def.
func fieldOf(err error, def string) string {
	var fe *schedule.FieldError
	if errors.As(err, &fe) && fe.Field != "" {
		return fe.Field
	}
	return def
}

func fieldMessage(err error) string {
	var fe *schedule.FieldError
	if errors.As(err, &fe) && fe.Message != "" {
		return fe.Message
	}
	return err.Error()
}

func (r *RunSpec) validate(v *violations, p string) {
	hasImage := (r.Docker != nil && r.Docker.Image != "") || (r.Ucr != nil && r.Ucr.Image.ID != "")
	switch {
	case r.Cmd != "" && len(r.Args) > 0:
		v.add(p, "%s", msgCmdAndArgs)
	case r.Cmd == "" && len(r.Args) == 0 && !hasImage:
		v.add(p, "%s", msgCmdOrImage)
	}
	if r.Cmd != "" && strings.TrimSpace(r.Cmd) == "" {
		v.add(p+"/cmd", "must not be blank")
	}
	if r.Docker != nil && r.Ucr != nil {
		v.add(p, "%s", msgDockerAndUcr)
	}
	min := func(path string, got, want float64) {
		if got < want {
			v.add(p+path, "got %s, expected %s or more", fmtNum(got), fmtNum(want))
		}
	}
	min("/cpus", r.Cpus, 0.01)
	min("/mem", r.Mem, 32)
	min("/disk", r.Disk, 0)
	min("/gpus", float64(r.Gpus), 0)
	if r.Gpus > 0 {
		v.add(p+"/gpus", "GPU resources are not offered by Strata agents")
	}
	min("/maxLaunchDelay", float64(r.MaxLaunchDelay), 1)
	if g := r.TaskKillGracePeriodSeconds; g != nil {
		min("/taskKillGracePeriodSeconds", *g, 0)
	}
	switch r.Restart.Policy {
	case RestartNever, RestartOnFailure:
	default:
		v.add(p+"/restart/policy", "'%s' is not a valid restart policy. Allowed values: NEVER, ON_FAILURE", r.Restart.Policy)
	}
	if d := r.Restart.ActiveDeadlineSeconds; d != nil && *d < 0 {
		v.add(p+"/restart/activeDeadlineSeconds", "got %d, expected 0 or more", *d)
	}
	for _, k := range sortedKeys(r.Env) {
		if k == "" || strings.ContainsAny(k, "=\x00") {
			v.add(p+"/env/"+k, "must be a valid environment variable name")
		}
		if s := r.Env[k].Secret; s != "" {
			if _, ok := r.Secrets[s]; !ok {
				v.add(p+"/env/"+k, "references an undefined secret named '%s'", s)
			}
		}
	}
	for _, k := range sortedKeys(r.Secrets) {
		if strings.TrimSpace(r.Secrets[k].Source) == "" {
			v.add(p+"/secrets/"+k+"/source", "must not be empty")
		}
	}
	for i, a := range r.Artifacts {
		if strings.TrimSpace(a.URI) == "" {
			v.add(fmt.Sprintf("%s/artifacts/%d/uri", p, i), "must not be empty")
		}
	}
	if d := r.Docker; d != nil {
		if strings.TrimSpace(d.Image) == "" {
			v.add(p+"/docker/image", "must not be empty")
		}
		for i, prm := range d.Parameters {
			if prm.Key == "" {
				v.add(fmt.Sprintf("%s/docker/parameters/%d/key", p, i), "must not be empty")
			}
		}
	}
	if u := r.Ucr; u != nil {
		if strings.TrimSpace(u.Image.ID) == "" {
			v.add(p+"/ucr/image/id", "must not be empty")
		}
		if u.Image.Kind != ImageKindDocker && u.Image.Kind != ImageKindAppc {
			v.add(p+"/ucr/image/kind", "must be one of docker, appc")
		}
	}
	r.validateNetworks(v, p)
	r.validateVolumes(v, p)
	for i, c := range r.Placement.Constraints {
		validateConstraint(v, fmt.Sprintf("%s/placement/constraints/%d", p, i), c)
	}
}

func (r *RunSpec) validateNetworks(v *violations, p string) {
	for i, n := range r.Networks {
		path := fmt.Sprintf("%s/networks/%d", p, i)
		switch n.Mode {
		case NetworkHost:
			if n.Name != "" {
				v.add(path+"/name", "must be empty for host network")
			}
			if len(n.Labels) > 0 {
				v.add(path+"/labels", "must be empty for host network")
			}
		case NetworkBridge:
			if n.Name != "" {
				v.add(path+"/name", "must be empty for container/bridge networks")
			}
		case NetworkContainer:
			if n.Name == "" {
				v.add(path+"/name", "must not be empty for container networks")
			}
		default:
			v.add(path+"/mode", "'%s' is not a valid mode. Allowed values: host, container/bridge, container", n.Mode)
		}
	}
}

func (r *RunSpec) validateVolumes(v *violations, p string) {
	for i, vol := range r.Volumes {
		path := fmt.Sprintf("%s/volumes/%d", p, i)
		switch {
		case vol.ContainerPath == "":
			v.add(path+"/containerPath", "error.path.missing")
		case vol.Secret == "" && !strings.HasPrefix(vol.ContainerPath, "/"):
			v.add(path+"/containerPath", "must be an absolute path")
		}
		switch {
		case vol.Secret != "":
			if vol.HostPath != "" || vol.Mode != "" {
				v.add(path, "a secret volume has neither hostPath nor mode")
			}
			if _, ok := r.Secrets[vol.Secret]; !ok {
				v.add(path+"/secret", "references an undefined secret named '%s'", vol.Secret)
			}
		default:
			if vol.HostPath == "" {
				v.add(path+"/hostPath", "error.path.missing")
			}
			if vol.Mode != VolumeRO && vol.Mode != VolumeRW {
				v.add(path+"/mode", "must be one of RO, RW")
			}
		}
	}
}

// validateConstraint checks one placement constraint. IS is accepted (Metronome 0.6.18's schema
// wrongly rejected it); every operator needs a value, and LIKE/UNLIKE values must be regular
// expressions.
func validateConstraint(v *violations, path string, c Constraint) {
	if strings.TrimSpace(c.Attribute) == "" {
		v.add(path+"/attribute", "must not be empty")
	}
	switch c.Operator {
	case OperatorIs, OperatorEq:
		if c.Value == "" {
			v.add(path+"/value", "must not be empty for operator %s", c.Operator)
		}
	case OperatorLike, OperatorUnlike:
		if c.Value == "" {
			v.add(path+"/value", "must not be empty for operator %s", c.Operator)
		} else if _, err := regexp.Compile("^(?:" + c.Value + ")$"); err != nil {
			v.add(path+"/value", "'%s' is not a valid regular expression: %v", c.Value, err)
		}
	default:
		v.add(path+"/operator", "'%s' is not a valid operator. Allowed values: IS, EQ, LIKE, UNLIKE", c.Operator)
	}
}

func fmtNum(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
