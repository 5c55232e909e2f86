package job

import (
	"encoding/json"
	"strconv"
)

// FromChronos builds a job from a Chronos job hash. c is normalized and checked with
// Validate(ChronosAnyKind) first (the endpoint's own rule is the caller's: call
// c.Validate(ChronosScheduled) or c.Validate(ChronosDependent) before); errors are *ChronosError.
//
// The name becomes the id, the ISO 8601 schedule a Schedule with id "chronos" (epsilon as its
// starting deadline, concurrent as ALLOW and its absence as FORBID, catch-up RUN_ONCE), EQUALS
// constraints EQ, fetch entries artifacts, a DOCKER container Docker and a MESOS one UCR.
// strataCronSchedules, if present, become cron schedules. The counters are taken as given.
func FromChronos(c ChronosJob) (*Job, error) {
	c = cloneChronos(c)
	c.Normalize()
	if err := c.Validate(ChronosAnyKind); err != nil {
		return nil, err
	}
	j := &Job{
		ID:          c.Name,
		Description: c.Description,
		Labels:      map[string]string{},
		Run: Run{
			Cmd:            c.Command,
			Args:           c.Arguments,
			Shell:          c.Shell,
			Cpus:           c.Cpus,
			Mem:            c.Mem,
			Disk:           c.Disk,
			User:           c.RunAsUser,
			Env:            map[string]EnvValue{},
			Secrets:        map[string]SecretDef{},
			Artifacts:      make([]Artifact, 0, len(c.Fetch)),
			Networks:       []Network{},
			Volumes:        []Volume{},
			Constraints:    make([]Constraint, 0, len(c.Constraints)),
			MaxLaunchDelay: DefaultMaxLaunchDelay,
		},
		Schedules: []Schedule{},
		Parents:   cloneSlice(c.Parents),
		Retries:   c.Retries,
		Owner:     c.Owner,
		OwnerName: c.OwnerName,
		Disabled:  c.Disabled,
		ChronosOptions: ChronosOptions{
			Async:             c.Async,
			SoftError:         c.SoftError,
			HighPriority:      c.HighPriority,
			DataJob:           c.DataJob,
			Executor:          c.Executor,
			ExecutorFlags:     c.ExecutorFlags,
			TaskInfoData:      c.TaskInfoData,
			MaxCompletionTime: c.MaxCompletionTime,
		},
		SuccessCount:           c.SuccessCount,
		ErrorCount:             c.ErrorCount,
		ErrorsSinceLastSuccess: c.ErrorsSinceLastSuccess,
		CreatedBy:              CreatedByChronos,
	}
	if j.Parents == nil {
		j.Parents = []string{}
	}
	j.LastSuccess, _ = parseChronosTime(c.LastSuccess)
	j.LastError, _ = parseChronosTime(c.LastError)
	for _, e := range c.EnvironmentVariables {
		j.Run.Env[e.Name] = EnvValue{Value: e.Value}
	}
	for _, f := range c.Fetch {
		j.Run.Artifacts = append(j.Run.Artifacts, Artifact{URI: f.URI, Executable: f.Executable, Extract: f.Extract, Cache: f.Cache})
	}
	for _, con := range c.Constraints {
		op := con[1]
		if op == ChronosEquals {
			op = OperatorEq
		}
		j.Run.Constraints = append(j.Run.Constraints, Constraint{Attribute: con[0], Operator: op, Value: con[2]})
	}
	fromChronosContainer(&j.Run, c.Container)

	if c.Schedule != nil && *c.Schedule != "" {
		deadline, _ := epsilonSeconds(c.Epsilon)
		policy := ConcurrencyForbid
		if c.Concurrent {
			policy = ConcurrencyAllow
		}
		j.Schedules = append(j.Schedules, Schedule{
			ID:                      ChronosScheduleID,
			ISO8601:                 *c.Schedule,
			Timezone:                *c.ScheduleTimeZone,
			StartingDeadlineSeconds: deadline,
			Epsilon:                 c.Epsilon,
			ConcurrencyPolicy:       policy,
			CatchUp:                 CatchUpRunOnce,
			Enabled:                 true,
		})
	} else {
		if c.Epsilon != DefaultEpsilon {
			j.ChronosOptions.Epsilon = c.Epsilon
		}
		j.ChronosOptions.Concurrent = c.Concurrent
	}
	for i, s := range c.StrataCronSchedules {
		if _, dup := j.Schedule(s.ID); dup {
			return nil, cerr("strataCronSchedules["+strconv.Itoa(i)+"].id", "duplicate schedule id '%s'", s.ID)
		}
		j.Schedules = append(j.Schedules, FromScheduleSpec(s))
	}
	return j, nil
}

func fromChronosContainer(r *Run, c *ChronosContainer) {
	if c == nil {
		return
	}
	switch c.Type {
	case ChronosMesos:
		r.Ucr = &UcrSpec{Image: ImageSpec{ID: c.Image, Kind: ImageKindDocker, ForcePull: c.ForcePullImage}}
	default:
		r.Docker = &DockerSpec{Image: c.Image, ForcePullImage: c.ForcePullImage, Parameters: cloneSlice(c.Parameters)}
	}
	switch c.Network {
	case ChronosBridge:
		r.Networks = append(r.Networks, Network{Mode: NetworkBridge, Labels: map[string]string{}})
	case ChronosUser:
		for _, n := range c.NetworkInfos {
			labels := map[string]string{}
			for _, l := range n.Labels {
				labels[l.Key] = l.Value
			}
			r.Networks = append(r.Networks, Network{Name: n.Name, Mode: NetworkContainer, Labels: labels})
		}
	}
	for _, v := range c.Volumes {
		r.Volumes = append(r.Volumes, Volume{ContainerPath: v.ContainerPath, HostPath: v.HostPath, Mode: v.Mode})
	}
}

