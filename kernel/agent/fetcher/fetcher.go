package fetcher

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"
)

// URI is one entry of CommandInfo.uris.
type URI struct {
	// Value is the URL or absolute local path to fetch.
	Value string
	// Executable makes the fetched file mode 0755 and disables extraction.
	Executable bool
	// Extract unpacks recognised archives. Mesos defaults it to true; the
	// caller passes the effective value.
	Extract bool
	// Cache asks for the Mesos fetcher cache. It is accepted and ignored.
	Cache bool
	// OutputFile, if set, names the fetched file: a relative path inside
	// the sandbox.
	OutputFile string
}

// Defaults for Options fields left at zero.
const (
	DefaultHTTPTimeout       = 30 * time.Minute
	DefaultStallTimeout      = time.Minute // Mesos --fetcher_stall_timeout
	DefaultMaxDownloadBytes  = 16 << 30
	DefaultMaxExtractBytes   = 32 << 30
	DefaultMaxExtractEntries = 1_000_000
)

// Options tune a fetch. Zero values mean the defaults above; a negative
// limit or timeout means none.
type Options struct {
	// Log receives the human-readable progress lines; nil discards them.
	Log io.Writer
	// Logger receives the agent-side log; nil means slog.Default().
	Logger *slog.Logger
	// HTTPClient is used for http and https URIs; nil means a client with
	// the default transport (which honours proxy environment variables).
	HTTPClient *http.Client
	// HTTPTimeout bounds each HTTP download as a whole.
	HTTPTimeout time.Duration
	// StallTimeout aborts an HTTP download that received nothing for that
	// long.
	StallTimeout time.Duration
	// MaxDownloadBytes bounds the size of each fetched file (HTTP or copy).
	MaxDownloadBytes int64
	// MaxExtractBytes bounds the bytes written when extracting one archive.
	MaxExtractBytes int64
	// MaxExtractEntries bounds the number of entries of one archive.
	MaxExtractEntries int
}

func (o Options) withDefaults() Options {
	if o.Log == nil {
		o.Log = io.Discard
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	o.Logger = o.Logger.With("component", "fetcher")
	if o.HTTPTimeout == 0 {
		o.HTTPTimeout = DefaultHTTPTimeout
	}
	if o.StallTimeout == 0 {
		o.StallTimeout = DefaultStallTimeout
	}
	if o.MaxDownloadBytes == 0 {
		o.MaxDownloadBytes = DefaultMaxDownloadBytes
	}
	if o.MaxExtractBytes == 0 {
		o.MaxExtractBytes = DefaultMaxExtractBytes
	}
	if o.MaxExtractEntries == 0 {
		o.MaxExtractEntries = DefaultMaxExtractEntries
	}
	return o
}

// Fetch fetches every URI into sandboxDir, in order, stopping at the first
// failure. Errors look like
//
//	fetcher: fetch "http://x/y.tgz": HTTP 404 Not Found
//
// and the same reason is written to opts.Log.
func Fetch(ctx context.Context, sandboxDir string, uris []URI, opts Options) error {
	opts = opts.withDefaults()
	root, err := os.OpenRoot(sandboxDir)
	if err != nil {
		return fmt.Errorf("fetcher: open sandbox: %w", err)
	}
	defer root.Close()
	f := &fetch{ctx: ctx, root: root, sandbox: sandboxDir, opts: opts}
	for _, u := range uris {
		shown := displayURI(u.Value)
		if err := f.one(u, shown); err != nil {
			f.logf("Failed to fetch '%s': %v", shown, err)
			opts.Logger.Warn("fetch failed", "uri", shown, "sandbox", sandboxDir, "error", err)
			return fmt.Errorf("fetcher: fetch %q: %w", shown, err)
		}
	}
	return nil
}

// fetch is the state of one Fetch call.
type fetch struct {
	ctx     context.Context
	root    *os.Root
	sandbox string
	opts    Options
}

func (f *fetch) logf(format string, args ...any) {
	fmt.Fprintf(f.opts.Log, format+"\n", args...)
}

// hostPath is the host path of a sandbox-relative name, for log lines.
func (f *fetch) hostPath(name string) string {
	return filepath.Join(f.sandbox, filepath.FromSlash(name))
}

func (f *fetch) one(u URI, shown string) error {
	f.logf("Fetching URI '%s'", shown)
	if u.Cache {
		f.logf("The fetcher cache is not supported; fetching '%s' directly into the sandbox directory", shown)
	} else {
		f.logf("Fetching directly into the sandbox directory")
	}
	src, err := parseSource(u.Value)
	if err != nil {
		return err
	}
	name, err := destination(u, src)
	if err != nil {
		return err
	}
	if err := f.ctx.Err(); err != nil {
		return err
	}
	if dir := path.Dir(name); dir != "." {
		if err := f.root.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("create directory for %q: %w", name, err)
		}
	}
	if src.url != nil {
		err = f.download(src.url, name)
	} else {
		err = f.copyLocal(src.local, name)
	}
	if err != nil {
		return err
	}
	f.logf("Fetched '%s' to '%s'", shown, f.hostPath(name))

	if u.Executable {
		if err := f.root.Chmod(name, 0o755); err != nil {
			return fmt.Errorf("make %q executable: %w", name, err)
		}
		return nil
	}
	if !u.Extract {
		return nil
	}
	kind := archiveKindOf(name)
	if kind == notArchive {
		return nil
	}
	f.logf("Extracting '%s' into '%s'", f.hostPath(name), f.sandbox)
	if err := f.extract(kind, name); err != nil {
		return fmt.Errorf("extract %q: %w", name, err)
	}
	f.logf("Extracted '%s' into '%s'", f.hostPath(name), f.sandbox)
	return nil
}

