package cgroups

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/sys/unix"
)

// Mode is how the host mounts its cgroup hierarchies.
type Mode string

const (
	// ModeNone: no cgroup hierarchy is mounted.
	ModeNone Mode = "none"
	// ModeV1: only v1 hierarchies, one mount per controller or per group of
	// co-mounted controllers (cpu,cpuacct).
	ModeV1 Mode = "v1"
	// ModeHybrid: v1 hierarchies hold the controllers and a cgroup2 mount
	// (usually /sys/fs/cgroup/unified) tracks processes.
	ModeHybrid Mode = "hybrid"
	// ModeV2: the unified hierarchy alone, controllers included.
	ModeV2 Mode = "v2"
)

// used lists the controllers this package drives, in a stable order.
var used = []string{"cpu", "cpuacct", "memory", "pids", "freezer"}

// Controller says where one controller lives and whether Strata can use it.
type Controller struct {
	Name    string
	Version int    // 1 or 2; 0 when the controller is nowhere to be found
	Mount   string // mount point of its hierarchy
	Usable  bool
	Reason  string // why it is not usable; empty when usable
}

// Info is what Detect found.
type Info struct {
	Mode Mode
	// V1 maps every mounted v1 controller to its mount point; co-mounted
	// controllers share one (cpu and cpuacct both map to .../cpu,cpuacct).
	V1 map[string]string
	// Unified is the cgroup2 mount point, empty when there is none.
	Unified string
	// UnifiedUsable says whether cgroups can be created under Unified;
	// UnifiedReason says why not.
	UnifiedUsable bool
	UnifiedReason string
	// UnifiedControllers is the content of the cgroup2 root's
	// cgroup.controllers: the controllers a child of the root can enable.
	UnifiedControllers []string
	// Controllers describes cpu, cpuacct, memory, pids and freezer, the
	// controllers this package drives. cpuacct and freezer are
	// reported on v2 too, where the core files (cpu.stat, cgroup.freeze,
	// cgroup.kill) do their jobs.
	Controllers map[string]Controller
}

// Detect reads /proc/self/mountinfo and /proc/cgroups and checks which
// hierarchies this process may write to.
func Detect() (Info, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return Info{Mode: ModeNone}, fmt.Errorf("cgroups: detect: %w", err)
	}
	defer f.Close()
	mounts, err := parseMountinfo(f)
	if err != nil {
		return Info{Mode: ModeNone}, err
	}
	enabled := map[string]bool(nil) // nil: unknown
	if b, err := os.ReadFile("/proc/cgroups"); err == nil {
		enabled = parseProcCgroups(string(b))
	}
	return detectFrom(mounts, enabled, os.Geteuid()), nil
}

// mount is one cgroup or cgroup2 line of mountinfo.
type mount struct {
	point     string
	fstype    string
	readOnly  bool
	superOpts []string
}

// parseMountinfo returns the cgroup and cgroup2 mounts of a
// /proc/<pid>/mountinfo (proc(5)): "id parent maj:min root point opts
// [optional...] - fstype source superopts".
func parseMountinfo(r io.Reader) ([]mount, error) {
	var out []mount
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		sep := slices.Index(fields, "-")
		if sep < 6 || len(fields) < sep+3 {
			continue
		}
		fstype := fields[sep+1]
		if fstype != "cgroup" && fstype != "cgroup2" {
			continue
		}
		out = append(out, mount{
			point:     unescapeMount(fields[4]),
			fstype:    fstype,
			readOnly:  slices.Contains(strings.Split(fields[5], ","), "ro"),
			superOpts: strings.Split(fields[sep+3], ","),
		})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("cgroups: read mountinfo: %w", err)
	}
	return out, nil
}

