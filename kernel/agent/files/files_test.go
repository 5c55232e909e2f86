package files

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fixture: a sandbox with files, a symlink inside and two leading outside,
// attached under its real path and a virtual path.
func fixture(t *testing.T) (*Server, string, string) {
	t.Helper()
	base := t.TempDir()
	sandbox := filepath.Join(base, "slaves", "a", "runs", "c1")
	if err := os.MkdirAll(filepath.Join(sandbox, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	secret := filepath.Join(base, "secret")
	must(t, os.WriteFile(secret, []byte("top secret"), 0o600))
	must(t, os.WriteFile(filepath.Join(sandbox, "stdout"), []byte("hello world\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(sandbox, "sub", "f.txt"), []byte("x"), 0o644))
	must(t, os.Symlink("stdout", filepath.Join(sandbox, "inner-link")))
	must(t, os.Symlink(secret, filepath.Join(sandbox, "abs-escape")))
	must(t, os.Symlink("../../../../secret", filepath.Join(sandbox, "rel-escape")))
	must(t, os.Symlink(base, filepath.Join(sandbox, "dir-escape")))
	s := New(nil)
	must(t, s.Attach(sandbox, sandbox))
	must(t, s.Attach(sandbox, "/frameworks/f/executors/e/runs/latest"))
	return s, sandbox, secret
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func get(t *testing.T, h http.HandlerFunc, query url.Values) (int, string, http.Header) {
	t.Helper()
	rec := httptest.NewRecorder()
	h(rec, httptest.NewRequest(http.MethodGet, "/files/x?"+query.Encode(), nil))
	b, _ := io.ReadAll(rec.Result().Body)
	return rec.Code, string(b), rec.Result().Header
}

func TestReadAndEscapes(t *testing.T) {
	s, sandbox, secret := fixture(t)
	virtual := "/frameworks/f/executors/e/runs/latest"
	tests := []struct {
		name   string
		q      url.Values
		code   int
		body   string
		noLeak bool
	}{
		{"virtual read", url.Values{"path": {virtual + "/stdout"}, "offset": {"0"}}, 200, `{"data":"hello world\n","offset":0}`, false},
		{"real path read", url.Values{"path": {sandbox + "/stdout"}, "offset": {"6"}, "length": {"3"}}, 200, `{"data":"wor","offset":6}`, false},
		{"size probe", url.Values{"path": {virtual + "/stdout"}, "offset": {"-1"}}, 200, `{"data":"","offset":12}`, false},
		{"default offset is size", url.Values{"path": {virtual + "/stdout"}}, 200, `{"data":"","offset":12}`, false},
		{"past end", url.Values{"path": {virtual + "/stdout"}, "offset": {"100"}}, 200, `{"data":"","offset":12}`, false},
		{"inner symlink ok", url.Values{"path": {virtual + "/inner-link"}, "offset": {"0"}, "length": {"5"}}, 200, `{"data":"hello","offset":0}`, false},
		{"negative offset", url.Values{"path": {virtual + "/stdout"}, "offset": {"-2"}}, 400, "", false},
		{"negative length", url.Values{"path": {virtual + "/stdout"}, "offset": {"0"}, "length": {"-5"}}, 400, "", false},
		{"bad offset", url.Values{"path": {virtual + "/stdout"}, "offset": {"x"}}, 400, "", false},
		{"missing path", url.Values{}, 400, "", false},
		{"directory", url.Values{"path": {virtual}, "offset": {"0"}}, 400, "", false},
		{"unknown file", url.Values{"path": {virtual + "/nope"}, "offset": {"0"}}, 404, "", false},
		{"unknown root", url.Values{"path": {"/frameworks/g/executors/e/runs/latest/stdout"}, "offset": {"0"}}, 404, "", false},
		{"dotdot escape", url.Values{"path": {virtual + "/../../../../../../../secret"}, "offset": {"0"}}, 404, "", true},
		{"dotdot to real secret", url.Values{"path": {sandbox + "/../../../../secret"}, "offset": {"0"}}, 404, "", true},
		{"absolute outside", url.Values{"path": {secret}, "offset": {"0"}}, 404, "", true},
		{"abs symlink escape", url.Values{"path": {virtual + "/abs-escape"}, "offset": {"0"}}, 403, "", true},
		{"rel symlink escape", url.Values{"path": {virtual + "/rel-escape"}, "offset": {"0"}}, 403, "", true},
		{"dir symlink escape", url.Values{"path": {virtual + "/dir-escape/secret"}, "offset": {"0"}}, 403, "", true},
		{"no leading slash", url.Values{"path": {strings.TrimPrefix(virtual, "/") + "/stdout"}, "offset": {"0"}, "length": {"5"}}, 200, `{"data":"hello","offset":0}`, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, body, hdr := get(t, s.Read, tc.q)
			if code != tc.code {
				t.Fatalf("code = %d (%q), want %d", code, body, tc.code)
			}
			if tc.body != "" {
				if strings.TrimSpace(body) != tc.body {
					t.Fatalf("body = %q, want %q", body, tc.body)
				}
				if ct := hdr.Get("Content-Type"); ct != "application/json" {
					t.Fatalf("Content-Type = %q", ct)
				}
			}
			if tc.noLeak && strings.Contains(body, "top secret") {
				t.Fatal("secret leaked")
			}
		})
	}
}

func TestReadCap(t *testing.T) {
	s, sandbox, _ := fixture(t)
	big := strings.Repeat("a", int(MaxReadLength())+100)
	must(t, os.WriteFile(filepath.Join(sandbox, "big"), []byte(big), 0o644))
	code, body, _ := get(t, s.Read, url.Values{"path": {sandbox + "/big"}, "offset": {"0"}})
	if code != 200 {
		t.Fatal(code)
	}
	var out struct {
		Data   string `json:"data"`
		Offset int64  `json:"offset"`
	}
	must(t, json.Unmarshal([]byte(body), &out))
	if int64(len(out.Data)) != MaxReadLength() {
		t.Fatalf("read %d bytes, want cap %d", len(out.Data), MaxReadLength())
	}
}

func TestBrowseDownloadDebug(t *testing.T) {
	s, sandbox, _ := fixture(t)
	virtual := "/frameworks/f/executors/e/runs/latest"
	code, body, _ := get(t, s.Browse, url.Values{"path": {virtual}})
	if code != 200 {
		t.Fatalf("browse: %d %s", code, body)
	}
	var list []FileInfo
	must(t, json.Unmarshal([]byte(body), &list))
	var names []string
	for _, f := range list {
		names = append(names, f.Path)
		if f.Path == virtual+"/stdout" && (f.Size != 12 || f.Mode != "-rw-r--r--" || f.UID == "") {
			t.Errorf("stdout entry = %+v", f)
		}
		if f.Path == virtual+"/sub" && !strings.HasPrefix(f.Mode, "d") {
			t.Errorf("sub entry = %+v", f)
		}
	}
	// Broken-outside symlinks are listed by lstat-free stat only when they
	// resolve; the escape links resolve (to outside), which listing shows
	// but reading refuses.
	if !strings.Contains(strings.Join(names, ","), virtual+"/stdout") {
		t.Fatalf("listing = %v", names)
	}
	if code, _, _ := get(t, s.Browse, url.Values{"path": {virtual + "/dir-escape"}}); code != 403 {
		t.Fatalf("browse through escaping symlink: %d", code)
	}
	if code, _, _ := get(t, s.Browse, url.Values{"path": {"/etc"}}); code != 404 {
		t.Fatalf("browse /etc: %d", code)
	}

	code, body, hdr := get(t, s.Download, url.Values{"path": {virtual + "/sub/f.txt"}})
	if code != 200 || body != "x" || hdr.Get("Content-Disposition") != "attachment; filename=f.txt" {
		t.Fatalf("download: %d %q %v", code, body, hdr)
	}
	if code, _, _ := get(t, s.Download, url.Values{"path": {virtual + "/abs-escape"}}); code != 403 {
		t.Fatalf("download escape: %d", code)
	}
	if code, _, _ := get(t, s.Download, url.Values{"path": {virtual}}); code != 400 {
		t.Fatalf("download dir: %d", code)
	}

	code, body, _ = get(t, s.Debug, nil)
	if code != 200 || !strings.Contains(body, `"/frameworks/f/executors/e/runs/latest"`) {
		t.Fatalf("debug: %d %s", code, body)
	}
	s.Detach(virtual)
	if code, _, _ := get(t, s.Read, url.Values{"path": {virtual + "/stdout"}, "offset": {"0"}}); code != 404 {
		t.Fatalf("read after detach: %d", code)
	}
	_ = sandbox
}

func TestModeString(t *testing.T) {
	for mode, want := range map[os.FileMode]string{
		0o644:                               "-rw-r--r--",
		os.ModeDir | 0o755:                  "drwxr-xr-x",
		os.ModeSetuid | 0o755:               "-rwsr-xr-x",
		os.ModeSticky | os.ModeDir | 0o1777: "drwxrwxrwt",
		os.ModeSetgid | 0o640:               "-rw-r-S---",
	} {
		if got := ModeString(mode); got != want {
			t.Errorf("ModeString(%v) = %q, want %q", mode, got, want)
		}
	}
}