// source is a parsed URI value: a URL to download or a local path to copy.
type source struct {
	url   *url.URL
	local string
}

func parseSource(value string) (source, error) {
	switch {
	case value == "":
		return source{}, errors.New("empty URI")
	case strings.HasPrefix(value, "/"):
		return source{local: filepath.Clean(value)}, nil
	}
	scheme, _, ok := strings.Cut(value, "://")
	if !ok {
		return source{}, errors.New("relative paths are not supported (Mesos resolves them against --frameworks_home); use an absolute path or a URL")
	}
	u, err := url.Parse(value)
	if err != nil {
		return source{}, fmt.Errorf("invalid URI: %w", err)
	}
	switch strings.ToLower(scheme) {
	case "http", "https":
		if u.Host == "" {
			return source{}, errors.New("URL has no host")
		}
		return source{url: u}, nil
	case "file":
		if u.Host != "" && u.Host != "localhost" {
			return source{}, fmt.Errorf("file URL names host %q; only local files can be fetched", u.Host)
		}
		if !strings.HasPrefix(u.Path, "/") {
			return source{}, errors.New("file URL has no absolute path")
		}
		return source{local: filepath.Clean(u.Path)}, nil
	default:
		return source{}, fmt.Errorf("unsupported URI scheme %q (Mesos uses a Hadoop client for it, which Strata does not have)", scheme)
	}
}

// destination returns the sandbox-relative, slash-separated name of the
// fetched file.
func destination(u URI, src source) (string, error) {
	if u.OutputFile != "" {
		name := filepath.ToSlash(u.OutputFile)
		if !filepath.IsLocal(u.OutputFile) || hasDotDot(name) {
			return "", fmt.Errorf("output_file %q is not a relative path inside the sandbox", u.OutputFile)
		}
		return path.Clean(name), nil
	}
	var base string
	if src.url != nil {
		base = path.Base(src.url.Path)
	} else {
		base = filepath.Base(src.local)
	}
	if base == "" || base == "." || base == "/" || base == ".." || strings.Contains(base, "/") {
		return "", errors.New("cannot name the fetched file after the URI; set output_file")
	}
	return base, nil
}

func hasDotDot(name string) bool {
	for _, part := range strings.Split(name, "/") {
		if part == ".." {
			return true
		}
	}
	return false
}

// displayURI hides a password in a URL's user information.
func displayURI(value string) string {
	if !strings.Contains(value, "@") {
		return value
	}
	if u, err := url.Parse(value); err == nil && u.User != nil {
		return u.Redacted()
	}
	return value
}

// writeFile writes r to the sandbox file name through a temporary file that
// is renamed into place, so a failed fetch leaves no partial file. It returns
// the number of bytes written; more than limit bytes (limit >= 0) fail.
func (f *fetch) writeFile(name string, r io.Reader, perm os.FileMode, limit int64) (int64, error) {
	var suffix [6]byte
	_, _ = rand.Read(suffix[:])
	tmp := name + ".strata-fetch-" + hex.EncodeToString(suffix[:])
	out, err := f.root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return 0, fmt.Errorf("create %q: %w", name, err)
	}
	ok := false
	defer func() {
		if !ok {
			out.Close()
			_ = f.root.Remove(tmp)
		}
	}()
	src := io.Reader(ctxReader{f.ctx, r})
	if limit >= 0 {
		src = io.LimitReader(src, limit+1)
	}
	n, err := io.Copy(out, src)
	if err != nil {
		return n, err
	}
	if limit >= 0 && n > limit {
		return n, fmt.Errorf("larger than the maximum size of %d bytes", limit)
	}
	if err := out.Close(); err != nil {
		return n, fmt.Errorf("write %q: %w", name, err)
	}
	if err := f.root.Chmod(tmp, perm); err != nil { // undo the umask
		return n, fmt.Errorf("chmod %q: %w", name, err)
	}
	if err := f.root.Rename(tmp, name); err != nil {
		return n, fmt.Errorf("rename into %q: %w", name, err)
	}
	ok = true
	return n, nil
}

// ctxReader fails reads once its context is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
