package health

import (
	"context"
	"fmt"
	"io"
	"math"
	"strings"
	"time"
)

// Type is the kind of health check.
type Type int

// The health check types of mesos.v1.HealthCheck.Type.
const (
	Command Type = iota + 1
	HTTP
	TCP
)

// String returns the Mesos name of the type, e.g. "COMMAND".
func (t Type) String() string {
	switch t {
	case Command:
		return "COMMAND"
	case HTTP:
		return "HTTP"
	case TCP:
		return "TCP"
	default:
		return fmt.Sprintf("Type(%d)", int(t))
	}
}

// Fields is a set of Check timing fields, used to tell an explicit zero from
// an absent value (proto2 optional fields with defaults).
type Fields uint8

// The timing fields of a Check.
const (
	FieldDelay Fields = 1 << iota
	FieldInterval
	FieldTimeout
	FieldGracePeriod
	FieldConsecutiveFailures

	// AllFields marks every timing field as explicitly set.
	AllFields = FieldDelay | FieldInterval | FieldTimeout | FieldGracePeriod | FieldConsecutiveFailures
)

// The Mesos defaults of the timing fields.
const (
	DefaultDelay               = 15 * time.Second
	DefaultInterval            = 10 * time.Second
	DefaultTimeout             = 20 * time.Second
	DefaultGracePeriod         = 10 * time.Second
	DefaultConsecutiveFailures = 3
)

// Check describes one health check.
type Check struct {
	Type Type

	// COMMAND checks. With Shell, Command runs as /bin/sh -c Command;
	// otherwise Command is the program (looked up in PATH) and Args the full
	// argv, Args[0] included. Env is added to this process's environment
	// (later entries win), as Mesos adds CommandInfo.environment to the
	// executor's. Output receives the command's stdout and stderr; nil
	// discards them (Mesos sends them to the executor's stderr).
	Shell   bool
	Command string
	Args    []string
	Env     []string
	Dir     string
	Output  io.Writer
	// Runner, if set, runs the command instead of a local process: inside
	// the task's container, for a task that runs in one. Dir is then not
	// used.
	Runner CommandRunner

	// HTTP checks: GET HTTPScheme://127.0.0.1:Port HTTPPath. HTTPScheme is
	// "http" (default) or "https"; HTTPPath, if set, starts with '/'.
	// Statuses lists the healthy response codes; empty means 200-399.
	HTTPScheme string
	HTTPPath   string
	Statuses   []uint32

	// Port is the port for HTTP and TCP checks; Host the address they
	// connect to, 127.0.0.1 when empty (a task on a bridge network is
	// checked on its container's IP).
	Port uint32
	Host string

	// Delay before the first check; Interval between the end of one check
	// and the start of the next; Timeout of one check (zero: none);
	// GracePeriod from Start during which failures are ignored until the
	// first success (zero: none); ConsecutiveFailures counted failures that
	// request the task's kill (zero, as in Mesos, requests it on the first
	// counted failure).
	Delay               time.Duration
	Interval            time.Duration
	Timeout             time.Duration
	GracePeriod         time.Duration
	ConsecutiveFailures uint32

	// Explicit lists the timing fields given explicitly. Defaults replaces
	// the others with the Mesos defaults.
	Explicit Fields
}

// CommandRunner runs a COMMAND check's command somewhere else than in a
// local process, such as inside a container. argv is the whole command
// (["/bin/sh", "-c", COMMAND] for a shell command), env is Check.Env, and
// the command's output goes to output (which may be nil). It returns the
// command's exit code, or an error when the command could not be run or ctx
// ended first.
type CommandRunner interface {
	RunCommand(ctx context.Context, argv, env []string, output io.Writer) (exitCode int, err error)
}

// Defaults returns a copy of c with the Mesos defaults applied to every
// timing field not in c.Explicit, and the HTTP scheme defaulted to "http".
// An explicitly set zero stays zero: Timeout 0 means no timeout, GracePeriod
// 0 no grace period, Delay 0 an immediate first check.
func (c Check) Defaults() Check {
	if c.Explicit&FieldDelay == 0 {
		c.Delay = DefaultDelay
	}
	if c.Explicit&FieldInterval == 0 {
		c.Interval = DefaultInterval
	}
	if c.Explicit&FieldTimeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Explicit&FieldGracePeriod == 0 {
		c.GracePeriod = DefaultGracePeriod
	}
	if c.Explicit&FieldConsecutiveFailures == 0 {
		c.ConsecutiveFailures = DefaultConsecutiveFailures
	}
	if c.Type == HTTP && c.HTTPScheme == "" {
		c.HTTPScheme = "http"
	}
	return c
}

// Seconds converts a Mesos duration in (fractional) seconds, as carried by
// HealthCheck's *_seconds fields, to a time.Duration. Values too large for a
// Duration saturate.
func Seconds(s float64) time.Duration {
	d := s * float64(time.Second)
	switch {
	case math.IsNaN(d):
		return 0
	case d >= math.MaxInt64:
		return math.MaxInt64
	case d <= math.MinInt64:
		return math.MinInt64
	}
	return time.Duration(d)
}

// Validate reports whether c can be run, with the rules Mesos applies to a
// HealthCheck plus one of its own: the interval must be positive (a zero
// interval would check in a busy loop).
func (c Check) Validate() error {
	var problems []string
	bad := func(format string, args ...any) {
		problems = append(problems, fmt.Sprintf(format, args...))
	}
	switch c.Type {
	case Command:
		if c.Command == "" {
			bad("command is empty")
		}
	case HTTP:
		if c.HTTPScheme != "" && c.HTTPScheme != "http" && c.HTTPScheme != "https" {
			bad("unsupported HTTP scheme %q", c.HTTPScheme)
		}
		if c.HTTPPath != "" && !strings.HasPrefix(c.HTTPPath, "/") {
			bad("HTTP path %q does not start with '/'", c.HTTPPath)
		}
		for _, s := range c.Statuses {
			if s < 100 || s > 599 {
				bad("invalid HTTP status %d", s)
			}
		}
	case TCP:
	default:
		bad("unknown check type %v", c.Type)
	}
	if (c.Type == HTTP || c.Type == TCP) && (c.Port == 0 || c.Port > 65535) {
		bad("invalid port %d", c.Port)
	}
	for _, f := range []struct {
		name string
		d    time.Duration
	}{{"delay", c.Delay}, {"timeout", c.Timeout}, {"grace period", c.GracePeriod}} {
		if f.d < 0 {
			bad("%s %v is negative", f.name, f.d)
		}
	}
	if c.Interval <= 0 {
		bad("interval %v is not positive", c.Interval)
	}
	if len(problems) > 0 {
		return fmt.Errorf("health: invalid %v check: %s", c.Type, strings.Join(problems, "; "))
	}
	return nil
}
