package cli

import (
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"strata/kernel/agent"
	"strata/kernel/agent/podmancz"
)

// agentFlags are the flags of `strata agent` (and the agent part of `strata dev`).
type agentFlags struct {
	ip, hostname, resources, attributes string
	port                                int
	executorRegistrationTimeout         time.Duration
	executorShutdownGracePeriod         time.Duration
	standbyExecutors                    int
	killTasksOnExit                     bool
	isolation, cgroupsRoot              string
	cgroupsEnableCFS, enforceDiskQuota  bool
	containerPidsMax                    uint64
	diskWatchInterval                   time.Duration
	sandboxLogMaxSize                   string
	secretsDir                          string
	sandboxLogKeep                      int
	podman, podmanSocket                string
}

func (f *agentFlags) register(fs *pflag.FlagSet, prefix string) {
	fs.StringVar(&f.ip, prefix+"ip", "", "IP address the agent listens on and advertises (default: the address the hostname resolves to)")
	fs.StringVar(&f.hostname, prefix+"hostname", "", "hostname the agent advertises in offers (default: the system hostname)")
	fs.IntVar(&f.port, prefix+"port", agent.DefaultPort, "port of the agent's HTTP API (executors, /files, /state; Mesos default 5051)")
	fs.StringVar(&f.resources, prefix+"resources", "",
		`resources to offer, overriding what is detected, in Mesos syntax: "cpus:4;mem:8192;disk:50000;ports:[31000-32000]";
a role in parentheses reserves statically: "cpus(ops):2" (default: all CPUs, memory less 1 GB, disk less 5 GB, ports 31000-32000)`)
	fs.StringVar(&f.attributes, prefix+"attributes", "", `attributes for placement constraints, in Mesos syntax: "rack:r1;zone:us-east-1a;ssd:true"`)
	fs.DurationVar(&f.executorRegistrationTimeout, prefix+"executor-registration-timeout", agent.DefaultExecutorRegistrationTimeout,
		"time an executor has to subscribe after launch before its tasks fail")
	fs.DurationVar(&f.executorShutdownGracePeriod, prefix+"executor-shutdown-grace-period", agent.DefaultExecutorShutdownGracePeriod,
		"time between asking an executor to shut down and destroying its container")
	fs.BoolVar(&f.killTasksOnExit, prefix+"kill-tasks-on-exit", false,
		"shut every executor and task down when the agent stops (by default tasks of checkpointing frameworks keep running and are recovered by the next agent)")
	fs.IntVar(&f.standbyExecutors, prefix+"standby-executors", agent.DefaultStandbyExecutors,
		"command executors kept started ahead of demand, so that a command task skips the executor's process start (0: none)")
	fs.StringVar(&f.isolation, prefix+"isolation", agent.DefaultIsolation,
		`how containers are isolated when the agent runs as root, comma-separated: "cgroups" (cpu, memory and pids limits,
accounting, OOM detection, a kill nothing escapes), "namespaces" (a mount namespace with a private /tmp; the task's
user is switched to inside the container), "pid-namespace" (also a PID namespace); "none" isolates nothing.
Without root nothing is isolated, and /state says so`)
	fs.StringVar(&f.cgroupsRoot, prefix+"cgroups-root", "",
		`the agent's cgroup under every hierarchy (default: strata/<hash of the work dir>, so that two agents on one host never share one)`)
	fs.BoolVar(&f.cgroupsEnableCFS, prefix+"cgroups-enable-cfs", false,
		"cap every container's CPU at its cpus with a CFS quota (without it only tasks with a cpus limit are capped)")
	fs.Uint64Var(&f.containerPidsMax, prefix+"container-pids-max", 0, "most processes and threads one container may have (0: no bound)")
	fs.BoolVar(&f.enforceDiskQuota, prefix+"enforce-container-disk-quota", false,
		"fail a container (REASON_CONTAINER_LIMITATION_DISK) whose sandbox grows beyond its disk resource")
	fs.DurationVar(&f.diskWatchInterval, prefix+"container-disk-watch-interval", agent.DefaultContainerDiskWatchInterval,
		"how often sandbox disk usage is measured for --enforce-container-disk-quota")
	fs.StringVar(&f.sandboxLogMaxSize, prefix+"sandbox-log-max-size", "10MB",
		`cap of each sandbox stdout and stderr file ("10MB", "512KB", "1GB"); a larger file is rotated to NAME.1, NAME.2, ... ("0": never rotate)`)
	fs.IntVar(&f.sandboxLogKeep, prefix+"sandbox-log-keep", agent.DefaultSandboxLogKeep, "rotated sandbox output files kept per stream")
	fs.StringVar(&f.secretsDir, prefix+"secrets-dir", "",
		`where the secrets tasks reference live: a Secret REFERENCE named "/db/password" (an app's secrets source) is the
file <dir>/db/password, or one key of it when it holds a JSON object (default: <work dir>/secrets)`)
	// One agent per process: the podman flags carry no prefix in strata dev.
	fs.StringVar(&f.podman, "podman", podmancz.ModeAuto,
		`image containers: "auto" runs command tasks whose ContainerInfo has an image (DOCKER docker.image, or MESOS
mesos.image of type DOCKER) as podman containers when podman, runc and conmon are installed and the agent is root,
through a podman service of the agent's own under <work dir>/podman; "off" fails such tasks. /flags and the log
say what was found ("podman 4.3.1 (runc) at ...") or why image tasks cannot run`)
	fs.StringVar(&f.podmanSocket, "podman-socket", "",
		"use the podman service already listening on this unix socket (on this host) instead of starting the agent's own")
}

