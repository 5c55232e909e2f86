package cgroups

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// DefaultOOMPoll is WatchOOM's poll interval when none is given.
const DefaultOOMPoll = time.Second

// recheck is how often, and how many times, WatchOOM re-reads the counters
// after a kernel notification: the notification can come before the OOM
// killer has picked and counted its victim.
const (
	recheckEvery = 20 * time.Millisecond
	recheckTimes = 10
)

// OOM is the memory state of a container as the OOM killer left it.
type OOM struct {
	// Kills counts the processes the kernel OOM-killed in the container so
	// far (v1 memory.oom_control oom_kill, Linux ≥ 4.13; v2 memory.events
	// oom_kill).
	Kills uint64
	// LimitBytes is the hard limit (0: none).
	LimitBytes uint64
	// UsageBytes is the usage when read, after the victim freed its memory.
	UsageBytes uint64
	// MaxUsageBytes is the peak usage, which an OOM kill puts at the limit
	// (v1 memory.max_usage_in_bytes; v2 memory.peak, Linux ≥ 5.19; 0 when
	// unknown).
	MaxUsageBytes uint64
	// LimitHits counts how often usage hit the limit (v1 memory.failcnt, v2
	// memory.events max).
	LimitHits uint64
}

// OOMState reads the container's OOM counters and memory figures now.
func (m *Manager) OOMState(id string) (OOM, error) {
	if err := validID(id); err != nil {
		return OOM{}, err
	}
	dir, v, err := m.memoryDir(id)
	if err != nil {
		return OOM{}, err
	}
	o, err := readOOM(dir, v)
	if err != nil {
		return OOM{}, fmt.Errorf("cgroups: oom state %s: %w", id, err)
	}
	return o, nil
}

func readOOM(dir string, version int) (OOM, error) {
	var o OOM
	var err error
	if version == 1 {
		oc, err := readKeyed(dir, "memory.oom_control")
		if err != nil {
			return o, err
		}
		o.Kills = oc["oom_kill"]
		if o.LimitBytes, err = readUint(dir, "memory.limit_in_bytes"); err != nil {
			return o, err
		}
		if o.LimitBytes >= unlimitedV1Min {
			o.LimitBytes = 0
		}
		if o.UsageBytes, err = readUint(dir, "memory.usage_in_bytes"); err != nil {
			return o, err
		}
		if o.MaxUsageBytes, err = readUint(dir, "memory.max_usage_in_bytes"); err != nil {
			return o, err
		}
		o.LimitHits, err = readUint(dir, "memory.failcnt")
		return o, err
	}
	ev, err := readKeyed(dir, "memory.events")
	if err != nil {
		return o, err
	}
	o.Kills, o.LimitHits = ev["oom_kill"], ev["max"]
	if o.LimitBytes, err = readUint(dir, "memory.max"); err != nil {
		return o, err
	}
	if o.LimitBytes == Unlimited {
		o.LimitBytes = 0
	}
	if o.UsageBytes, err = readUint(dir, "memory.current"); err != nil {
		return o, err
	}
	if peak, err := readUint(dir, "memory.peak"); err == nil {
		o.MaxUsageBytes = peak
	} else if !errors.Is(err, fs.ErrNotExist) {
		return o, err
	}
	return o, nil
}

// WatchOOM reports every increase of the container's OOM kill counter on
// the returned channel, with the memory figures read right after. The
// channel is closed when ctx is done or the container's cgroup is removed.
//
// Latency: the counters are polled every interval (DefaultOOMPoll when 0).
// On top of that the kernel is asked to wake the watcher: on v1 an eventfd
// registered for memory.oom_control through cgroup.event_control, on v2
// inotify on memory.events. Woken, the watcher re-reads the counters every
// 20 ms for 200 ms, so an OOM kill is normally reported within tens of
// milliseconds and at the latest after one interval when no notification
// can be set up.
func (m *Manager) WatchOOM(ctx context.Context, id string, interval time.Duration) (<-chan OOM, error) {
	if err := validID(id); err != nil {
		return nil, err
	}
	dir, v, err := m.memoryDir(id)
	if err != nil {
		return nil, err
	}
	if interval <= 0 {
		interval = DefaultOOMPoll
	}
	base, err := readOOM(dir, v)
	if err != nil {
		return nil, fmt.Errorf("cgroups: watch oom %s: %w", id, err)
	}
	var w *waker
	if v == 1 {
		w, err = oomEventfd(dir)
	} else {
		w, err = inotifyWaker(filepath.Join(dir, "memory.events"))
	}
	if err != nil {
		m.log.Debug("cgroups: no oom notification, polling only", "container", id, "err", err)
	}
	ch := make(chan OOM)
	go func() {
		defer close(ch)
		defer w.close()
		last := base.Kills
		timer := time.NewTimer(interval)
		defer timer.Stop()
		fast := 0
		for {
			select {
			case <-ctx.Done():
				return
			case <-w.wake():
				fast = recheckTimes
			case <-timer.C:
			}
			o, err := readOOM(dir, v)
			if errors.Is(err, fs.ErrNotExist) {
				return // destroyed
			}
			if err != nil {
				m.log.Warn("cgroups: read oom state", "container", id, "err", err)
			} else if o.Kills > last {
				last = o.Kills
				select {
				case ch <- o:
				case <-ctx.Done():
					return
				}
			}
			next := interval
			if fast > 0 {
				fast--
				next = recheckEvery
			}
			timer.Reset(next)
		}
	}()
	return ch, nil
}

// waker turns kernel notifications on a file descriptor (an eventfd or an
// inotify instance, read through the runtime poller) into wake-ups. A nil
// waker never wakes.
type waker struct {
	f *os.File
	c chan struct{}
}

func newWaker(fd int, name string) *waker {
	w := &waker{f: os.NewFile(uintptr(fd), name), c: make(chan struct{}, 1)}
	go func() {
		buf := make([]byte, 4096)
		for {
			if _, err := w.f.Read(buf); err != nil {
				return // closed, or the watched cgroup is gone
			}
			select {
			case w.c <- struct{}{}:
			default:
			}
		}
	}()
	return w
}

func (w *waker) wake() <-chan struct{} {
	if w == nil {
		return nil
	}
	return w.c
}

func (w *waker) close() {
	if w != nil {
		w.f.Close()
	}
}

// oomEventfd registers an eventfd for OOM notifications of the v1 memory
// cgroup dir: "<eventfd> <fd of memory.oom_control>" written to
// cgroup.event_control (cgroup-v1/memory.rst, "OOM Control").
func oomEventfd(dir string) (*waker, error) {
	efd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("eventfd: %w", err)
	}
	ctl, err := os.Open(filepath.Join(dir, "memory.oom_control"))
	if err != nil {
		unix.Close(efd)
		return nil, fmt.Errorf("oom notification: %w", err)
	}
	defer ctl.Close()
	reg := strconv.Itoa(efd) + " " + strconv.Itoa(int(ctl.Fd()))
	if err := writeString(dir, "cgroup.event_control", reg); err != nil {
		unix.Close(efd)
		return nil, err
	}
	return newWaker(efd, "oom-eventfd"), nil
}

// inotifyWaker wakes on every modification of path; cgroupfs signals
// changes of memory.events and cgroup.events this way (cgroup-v2.rst).
func inotifyWaker(path string) (*waker, error) {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("inotify: %w", err)
	}
	if _, err := unix.InotifyAddWatch(fd, path, unix.IN_MODIFY); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("inotify %s: %w", path, err)
	}
	return newWaker(fd, "inotify"), nil
}
