package podman

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"strata/kernel/containerizer/podman/podmantest"
)

func TestDetect(t *testing.T) {
	podmantest.Require(t)
	d := Detect(context.Background())
	if !d.Installed || !d.Usable || d.Reason != "" {
		t.Fatalf("Detect() = %+v, want installed and usable", d)
	}
	if !strings.HasPrefix(d.Version, "4.") || d.Runtime == "" || d.Path == "" {
		t.Fatalf("Detect() = %+v, want a 4.x version, a path and runc", d)
	}
}

func TestServiceStartClose(t *testing.T) {
	podmantest.Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := podmantest.WorkDir(t)
	svc, err := Start(ctx, Options{WorkDir: dir, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	if want := filepath.Join(dir, "podman", "podman.sock"); svc.Socket() != want {
		t.Errorf("Socket() = %q, want %q", svc.Socket(), want)
	}
	conf := readFile(t, svc.ConfigPath())
	for _, want := range []string{`runtime = "runc"`, "default_ulimits", "nofile=", "nproc="} {
		if !strings.Contains(conf, want) {
			t.Errorf("containers.conf lacks %q:\n%s", want, conf)
		}
	}
	// The ulimits handed to containers fit within the service's own.
	nofile, nproc, err := processLimits(svc.Pid())
	if err != nil {
		t.Fatal(err)
	}
	if fitted, changed := fitUlimits(svc.Ulimits(), nofile, nproc); changed {
		t.Errorf("service ulimits %v exceed its limits (fitted: %v)", svc.Ulimits(), fitted)
	}
	env := readFile(t, "/proc/"+strconv.Itoa(svc.Pid())+"/environ")
	if !strings.Contains(env, "CONTAINERS_CONF="+svc.ConfigPath()) {
		t.Error("the service was not started with CONTAINERS_CONF")
	}

	client, err := svc.Connect(ctx, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	if !strings.HasPrefix(client.Version(), "4.") {
		t.Errorf("Version() = %q", client.Version())
	}

	pid := svc.Pid()
	if err := svc.Close(); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("service process %d still exists after Close (kill: %v)", pid, err)
	}
	if _, err := os.Stat(svc.Socket()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket still there after Close: %v", err)
	}
	if _, err := Connect(ctx, svc.Socket(), testLogger(t)); err == nil || !strings.Contains(err.Error(), "is not answering") {
		t.Errorf("Connect to a stopped service: %v, want a 'not answering' error", err)
	}
}

// A service left behind by a previous agent run (here: one never closed) is
// stopped by the next Start on the same work directory.
func TestServiceReplacesLeftover(t *testing.T) {
	podmantest.Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := podmantest.WorkDir(t)
	first, err := Start(ctx, Options{WorkDir: dir, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	second, err := Start(ctx, Options{WorkDir: dir, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	select {
	case <-first.exited:
	case <-time.After(15 * time.Second):
		t.Fatal("the leftover service is still running")
	}
	if second.Pid() == first.Pid() {
		t.Fatal("same pid")
	}
	if err := ping(ctx, second.Socket()); err != nil {
		t.Fatalf("the new service does not answer: %v", err)
	}
}

// Ulimits above what the service may grant are lowered to its own limits,
// and containers then start.
func TestServiceFitsUlimits(t *testing.T) {
	image := podmantest.BusyboxImage(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	huge := uint64(1) << 40
	svc, err := Start(ctx, Options{
		WorkDir: podmantest.WorkDir(t),
		Ulimits: []Ulimit{{"nofile", huge, huge}, {"nproc", huge, huge}},
		Logger:  testLogger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	nofile, nproc, err := processLimits(svc.Pid())
	if err != nil {
		t.Fatal(err)
	}
	want := []Ulimit{{"nofile", nofile, nofile}, {"nproc", nproc, nproc}}
	if got := svc.Ulimits(); !reflect.DeepEqual(got, want) {
		t.Fatalf("Ulimits() = %v, want %v", got, want)
	}
	client, err := svc.Connect(ctx, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	agent := podmantest.AgentID(t)
	defer podmantest.RemoveContainers(t, agent)
	st, err := client.Run(ctx, Spec{AgentID: agent, ContainerID: "ulimits-" + agent, Image: image, Shell: "ulimit -n", Sandbox: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if exit, err := client.Wait(ctx, st.Name); err != nil || exit.Code != 0 {
		t.Fatalf("Wait = %+v, %v", exit, err)
	}
}

func TestStartErrors(t *testing.T) {
	ctx := context.Background()
	if _, err := Start(ctx, Options{}); err == nil || !strings.Contains(err.Error(), "WorkDir is required") {
		t.Errorf("Start without WorkDir: %v", err)
	}
	_, err := Start(ctx, Options{WorkDir: t.TempDir(), Binary: "strata-no-such-podman"})
	if err == nil || !strings.Contains(err.Error(), "is not installed") {
		t.Errorf("Start without podman: %v", err)
	}
	long := "/tmp/" + strings.Repeat("x", 120) + "/podman.sock"
	_, err = Start(ctx, Options{WorkDir: t.TempDir(), Binary: os.Args[0], Socket: long})
	if err == nil || !strings.Contains(err.Error(), "longer than the 107 bytes") {
		t.Errorf("Start with a long socket path: %v", err)
	}
	if _, err := Connect(ctx, filepath.Join(t.TempDir(), "none.sock"), nil); err == nil || !strings.HasPrefix(err.Error(), "podman: ") {
		t.Errorf("Connect to nothing: %v", err)
	}
}
