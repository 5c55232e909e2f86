package checkpoint

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"strata/kernel/agent/sandbox"
	"strata/kernel/mesos/mesospb"
)

// State is everything checkpointed by a previous run of the agent.
type State struct {
	// BootID is the boot id recorded by the previous run ("" if none).
	BootID string
	// AgentID is the id meta/slaves/latest points at ("" when the agent
	// never registered: then the rest is empty).
	AgentID string
	// AgentInfo is slave.info (nil if missing).
	AgentInfo  *mesospb.AgentInfo
	Frameworks []*FrameworkState
	// Errors lists the entries that could not be read and were skipped.
	Errors []error
}

// FrameworkState is one checkpointed framework.
type FrameworkState struct {
	ID        string
	Info      *mesospb.FrameworkInfo
	Executors []*ExecutorState
}

// ExecutorState is one checkpointed executor.
type ExecutorState struct {
	ID        string
	Info      *mesospb.ExecutorInfo
	LatestRun string // container id runs/latest points at ("" if none)
	Runs      []*RunState
}

// RunState is one run (container) of an executor.
type RunState struct {
	ContainerID string
	Pid         int // 0 if the executor was never forked
	HTTP        bool
	Completed   bool
	Tasks       []*TaskState
}

// TaskState is one checkpointed task of a run.
type TaskState struct {
	ID   string
	Info *mesospb.Task
	// UpdatesPath is the task.updates file (it may not exist).
	UpdatesPath string
}

// Run returns the run with the given container id, or nil.
func (e *ExecutorState) Run(cid string) *RunState {
	for _, r := range e.Runs {
		if r.ContainerID == cid {
			return r
		}
	}
	return nil
}

// Recover reads the meta tree of l. A missing tree is not an error: it
// yields an empty State.
func Recover(l sandbox.Layout) (*State, error) {
	st := &State{}
	if b, err := os.ReadFile(l.BootIDPath()); err == nil {
		st.BootID = strings.TrimSpace(string(b))
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	target, err := os.Readlink(l.MetaLatestLink())
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return st, nil
		}
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	aid := filepath.Base(target)
	if err := sandbox.ValidateID(aid); err != nil {
		return nil, fmt.Errorf("checkpoint: meta/slaves/latest: %w", err)
	}
	st.AgentID = aid
	info := &mesospb.AgentInfo{}
	if err := ReadProto(l.AgentInfoPath(aid), info); err == nil {
		st.AgentInfo = info
	} else if !errors.Is(err, os.ErrNotExist) {
		st.Errors = append(st.Errors, err)
	}
	for _, fid := range listDirs(l.MetaFrameworksDir(aid)) {
		fw := &FrameworkState{ID: fid}
		fi := &mesospb.FrameworkInfo{}
		if err := ReadProto(l.FrameworkInfoPath(aid, fid), fi); err != nil {
			st.Errors = append(st.Errors, err)
			continue
		}
		fw.Info = fi
		for _, eid := range listDirs(filepath.Join(l.MetaFrameworkDir(aid, fid), "executors")) {
			ex, err := recoverExecutor(l, aid, fid, eid)
			if err != nil {
				st.Errors = append(st.Errors, err)
				continue
			}
			fw.Executors = append(fw.Executors, ex)
		}
		st.Frameworks = append(st.Frameworks, fw)
	}
	return st, nil
}

func recoverExecutor(l sandbox.Layout, aid, fid, eid string) (*ExecutorState, error) {
	ex := &ExecutorState{ID: eid}
	ei := &mesospb.ExecutorInfo{}
	if err := ReadProto(l.ExecutorInfoPath(aid, fid, eid), ei); err != nil {
		return nil, err
	}
	ex.Info = ei
	if t, err := os.Readlink(l.MetaLatestRunLink(aid, fid, eid)); err == nil {
		ex.LatestRun = filepath.Base(t)
	}
	for _, cid := range listDirs(filepath.Join(l.MetaExecutorDir(aid, fid, eid), "runs")) {
		run := &RunState{ContainerID: cid}
		if pid, err := ReadPid(l.ForkedPidPath(aid, fid, eid, cid)); err == nil {
			run.Pid = pid
		}
		run.HTTP = Exists(l.HTTPMarkerPath(aid, fid, eid, cid))
		run.Completed = Exists(l.CompletedPath(aid, fid, eid, cid))
		for _, tid := range listDirs(filepath.Join(l.MetaRunDir(aid, fid, eid, cid), "tasks")) {
			task := &mesospb.Task{}
			if err := ReadProto(l.TaskInfoPath(aid, fid, eid, cid, tid), task); err != nil {
				continue
			}
			run.Tasks = append(run.Tasks, &TaskState{
				ID: tid, Info: task, UpdatesPath: l.TaskUpdatesPath(aid, fid, eid, cid, tid),
			})
		}
		ex.Runs = append(ex.Runs, run)
	}
	return ex, nil
}

// listDirs lists the valid-id subdirectories of dir (not symlinks), sorted.
func listDirs(dir string) []string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() && sandbox.ValidateID(e.Name()) == nil {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out
}
