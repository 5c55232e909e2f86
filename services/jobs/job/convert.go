package job

// FromMetronome builds a job from a Metronome job and its schedules (nil schedules: the ones
// embedded in spec, as /v0/scheduled-jobs sends them). spec and every schedule are normalized
// and validated first; the error is a *ValidationError whose schedule paths are
// /schedules/<index>/... in the order given.
//
// cmd becomes a shell command, args an argument vector; restart NEVER is 0 retries and
// ON_FAILURE is RetryUntilDeadline (relaunch until restart.activeDeadlineSeconds).
func FromMetronome(spec JobSpec, schedules []ScheduleSpec) (*Job, error) {
	return fromMetronome(spec, schedules, true)
}

func fromMetronome(spec JobSpec, schedules []ScheduleSpec, checkID bool) (*Job, error) {
	if schedules == nil {
		schedules = spec.Schedules
	}
	spec = cloneSpec(spec)
	spec.Schedules = cloneSlice(schedules)
	spec.Normalize()
	if err := spec.validate(checkID); err != nil {
		return nil, err
	}
	r := spec.Run
	j := &Job{
		ID:          spec.ID,
		Description: spec.Description,
		Labels:      spec.Labels,
		Run: Run{
			Cmd:                        r.Cmd,
			Args:                       r.Args,
			Shell:                      r.Cmd != "",
			Cpus:                       r.Cpus,
			Mem:                        r.Mem,
			Disk:                       r.Disk,
			Gpus:                       r.Gpus,
			User:                       r.User,
			Env:                        r.Env,
			Secrets:                    r.Secrets,
			Artifacts:                  r.Artifacts,
			Docker:                     r.Docker,
			Ucr:                        r.Ucr,
			Networks:                   r.Networks,
			Volumes:                    r.Volumes,
			Constraints:                r.Placement.Constraints,
			MaxLaunchDelay:             r.MaxLaunchDelay,
			TaskKillGracePeriodSeconds: r.TaskKillGracePeriodSeconds,
			ActiveDeadlineSeconds:      r.Restart.ActiveDeadlineSeconds,
		},
		Schedules: make([]Schedule, 0, len(spec.Schedules)),
		Parents:   make([]string, 0, len(spec.Dependencies)),
		CreatedBy: CreatedByMetronome,
	}
	if r.Restart.Policy == RestartOnFailure {
		j.Retries = RetryUntilDeadline
	}
	for _, d := range spec.Dependencies {
		j.Parents = append(j.Parents, d.ID)
	}
	for _, s := range spec.Schedules {
		j.Schedules = append(j.Schedules, FromScheduleSpec(s))
	}
	return j, nil
}

// FromScheduleSpec converts one (normalized, validated) Metronome schedule.
func FromScheduleSpec(s ScheduleSpec) Schedule {
	return Schedule{
		ID:                      s.ID,
		Cron:                    s.Cron,
		Timezone:                s.Timezone,
		StartingDeadlineSeconds: s.StartingDeadlineSeconds,
		ConcurrencyPolicy:       s.ConcurrencyPolicy,
		CatchUp:                 s.CatchUp,
		Enabled:                 s.Enabled,
	}
}

// Metronome is the job as /v1/jobs shows it (without schedules; see MetronomeSchedules). A
// shell command is cmd; a command without shell is args (the executable first); retries other
// than 0 show as restart policy ON_FAILURE. Chronos-only fields (owner, async, counters, ...) do
// not show.
func (j *Job) Metronome() JobSpec {
	c := j.Clone()
	r := c.Run
	spec := JobSpec{
		ID:           c.ID,
		Description:  c.Description,
		Labels:       c.Labels,
		Dependencies: make([]Dependency, 0, len(c.Parents)),
		Run: RunSpec{
			Cpus:                       r.Cpus,
			Mem:                        r.Mem,
			Disk:                       r.Disk,
			Gpus:                       r.Gpus,
			User:                       r.User,
			Env:                        r.Env,
			Secrets:                    r.Secrets,
			Artifacts:                  r.Artifacts,
			Docker:                     r.Docker,
			Ucr:                        r.Ucr,
			Networks:                   r.Networks,
			Volumes:                    r.Volumes,
			Placement:                  Placement{Constraints: r.Constraints},
			MaxLaunchDelay:             r.MaxLaunchDelay,
			TaskKillGracePeriodSeconds: r.TaskKillGracePeriodSeconds,
			Restart:                    RestartSpec{Policy: RestartNever, ActiveDeadlineSeconds: r.ActiveDeadlineSeconds},
		},
	}
	switch {
	case r.Shell:
		spec.Run.Cmd = r.Cmd
	case r.Cmd != "":
		spec.Run.Args = append([]string{r.Cmd}, r.Args...)
	default:
		spec.Run.Args = r.Args
	}
	if c.Retries != 0 {
		spec.Run.Restart.Policy = RestartOnFailure
	}
	for _, p := range c.Parents {
		spec.Dependencies = append(spec.Dependencies, Dependency{ID: p})
	}
	spec.Normalize()
	return spec
}

// MetronomeSchedules is the job's schedules as /v1/jobs/{id}/schedules shows them: its cron
// schedules. ISO 8601 (Chronos) schedules cannot be written as cron and are left out. NextRunAt
// is left for the caller to fill in.
func (j *Job) MetronomeSchedules() []ScheduleSpec {
	out := []ScheduleSpec{}
	for _, s := range j.Schedules {
		if s.IsCron() {
			out = append(out, ToScheduleSpec(s))
		}
	}
	return out
}

// ToScheduleSpec converts one cron schedule into Metronome's form.
func ToScheduleSpec(s Schedule) ScheduleSpec {
	return ScheduleSpec{
		ID:                      s.ID,
		Cron:                    s.Cron,
		Timezone:                s.Timezone,
		StartingDeadlineSeconds: s.StartingDeadlineSeconds,
		ConcurrencyPolicy:       s.ConcurrencyPolicy,
		Enabled:                 s.Enabled,
		CatchUp:                 s.CatchUp,
	}
}

// cloneSpec deep-copies the parts of a spec that Normalize writes to.
func cloneSpec(s JobSpec) JobSpec {
	c := s
	c.Labels = cloneMap(s.Labels)
	c.Dependencies = cloneSlice(s.Dependencies)
	r := &c.Run
	r.Args = cloneSlice(r.Args)
	r.Env = cloneMap(r.Env)
	r.Secrets = cloneMap(r.Secrets)
	r.Artifacts = cloneSlice(r.Artifacts)
	r.Docker = cloneDocker(r.Docker)
	r.Ucr = clonePtr(r.Ucr)
	r.Networks = cloneNetworks(r.Networks)
	r.Volumes = cloneSlice(r.Volumes)
	r.Placement.Constraints = cloneSlice(r.Placement.Constraints)
	r.TaskKillGracePeriodSeconds = clonePtr(r.TaskKillGracePeriodSeconds)
	r.Restart.ActiveDeadlineSeconds = clonePtr(r.Restart.ActiveDeadlineSeconds)
	return c
}
