package sandbox

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func TestLayoutPaths(t *testing.T) {
	l := Layout{WorkDir: "/w"}
	cases := map[string]string{
		l.RunDir("a", "f", "e", "c"):               "/w/slaves/a/frameworks/f/executors/e/runs/c",
		l.LatestRunLink("a", "f", "e"):             "/w/slaves/a/frameworks/f/executors/e/runs/latest",
		l.AgentInfoPath("a"):                       "/w/meta/slaves/a/slave.info",
		l.FrameworkInfoPath("a", "f"):              "/w/meta/slaves/a/frameworks/f/framework.info",
		l.ExecutorInfoPath("a", "f", "e"):          "/w/meta/slaves/a/frameworks/f/executors/e/executor.info",
		l.ForkedPidPath("a", "f", "e", "c"):        "/w/meta/slaves/a/frameworks/f/executors/e/runs/c/forked.pid",
		l.TaskInfoPath("a", "f", "e", "c", "t"):    "/w/meta/slaves/a/frameworks/f/executors/e/runs/c/tasks/t/task.info",
		l.TaskUpdatesPath("a", "f", "e", "c", "t"): "/w/meta/slaves/a/frameworks/f/executors/e/runs/c/tasks/t/task.updates",
		l.BootIDPath():                             "/w/meta/boot_id",
		l.MetaLatestLink():                         "/w/meta/slaves/latest",
		VirtualLatestRun("f", "e"):                 "/frameworks/f/executors/e/runs/latest",
	}
	for got, want := range cases {
		if got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
}

func TestValidateID(t *testing.T) {
	for _, bad := range []string{"", ".", "..", "a/b", `a\b`, "a\nb", string(make([]byte, 256))} {
		if err := ValidateID(bad); !errors.Is(err, ErrInvalidID) {
			t.Errorf("ValidateID(%q) = %v", bad, err)
		}
	}
	for _, good := range []string{"a", "1c0a-S0", "task.with.dots", "x_y-z"} {
		if err := ValidateID(good); err != nil {
			t.Errorf("ValidateID(%q) = %v", good, err)
		}
	}
}

func TestCreateRunAndLatestLinks(t *testing.T) {
	l := Layout{WorkDir: t.TempDir()}
	dir1, err := l.CreateRun("a1", "f", "e", "c1")
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(dir1); err != nil || !fi.IsDir() {
		t.Fatalf("sandbox not created: %v", err)
	}
	dir2, err := l.CreateRun("a1", "f", "e", "c2")
	if err != nil {
		t.Fatal(err)
	}
	if target, _ := os.Readlink(l.LatestRunLink("a1", "f", "e")); target != "c2" {
		t.Fatalf("runs/latest -> %q, want c2", target)
	}
	if target, _ := os.Readlink(filepath.Join(l.SlavesDir(), "latest")); target != "a1" {
		t.Fatalf("slaves/latest -> %q", target)
	}
	real, err := filepath.EvalSymlinks(l.LatestRunLink("a1", "f", "e"))
	if err != nil {
		t.Fatal(err)
	}
	want, _ := filepath.EvalSymlinks(dir2)
	if real != want || dir1 == dir2 {
		t.Fatalf("latest resolves to %q, want %q", real, want)
	}
	if _, err := l.CreateRun("a1", "../x", "e", "c"); err == nil {
		t.Fatal("escaping framework id accepted")
	}
}

func TestSymlinkLeavesACorrectLinkAlone(t *testing.T) {
	dir := t.TempDir()
	link := filepath.Join(dir, "sub", "latest")
	inode := func() uint64 {
		t.Helper()
		fi, err := os.Lstat(link)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Sys().(*syscall.Stat_t).Ino
	}
	if err := Symlink("a", link); err != nil {
		t.Fatal(err)
	}
	first := inode()
	if err := Symlink("a", link); err != nil {
		t.Fatal(err)
	}
	if inode() != first {
		t.Fatal("a link already pointing at its target was replaced")
	}
	if err := Symlink("b", link); err != nil {
		t.Fatal(err)
	}
	if target, _ := os.Readlink(link); target != "b" || inode() == first {
		t.Fatalf("link -> %q after re-pointing", target)
	}
	entries, _ := os.ReadDir(filepath.Dir(link))
	if len(entries) != 1 {
		t.Fatalf("temporary links left: %v", entries)
	}
}
