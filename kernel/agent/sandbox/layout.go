package sandbox

import (
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"strata/kernel/mesos/ids"
)

// Layout computes paths under a work directory.
type Layout struct {
	// WorkDir is the agent's --work_dir (absolute).
	WorkDir string
}

// ErrInvalidID is returned for an id that cannot be a path component.
var ErrInvalidID = errors.New("invalid id")

// ValidateID checks that id is safe as one path component (and a valid
// Mesos id: at most 255 characters, no control characters).
func ValidateID(id string) error {
	if err := ids.Validate(id); err != nil {
		return fmt.Errorf("sandbox: %w: %w", ErrInvalidID, err)
	}
	return nil
}

// ValidateIDs checks several ids.
func ValidateIDs(ids ...string) error {
	for _, id := range ids {
		if err := ValidateID(id); err != nil {
			return err
		}
	}
	return nil
}

// Sandbox tree.

// SlavesDir is <work_dir>/slaves.
func (l Layout) SlavesDir() string { return filepath.Join(l.WorkDir, "slaves") }

// AgentDir is <work_dir>/slaves/<agentId>.
func (l Layout) AgentDir(agentID string) string { return filepath.Join(l.SlavesDir(), agentID) }

// FrameworkDir is the sandbox directory of a framework.
func (l Layout) FrameworkDir(agentID, fid string) string {
	return filepath.Join(l.AgentDir(agentID), "frameworks", fid)
}

// ExecutorDir is the directory holding an executor's runs.
func (l Layout) ExecutorDir(agentID, fid, eid string) string {
	return filepath.Join(l.FrameworkDir(agentID, fid), "executors", eid)
}

// RunDir is the sandbox of one run (container) of an executor.
func (l Layout) RunDir(agentID, fid, eid, cid string) string {
	return filepath.Join(l.ExecutorDir(agentID, fid, eid), "runs", cid)
}

// LatestRunLink is the runs/latest symlink of an executor.
func (l Layout) LatestRunLink(agentID, fid, eid string) string {
	return filepath.Join(l.ExecutorDir(agentID, fid, eid), "runs", "latest")
}

// ContainersDir holds the containerizer's state.
func (l Layout) ContainersDir() string { return filepath.Join(l.WorkDir, "containers") }

// Meta tree.

// MetaDir is <work_dir>/meta.
func (l Layout) MetaDir() string { return filepath.Join(l.WorkDir, "meta") }

// BootIDPath is <work_dir>/meta/boot_id.
func (l Layout) BootIDPath() string { return filepath.Join(l.MetaDir(), "boot_id") }

// MetaSlavesDir is <work_dir>/meta/slaves.
func (l Layout) MetaSlavesDir() string { return filepath.Join(l.MetaDir(), "slaves") }

// MetaLatestLink is <work_dir>/meta/slaves/latest.
func (l Layout) MetaLatestLink() string { return filepath.Join(l.MetaSlavesDir(), "latest") }

// MetaAgentDir is the checkpoint directory of an agent id.
func (l Layout) MetaAgentDir(agentID string) string { return filepath.Join(l.MetaSlavesDir(), agentID) }

// AgentInfoPath is slave.info.
func (l Layout) AgentInfoPath(agentID string) string {
	return filepath.Join(l.MetaAgentDir(agentID), "slave.info")
}

// MetaFrameworksDir holds the checkpointed frameworks of an agent.
func (l Layout) MetaFrameworksDir(agentID string) string {
	return filepath.Join(l.MetaAgentDir(agentID), "frameworks")
}

// MetaFrameworkDir is the checkpoint directory of a framework.
func (l Layout) MetaFrameworkDir(agentID, fid string) string {
	return filepath.Join(l.MetaFrameworksDir(agentID), fid)
}

// FrameworkInfoPath is framework.info.
func (l Layout) FrameworkInfoPath(agentID, fid string) string {
	return filepath.Join(l.MetaFrameworkDir(agentID, fid), "framework.info")
}

