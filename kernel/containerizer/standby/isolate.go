package standby

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// mount sets up the container's mount namespace: nothing it mounts may
// propagate back to the host, then the private /tmp and /proc. dir is a host
// directory (the sandbox) that must stay visible at its path even when it
// lies under /tmp: it is bound again inside the private /tmp, as are the
// directories of m.Keep that exist.
func mount(m Mounts, dir string) error {
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("standby: make mounts private: %w", err)
	}
	if m.PrivateTmp != "" {
		if err := os.MkdirAll(m.PrivateTmp, 0o1777); err != nil {
			return fmt.Errorf("standby: private /tmp: %w", err)
		}
		// MkdirAll applies the umask; /tmp needs the sticky, world-writable mode.
		if err := os.Chmod(m.PrivateTmp, 0o1777|os.ModeSticky); err != nil {
			return fmt.Errorf("standby: private /tmp: %w", err)
		}
		// Open what must stay visible before /tmp is covered: the open
		// descriptors reach the host directories afterwards.
		type kept struct {
			f    *os.File
			path string
		}
		var keep []kept
		defer func() {
			for _, k := range keep {
				k.f.Close()
			}
		}()
		for i, p := range append([]string{dir}, m.Keep...) {
			if _, ok := underTmp(p); !ok {
				continue
			}
			f, err := os.OpenFile(p, unix.O_PATH|unix.O_DIRECTORY, 0)
			if err != nil {
				if i > 0 && errors.Is(err, os.ErrNotExist) {
					continue
				}
				return fmt.Errorf("standby: private /tmp: %w", err)
			}
			keep = append(keep, kept{f: f, path: filepath.Clean(p)})
		}
		if err := unix.Mount(m.PrivateTmp, "/tmp", "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return fmt.Errorf("standby: bind %s on /tmp: %w", m.PrivateTmp, err)
		}
		for _, k := range keep {
			if err := os.MkdirAll(k.path, 0o755); err != nil {
				return fmt.Errorf("standby: private /tmp: %w", err)
			}
			src := fmt.Sprintf("/proc/self/fd/%d", k.f.Fd())
			if err := unix.Mount(src, k.path, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
				return fmt.Errorf("standby: bind %s in the private /tmp: %w", k.path, err)
			}
		}
	}
	if m.Proc {
		if err := unix.Mount("proc", "/proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
			return fmt.Errorf("standby: mount /proc: %w", err)
		}
	}
	return nil
}

// underTmp reports whether dir lies under /tmp, and its path relative to it.
func underTmp(dir string) (string, bool) {
	if dir == "" {
		return "", false
	}
	rel, err := filepath.Rel("/tmp", filepath.Clean(dir))
	if err != nil || rel == "." || rel == ".." || strings.HasPrefix(rel, "../") {
		return "", false
	}
	return rel, true
}

// switchUser drops to the credential: supplementary groups, then group, then
// user (Go applies these to every thread of the process).
func switchUser(c Credential) error {
	groups := make([]int, len(c.Groups))
	for i, g := range c.Groups {
		groups[i] = int(g)
	}
	if err := syscall.Setgroups(groups); err != nil {
		return fmt.Errorf("standby: setgroups: %w", err)
	}
	if err := syscall.Setgid(int(c.GID)); err != nil {
		return fmt.Errorf("standby: setgid %d: %w", c.GID, err)
	}
	if err := syscall.Setuid(int(c.UID)); err != nil {
		return fmt.Errorf("standby: setuid %d: %w", c.UID, err)
	}
	return nil
}
