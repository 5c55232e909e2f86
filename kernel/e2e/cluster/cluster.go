package cluster

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"strata/kernel/agent"
	"strata/kernel/master"
	"strata/kernel/scheduler"
)

// Options configure Start.
type Options struct {
	// Executable is the strata binary the agent runs as `strata executor`
	// (stratabin.Resolve gives one). Required.
	Executable string
	// Resources of the agent; default "cpus:8;mem:8192;disk:10000;ports:[31000-31999]".
	Resources string
	Logger    *slog.Logger
}

// QuietLogger keeps the kernel's logs out of the test output unless -v
// asks for them.
func QuietLogger() *slog.Logger {
	level := slog.LevelWarn
	if testing.Verbose() {
		level = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}

// Start runs a master and one agent, waits until the agent is registered
// and returns the master's host:port. Both stop at the test's cleanup, and
// the agent kills its tasks.
func Start(t testing.TB, o Options) string {
	t.Helper()
	if o.Resources == "" {
		o.Resources = "cpus:8;mem:8192;disk:10000;ports:[31000-31999]"
	}
	if o.Logger == nil {
		o.Logger = QuietLogger()
	}
	ctx, cancel := context.WithCancel(context.Background())
	addr, masterDone := startMaster(ctx, t, o.Logger)
	a, err := agent.New(agent.Config{
		WorkDir: t.TempDir(), IP: "127.0.0.1", Hostname: "127.0.0.1", Port: 0, Master: addr,
		Resources: o.Resources, Executable: o.Executable, StandbyExecutors: 2, KillTasksOnExit: true,
		Logger: o.Logger,
	})
	if err != nil {
		t.Fatal(err)
	}
	agentDone := make(chan struct{})
	go func() {
		defer close(agentDone)
		if err := a.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("agent: %v", err)
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-agentDone
		<-masterDone
	})
	select {
	case <-a.Ready():
	case <-time.After(20 * time.Second):
		t.Fatal("agent not ready")
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		if registered(addr) {
			return addr
		}
		if time.Now().After(deadline) {
			t.Fatal("the agent did not register with the master")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func registered(addr string) bool {
	resp, err := http.Get("http://" + addr + "/master/slaves")
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return strings.Contains(string(b), `"active":true`)
}

// startMaster runs a master on a free loopback port until ctx ends and returns its address
// and a channel closed once it has stopped.
func startMaster(ctx context.Context, t testing.TB, logger *slog.Logger) (string, <-chan struct{}) {
	t.Helper()
	m, err := master.New(master.Config{IP: "127.0.0.1", WorkDir: t.TempDir(), Logger: logger}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ready := make(chan string, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = m.ServeListener(ctx, ln, ready)
	}()
	return <-ready, done
}

// RunFramework runs c with h until the test ends; then it tears the framework down (the
// master kills its tasks) and waits for Run to return. The returned function stops Run
// earlier, as a scheduler that crashes would (the teardown still happens at the end).
func RunFramework(t testing.TB, c *scheduler.Client, h scheduler.Handler) context.CancelFunc {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = c.Run(ctx, h) }()
	t.Cleanup(func() {
		tctx, tcancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = c.Teardown(tctx)
		tcancel()
		cancel()
		<-done
	})
	return cancel
}
