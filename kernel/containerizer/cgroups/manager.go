package cgroups

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ErrUnavailable is returned by New when no hierarchy can be used (no cgroups
// mounted, not root, read-only): the caller falls back to no isolation.
var ErrUnavailable = errors.New("cgroups: unavailable")

// leaf is the v2 child of a container cgroup that holds its processes: v2
// forbids processes in a cgroup that distributes controllers to children.
const leaf = "leaf"

// defaultKillTimeout bounds Kill and Destroy when Config.KillTimeout is 0.
const defaultKillTimeout = 10 * time.Second

// v2Wanted are the v2 controllers enabled for containers when available.
var v2Wanted = []string{"cpu", "memory", "pids"}

// Config configures a Manager.
type Config struct {
	// Root is the agent's cgroup root relative to every hierarchy's mount
	// point, like Mesos' --cgroups_root: "strata/<name>". Two agents on one
	// host must not share it (RootFor derives one from the work dir).
	Root string
	// Info describes the host; nil runs Detect.
	Info *Info
	// KillTimeout bounds Kill (and so Destroy); 0 means 10 s.
	KillTimeout time.Duration
	// Logger gets warnings about controllers that cannot be used; nil
	// discards them.
	Logger *slog.Logger
}

// RootFor derives an agent's cgroup root from its work directory:
// "strata/<first 12 hex digits of the SHA-256 of the absolute path>".
func RootFor(workDir string) (string, error) {
	abs, err := filepath.Abs(workDir)
	if err != nil {
		return "", fmt.Errorf("cgroups: root for %q: %w", workDir, err)
	}
	sum := sha256.Sum256([]byte(abs))
	return "strata/" + hex.EncodeToString(sum[:6]), nil
}

// Manager creates, limits, measures and kills the cgroups of the containers
// under one agent's root. It keeps no state of its own beyond its
// configuration: everything is read from cgroupfs, so a new Manager on the
// same root after an agent restart sees the same containers (List). Methods
// are safe for concurrent use on different containers.
type Manager struct {
	root        string
	v1          map[string]string // controller → <mount>/<root>, usable v1 controllers of used
	v1dirs      []string          // the distinct values of v1
	v2          string            // <unified mount>/<root>, "" when the unified hierarchy is not used
	v2ctrl      []string          // v2 controllers enabled for containers
	killTimeout time.Duration
	log         *slog.Logger

	noCgroupKill bool // tests: exercise the freeze path on kernels with cgroup.kill
}

// New prepares the agent's root in every usable hierarchy: it creates the
// root directories and, on v2, enables cpu, memory and pids in
// cgroup.subtree_control on every level from the mount point down to the
// root (those the parent offers). It fails with ErrUnavailable when no
// hierarchy can be used.
func New(cfg Config) (*Manager, error) {
	if err := validRoot(cfg.Root); err != nil {
		return nil, err
	}
	info := cfg.Info
	if info == nil {
		i, err := Detect()
		if err != nil {
			return nil, err
		}
		info = &i
	}
	m := &Manager{root: cfg.Root, v1: make(map[string]string), killTimeout: cfg.KillTimeout, log: cfg.Logger}
	if m.killTimeout <= 0 {
		m.killTimeout = defaultKillTimeout
	}
	if m.log == nil {
		m.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	var want []string
	for _, name := range used {
		c := info.Controllers[name]
		switch {
		case !c.Usable:
			m.log.Warn("cgroups: controller not usable", "controller", name, "reason", c.Reason)
		case c.Version == 1:
			d := filepath.Join(c.Mount, m.root)
			m.v1[name] = d
			if !slices.Contains(m.v1dirs, d) {
				m.v1dirs = append(m.v1dirs, d)
			}
		case c.Version == 2 && slices.Contains(v2Wanted, name):
			want = append(want, name)
		}
	}
	if info.Unified != "" && info.UnifiedUsable {
		m.v2 = filepath.Join(info.Unified, m.root)
	}
	if len(m.v1dirs) == 0 && m.v2 == "" {
		return nil, fmt.Errorf("%w: %s", ErrUnavailable, info)
	}
	for _, d := range m.v1dirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("cgroups: create root: %w", err)
		}
	}
	if m.v2 != "" {
		enabled, err := prepareV2(info.Unified, m.root, want)
		if err != nil {
			return nil, fmt.Errorf("cgroups: prepare root %s: %w", m.v2, err)
		}
		m.v2ctrl = enabled
		for _, c := range want {
			if !slices.Contains(enabled, c) {
				m.log.Warn("cgroups: v2 controller not enabled for containers", "controller", c, "root", m.v2)
			}
		}
	}
	return m, nil
}

