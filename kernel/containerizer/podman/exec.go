package podman

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/containers/podman/v4/pkg/api/handlers"
	"github.com/containers/podman/v4/pkg/bindings"
	"github.com/containers/podman/v4/pkg/bindings/containers"
)

// ExecOptions are the optional settings of Exec.
type ExecOptions struct {
	// Env is added to the container's environment.
	Env map[string]string
	// User runs the command as this user instead of the container's.
	User string
	// WorkDir is the working directory instead of the container's.
	WorkDir string
	// OutputLimit caps how much of stdout and of stderr is kept; 0 means
	// 64 KiB. The rest is read and dropped.
	OutputLimit int
}

// ExecResult is how a command run by Exec ended.
type ExecResult struct {
	ExitCode int
	Stdout   []byte
	Stderr   []byte
}

// Exec runs cmd inside the running container and waits for it, for COMMAND
// health checks. If ctx ends first, Exec returns ctx's error; podman offers
// no way to kill an exec session, so the command may linger in the
// container (the health checker's timeout should cover the command).
func (c *Client) Exec(ctx context.Context, name string, cmd []string, opts ExecOptions) (*ExecResult, error) {
	if len(cmd) == 0 {
		return nil, errors.New("podman: exec: empty command")
	}
	limit := opts.OutputLimit
	if limit <= 0 {
		limit = 64 << 10
	}
	cfg := &handlers.ExecCreateConfig{}
	cfg.Cmd = cmd
	cfg.AttachStdout = true
	cfg.AttachStderr = true
	cfg.User = opts.User
	cfg.WorkingDir = opts.WorkDir
	keys := make([]string, 0, len(opts.Env))
	for k := range opts.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		cfg.Env = append(cfg.Env, k+"="+opts.Env[k])
	}
	cctx := c.withConn(ctx)
	session, err := containers.ExecCreate(cctx, name, cfg)
	if err != nil {
		return nil, apiError("exec in container", name, err)
	}
	// ExecStartAndAttach replaces the transport of the connection it is
	// given, so it gets a connection of its own: the client's is shared.
	ectx, err := bindings.NewConnection(ctx, "unix://"+c.socket)
	if err != nil {
		return nil, fmt.Errorf("podman: exec in container %s: connect: %w", name, err)
	}
	defer closeConnection(ectx)()
	stdout := &cappedBuffer{limit: limit}
	stderr := &cappedBuffer{limit: limit}
	var out, errw io.Writer = stdout, stderr
	attach := true
	if err := containers.ExecStartAndAttach(ectx, session, &containers.ExecStartAndAttachOptions{
		OutputStream: &out, ErrorStream: &errw, AttachOutput: &attach, AttachError: &attach,
	}); err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("podman: exec in container %s: %w", name, ctx.Err())
		}
		return nil, apiError("exec in container", name, err)
	}
	// The session's exit code is recorded just after its output ends.
	for delay := 5 * time.Millisecond; ; delay = min(delay*2, 100*time.Millisecond) {
		ins, err := containers.ExecInspect(cctx, session, nil)
		if err != nil {
			return nil, apiError("exec in container", name, err)
		}
		if !ins.Running {
			return &ExecResult{ExitCode: ins.ExitCode, Stdout: stdout.buf, Stderr: stderr.buf}, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("podman: exec in container %s: %w", name, ctx.Err())
		case <-time.After(delay):
		}
	}
}

// closeConnection returns a function that closes the idle connections of a
// bindings connection made for one call: those of its transport now and of
// the one ExecStartAndAttach puts in its place.
func closeConnection(ctx context.Context) func() {
	conn, err := bindings.GetClient(ctx)
	if err != nil {
		return func() {}
	}
	first := conn.Client.Transport
	return func() {
		if t, ok := first.(interface{ CloseIdleConnections() }); ok {
			t.CloseIdleConnections()
		}
		conn.Client.CloseIdleConnections()
	}
}

// cappedBuffer keeps the first limit bytes written to it and drops the rest.
type cappedBuffer struct {
	buf   []byte
	limit int
}

func (b *cappedBuffer) Write(p []byte) (int, error) {
	if room := b.limit - len(b.buf); room > 0 {
		b.buf = append(b.buf, p[:min(room, len(p))]...)
	}
	return len(p), nil
}
