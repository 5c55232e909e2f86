package cgroups

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The helpers below are the whole file interface of cgroupfs as this package
// uses it: single values, flat "key value" files and pid lists. Interface
// files are never created: opening one that does not exist is an error
// (fs.ErrNotExist), which is how a missing controller shows up.

// readString returns the trimmed content of dir/name.
func readString(dir, name string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		return "", fmt.Errorf("read %s: %w", filepath.Join(dir, name), err)
	}
	return string(bytes.TrimSpace(b)), nil
}

// writeString writes v into dir/name with a single write(2), as cgroupfs
// expects (a value split over two writes is two values).
func writeString(dir, name, v string) error {
	p := filepath.Join(dir, name)
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return fmt.Errorf("write %s: %w", p, err)
	}
	_, werr := f.WriteString(v)
	cerr := f.Close()
	if werr != nil {
		return fmt.Errorf("write %q to %s: %w", v, p, werr)
	}
	if cerr != nil {
		return fmt.Errorf("write %q to %s: %w", v, p, cerr)
	}
	return nil
}

// readUint reads a single unsigned value. "max" (v2) reads as
// math.MaxUint64; a negative value (v1 "-1") also reads as math.MaxUint64.
func readUint(dir, name string) (uint64, error) {
	s, err := readString(dir, name)
	if err != nil {
		return 0, err
	}
	v, err := parseUint(s)
	if err != nil {
		return 0, fmt.Errorf("parse %s: %w", filepath.Join(dir, name), err)
	}
	return v, nil
}

func parseUint(s string) (uint64, error) {
	if s == "max" {
		return math.MaxUint64, nil
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err == nil {
		return v, nil
	}
	if n, ierr := strconv.ParseInt(s, 10, 64); ierr == nil && n < 0 {
		return math.MaxUint64, nil
	}
	return 0, err
}

// readKeyed reads a flat keyed file ("key value" per line: cpu.stat,
// memory.stat, memory.events, memory.oom_control, cpuacct.stat, pids.events,
// cgroup.events). Lines whose value is not an unsigned integer are skipped.
func readKeyed(dir, name string) (map[string]uint64, error) {
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", filepath.Join(dir, name), err)
	}
	return parseKeyed(b), nil
}

func parseKeyed(b []byte) map[string]uint64 {
	m := make(map[string]uint64)
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), " ")
		if !ok {
			continue
		}
		n, err := parseUint(strings.TrimSpace(v))
		if err != nil {
			continue
		}
		m[k] = n
	}
	return m
}

// readPids returns the ids listed in dir/name (cgroup.procs, tasks,
// cgroup.threads).
func readPids(dir, name string) ([]int, error) {
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", filepath.Join(dir, name), err)
	}
	var pids []int
	for _, f := range strings.Fields(string(b)) {
		pid, err := strconv.Atoi(f)
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", filepath.Join(dir, name), err)
		}
		pids = append(pids, pid)
	}
	return pids, nil
}

// subtree returns dir and every cgroup below it, parents before children.
// A missing dir gives an empty list.
func subtree(dir string) ([]string, error) {
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	dirs := []string{dir}
	for i := 0; i < len(dirs); i++ {
		ents, err := os.ReadDir(dirs[i])
		if errors.Is(err, os.ErrNotExist) {
			continue // removed meanwhile
		}
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", dirs[i], err)
		}
		for _, e := range ents {
			if e.IsDir() {
				dirs = append(dirs, filepath.Join(dirs[i], e.Name()))
			}
		}
	}
	return dirs, nil
}

// countIn sums the number of lines of file name over dir's subtree.
func countIn(dir, name string) (uint64, error) {
	dirs, err := subtree(dir)
	if err != nil {
		return 0, err
	}
	var n uint64
	for _, d := range dirs {
		pids, err := readPids(d, name)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return 0, err
		}
		n += uint64(len(pids))
	}
	return n, nil
}

// rmdirTree removes dir and every cgroup below it, children first. A cgroup
// whose last process is still exiting answers EBUSY for a moment, so EBUSY is
// retried until the deadline. A missing dir is not an error.
func rmdirTree(dir string, deadline time.Time) error {
	dirs, err := subtree(dir)
	if err != nil {
		return err
	}
	for i := len(dirs) - 1; i >= 0; i-- {
		delay := time.Millisecond
		for {
			err := syscall.Rmdir(dirs[i])
			if err == nil || errors.Is(err, syscall.ENOENT) {
				break
			}
			if !errors.Is(err, syscall.EBUSY) || time.Now().After(deadline) {
				return fmt.Errorf("rmdir %s: %w", dirs[i], err)
			}
			time.Sleep(delay)
			delay = min(2*delay, 50*time.Millisecond)
		}
	}
	return nil
}