// prepareV2 creates <mount>/<root> level by level, enabling the wanted
// controllers for the children of each level (the mount point included), and
// returns the controllers enabled for containers.
func prepareV2(mount, root string, want []string) ([]string, error) {
	dir := mount
	for _, part := range strings.Split(root, "/") {
		if err := enableV2(dir, want); err != nil {
			return nil, err
		}
		dir = filepath.Join(dir, part)
		if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return nil, err
		}
	}
	if err := enableV2(dir, want); err != nil {
		return nil, err
	}
	s, err := readString(dir, "cgroup.subtree_control")
	if err != nil {
		return nil, err
	}
	var enabled []string
	for _, c := range strings.Fields(s) {
		if slices.Contains(want, c) {
			enabled = append(enabled, c)
		}
	}
	return enabled, nil
}

// enableV2 writes "+c" into dir's cgroup.subtree_control for every wanted
// controller that dir offers (cgroup.controllers) and has not enabled yet.
func enableV2(dir string, want []string) error {
	if len(want) == 0 {
		return nil
	}
	avail, err := readString(dir, "cgroup.controllers")
	if err != nil {
		return err
	}
	cur, err := readString(dir, "cgroup.subtree_control")
	if err != nil {
		return err
	}
	var add []string
	for _, c := range want {
		if slices.Contains(strings.Fields(avail), c) && !slices.Contains(strings.Fields(cur), c) {
			add = append(add, "+"+c)
		}
	}
	if len(add) == 0 {
		return nil
	}
	return writeString(dir, "cgroup.subtree_control", strings.Join(add, " "))
}

