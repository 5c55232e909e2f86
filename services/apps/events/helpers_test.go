package events

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

func TestMain(m *testing.M) {
	gin.SetMode(gin.TestMode)
	os.Exit(m.Run())
}

// fixedNow is the clock of tests that compare exact bytes.
var fixedNow = time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.UTC)

const fixedStamp = "2024-05-06T07:08:09.123Z"

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type testBus struct {
	*Bus
	reg  *prometheus.Registry
	logs *syncBuffer
}

func newTestBus(t testing.TB, opts Options) *testBus {
	t.Helper()
	tb := &testBus{reg: prometheus.NewRegistry(), logs: &syncBuffer{}}
	opts.Registerer = tb.reg
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(tb.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	b, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	tb.Bus = b
	t.Cleanup(b.Close)
	return tb
}

// metric returns the value of a counter or gauge of the bus, with the given label value if any.
func (tb *testBus) metric(t testing.TB, name, labelValue string) float64 {
	t.Helper()
	families, err := tb.reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			if labelValue != "" && !hasLabelValue(m, labelValue) {
				continue
			}
			switch {
			case m.Counter != nil:
				return m.Counter.GetValue()
			case m.Gauge != nil:
				return m.Gauge.GetValue()
			}
		}
	}
	return 0
}

func hasLabelValue(m *dto.Metric, v string) bool {
	for _, l := range m.GetLabel() {
		if l.GetValue() == v {
			return true
		}
	}
	return false
}

// publish publishes or fails the test.
func (tb *testBus) publish(t testing.TB, eventType string, payload any) uint64 {
	t.Helper()
	id, err := tb.Publish(eventType, payload)
	if err != nil {
		t.Fatalf("Publish(%s): %v", eventType, err)
	}
	return id
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// collect reads n events from sub.
func collect(t testing.TB, sub *Subscription, n int) []*Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out := make([]*Event, 0, n)
	for len(out) < n {
		ev, err := sub.Next(ctx)
		if err != nil {
			t.Fatalf("Next after %d of %d events: %v", len(out), n, err)
		}
		out = append(out, ev)
	}
	return out
}

// server runs the handler on a real HTTP server.
func (tb *testBus) server(t testing.TB, opts HandlerOptions) *httptest.Server {
	t.Helper()
	r := gin.New()
	r.GET("/v2/events", tb.Handler(opts))
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	t.Cleanup(tb.Close) // runs before srv.Close: streams end, so the server can close
	return srv
}

// frame is one parsed SSE frame.
type frame struct {
	id       string
	hasID    bool
	event    string
	data     string
	comments []string
}

// sseStream reads SSE frames from a response, parsing as the HTML standard says.
type sseStream struct {
	resp   *http.Response
	r      *bufio.Reader
	cancel context.CancelFunc
}

// openStream connects to path with Accept: text/event-stream and the given extra headers.
func openStream(t testing.TB, srv *httptest.Server, path string, header http.Header) *sseStream {
	t.Helper()
	s, status := tryOpenStream(t, srv, path, header)
	if status != http.StatusOK {
		t.Fatalf("GET %s: status %d", path, status)
	}
	return s
}

func tryOpenStream(t testing.TB, srv *httptest.Server, path string, header http.Header) (*sseStream, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+path, nil)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Cache-Control", "no-cache")
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		cancel()
		t.Fatalf("GET %s: %v", path, err)
	}
	s := &sseStream{resp: resp, r: bufio.NewReader(resp.Body), cancel: cancel}
	t.Cleanup(s.close)
	return s, resp.StatusCode
}

func (s *sseStream) close() {
	s.cancel()
	_ = s.resp.Body.Close()
}

// nextFrame returns the next frame, comment-only frames included.
func (s *sseStream) nextFrame() (frame, error) {
	var f frame
	var data []string
	seen := false
	for {
		line, err := s.r.ReadString('\n')
		if err != nil {
			return f, err
		}
		line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
		if line == "" {
			if seen {
				f.data = strings.Join(data, "\n")
				return f, nil
			}
			continue
		}
		seen = true
		if strings.HasPrefix(line, ":") {
			f.comments = append(f.comments, strings.TrimPrefix(line[1:], " "))
			continue
		}
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "id":
			f.id, f.hasID = value, true
		case "event":
			f.event = value
		case "data":
			data = append(data, value)
		}
	}
}

// next returns the next frame that is an event (not only comments).
func (s *sseStream) next(t testing.TB) frame {
	t.Helper()
	for {
		f, err := s.nextFrame()
		if err != nil {
			t.Fatalf("read SSE frame: %v", err)
		}
		if f.event != "" || f.data != "" || f.hasID {
			return f
		}
	}
}

// nextOfType skips frames until one of the given type.
func (s *sseStream) nextOfType(t testing.TB, eventType string) frame {
	t.Helper()
	for {
		if f := s.next(t); f.event == eventType {
			return f
		}
	}
}

// drainUntilEnd reads until the stream ends and returns the read error (io.EOF for a clean end).
func (s *sseStream) drainUntilEnd() error {
	_, err := io.Copy(io.Discard, s.r)
	if err == nil {
		return io.EOF
	}
	return err
}
