package podman

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"time"
)

// Detection says whether podman can run containers for the agent, for the
// agent's start log and its /state and /flags.
type Detection struct {
	// Installed is true when the podman executable was found.
	Installed bool
	// Path is the podman executable.
	Path string
	// Version is podman's version, e.g. "4.3.1".
	Version string
	// Runtime is the runc executable the service is configured to use.
	Runtime string
	// Usable is true when the agent can start its podman service.
	Usable bool
	// Reason says, when Usable is false, why and what to do about it.
	Reason string
}

// Detect looks for podman and what the agent's podman service needs: runc
// (crun fails on hybrid cgroup hosts), conmon, and root (the service is
// rootful: rootless podman on cgroup v1 enforces no limits).
func Detect(ctx context.Context) Detection {
	var d Detection
	path, err := exec.LookPath("podman")
	if err != nil {
		d.Reason = "podman is not installed (apt-get install podman runc)"
		return d
	}
	d.Installed, d.Path = true, path
	vctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(vctx, path, "version", "--format", "{{.Client.Version}}").Output()
	if err != nil {
		d.Reason = "podman version failed: " + exitMessage(err)
		return d
	}
	d.Version = strings.TrimSpace(string(out))
	d.Runtime = findExecutable("runc", "/usr/sbin/runc", "/usr/bin/runc", "/usr/local/bin/runc")
	switch {
	case d.Runtime == "":
		d.Reason = "runc is not installed (apt-get install runc); podman needs it here because crun fails on hybrid cgroups"
	case findExecutable("conmon", "/usr/bin/conmon", "/usr/libexec/podman/conmon", "/usr/local/libexec/podman/conmon", "/usr/lib/podman/bin/conmon") == "":
		d.Reason = "conmon is not installed (apt-get install conmon)"
	case os.Geteuid() != 0:
		d.Reason = "the agent is not running as root; its podman service is rootful"
	default:
		d.Usable = true
	}
	return d
}

// findExecutable returns name from PATH or the first of paths that exists.
func findExecutable(name string, paths ...string) string {
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, p := range paths {
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p
		}
	}
	return ""
}

// exitMessage renders a failed command's error with its stderr.
func exitMessage(err error) string {
	if ee, ok := err.(*exec.ExitError); ok && len(ee.Stderr) > 0 {
		return err.Error() + ": " + strings.TrimSpace(string(ee.Stderr))
	}
	return err.Error()
}
