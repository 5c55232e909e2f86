package posix

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// clockTicks is USER_HZ, the unit of the times in /proc/<pid>/stat. It is 100
// on every Linux architecture Go supports.
const clockTicks = 100

// stat is the part of /proc/<pid>/stat this package uses.
type stat struct {
	pid     int
	state   byte
	ppid    int
	session int
	utime   uint64
	stime   uint64
	cutime  uint64
	cstime  uint64
	threads int
	start   uint64 // clock ticks after boot
	rss     uint64 // pages
}

func (s stat) alive() bool { return s.state != 'Z' && s.state != 'X' && s.state != 'x' }

var errBadStat = errors.New("malformed stat")

// parseStat parses a /proc/<pid>/stat line. The command name is inside
// parentheses and may contain anything, so fields are counted from the last
// closing parenthesis.
func parseStat(b []byte) (stat, error) {
	open := bytes.IndexByte(b, '(')
	closing := bytes.LastIndexByte(b, ')')
	if open <= 0 || closing < open {
		return stat{}, errBadStat
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b[:open])))
	if err != nil {
		return stat{}, errBadStat
	}
	f := strings.Fields(string(b[closing+1:]))
	// f[0] is field 3 (state); rss is field 24, i.e. f[21].
	if len(f) < 22 || len(f[0]) != 1 {
		return stat{}, errBadStat
	}
	s := stat{pid: pid, state: f[0][0]}
	ints := []struct {
		idx int
		dst *int
	}{{1, &s.ppid}, {3, &s.session}, {17, &s.threads}}
	for _, x := range ints {
		v, err := strconv.Atoi(f[x.idx])
		if err != nil {
			return stat{}, errBadStat
		}
		*x.dst = v
	}
	uints := []struct {
		idx int
		dst *uint64
	}{{11, &s.utime}, {12, &s.stime}, {13, &s.cutime}, {14, &s.cstime}, {19, &s.start}, {21, &s.rss}}
	for _, x := range uints {
		v, err := strconv.ParseInt(f[x.idx], 10, 64)
		if err != nil {
			return stat{}, errBadStat
		}
		if v < 0 {
			v = 0
		}
		*x.dst = uint64(v)
	}
	return s, nil
}

func readStat(pid int) (stat, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return stat{}, err
	}
	s, err := parseStat(b)
	if err != nil {
		return stat{}, fmt.Errorf("posix: /proc/%d/stat: %w", pid, err)
	}
	return s, nil
}

// snapshot reads every process's stat line. Processes that vanish while it
// reads are skipped.
func snapshot() (map[int]stat, error) {
	d, err := os.Open("/proc")
	if err != nil {
		return nil, fmt.Errorf("posix: read /proc: %w", err)
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return nil, fmt.Errorf("posix: read /proc: %w", err)
	}
	all := make(map[int]stat, len(names))
	for _, n := range names {
		pid, err := strconv.Atoi(n)
		if err != nil || pid <= 0 {
			continue
		}
		if s, err := readStat(pid); err == nil {
			all[pid] = s
		}
	}
	return all, nil
}

// members returns the live processes of the session sid started no earlier
// than the session leader (start ticks), plus every live descendant of them.
func members(all map[int]stat, sid int, start uint64) []stat {
	children := make(map[int][]int)
	for pid, s := range all {
		children[s.ppid] = append(children[s.ppid], pid)
	}
	seen := make(map[int]bool)
	var queue []int
	for pid, s := range all {
		if s.session == sid && s.start >= start {
			seen[pid] = true
			queue = append(queue, pid)
		}
	}
	for i := 0; i < len(queue); i++ {
		for _, c := range children[queue[i]] {
			if !seen[c] {
				seen[c] = true
				queue = append(queue, c)
			}
		}
	}
	out := make([]stat, 0, len(queue))
	for _, pid := range queue {
		if s := all[pid]; s.alive() {
			out = append(out, s)
		}
	}
	return out
}

// bootID returns the kernel's boot id, which changes on every reboot.
func bootID() string {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}
