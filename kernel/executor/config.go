package executor

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"strata/kernel/mesos/codec"
)

// Environment variables the agent sets for an executor (Mesos names), and the
// Strata-specific ones this executor also reads.
const (
	EnvFrameworkID            = "MESOS_FRAMEWORK_ID"
	EnvExecutorID             = "MESOS_EXECUTOR_ID"
	EnvDirectory              = "MESOS_DIRECTORY"
	EnvSandbox                = "MESOS_SANDBOX"
	EnvAgentEndpoint          = "MESOS_AGENT_ENDPOINT"
	EnvCheckpoint             = "MESOS_CHECKPOINT"
	EnvShutdownGracePeriod    = "MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD"
	EnvRecoveryTimeout        = "MESOS_RECOVERY_TIMEOUT"
	EnvSubscriptionBackoffMax = "MESOS_SUBSCRIPTION_BACKOFF_MAX"
	EnvAuthenticationToken    = "MESOS_EXECUTOR_AUTHENTICATION_TOKEN"
	// EnvHTTPCommandExecutor is "1" in the environment of a command
	// executor; without it `strata executor` is the default executor.
	EnvHTTPCommandExecutor = "MESOS_HTTP_COMMAND_EXECUTOR"
	// EnvAgentID and EnvContainerID name the agent and the executor's
	// container; the SUBSCRIBED event says the same, and wins.
	EnvAgentID     = "MESOS_AGENT_ID"
	EnvContainerID = "MESOS_CONTAINER_ID"
	// EnvPodmanSocket is the podman service's socket, which the agent gives
	// the command executor of a task with a container image.
	EnvPodmanSocket = "STRATA_PODMAN_SOCKET"

	// EnvCodec selects the wire codec: "protobuf" (the default) or "json".
	EnvCodec = "STRATA_EXECUTOR_CODEC"
	// EnvStrataIP and EnvLibprocessIP give the host IP reported in
	// TASK_RUNNING, in this order of preference.
	EnvStrataIP     = "STRATA_IP"
	EnvLibprocessIP = "LIBPROCESS_IP"
)

// Defaults of the optional settings.
const (
	DefaultShutdownGracePeriod    = 5 * time.Second
	DefaultRecoveryTimeout        = 15 * time.Minute
	DefaultSubscriptionBackoffMax = 2 * time.Second
	DefaultAckTimeout             = 5 * time.Second
	DefaultRegistrationTimeout    = time.Minute
	// DefaultKillGracePeriod is the grace between SIGTERM and SIGKILL when
	// neither the KILL event nor the task has a kill policy.
	DefaultKillGracePeriod = 3 * time.Second
	// ShutdownBuffer is kept from the shutdown grace period so that the
	// terminal update can still be sent before the agent gives up on us.
	ShutdownBuffer = 2 * time.Second
)

// Mode is what the executor is: Mesos' command executor or its default
// executor.
type Mode int

const (
	// CommandMode runs the one task of one LAUNCH event, in the executor's
	// sandbox, as the Mesos command executor does. It is the zero Mode.
	CommandMode Mode = iota
	// DefaultMode runs the task groups of LAUNCH_GROUP events, each task in
	// its own sandbox under tasks/, as the Mesos default executor does.
	DefaultMode
)

func (m Mode) String() string {
	if m == DefaultMode {
		return "default executor"
	}
	return "command executor"
}

