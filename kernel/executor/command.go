package executor

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"strconv"
	"strings"

	"strata/kernel/executor/proc"
	"strata/kernel/mesos/mesospb"
)

// taskUser is the user the task should run as: CommandInfo.user, else the
// framework's user.
func taskUser(task *mesospb.TaskInfo, fw *mesospb.FrameworkInfo) string {
	if u := task.GetCommand().GetUser(); u != "" {
		return u
	}
	return fw.GetUser()
}

// switchUser decides how to run a task as the named user. It returns nil
// when no switch is needed or possible (no name, already that user, or not
// running as root, which is logged), and an error when the user does not
// exist.
func (e *executor) switchUser(name string) (*proc.Credential, *user.User, error) {
	if name == "" {
		return nil, nil, nil
	}
	if cur, err := user.Current(); err == nil && cur.Username == name {
		return nil, nil, nil
	}
	if os.Geteuid() != 0 {
		e.log.Warn("Not running as root: running the task as the executor's user", "wanted_user", name)
		return nil, nil, nil
	}
	u, err := user.Lookup(name)
	if err != nil {
		var unknown user.UnknownUserError
		if errors.As(err, &unknown) {
			return nil, nil, fmt.Errorf("user '%s' does not exist on this host", name)
		}
		return nil, nil, fmt.Errorf("look up user '%s': %w", name, err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err1 != nil || err2 != nil {
		return nil, nil, fmt.Errorf("user '%s' has a non-numeric uid %q or gid %q", name, u.Uid, u.Gid)
	}
	cred := &proc.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}
	if ids, err := u.GroupIds(); err == nil {
		for _, id := range ids {
			if g, err := strconv.ParseUint(id, 10, 32); err == nil {
				cred.Groups = append(cred.Groups, uint32(g))
			}
		}
	} else {
		e.log.Warn("Could not list the supplementary groups of the task's user", "user", name, "err", err)
	}
	return cred, u, nil
}

// taskPlace is where a task runs: its working directory, where its output
// goes (writers, or files by path), and environment variables that come
// before the CommandInfo's.
type taskPlace struct {
	dir                    string
	stdout, stderr         io.Writer
	stdoutPath, stderrPath string
	env                    []string
}

// commandSpec builds the process specification of a command task.
func (e *executor) commandSpec(task *mesospb.TaskInfo, place taskPlace) (proc.Spec, error) {
	cmd := task.GetCommand()
	id := task.GetTaskId().GetValue()
	if cmd == nil {
		return proc.Spec{}, fmt.Errorf("task '%s' has no command; the %s runs command tasks only", id, e.cfg.Mode)
	}
	if cmd.GetValue() == "" {
		if cmd.GetShell() {
			return proc.Spec{}, fmt.Errorf("shell command of task '%s' is not specified", id)
		}
		return proc.Spec{}, fmt.Errorf("executable of task '%s' is not specified", id)
	}

	name := taskUser(task, e.frameworkInfo)
	cred, u, err := e.switchUser(name)
	if err != nil {
		return proc.Spec{}, err
	}

	extra := append([]string(nil), place.env...)
	if u != nil {
		extra = append(extra, "USER="+u.Username, "LOGNAME="+u.Username)
		if u.HomeDir != "" {
			extra = append(extra, "HOME="+u.HomeDir)
		}
	}
	if res := task.GetResources(); len(res) > 0 {
		if role := res[0].GetAllocationInfo().GetRole(); role != "" {
			extra = append(extra, "MESOS_ALLOCATION_ROLE="+role)
		}
	}
	for _, v := range cmd.GetEnvironment().GetVariables() {
		if v.GetType() == mesospb.Environment_Variable_SECRET {
			e.log.Warn("Skipping a secret environment variable the agent did not resolve", "name", v.GetName())
			continue
		}
		if v.GetName() == "" || strings.Contains(v.GetName(), "=") {
			e.log.Warn("Skipping environment variable with an invalid name", "name", v.GetName())
			continue
		}
		extra = append(extra, v.GetName()+"="+v.GetValue())
	}

	spec := proc.Spec{
		Shell:      cmd.GetShell(),
		Command:    cmd.GetValue(),
		Env:        mergeEnv(e.cfg.Env, extra),
		Dir:        place.dir,
		Stdout:     place.stdout,
		Stderr:     place.stderr,
		StdoutPath: place.stdoutPath,
		StderrPath: place.stderrPath,
		Credential: cred,
	}
	if !spec.Shell {
		spec.Args = append([]string(nil), cmd.GetArguments()...)
	}
	return spec, nil
}

// mergeEnv returns base with the "NAME=value" entries of extra added; a later
// entry replaces an earlier one of the same name, in place.
func mergeEnv(base, extra []string) []string {
	out := make([]string, 0, len(base)+len(extra))
	index := make(map[string]int, len(base)+len(extra))
	for _, list := range [][]string{base, extra} {
		for _, kv := range list {
			name, _, ok := strings.Cut(kv, "=")
			if !ok {
				continue
			}
			if i, seen := index[name]; seen {
				out[i] = kv
				continue
			}
			index[name] = len(out)
			out = append(out, kv)
		}
	}
	return out
}
