package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"

	"github.com/spf13/cobra"

	"strata/kernel/agent"
	"strata/kernel/master"
)

func defaultDevWorkDir() string {
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".strata", "dev")
	}
	return filepath.Join(os.TempDir(), "strata-dev")
}

func newDevCommand() *cobra.Command {
	mf := &masterFlags{}
	af := &agentFlags{}
	var workDir string
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run the whole platform on this machine, in one process",
		Long: `Run a master and one agent in one process on 127.0.0.1, with all state under --work-dir,
and print where to look. Ctrl-C (SIGINT) or SIGTERM stops everything and leaves no task process
(or image container) behind. Command tasks with a container image run in podman containers when
podman is installed and dev runs as root (--podman, --podman-socket: see strata agent --help).
Later the apps, jobs, DNS, package and UI services join it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDev(cmd, mf, af, workDir)
		},
	}
	mf.register(cmd.Flags(), "master-")
	af.register(cmd.Flags(), "agent-")
	cmd.Flags().StringVar(&workDir, "work-dir", defaultDevWorkDir(), "directory for all state (registry, sandboxes, checkpoints)")
	return cmd
}

func runDev(cmd *cobra.Command, mf *masterFlags, af *agentFlags, workDir string) error {
	abs, err := filepath.Abs(workDir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return fmt.Errorf("create work dir: %w", err)
	}
	logger := slog.Default()
	if af.ip == "" {
		af.ip = mf.ip
	}
	if af.hostname == "" {
		af.hostname = af.ip
	}
	m, err := master.New(mf.config(abs, cmd.Flags(), logger), nil)
	if err != nil {
		return err
	}
	ctx, stop := signalContext()
	defer stop()

	masterReady := make(chan string, 1)
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := m.Serve(runCtx, masterReady); err != nil {
			errs <- fmt.Errorf("master: %w", err)
			cancel()
		}
	}()
	var masterAddr string
	select {
	case masterAddr = <-masterReady:
	case err := <-errs:
		return err
	case <-ctx.Done():
		return nil
	}

	acfg, err := af.config(filepath.Join(abs, "agent"), masterAddr, logger)
	if err != nil {
		cancel()
		wg.Wait()
		return err
	}
	acfg.KillTasksOnExit = true
	a, err := agent.New(acfg)
	if err != nil {
		cancel()
		wg.Wait()
		return err
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := a.Run(runCtx); err != nil && !errors.Is(err, context.Canceled) {
			errs <- fmt.Errorf("agent: %w", err)
			cancel()
		}
	}()
	select {
	case <-a.Ready():
		printDevBanner(cmd, masterAddr, a.Addr(), abs)
	case err := <-errs:
		cancel()
		wg.Wait()
		return err
	case <-ctx.Done():
	}
	<-runCtx.Done()
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
	}
	fmt.Fprintln(cmd.ErrOrStderr(), "strata dev stopped")
	return nil
}

func printDevBanner(cmd *cobra.Command, masterAddr, agentAddr, workDir string) {
	w := cmd.OutOrStdout()
	fmt.Fprintf(w, `
Strata is running on this machine (Ctrl-C stops it and every task).

  master   http://%[1]s            Mesos v1 scheduler API: POST /api/v1/scheduler
           http://%[1]s/master/state   operator API: POST /api/v1
           http://%[1]s/metrics        Prometheus metrics
  agent    http://%[2]s/state
  state    %[3]s

Try it:
  %[4]s execute --master %[1]s --name hello --command 'echo hello from Strata; sleep 2'
  curl -s http://%[1]s/master/state-summary

`, masterAddr, agentAddr, workDir, selfName())
}

// selfName is how the user invoked this binary, for copy-paste hints.
func selfName() string {
	if len(os.Args) > 0 && os.Args[0] != "" {
		return os.Args[0]
	}
	return "strata"
}
