package engine

import (
	"strings"
	"time"

	"strata/services/jobs/job"
	"strata/services/jobs/launcher"
)

// taskSpec is what a run of j launches, with Chronos' run-time arguments
// appended to the command.
func taskSpec(j *job.Job, args []string) launcher.Spec {
	r := j.Run
	s := launcher.Spec{
		Cmd: r.Cmd, Args: append([]string(nil), r.Args...), Shell: r.Shell,
		CPUs: r.Cpus, Mem: r.Mem, Disk: r.Disk, GPUs: float64(r.Gpus),
		User: r.User, Env: map[string]string{}, SecretEnv: map[string]string{},
		Labels: j.Labels,
	}
	if len(args) > 0 {
		if s.Shell {
			quoted := make([]string, len(args))
			for k, a := range args {
				quoted[k] = shellQuote(a)
			}
			s.Cmd = strings.TrimSpace(s.Cmd + " " + strings.Join(quoted, " "))
		} else {
			s.Args = append(s.Args, args...)
		}
	}
	for k, v := range r.Env {
		if v.Secret != "" {
			if def, ok := r.Secrets[v.Secret]; ok {
				s.SecretEnv[k] = def.Source
			}
			continue
		}
		s.Env[k] = v.Value
	}
	switch {
	case r.Docker != nil && r.Docker.Image != "":
		s.Image, s.ForcePull = r.Docker.Image, r.Docker.ForcePullImage
	case r.Ucr != nil && r.Ucr.Image.ID != "":
		s.Image, s.ForcePull = r.Ucr.Image.ID, r.Ucr.Image.ForcePull
	}
	for _, c := range r.Constraints {
		s.Constraints = append(s.Constraints, marathonConstraint(c))
	}
	for _, a := range r.Artifacts {
		s.URIs = append(s.URIs, launcher.URI{Value: a.URI, Executable: a.Executable, Extract: a.Extract, Cache: a.Cache})
	}
	if g := r.TaskKillGracePeriodSeconds; g != nil && *g > 0 {
		s.KillGrace = time.Duration(*g * float64(time.Second))
	}
	return s
}

// marathonConstraint maps a Metronome (or Chronos) constraint onto the
// array form the placement package evaluates: EQ and Chronos' EQUALS are
// IS.
func marathonConstraint(c job.Constraint) []string {
	op := strings.ToUpper(c.Operator)
	switch op {
	case "EQ", "EQUALS":
		op = "IS"
	}
	if c.Value == "" && op != "IS" {
		return []string{c.Attribute, op}
	}
	return []string{c.Attribute, op, c.Value}
}

// shellQuote makes an argument one word for /bin/sh, whatever it holds.
func shellQuote(a string) string {
	if a != "" && strings.Trim(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.,/:=@%+") == "" {
		return a
	}
	return "'" + strings.ReplaceAll(a, "'", `'"'"'`) + "'"
}
