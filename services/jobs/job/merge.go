package job

import (
	"slices"
	"strconv"
)

// MergeMetronome applies a Metronome update (PUT /v1/jobs/{id}, PUT /v0/scheduled-jobs/{id}) to
// an existing job and returns the new job; old is not changed. The id stays old's (the body's id
// is ignored, and the id rule is not applied, so Chronos-named jobs can be updated). What the
// Metronome view does not show is kept: owner, disabled, the Chronos options, the counters and
// the creator. Schedules are kept unless spec embeds schedules, which then replace the cron
// schedules (ISO 8601 ones stay). An ON_FAILURE restart policy keeps a bounded retry count the
// job already had, and a command the view showed as args keeps its Chronos form.
func MergeMetronome(old *Job, spec JobSpec) (*Job, error) {
	spec.ID = old.ID
	n, err := fromMetronome(spec, nil, false)
	if err != nil {
		return nil, err
	}
	if spec.Schedules == nil {
		n.Schedules = cloneSlice(old.Schedules)
	} else {
		embedded := n.Schedules
		n.Schedules = []Schedule{}
		for _, s := range old.Schedules {
			if !s.IsCron() {
				n.Schedules = append(n.Schedules, s)
			}
		}
		for i, s := range embedded {
			if _, dup := n.Schedule(s.ID); dup {
				return nil, &ValidationError{Details: []Detail{{Path: "/schedules/" + strconv.Itoa(i) + "/id",
					Errors: []string{"duplicate schedule id '" + s.ID + "'"}}}}
			}
			n.Schedules = append(n.Schedules, s)
		}
	}
	if n.Retries == RetryUntilDeadline && old.Retries > 0 {
		n.Retries = old.Retries
	}
	if !n.Run.Shell && n.Run.Cmd == "" && !old.Run.Shell && old.Run.Cmd != "" &&
		slices.Equal(n.Run.Args, append([]string{old.Run.Cmd}, old.Run.Args...)) {
		n.Run.Cmd, n.Run.Args = old.Run.Cmd, cloneSlice(old.Run.Args)
	}
	if n.Run.Shell && old.Run.Shell && n.Run.Cmd == old.Run.Cmd && n.Run.Args == nil {
		n.Run.Args = cloneSlice(old.Run.Args)
	}
	keepUnseen(n, old)
	n.ChronosOptions = old.ChronosOptions
	return n, nil
}

// MergeChronos applies a Chronos job hash posted for an existing job (POST /v1/scheduler/iso8601
// or /dependency with the name of a job that exists) and returns the new job; old is not
// changed. What the Chronos view does not show is kept: labels, secrets and the env entries
// and volumes that use them, gpus, maxLaunchDelay, taskKillGracePeriodSeconds,
// activeDeadlineSeconds, privileged containers, a UCR image kind, the networks and volumes of a
// job without container, and the cron schedules unless c carries strataCronSchedules. The
// counters are server-maintained: old's are kept, whatever c says.
func MergeChronos(old *Job, c ChronosJob) (*Job, error) {
	c.Name = old.ID
	n, err := FromChronos(c)
	if err != nil {
		return nil, err
	}
	if c.StrataCronSchedules == nil {
		for _, s := range old.Schedules {
			if !s.IsCron() {
				continue
			}
			if _, dup := n.Schedule(s.ID); !dup {
				n.Schedules = append(n.Schedules, s)
			}
		}
	}
	n.Labels = cloneMap(old.Labels)
	or, nr := old.Run.clone(), &n.Run
	nr.Secrets = or.Secrets
	for k, v := range or.Env {
		if _, set := nr.Env[k]; v.Secret != "" && !set {
			nr.Env[k] = v
		}
	}
	if len(nr.Args) == 0 && len(or.Args) == 0 {
		nr.Args = or.Args
	}
	if slices.Equal(nr.Volumes, hostVolumes(or.Volumes)) {
		nr.Volumes = or.Volumes
	} else {
		for _, v := range or.Volumes {
			if v.Secret != "" {
				nr.Volumes = append(nr.Volumes, v)
			}
		}
	}
	for i, con := range nr.Constraints {
		if i < len(or.Constraints) && or.Constraints[i].Operator == OperatorIs &&
			con == (Constraint{Attribute: or.Constraints[i].Attribute, Operator: OperatorEq, Value: or.Constraints[i].Value}) {
			nr.Constraints[i].Operator = OperatorIs
		}
	}
	nr.Gpus = or.Gpus
	nr.MaxLaunchDelay = or.MaxLaunchDelay
	nr.TaskKillGracePeriodSeconds = or.TaskKillGracePeriodSeconds
	nr.ActiveDeadlineSeconds = or.ActiveDeadlineSeconds
	switch {
	case nr.Docker != nil && or.Docker != nil:
		nr.Docker.Privileged = or.Docker.Privileged
	case nr.Ucr != nil && or.Ucr != nil:
		nr.Ucr.Privileged = or.Ucr.Privileged
		if nr.Ucr.Image.ID == or.Ucr.Image.ID {
			nr.Ucr.Image.Kind = or.Ucr.Image.Kind
		}
	case nr.Docker == nil && nr.Ucr == nil && or.Docker == nil && or.Ucr == nil:
		// Without a container the Chronos view shows neither networks nor volumes.
		nr.Networks, nr.Volumes = or.Networks, or.Volumes
	}
	n.SuccessCount, n.ErrorCount, n.ErrorsSinceLastSuccess = old.SuccessCount, old.ErrorCount, old.ErrorsSinceLastSuccess
	n.LastSuccess, n.LastError = old.LastSuccess, old.LastError
	n.CreatedBy = old.CreatedBy
	return n, nil
}

// keepUnseen copies what the Metronome view does not show from old to n.
func keepUnseen(n, old *Job) {
	n.Owner, n.OwnerName, n.Disabled = old.Owner, old.OwnerName, old.Disabled
	n.SuccessCount, n.ErrorCount, n.ErrorsSinceLastSuccess = old.SuccessCount, old.ErrorCount, old.ErrorsSinceLastSuccess
	n.LastSuccess, n.LastError = old.LastSuccess, old.LastError
	n.CreatedBy = old.CreatedBy
}

// hostVolumes returns the volumes that are not secret volumes.
func hostVolumes(vols []Volume) []Volume {
	out := []Volume{}
	for _, v := range vols {
		if v.Secret == "" {
			out = append(out, v)
		}
	}
	return out
}
