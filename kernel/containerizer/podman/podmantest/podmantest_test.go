package podmantest

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestRootfs(t *testing.T) {
	var buf bytes.Buffer
	if err := rootfs(&buf, []byte("ELF"), []string{"busybox", "sh", "[", "httpd", "bad/name"}); err != nil {
		t.Fatal(err)
	}
	got := map[string]*tar.Header{}
	tr := tar.NewReader(&buf)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got[h.Name] = h
	}
	tests := []struct {
		name     string
		typeflag byte
		mode     int64
		link     string
	}{
		{"bin/busybox", tar.TypeReg, 0o755, ""},
		{"bin/sh", tar.TypeSymlink, 0o777, "busybox"},
		{"bin/[", tar.TypeSymlink, 0o777, "busybox"},
		{"bin/httpd", tar.TypeSymlink, 0o777, "busybox"},
		{"tmp/", tar.TypeDir, 0o1777, ""},
		{"var/www/", tar.TypeDir, 0o755, ""},
		{"etc/passwd", tar.TypeReg, 0o644, ""},
	}
	for _, tt := range tests {
		h, ok := got[tt.name]
		if !ok {
			t.Errorf("rootfs lacks %s", tt.name)
			continue
		}
		if h.Typeflag != tt.typeflag || h.Mode != tt.mode || h.Linkname != tt.link {
			t.Errorf("%s: type %c mode %o link %q, want %c %o %q", tt.name, h.Typeflag, h.Mode, h.Linkname, tt.typeflag, tt.mode, tt.link)
		}
	}
	for _, name := range []string{"bin/bad/name", "bin/busybox/"} {
		if _, ok := got[name]; ok {
			t.Errorf("rootfs has %s", name)
		}
	}
}

// Several builders at once (test binaries of several packages) build the
// image once and all succeed.
func TestEnsureImageConcurrent(t *testing.T) {
	podman := Require(t)
	ref := "localhost/strata-test-busybox-" + AgentID(t) + ":latest"
	t.Cleanup(func() { exec.Command(podman, "rmi", "-f", ref).Run() })
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = ensureImage(podman, ref)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	out, err := exec.Command(podman, "images", "--noheading", "--format", "{{.ID}}", ref).Output()
	if err != nil || len(strings.Fields(string(out))) != 1 {
		t.Fatalf("images named %s: %q, %v; want exactly one", ref, out, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	run := exec.CommandContext(ctx, podman, "run", "--rm", "--network", "none",
		"--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024", ref, "sh", "-c", "echo $((6*7)); ls /bin/httpd")
	if out, err := run.CombinedOutput(); err != nil || string(out) != "42\n/bin/httpd\n" {
		t.Fatalf("podman run of the image: %q, %v", out, err)
	}
}
