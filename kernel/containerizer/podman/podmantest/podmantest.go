package podmantest

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Image is the reference of the test image: a root filesystem holding
// /bin/busybox (static) and a symlink in /bin for each of its applets (sh,
// sleep, cat, echo, wget, nc, httpd, tail, ...), /etc/passwd with root and
// nobody, and /tmp.
const Image = "localhost/strata-test-busybox:latest"

// imageLabel holds a digest of what the image was built from, so that a
// changed busybox or recipe rebuilds it.
const imageLabel = "strata.test.busybox"

// recipe changes whenever rootfs changes what it builds.
const recipe = "1"

// Busybox is where busybox-static installs busybox on Debian.
const Busybox = "/bin/busybox"

// missing skips the test, or fails it under CI=true.
func missing(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s (scripts/install-deps.sh installs it)", msg)
	}
	t.Skipf("%s; run scripts/install-deps.sh", msg)
}

// Require returns the path of podman after checking that it, runc and a
// static busybox are installed and that the test runs as root (the agent's
// podman service is rootful).
func Require(t testing.TB) string {
	t.Helper()
	path, err := exec.LookPath("podman")
	if err != nil {
		missing(t, "podman is not installed: %v", err)
	}
	if _, err := exec.LookPath("runc"); err != nil {
		if _, err2 := os.Stat("/usr/sbin/runc"); err2 != nil {
			missing(t, "runc is not installed: %v", err)
		}
	}
	if err := checkStatic(Busybox); err != nil {
		missing(t, "%v", err)
	}
	if os.Geteuid() != 0 {
		missing(t, "podman tests need root (the agent's podman service is rootful)")
	}
	return path
}

// checkStatic makes sure path is a statically linked executable: the image
// has no libraries for it.
func checkStatic(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("busybox-static is not installed (%s): %w", path, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("%s is dynamically linked; install busybox-static", path)
		}
	}
	return nil
}

var (
	imageOnce sync.Once
	imageErr  error
)

// BusyboxImage makes sure Image exists in podman's default storage and
// returns its reference. It builds it with `podman import` when it is
// missing or was built from another busybox, once per process, and under a
// file lock so that test binaries running at the same time build it once.
func BusyboxImage(t testing.TB) string {
	t.Helper()
	podman := Require(t)
	imageOnce.Do(func() { imageErr = ensureImage(podman, Image) })
	if imageErr != nil {
		t.Fatalf("podmantest: %v", imageErr)
	}
	return Image
}

// ensureImage builds the image ref unless it exists and was built from this
// busybox and recipe.
func ensureImage(podman, ref string) error {
	bb, err := os.ReadFile(Busybox)
	if err != nil {
		return fmt.Errorf("read busybox: %w", err)
	}
	sum := sha256.Sum256(bb)
	want := recipe + "-" + hex.EncodeToString(sum[:16])

	lock, err := os.OpenFile(filepath.Join(os.TempDir(), "strata-podmantest-image.lock"), os.O_CREATE|os.O_RDWR, 0o666)
	if err == nil {
		// Whoever created it, everybody may lock it.
		_ = lock.Chmod(0o666)
	}
	if err != nil {
		return fmt.Errorf("open image lock: %w", err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("lock image build: %w", err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, podman, "image", "inspect", "--format",
		`{{index .Labels "`+imageLabel+`"}}`, ref).Output()
	if err == nil && strings.TrimSpace(string(out)) == want {
		return nil
	}
	applets, err := exec.CommandContext(ctx, Busybox, "--list").Output()
	if err != nil {
		return fmt.Errorf("busybox --list: %w", err)
	}
	var tarball bytes.Buffer
	if err := rootfs(&tarball, bb, strings.Fields(string(applets))); err != nil {
		return fmt.Errorf("build rootfs: %w", err)
	}
	cmd := exec.CommandContext(ctx, podman, "import",
		"--change", "LABEL "+imageLabel+"="+want,
		"--change", "ENV PATH=/bin",
		"--change", `CMD ["/bin/sh"]`,
		"-", ref)
	cmd.Stdin = &tarball
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("podman import: %w: %s", err, out)
	}
	return nil
}

// rootfs writes the image's root filesystem as a tar stream.
func rootfs(w io.Writer, busybox []byte, applets []string) error {
	tw := tar.NewWriter(w)
	now := time.Unix(0, 0)
	dir := func(name string, mode int64) error {
		return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: mode, ModTime: now})
	}
	file := func(name string, mode int64, data []byte) error {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(data)), ModTime: now}); err != nil {
			return err
		}
		_, err := tw.Write(data)
		return err
	}
	for _, d := range []string{"bin", "dev", "etc", "proc", "sys", "root", "mnt", "var", "var/www"} {
		if err := dir(d, 0o755); err != nil {
			return err
		}
	}
	if err := dir("tmp", 0o1777); err != nil {
		return err
	}
	if err := file("bin/busybox", 0o755, busybox); err != nil {
		return err
	}
	sort.Strings(applets)
	for _, a := range applets {
		if a == "busybox" || strings.Contains(a, "/") {
			continue
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: "bin/" + a, Linkname: "busybox", Mode: 0o777, ModTime: now}); err != nil {
			return err
		}
	}
	passwd := "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/sh\n"
	group := "root:x:0:\nnogroup:x:65534:\n"
	if err := file("etc/passwd", 0o644, []byte(passwd)); err != nil {
		return err
	}
	if err := file("etc/group", 0o644, []byte(group)); err != nil {
		return err
	}
	return tw.Close()
}

// WorkDir returns a new directory for a test's podman service, short enough
// for a unix socket path under it, removed when the test ends.
func WorkDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "strata-pm-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// AgentID returns an agent id of its own for one test, so that the test's
// containers are told apart from every other test's.
func AgentID(t testing.TB) string {
	t.Helper()
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "test-" + hex.EncodeToString(b)
}

// RemoveContainers force-removes every container labelled
// strata.agent=agentID, with the podman command line.
func RemoveContainers(t testing.TB, agentID string) {
	t.Helper()
	podman, err := exec.LookPath("podman")
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, podman, "ps", "-a", "-q", "--filter", "label=strata.agent="+agentID).Output()
	if err != nil {
		t.Errorf("podmantest: list containers of %s: %v", agentID, err)
		return
	}
	ids := strings.Fields(string(out))
	if len(ids) == 0 {
		return
	}
	args := append([]string{"rm", "-f", "-t", "0"}, ids...)
	if out, err := exec.CommandContext(ctx, podman, args...).CombinedOutput(); err != nil {
		t.Errorf("podmantest: remove containers of %s: %v: %s", agentID, err, out)
	}
}
