package proc

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Spec describes the command to start.
type Spec struct {
	// Shell selects the shell form: /bin/sh -c Command, with Args ignored
	// (as Mesos does for CommandInfo.shell=true).
	Shell bool
	// Command is the shell command line (Shell) or the program to execute
	// (argv form). In the argv form a name without a slash is looked up in
	// the PATH of Env (or of this process when Env has no PATH), like
	// execvp(3).
	Command string
	// Args is the complete argv in the argv form, Args[0] included, passed
	// exactly as given. Mesos clients send value=argv[0], arguments=argv.
	// When empty, argv is just [Command].
	Args []string
	// Env is the complete environment of the process. A nil Env inherits the
	// environment of this process (the os/exec rule); an empty non-nil Env
	// gives an empty environment.
	Env []string
	// Dir is the working directory; empty means this process's.
	Dir string

	// Stdin feeds the process's standard input; nil means /dev/null.
	Stdin io.Reader
	// Stdout and Stderr receive the process's output. A writer that is an
	// *os.File is handed to the process directly; any other writer is fed
	// through a pipe. Set at most one of Stdout and StdoutPath (and of Stderr
	// and StderrPath). With neither, output goes to /dev/null.
	Stdout, Stderr io.Writer
	// StdoutPath and StderrPath name files the process writes to directly,
	// created with mode 0644 if missing and appended to otherwise (a sandbox's
	// stdout and stderr files).
	StdoutPath, StderrPath string

	// Credential, if set, runs the process as another user. Changing user
	// needs privileges (root or CAP_SETUID/CAP_SETGID).
	Credential *Credential

	// PipeWaitDelay bounds how long Wait waits, after the process exits, for
	// the output pipes of non-file Stdout/Stderr writers to drain (background
	// children may hold them open). Zero means one second.
	PipeWaitDelay time.Duration
}

// Credential is the user a process runs as.
type Credential struct {
	Uid, Gid uint32
	// Groups are the supplementary groups; nil clears them.
	Groups []uint32
}

// Process is a started task process and, through its process group and
// descendants, its whole process tree.
type Process struct {
	cmd   *exec.Cmd
	pid   int
	start uint64 // start time of the root, in clock ticks since boot

	done   chan struct{}
	status ExitStatus
	err    error
}

// Start starts the process described by spec in a new process group. The
// process is reaped in the background; use Wait to get its exit status.
func Start(spec Spec) (*Process, error) {
	name := spec.Command
	if name == "" {
		return nil, errors.New("proc: start: empty command")
	}
	cmd := &exec.Cmd{Env: spec.Env, Dir: spec.Dir, Stdin: spec.Stdin}
	if spec.Shell {
		cmd.Path = "/bin/sh"
		cmd.Args = []string{"sh", "-c", spec.Command}
	} else {
		path, err := lookPath(spec.Command, spec.Env)
		if err != nil {
			return nil, fmt.Errorf("proc: start %q: %w", name, err)
		}
		cmd.Path = path
		cmd.Args = spec.Args
		if len(cmd.Args) == 0 {
			cmd.Args = []string{spec.Command}
		}
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if c := spec.Credential; c != nil {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: c.Uid, Gid: c.Gid, Groups: c.Groups}
	}
	cmd.WaitDelay = spec.PipeWaitDelay
	if cmd.WaitDelay == 0 {
		cmd.WaitDelay = time.Second
	}

	var opened []*os.File
	defer func() {
		// The child holds its own copies of the descriptors.
		for _, f := range opened {
			f.Close()
		}
	}()
	output := func(w io.Writer, path, which string) (io.Writer, error) {
		if w != nil && path != "" {
			return nil, fmt.Errorf("proc: start %q: both %s writer and %s path set", name, which, which)
		}
		if path == "" {
			return w, nil
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			return nil, fmt.Errorf("proc: start %q: open %s: %w", name, which, err)
		}
		opened = append(opened, f)
		return f, nil
	}
	var err error
	if cmd.Stdout, err = output(spec.Stdout, spec.StdoutPath, "stdout"); err != nil {
		return nil, err
	}
	if cmd.Stderr, err = output(spec.Stderr, spec.StderrPath, "stderr"); err != nil {
		return nil, err
	}

	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("proc: start %q: %w", name, err)
	}
	p := &Process{cmd: cmd, pid: cmd.Process.Pid, done: make(chan struct{})}
	// The child is not reaped before the reaper below runs, so its pid is
	// still its own here.
	if st, err := readStat(p.pid); err == nil {
		p.start = st.start
	}
	go p.reap()
	return p, nil
}

func (p *Process) reap() {
	err := p.cmd.Wait()
	if ps := p.cmd.ProcessState; ps != nil {
		if ws, ok := ps.Sys().(syscall.WaitStatus); ok {
			p.status = statusFromWait(ws)
		} else {
			p.status = ExitStatus{Code: ps.ExitCode()}
		}
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) || errors.Is(err, exec.ErrWaitDelay) {
			// A non-zero status is not a failure to wait, and neither is an
			// output pipe that a leftover child kept open.
			err = nil
		}
	} else {
		p.status = ExitStatus{Code: -1}
	}
	if err != nil {
		p.err = fmt.Errorf("proc: wait %d: %w", p.pid, err)
	}
	close(p.done)
}

// Pid returns the process id of the task's root process, which is also the
// id of its process group.
func (p *Process) Pid() int { return p.pid }

// Done is closed once the root process has exited and been reaped.
func (p *Process) Done() <-chan struct{} { return p.done }

// Wait blocks until the root process exits and returns how it ended. The
// error is set only when waiting itself failed, not for a non-zero exit. It
// may be called any number of times, from any goroutine.
func (p *Process) Wait() (ExitStatus, error) {
	<-p.done
	return p.status, p.err
}

// exited reports whether the root process has been reaped.
func (p *Process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// lookPath finds an executable like execvp does, using the PATH in env when
// it has one.
func lookPath(file string, env []string) (string, error) {
	if strings.Contains(file, "/") {
		return file, nil
	}
	pathEnv, found := "", false
	for i := len(env) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(env[i], "PATH="); ok {
			pathEnv, found = v, true
			break
		}
	}
	if !found {
		pathEnv = os.Getenv("PATH")
		if pathEnv == "" {
			pathEnv = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
		}
	}
	for _, dir := range filepath.SplitList(pathEnv) {
		if dir == "" || !filepath.IsAbs(dir) {
			// Relative entries would resolve against the child's working
			// directory, which is not ours; skip them.
			continue
		}
		candidate := filepath.Join(dir, file)
		if fi, err := os.Stat(candidate); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return candidate, nil
		}
	}
	return "", exec.ErrNotFound
}
