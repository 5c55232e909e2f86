package proc

import (
	"fmt"
	"strings"
	"syscall"
	"unicode"
	"unicode/utf8"
)

// ExitStatus is how a process ended.
type ExitStatus struct {
	// Code is the exit code when the process exited normally, and -1 when it
	// was terminated by a signal.
	Code int
	// Signaled is true when the process was terminated by a signal.
	Signaled bool
	// Signal is the terminating signal when Signaled.
	Signal syscall.Signal
	// CoreDumped is true when the terminating signal produced a core dump.
	CoreDumped bool
}

// Success reports whether the process exited normally with code 0.
func (s ExitStatus) Success() bool { return !s.Signaled && s.Code == 0 }

// String renders the status the way Mesos' WSTRINGIFY does, e.g.
// "exited with status 1" or "terminated with signal Killed".
func (s ExitStatus) String() string {
	if s.Signaled {
		msg := "terminated with signal " + SignalName(s.Signal)
		if s.CoreDumped {
			msg += " (core dumped)"
		}
		return msg
	}
	return fmt.Sprintf("exited with status %d", s.Code)
}

// Describe renders the status as the Mesos command executor does in the
// message of a terminal TaskStatus: "Command exited with status N" or
// "Command terminated with signal Terminated".
func Describe(s ExitStatus) string { return "Command " + s.String() }

// SignalName returns the strsignal(3)-style description of a signal, such as
// "Terminated", "Killed" or "Segmentation fault".
func SignalName(sig syscall.Signal) string {
	name := sig.String()
	if strings.HasPrefix(name, "signal ") {
		// Go's fallback for signals it has no text for; glibc says
		// "Unknown signal N" or "Real-time signal N".
		return "Unknown signal " + strings.TrimPrefix(name, "signal ")
	}
	r, size := utf8.DecodeRuneInString(name)
	return string(unicode.ToUpper(r)) + name[size:]
}

// statusFromWait converts a raw wait status.
func statusFromWait(ws syscall.WaitStatus) ExitStatus {
	switch {
	case ws.Signaled():
		return ExitStatus{Code: -1, Signaled: true, Signal: ws.Signal(), CoreDumped: ws.CoreDump()}
	case ws.Exited():
		return ExitStatus{Code: ws.ExitStatus()}
	default:
		// Stopped or continued statuses are not reported by os/exec's Wait.
		return ExitStatus{Code: -1}
	}
}
