package agent

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"google.golang.org/protobuf/proto"

	"strata/kernel/agent/statusupdate"
	"strata/kernel/containerizer/cgroups"
	"strata/kernel/containerizer/posix"
	"strata/kernel/mesos/mesospb"
)

// Isolation mechanisms named in Config.Isolation.
const (
	IsolationCgroups      = "cgroups"
	IsolationNamespaces   = "namespaces"
	IsolationPIDNamespace = "pid-namespace"
	IsolationNone         = "none"
	// DefaultIsolation is what `strata agent` isolates with when it runs
	// as root.
	DefaultIsolation = IsolationCgroups + "," + IsolationNamespaces
)

// parseIsolation splits Config.Isolation into the mechanisms asked for.
func parseIsolation(s string) (map[string]bool, error) {
	if strings.TrimSpace(s) == "" {
		s = DefaultIsolation
	}
	out := make(map[string]bool)
	for _, name := range strings.Split(s, ",") {
		name = strings.TrimSpace(name)
		switch name {
		case IsolationCgroups, IsolationNamespaces, IsolationPIDNamespace, IsolationNone:
			out[name] = true
		case "":
		default:
			return nil, fmt.Errorf("agent: unknown isolation %q (known: %s, %s, %s, %s)", name,
				IsolationCgroups, IsolationNamespaces, IsolationPIDNamespace, IsolationNone)
		}
	}
	if out[IsolationNone] && len(out) > 1 {
		return nil, fmt.Errorf("agent: isolation %q: none excludes the others", s)
	}
	if out[IsolationPIDNamespace] {
		out[IsolationNamespaces] = true
	}
	return out, nil
}

// newContainerizer creates the agent's own containerizer, isolating what
// cfg.Isolation asks for as far as the host allows; what it cannot isolate
// is logged (and Isolation() reports what is).
func newContainerizer(cfg *Config, stateDir string, log *slog.Logger) (*posix.Containerizer, *cgroups.Manager, error) {
	want, err := parseIsolation(cfg.Isolation)
	if err != nil {
		return nil, nil, err
	}
	pc := posix.Config{StateDir: stateDir, Logger: cfg.Logger, Init: cfg.Executable,
		EnforceDiskQuota: cfg.EnforceContainerDiskQuota, DiskWatchInterval: cfg.ContainerDiskWatchInterval}
	if cfg.Images != nil && cfg.Images.Socket() != "" {
		// Command executors of image tasks reach the podman service from
		// inside their mount namespace, whose /tmp is private.
		pc.Keep = []string{filepath.Dir(cfg.Images.Socket())}
	}
	var cg *cgroups.Manager
	switch {
	case want[IsolationNone]:
		log.Warn("no isolation: --isolation=none; tasks run as plain process sessions with rlimits")
	case os.Geteuid() != 0:
		log.Warn("no isolation: the agent is not running as root, so it can use neither cgroups nor namespaces " +
			"nor switch users; tasks run as plain process sessions with rlimits")
	default:
		if want[IsolationCgroups] {
			cg, err = newCgroups(cfg, log)
			if err != nil {
				return nil, nil, err
			}
		}
		pc.Cgroups = cg
		pc.Namespaces = want[IsolationNamespaces]
		pc.PIDNamespace = want[IsolationPIDNamespace]
		pc.CFSQuota = cfg.CgroupsEnableCFS
		pc.PidsMax = cfg.ContainerPidsMax
	}
	c, err := posix.New(pc)
	if err != nil {
		return nil, nil, err
	}
	return c, cg, nil
}

// newCgroups prepares the agent's cgroup root; a host without usable
// cgroups is logged and yields nil.
func newCgroups(cfg *Config, log *slog.Logger) (*cgroups.Manager, error) {
	info, err := cgroups.Detect()
	if err != nil {
		log.Warn("no cgroups: cannot inspect the host's cgroups", "error", err)
		return nil, nil
	}
	root := cfg.CgroupsRoot
	if root == "" {
		if root, err = cgroups.RootFor(cfg.WorkDir); err != nil {
			return nil, fmt.Errorf("agent: %w", err)
		}
	}
	m, err := cgroups.New(cgroups.Config{Root: root, Info: &info, Logger: cfg.Logger})
	if errors.Is(err, cgroups.ErrUnavailable) {
		log.Warn("no cgroups: none of the host's cgroup hierarchies can be used", "host", info.String())
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("agent: %w", err)
	}
	enforced := m.Enforced()
	for _, c := range []string{"cpu", "memory", "pids"} {
		if !slices.Contains(enforced, c) {
			log.Warn("cgroup controller not usable: its limits are not enforced", "controller", c,
				"reason", info.Controllers[c].Reason)
		}
	}
	log.Info("cgroups", "host", info.String(), "agent", m.String())
	return m, nil
}

// removeCgroupRoot removes the agent's cgroup root when no launched container
// is left running (what remains are standbys on their way out, which never
// outlive the agent): a stopped agent leaves no cgroups behind.
func (a *Agent) removeCgroupRoot() {
	if a.cgroups == nil || a.ownCz == nil || len(a.ownCz.Live()) > 0 {
		return
	}
	if err := a.cgroups.RemoveRoot(); err != nil {
		a.log.Warn("remove the agent's cgroup root", "error", err)
	}
}

// addLimitationLocked gives a task failure the executor reports the reason
// of a limitation its container hit: an executor sees its task killed by a
// signal, where the kernel's OOM killer (or the disk quota) was the cause, as
// Mesos' isolators report it.
func (a *Agent) addLimitationLocked(e *executor, st *mesospb.TaskStatus) {
	if a.ownCz == nil || st.GetState() != mesospb.TaskState_TASK_FAILED || e.containerID == "" {
		return
	}
	lim := a.ownCz.Limitation(e.containerID)
	if lim == nil {
		return
	}
	st.Reason = lim.Reason
	st.Message = proto.String(lim.Message)
	st.Limitation = lim.Limitation
}

// reapTasksLocked makes sure nothing of a built-in executor's tasks outlives
// them: when st ends the executor's last live task, every other process of
// its container (a daemon a task left behind, say) is killed before the
// update goes on, so a framework that sees TASK_KILLED or TASK_FINISHED knows
// the task's processes are gone. The executor itself stays to deliver the
// update. Custom executors are left alone: their container is theirs.
func (a *Agent) reapTasksLocked(e *executor, st *mesospb.TaskStatus) {
	if a.ownCz == nil || !e.kind.builtin() || e.containerID == "" || !statusupdate.IsTerminal(st.GetState()) {
		return
	}
	for _, t := range e.allTasks() {
		if t.id() != st.GetTaskId().GetValue() && !t.terminal() {
			return
		}
	}
	if err := a.ownCz.KillAllButExecutor(e.containerID); err != nil {
		a.log.Warn("kill what the tasks left", "framework", e.fw.id, "executor", e.id, "error", err)
	}
}
