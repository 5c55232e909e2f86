package podman

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/containers/podman/v4/libpod/define"
	"github.com/containers/podman/v4/pkg/bindings/containers"
)

// The container's output reaches the sandbox in two steps. conmon, which
// supervises the container independently of the agent, of the executor and
// of the podman service, writes everything the container prints to a
// k8s-file log (Spec.LogPath, in the sandbox). CopyLogs follows that file and
// appends each stream's bytes to the sandbox's stdout and stderr, recording
// how far it got in <log>.pos. Nothing is lost while no CopyLogs runs (an
// executor or agent restart): the next one continues from the recorded
// position. A crash between writing to stdout/stderr and recording the
// position repeats at most that last batch.

// logPollInterval is how often CopyLogs looks for new output.
const logPollInterval = 200 * time.Millisecond

// CopyLogs copies the output of the container (its name or id) from its
// k8s-file log to sandbox/stdout and sandbox/stderr until the container has
// exited and everything it wrote is copied, or ctx ends.
func (c *Client) CopyLogs(ctx context.Context, name, sandbox string) error {
	cctx := c.withConn(ctx)
	data, err := containers.Inspect(cctx, name, nil)
	if err != nil {
		err = apiError("copy logs of container", name, err)
		if errors.Is(err, ErrNotFound) {
			// Removed before its output was all copied: what conmon
			// wrote is still in the sandbox.
			return copyRemaining(logPath(sandbox, name), sandbox, err)
		}
		return err
	}
	var path string
	if hc := data.HostConfig; hc != nil && hc.LogConfig != nil && hc.LogConfig.Type == "k8s-file" {
		path = hc.LogConfig.Path
	}
	if path == "" {
		return fmt.Errorf("podman: copy logs of container %s: it does not log to a k8s-file", name)
	}
	stdout, stderr, err := openOutputs(sandbox)
	if err != nil {
		return err
	}
	defer stdout.Close()
	defer stderr.Close()

	// The container has ended once podman says so and its conmon, which
	// writes the log, has exited.
	exited := make(chan struct{})
	waitCtx, cancelWait := context.WithCancel(cctx)
	defer cancelWait()
	go func() {
		defer close(exited)
		_, err := containers.Wait(waitCtx, data.ID, &containers.WaitOptions{
			Conditions: []string{define.ContainerStateStopped.String(), define.ContainerStateExited.String()},
		})
		if err != nil && waitCtx.Err() == nil {
			c.log.Warn("copy logs: wait for container", "name", name, "err", err)
		}
		if data.State != nil {
			waitForConmon(waitCtx, data.State.ConmonPid, 5*time.Second)
		}
	}()

	lc := &logCopier{path: path, stdout: stdout, stderr: stderr}
	defer lc.close()
	for {
		ended := false
		select {
		case <-exited:
			ended = true
		default:
		}
		if err := lc.pump(); err != nil {
			return fmt.Errorf("podman: copy logs of container %s: %w", name, err)
		}
		if ended {
			if ctx.Err() != nil {
				return fmt.Errorf("podman: copy logs of container %s: %w", name, ctx.Err())
			}
			if lc.malformed > 0 {
				c.log.Warn("copy logs: skipped malformed log lines", "name", name, "lines", lc.malformed)
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("podman: copy logs of container %s: %w", name, ctx.Err())
		case <-exited:
		case <-time.After(logPollInterval):
		}
	}
}

// openOutputs opens the sandbox's stdout and stderr for appending.
func openOutputs(sandbox string) (stdout, stderr *os.File, err error) {
	stdout, err = os.OpenFile(filepath.Join(sandbox, "stdout"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, nil, fmt.Errorf("podman: copy logs: %w", err)
	}
	stderr, err = os.OpenFile(filepath.Join(sandbox, "stderr"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		stdout.Close()
		return nil, nil, fmt.Errorf("podman: copy logs: %w", err)
	}
	return stdout, stderr, nil
}

// copyRemaining copies what is left in the log at path of a container that
// no longer exists; without such a log it returns notFound.
func copyRemaining(path, sandbox string, notFound error) error {
	if _, err := os.Stat(path); err != nil {
		return notFound
	}
	stdout, stderr, err := openOutputs(sandbox)
	if err != nil {
		return err
	}
	defer stdout.Close()
	defer stderr.Close()
	lc := &logCopier{path: path, stdout: stdout, stderr: stderr}
	defer lc.close()
	if err := lc.pump(); err != nil {
		return fmt.Errorf("podman: copy logs of a removed container: %w", err)
	}
	return nil
}

// waitForConmon waits until process pid, a conmon, has exited (it has then
// flushed the container's log), for at most timeout.
func waitForConmon(ctx context.Context, pid int, timeout time.Duration) {
	if pid <= 0 {
		return
	}
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
		if err != nil || strings.TrimSpace(string(comm)) != "conmon" {
			return
		}
		if st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil && zombie(st) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// zombie reports whether a /proc/<pid>/stat line is of a zombie process.
func zombie(stat []byte) bool {
	i := bytes.LastIndexByte(stat, ')')
	return i >= 0 && i+2 < len(stat) && stat[i+2] == 'Z'
}

// logCopier appends the entries of a k8s-file log to two writers and keeps
// its position in path+".pos".
type logCopier struct {
	path           string
	stdout, stderr io.Writer

	f         *os.File
	ino       uint64
	off       int64 // offset just past the last complete line consumed
	pending   []byte
	malformed int
}

// maxPending bounds an unterminated line kept between reads; conmon ends
// every entry with a newline, so only a corrupt file gets there.
const maxPending = 1 << 20

func (l *logCopier) close() {
	if l.f != nil {
		l.f.Close()
		l.f = nil
	}
}

// open opens the log (if it exists yet) at the recorded position.
func (l *logCopier) open() error {
	f, err := os.Open(l.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	l.f, l.ino, l.off, l.pending = f, inode(st), 0, nil
	if ino, off, err := readPos(l.path + ".pos"); err == nil && ino == l.ino && off <= st.Size() {
		l.off = off
	}
	if _, err := f.Seek(l.off, io.SeekStart); err != nil {
		return err
	}
	return nil
}

// pump copies every complete entry available now.
func (l *logCopier) pump() error {
	if l.f == nil {
		if err := l.open(); err != nil || l.f == nil {
			return err
		}
	}
	for {
		n, err := l.readOnce()
		if err != nil {
			return err
		}
		if n > 0 {
			continue
		}
		// At the end: if the file was replaced (rotated), go on with the
		// new one from its start.
		st, err := os.Stat(l.path)
		if err != nil || inode(st) == l.ino {
			return nil
		}
		l.close()
		_ = os.Remove(l.path + ".pos")
		if err := l.open(); err != nil || l.f == nil {
			return err
		}
	}
}

// readOnce reads one buffer, copies the complete entries in it and records
// the position. It returns how many bytes it read.
func (l *logCopier) readOnce() (int, error) {
	buf := make([]byte, 256<<10)
	n, err := l.f.Read(buf)
	if n == 0 {
		if err == nil || errors.Is(err, io.EOF) {
			return 0, nil
		}
		return 0, err
	}
	data := append(l.pending, buf[:n]...)
	consumed := 0
	for {
		nl := bytes.IndexByte(data[consumed:], '\n')
		if nl < 0 {
			break
		}
		line := data[consumed : consumed+nl]
		consumed += nl + 1
		if err := l.write(line); err != nil {
			return 0, err
		}
	}
	l.pending = append([]byte(nil), data[consumed:]...)
	if len(l.pending) > maxPending {
		l.malformed++
		consumed += len(l.pending)
		l.pending = nil
	}
	if consumed > 0 {
		// data starts at l.off (pending first, then this read).
		l.off += int64(consumed)
		if err := writePos(l.path+".pos", l.ino, l.off); err != nil {
			return 0, fmt.Errorf("record log position: %w", err)
		}
	}
	return n, nil
}

// write copies one log entry to its stream.
func (l *logCopier) write(line []byte) error {
	stream, partial, content, ok := parseLogLine(line)
	if !ok {
		l.malformed++
		return nil
	}
	w := l.stdout
	if stream == "stderr" {
		w = l.stderr
	}
	if !partial {
		content = append(content[:len(content):len(content)], '\n')
	}
	if _, err := w.Write(content); err != nil {
		return fmt.Errorf("write %s: %w", stream, err)
	}
	return nil
}

// parseLogLine splits one k8s-file log entry (without its newline):
// "<RFC 3339 time> <stdout|stderr> <F|P> <content>". P marks a partial line:
// the container wrote no newline after content.
func parseLogLine(line []byte) (stream string, partial bool, content []byte, ok bool) {
	ts, rest, ok1 := bytes.Cut(line, []byte{' '})
	st, rest, ok2 := bytes.Cut(rest, []byte{' '})
	if !ok1 || !ok2 || len(ts) == 0 {
		return "", false, nil, false
	}
	switch string(st) {
	case "stdout", "stderr":
		stream = string(st)
	default:
		return "", false, nil, false
	}
	tag, content, hasContent := bytes.Cut(rest, []byte{' '})
	switch string(tag) {
	case "F":
	case "P":
		partial = true
	default:
		return "", false, nil, false
	}
	if !hasContent {
		content = nil
	}
	if _, err := time.Parse(time.RFC3339Nano, string(ts)); err != nil {
		return "", false, nil, false
	}
	return stream, partial, content, true
}

func inode(st os.FileInfo) uint64 {
	if s, ok := st.Sys().(*syscall.Stat_t); ok {
		return s.Ino
	}
	return 0
}

// readPos reads a position file: "<inode> <offset>".
func readPos(path string) (ino uint64, off int64, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, 0, err
	}
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return 0, 0, fmt.Errorf("malformed position file %s", path)
	}
	if ino, err = strconv.ParseUint(f[0], 10, 64); err != nil {
		return 0, 0, err
	}
	if off, err = strconv.ParseInt(f[1], 10, 64); err != nil || off < 0 {
		return 0, 0, fmt.Errorf("malformed position file %s", path)
	}
	return ino, off, nil
}

func writePos(path string, ino uint64, off int64) error {
	return writeFileAtomic(path, []byte(fmt.Sprintf("%d %d\n", ino, off)), 0o644)
}
