package posix

import (
	"context"
	"fmt"
	"path/filepath"

	"strata/kernel/containerizer"
	"strata/kernel/containerizer/standby"
)

// launchIsolated launches a container in namespaces of its own: its first
// process is a standby started for it (the program itself when it is one of
// Init's, else `Init container-init`), which the launch then sets up and
// hands the container's program, sandbox, environment and user.
func (c *Containerizer) launchIsolated(ctx context.Context, cfg containerizer.ContainerConfig) (*containerizer.Launched, error) {
	first, exec := c.initCommand(cfg.Command)
	s, err := c.startStandby(first, "", cfg.ID)
	if err != nil {
		return nil, fmt.Errorf("posix: launch %s: %w", cfg.ID, err)
	}
	return c.launchStandby(ctx, s, cfg, exec)
}

// initCommand is the command a container's first process is started with,
// and the program it executes afterwards (nil: it is that program).
func (c *Containerizer) initCommand(cmd containerizer.Command) (containerizer.Command, *standby.Exec) {
	if c.isInit(cmd.Path) {
		return cmd, nil
	}
	args := cmd.Args
	if len(args) == 0 {
		args = []string{cmd.Path}
	}
	return containerizer.Command{Path: c.cfg.Init, Args: []string{c.cfg.Init, "container-init"}, Env: cmd.Env},
		&standby.Exec{Path: cmd.Path, Args: args}
}

// isInit reports whether path is the strata executable.
func (c *Containerizer) isInit(path string) bool {
	if c.cfg.Init == "" {
		return false
	}
	a, err1 := filepath.EvalSymlinks(path)
	b, err2 := filepath.EvalSymlinks(c.cfg.Init)
	return err1 == nil && err2 == nil && a == b
}

// isolation is the part of a standby's Launch that sets up the container:
// the mount namespace and the user.
func (c *Containerizer) isolation(cfg containerizer.ContainerConfig) (*standby.Mounts, *standby.Credential, error) {
	if !c.namespaces() {
		return nil, nil, nil
	}
	mounts := &standby.Mounts{PrivateTmp: filepath.Join(cfg.Directory, "tmp"), Proc: c.cfg.PIDNamespace, Keep: c.cfg.Keep}
	if cfg.User == "" {
		return mounts, nil, nil
	}
	cred, err := credential(cfg.User)
	if err != nil {
		return nil, nil, err
	}
	return mounts, &standby.Credential{UID: cred.Uid, GID: cred.Gid, Groups: cred.Groups}, nil
}