// Chronos is the job as /v1/scheduler shows it. schedule is the job's first ISO 8601 schedule;
// a job without one shows no schedule when it has parents and schedule "" otherwise, and its
// cron schedules (which Chronos cannot express) show in the Strata field strataCronSchedules.
// Metronome-only fields (labels, secrets, gpus, maxLaunchDelay, ...) do not show; env entries
// that reference secrets are left out.
func (j *Job) Chronos() ChronosJob {
	c := j.Clone()
	r := c.Run
	out := ChronosJob{
		Name:                   c.ID,
		Command:                r.Cmd,
		Arguments:              r.Args,
		Shell:                  r.Shell,
		Parents:                c.Parents,
		Epsilon:                c.ChronosOptions.Epsilon,
		Retries:                c.Retries,
		Owner:                  c.Owner,
		OwnerName:              c.OwnerName,
		Description:            c.Description,
		Async:                  c.ChronosOptions.Async,
		Disabled:               c.Disabled,
		Concurrent:             c.ChronosOptions.Concurrent,
		SoftError:              c.ChronosOptions.SoftError,
		HighPriority:           c.ChronosOptions.HighPriority,
		DataJob:                c.ChronosOptions.DataJob,
		Cpus:                   r.Cpus,
		Mem:                    r.Mem,
		Disk:                   r.Disk,
		Container:              toChronosContainer(r),
		EnvironmentVariables:   []ChronosEnv{},
		Fetch:                  make([]ChronosFetch, 0, len(r.Artifacts)),
		Constraints:            make([][]string, 0, len(r.Constraints)),
		RunAsUser:              r.User,
		Executor:               c.ChronosOptions.Executor,
		ExecutorFlags:          c.ChronosOptions.ExecutorFlags,
		TaskInfoData:           c.ChronosOptions.TaskInfoData,
		MaxCompletionTime:      c.ChronosOptions.MaxCompletionTime,
		SuccessCount:           c.SuccessCount,
		ErrorCount:             c.ErrorCount,
		LastSuccess:            FormatChronosTime(c.LastSuccess),
		LastError:              FormatChronosTime(c.LastError),
		ErrorsSinceLastSuccess: c.ErrorsSinceLastSuccess,
	}
	if iso, ok := c.ISOSchedule(); ok {
		out.Schedule, out.ScheduleTimeZone = &iso.ISO8601, &iso.Timezone
		out.Epsilon = iso.Epsilon
		if out.Epsilon == "" {
			out.Epsilon = FormatSeconds(iso.StartingDeadlineSeconds)
		}
		out.Concurrent = iso.ConcurrencyPolicy == ConcurrencyAllow
	}
	for _, k := range sortedKeys(r.Env) {
		if r.Env[k].Secret == "" {
			out.EnvironmentVariables = append(out.EnvironmentVariables, ChronosEnv{Name: k, Value: r.Env[k].Value})
		}
	}
	for _, a := range r.Artifacts {
		out.Fetch = append(out.Fetch, ChronosFetch{URI: a.URI, Executable: a.Executable, Cache: a.Cache, Extract: a.Extract})
	}
	for _, con := range r.Constraints {
		op := con.Operator
		if op == OperatorEq || op == OperatorIs {
			op = ChronosEquals
		}
		out.Constraints = append(out.Constraints, []string{con.Attribute, op, con.Value})
	}
	if crons := c.MetronomeSchedules(); len(crons) > 0 {
		out.StrataCronSchedules = crons
	}
	out.Normalize()
	return out
}

func toChronosContainer(r Run) *ChronosContainer {
	var c *ChronosContainer
	switch {
	case r.Docker != nil:
		c = &ChronosContainer{Type: ChronosDocker, Image: r.Docker.Image, ForcePullImage: r.Docker.ForcePullImage,
			Parameters: r.Docker.Parameters}
	case r.Ucr != nil:
		c = &ChronosContainer{Type: ChronosMesos, Image: r.Ucr.Image.ID, ForcePullImage: r.Ucr.Image.ForcePull}
	default:
		return nil
	}
	c.Network = ChronosHost
	for _, n := range r.Networks {
		switch n.Mode {
		case NetworkBridge:
			c.Network = ChronosBridge
		case NetworkContainer:
			c.Network = ChronosUser
			c.NetworkInfos = append(c.NetworkInfos, ChronosNetworkInfo{Name: n.Name, Labels: labelsFromMap(n.Labels)})
		}
	}
	c.Volumes = []ChronosVolume{}
	for _, v := range r.Volumes {
		if v.Secret == "" {
			c.Volumes = append(c.Volumes, ChronosVolume{ContainerPath: v.ContainerPath, HostPath: v.HostPath, Mode: v.Mode})
		}
	}
	return c
}

// FormatSeconds writes a number of seconds as an ISO 8601 duration ("PT900S").
func FormatSeconds(s int64) string { return "PT" + strconv.FormatInt(s, 10) + "S" }

// cloneChronos deep-copies a Chronos job through its JSON form.
func cloneChronos(c ChronosJob) ChronosJob {
	b, err := json.Marshal(c)
	if err != nil {
		return c
	}
	var out ChronosJob
	if json.Unmarshal(b, &out) != nil {
		return c
	}
	return out
}
