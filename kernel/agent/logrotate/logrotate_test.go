package logrotate

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// collapseDir returns a directory on a filesystem that supports
// FALLOC_FL_COLLAPSE_RANGE, or "" if neither the test's temp dir nor the
// package directory is on one.
func collapseDir(t *testing.T) string {
	t.Helper()
	wd, _ := os.Getwd()
	candidates := []string{t.TempDir()}
	if d, err := os.MkdirTemp(wd, ".logrotate-test-"); err == nil {
		t.Cleanup(func() { os.RemoveAll(d) })
		candidates = append(candidates, d)
	}
	for _, d := range candidates {
		p := filepath.Join(d, "probe")
		if err := os.WriteFile(p, make([]byte, 64<<10), 0o644); err != nil {
			continue
		}
		f, err := os.OpenFile(p, os.O_RDWR, 0)
		if err != nil {
			continue
		}
		err = unix.Fallocate(int(f.Fd()), unix.FALLOC_FL_COLLAPSE_RANGE, 0, 32<<10)
		f.Close()
		os.Remove(p)
		if err == nil {
			return d
		}
	}
	return ""
}

// tmpfsDir returns a directory on tmpfs (no collapse support), or "".
func tmpfsDir(t *testing.T) string {
	var st unix.Statfs_t
	if err := unix.Statfs("/dev/shm", &st); err != nil || st.Type != unix.TMPFS_MAGIC {
		return ""
	}
	d, err := os.MkdirTemp("/dev/shm", "logrotate-test-")
	if err != nil {
		return ""
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

func requireDir(t *testing.T, d, what string) {
	t.Helper()
	if d != "" {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("no %s on this machine", what)
	}
	t.Skipf("no %s on this machine", what)
}

func TestRotateBelowCapAndMissing(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "stdout")
	if rotated, _, err := Rotate(p, 10, 3); err != nil || rotated {
		t.Fatalf("missing file: rotated=%v err=%v", rotated, err)
	}
	os.WriteFile(p, []byte("small"), 0o644)
	if rotated, _, err := Rotate(p, 10, 3); err != nil || rotated {
		t.Fatalf("small file: rotated=%v err=%v", rotated, err)
	}
}

func TestRotateNumbersAndKeep(t *testing.T) {
	for _, tc := range []struct {
		name     string
		dir      func(*testing.T) string
		fallback bool
	}{
		{"collapse", collapseDir, false},
		{"copytruncate", tmpfsDir, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := tc.dir(t)
			requireDir(t, dir, "suitable filesystem for "+tc.name)
			p := filepath.Join(dir, "stdout")
			f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			const keep = 3
			var written []byte
			for round := 1; round <= 5; round++ {
				chunk := bytes.Repeat([]byte{byte('a' + round)}, 8192)
				f.Write(chunk)
				written = append(written, chunk...)
				rotated, fallback, err := Rotate(p, 4096, keep)
				if err != nil || !rotated || fallback != tc.fallback {
					t.Fatalf("round %d: rotated=%v fallback=%v err=%v", round, rotated, fallback, err)
				}
				st, _ := os.Stat(p)
				if tc.fallback && st.Size() != 0 || st.Size() > 4096 {
					t.Fatalf("round %d: NAME keeps %d bytes", round, st.Size())
				}
				if st, err := os.Stat(p + ".1"); err != nil || st.Size() == 0 {
					t.Fatalf("round %d: NAME.1: %v", round, err)
				}
			}
			// The files, oldest first, hold the end of what was written.
			var stream []byte
			for k := keep; k >= 1; k-- {
				b, err := os.ReadFile(fmt.Sprintf("%s.%d", p, k))
				if err != nil {
					t.Fatalf("NAME.%d: %v", k, err)
				}
				stream = append(stream, b...)
			}
			b, _ := os.ReadFile(p)
			stream = append(stream, b...)
			if !bytes.HasSuffix(written, stream) || len(stream) < 3*4096 {
				t.Fatalf("files hold %d bytes that are not the end of what was written", len(stream))
			}
			if _, err := os.Stat(fmt.Sprintf("%s.%d", p, keep+1)); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("NAME.%d exists: %v", keep+1, err)
			}
		})
	}
}

// TestRotateLosesNothingUnderLoad appends numbered lines as fast as it can
// while the rotator sweeps: with collapse, every line is in exactly one file,
// in order.
func TestRotateLosesNothingUnderLoad(t *testing.T) {
	dir := collapseDir(t)
	requireDir(t, dir, "filesystem with FALLOC_FL_COLLAPSE_RANGE")
	p := filepath.Join(dir, "stdout")
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	const lines = 200000
	const keep = 10000
	var wg sync.WaitGroup
	done := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < lines; i++ {
			fmt.Fprintf(f, "line %08d\n", i)
		}
		close(done)
	}()
	rotations := 0
	for finished := false; !finished; {
		select {
		case <-done:
			finished = true
		default:
		}
		rotated, fallback, err := Rotate(p, 16<<10, keep)
		if err != nil || fallback {
			t.Fatalf("rotate: fallback=%v err=%v", fallback, err)
		}
		if rotated {
			rotations++
		}
		time.Sleep(200 * time.Microsecond)
	}
	wg.Wait()
	if rotations < 5 {
		t.Fatalf("only %d rotations", rotations)
	}
	// Rotation cuts at block boundaries, not lines: the byte stream, read
	// from the oldest file to NAME, must be the one written.
	var stream bytes.Buffer
	for k := keep; k >= 0; k-- {
		name := p
		if k > 0 {
			name = fmt.Sprintf("%s.%d", p, k)
		}
		b, err := os.ReadFile(name)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		stream.Write(b)
	}
	var all []string
	sc := bufio.NewScanner(&stream)
	for sc.Scan() {
		all = append(all, sc.Text())
	}
	if len(all) != lines {
		seen := map[string]int{}
		for i, l := range all {
			if j, ok := seen[l]; ok {
				t.Logf("duplicate %q at %d and %d", l, j, i)
			}
			seen[l] = i
		}
		t.Fatalf("%d lines after %d rotations, want %d", len(all), rotations, lines)
	}
	for i, l := range all {
		if l != fmt.Sprintf("line %08d", i) {
			t.Fatalf("line %d is %q", i, l)
		}
	}
}

func TestSweepWatchesSandboxAndTaskSandboxes(t *testing.T) {
	dir := t.TempDir()
	task := filepath.Join(dir, "tasks", "web")
	os.MkdirAll(task, 0o755)
	big := strings.Repeat("x", 64<<10)
	for _, p := range []string{filepath.Join(dir, "stdout"), filepath.Join(dir, "stderr"), filepath.Join(task, "stdout")} {
		os.WriteFile(p, []byte(big), 0o644)
	}
	r := New(Config{MaxSize: 16 << 10, Keep: 2})
	r.Sweep()
	if r.Rotations() != 0 {
		t.Fatal("rotated a directory that was not added")
	}
	r.Add(dir)
	r.Sweep()
	if got := r.Rotations(); got != 3 {
		t.Fatalf("rotations = %d, want 3", got)
	}
	r.Remove(dir)
	os.WriteFile(filepath.Join(dir, "stdout"), []byte(big), 0o644)
	r.Sweep()
	if got := r.Rotations(); got != 3 {
		t.Fatalf("rotations after Remove = %d", got)
	}
	if New(Config{MaxSize: -1}).Enabled() {
		t.Fatal("negative MaxSize should disable rotation")
	}
}
