package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// runcBundle prepares an OCI bundle of image (its root filesystem, exported
// with podman, and `runc spec`'s config running argv) in a temporary
// directory, for the `runc run` floor of the image launch benchmark.
func runcBundle(b *testing.B, podman, image string, argv []string) string {
	b.Helper()
	dir := b.TempDir()
	rootfs := filepath.Join(dir, "rootfs")
	if err := os.Mkdir(rootfs, 0o755); err != nil {
		b.Fatal(err)
	}
	name := "strata-runc-floor-" + filepath.Base(dir)
	if out, err := exec.Command(podman, "create", "--name", name, image, "true").CombinedOutput(); err != nil {
		b.Fatalf("podman create: %v: %s", err, out)
	}
	defer exec.Command(podman, "rm", "-f", name).Run()
	export := exec.Command("sh", "-c", `"$0" export "$1" | tar -x -C "$2"`, podman, name, rootfs)
	if out, err := export.CombinedOutput(); err != nil {
		b.Fatalf("podman export: %v: %s", err, out)
	}
	spec := exec.Command("runc", "spec")
	spec.Dir = dir
	if out, err := spec.CombinedOutput(); err != nil {
		b.Fatalf("runc spec: %v: %s", err, out)
	}
	path := filepath.Join(dir, "config.json")
	raw, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	var cfg map[string]any
	if err := json.Unmarshal(raw, &cfg); err != nil {
		b.Fatal(err)
	}
	proc := cfg["process"].(map[string]any)
	proc["terminal"] = false
	proc["args"] = argv
	raw, err = json.Marshal(cfg)
	if err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		b.Fatal(err)
	}
	return dir
}

// runcRun measures `runc run` of the bundle n times, one after another: create,
// start, run argv (true) and delete — the floor of an image container's start on
// this machine, without podman, conmon or Strata.
func runcRun(b *testing.B, bundle string, n int) []time.Duration {
	b.Helper()
	out := make([]time.Duration, 0, n)
	for i := 0; i < n; i++ {
		id := "strata-floor-" + strings.ReplaceAll(filepath.Base(bundle), "_", "-") + "-" + strconv.Itoa(i)
		start := time.Now()
		cmd := exec.Command("runc", "run", "--bundle", bundle, id)
		if o, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("runc run: %v: %s", err, o)
		}
		out = append(out, time.Since(start))
	}
	return out
}
