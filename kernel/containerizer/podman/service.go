package podman

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Options configures the agent's own podman service.
type Options struct {
	// WorkDir is the agent's work directory; the service keeps its
	// containers.conf, pid file, log and (by default) socket in
	// WorkDir/podman. Required.
	WorkDir string
	// Socket is the path of the service's unix socket. Empty means
	// WorkDir/podman/podman.sock. A unix socket path is limited to 107
	// bytes.
	Socket string
	// Binary is the podman executable. Empty means "podman" from PATH.
	Binary string
	// Ulimits are the default ulimits of every container. Empty means
	// DefaultUlimits(). They are lowered to the service's own hard limits
	// if they exceed them.
	Ulimits []Ulimit
	// StartTimeout bounds how long Start waits for the service to answer
	// /_ping. Zero means 30s.
	StartTimeout time.Duration
	// Logger receives diagnostics; nil means slog.Default().
	Logger *slog.Logger
}

// Service is a podman API service (`podman system service`) started and
// owned by this process. Containers outlive it: each is supervised by its
// own conmon, so closing the service (or an agent restart) leaves them
// running.
type Service struct {
	dir     string
	socket  string
	conf    string
	ulimits []Ulimit
	log     *slog.Logger

	cmd     *exec.Cmd
	logFile *os.File
	exited  chan struct{}
	waitErr error

	closeOnce sync.Once
}

// Start starts the agent's podman service and returns once it answers
// /_ping. The service gets its own containers.conf (CONTAINERS_CONF): runc,
// cgroupfs, file events, explicit ulimits. It keeps podman's default storage
// (/var/lib/containers/storage for root), so images that are on the host,
// such as ones imported with `podman import`, are visible to it. A service
// left running by a previous run of the agent (its pid file names a live
// `podman system service` on the same socket) is stopped first.
func Start(ctx context.Context, opts Options) (*Service, error) {
	if opts.WorkDir == "" {
		return nil, errors.New("podman: Options.WorkDir is required")
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	log = log.With("component", "containerizer/podman")
	bin := opts.Binary
	if bin == "" {
		bin = "podman"
	}
	path, err := exec.LookPath(bin)
	if err != nil {
		return nil, fmt.Errorf("podman: %s is not installed (apt-get install podman runc): %w", bin, err)
	}
	dir := filepath.Join(opts.WorkDir, "podman")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("podman: create service dir: %w", err)
	}
	socket := opts.Socket
	if socket == "" {
		socket = filepath.Join(dir, "podman.sock")
	}
	socket, err = filepath.Abs(socket)
	if err != nil {
		return nil, fmt.Errorf("podman: socket path: %w", err)
	}
	if len(socket) > 107 {
		return nil, fmt.Errorf("podman: socket path %s is longer than the 107 bytes a unix socket allows; set Options.Socket", socket)
	}
	if err := os.MkdirAll(filepath.Dir(socket), 0o700); err != nil {
		return nil, fmt.Errorf("podman: create socket dir: %w", err)
	}
	timeout := opts.StartTimeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	ulimits := opts.Ulimits
	if len(ulimits) == 0 {
		ulimits = DefaultUlimits()
	}
	stopLeftover(dir, socket, log)

	s, err := startService(ctx, path, dir, socket, ulimits, timeout, log)
	if err != nil {
		return nil, err
	}
	// The service must be able to grant the ulimits it hands out; if podman
	// lowered its own limits below them, start it again with what it has.
	nofile, nproc, err := processLimits(s.cmd.Process.Pid)
	if err != nil {
		log.Warn("cannot read the service's limits; keeping the configured ulimits", "err", err)
		return s, nil
	}
	fitted, changed := fitUlimits(ulimits, nofile, nproc)
	if !changed {
		return s, nil
	}
	log.Info("service limits are below the configured ulimits; restarting it with lower ones",
		"configured", fmt.Sprint(ulimits), "fitted", fmt.Sprint(fitted))
	if err := s.Close(); err != nil {
		return nil, err
	}
	return startService(ctx, path, dir, socket, fitted, timeout, log)
}