// unescapeMount undoes the octal escapes (\040 for a space) of mountinfo.
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if c, ok := octal(s[i+1 : i+4]); ok {
				b.WriteByte(c)
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func octal(s string) (byte, bool) {
	if len(s) != 3 {
		return 0, false
	}
	var v int
	for _, c := range s {
		if c < '0' || c > '7' {
			return 0, false
		}
		v = v*8 + int(c-'0')
	}
	return byte(v), v < 256
}

// v1Options are the super options of a v1 mount that are not controllers.
var v1Options = map[string]bool{
	"rw": true, "ro": true, "noprefix": true, "clone_children": true,
	"xattr": true, "cpuset_v2_mode": true, "favordynmods": true,
}

// parseProcCgroups maps each controller of /proc/cgroups to its "enabled"
// column.
func parseProcCgroups(s string) map[string]bool {
	m := make(map[string]bool)
	for _, line := range strings.Split(s, "\n") {
		f := strings.Fields(line)
		if len(f) < 4 || strings.HasPrefix(f[0], "#") {
			continue
		}
		m[f[0]] = f[3] == "1"
	}
	return m
}

// detectFrom builds an Info from parsed mounts. enabled is /proc/cgroups (nil
// when unknown); euid only words the reason of an unwritable hierarchy.
func detectFrom(mounts []mount, enabled map[string]bool, euid int) Info {
	info := Info{V1: make(map[string]string), Controllers: make(map[string]Controller)}
	v1ro := make(map[string]bool)
	for _, m := range mounts {
		switch m.fstype {
		case "cgroup2":
			if info.Unified == "" {
				info.Unified = m.point
				info.UnifiedReason = writable(m.point, m.readOnly, euid)
				info.UnifiedUsable = info.UnifiedReason == ""
			}
		case "cgroup":
			for _, o := range m.superOpts {
				if v1Options[o] || strings.HasPrefix(o, "name=") || strings.HasPrefix(o, "release_agent=") {
					continue
				}
				if _, seen := info.V1[o]; !seen {
					info.V1[o] = m.point
					v1ro[m.point] = m.readOnly
				}
			}
		}
	}
	if info.Unified != "" {
		if s, err := readString(info.Unified, "cgroup.controllers"); err == nil {
			info.UnifiedControllers = strings.Fields(s)
		}
	}
	switch {
	case len(info.V1) > 0 && info.Unified != "":
		info.Mode = ModeHybrid
	case len(info.V1) > 0:
		info.Mode = ModeV1
	case info.Unified != "":
		info.Mode = ModeV2
	default:
		info.Mode = ModeNone
	}
	for _, name := range used {
		info.Controllers[name] = info.controller(name, v1ro, enabled, euid)
	}
	return info
}

func (info *Info) controller(name string, v1ro map[string]bool, enabled map[string]bool, euid int) Controller {
	c := Controller{Name: name}
	if p, ok := info.V1[name]; ok {
		c.Version, c.Mount = 1, p
		c.Reason = writable(p, v1ro[p], euid)
		c.Usable = c.Reason == ""
		return c
	}
	if info.Unified != "" {
		// cpuacct and freezer have no v2 controller: the core files
		// (cpu.stat usage, cgroup.freeze) exist in every v2 cgroup.
		core := name == "cpuacct" || name == "freezer"
		if core || slices.Contains(info.UnifiedControllers, name) {
			c.Version, c.Mount = 2, info.Unified
			c.Usable, c.Reason = info.UnifiedUsable, info.UnifiedReason
			return c
		}
	}
	switch on, known := enabled[name]; {
	case enabled != nil && !known:
		c.Reason = "missing: not built into the kernel"
	case known && !on:
		c.Reason = "missing: disabled on the kernel command line"
	case info.Unified != "" && len(info.V1) == 0:
		c.Reason = "missing: not in " + filepath.Join(info.Unified, "cgroup.controllers")
	case info.Unified != "":
		c.Reason = "missing: neither mounted as v1 nor in " + filepath.Join(info.Unified, "cgroup.controllers")
	default:
		c.Reason = "missing: not mounted"
	}
	return c
}

// writable says why cgroups cannot be created under dir ("" when they can).
func writable(dir string, readOnly bool, euid int) string {
	if readOnly {
		return "read-only mount"
	}
	err := unix.Access(dir, unix.W_OK)
	switch {
	case err == nil:
		return ""
	case errors.Is(err, unix.EROFS):
		return "read-only mount"
	case euid != 0 && (errors.Is(err, unix.EACCES) || errors.Is(err, unix.EPERM)):
		return "not root (no write access to " + dir + ")"
	default:
		return "not writable: " + err.Error()
	}
}

// Usable says whether controller name can be used.
func (info Info) Usable(name string) bool { return info.Controllers[name].Usable }

// String is a one-line summary for the agent's log and its /state flags, e.g.
// "hybrid: cpu=v1:/sys/fs/cgroup/cpu ... unified=/sys/fs/cgroup/unified".
func (info Info) String() string {
	var b strings.Builder
	b.WriteString(string(info.Mode))
	sep := ": "
	for _, name := range used {
		c := info.Controllers[name]
		b.WriteString(sep)
		sep = " "
		if c.Usable {
			fmt.Fprintf(&b, "%s=v%d:%s", name, c.Version, c.Mount)
		} else {
			fmt.Fprintf(&b, "%s=unusable(%s)", name, c.Reason)
		}
	}
	if info.Unified != "" {
		fmt.Fprintf(&b, "%sunified=%s", sep, info.Unified)
		if !info.UnifiedUsable {
			fmt.Fprintf(&b, "(unusable: %s)", info.UnifiedReason)
		} else {
			fmt.Fprintf(&b, "[%s]", strings.Join(info.UnifiedControllers, ","))
		}
	}
	return b.String()
}
