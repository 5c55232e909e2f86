package podman

import (
	"context"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"strata/kernel/containerizer/podman/podmantest"
)

// testLogger sends the package's logs to the test's log.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// env is one test's podman service, client and agent id.
type env struct {
	t       *testing.T
	ctx     context.Context
	image   string
	agentID string
	svc     *Service
	client  *Client
}

// newEnv starts a podman service of the test's own (its own socket under a
// fresh work directory) and connects to it. When the test ends, every
// container of the test's agent id is removed and the service is stopped.
func newEnv(t *testing.T) *env {
	t.Helper()
	image := podmantest.BusyboxImage(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	log := testLogger(t)
	svc, err := Start(ctx, Options{WorkDir: podmantest.WorkDir(t), Logger: log})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	client, err := svc.Connect(ctx, log)
	if err != nil {
		svc.Close()
		t.Fatalf("Connect: %v", err)
	}
	e := &env{t: t, ctx: ctx, image: image, agentID: podmantest.AgentID(t), svc: svc, client: client}
	t.Cleanup(func() {
		cctx, ccancel := context.WithTimeout(context.Background(), time.Minute)
		defer ccancel()
		list, err := client.List(cctx, e.agentID)
		if err != nil {
			t.Errorf("cleanup: %v", err)
		}
		for _, c := range list {
			if err := client.Remove(cctx, c.ID); err != nil {
				t.Errorf("cleanup: %v", err)
			}
		}
		client.Close()
		if err := svc.Close(); err != nil {
			t.Errorf("cleanup: %v", err)
		}
		podmantest.RemoveContainers(t, e.agentID)
	})
	return e
}

// spec returns a spec for the test's agent with a fresh sandbox.
func (e *env) spec(containerID, shell string) Spec {
	sandbox := e.t.TempDir()
	return Spec{
		AgentID:     e.agentID,
		ContainerID: containerID + "-" + e.agentID,
		Image:       e.image,
		Shell:       shell,
		Sandbox:     sandbox,
	}
}

// run starts spec and fails the test on error.
func (e *env) run(spec Spec) *Started {
	e.t.Helper()
	st, err := e.client.Run(e.ctx, spec)
	if err != nil {
		e.t.Fatalf("Run: %v", err)
	}
	return st
}

// runToEnd runs spec, copies its output and waits for it, returning the exit
// and the sandbox's stdout and stderr.
func (e *env) runToEnd(spec Spec) (*Exit, string, string) {
	e.t.Helper()
	st := e.run(spec)
	copied := make(chan error, 1)
	go func() { copied <- e.client.CopyLogs(e.ctx, st.Name, spec.Sandbox) }()
	exit, err := e.client.Wait(e.ctx, st.Name)
	if err != nil {
		e.t.Fatalf("Wait: %v", err)
	}
	if err := <-copied; err != nil {
		e.t.Fatalf("CopyLogs: %v", err)
	}
	return exit, readFile(e.t, filepath.Join(spec.Sandbox, "stdout")), readFile(e.t, filepath.Join(spec.Sandbox, "stderr"))
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// freePort returns a TCP port that is free on the host right now.
func freePort(t *testing.T) uint16 {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return uint16(l.Addr().(*net.TCPAddr).Port)
}

// eventually polls cond every 100ms until it holds or the deadline passes.
func eventually(t *testing.T, within time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(within)
	last := ""
	for {
		ok, detail := cond()
		if ok {
			return
		}
		last = detail
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s (last: %s)", what, within, last)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