// MetaExecutorDir is the checkpoint directory of an executor.
func (l Layout) MetaExecutorDir(agentID, fid, eid string) string {
	return filepath.Join(l.MetaFrameworkDir(agentID, fid), "executors", eid)
}

// ExecutorInfoPath is executor.info.
func (l Layout) ExecutorInfoPath(agentID, fid, eid string) string {
	return filepath.Join(l.MetaExecutorDir(agentID, fid, eid), "executor.info")
}

// MetaRunDir is the checkpoint directory of one run.
func (l Layout) MetaRunDir(agentID, fid, eid, cid string) string {
	return filepath.Join(l.MetaExecutorDir(agentID, fid, eid), "runs", cid)
}

// MetaLatestRunLink is the runs/latest symlink in the meta tree.
func (l Layout) MetaLatestRunLink(agentID, fid, eid string) string {
	return filepath.Join(l.MetaExecutorDir(agentID, fid, eid), "runs", "latest")
}

// ForkedPidPath is forked.pid of a run.
func (l Layout) ForkedPidPath(agentID, fid, eid, cid string) string {
	return filepath.Join(l.MetaRunDir(agentID, fid, eid, cid), "forked.pid")
}

// HTTPMarkerPath marks a run whose executor speaks the HTTP API.
func (l Layout) HTTPMarkerPath(agentID, fid, eid, cid string) string {
	return filepath.Join(l.MetaRunDir(agentID, fid, eid, cid), "http.marker")
}

// CompletedPath marks a run whose executor has terminated.
func (l Layout) CompletedPath(agentID, fid, eid, cid string) string {
	return filepath.Join(l.MetaRunDir(agentID, fid, eid, cid), "completed")
}

// MetaTaskDir is the checkpoint directory of a task.
func (l Layout) MetaTaskDir(agentID, fid, eid, cid, tid string) string {
	return filepath.Join(l.MetaRunDir(agentID, fid, eid, cid), "tasks", tid)
}

// TaskInfoPath is task.info.
func (l Layout) TaskInfoPath(agentID, fid, eid, cid, tid string) string {
	return filepath.Join(l.MetaTaskDir(agentID, fid, eid, cid, tid), "task.info")
}

// TaskUpdatesPath is task.updates.
func (l Layout) TaskUpdatesPath(agentID, fid, eid, cid, tid string) string {
	return filepath.Join(l.MetaTaskDir(agentID, fid, eid, cid, tid), "task.updates")
}

// VirtualLatestRun is the /files path of an executor's latest run.
func VirtualLatestRun(fid, eid string) string {
	return "/frameworks/" + fid + "/executors/" + eid + "/runs/latest"
}

// CreateRun creates the sandbox of a run and points runs/latest and
// slaves/latest at it. It returns the sandbox path.
func (l Layout) CreateRun(agentID, fid, eid, cid string) (string, error) {
	if err := ValidateIDs(agentID, fid, eid, cid); err != nil {
		return "", err
	}
	dir := l.RunDir(agentID, fid, eid, cid)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("sandbox: create %s: %w", dir, err)
	}
	if err := Symlink(cid, l.LatestRunLink(agentID, fid, eid)); err != nil {
		return "", err
	}
	if err := Symlink(agentID, filepath.Join(l.SlavesDir(), "latest")); err != nil {
		return "", err
	}
	return dir, nil
}

// Symlink atomically makes link point at target, replacing what was there.
// A link that already points at target is left alone: replacing it would
// create a file for nothing (slaves/latest is set again on every launch).
func Symlink(target, link string) error {
	if cur, err := os.Readlink(link); err == nil && cur == target {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
		return fmt.Errorf("sandbox: symlink %s: %w", link, err)
	}
	// A unique temporary name: concurrent callers may update the same link.
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	tmp := fmt.Sprintf("%s.tmp%x", link, rnd)
	if err := os.Symlink(target, tmp); err != nil {
		return fmt.Errorf("sandbox: symlink %s: %w", link, err)
	}
	if err := os.Rename(tmp, link); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("sandbox: symlink %s: %w", link, err)
	}
	return nil
}
