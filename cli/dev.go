package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"strata/dns"
	"strata/dns/server"
	"strata/kernel/agent"
	"strata/kernel/master"
	"strata/services/apps"
	"strata/services/jobs"
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
	jf := &devJobsFlags{}
	nf := &devDNSFlags{}
	var workDir string
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run the whole platform on this machine, in one process",
		Long: `Run a master, one agent, the apps service (Marathon's /v2 API, on --apps-port) and the jobs
service (Metronome's /v1/jobs and Chronos' /v1/scheduler APIs, on --jobs-port) in one process on 127.0.0.1, with all state under --work-dir, and print where to look. Ctrl-C
(SIGINT) or SIGTERM stops everything and leaves no task process (or image container) behind.
Command tasks with a container image run in podman containers when podman is installed and dev
runs as root (--podman, --podman-socket: see strata agent --help). Apps keep running across a
restart of dev only as far as the tasks do: dev kills its tasks when it stops, and the apps
service starts them again. Later the DNS, package and UI services join it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDev(cmd, mf, af, df, jf, nf, workDir)
		},
	}
	mf.register(cmd.Flags(), "master-")
	af.register(cmd.Flags(), "agent-")
	df.register(cmd.Flags())
	jf.register(cmd.Flags())
	nf.register(cmd.Flags())
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

// devJobsFlags are the jobs service's flags in strata dev.
type devJobsFlags struct {
	enabled bool
	port    int
	jobsFlags
}

func (f *devJobsFlags) register(fs *pflag.FlagSet) {
	fs.BoolVar(&f.enabled, "jobs", true, "run the jobs service (Metronome's /v1/jobs and Chronos' /v1/scheduler APIs); --jobs=false leaves it out")
	fs.IntVar(&f.port, "jobs-port", 9000, "port of the jobs service's API (0: any free port)")
	f.jobsFlags.register(fs, "jobs-")
}

// devDNSFlags are the DNS server's flags in strata dev.
type devDNSFlags struct {
	enabled          bool
	port, httpPort   int
	domain, upstream string
	ttl              int32
}

func (f *devDNSFlags) register(fs *pflag.FlagSet) {
	fs.BoolVar(&f.enabled, "dns", true, "run the DNS server (mesos-dns names and HTTP API); --dns=false leaves it out")
	fs.IntVar(&f.port, "dns-port", 8053, "DNS port, UDP and TCP (0: any free port)")
	fs.IntVar(&f.httpPort, "dns-http-port", 8123, "port of the DNS server's HTTP API (0: any free port)")
	fs.StringVar(&f.domain, "dns-domain", "mesos", "the domain the DNS server answers")
	fs.Int32Var(&f.ttl, "dns-ttl", server.DefaultTTL, "TTL of the DNS answers, seconds")
	fs.StringVar(&f.upstream, "dns-resolvers", "", "upstream resolvers for other zones, comma-separated (default: /etc/resolv.conf's, except this server itself)")
}

// dnsDevService shows the DNS service's HTTP API in the banner.
type dnsDevService struct{ *dns.Service }

func (d dnsDevService) Addr() string { return d.HTTPAddr() }

func runDev(cmd *cobra.Command, mf *masterFlags, af *agentFlags, df *devAppsFlags, jf *devJobsFlags, nf *devDNSFlags, workDir string) error {
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
	jobsLine := startDevJobs(runCtx, &wg, jf, mf.ip, masterAddr, abs, logger)
	dnsLine := startDevDNS(runCtx, &wg, nf, mf.ip, masterAddr, logger)

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
		printDevBanner(cmd, masterAddr, a.Addr(), <-appsLine, <-jobsLine, <-dnsLine, abs, acfg.SecretsDir)
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

// devService is a service strata dev runs beside the kernel.
type devService interface {
	Run(ctx context.Context) error
	Ready() <-chan struct{}
	Addr() string
}

// startDevService starts a service and returns a channel that yields the banner's line for it
// once it serves. A service that cannot start (its port is taken) is reported there, and the
// rest of the platform keeps running. name is padded to the banner's column; what follows the
// address describes the service; portFlag names the flag that moves it.
func startDevService(ctx context.Context, wg *sync.WaitGroup, logger *slog.Logger, name, what, portFlag string,
	enabled bool, create func() (devService, error)) <-chan string {
	line := make(chan string, 1)
	label := fmt.Sprintf("%-8s", name)
	if !enabled {
		line <- fmt.Sprintf("%s not started (--%s=false)", label, name)
		return line
	}
	svc, err := create()
	if err != nil {
		line <- label + " not started: " + err.Error()
		return line
	}
	done := make(chan error, 1)
	wg.Add(2)
	go func() {
		defer wg.Done()
		err := svc.Run(ctx)
		if err != nil {
			logger.Error(name+" service stopped", "err", err)
		}
		done <- err
	}()
	go func() {
		defer wg.Done()
		select {
		case <-svc.Ready():
			line <- fmt.Sprintf("%s http://%-22s %s", label, svc.Addr(), what)
		case err := <-done:
			line <- fmt.Sprintf("%s not started: %v (--%s chooses another port)", label, err, portFlag)
		case <-ctx.Done():
			line <- label + " not started"
		}
	}()
	return line
}

func startDevApps(ctx context.Context, wg *sync.WaitGroup, df *devAppsFlags, ip, masterAddr, workDir string, logger *slog.Logger) <-chan string {
	return startDevService(ctx, wg, logger, "apps", "Marathon API: /v2/apps, /v2/deployments, /v2/tasks", "apps-port",
		df.enabled, func() (devService, error) {
			return apps.New(df.config([]string{masterAddr}, fmt.Sprintf("%s:%d", ip, df.port), filepath.Join(workDir, "apps"), logger))
		})
}

func startDevJobs(ctx context.Context, wg *sync.WaitGroup, jf *devJobsFlags, ip, masterAddr, workDir string, logger *slog.Logger) <-chan string {
	return startDevService(ctx, wg, logger, "jobs", "Metronome API: /v1/jobs; Chronos API: /v1/scheduler", "jobs-port",
		jf.enabled, func() (devService, error) {
			return jobs.New(jf.config([]string{masterAddr}, fmt.Sprintf("%s:%d", ip, jf.port), filepath.Join(workDir, "jobs"), logger))
		})
}

func startDevDNS(ctx context.Context, wg *sync.WaitGroup, nf *devDNSFlags, ip, masterAddr string, logger *slog.Logger) <-chan string {
	cfg := server.DefaultConfig()
	cfg.Masters = []string{masterAddr}
	cfg.Listener, cfg.HTTPListener = ip, ip
	cfg.Port, cfg.HTTPPort = nf.port, nf.httpPort
	cfg.Domain, cfg.TTL = nf.domain, nf.ttl
	cfg.SOAMname, cfg.SOARname = "ns1."+nf.domain+".", "root.ns1."+nf.domain+"."
	cfg.Resolvers = splitMasters(nf.upstream) // none: /etc/resolv.conf's, except this server (dns.New)
	var svc *dns.Service
	line := startDevService(ctx, wg, logger, "dns", "", "dns-port", nf.enabled, func() (devService, error) {
		s, err := dns.New(cfg, logger)
		svc = s
		if err != nil {
			return nil, err
		}
		return dnsDevService{s}, nil
	})
	out := make(chan string, 1)
	go func() {
		l := <-line
		if svc != nil && strings.HasPrefix(l, "dns      http://") {
			l += "mesos-dns API; DNS on " + svc.DNSAddr() + " (UDP and TCP)"
		}
		out <- l
	}()
	return out
}

func printDevBanner(cmd *cobra.Command, masterAddr, agentAddr, appsLine, jobsLine, dnsLine, workDir, secretsDir string) {
	w := cmd.OutOrStdout()
	appsHint := ""
	if strings.HasPrefix(appsLine, "apps     http://") {
		url := strings.Fields(appsLine)[1]
		appsHint = fmt.Sprintf(`  curl -s -X POST %s/v2/apps -H 'Content-Type: application/json' \
    -d '{"id":"/hello","cmd":"while true; do echo hello; sleep 5; done","cpus":0.1,"mem":32,"instances":2}'
