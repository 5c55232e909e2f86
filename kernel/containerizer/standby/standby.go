package standby

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// EnvFD names the environment variable that tells a standby process which of
// its descriptors is the socket to its containerizer (always ChildFD).
const EnvFD = "STRATA_STANDBY_FD"

// ChildFD is the descriptor number of the socket in the standby process.
const ChildFD = 3

// maxMessage bounds a Launch message (an environment is far smaller; exec
// itself allows a few MiB for arguments and environment together).
const maxMessage = 16 << 20

// ErrDiscarded is returned by Await when the containerizer closed its end
// before sending a Launch.
var ErrDiscarded = errors.New("standby: discarded before launch")

// Launch is what a standby needs to become the process of a container.
type Launch struct {
	// Dir is the working directory; empty keeps the current one.
	Dir string
	// Env is the complete environment.
	Env []string
	// Stdout and Stderr become descriptors 1 and 2. Both are required.
	Stdout, Stderr *os.File
	// Mounts, if set, are made in the process's mount namespace first. The
	// process must have been started in a mount namespace of its own
	// (CLONE_NEWNS) with the privileges to mount.
	Mounts *Mounts `json:"mounts,omitempty"`
	// User, if set, is the identity the process switches to last (it must
	// be running as root).
	User *Credential `json:"user,omitempty"`
	// Exec, if set, replaces the process (execve) once everything else is
	// applied: for containers whose command is not the standby's program.
	Exec *Exec `json:"exec,omitempty"`
}

// Mounts is the mount namespace set-up of a container.
type Mounts struct {
	// PrivateTmp, if set, is a host directory bind-mounted on /tmp (created
	// if missing, with mode 1777).
	PrivateTmp string `json:"private_tmp,omitempty"`
	// Proc mounts a new procfs on /proc, for a process that is the init of
	// a PID namespace of its own.
	Proc bool `json:"proc,omitempty"`
	// Keep lists further host directories that stay visible at their path
	// when they lie under /tmp (the sandbox, Launch.Dir, always does), such
	// as the directory of the agent's podman socket. One that does not
	// exist is skipped.
	Keep []string `json:"keep,omitempty"`
}

// Credential is a user identity.
type Credential struct {
	UID    uint32   `json:"uid"`
	GID    uint32   `json:"gid"`
	Groups []uint32 `json:"groups,omitempty"`
}

// Exec is a program to execute in place of the standby.
type Exec struct {
	Path string   `json:"path"`
	Args []string `json:"args"`
}

// message is the JSON part of a Launch.
type message struct {
	Dir    string      `json:"dir,omitempty"`
	Env    []string    `json:"env"`
	Mounts *Mounts     `json:"mounts,omitempty"`
	User   *Credential `json:"user,omitempty"`
	Exec   *Exec       `json:"exec,omitempty"`
}

// Conn is the containerizer's end of a standby's socket. Its methods are safe
// for concurrent use.
type Conn struct {
	c     *net.UnixConn
	ready chan struct{}
}

// NewPair creates the socket of a new standby. The caller starts the process
// with child as descriptor ChildFD (exec.Cmd.ExtraFiles[0]) and EnvFD=3 in
// its environment, then closes child. Both ends are close-on-exec in this
// process, so that no other child inherits them: the standby sees the end of
// the stream as soon as the containerizer's end is closed or its process
// dies.
func NewPair() (*Conn, *os.File, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("standby: socketpair: %w", err)
	}
	parent := os.NewFile(uintptr(fds[0]), "standby")
	child := os.NewFile(uintptr(fds[1]), "standby-child")
	fc, err := net.FileConn(parent)
	parent.Close()
	if err != nil {
		child.Close()
		return nil, nil, fmt.Errorf("standby: socket: %w", err)
	}
	c := &Conn{c: fc.(*net.UnixConn), ready: make(chan struct{})}
	go c.awaitReady()
	return c, child, nil
}

// awaitReady reads the byte the standby writes once it is ready.
func (c *Conn) awaitReady() {
	var b [1]byte
	if n, _ := c.c.Read(b[:]); n == 1 {
		close(c.ready)
	}
}

// Ready is closed once the standby has said it is ready (it may be sent a
// Launch before that; it reads it when it gets there).
func (c *Conn) Ready() <-chan struct{} { return c.ready }

// Send hands the standby its Launch. The descriptors are duplicated into the
// standby; the caller still owns (and closes) its own.
func (c *Conn) Send(l Launch) error {
	if l.Stdout == nil || l.Stderr == nil {
		return errors.New("standby: send: stdout and stderr are required")
	}
	body, err := json.Marshal(message{Dir: l.Dir, Env: l.Env, Mounts: l.Mounts, User: l.User, Exec: l.Exec})
	if err != nil {
		return fmt.Errorf("standby: send: %w", err)
	}
	if len(body) > maxMessage {
		return fmt.Errorf("standby: send: message of %d bytes is too large", len(body))
	}
	buf := make([]byte, 4+len(body))
	binary.BigEndian.PutUint32(buf, uint32(len(body)))
	copy(buf[4:], body)
	rights := unix.UnixRights(int(l.Stdout.Fd()), int(l.Stderr.Fd()))
	n, _, err := c.c.WriteMsgUnix(buf, rights, nil)
	if err == nil && n < len(buf) {
		// A stream socket may take a large message in parts; the
		// descriptors went with the first one.
		_, err = c.c.Write(buf[n:])
	}
	if err != nil {
		return fmt.Errorf("standby: send: %w", err)
	}
	return nil
}

