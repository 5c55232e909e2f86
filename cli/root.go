package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
)

// globalFlags are the flags every command accepts.
type globalFlags struct {
	logLevel  string
	logFormat string
}

// Execute runs the command tree with args and returns the process exit code.
func Execute(args []string) int {
	root := newRootCommand()
	root.SetArgs(args)
	if err := root.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		return 1
	}
	return 0
}

func newRootCommand() *cobra.Command {
	g := &globalFlags{}
	root := &cobra.Command{
		Use:   "strata",
		Short: "Strata: a datacenter operating system in one binary",
		Long: `Strata is a Mesos-compatible datacenter operating system in one binary.

Run the whole platform on this machine:   strata dev
Run the roles separately:                 strata master / strata agent --master HOST:PORT
Run the apps service (Marathon /v2 API):  strata apps --master HOST:PORT`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return setupLogging(g)
		},
	}
	root.PersistentFlags().StringVar(&g.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	root.PersistentFlags().StringVar(&g.logFormat, "log-format", "text", "log format: text or json")
	root.AddCommand(
		newVersionCommand(),
		newMasterCommand(),
		newAgentCommand(),
		newExecutorCommand(),
		newDevCommand(),
		newAppsCommand(),
		newJobsCommand(),
		newDNSCommand(),
		newExecuteCommand(),
		newContainerInitCommand(),
	)
	return root
}

func setupLogging(g *globalFlags) error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(g.logLevel)); err != nil {
		return fmt.Errorf("--log-level: %q is not one of debug, info, warn, error", g.logLevel)
	}
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler
	switch strings.ToLower(g.logFormat) {
	case "text":
		h = slog.NewTextHandler(os.Stderr, opts)
	case "json":
		h = slog.NewJSONHandler(os.Stderr, opts)
	default:
		return fmt.Errorf("--log-format: %q is not one of text, json", g.logFormat)
	}
	slog.SetDefault(slog.New(h))
	return nil
}

// signalContext returns a context cancelled on SIGINT or SIGTERM.
func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

// serveUntilSignal runs a server role until SIGINT or SIGTERM: run gets a
// context that the signal ends, and banner's line goes to w once ready is
// closed (unless the signal comes first).
func serveUntilSignal(w io.Writer, ready <-chan struct{}, banner func() string, run func(context.Context) error) error {
	ctx, stop := signalContext()
	defer stop()
	go func() {
		select {
		case <-ready:
			fmt.Fprintln(w, banner())
		case <-ctx.Done():
		}
	}()
	return run(ctx)
}

// errUsage marks errors in the user's flags; it exists so callers can tell them apart.
var errUsage = errors.New("usage")