func (f *agentFlags) config(workDir, master string, logger *slog.Logger) (agent.Config, error) {
	logMax, err := parseBytes(f.sandboxLogMaxSize)
	if err != nil {
		return agent.Config{}, fmt.Errorf("--sandbox-log-max-size: %w", err)
	}
	if logMax == 0 {
		logMax = -1
	}
	images, err := podmancz.New(podmancz.Config{Mode: f.podman, Socket: f.podmanSocket, WorkDir: workDir, Logger: logger})
	if err != nil {
		return agent.Config{}, fmt.Errorf("--podman: %w", err)
	}
	return agent.Config{
		WorkDir:                     workDir,
		IP:                          f.ip,
		Hostname:                    f.hostname,
		Port:                        f.port,
		Master:                      master,
		Resources:                   f.resources,
		Attributes:                  f.attributes,
		ExecutorRegistrationTimeout: f.executorRegistrationTimeout,
		ExecutorShutdownGracePeriod: f.executorShutdownGracePeriod,
		StandbyExecutors:            f.standbyExecutors,
		KillTasksOnExit:             f.killTasksOnExit,
		Isolation:                   f.isolation,
		CgroupsRoot:                 f.cgroupsRoot,
		CgroupsEnableCFS:            f.cgroupsEnableCFS,
		ContainerPidsMax:            f.containerPidsMax,
		EnforceContainerDiskQuota:   f.enforceDiskQuota,
		ContainerDiskWatchInterval:  f.diskWatchInterval,
		SandboxLogMaxSize:           logMax,
		SandboxLogKeep:              f.sandboxLogKeep,
		SecretsDir:                  f.secretsDir,
		Images:                      images,
		Logger:                      logger,
	}, nil
}

// parseBytes reads a size in Mesos' Bytes syntax: a number and B, KB, MB,
// GB or TB (powers of 1024; no unit means bytes).
func parseBytes(s string) (int64, error) {
	s = strings.TrimSpace(strings.ToUpper(s))
	units := []struct {
		suffix string
		mult   int64
	}{{"TB", 1 << 40}, {"GB", 1 << 30}, {"MB", 1 << 20}, {"KB", 1 << 10}, {"B", 1}}
	mult := int64(1)
	for _, u := range units {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.mult
			break
		}
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("%q is not a size such as 10MB", s)
	}
	return int64(v * float64(mult)), nil
}

func newAgentCommand() *cobra.Command {
	f := &agentFlags{}
	var workDir, masterAddr string
	cmd := &cobra.Command{
		Use:   "agent",
		Short: "Run an agent that offers this host's resources and runs tasks",
		Long: `Run a Strata agent: it registers with the master, offers this host's resources, runs every task
through an executor process (the built-in command executor or a framework's own), serves the v1
executor API, /state, /files and /monitor/statistics, and keeps checkpointing frameworks' tasks
running across its own restarts.

A command task whose ContainerInfo names an image (type DOCKER with docker.image, or MESOS with
mesos.image of type DOCKER) runs in a podman container, as with Mesos' docker containerizer: the
agent starts its own podman service (runc, cgroupfs) under <work dir>/podman, or uses
--podman-socket, and the command executor pulls the image (unless it is there; force_pull_image
always pulls), runs the command in it with the sandbox at /mnt/mesos/sandbox, the HOST or BRIDGE
network with docker.port_mappings, volumes and the task's cpu and mem limits, copies its output
into the sandbox's stdout and stderr, and removes it after the task ends. That needs root and
podman, runc and conmon (apt-get install podman runc); without them, or with --podman=off, such
tasks fail at once with REASON_CONTAINER_LAUNCH_FAILED and a message saying why.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if masterAddr == "" {
				return fmt.Errorf("--master is required (host:port of the master, or a zk:// URL)")
			}
			cfg, err := f.config(workDir, masterAddr, slog.Default())
			if err != nil {
				return err
			}
			a, err := agent.New(cfg)
			if err != nil {
				return err
			}
			return serveUntilSignal(cmd.ErrOrStderr(), a.Ready(), func() string {
				return fmt.Sprintf("strata agent serving on http://%s, master %s", a.Addr(), masterAddr)
			}, a.Run)
		},
	}
	f.register(cmd.Flags(), "")
	cmd.Flags().StringVar(&masterAddr, "master", "", "master to register with: host:port, a comma-separated list of them, or zk://host1:2181,host2:2181/mesos to follow the leader through ZooKeeper")
	cmd.Flags().StringVar(&workDir, "work-dir", "/var/lib/strata/agent", "directory for sandboxes and checkpoints")
	return cmd
}