// Close closes the containerizer's end. A standby still waiting for its
// Launch then gets ErrDiscarded.
func (c *Conn) Close() error { return c.c.Close() }

// Await is what a program that may be started as a standby calls early in
// main. It returns false at once when the process is not a standby (EnvFD is
// not set). Otherwise it says it is ready, waits for the Launch and applies
// it: the working directory, descriptors 1 and 2 and the environment are then
// what exec would have given a process started for the container. An error
// means the process cannot become that process and should exit; ErrDiscarded
// means the containerizer no longer wants it.
func Await() (bool, error) {
	v, ok := os.LookupEnv(EnvFD)
	if !ok {
		return false, nil
	}
	fd, err := strconv.Atoi(v)
	if err != nil || fd < 3 {
		return true, fmt.Errorf("standby: %s=%q is not a descriptor above 2", EnvFD, v)
	}
	// Keep the socket from the processes this one starts.
	unix.CloseOnExec(fd)
	f := os.NewFile(uintptr(fd), "standby")
	fc, err := net.FileConn(f)
	f.Close()
	if err != nil {
		return true, fmt.Errorf("standby: descriptor %d: %w", fd, err)
	}
	conn, ok := fc.(*net.UnixConn)
	if !ok {
		fc.Close()
		return true, fmt.Errorf("standby: descriptor %d is not a Unix socket", fd)
	}
	defer conn.Close()
	// The containerizer may have sent the Launch and closed its end
	// already, which fails this write: the Launch is still there to read.
	_, _ = conn.Write([]byte{'R'})
	l, err := receive(conn)
	if err != nil {
		return true, err
	}
	return true, apply(l)
}

// receive reads one Launch.
func receive(conn *net.UnixConn) (Launch, error) {
	var hdr [4]byte
	oob := make([]byte, unix.CmsgSpace(2*4))
	n, oobn, _, _, err := conn.ReadMsgUnix(hdr[:], oob)
	if n == 0 {
		if err == nil || errors.Is(err, io.EOF) {
			return Launch{}, ErrDiscarded
		}
		return Launch{}, fmt.Errorf("standby: receive: %w", err)
	}
	files, ferr := rights(oob[:oobn])
	fail := func(err error) (Launch, error) {
		for _, f := range files {
			f.Close()
		}
		return Launch{}, err
	}
	if ferr != nil {
		return fail(ferr)
	}
	if len(files) != 2 {
		return fail(fmt.Errorf("standby: receive: %d descriptors, want 2", len(files)))
	}
	if n < len(hdr) {
		if _, err := io.ReadFull(conn, hdr[n:]); err != nil {
			return fail(fmt.Errorf("standby: receive: %w", err))
		}
	}
	size := binary.BigEndian.Uint32(hdr[:])
	if size > maxMessage {
		return fail(fmt.Errorf("standby: receive: message of %d bytes is too large", size))
	}
	body := make([]byte, size)
	if _, err := io.ReadFull(conn, body); err != nil {
		return fail(fmt.Errorf("standby: receive: %w", err))
	}
	var m message
	if err := json.Unmarshal(body, &m); err != nil {
		return fail(fmt.Errorf("standby: receive: %w", err))
	}
	return Launch{Dir: m.Dir, Env: m.Env, Mounts: m.Mounts, User: m.User, Exec: m.Exec, Stdout: files[0], Stderr: files[1]}, nil
}

// rights extracts the descriptors of SCM_RIGHTS control messages.
func rights(oob []byte) ([]*os.File, error) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil, fmt.Errorf("standby: receive: %w", err)
	}
	var files []*os.File
	for i := range msgs {
		fds, err := unix.ParseUnixRights(&msgs[i])
		if err != nil {
			continue
		}
		for _, fd := range fds {
			files = append(files, os.NewFile(uintptr(fd), "standby-output"))
		}
	}
	return files, nil
}

// apply makes the Launch this process's own: mounts first (they need the
// privileges the process drops last), then descriptors, directory and
// environment, then the user, then exec.
func apply(l Launch) error {
	defer l.Stdout.Close()
	defer l.Stderr.Close()
	if l.Mounts != nil {
		if err := mount(*l.Mounts, l.Dir); err != nil {
			return err
		}
	}
	if err := unix.Dup3(int(l.Stdout.Fd()), 1, 0); err != nil {
		return fmt.Errorf("standby: stdout: %w", err)
	}
	if err := unix.Dup3(int(l.Stderr.Fd()), 2, 0); err != nil {
		return fmt.Errorf("standby: stderr: %w", err)
	}
	if l.Dir != "" {
		if err := os.Chdir(l.Dir); err != nil {
			return fmt.Errorf("standby: %w", err)
		}
	}
	os.Clearenv()
	for _, kv := range l.Env {
		name, value, ok := strings.Cut(kv, "=")
		if !ok || name == "" {
			continue
		}
		if err := os.Setenv(name, value); err != nil {
			return fmt.Errorf("standby: environment: %w", err)
		}
	}
	if l.User != nil {
		if err := switchUser(*l.User); err != nil {
			return err
		}
	}
	if l.Exec != nil {
		l.Stdout.Close()
		l.Stderr.Close()
		path := l.Exec.Path
		if !strings.Contains(path, "/") {
			p, err := exec.LookPath(path)
			if err != nil {
				return fmt.Errorf("standby: exec: %w", err)
			}
			path = p
		}
		args := l.Exec.Args
		if len(args) == 0 {
			args = []string{l.Exec.Path}
		}
		err := unix.Exec(path, args, os.Environ())
		return fmt.Errorf("standby: exec %s: %w", path, err)
	}
	return nil
}