// Config configures Run. ConfigFromEnv builds it from the environment the
// agent gives the executor; tests fill it in directly.
type Config struct {
	// Mode selects the command executor (the zero value) or the default
	// executor.
	Mode Mode
	// FrameworkID and ExecutorID identify the executor in every call.
	FrameworkID string
	ExecutorID  string
	// Directory is the sandbox on the host; Sandbox is the sandbox as the
	// task sees it, and the task's working directory.
	Directory string
	Sandbox   string
	// AgentEndpoint is the agent's "host:port" (an "http://host:port" base
	// URL is accepted too).
	AgentEndpoint string
	// Checkpoint is true when the framework checkpoints: the executor then
	// survives agent restarts by resubscribing.
	Checkpoint bool
	// ShutdownGracePeriod is the time the agent allows between SHUTDOWN and
	// destroying the executor; zero means DefaultShutdownGracePeriod.
	ShutdownGracePeriod time.Duration
	// RecoveryTimeout bounds resubscription attempts after a disconnection
	// (checkpointing only); zero means DefaultRecoveryTimeout.
	RecoveryTimeout time.Duration
	// SubscriptionBackoffMax caps the delay between resubscription attempts;
	// zero means DefaultSubscriptionBackoffMax.
	SubscriptionBackoffMax time.Duration
	// AuthToken, if set, is sent as "Authorization: Bearer <token>".
	AuthToken string

	// Codec is the wire encoding of calls and events; the zero Codec means
	// codec.Protobuf.
	Codec codec.Codec
	// HostIP is the IP reported in TASK_RUNNING's container_status. Empty
	// means the agent endpoint's address (resolved if it is a name).
	HostIP string
	// Env is the base environment of the tasks (the CommandInfo environment
	// is added to it). Nil means this process's environment without
	// MESOS_EXECUTOR_AUTHENTICATION_TOKEN.
	Env []string
	// Stdout and Stderr receive the output of a command executor's task
	// (the default executor's tasks write to files in their own sandboxes).
	// Nil means this process's stdout and stderr, which the agent points at
	// the sandbox files.
	Stdout, Stderr io.Writer
	// PodmanSocket is the podman service through which a command task with
	// a container image runs; without it such a task fails.
	PodmanSocket string
	// AgentID and ContainerID label a task's podman container
	// (strata.agent, strata.container) until SUBSCRIBED names them.
	AgentID     string
	ContainerID string

	// Logger receives the executor's log; nil means slog.Default().
	Logger *slog.Logger
	// HTTPClient, if set, is used for all calls to the agent. It must not
	// have a Timeout, since the subscription is a long-lived stream.
	HTTPClient *http.Client

	// AckTimeout is how long the executor waits for the agent's
	// acknowledgement of the terminal update before exiting anyway; zero
	// means DefaultAckTimeout.
	AckTimeout time.Duration
	// RegistrationTimeout bounds the attempts to subscribe for the first
	// time; zero means DefaultRegistrationTimeout.
	RegistrationTimeout time.Duration

	// Launched, if set, is called once, on the event loop, when the first
	// launch is over: the agent acknowledged a TASK_RUNNING (or the terminal
	// update of a task that never ran), or Run is returning. The process
	// uses it to defer work it does not want on the launch's critical path.
	Launched func()
}