`, url)
	}
	jobsHint := ""
	if strings.HasPrefix(jobsLine, "jobs     http://") {
		url := strings.Fields(jobsLine)[1]
		jobsHint = fmt.Sprintf(`  curl -s -X POST %[1]s/v1/jobs -H 'Content-Type: application/json' \
    -d '{"id":"hello","run":{"cmd":"echo hello from a job","cpus":0.1,"mem":32}}'
  curl -s -X POST %[1]s/v1/jobs/hello/runs; sleep 3; curl -s '%[1]s/v1/jobs/hello?embed=history'
`, url)
	}
	dnsHint := ""
	if i := strings.Index(dnsLine, "DNS on "); i >= 0 {
		host, port, _ := net.SplitHostPort(strings.Fields(dnsLine[i+len("DNS on "):])[0])
		dnsHint = fmt.Sprintf("  dig @%s -p %s leader.mesos    # an app's tasks: dig @%s -p %s +short SRV _hello._tcp.marathon.mesos\n",
			host, port, host, port)
	}
	fmt.Fprintf(w, `
Strata is running on this machine (Ctrl-C stops it and every task).

  master   http://%[1]s            Mesos v1 scheduler API: POST /api/v1/scheduler
           http://%[1]s/master/state   operator API: POST /api/v1
           http://%[1]s/metrics        Prometheus metrics
  agent    http://%[2]s/state
  %[5]s
  %[8]s
  %[10]s
  state    %[3]s
  secrets  %[7]s   (an app's secret with source /db/password is the file db/password here)

Try it:
  %[4]s execute --master %[1]s --name hello --command 'echo hello from Strata; sleep 2'
  curl -s http://%[1]s/master/state-summary
%[6]s
%[9]s%[11]s`, masterAddr, agentAddr, workDir, selfName(), appsLine, appsHint, secretsDir, jobsLine, jobsHint, dnsLine, dnsHint)
}

// selfName is how the user invoked this binary, for copy-paste hints.
func selfName() string {
	if len(os.Args) > 0 && os.Args[0] != "" {
		return os.Args[0]
	}
	return "strata"
}
