package agent

import (
	"errors"
	"os"

	"strata/kernel/agent/checkpoint"
	"strata/kernel/agent/sandbox"
)

// The agent checkpoints only frameworks with FrameworkInfo.checkpoint set.
// A failed checkpoint is logged, not fatal: the task runs, it just may not
// survive an agent restart.

func (a *Agent) checkpointFrameworkLocked(f *framework) {
	if !f.checkpoint() || a.agentID == "" {
		return
	}
	if err := checkpoint.WriteProto(a.layout.FrameworkInfoPath(a.agentID, f.id), f.info); err != nil {
		a.log.Error("checkpoint framework", "framework", f.id, "error", err)
	}
}

func (a *Agent) checkpointExecutorLocked(e *executor) {
	f := e.fw
	if !f.checkpoint() || a.agentID == "" {
		return
	}
	aid := a.agentID
	if err := checkpoint.WriteProto(a.layout.ExecutorInfoPath(aid, f.id, e.id), e.info); err != nil {
		a.log.Error("checkpoint executor", "executor", e.id, "error", err)
		return
	}
	if err := os.MkdirAll(a.layout.MetaRunDir(aid, f.id, e.id, e.containerID), 0o755); err != nil {
		a.log.Error("checkpoint executor run", "executor", e.id, "error", err)
		return
	}
	if err := sandbox.Symlink(e.containerID, a.layout.MetaLatestRunLink(aid, f.id, e.id)); err != nil {
		a.log.Error("checkpoint executor run", "executor", e.id, "error", err)
	}
}

func (a *Agent) checkpointTaskLocked(e *executor, t *task) {
	f := e.fw
	if !f.checkpoint() || a.agentID == "" {
		return
	}
	path := a.layout.TaskInfoPath(a.agentID, f.id, e.id, e.containerID, t.id())
	if err := checkpoint.WriteProto(path, t.t); err != nil {
		a.log.Error("checkpoint task", "task", t.id(), "error", err)
	}
}

func (a *Agent) checkpointPidLocked(e *executor) {
	f := e.fw
	if !f.checkpoint() || a.agentID == "" {
		return
	}
	if err := checkpoint.WritePid(a.layout.ForkedPidPath(a.agentID, f.id, e.id, e.containerID), e.pid); err != nil {
		a.log.Error("checkpoint executor pid", "executor", e.id, "error", err)
	}
}

func (a *Agent) checkpointHTTPMarkerLocked(e *executor) {
	f := e.fw
	if !f.checkpoint() || a.agentID == "" {
		return
	}
	path := a.layout.HTTPMarkerPath(a.agentID, f.id, e.id, e.containerID)
	if checkpoint.Exists(path) {
		return
	}
	if err := checkpoint.Touch(path); err != nil {
		a.log.Error("checkpoint executor marker", "executor", e.id, "error", err)
	}
}

func (a *Agent) checkpointCompletedLocked(e *executor) {
	f := e.fw
	if !f.checkpoint() || a.agentID == "" {
		return
	}
	if err := checkpoint.Touch(a.layout.CompletedPath(a.agentID, f.id, e.id, e.containerID)); err != nil {
		a.log.Error("checkpoint executor completion", "executor", e.id, "error", err)
	}
}

func removeAll(path string) error { return os.RemoveAll(path) }

func removeIfExists(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}
