package executor

import (
	"errors"
	"fmt"
	"os"

	"strata/kernel/containerizer/standby"
)

// ErrStandbyDiscarded is returned by AwaitLaunch when the agent no longer
// wants this standby (it stopped, or it had more standbys than it needs).
// The process should exit quietly.
var ErrStandbyDiscarded = standby.ErrDiscarded

// AwaitLaunch is called first thing by the executor's main. In a process the
// agent started ahead of demand as a standby command executor (see package
// standby), it waits until the agent hands it a container, and returns once
// the process's working directory, standard output and error and environment
// are those of the executor the agent launched: ConfigFromProcess and Run
// then proceed exactly as in an executor started for the container. In any
// other process it returns nil at once.
func AwaitLaunch() error {
	if _, ok := os.LookupEnv(standby.EnvFD); !ok {
		return nil
	}
	if _, err := standby.Await(); err != nil {
		if errors.Is(err, standby.ErrDiscarded) {
			return ErrStandbyDiscarded
		}
		return fmt.Errorf("executor: %w", err)
	}
	return nil
}

// ConfigFromProcess reads the configuration from this process's environment
// (ConfigFromEnv) and then removes the authentication token from that
// environment: it is the executor's alone, and neither the task nor a health
// check command (which inherit the environment) may see it.
func ConfigFromProcess() (Config, error) {
	cfg, err := ConfigFromEnv(os.Environ())
	if err != nil {
		return Config{}, err
	}
	_ = os.Unsetenv(EnvAuthenticationToken)
	return cfg, nil
}
