package fetcher

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sync"
	"time"
)

var defaultClient = &http.Client{}

// download GETs u into the sandbox file name.
func (f *fetch) download(u *url.URL, name string) error {
	ctx, cancel := context.WithCancelCause(f.ctx)
	defer cancel(nil)
	if f.opts.HTTPTimeout > 0 {
		var stop context.CancelFunc
		ctx, stop = context.WithTimeoutCause(ctx, f.opts.HTTPTimeout,
			fmt.Errorf("download did not finish within %v", f.opts.HTTPTimeout))
		defer stop()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("User-Agent", "strata-fetcher")
	client := f.opts.HTTPClient
	if client == nil {
		client = defaultClient
	}

	// The stall watchdog cancels the request when no data arrives for
	// StallTimeout, while headers are awaited or while the body is read.
	var watchdog *stallWatchdog
	if f.opts.StallTimeout > 0 {
		watchdog = newStallWatchdog(f.opts.StallTimeout, func() {
			cancel(fmt.Errorf("download stalled: nothing received for %v", f.opts.StallTimeout))
		})
		defer watchdog.stop()
	}

	resp, err := client.Do(req)
	if err != nil {
		return downloadError(ctx, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("HTTP %s", resp.Status)
	}
	limit := f.opts.MaxDownloadBytes
	if limit >= 0 && resp.ContentLength > limit {
		return fmt.Errorf("size of %d bytes is over the maximum download size of %d bytes", resp.ContentLength, limit)
	}
	f.logf("Downloading resource from '%s' to '%s'", u.Redacted(), f.hostPath(name))
	body := io.Reader(resp.Body)
	if watchdog != nil {
		body = watchdog.reader(resp.Body)
	}
	n, err := f.writeFile(name, body, 0o644, limit)
	if err != nil {
		return downloadError(ctx, err)
	}
	if resp.ContentLength >= 0 && n != resp.ContentLength {
		return fmt.Errorf("received %d of %d bytes", n, resp.ContentLength)
	}
	return nil
}

// downloadError prefers the cause of a cancelled download (timeout, stall)
// over the transport's generic "context canceled".
func downloadError(ctx context.Context, err error) error {
	if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
		return cause
	}
	return err
}

// copyLocal copies the local file src into the sandbox file name.
func (f *fetch) copyLocal(src, name string) error {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("open local file: %w", err)
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return fmt.Errorf("stat local file: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", src)
	}
	limit := f.opts.MaxDownloadBytes
	if limit >= 0 && fi.Size() > limit {
		return fmt.Errorf("size of %d bytes is over the maximum download size of %d bytes", fi.Size(), limit)
	}
	perm := fi.Mode().Perm()
	if perm&0o400 == 0 {
		perm |= 0o600
	}
	if _, err := f.writeFile(name, in, perm, limit); err != nil {
		return fmt.Errorf("copy %s: %w", src, err)
	}
	return nil
}

// stallWatchdog calls fire when kick has not been called for timeout.
type stallWatchdog struct {
	mu      sync.Mutex
	timer   *time.Timer
	timeout time.Duration
}

func newStallWatchdog(timeout time.Duration, fire func()) *stallWatchdog {
	return &stallWatchdog{timer: time.AfterFunc(timeout, fire), timeout: timeout}
}

func (w *stallWatchdog) kick() {
	w.mu.Lock()
	w.timer.Reset(w.timeout)
	w.mu.Unlock()
}

func (w *stallWatchdog) stop() {
	w.mu.Lock()
	w.timer.Stop()
	w.mu.Unlock()
}

func (w *stallWatchdog) reader(r io.Reader) io.Reader { return &kickReader{r: r, w: w} }

type kickReader struct {
	r io.Reader
	w *stallWatchdog
}

func (k *kickReader) Read(p []byte) (int, error) {
	n, err := k.r.Read(p)
	if n > 0 {
		k.w.kick()
	}
	return n, err
}
