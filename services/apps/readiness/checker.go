package readiness

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"slices"
	"sort"
	"sync"
	"time"
)

// MaxBody bounds how much of a response is read and kept.
const MaxBody = 64 << 10

// HTTPResponse is the last response of a check (Marathon's HttpResponse).
type HTTPResponse struct {
	Status      int    `json:"status"`
	ContentType string `json:"contentType"`
	Body        string `json:"body"`
}

// Result is where one check of one task stands (Marathon's TaskReadinessCheckResult).
// LastResponse is set only for a check with preserveLastResponse, once it has one.
type Result struct {
	Name         string        `json:"name"`
	TaskID       string        `json:"taskId"`
	Ready        bool          `json:"ready"`
	LastResponse *HTTPResponse `json:"lastResponse,omitempty"`
}

// Options configures a Checker.
type Options struct {
	// Client makes the GETs (default: one that neither follows redirects nor verifies
	// certificates). Each GET gets the check's timeout through its context.
	Client *http.Client
	// OnResult is called, without locks held, after every check result. It must not block.
	OnResult func()
	Logger   *slog.Logger
}

type key struct{ taskID, name string }

// check is one running (or finished) check.
type check struct {
	spec   Spec
	result Result
	cancel context.CancelFunc
}

// Checker runs readiness checks. Its methods may be called concurrently.
type Checker struct {
	opts Options
	log  *slog.Logger

	mu     sync.Mutex
	checks map[key]*check
	wg     sync.WaitGroup
}

// New returns a Checker.
func New(opts Options) *Checker {
	if opts.Client == nil {
		opts.Client = &http.Client{
			Transport: &http.Transport{
				TLSClientConfig:   &tls.Config{InsecureSkipVerify: true}, // as Marathon, which does not verify tasks' certificates
				DisableKeepAlives: true,
			},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	if opts.OnResult == nil {
		opts.OnResult = func() {}
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Checker{opts: opts, log: opts.Logger.With("component", "apps-readiness"), checks: map[key]*check{}}
}

// Ensure starts every check in specs that is not running or finished already. A check whose
// spec changed (the task's address) starts over.
func (c *Checker) Ensure(specs []Spec) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range specs {
		k := key{s.TaskID, s.Name}
		if cur := c.checks[k]; cur != nil {
			if cur.spec.URL == s.URL {
				continue
			}
			cur.cancel()
		}
		ctx, cancel := context.WithCancel(context.Background())
		ch := &check{spec: s, result: Result{Name: s.Name, TaskID: s.TaskID}, cancel: cancel}
		c.checks[k] = ch
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			c.run(ctx, k, ch)
		}()
	}
}

// Ready reports whether the task has checks and all of them are ready.
func (c *Checker) Ready(taskID string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for k, ch := range c.checks {
		if k.taskID != taskID {
			continue
		}
		if !ch.result.Ready {
			return false
		}
		n++
	}
	return n > 0
}

// Results returns the results of the checks of the app's tasks, by task id and name.
func (c *Checker) Results(appID string) []Result {
	c.mu.Lock()
	out := []Result{}
	for _, ch := range c.checks {
		if ch.spec.AppID == appID {
			r := ch.result
			if r.LastResponse != nil {
				lr := *r.LastResponse
				r.LastResponse = &lr
			}
			out = append(out, r)
		}
	}
	c.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if out[i].TaskID != out[j].TaskID {
			return out[i].TaskID < out[j].TaskID
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// Retain stops and forgets the checks of every task not in keep (nil: all of them).
func (c *Checker) Retain(keep map[string]bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, ch := range c.checks {
		if !keep[k.taskID] {
			ch.cancel()
			delete(c.checks, k)
		}
	}
}

// Close stops every check and waits for them to end.
func (c *Checker) Close() {
	c.Retain(nil)
	c.wg.Wait()
}

// run checks until ready or canceled.
func (c *Checker) run(ctx context.Context, k key, ch *check) {
	for {
		r := c.probe(ctx, ch.spec)
		if ctx.Err() != nil {
			return
		}
		c.mu.Lock()
		if c.checks[k] != ch { // forgotten or replaced meanwhile
			c.mu.Unlock()
			return
		}
		was := ch.result.Ready
		ch.result = r
		c.mu.Unlock()
		if r.Ready && !was {
			c.log.Info("task ready", "app", ch.spec.AppID, "task", ch.spec.TaskID, "check", ch.spec.Name, "url", ch.spec.URL)
		}
		c.opts.OnResult()
		if r.Ready {
			return
		}
		t := time.NewTimer(ch.spec.Interval)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// probe makes one GET of the check's URL.
func (c *Checker) probe(ctx context.Context, s Spec) Result {
	r := Result{Name: s.Name, TaskID: s.TaskID}
	resp := c.get(ctx, s)
	r.Ready = slices.Contains(s.StatusCodes, resp.Status)
	if s.PreserveLastResponse {
		r.LastResponse = &resp
	}
	return r
}

func (c *Checker) get(ctx context.Context, s Spec) HTTPResponse {
	if s.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.Timeout)
		defer cancel()
	}
	failed := func(err error) HTTPResponse {
		return HTTPResponse{Status: http.StatusGatewayTimeout, ContentType: "text/plain",
			Body: fmt.Sprintf("could not query %s: %v", s.URL, err)}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL, nil)
	if err != nil {
		return failed(err)
	}
	resp, err := c.opts.Client.Do(req)
	if err != nil {
		return failed(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxBody))
	if err != nil {
		return failed(err)
	}
	ct := resp.Header.Get("Content-Type")
	if mt, _, err := mime.ParseMediaType(ct); err == nil {
		ct = mt
	}
	return HTTPResponse{Status: resp.StatusCode, ContentType: ct, Body: string(body)}
}
