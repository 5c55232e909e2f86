package proc

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
)

// procStat is the part of /proc/<pid>/stat this package uses.
type procStat struct {
	pid   int
	state byte
	ppid  int
	pgrp  int
	start uint64 // starttime, clock ticks after boot
}

// alive reports whether the process can still run (it is not a zombie).
func (s procStat) alive() bool { return s.state != 'Z' && s.state != 'X' && s.state != 'x' }

var errMalformedStat = errors.New("malformed stat line")

// parseStat parses the contents of /proc/<pid>/stat. The command name (field
// 2) is in parentheses and may itself contain spaces and parentheses, so the
// fields after it are found from the last ')'.
func parseStat(b []byte) (procStat, error) {
	open := bytes.IndexByte(b, '(')
	closing := bytes.LastIndexByte(b, ')')
	if open <= 0 || closing < open {
		return procStat{}, errMalformedStat
	}
	pid, err := strconv.Atoi(string(bytes.TrimSpace(b[:open])))
	if err != nil {
		return procStat{}, errMalformedStat
	}
	// Fields 3 onwards; starttime is field 22, so index 19 here.
	fields := bytes.Fields(b[closing+1:])
	if len(fields) < 20 || len(fields[0]) != 1 {
		return procStat{}, errMalformedStat
	}
	s := procStat{pid: pid, state: fields[0][0]}
	if s.ppid, err = strconv.Atoi(string(fields[1])); err != nil {
		return procStat{}, errMalformedStat
	}
	if s.pgrp, err = strconv.Atoi(string(fields[2])); err != nil {
		return procStat{}, errMalformedStat
	}
	if s.start, err = strconv.ParseUint(string(fields[19]), 10, 64); err != nil {
		return procStat{}, errMalformedStat
	}
	return s, nil
}

func readStat(pid int) (procStat, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procStat{}, err
	}
	s, err := parseStat(b)
	if err != nil {
		return procStat{}, fmt.Errorf("proc: /proc/%d/stat: %w", pid, err)
	}
	return s, nil
}

// snapshot reads the stat line of every process visible in /proc. Processes
// that vanish while it reads are skipped.
func snapshot() (map[int]procStat, error) {
	d, err := os.Open("/proc")
	if err != nil {
		return nil, fmt.Errorf("proc: read /proc: %w", err)
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return nil, fmt.Errorf("proc: read /proc: %w", err)
	}
	all := make(map[int]procStat, len(names))
	for _, name := range names {
		pid, err := strconv.Atoi(name)
		if err != nil || pid <= 0 {
			continue
		}
		s, err := readStat(pid)
		if err != nil {
			continue
		}
		all[pid] = s
	}
	return all, nil
}

// descendants returns root followed by all its descendants in breadth-first
// order, following the ppid links of the snapshot. It returns nil if root is
// not in the snapshot.
func descendants(all map[int]procStat, root int) []int {
	if _, ok := all[root]; !ok {
		return nil
	}
	children := make(map[int][]int)
	for pid, s := range all {
		children[s.ppid] = append(children[s.ppid], pid)
	}
	out := []int{root}
	seen := map[int]bool{root: true}
	for i := 0; i < len(out); i++ {
		for _, c := range children[out[i]] {
			if !seen[c] {
				seen[c] = true
				out = append(out, c)
			}
		}
	}
	return out
}

// PIDTree returns pid followed by all of its descendants (children,
// grandchildren, ...) in breadth-first order, from a snapshot of /proc. It
// returns nil if pid does not exist. Processes reparented to init or to a
// subreaper after their parent died are no longer descendants of pid.
func PIDTree(pid int) []int {
	all, err := snapshot()
	if err != nil {
		return nil
	}
	return descendants(all, pid)
}