func startService(ctx context.Context, bin, dir, socket string, ulimits []Ulimit, timeout time.Duration, log *slog.Logger) (*Service, error) {
	conf := filepath.Join(dir, "containers.conf")
	if err := writeFileAtomic(conf, []byte(containersConf(ulimits)), 0o644); err != nil {
		return nil, fmt.Errorf("podman: write containers.conf: %w", err)
	}
	if err := os.Remove(socket); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("podman: remove stale socket: %w", err)
	}
	logFile, err := os.OpenFile(filepath.Join(dir, "podman.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("podman: open service log: %w", err)
	}
	cmd := exec.Command(bin, "system", "service", "--time=0", "unix://"+socket)
	cmd.Env = append(serviceEnv(os.Environ()), "CONTAINERS_CONF="+conf)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.Dir = dir
	// Its own process group keeps a Ctrl-C meant for the agent from killing
	// the service before the agent has closed it; Pdeathsig stops it when
	// the agent dies (the containers live on under their conmon).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("podman: start service: %w", err)
	}
	s := &Service{
		dir: dir, socket: socket, conf: conf, ulimits: ulimits, log: log,
		cmd: cmd, logFile: logFile, exited: make(chan struct{}),
	}
	go func() {
		s.waitErr = cmd.Wait()
		close(s.exited)
	}()
	if err := writeFileAtomic(filepath.Join(dir, "podman.pid"), []byte(strconv.Itoa(cmd.Process.Pid)+"\n"), 0o644); err != nil {
		s.Close()
		return nil, fmt.Errorf("podman: write pid file: %w", err)
	}
	started := time.Now()
	if err := s.waitReady(ctx, timeout); err != nil {
		s.Close()
		return nil, err
	}
	log.Info("service started", "pid", cmd.Process.Pid, "socket", socket,
		"ulimits", fmt.Sprint(ulimits), "took", time.Since(started).Round(time.Millisecond))
	return s, nil
}

// serviceEnv drops the variables that would point podman somewhere else.
func serviceEnv(env []string) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		switch name {
		case "CONTAINERS_CONF", "CONTAINER_HOST", "CONTAINER_CONNECTION", "DOCKER_HOST":
			continue
		}
		out = append(out, kv)
	}
	return out
}

// waitReady polls /_ping until the service answers, it exits, or the
// timeout passes.
func (s *Service) waitReady(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	for delay := 20 * time.Millisecond; ; delay = min(delay*2, 250*time.Millisecond) {
		if last = ping(ctx, s.socket); last == nil {
			return nil
		}
		select {
		case <-s.exited:
			return fmt.Errorf("podman: service exited before answering (%v): %s", s.waitErr, s.logTail())
		case <-ctx.Done():
			return fmt.Errorf("podman: service on %s did not answer /_ping within %s: %w; log: %s", s.socket, timeout, last, s.logTail())
		case <-time.After(delay):
		}
	}
}

// ping asks the service on socket for /_ping.
func ping(ctx context.Context, socket string) error {
	client := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", socket)
		},
		DisableKeepAlives: true,
	}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://d/_ping", nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("/_ping answered %d %q", resp.StatusCode, body)
	}
	return nil
}

// logTail returns the end of the service's log, for error messages.
func (s *Service) logTail() string {
	b, err := os.ReadFile(filepath.Join(s.dir, "podman.log"))
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	b = bytes.TrimSpace(b)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	if len(b) == 0 {
		return "(empty log)"
	}
	return string(b)
}

// Socket returns the path of the service's unix socket.
func (s *Service) Socket() string { return s.socket }

// Pid returns the process id of the service.
func (s *Service) Pid() int { return s.cmd.Process.Pid }

// Ulimits returns the default ulimits the service gives containers.
func (s *Service) Ulimits() []Ulimit { return append([]Ulimit(nil), s.ulimits...) }

// ConfigPath returns the path of the service's containers.conf.
func (s *Service) ConfigPath() string { return s.conf }

// Connect returns a client of the service.
func (s *Service) Connect(ctx context.Context, log *slog.Logger) (*Client, error) {
	return Connect(ctx, s.socket, log)
}

// Close stops the service: SIGTERM, then SIGKILL after 10 seconds. Running
// containers are not affected. It always returns nil; the error is there for
// io.Closer.
func (s *Service) Close() error {
	s.closeOnce.Do(func() {
		defer s.logFile.Close()
		select {
		case <-s.exited:
		default:
			_ = s.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-s.exited:
			case <-time.After(10 * time.Second):
				s.log.Warn("service ignored SIGTERM for 10s; killing it", "pid", s.cmd.Process.Pid)
				_ = s.cmd.Process.Kill()
				<-s.exited
			}
		}
		_ = os.Remove(filepath.Join(s.dir, "podman.pid"))
		_ = os.Remove(s.socket)
		s.log.Info("service stopped", "pid", s.cmd.Process.Pid)
	})
	return nil
}

// stopLeftover stops a service that a previous run of the agent left behind:
// the pid file names a live process whose command line is a podman system
// service on our socket. Anything else named by a stale pid file is left
// alone.
func stopLeftover(dir, socket string, log *slog.Logger) {
	pidFile := filepath.Join(dir, "podman.pid")
	b, err := os.ReadFile(pidFile)
	if err != nil {
		return
	}
	defer os.Remove(pidFile)
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return
	}
	args := strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00")
	if !isServiceCmdline(args, socket) {
		return
	}
	log.Info("stopping the service a previous run left behind", "pid", pid)
	_ = syscall.Kill(pid, syscall.SIGTERM)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
}

func isServiceCmdline(args []string, socket string) bool {
	if len(args) < 4 || filepath.Base(args[0]) != "podman" {
		return false
	}
	joined := strings.Join(args[1:], " ")
	return strings.Contains(joined, "system service") && strings.Contains(joined, "unix://"+socket)
}

// writeFileAtomic writes data to a temporary file beside path and renames it
// over path.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return nil
}
