package podman

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// oomWatcher notices the kernel's OOM kill in a container's cgroup v1 memory
// controller. conmon 2.1.6 (Debian 12) does not report it there: podman's
// State.OOMKilled stays false and the cgroup, which counts the kill, is
// removed when the container is cleaned up. So the watcher registers an
// eventfd on memory.oom_control (cgroup.event_control) while the container
// runs and, when it fires, reads the oom_kill counter while the cgroup still
// exists. On cgroup v2 (memory.events) podman's own report is used.
type oomWatcher struct {
	id    string   // podman container id
	name  string   // podman container name
	dir   string   // the container's memory cgroup directory
	event *os.File // eventfd, non-blocking so that Close interrupts Read
	ctl   int      // fd of memory.oom_control, registered with the event
	done  chan struct{}

	fdOnce sync.Once
	mu     sync.Mutex
	killed bool
}

// watchOOM starts a watcher for the container with podman id id and name
// name whose init process is pid, unless one is running or the host is not on
// cgroup v1.
func (c *Client) watchOOM(id, name string, pid int) *oomWatcher {
	c.mu.Lock()
	defer c.mu.Unlock()
	if w, ok := c.watchers[id]; ok {
		return w
	}
	dir, err := memoryCgroupV1(pid)
	if err != nil || dir == "" {
		if err != nil {
			c.log.Debug("no cgroup v1 OOM watch", "id", shortID(id), "err", err)
		}
		return nil
	}
	w, err := newOOMWatcher(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil // the container has just exited
	}
	if err != nil {
		c.log.Warn("cannot watch for OOM kills; OOMKilled relies on podman alone", "id", shortID(id), "err", err)
		return nil
	}
	w.id, w.name = id, name
	c.watchers[id] = w
	return w
}

// takeWatcher removes and returns the watcher of the container with podman
// id or name ref, if any.
func (c *Client) takeWatcher(ref string) *oomWatcher {
	c.mu.Lock()
	defer c.mu.Unlock()
	for id, w := range c.watchers {
		if id == ref || w.name == ref || (len(ref) >= 12 && strings.HasPrefix(id, ref)) {
			delete(c.watchers, id)
			return w
		}
	}
	return nil
}

func newOOMWatcher(dir string) (*oomWatcher, error) {
	ctl, err := unix.Open(filepath.Join(dir, "memory.oom_control"), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open memory.oom_control: %w", err)
	}
	efd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		unix.Close(ctl)
		return nil, fmt.Errorf("eventfd: %w", err)
	}
	reg := fmt.Sprintf("%d %d", efd, ctl)
	if err := os.WriteFile(filepath.Join(dir, "cgroup.event_control"), []byte(reg), 0); err != nil {
		unix.Close(efd)
		unix.Close(ctl)
		return nil, fmt.Errorf("register OOM event: %w", err)
	}
	w := &oomWatcher{dir: dir, event: os.NewFile(uintptr(efd), "oom-eventfd"), ctl: ctl, done: make(chan struct{})}
	go w.run()
	// A cgroup removed while the event was being registered may never
	// signal it; such a container has exited anyway.
	if _, err := os.Stat(dir); err != nil {
		w.close()
		return nil, fmt.Errorf("cgroup removed while registering: %w", err)
	}
	return w, nil
}

// run waits for OOM events until the cgroup is removed or the watcher is
// closed. The kernel signals the eventfd when the cgroup goes away too, but
// not when the registration raced with the removal, so run also looks for
// the directory now and then.
func (w *oomWatcher) run() {
	defer func() {
		w.releaseFDs()
		close(w.done)
	}()
	buf := make([]byte, 8)
	for {
		_ = w.event.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		if _, err := w.event.Read(buf); err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				if _, err := os.Stat(w.dir); err == nil {
					continue
				}
			}
			return // closed, or the cgroup is gone
		}
		// The event fires when the OOM killer is invoked, before the
		// victim is counted; give the counter a moment.
		for i := 0; i < 50; i++ {
			kills, underOOM, err := readOOMControl(w.dir)
			if err != nil {
				return // the cgroup is gone: the container was cleaned up
			}
			if kills > 0 || underOOM {
				w.mu.Lock()
				w.killed = true
				w.mu.Unlock()
				if kills > 0 {
					break
				}
			}
			time.Sleep(2 * time.Millisecond)
		}
	}
}

// result stops the watcher and returns whether an OOM kill was seen. The
// kill is seen as it happens, well before podman reports the exit; grace
// lets an event being handled finish.
func (w *oomWatcher) result(grace time.Duration) bool {
	deadline := time.Now().Add(grace)
	for !w.sawKill() && time.Now().Before(deadline) {
		select {
		case <-w.done:
			deadline = time.Now()
		case <-time.After(10 * time.Millisecond):
		}
	}
	w.close()
	return w.sawKill()
}

func (w *oomWatcher) sawKill() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.killed
}

// close stops the watcher and waits for it.
func (w *oomWatcher) close() {
	w.releaseFDs()
	<-w.done
}

// releaseFDs closes the eventfd (which interrupts run's Read and unregisters
// the event) and memory.oom_control, once.
func (w *oomWatcher) releaseFDs() {
	w.fdOnce.Do(func() {
		w.event.Close()
		unix.Close(w.ctl)
	})
}

// readOOMControl parses memory.oom_control: the oom_kill counter (absent
// before Linux 4.13) and under_oom.
func readOOMControl(dir string) (kills uint64, underOOM bool, err error) {
	b, err := os.ReadFile(filepath.Join(dir, "memory.oom_control"))
	if err != nil {
		return 0, false, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		switch k {
		case "oom_kill":
			kills, _ = strconv.ParseUint(strings.TrimSpace(v), 10, 64)
		case "under_oom":
			underOOM = strings.TrimSpace(v) == "1"
		}
	}
	return kills, underOOM, nil
}

// memoryCgroupV1 returns the cgroup v1 memory directory of process pid, or ""
// when the memory controller is not mounted as cgroup v1.
func memoryCgroupV1(pid int) (string, error) {
	mount, root, err := memoryMountV1()
	if err != nil || mount == "" {
		return "", err
	}
	f, err := os.Open(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// hierarchy-id:controller-list:path
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) != 3 || !hasController(parts[1], "memory") {
			continue
		}
		rel := parts[2]
		if root != "/" {
			rel = strings.TrimPrefix(rel, root)
		}
		return filepath.Join(mount, rel), nil
	}
	if err := sc.Err(); err != nil {
		return "", err
	}
	return "", errors.New("process has no memory cgroup")
}

// memoryMountV1 finds the mount point and root of the cgroup v1 memory
// hierarchy in /proc/self/mountinfo.
func memoryMountV1() (mount, root string, err error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return "", "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		if !ok {
			continue
		}
		fields, after := strings.Fields(pre), strings.Fields(post)
		if len(fields) < 5 || len(after) < 3 || after[0] != "cgroup" {
			continue
		}
		if hasController(after[2], "memory") {
			return fields[4], fields[3], nil
		}
	}
	return "", "", sc.Err()
}

func hasController(list, name string) bool {
	for _, c := range strings.Split(list, ",") {
		if c == name {
			return true
		}
	}
	return false
}
