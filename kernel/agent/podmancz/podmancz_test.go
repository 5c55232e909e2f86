package podmancz

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"strata/kernel/containerizer/podman"
	"strata/kernel/containerizer/podman/podmantest"
)

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func testLogger(t *testing.T) *slog.Logger { return slog.New(slog.NewTextHandler(testWriter{t}, nil)) }

func TestSocketPath(t *testing.T) {
	short := "/var/lib/strata/agent"
	long := "/" + strings.Repeat("d", 100)
	tests := []struct {
		workDir string
		want    func(string) bool
	}{
		{short, func(p string) bool { return p == short+"/podman/podman.sock" }},
		{long, func(p string) bool {
			return strings.HasPrefix(p, "/run/strata/podman-") && strings.HasSuffix(p, ".sock") && len(p) <= maxSocketPath
		}},
	}
	for _, tt := range tests {
		if got := socketPath(tt.workDir); !tt.want(got) {
			t.Errorf("socketPath(%q) = %q", tt.workDir, got)
		}
	}
	if socketPath(long) != socketPath(long) || socketPath(long) == socketPath(long+"x") {
		t.Error("the fallback socket is not a stable function of the work dir")
	}
}

func TestModes(t *testing.T) {
	if _, err := New(Config{Mode: "sometimes", WorkDir: t.TempDir()}); err == nil || !strings.Contains(err.Error(), "auto or off") {
		t.Errorf("unknown mode: %v", err)
	}
	if _, err := New(Config{}); err == nil {
		t.Error("auto without a work dir was accepted")
	}
	c, err := New(Config{Mode: ModeOff})
	if err != nil {
		t.Fatal(err)
	}
	c.Start(context.Background())
	if why := c.Unavailable(); !strings.Contains(why, "--podman=off") {
		t.Errorf("Unavailable() = %q", why)
	}
	if f := c.Flags(); f["podman"] != "off" || f["podman_socket"] != "" || !strings.HasPrefix(f["podman_status"], "off") {
		t.Errorf("Flags() = %v", f)
	}
	if _, err := c.Usage(context.Background(), "a"); err == nil {
		t.Error("Usage without podman succeeded")
	}
}

// runSleeper starts a sleeping container labelled agentID/containerID.
func runSleeper(t *testing.T, client *podman.Client, agentID, containerID string) {
	t.Helper()
	_, err := client.Run(context.Background(), podman.Spec{AgentID: agentID, ContainerID: containerID,
		Image: podmantest.Image, Shell: "sleep 60", Sandbox: t.TempDir(), MemoryLimit: 64 << 20})
	if err != nil {
		t.Fatal(err)
	}
}

func exists(t *testing.T, client *podman.Client, name string) bool {
	t.Helper()
	_, err := client.Inspect(context.Background(), name)
	if err != nil && !errors.Is(err, podman.ErrNotFound) {
		t.Fatal(err)
	}
	return err == nil
}

// The agent's service starts, and orphan removal, per-executor removal and
// usage touch only the agent's own containers.
func TestAgentContainers(t *testing.T) {
	podmantest.BusyboxImage(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	workDir := podmantest.WorkDir(t)
	c, err := New(Config{WorkDir: workDir, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(workDir, "podman", "podman.sock"); c.Socket() != want {
		t.Errorf("Socket() = %q before Start, want %q", c.Socket(), want)
	}
	c.Start(ctx)
	defer c.Close()
	if why := c.Unavailable(); why != "" {
		t.Fatalf("Unavailable() = %q", why)
	}
	if d := c.Describe(); !strings.HasPrefix(d, "podman 4.") || !strings.HasSuffix(d, "(runc) at "+c.Socket()) {
		t.Errorf("Describe() = %q", d)
	}

	client, err := podman.Connect(ctx, c.Socket(), testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	mine, other := podmantest.AgentID(t), podmantest.AgentID(t)
	t.Cleanup(func() { podmantest.RemoveContainers(t, mine); podmantest.RemoveContainers(t, other) })
	owned, orphan, foreign := "owned-"+mine, "orphan-"+mine, "foreign-"+other
	runSleeper(t, client, mine, owned)
	runSleeper(t, client, mine, orphan)
	runSleeper(t, client, other, foreign)

	usage, err := c.Usage(ctx, mine)
	if err != nil {
		t.Fatal(err)
	}
	if len(usage) != 2 || usage[foreign] != nil {
		t.Fatalf("Usage() has %d entries (%v), want the agent's two", len(usage), usage)
	}
	st := usage[owned]
	if st.GetProcesses() < 1 || st.GetMemRssBytes() == 0 || st.GetMemLimitBytes() != 64<<20 || st.GetTimestamp() == 0 {
		t.Errorf("usage of %s = %v", owned, st)
	}

	removed, err := c.RemoveOrphans(ctx, mine, func(cid string) bool { return cid == owned })
	if err != nil || len(removed) != 1 || removed[0] != "strata-"+orphan {
		t.Fatalf("RemoveOrphans = %v, %v; want [strata-%s]", removed, err, orphan)
	}
	if !exists(t, client, "strata-"+owned) || exists(t, client, "strata-"+orphan) || !exists(t, client, "strata-"+foreign) {
		t.Error("RemoveOrphans removed the wrong containers")
	}
	removed, err = c.RemoveContainer(ctx, mine, owned)
	if err != nil || len(removed) != 1 || exists(t, client, "strata-"+owned) {
		t.Fatalf("RemoveContainer = %v, %v", removed, err)
	}
	if !exists(t, client, "strata-"+foreign) {
		t.Error("another agent's container went")
	}

	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if c.Unavailable() == "" {
		t.Error("usable after Close")
	}
}

// --podman-socket: the agent uses a service it did not start, and says so;
// one that does not answer makes image tasks fail with a reason.
func TestExternalSocket(t *testing.T) {
	podmantest.Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	svc, err := podman.Start(ctx, podman.Options{WorkDir: podmantest.WorkDir(t), Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	c, err := New(Config{Socket: "unix://" + svc.Socket(), Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	c.Start(ctx)
	if why := c.Unavailable(); why != "" || !strings.Contains(c.Describe(), "did not start") || c.Socket() != svc.Socket() {
		t.Errorf("Unavailable() = %q, Describe() = %q, Socket() = %q", why, c.Describe(), c.Socket())
	}
	c.Close()
	if cl, err := svc.Connect(ctx, testLogger(t)); err != nil {
		t.Errorf("closing the containerizer stopped a service it did not start: %v", err)
	} else {
		cl.Close()
	}

	bad, err := New(Config{Socket: filepath.Join(t.TempDir(), "none.sock"), Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	bad.Start(ctx)
	if why := bad.Unavailable(); !strings.Contains(why, "--podman-socket") {
		t.Errorf("Unavailable() = %q", why)
	}
}
