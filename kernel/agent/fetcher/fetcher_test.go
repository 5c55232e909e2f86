package fetcher

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// serve serves files by path, each body as is.
func serve(t *testing.T, files map[string][]byte) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// newSandbox returns a sandbox directory inside its own parent directory,
// so that tests can check nothing was written next to it.
func newSandbox(t *testing.T) (sandbox, parent string) {
	t.Helper()
	parent = t.TempDir()
	sandbox = filepath.Join(parent, "sandbox")
	if err := os.Mkdir(sandbox, 0o755); err != nil {
		t.Fatal(err)
	}
	return sandbox, parent
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return string(b)
}

func fileMode(t *testing.T, path string) fs.FileMode {
	t.Helper()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode()
}

// listTree lists the files under dir as "path" or "path -> target".
func listTree(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if d.Type()&fs.ModeSymlink != 0 {
			target, _ := os.Readlink(p)
			rel += " -> " + target
		} else if d.IsDir() {
			rel += "/"
		}
		out = append(out, rel)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestFetchHTTPFile(t *testing.T) {
	srv := serve(t, map[string][]byte{"/dist/hello.txt": []byte("hello\n")})
	sandbox, _ := newSandbox(t)
	var log bytes.Buffer
	uri := srv.URL + "/dist/hello.txt?version=3&x=y"
	if err := Fetch(context.Background(), sandbox, []URI{{Value: uri, Extract: true}}, Options{Log: &log}); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(sandbox, "hello.txt")); got != "hello\n" {
		t.Fatalf("content %q", got)
	}
	if m := fileMode(t, filepath.Join(sandbox, "hello.txt")); m != 0o644 {
		t.Fatalf("mode %v", m)
	}
	for _, want := range []string{
		"Fetching URI '" + uri + "'",
		"Fetched '" + uri + "' to '" + filepath.Join(sandbox, "hello.txt") + "'",
	} {
		if !strings.Contains(log.String(), want+"\n") {
			t.Errorf("log lacks %q:\n%s", want, log.String())
		}
	}
	if got := listTree(t, sandbox); !slices.Equal(got, []string{"hello.txt"}) {
		t.Fatalf("sandbox holds %v (temporary files left?)", got)
	}
}

func TestFetchHTTPErrors(t *testing.T) {
	srv := serve(t, map[string][]byte{"/big": bytes.Repeat([]byte("x"), 2000)})
	chunked := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for range 20 {
			_, _ = w.Write(bytes.Repeat([]byte("y"), 100))
			w.(http.Flusher).Flush()
		}
	}))
	defer chunked.Close()
	tests := []struct {
		name string
		uri  URI
		opts Options
		want string
	}{
		{"404", URI{Value: srv.URL + "/y.tgz"}, Options{}, `fetcher: fetch "` + srv.URL + `/y.tgz": HTTP 404 Not Found`},
		{"too large", URI{Value: srv.URL + "/big"}, Options{MaxDownloadBytes: 1000}, "over the maximum download size of 1000 bytes"},
		{"too large chunked", URI{Value: chunked.URL + "/c"}, Options{MaxDownloadBytes: 1000}, "larger than the maximum size of 1000 bytes"},
		{"no file name", URI{Value: srv.URL + "/"}, Options{}, "set output_file"},
		{"refused", URI{Value: "http://127.0.0.1:1/x"}, Options{}, "connection refused"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sandbox, _ := newSandbox(t)
			var log bytes.Buffer
			tc.opts.Log = &log
			err := Fetch(context.Background(), sandbox, []URI{tc.uri}, tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			if !strings.HasPrefix(err.Error(), `fetcher: fetch "`) {
				t.Fatalf("error %q does not name the URI", err)
			}
			if !strings.Contains(log.String(), "Failed to fetch '") {
				t.Fatalf("failure not logged:\n%s", log.String())
			}
			if got := listTree(t, sandbox); len(got) != 0 {
				t.Fatalf("failed fetch left %v", got)
			}
		})
	}
}

func TestFetchTimeouts(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/stall" {
			w.Header().Set("Content-Length", "1000")
			_, _ = w.Write([]byte("partial"))
			w.(http.Flusher).Flush()
		}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer hang.Close()
	tests := []struct {
		path string
		opts Options
		want string
	}{
		{"/slow", Options{HTTPTimeout: 100 * time.Millisecond, StallTimeout: -1}, "download did not finish within 100ms"},
		{"/stall", Options{HTTPTimeout: -1, StallTimeout: 100 * time.Millisecond}, "download stalled: nothing received for 100ms"},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			sandbox, _ := newSandbox(t)
			begin := time.Now()
			err := Fetch(context.Background(), sandbox, []URI{{Value: hang.URL + tc.path}}, tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			if el := time.Since(begin); el > 5*time.Second {
				t.Fatalf("took %v", el)
			}
		})
	}
}

