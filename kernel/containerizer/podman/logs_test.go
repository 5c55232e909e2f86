package podman

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func TestParseLogLine(t *testing.T) {
	tests := []struct {
		line    string
		ok      bool
		stream  string
		partial bool
		content string
	}{
		{"2024-05-30T13:10:18.123456789+00:00 stdout F hello world", true, "stdout", false, "hello world"},
		{"2024-05-30T13:10:18.1Z stderr P no newline", true, "stderr", true, "no newline"},
		{"2024-05-30T13:10:18Z stdout F ", true, "stdout", false, ""},
		{"2024-05-30T13:10:18Z stdout F", true, "stdout", false, ""},
		{"2024-05-30T13:10:18Z stdout F  two  spaces ", true, "stdout", false, " two  spaces "},
		{"2024-05-30T13:10:18Z stdin F x", false, "", false, ""},
		{"2024-05-30T13:10:18Z stdout X x", false, "", false, ""},
		{"not-a-time stdout F x", false, "", false, ""},
		{"", false, "", false, ""},
		{"2024-05-30T13:10:18Z", false, "", false, ""},
	}
	for _, tt := range tests {
		stream, partial, content, ok := parseLogLine([]byte(tt.line))
		if ok != tt.ok || stream != tt.stream || partial != tt.partial || string(content) != tt.content {
			t.Errorf("parseLogLine(%q) = %q, %v, %q, %v; want %q, %v, %q, %v",
				tt.line, stream, partial, content, ok, tt.stream, tt.partial, tt.content, tt.ok)
		}
	}
}

func FuzzParseLogLine(f *testing.F) {
	f.Add([]byte("2024-05-30T13:10:18.123456789+00:00 stdout F hello world"))
	f.Add([]byte("2024-05-30T13:10:18Z stderr P x"))
	f.Add([]byte("2024-05-30T13:10:18Z stdout F"))
	f.Add([]byte(" stdout F x"))
	f.Fuzz(func(t *testing.T, line []byte) {
		stream, _, content, ok := parseLogLine(line)
		if !ok {
			return
		}
		if stream != "stdout" && stream != "stderr" {
			t.Fatalf("stream %q", stream)
		}
		if !bytes.HasSuffix(line, content) {
			t.Fatalf("content %q is not the end of the line %q", content, line)
		}
	})
}

// appendLog appends k8s-file entries to path.
func appendLog(t *testing.T, path string, lines ...string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, l := range lines {
		if _, err := f.WriteString(l); err != nil {
			t.Fatal(err)
		}
	}
}

func TestLogCopier(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "c.log")
	var stdout, stderr bytes.Buffer
	newCopier := func() *logCopier { return &logCopier{path: path, stdout: &stdout, stderr: &stderr} }

	// Before conmon has created the log there is nothing to do.
	lc := newCopier()
	if err := lc.pump(); err != nil {
		t.Fatal(err)
	}

	appendLog(t, path,
		"2024-01-01T00:00:00.1Z stdout F one\n",
		"2024-01-01T00:00:00.2Z stderr F oops\n",
		"2024-01-01T00:00:00.3Z stdout P par",
	)
	if err := lc.pump(); err != nil {
		t.Fatal(err)
	}
	if stdout.String() != "one\n" || stderr.String() != "oops\n" {
		t.Fatalf("after the first pump: stdout %q stderr %q", stdout.String(), stderr.String())
	}
	// The rest of the unterminated entry arrives.
	appendLog(t, path, "t\n", "2024-01-01T00:00:00.4Z stdout F ial\n", "garbage\n")
	if err := lc.pump(); err != nil {
		t.Fatal(err)
	}
	if stdout.String() != "one\npartial\n" || lc.malformed != 1 {
		t.Fatalf("after the second pump: stdout %q, %d malformed", stdout.String(), lc.malformed)
	}
	lc.close()

	// A new copier (a restarted executor) continues where the last stopped.
	appendLog(t, path, "2024-01-01T00:00:00.5Z stdout F two\n")
	lc = newCopier()
	if err := lc.pump(); err != nil {
		t.Fatal(err)
	}
	if stdout.String() != "one\npartial\ntwo\n" || stderr.String() != "oops\n" {
		t.Fatalf("after resuming: stdout %q stderr %q", stdout.String(), stderr.String())
	}

	// A replaced (rotated) log is read from its start.
	if err := os.Rename(path, path+".old"); err != nil {
		t.Fatal(err)
	}
	appendLog(t, path, "2024-01-01T00:00:00.6Z stderr F three\n")
	if err := lc.pump(); err != nil {
		t.Fatal(err)
	}
	if stderr.String() != "oops\nthree\n" {
		t.Fatalf("after rotation: stderr %q", stderr.String())
	}
	lc.close()

	// A position file from another file (another inode) is ignored.
	if err := writePos(path+".pos", 1, 5); err != nil {
		t.Fatal(err)
	}
	stdout.Reset()
	stderr.Reset()
	lc = newCopier()
	defer lc.close()
	if err := lc.pump(); err != nil {
		t.Fatal(err)
	}
	if stderr.String() != "three\n" {
		t.Fatalf("with a foreign position: stderr %q", stderr.String())
	}
}

func TestReadPos(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		content string
		ok      bool
	}{
		{"12 34\n", true},
		{"12\n", false},
		{"12 -1\n", false},
		{"x 1\n", false},
	}
	for _, tt := range tests {
		p := filepath.Join(dir, "pos")
		if err := os.WriteFile(p, []byte(tt.content), 0o644); err != nil {
			t.Fatal(err)
		}
		_, _, err := readPos(p)
		if (err == nil) != tt.ok {
			t.Errorf("readPos(%q) error %v, want ok=%v", tt.content, err, tt.ok)
		}
	}
}

func TestZombie(t *testing.T) {
	if !zombie([]byte("123 (conmon) Z 1 2 3")) || zombie([]byte("123 (a) b) S 1")) || zombie([]byte("x")) {
		t.Fatal("zombie misparses /proc/<pid>/stat")
	}
}
