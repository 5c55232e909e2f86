package health

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"

	"strata/kernel/executor/proc"
)

// host is where HTTP and TCP checks connect. Mesos uses 127.0.0.1 rather
// than localhost because some container images have no localhost entry.
const host = "127.0.0.1"

// maxBody bounds how much of an HTTP check's response body is read.
const maxBody = 64 << 10

// probe runs one check and returns nil when it passed.
func (c *Checker) probe(ctx context.Context) error {
	if c.check.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.check.Timeout)
		defer cancel()
	}
	switch c.check.Type {
	case Command:
		return c.probeCommand(ctx)
	case HTTP:
		return c.probeHTTP(ctx)
	case TCP:
		return c.probeTCP(ctx)
	}
	return fmt.Errorf("unknown check type %v", c.check.Type)
}

func (c *Checker) timedOut(ctx context.Context, what string) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("%s has not returned after %v; aborting", what, c.check.Timeout)
	}
	return ctx.Err()
}

func (c *Checker) probeCommand(ctx context.Context) error {
	if c.check.Runner != nil {
		return c.probeRunner(ctx)
	}
	spec := proc.Spec{
		Shell:   c.check.Shell,
		Command: c.check.Command,
		Args:    c.check.Args,
		Env:     append(os.Environ(), c.check.Env...),
		Dir:     c.check.Dir,
		Stdout:  c.check.Output,
		Stderr:  c.check.Output,
	}
	p, err := proc.Start(spec)
	if err != nil {
		return fmt.Errorf("failed to launch command: %w", err)
	}
	select {
	case <-p.Done():
	case <-ctx.Done():
		_ = p.Kill(0)
		_, _ = p.Wait()
		return c.timedOut(ctx, "command")
	}
	st, err := p.Wait()
	if err != nil {
		return err
	}
	if !st.Success() {
		return fmt.Errorf("command %v", st)
	}
	return nil
}

// probeRunner runs the command through the check's Runner.
func (c *Checker) probeRunner(ctx context.Context) error {
	argv := []string{"/bin/sh", "-c", c.check.Command}
	if !c.check.Shell {
		argv = []string{c.check.Command}
		if len(c.check.Args) > 1 {
			argv = append(argv, c.check.Args[1:]...)
		}
	}
	code, err := c.check.Runner.RunCommand(ctx, argv, c.check.Env, c.check.Output)
	if err != nil {
		if ctx.Err() != nil {
			return c.timedOut(ctx, "command")
		}
		return fmt.Errorf("failed to run command: %w", err)
	}
	if code != 0 {
		return fmt.Errorf("command exited with status %d", code)
	}
	return nil
}

// target is the host:port HTTP and TCP checks connect to.
func (c *Checker) target() string {
	h := c.check.Host
	if h == "" {
		h = host
	}
	return net.JoinHostPort(h, strconv.FormatUint(uint64(c.check.Port), 10))
}

func newHTTPClient() *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			// Never go through a proxy from the environment; each check opens a
			// fresh connection, as curl does for Mesos.
			Proxy:             nil,
			DisableKeepAlives: true,
			DialContext:       (&net.Dialer{}).DialContext,
			// Like curl -k: certificates of the task are not verified.
			TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // Mesos semantics
		},
	}
}

func (c *Checker) probeHTTP(ctx context.Context) error {
	url := c.check.HTTPScheme + "://" + c.target() + c.check.HTTPPath
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("bad request for %s: %w", url, err)
	}
	req.Header.Set("User-Agent", "strata-health-check")
	resp, err := c.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return c.timedOut(ctx, "HTTP request to "+url)
		}
		return fmt.Errorf("GET %s: %w", url, err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxBody))
	resp.Body.Close()
	if !c.statusHealthy(resp.StatusCode) {
		return fmt.Errorf("unexpected HTTP response code %s", httpStatus(resp))
	}
	return nil
}

func (c *Checker) statusHealthy(code int) bool {
	if len(c.check.Statuses) == 0 {
		return code >= 200 && code < 400
	}
	return code >= 0 && slices.Contains(c.check.Statuses, uint32(code))
}

func httpStatus(resp *http.Response) string {
	if resp.Status != "" {
		return resp.Status
	}
	return strconv.Itoa(resp.StatusCode) + " " + http.StatusText(resp.StatusCode)
}

func (c *Checker) probeTCP(ctx context.Context) error {
	addr := c.target()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		if ctx.Err() != nil {
			return c.timedOut(ctx, "connection to "+addr)
		}
		return fmt.Errorf("connect to %s: %w", addr, err)
	}
	conn.Close()
	return nil
}