func TestFetchCancelled(t *testing.T) {
	srv := serve(t, map[string][]byte{"/a": []byte("a")})
	sandbox, _ := newSandbox(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := Fetch(ctx, sandbox, []URI{{Value: srv.URL + "/a"}}, Options{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestFetchArchives(t *testing.T) {
	tarball := makeTar(t,
		entry{name: "app/", kind: tar.TypeDir},
		entry{name: "app/run.sh", body: "#!/bin/sh\necho hi\n", mode: 0o755},
		entry{name: "app/conf/settings", body: "a=1\n", mode: 0o4640}, // setuid dropped
		entry{name: "app/latest", kind: tar.TypeSymlink, link: "run.sh"},
		entry{name: "app/conf/up", kind: tar.TypeSymlink, link: "../run.sh"},
		entry{name: "app/hard", kind: tar.TypeLink, link: "app/run.sh"},
		entry{name: "app/fifo", kind: tar.TypeFifo},
	)
	want := []string{"app/", "app/conf/", "app/conf/settings", "app/conf/up -> ../run.sh", "app/hard", "app/latest -> run.sh", "app/run.sh"}
	bz2, err := os.ReadFile("testdata/hello.tar.bz2")
	if err != nil {
		t.Fatal(err)
	}
	wantBz2 := []string{"hello/", "hello/world.txt"}
	zipped := makeZip(t,
		entry{name: "app/", kind: tar.TypeDir},
		entry{name: "app/run.sh", body: "#!/bin/sh\necho hi\n", mode: 0o755},
		entry{name: "app/conf/settings", body: "a=1\n", mode: 0o640},
		entry{name: "app/latest", kind: tar.TypeSymlink, link: "run.sh"},
	)
	wantZip := []string{"app/", "app/conf/", "app/conf/settings", "app/latest -> run.sh", "app/run.sh"}

	files := map[string][]byte{
		"/a.tar":     tarball,
		"/a.tar.gz":  gzipBytes(t, tarball),
		"/a.tgz":     gzipBytes(t, tarball),
		"/a.tar.xz":  xzBytes(t, tarball),
		"/a.txz":     xzBytes(t, tarball),
		"/b.tar.bz2": bz2,
		"/b.tbz2":    bz2,
		"/a.zip":     zipped,
		"/notes.gz":  gzipBytes(t, []byte("plain notes\n")),
		"/A.TGZ":     gzipBytes(t, tarball),
	}
	srv := serve(t, files)
	tests := []struct {
		name string
		want []string
	}{
		{"a.tar", want}, {"a.tar.gz", want}, {"a.tgz", want}, {"a.tar.xz", want}, {"a.txz", want}, {"A.TGZ", want},
		{"b.tar.bz2", wantBz2}, {"b.tbz2", wantBz2},
		{"a.zip", wantZip},
		{"notes.gz", []string{"notes"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sandbox, _ := newSandbox(t)
			var log bytes.Buffer
			err := Fetch(context.Background(), sandbox, []URI{{Value: srv.URL + "/" + tc.name, Extract: true}}, Options{Log: &log})
			if err != nil {
				t.Fatal(err)
			}
			got := listTree(t, sandbox)
			wantAll := append([]string{tc.name}, tc.want...) // the archive is kept
			slices.Sort(wantAll)
			if !slices.Equal(got, wantAll) {
				t.Fatalf("sandbox:\n%v\nwant:\n%v", got, wantAll)
			}
			if !strings.Contains(log.String(), "Extracted '"+filepath.Join(sandbox, tc.name)+"' into '"+sandbox+"'") {
				t.Fatalf("log:\n%s", log.String())
			}
			switch {
			case strings.HasPrefix(tc.name, "b."):
				if got := readFile(t, filepath.Join(sandbox, "hello/world.txt")); got != "bzip2 world\n" {
					t.Fatalf("content %q", got)
				}
				if m := fileMode(t, filepath.Join(sandbox, "hello/world.txt")); m != 0o640 {
					t.Fatalf("mode %v", m)
				}
			case tc.name == "notes.gz":
				if got := readFile(t, filepath.Join(sandbox, "notes")); got != "plain notes\n" {
					t.Fatalf("content %q", got)
				}
			default:
				if got := readFile(t, filepath.Join(sandbox, "app/latest")); got != "#!/bin/sh\necho hi\n" {
					t.Fatalf("content through symlink %q", got)
				}
				if m := fileMode(t, filepath.Join(sandbox, "app/run.sh")); m != 0o755 {
					t.Fatalf("run.sh mode %v", m)
				}
				if m := fileMode(t, filepath.Join(sandbox, "app/conf/settings")); m != 0o640 {
					t.Fatalf("settings mode %v (setuid must be dropped)", m)
				}
			}
		})
	}
}

func TestFetchExtractFlags(t *testing.T) {
	tgz := gzipBytes(t, makeTar(t, entry{name: "inner.txt", body: "x"}))
	srv := serve(t, map[string][]byte{"/pkg.tgz": tgz, "/tool": []byte("#!/bin/sh\necho tool\n")})
	tests := []struct {
		name string
		uri  URI
		want []string
		mode map[string]fs.FileMode
	}{
		{"extract off", URI{Value: srv.URL + "/pkg.tgz"}, []string{"pkg.tgz"}, nil},
		{"executable wins over extract", URI{Value: srv.URL + "/pkg.tgz", Executable: true, Extract: true},
			[]string{"pkg.tgz"}, map[string]fs.FileMode{"pkg.tgz": 0o755}},
		{"executable", URI{Value: srv.URL + "/tool", Executable: true}, []string{"tool"}, map[string]fs.FileMode{"tool": 0o755}},
		{"output file", URI{Value: srv.URL + "/tool", OutputFile: "bin/mytool"}, []string{"bin/", "bin/mytool"},
			map[string]fs.FileMode{"bin/mytool": 0o644}},
		{"output file names the archive", URI{Value: srv.URL + "/tool?x", OutputFile: "renamed.tar.gz", Extract: true},
			nil, nil}, // not a gzip file: extraction must fail, see below
		{"output file then extract", URI{Value: srv.URL + "/pkg.tgz", OutputFile: "sub/p.tgz", Extract: true},
			[]string{"inner.txt", "sub/", "sub/p.tgz"}, nil},
		{"cache ignored", URI{Value: srv.URL + "/tool", Cache: true}, []string{"tool"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sandbox, _ := newSandbox(t)
			var log bytes.Buffer
			err := Fetch(context.Background(), sandbox, []URI{tc.uri}, Options{Log: &log})
			if tc.want == nil {
				if err == nil || !strings.Contains(err.Error(), "extract \"renamed.tar.gz\"") {
					t.Fatalf("err = %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := listTree(t, sandbox); !slices.Equal(got, tc.want) {
				t.Fatalf("sandbox %v, want %v", got, tc.want)
			}
			for name, m := range tc.mode {
				if got := fileMode(t, filepath.Join(sandbox, name)); got != m {
					t.Fatalf("%s mode %v, want %v", name, got, m)
				}
			}
			if tc.uri.Cache && !strings.Contains(log.String(), "fetcher cache is not supported") {
				t.Fatalf("log:\n%s", log.String())
			}
		})
	}
}

func TestFetchLocal(t *testing.T) {
	src := t.TempDir()
	script := filepath.Join(src, "script.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\n"), 0o750); err != nil {
		t.Fatal(err)
	}
	tgz := filepath.Join(src, "local.tgz")
	if err := os.WriteFile(tgz, gzipBytes(t, makeTar(t, entry{name: "from-local", body: "L"})), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		uri  URI
		want []string
	}{
		{"path", URI{Value: script}, []string{"script.sh"}},
		{"file url", URI{Value: "file://" + script}, []string{"script.sh"}},
		{"file url localhost", URI{Value: "file://localhost" + script, OutputFile: "s"}, []string{"s"}},
		{"local archive", URI{Value: tgz, Extract: true}, []string{"from-local", "local.tgz"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sandbox, _ := newSandbox(t)
			if err := Fetch(context.Background(), sandbox, []URI{tc.uri}, Options{}); err != nil {
				t.Fatal(err)
			}
			if got := listTree(t, sandbox); !slices.Equal(got, tc.want) {
				t.Fatalf("sandbox %v, want %v", got, tc.want)
			}
		})
	}
	sandbox, _ := newSandbox(t)
	if err := Fetch(context.Background(), sandbox, []URI{{Value: script}}, Options{}); err != nil {
		t.Fatal(err)
	}
	if m := fileMode(t, filepath.Join(sandbox, "script.sh")); m != 0o750 {
		t.Fatalf("copied mode %v, want the source's 0750", m)
	}
}

func TestFetchRejectsBadURIs(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		uri  URI
		want string
	}{
		{"empty", URI{}, "empty URI"},
		{"relative", URI{Value: "some/file"}, "relative paths are not supported"},
		{"hdfs", URI{Value: "hdfs://nn/x"}, `unsupported URI scheme "hdfs"`},
		{"remote file url", URI{Value: "file://otherhost/etc/hosts"}, `names host "otherhost"`},
		{"missing", URI{Value: filepath.Join(dir, "missing")}, "no such file"},
		{"directory", URI{Value: dir, OutputFile: "d"}, "is not a regular file"},
		{"output escapes", URI{Value: "/etc/hostname", OutputFile: "../escape"}, "not a relative path inside the sandbox"},
		{"output absolute", URI{Value: "/etc/hostname", OutputFile: "/tmp/abs"}, "not a relative path inside the sandbox"},
		{"output sneaky", URI{Value: "/etc/hostname", OutputFile: "a/../../x"}, "not a relative path inside the sandbox"},
		{"host without path", URI{Value: "http://"}, "URL has no host"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sandbox, parent := newSandbox(t)
			err := Fetch(context.Background(), sandbox, []URI{tc.uri}, Options{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			if got := listTree(t, parent); !slices.Equal(got, []string{"sandbox/"}) {
				t.Fatalf("files written: %v", got)
			}
		})
	}
}

func TestFetchStopsAtFirstFailure(t *testing.T) {
	srv := serve(t, map[string][]byte{"/one": []byte("1"), "/three": []byte("3")})
	sandbox, _ := newSandbox(t)
	err := Fetch(context.Background(), sandbox, []URI{
		{Value: srv.URL + "/one"}, {Value: srv.URL + "/two"}, {Value: srv.URL + "/three"},
	}, Options{})
	if err == nil || !strings.Contains(err.Error(), "/two") {
		t.Fatalf("err = %v", err)
	}
	if got := listTree(t, sandbox); !slices.Equal(got, []string{"one"}) {
		t.Fatalf("sandbox %v", got)
	}
}

func TestFetchRedactsPassword(t *testing.T) {
	srv := serve(t, map[string][]byte{"/secret.txt": []byte("s")})
	sandbox, _ := newSandbox(t)
	var log bytes.Buffer
	uri := strings.Replace(srv.URL, "http://", "http://user:hunter2@", 1) + "/secret.txt"
	if err := Fetch(context.Background(), sandbox, []URI{{Value: uri}}, Options{Log: &log}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(log.String(), "hunter2") || !strings.Contains(log.String(), "user:xxxxx@") {
		t.Fatalf("log:\n%s", log.String())
	}
	err := Fetch(context.Background(), sandbox, []URI{{Value: uri + ".missing"}}, Options{})
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("err = %v", err)
	}
}

func TestFetchMaliciousArchives(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		archive func(t *testing.T) []byte
		want    string
	}{
		{"tar dotdot", "evil.tar", func(t *testing.T) []byte {
			return makeTar(t, entry{name: "ok.txt", body: "ok"}, entry{name: "../evil.txt", body: "pwned"})
		}, `"../evil.txt": '..' in path points outside the sandbox`},
		{"tar nested dotdot", "evil.tgz", func(t *testing.T) []byte {
			return gzipBytes(t, makeTar(t, entry{name: "a/b/../../../evil.txt", body: "pwned"}))
		}, "'..' in path"},
		{"tar absolute", "evil.tar", func(t *testing.T) []byte {
			return makeTar(t, entry{name: "/tmp/strata-evil.txt", body: "pwned"})
		}, "absolute path"},
		{"tar symlink absolute", "evil.tar", func(t *testing.T) []byte {
			return makeTar(t, entry{name: "passwd", kind: tar.TypeSymlink, link: "/etc/passwd"})
		}, "absolute target points outside"},
		{"tar symlink up", "evil.tar", func(t *testing.T) []byte {
			return makeTar(t, entry{name: "dir/up", kind: tar.TypeSymlink, link: "../../outside"})
		}, `symlink "dir/up" -> "../../outside": points outside`},
		{"tar write through symlink", "evil.tar", func(t *testing.T) []byte {
			return makeTar(t,
				entry{name: "escape", kind: tar.TypeSymlink, link: ".."},
				entry{name: "escape/evil.txt", body: "pwned"})
		}, "points outside"},
		{"tar symlink made to escape later", "evil.tar", func(t *testing.T) []byte {
			// "x" is harmless while "y" does not exist; once "y" links to the
			// sandbox itself, x resolves to the sandbox's parent.
			return makeTar(t,
				entry{name: "x", kind: tar.TypeSymlink, link: "y/../outside"},
				entry{name: "y", kind: tar.TypeSymlink, link: "."},
			)
		}, "points outside"},
		{"tar symlink via directory link", "evil.tar", func(t *testing.T) []byte {
			return makeTar(t,
				entry{name: "d/", kind: tar.TypeDir},
				entry{name: "d/self", kind: tar.TypeSymlink, link: "."},
				entry{name: "a/", kind: tar.TypeDir},
				entry{name: "a/b", kind: tar.TypeSymlink, link: "../d/self"},
				entry{name: "a/b/up", kind: tar.TypeSymlink, link: "../../outside"},
			)
		}, "points outside"},
		{"tar hard link out", "evil.tar", func(t *testing.T) []byte {
			return makeTar(t, entry{name: "shadow", kind: tar.TypeLink, link: "../../etc/shadow"})
		}, "hard link"},
		{"tar hard link absolute", "evil.tar", func(t *testing.T) []byte {
			return makeTar(t, entry{name: "shadow", kind: tar.TypeLink, link: "/etc/shadow"})
		}, "hard link"},
		{"zip slip", "evil.zip", func(t *testing.T) []byte {
			return makeZip(t, entry{name: "fine.txt", body: "ok"}, entry{name: "../../evil.txt", body: "pwned"})
		}, "'..' in path points outside the sandbox"},
		{"zip absolute", "evil.zip", func(t *testing.T) []byte {
			return makeZip(t, entry{name: "/tmp/strata-evil.txt", body: "pwned"})
		}, "absolute path"},
		{"zip symlink out", "evil.zip", func(t *testing.T) []byte {
			return makeZip(t, entry{name: "link", kind: tar.TypeSymlink, link: "../outside"})
		}, "points outside"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := serve(t, map[string][]byte{"/" + tc.file: tc.archive(t)})
			sandbox, parent := newSandbox(t)
			err := Fetch(context.Background(), sandbox, []URI{{Value: srv.URL + "/" + tc.file, Extract: true}}, Options{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			if !errors.Is(err, errEscape) && !strings.Contains(tc.want, "hard link") {
				t.Fatalf("err = %v, want it to wrap errEscape", err)
			}
			// Nothing outside the sandbox, and no symlink inside that leads out.
			for _, p := range listTree(t, parent) {
				if !strings.HasPrefix(p, "sandbox") {
					t.Fatalf("%s was written outside the sandbox", p)
				}
			}
			root, err := os.OpenRoot(sandbox)
			if err != nil {
				t.Fatal(err)
			}
			defer root.Close()
			if err := auditSymlinks(root); err != nil {
				t.Fatalf("escaping symlink left in the sandbox: %v (%v)", err, listTree(t, sandbox))
			}
			if _, err := os.Stat("/tmp/strata-evil.txt"); err == nil {
				t.Fatal("/tmp/strata-evil.txt was written")
			}
		})
	}
}

func TestFetchExtractLimits(t *testing.T) {
	big := strings.Repeat("z", 600)
	twoFiles := makeTar(t, entry{name: "one", body: big}, entry{name: "two", body: big})
	var many []entry
	for i := range 20 {
		many = append(many, entry{name: fmt.Sprintf("f%02d", i)})
	}
	bomb := gzipBytes(t, make([]byte, 10<<20)) // 10 MiB of zeros, ~10 KiB compressed
	srv := serve(t, map[string][]byte{
		"/two.tar":  twoFiles,
		"/two.zip":  makeZip(t, entry{name: "one", body: big}, entry{name: "two", body: big}),
		"/many.tar": makeTar(t, many...),
		"/bomb.gz":  bomb,
	})
	tests := []struct {
		file string
		opts Options
		want string
	}{
		{"two.tar", Options{MaxExtractBytes: 1000}, `archive entry "two" (600 bytes) exceeds the extraction limit of 1000 bytes`},
		{"two.zip", Options{MaxExtractBytes: 1000}, "exceeds the extraction limit of 1000 bytes"},
		{"many.tar", Options{MaxExtractEntries: 10}, "more than the maximum of 10 entries"},
		{"bomb.gz", Options{MaxExtractBytes: 1 << 20}, "exceeds the extraction limit of 1048576 bytes"},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			sandbox, _ := newSandbox(t)
			err := Fetch(context.Background(), sandbox, []URI{{Value: srv.URL + "/" + tc.file, Extract: true}}, tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
	// Within the limits the same archives extract.
	sandbox, _ := newSandbox(t)
	err := Fetch(context.Background(), sandbox, []URI{{Value: srv.URL + "/two.tar", Extract: true}}, Options{MaxExtractBytes: 1200})
	if err != nil {
		t.Fatal(err)
	}
}
