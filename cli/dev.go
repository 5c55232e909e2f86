package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"strata/kernel/agent"
	"strata/kernel/master"
	"strata/services/apps"
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
	df := &devAppsFlags{}
	var workDir string
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run the whole platform on this machine, in one process",
		Long: `Run a master, one agent and the apps service (Marathon's /v2 API, on --apps-port) in one
process on 127.0.0.1, with all state under --work-dir, and print where to look. Ctrl-C
(SIGINT) or SIGTERM stops everything and leaves no task process (or image container) behind.
Command tasks with a container image run in podman containers when podman is installed and dev
runs as root (--podman, --podman-socket: see strata agent --help). Apps keep running across a
restart of dev only as far as the tasks do: dev kills its tasks when it stops, and the apps
service starts them again. Later the jobs, DNS, package and UI services join it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDev(cmd, mf, af, df, workDir)
		},
	}
	mf.register(cmd.Flags(), "master-")
	af.register(cmd.Flags(), "agent-")
	df.register(cmd.Flags())
	cmd.Flags().StringVar(&workDir, "work-dir", defaultDevWorkDir(), "directory for all state (registry, sandboxes, checkpoints)")
	return cmd
}

// devAppsFlags are the apps service's flags in strata dev.
type devAppsFlags struct {
	enabled bool
	port    int
	appsFlags
}

func (f *devAppsFlags) register(fs *pflag.FlagSet) {
	fs.BoolVar(&f.enabled, "apps", true, "run the apps service (Marathon's /v2 API); --apps=false leaves it out")
	fs.IntVar(&f.port, "apps-port", 8080, "port of the apps service's Marathon API (0: any free port)")
	f.appsFlags.register(fs, "apps-")
}

func runDev(cmd *cobra.Command, mf *masterFlags, af *agentFlags, df *devAppsFlags, workDir string) error {
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

	// The apps service starts next to the agent: it needs only the master, and the banner
	// waits for both.
	appsLine := startDevApps(runCtx, &wg, df, mf.ip, masterAddr, abs, logger)

	acfg, err := af.config(filepath.Join(abs, "agent"), masterAddr, logger)
	if err != nil {
		cancel()
		wg.Wait()
		return err
	}
	acfg.KillTasksOnExit = true
	if acfg.SecretsDir == "" {
		acfg.SecretsDir = filepath.Join(abs, "agent", "secrets")
	}
	if err := os.MkdirAll(acfg.SecretsDir, 0o700); err != nil {
		cancel()
		wg.Wait()
		return fmt.Errorf("create secrets dir: %w", err)
	}
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
		printDevBanner(cmd, masterAddr, a.Addr(), <-appsLine, abs, acfg.SecretsDir)
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

// startDevApps starts the apps service and returns a channel that yields the banner's line for
// it once it serves. A service that cannot start (its port is taken) is reported there, and the
// rest of the platform keeps running.
func startDevApps(ctx context.Context, wg *sync.WaitGroup, df *devAppsFlags, ip, masterAddr, workDir string, logger *slog.Logger) <-chan string {
	line := make(chan string, 1)
	if !df.enabled {
		line <- "apps     not started (--apps=false)"
		return line
	}
	svc, err := apps.New(df.config([]string{masterAddr}, fmt.Sprintf("%s:%d", ip, df.port), filepath.Join(workDir, "apps"), logger))
	if err != nil {
		line <- "apps     not started: " + err.Error()
		return line
	}
	done := make(chan error, 1)
	wg.Add(2)
	go func() {
		defer wg.Done()
		err := svc.Run(ctx)
		if err != nil {
			logger.Error("apps service stopped", "err", err)
		}
		done <- err
	}()
	go func() {
		defer wg.Done()
		select {
		case <-svc.Ready():
			line <- fmt.Sprintf("apps     http://%-22s Marathon API: /v2/apps, /v2/deployments, /v2/tasks", svc.Addr())
		case err := <-done:
			line <- fmt.Sprintf("apps     not started: %v (--apps-port chooses another port)", err)
		case <-ctx.Done():
			line <- "apps     not started"
		}
	}()
	return line
}

func printDevBanner(cmd *cobra.Command, masterAddr, agentAddr, appsLine, workDir, secretsDir string) {
	w := cmd.OutOrStdout()
	appsHint := ""
	if strings.HasPrefix(appsLine, "apps     http://") {
		url := strings.Fields(appsLine)[1]
		appsHint = fmt.Sprintf(`  curl -s -X POST %s/v2/apps -H 'Content-Type: application/json' \
    -d '{"id":"/hello","cmd":"while true; do echo hello; sleep 5; done","cpus":0.1,"mem":32,"instances":2}'
`, url)
	}
	fmt.Fprintf(w, `
Strata is running on this machine (Ctrl-C stops it and every task).

  master   http://%[1]s            Mesos v1 scheduler API: POST /api/v1/scheduler
           http://%[1]s/master/state   operator API: POST /api/v1
           http://%[1]s/metrics        Prometheus metrics
  agent    http://%[2]s/state
  %[5]s
  state    %[3]s
  secrets  %[7]s   (an app's secret with source /db/password is the file db/password here)

Try it:
  %[4]s execute --master %[1]s --name hello --command 'echo hello from Strata; sleep 2'
  curl -s http://%[1]s/master/state-summary
%[6]s
`, masterAddr, agentAddr, workDir, selfName(), appsLine, appsHint, secretsDir)
}

// selfName is how the user invoked this binary, for copy-paste hints.
func selfName() string {
	if len(os.Args) > 0 && os.Args[0] != "" {
		return os.Args[0]
	}
	return "strata"
}
