package executor

import (
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"strata/kernel/mesos/codec"
)

func baseEnv(extra ...string) []string {
	return append([]string{
		"MESOS_FRAMEWORK_ID=fw",
		"MESOS_EXECUTOR_ID=ex",
		"MESOS_DIRECTORY=/var/lib/strata/sandbox",
		"MESOS_SANDBOX=/mnt/mesos/sandbox",
		"MESOS_AGENT_ENDPOINT=10.0.0.5:5051",
		"PATH=/usr/bin:/bin",
	}, extra...)
}

func TestConfigFromEnv(t *testing.T) {
	tests := []struct {
		name  string
		env   []string
		check func(t *testing.T, c Config)
		err   []string // substrings of the error
	}{
		{
			name: "minimal",
			env:  baseEnv(),
			check: func(t *testing.T, c Config) {
				if c.FrameworkID != "fw" || c.ExecutorID != "ex" || c.Directory != "/var/lib/strata/sandbox" ||
					c.Sandbox != "/mnt/mesos/sandbox" || c.AgentEndpoint != "10.0.0.5:5051" {
					t.Errorf("ids and paths: %+v", c)
				}
				if c.Checkpoint || c.ShutdownGracePeriod != 0 || c.Codec != codec.Protobuf || c.HostIP != "" {
					t.Errorf("defaults: checkpoint=%v grace=%v codec=%v ip=%q", c.Checkpoint, c.ShutdownGracePeriod, c.Codec, c.HostIP)
				}
				if !slices.Contains(c.Env, "PATH=/usr/bin:/bin") {
					t.Errorf("Env = %v", c.Env)
				}
				if c.Mode != DefaultMode {
					t.Errorf("without MESOS_HTTP_COMMAND_EXECUTOR the mode is %v, want the default executor", c.Mode)
				}
			},
		},
		{
			name:  "command executor",
			env:   baseEnv("MESOS_HTTP_COMMAND_EXECUTOR=1"),
			check: func(t *testing.T, c Config) { eq(t, c.Mode, CommandMode) },
		},
		{
			name: "image containers",
			env:  baseEnv("MESOS_HTTP_COMMAND_EXECUTOR=1", "STRATA_PODMAN_SOCKET=/run/p.sock", "MESOS_AGENT_ID=a1", "MESOS_CONTAINER_ID=c1"),
			check: func(t *testing.T, c Config) {
				eq(t, c.PodmanSocket, "/run/p.sock")
				eq(t, c.AgentID, "a1")
				eq(t, c.ContainerID, "c1")
			},
		},
		{
			name:  "command executor flag not set",
			env:   baseEnv("MESOS_HTTP_COMMAND_EXECUTOR=0"),
			check: func(t *testing.T, c Config) { eq(t, c.Mode, DefaultMode) },
		},
		{
			name: "everything",
			env: baseEnv("MESOS_CHECKPOINT=1", "MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD=1.5secs",
				"MESOS_RECOVERY_TIMEOUT=15mins", "MESOS_SUBSCRIPTION_BACKOFF_MAX=2secs",
				"MESOS_EXECUTOR_AUTHENTICATION_TOKEN=secret", "STRATA_EXECUTOR_CODEC=json",
				"LIBPROCESS_IP=10.0.0.9", "STRATA_IP=10.0.0.7"),
			check: func(t *testing.T, c Config) {
				if !c.Checkpoint || c.ShutdownGracePeriod != 1500*time.Millisecond ||
					c.RecoveryTimeout != 15*time.Minute || c.SubscriptionBackoffMax != 2*time.Second {
					t.Errorf("checkpoint=%v grace=%v recovery=%v backoff=%v", c.Checkpoint, c.ShutdownGracePeriod,
						c.RecoveryTimeout, c.SubscriptionBackoffMax)
				}
				if c.AuthToken != "secret" || c.Codec != codec.JSON || c.HostIP != "10.0.0.7" {
					t.Errorf("token=%q codec=%v ip=%q", c.AuthToken, c.Codec, c.HostIP)
				}
				for _, kv := range c.Env {
					if strings.HasPrefix(kv, "MESOS_EXECUTOR_AUTHENTICATION_TOKEN=") {
						t.Errorf("the task's environment has the executor's token")
					}
				}
			},
		},
		{
			name:  "libprocess ip",
			env:   baseEnv("LIBPROCESS_IP=10.0.0.9", "MESOS_CHECKPOINT=false"),
			check: func(t *testing.T, c Config) { eq(t, c.HostIP, "10.0.0.9") },
		},
		{
			name: "missing",
			env:  []string{"MESOS_FRAMEWORK_ID=fw", "MESOS_SANDBOX="},
			err:  []string{"MESOS_EXECUTOR_ID", "MESOS_DIRECTORY", "MESOS_SANDBOX", "MESOS_AGENT_ENDPOINT", "not by hand"},
		},
		{
			name: "checkpoint needs recovery settings",
			env:  baseEnv("MESOS_CHECKPOINT=1"),
			err:  []string{"MESOS_RECOVERY_TIMEOUT", "MESOS_SUBSCRIPTION_BACKOFF_MAX"},
		},
		{
			name: "bad values",
			env:  baseEnv("MESOS_CHECKPOINT=maybe", "MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD=soon", "STRATA_EXECUTOR_CODEC=xml"),
			err:  []string{"MESOS_CHECKPOINT", "MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD", "STRATA_EXECUTOR_CODEC"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ConfigFromEnv(tt.env)
			if len(tt.err) > 0 {
				if err == nil {
					t.Fatalf("no error, config %+v", c)
				}
				for _, s := range tt.err {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q does not mention %q", err, s)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, c)
		})
	}
}

func eq[T comparable](t *testing.T, got, want T) {
	t.Helper()
	if got != want {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestConfigDefaults(t *testing.T) {
	if _, err := (Config{FrameworkID: "fw"}).withDefaults(); err == nil ||
		!strings.Contains(err.Error(), "ExecutorID, AgentEndpoint, Sandbox") {
		t.Errorf("incomplete config: %v", err)
	}
	c, err := Config{FrameworkID: "fw", ExecutorID: "ex", AgentEndpoint: "h:1", Sandbox: "/s"}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	eq(t, c.Directory, "/s")
	eq(t, c.ShutdownGracePeriod, DefaultShutdownGracePeriod)
	eq(t, c.RecoveryTimeout, DefaultRecoveryTimeout)
	eq(t, c.SubscriptionBackoffMax, DefaultSubscriptionBackoffMax)
	eq(t, c.AckTimeout, DefaultAckTimeout)
	eq(t, c.RegistrationTimeout, DefaultRegistrationTimeout)
	eq(t, c.Codec, codec.Protobuf)
	if c.Env == nil || c.Stdout == nil || c.Stderr == nil || c.Logger == nil {
		t.Errorf("unset defaults: %+v", c)
	}
}

func TestShutdownKillGrace(t *testing.T) {
	for _, tt := range []struct{ in, want time.Duration }{
		{5 * time.Second, 3 * time.Second}, // the agent's default: the Mesos 3 s
		{ShutdownBuffer, 0},
		{time.Second, 0},
		{time.Minute, time.Minute - ShutdownBuffer},
	} {
		eq(t, shutdownKillGrace(tt.in), tt.want)
	}
}

func TestConfigFromProcess(t *testing.T) {
	for _, kv := range baseEnv("MESOS_EXECUTOR_AUTHENTICATION_TOKEN=secret") {
		name, value, _ := strings.Cut(kv, "=")
		t.Setenv(name, value)
	}
	c, err := ConfigFromProcess()
	if err != nil {
		t.Fatal(err)
	}
	if c.AuthToken != "secret" || c.FrameworkID != "fw" {
		t.Errorf("config = %+v", c)
	}
	for _, name := range []string{EnvAuthenticationToken} {
		if v, ok := os.LookupEnv(name); ok {
			t.Errorf("%s=%s is still in the process environment", name, v)
		}
		for _, kv := range c.Env {
			if strings.HasPrefix(kv, name+"=") {
				t.Errorf("the task's environment has %s", kv)
			}
		}
	}
}

func TestAwaitLaunchOutsideAStandby(t *testing.T) {
	if err := AwaitLaunch(); err != nil {
		t.Fatal(err)
	}
}