// ConfigFromEnv reads the configuration from an environment given as
// "NAME=value" entries (os.Environ()). MESOS_FRAMEWORK_ID, MESOS_EXECUTOR_ID,
// MESOS_DIRECTORY, MESOS_SANDBOX and MESOS_AGENT_ENDPOINT are required, and
// with MESOS_CHECKPOINT=1 also MESOS_RECOVERY_TIMEOUT and
// MESOS_SUBSCRIPTION_BACKOFF_MAX; MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD
// defaults to 5secs. MESOS_HTTP_COMMAND_EXECUTOR=1 selects CommandMode, and
// its absence DefaultMode. The tasks' base environment is environ without the
// authentication token.
func ConfigFromEnv(environ []string) (Config, error) {
	vars := make(map[string]string, len(environ))
	var base []string
	for _, kv := range environ {
		name, value, ok := strings.Cut(kv, "=")
		if !ok {
			continue
		}
		vars[name] = value
		if name != EnvAuthenticationToken {
			base = append(base, kv)
		}
	}
	if base == nil {
		base = []string{}
	}

	var missing []string
	var problems []error
	required := func(name string) string {
		v, ok := vars[name]
		if !ok || v == "" {
			missing = append(missing, name)
		}
		return v
	}
	duration := func(name string, dst *time.Duration) {
		v, ok := vars[name]
		if !ok || v == "" {
			return
		}
		d, err := ParseDuration(v)
		if err != nil {
			problems = append(problems, fmt.Errorf("%s: %w", name, err))
			return
		}
		*dst = d
	}

	cfg := Config{
		FrameworkID:   required(EnvFrameworkID),
		ExecutorID:    required(EnvExecutorID),
		Directory:     required(EnvDirectory),
		Sandbox:       required(EnvSandbox),
		AgentEndpoint: required(EnvAgentEndpoint),
		AuthToken:     vars[EnvAuthenticationToken],
		Env:           base,
		Mode:          DefaultMode,
		PodmanSocket:  strings.TrimSpace(vars[EnvPodmanSocket]),
		AgentID:       vars[EnvAgentID],
		ContainerID:   vars[EnvContainerID],
	}
	if strings.TrimSpace(vars[EnvHTTPCommandExecutor]) == "1" {
		cfg.Mode = CommandMode
	}

	switch strings.ToLower(strings.TrimSpace(vars[EnvCheckpoint])) {
	case "", "0", "false":
	case "1", "true":
		cfg.Checkpoint = true
	default:
		problems = append(problems, fmt.Errorf("%s: %q is not a boolean", EnvCheckpoint, vars[EnvCheckpoint]))
	}
	if cfg.Checkpoint {
		required(EnvRecoveryTimeout)
		required(EnvSubscriptionBackoffMax)
	}
	duration(EnvShutdownGracePeriod, &cfg.ShutdownGracePeriod)
	duration(EnvRecoveryTimeout, &cfg.RecoveryTimeout)
	duration(EnvSubscriptionBackoffMax, &cfg.SubscriptionBackoffMax)

	switch c := strings.ToLower(strings.TrimSpace(vars[EnvCodec])); c {
	case "", "protobuf", "proto":
		cfg.Codec = codec.Protobuf
	case "json":
		cfg.Codec = codec.JSON
	default:
		problems = append(problems, fmt.Errorf("%s: %q is not one of protobuf, json", EnvCodec, vars[EnvCodec]))
	}

	for _, name := range []string{EnvStrataIP, EnvLibprocessIP} {
		if ip := strings.TrimSpace(vars[name]); ip != "" {
			cfg.HostIP = ip
			break
		}
	}

	if len(missing) > 0 {
		problems = append([]error{fmt.Errorf("missing environment variables %s (the executor is started by the agent, not by hand)",
			strings.Join(missing, ", "))}, problems...)
	}
	if len(problems) > 0 {
		return Config{}, fmt.Errorf("executor: configuration: %w", errors.Join(problems...))
	}
	return cfg, nil
}

// withDefaults validates c and fills in the defaults.
func (c Config) withDefaults() (Config, error) {
	var missing []string
	for _, f := range []struct{ name, value string }{
		{"FrameworkID", c.FrameworkID}, {"ExecutorID", c.ExecutorID},
		{"AgentEndpoint", c.AgentEndpoint}, {"Sandbox", c.Sandbox},
	} {
		if f.value == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return c, fmt.Errorf("executor: configuration: %s not set", strings.Join(missing, ", "))
	}
	if c.Directory == "" {
		c.Directory = c.Sandbox
	}
	if c.ShutdownGracePeriod <= 0 {
		c.ShutdownGracePeriod = DefaultShutdownGracePeriod
	}
	if c.RecoveryTimeout <= 0 {
		c.RecoveryTimeout = DefaultRecoveryTimeout
	}
	if c.SubscriptionBackoffMax <= 0 {
		c.SubscriptionBackoffMax = DefaultSubscriptionBackoffMax
	}
	if c.AckTimeout <= 0 {
		c.AckTimeout = DefaultAckTimeout
	}
	if c.RegistrationTimeout <= 0 {
		c.RegistrationTimeout = DefaultRegistrationTimeout
	}
	if c.Codec == (codec.Codec{}) {
		c.Codec = codec.Protobuf
	}
	if c.Env == nil {
		for _, kv := range os.Environ() {
			if !strings.HasPrefix(kv, EnvAuthenticationToken+"=") {
				c.Env = append(c.Env, kv)
			}
		}
	}
	if c.Stdout == nil {
		c.Stdout = os.Stdout
	}
	if c.Stderr == nil {
		c.Stderr = os.Stderr
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c, nil
}
