package logrotate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Defaults of Config.
const (
	DefaultMaxSize  = 10 << 20
	DefaultKeep     = 5
	DefaultInterval = time.Second
)

// Config configures a Rotator.
type Config struct {
	// MaxSize is the size above which a file is rotated; zero means
	// DefaultMaxSize, negative disables rotation.
	MaxSize int64
	// Keep is how many rotated files (NAME.1 … NAME.Keep) are kept; zero
	// means DefaultKeep.
	Keep int
	// Interval is the time between sweeps; zero means DefaultInterval.
	Interval time.Duration
	// Logger receives diagnostics; nil means slog.Default().
	Logger *slog.Logger
}

// Rotator rotates the output files of the sandboxes added to it.
type Rotator struct {
	cfg Config
	log *slog.Logger

	mu   sync.Mutex
	dirs map[string]struct{}

	rotations atomic.Uint64
	fallbacks atomic.Uint64
}

// New returns a Rotator; call Run to start sweeping.
func New(cfg Config) *Rotator {
	if cfg.MaxSize == 0 {
		cfg.MaxSize = DefaultMaxSize
	}
	if cfg.Keep <= 0 {
		cfg.Keep = DefaultKeep
	}
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Rotator{cfg: cfg, log: log.With("component", "logrotate"), dirs: make(map[string]struct{})}
}

// Enabled reports whether the rotator rotates anything.
func (r *Rotator) Enabled() bool { return r.cfg.MaxSize > 0 }

// MaxSize is the configured cap (negative: disabled).
func (r *Rotator) MaxSize() int64 { return r.cfg.MaxSize }

// Add starts watching the sandbox dir: its stdout and stderr, and those of
// the tasks under dir/tasks/*.
func (r *Rotator) Add(dir string) {
	r.mu.Lock()
	r.dirs[dir] = struct{}{}
	r.mu.Unlock()
}

// Remove stops watching dir.
func (r *Rotator) Remove(dir string) {
	r.mu.Lock()
	delete(r.dirs, dir)
	r.mu.Unlock()
}

// Rotations is the number of rotations done so far.
func (r *Rotator) Rotations() uint64 { return r.rotations.Load() }

// Fallbacks is the number of rotations that had to use copytruncate.
func (r *Rotator) Fallbacks() uint64 { return r.fallbacks.Load() }

// Run sweeps every Interval until ctx ends.
func (r *Rotator) Run(ctx context.Context) {
	if !r.Enabled() {
		return
	}
	t := time.NewTicker(r.cfg.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			r.Sweep()
		}
	}
}

// Sweep checks every watched file once and rotates those over the cap.
func (r *Rotator) Sweep() {
	if !r.Enabled() {
		return
	}
	r.mu.Lock()
	dirs := make([]string, 0, len(r.dirs))
	for d := range r.dirs {
		dirs = append(dirs, d)
	}
	r.mu.Unlock()
	for _, d := range dirs {
		for _, p := range outputFiles(d) {
			rotated, fallback, err := Rotate(p, r.cfg.MaxSize, r.cfg.Keep)
			if err != nil {
				r.log.Warn("rotate sandbox output", "file", p, "error", err)
				continue
			}
			if rotated {
				r.rotations.Add(1)
			}
			if fallback {
				r.fallbacks.Add(1)
			}
		}
	}
}

// outputFiles lists the output files of sandbox dir that exist.
func outputFiles(dir string) []string {
	var out []string
	for _, name := range []string{"stdout", "stderr"} {
		out = append(out, filepath.Join(dir, name))
	}
	if tasks, err := filepath.Glob(filepath.Join(dir, "tasks", "*")); err == nil {
		for _, t := range tasks {
			out = append(out, filepath.Join(t, "stdout"), filepath.Join(t, "stderr"))
		}
	}
	return out
}

// Rotate rotates path if it is larger than maxSize, keeping keep rotated
// files. It reports whether it rotated, and whether it had to fall back to
// copytruncate. A missing file is not an error.
func Rotate(path string, maxSize int64, keep int) (rotated, fallback bool, err error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return false, false, nil
		}
		return false, false, fmt.Errorf("logrotate: %w", err)
	}
	defer f.Close()
	var st syscall.Stat_t
	if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
		return false, false, fmt.Errorf("logrotate: stat %s: %w", path, err)
	}
	if st.Size <= maxSize {
		return false, false, nil
	}
	block := int64(st.Blksize)
	if block <= 0 {
		block = 4096
	}
	// The whole blocks of the content so far go to NAME.1, but never all of
	// it: a collapsed range may not reach the end of the file.
	n := (st.Size - 1) / block * block
	tmp := path + ".rotating"
	if err := copyHead(f, tmp, n, st.Mode&0o777, int(st.Uid), int(st.Gid)); err != nil {
		return false, false, err
	}
	if err := shift(path, keep); err != nil {
		os.Remove(tmp)
		return false, false, err
	}
	if err := os.Rename(tmp, path+".1"); err != nil {
		os.Remove(tmp)
		return false, false, fmt.Errorf("logrotate: %w", err)
	}
	err = unix.Fallocate(int(f.Fd()), unix.FALLOC_FL_COLLAPSE_RANGE, 0, n)
	if err == nil {
		return true, false, nil
	}
	if !errors.Is(err, unix.EOPNOTSUPP) && !errors.Is(err, unix.EINVAL) {
		return true, false, fmt.Errorf("logrotate: collapse %s: %w", path, err)
	}
	// copytruncate: what was written after the first n bytes goes to NAME.1
	// as well, then NAME is emptied.
	one, err := os.OpenFile(path+".1", os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return true, true, fmt.Errorf("logrotate: %w", err)
	}
	defer one.Close()
	if _, err := f.Seek(n, io.SeekStart); err != nil {
		return true, true, fmt.Errorf("logrotate: %w", err)
	}
	if _, err := io.Copy(one, f); err != nil {
		return true, true, fmt.Errorf("logrotate: copy %s: %w", path, err)
	}
	if err := f.Truncate(0); err != nil {
		return true, true, fmt.Errorf("logrotate: truncate %s: %w", path, err)
	}
	return true, true, nil
}

// copyHead copies the first n bytes of f into a new file tmp with the given
// mode and owner.
func copyHead(f *os.File, tmp string, n int64, mode uint32, uid, gid int) error {
	out, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, os.FileMode(mode))
	if err != nil {
		return fmt.Errorf("logrotate: %w", err)
	}
	_ = out.Chown(uid, gid)
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		out.Close()
		os.Remove(tmp)
		return fmt.Errorf("logrotate: %w", err)
	}
	// io.Copy from a LimitedReader of a file lets the kernel copy
	// (copy_file_range) without passing the data through user space.
	if _, err := io.Copy(out, io.LimitReader(f, n)); err != nil {
		out.Close()
		os.Remove(tmp)
		return fmt.Errorf("logrotate: copy: %w", err)
	}
	if err := out.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("logrotate: %w", err)
	}
	return nil
}

// shift renames NAME.k to NAME.k+1 for k = keep-1 … 1 and deletes NAME.keep.
func shift(path string, keep int) error {
	if err := os.Remove(fmt.Sprintf("%s.%d", path, keep)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("logrotate: %w", err)
	}
	for k := keep - 1; k >= 1; k-- {
		from := fmt.Sprintf("%s.%d", path, k)
		if err := os.Rename(from, fmt.Sprintf("%s.%d", path, k+1)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("logrotate: %w", err)
		}
	}
	return nil
}
