package posix

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"strata/kernel/containerizer"
)

// stateFile is what the containerizer remembers of a container on disk.
type stateFile struct {
	ID        string  `json:"id"`
	Pid       int     `json:"pid"`
	StartTime uint64  `json:"start_time"`
	BootID    string  `json:"boot_id"`
	Directory string  `json:"directory"`
	Cpus      float64 `json:"cpus"`
	MemMB     float64 `json:"mem_mb"`
	DiskMB    float64 `json:"disk_mb,omitempty"`
	// CgroupID names the container's cgroup under the agent's root ("":
	// none).
	CgroupID string `json:"cgroup_id,omitempty"`
}

func (c *Containerizer) statePath(id string) string {
	return filepath.Join(c.cfg.StateDir, id+".json")
}

func (c *Containerizer) writeState(ct *container) error {
	c.mu.Lock()
	st := stateFile{
		ID: ct.id, Pid: ct.pid, StartTime: ct.start, BootID: c.boot,
		Directory: ct.dir, Cpus: ct.cpus, MemMB: ct.memMB, DiskMB: ct.diskMB, CgroupID: ct.cgroupID,
	}
	c.mu.Unlock()
	b, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("posix: encode state of %s: %w", ct.id, err)
	}
	path := c.statePath(ct.id)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return fmt.Errorf("posix: write state of %s: %w", ct.id, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("posix: write state of %s: %w", ct.id, err)
	}
	return nil
}

// Recover implements containerizer.Containerizer.
func (c *Containerizer) Recover(ctx context.Context, known []string) (*containerizer.RecoverResult, error) {
	want := make(map[string]bool, len(known))
	for _, id := range known {
		want[id] = true
	}
	entries, err := os.ReadDir(c.cfg.StateDir)
	if err != nil {
		return nil, fmt.Errorf("posix: recover: %w", err)
	}
	res := &containerizer.RecoverResult{}
	found := make(map[string]bool)
	for _, e := range entries {
		name := e.Name()
		if strings.HasSuffix(name, ".tmp") {
			_ = os.Remove(filepath.Join(c.cfg.StateDir, name))
			continue
		}
		if !strings.HasSuffix(name, ".json") {
			continue
		}
		path := filepath.Join(c.cfg.StateDir, name)
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("posix: recover: %w", err)
		}
		var st stateFile
		if err := json.Unmarshal(b, &st); err != nil || validID(st.ID) != nil || st.ID+".json" != name {
			c.log.Warn("discarding unreadable container state", "file", path, "error", err)
			_ = os.Remove(path)
			continue
		}
		sameBoot := st.BootID == c.boot
		if !want[st.ID] {
			if sameBoot && st.Pid > 1 {
				c.log.Info("destroying orphan container", "container", st.ID, "pid", st.Pid)
				orphan := &container{id: st.ID, pid: st.Pid, start: st.StartTime, cgroupID: st.CgroupID}
				if err := c.kill(orphan); err != nil {
					c.log.Warn("destroy orphan", "container", st.ID, "error", err)
				}
				c.removeCgroup(orphan)
			}
			_ = os.Remove(path)
			res.Orphans = append(res.Orphans, st.ID)
			continue
		}
		found[st.ID] = true
		c.mu.Lock()
		if _, dup := c.containers[st.ID]; dup {
			c.mu.Unlock()
			continue
		}
		ct := &container{id: st.ID, pid: st.Pid, start: st.StartTime, dir: st.Directory,
			cpus: st.Cpus, memMB: st.MemMB, diskMB: st.DiskMB, cgroupID: cgroupIf(st.CgroupID, c.cfg.Cgroups != nil),
			done: make(chan struct{})}
		c.containers[st.ID] = ct
		c.mu.Unlock()
		res.Recovered = append(res.Recovered, st.ID)
		if sameBoot && sameProcess(st.Pid, st.StartTime) {
			c.log.Info("re-attached container", "container", st.ID, "pid", st.Pid)
			go c.watch(ct)
			go c.superviseLimits(ct)
			continue
		}
		msg := "Executor exited while the agent was down (exit status unknown)"
		if !sameBoot {
			msg = "Executor did not survive a host reboot"
		} else {
			_ = c.kill(ct)
		}
		c.finish(ct, &containerizer.Termination{Message: msg})
	}
	for _, id := range known {
		if !found[id] {
			res.Missing = append(res.Missing, id)
		}
	}
	c.removeOrphanCgroups(res)
	if err := ctx.Err(); err != nil {
		return res, fmt.Errorf("posix: recover: %w", err)
	}
	return res, nil
}

// sameProcess reports whether pid is alive and is the process that started
// at start.
func sameProcess(pid int, start uint64) bool {
	if pid <= 1 {
		return false
	}
	s, err := readStat(pid)
	return err == nil && s.alive() && s.start == start
}

// watch waits for a recovered (non-child) executor to exit.
func (c *Containerizer) watch(ct *container) {
	fd, err := unix.PidfdOpen(ct.pid, 0)
	if err == nil && !sameProcess(ct.pid, ct.start) {
		// The pid was recycled between the check and the open.
		unix.Close(fd)
		fd, err = -1, errors.New("process gone")
	}
	if err == nil {
		defer unix.Close(fd)
		for {
			fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
			n, err := unix.Poll(fds, 1000)
			if err != nil && !errors.Is(err, unix.EINTR) {
				break
			}
			if n > 0 {
				break
			}
			select {
			case <-c.stop:
				return
			default:
			}
		}
	} else {
		t := time.NewTicker(c.cfg.PollInterval)
		defer t.Stop()
		for sameProcess(ct.pid, ct.start) {
			select {
			case <-c.stop:
				return
			case <-t.C:
			}
		}
	}
	if err := c.kill(ct); err != nil {
		c.log.Warn("container leftovers", "container", ct.id, "error", err)
	}
	c.finish(ct, &containerizer.Termination{Message: "Executor exited (status unknown: it was re-attached after an agent restart)"})
}

// removeOrphanCgroups destroys the cgroups under the agent's root that no
// recovered container owns (left by a crash between creating a cgroup and
// writing the state file, or by a container whose state was lost).
func (c *Containerizer) removeOrphanCgroups(res *containerizer.RecoverResult) {
	if c.cfg.Cgroups == nil {
		return
	}
	ids, err := c.cfg.Cgroups.List()
	if err != nil {
		c.log.Warn("list container cgroups", "error", err)
		return
	}
	owned := make(map[string]bool)
	c.mu.Lock()
	for _, ct := range c.containers {
		if ct.cgroupID != "" {
			owned[ct.cgroupID] = true
		}
	}
	c.mu.Unlock()
	for _, id := range ids {
		if owned[id] {
			continue
		}
		c.log.Info("destroying orphan cgroup", "container", id)
		if err := c.cfg.Cgroups.Destroy(id); err != nil {
			c.log.Warn("destroy orphan cgroup", "container", id, "error", err)
			continue
		}
		if !slices.Contains(res.Orphans, id) {
			res.Orphans = append(res.Orphans, id)
		}
	}
}

// cgroupIf returns id when the containerizer has cgroups, else "".
func cgroupIf(id string, have bool) string {
	if !have {
		return ""
	}
	return id
}