var idPattern = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,200}$`)

// validID accepts Mesos container ids: letters, digits, '_', '-', '.', not
// "." or "..".
func validID(id string) error {
	if !idPattern.MatchString(id) || id == "." || id == ".." {
		return fmt.Errorf("cgroups: invalid container id %q", id)
	}
	return nil
}

func validRoot(root string) error {
	if root == "" || !filepath.IsLocal(root) || filepath.Clean(root) != root || root == "." {
		return fmt.Errorf("cgroups: invalid root %q: want a clean relative path such as strata/agent1", root)
	}
	for _, p := range strings.Split(root, "/") {
		if validID(p) != nil {
			return fmt.Errorf("cgroups: invalid root %q: component %q", root, p)
		}
	}
	return nil
}

// Root is the root the Manager was configured with.
func (m *Manager) Root() string { return m.root }

// Enforced lists the controllers whose limits Create and Update write, among
// cpu, memory and pids.
func (m *Manager) Enforced() []string {
	var out []string
	for _, c := range []string{"cpu", "memory", "pids"} {
		if m.v1[c] != "" || slices.Contains(m.v2ctrl, c) {
			out = append(out, c)
		}
	}
	return out
}

// String summarises which hierarchy does what, for the agent's log.
func (m *Manager) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "root %s:", m.root)
	for _, c := range used {
		switch {
		case m.v1[c] != "":
			fmt.Fprintf(&b, " %s=v1", c)
		case m.v2 != "" && (slices.Contains(m.v2ctrl, c) || c == "cpuacct" || c == "freezer"):
			fmt.Fprintf(&b, " %s=v2", c)
		}
	}
	if m.v2 != "" {
		fmt.Fprintf(&b, " unified=%s", m.v2)
	}
	return b.String()
}

// dirs returns the container's cgroup in every hierarchy used.
func (m *Manager) dirs(id string) []string {
	out := make([]string, 0, len(m.v1dirs)+1)
	for _, d := range m.v1dirs {
		out = append(out, filepath.Join(d, id))
	}
	if m.v2 != "" {
		out = append(out, filepath.Join(m.v2, id))
	}
	return out
}

// Create makes the container's cgroups and writes its limits: on v1 one
// cgroup per hierarchy (cpu, cpuacct, memory, pids, freezer, whichever are
// usable); on v2 <root>/<id> holding the limits, with the enabled
// controllers passed on to its child <root>/<id>/leaf, where Add puts the
// processes. A container that already exists is an error (fs.ErrExist);
// on any failure what was created is removed again.
func (m *Manager) Create(id string, l Limits) error {
	if err := validID(id); err != nil {
		return err
	}
	if err := l.Validate(); err != nil {
		return err
	}
	var made []string
	undo := func() {
		for i := len(made) - 1; i >= 0; i-- {
			_ = syscall.Rmdir(made[i])
		}
	}
	mkdir := func(d string) error {
		if err := os.Mkdir(d, 0o755); err != nil {
			return fmt.Errorf("cgroups: create %s: %w", id, err)
		}
		made = append(made, d)
		return nil
	}
	for _, d := range m.dirs(id) {
		if err := mkdir(d); err != nil {
			undo()
			return err
		}
	}
	if m.v2 != "" {
		d := filepath.Join(m.v2, id)
		if err := enableV2(d, m.v2ctrl); err != nil {
			undo()
			return fmt.Errorf("cgroups: create %s: %w", id, err)
		}
		if err := mkdir(filepath.Join(d, leaf)); err != nil {
			undo()
			return err
		}
	}
	if err := m.apply(id, l, false); err != nil {
		undo()
		return fmt.Errorf("cgroups: create %s: %w", id, err)
	}
	return nil
}

// Update writes new limits for a running container. Lowering the hard
// memory limit below current usage fails and changes nothing (v1: the kernel
// answers EBUSY when it cannot reclaim enough; v2: refused before writing,
// because the kernel would OOM-kill to meet it). Other write errors may
// leave the limits partly updated.
func (m *Manager) Update(id string, l Limits) error {
	if err := validID(id); err != nil {
		return err
	}
	if err := l.Validate(); err != nil {
		return err
	}
	if !m.Exists(id) {
		return fmt.Errorf("cgroups: update %s: %w", id, fs.ErrNotExist)
	}
	if err := m.apply(id, l, true); err != nil {
		return fmt.Errorf("cgroups: update %s: %w", id, err)
	}
	return nil
}

// apply writes the limits with whichever hierarchy holds each controller.
func (m *Manager) apply(id string, l Limits, update bool) error {
	v2 := func(c string) (string, bool) {
		if m.v2 == "" || !slices.Contains(m.v2ctrl, c) {
			return "", false
		}
		return filepath.Join(m.v2, id), true
	}
	// Memory first: it is the limit the kernel may refuse on Update, and a
	// refusal then leaves the container's limits as they were.
	if d := m.v1["memory"]; d != "" {
		if err := writeMemoryV1(filepath.Join(d, id), l); err != nil {
			return err
		}
	} else if d, ok := v2("memory"); ok {
		if err := writeMemoryV2(d, l, update); err != nil {
			return err
		}
	}
	if d := m.v1["cpu"]; d != "" {
		if err := writeCPUV1(filepath.Join(d, id), l); err != nil {
			return err
		}
	} else if d, ok := v2("cpu"); ok {
		if err := writeCPUV2(d, l); err != nil {
			return err
		}
	}
	if d := m.v1["pids"]; d != "" {
		if err := writePids(filepath.Join(d, id), l); err != nil {
			return err
		}
	} else if d, ok := v2("pids"); ok {
		if err := writePids(d, l); err != nil {
			return err
		}
	}
	return nil
}

// Add moves process pid (with all its threads) into the container: into
// cgroup.procs of every v1 hierarchy and of the v2 leaf. Children it forks
// afterwards are born inside; memory it allocated before stays charged where
// it was. The moves are one per hierarchy, so add a process before it starts
// its work (while it waits on a pipe, say): a child forked in between would
// be inside some hierarchies only.
func (m *Manager) Add(id string, pid int) error {
	if err := validID(id); err != nil {
		return err
	}
	if pid <= 0 || pid == os.Getpid() {
		return fmt.Errorf("cgroups: add %d to %s: refusing to move pid %d", pid, id, pid)
	}
	for _, d := range m.v1dirs {
		if err := writeProc(filepath.Join(d, id), pid); err != nil {
			return fmt.Errorf("cgroups: add %d to %s: %w", pid, id, err)
		}
	}
	if m.v2 != "" {
		if err := writeProc(filepath.Join(m.v2, id, leaf), pid); err != nil {
			return fmt.Errorf("cgroups: add %d to %s: %w", pid, id, err)
		}
	}
	return nil
}

// writeProc writes pid into dir/cgroup.procs. EINVAL can mean the process is
// still being created (TASK_NEW); it is retried briefly, as runc does.
func writeProc(dir string, pid int) error {
	var err error
	for range 5 {
		err = writeString(dir, "cgroup.procs", strconv.Itoa(pid))
		if !errors.Is(err, syscall.EINVAL) {
			return err
		}
		time.Sleep(20 * time.Millisecond)
	}
	return err
}

// Exists says whether the container has a cgroup in any hierarchy.
func (m *Manager) Exists(id string) bool {
	if validID(id) != nil {
		return false
	}
	for _, d := range m.dirs(id) {
		if _, err := os.Stat(d); err == nil {
			return true
		}
	}
	return false
}

// List returns, sorted, the ids of the containers that have a cgroup in any
// hierarchy under this agent's root: after an agent restart, those the
// agent does not know are orphans to Destroy.
func (m *Manager) List() ([]string, error) {
	roots := slices.Clone(m.v1dirs)
	if m.v2 != "" {
		roots = append(roots, m.v2)
	}
	var ids []string
	for _, r := range roots {
		ents, err := os.ReadDir(r)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("cgroups: list: %w", err)
		}
		for _, e := range ents {
			if e.IsDir() && validID(e.Name()) == nil && !slices.Contains(ids, e.Name()) {
				ids = append(ids, e.Name())
			}
		}
	}
	slices.Sort(ids)
	return ids, nil
}

// Destroy kills every process of the container (Kill) and removes its
// cgroups from every hierarchy, children first. A container that does not
// exist is not an error.
func (m *Manager) Destroy(id string) error {
	if err := m.Kill(id); err != nil {
		return err
	}
	deadline := time.Now().Add(m.killTimeout)
	var errs []error
	for _, d := range m.dirs(id) {
		if err := rmdirTree(d, deadline); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("cgroups: destroy %s: %w", id, err)
	}
	return nil
}

// RemoveRoot destroys every container under the root, then removes the root
// itself and its parents up to the mount point as long as they are empty
// (another agent's root keeps a shared "strata" parent alive).
func (m *Manager) RemoveRoot() error {
	ids, err := m.List()
	if err != nil {
		return err
	}
	var errs []error
	for _, id := range ids {
		if err := m.Destroy(id); err != nil {
			errs = append(errs, err)
		}
	}
	roots := slices.Clone(m.v1dirs)
	if m.v2 != "" {
		roots = append(roots, m.v2)
	}
	depth := strings.Count(m.root, "/") + 1
	for _, r := range roots {
		d := r
		for i := 0; i < depth; i++ {
			err := syscall.Rmdir(d)
			if err == nil || errors.Is(err, syscall.ENOENT) {
				d = filepath.Dir(d)
				continue
			}
			if i == 0 {
				errs = append(errs, fmt.Errorf("cgroups: remove root %s: %w", d, err))
			}
			break // a parent still in use by another root
		}
	}
	return errors.Join(errs...)
}
