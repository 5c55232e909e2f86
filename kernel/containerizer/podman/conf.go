package podman

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Ulimit is one resource limit every container of the service gets, in
// containers.conf's default_ulimits form "name=soft:hard".
type Ulimit struct {
	// Name is the ulimit name podman knows: "nofile", "nproc", ...
	Name string
	Soft uint64
	Hard uint64
}

func (u Ulimit) String() string {
	return fmt.Sprintf("%s=%d:%d", u.Name, u.Soft, u.Hard)
}

// podmanNofileMax is the open-files limit podman asks for itself and for
// containers when nothing else is configured (1048576).
const podmanNofileMax = 1 << 20

// DefaultUlimits returns the nofile and nproc ulimits a podman service
// started by this process can grant its containers: podman refuses to start a
// container whose limits exceed its own hard limits ("error setting rlimit
// type 7: operation not permitted"), and without default_ulimits it asks for
// 1048576 of each. A service inherits our hard limits; podman then lowers its
// own nproc to kernel.pid_max and its nofile to 1048576, so the defaults are
// the minimum of those.
func DefaultUlimits() []Ulimit {
	nofile := hardLimit(unix.RLIMIT_NOFILE, podmanNofileMax)
	nofile = min(nofile, podmanNofileMax)
	nproc := hardLimit(unix.RLIMIT_NPROC, 1<<22)
	if pidMax, err := readUint("/proc/sys/kernel/pid_max"); err == nil && pidMax > 0 {
		nproc = min(nproc, pidMax)
	}
	return []Ulimit{
		{Name: "nofile", Soft: nofile, Hard: nofile},
		{Name: "nproc", Soft: nproc, Hard: nproc},
	}
}

// hardLimit returns this process's hard limit for resource, or def when it is
// unlimited or cannot be read.
func hardLimit(resource int, def uint64) uint64 {
	var rl unix.Rlimit
	if err := unix.Getrlimit(resource, &rl); err != nil || rl.Max == unix.RLIM_INFINITY {
		return def
	}
	return rl.Max
}

func readUint(path string) (uint64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
}

// containersConf renders the containers.conf(5) of an agent's podman service.
// The runtime is runc (crun fails on hybrid cgroup hosts such as Debian 12
// with cgroup v1), cgroups are managed by podman itself (no systemd), events go
// to a file (no journald), containers get explicit ulimits that fit within the
// service's own, no default pids limit (Mesos sets none either), logs go to
// k8s-file logs, which the package follows into the sandbox, and exec
// sessions (health checks) are cleaned up 10 s after they end.
func containersConf(ulimits []Ulimit) string {
	var b strings.Builder
	b.WriteString("# Written by the strata agent for its own podman service; rewritten at every start.\n")
	b.WriteString("[containers]\n")
	b.WriteString("default_ulimits = [")
	for i, u := range ulimits {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%q", u.String())
	}
	b.WriteString("]\n")
	b.WriteString("log_driver = \"k8s-file\"\n")
	b.WriteString("pids_limit = 0\n")
	b.WriteString("\n[engine]\n")
	b.WriteString("runtime = \"runc\"\n")
	b.WriteString("cgroup_manager = \"cgroupfs\"\n")
	b.WriteString("events_logger = \"file\"\n")
	// An exec session started over the API is cleaned up (conmon gone,
	// session dropped from the database) this many seconds after it ends;
	// the default of 300 keeps a conmon per health check alive for 5 min.
	b.WriteString("exit_command_delay = 10\n")
	return b.String()
}

// processLimits reads the hard nofile and nproc limits of process pid from
// /proc/<pid>/limits.
func processLimits(pid int) (nofile, nproc uint64, err error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/limits", pid))
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		var target *uint64
		switch {
		case strings.HasPrefix(line, "Max open files"):
			target = &nofile
		case strings.HasPrefix(line, "Max processes"):
			target = &nproc
		default:
			continue
		}
		fields := strings.Fields(line)
		// "Max processes  <soft> <hard> <unit>": the hard limit is the
		// second to last field.
		if len(fields) < 4 {
			return 0, 0, fmt.Errorf("malformed limits line %q", line)
		}
		hard := fields[len(fields)-2]
		if hard == "unlimited" {
			*target = unix.RLIM_INFINITY
			continue
		}
		v, err := strconv.ParseUint(hard, 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("malformed limits line %q: %w", line, err)
		}
		*target = v
	}
	if err := sc.Err(); err != nil {
		return 0, 0, err
	}
	if nofile == 0 || nproc == 0 {
		return 0, 0, fmt.Errorf("/proc/%d/limits lacks open files or processes", pid)
	}
	return nofile, nproc, nil
}

// fitUlimits lowers the nofile and nproc entries of want to at most the given
// hard limits and reports whether anything changed.
func fitUlimits(want []Ulimit, nofile, nproc uint64) ([]Ulimit, bool) {
	out := make([]Ulimit, len(want))
	changed := false
	for i, u := range want {
		limit := uint64(0)
		switch u.Name {
		case "nofile":
			limit = nofile
		case "nproc":
			limit = nproc
		}
		if limit != 0 && u.Hard > limit {
			u.Hard = limit
			changed = true
		}
		if u.Soft > u.Hard {
			u.Soft = u.Hard
			changed = true
		}
		out[i] = u
	}
	return out, changed
}
