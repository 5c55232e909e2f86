package events

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
)

const hour = time.Hour

func TestStreamWireFormat(t *testing.T) {
	tb := newTestBus(t, Options{Now: func() time.Time { return fixedNow }})
	srv := tb.server(t, HandlerOptions{KeepAlive: hour})
	s := openStream(t, srv, "/v2/events", nil)

	if got := s.resp.Header.Get("Content-Type"); got != "text/event-stream;charset=utf-8" {
		t.Errorf("Content-Type %q", got)
	}
	if got := s.resp.Header.Get("Cache-Control"); got != "no-cache, no-store, must-revalidate" {
		t.Errorf("Cache-Control %q", got)
	}
	attached := "id: 1\nevent: event_stream_attached\n" +
		`data: {"remoteAddress":"127.0.0.1","eventType":"event_stream_attached","timestamp":"` + fixedStamp + `"}` + "\n\n"
	readExactly(t, s, attached)

	if _, err := tb.Emit(StatusUpdateEvent{SlaveID: "s1", TaskID: "web.1", TaskStatus: "TASK_RUNNING", AppID: "/web",
		Host: "h1", Ports: []int{31000}, Version: "2024-05-06T07:00:00.000Z"}); err != nil {
		t.Fatal(err)
	}
	status := "id: 2\nevent: status_update_event\n" +
		`data: {"slaveId":"s1","taskId":"web.1","taskStatus":"TASK_RUNNING","message":"","appId":"/web","host":"h1",` +
		`"ipAddresses":[],"ports":[31000],"version":"2024-05-06T07:00:00.000Z","eventType":"status_update_event","timestamp":"` +
		fixedStamp + `"}` + "\n\n"
	readExactly(t, s, status)
}

func readExactly(t *testing.T, s *sseStream, want string) {
	t.Helper()
	got := make([]byte, len(want))
	if _, err := io.ReadFull(s.r, got); err != nil {
		t.Fatalf("read %d bytes: %v (got %q)", len(want), err, got)
	}
	if string(got) != want {
		t.Fatalf("stream bytes\n got %q\nwant %q", got, want)
	}
}

func TestStreamNeedsAcceptEventStream(t *testing.T) {
	tests := []struct {
		name   string
		accept []string
	}{
		{"no Accept", nil},
		{"any type", []string{"*/*"}},
		{"JSON", []string{"application/json"}},
		{"refused with q=0", []string{"text/event-stream;q=0"}},
	}
	tb := newTestBus(t, Options{})
	srv := tb.server(t, HandlerOptions{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodGet, srv.URL+"/v2/events", nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header["Accept"] = tt.accept
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusNotAcceptable {
				t.Fatalf("status %d, want 406", resp.StatusCode)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Fatalf("Content-Type %q", ct)
			}
			var body map[string]any
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
				t.Fatal(err)
			}
			if msg, _ := body["message"].(string); !strings.Contains(msg, "text/event-stream") || len(body) != 1 {
				t.Fatalf("body %v, want Marathon's {message}", body)
			}
		})
	}
	if tb.LastID() != 0 || tb.Subscribers() != 0 {
		t.Fatalf("a refused request subscribed (subscribers %d) or published (last id %d)", tb.Subscribers(), tb.LastID())
	}
}

func TestStreamEventTypeFilter(t *testing.T) {
	tb := newTestBus(t, Options{})
	srv := tb.server(t, HandlerOptions{KeepAlive: hour})
	s := openStream(t, srv, "/v2/events?event_type=a&event_type=b,c", nil)
	waitFor(t, "subscription", func() bool { return tb.Subscribers() == 1 })
	for _, typ := range []string{"a", "x", "b", "d", "c", "a"} {
		tb.publish(t, typ, map[string]string{"type": typ})
	}
	for _, want := range []string{"a", "b", "c", "a"} {
		f := s.next(t)
		var body map[string]string
		if err := json.Unmarshal([]byte(f.data), &body); err != nil {
			t.Fatal(err)
		}
		if f.event != want || body["type"] != want || body["eventType"] != want {
			t.Fatalf("frame %+v, want type %s", f, want)
		}
	}
}

// ids reads n event frames and returns their ids.
func ids(t *testing.T, s *sseStream, n int) []string {
	t.Helper()
	var out []string
	for range n {
		f := s.next(t)
		if !f.hasID {
			t.Fatalf("frame without id: %+v", f)
		}
		out = append(out, f.id)
	}
	return out
}

func TestStreamResumesExactly(t *testing.T) {
	tb := newTestBus(t, Options{})
	srv := tb.server(t, HandlerOptions{KeepAlive: hour})

	first := openStream(t, srv, "/v2/events", nil)
	if got := first.next(t); got.id != "1" || got.event != TypeStreamAttached {
		t.Fatalf("first frame %+v", got)
	}
	for i := range 5 {
		tb.publish(t, "tick", map[string]int{"i": i})
	}
	if got := strings.Join(ids(t, first, 5), ","); got != "2,3,4,5,6" {
		t.Fatalf("first stream ids %s", got)
	}
	first.close()
	waitFor(t, "detach of the first stream", func() bool { return tb.Subscribers() == 0 && tb.LastID() == 7 })
	for i := range 3 {
		tb.publish(t, "tick", map[string]int{"i": i})
	}

	// Reconnect after id 6: 7 (the first stream's detach), 8-10, then 11, this stream's attach.
	second := openStream(t, srv, "/v2/events", http.Header{"Last-Event-Id": {"6"}})
	if got := strings.Join(ids(t, second, 5), ","); got != "7,8,9,10,11" {
		t.Fatalf("resumed ids %s, want 7,8,9,10,11", got)
	}
	tb.publish(t, "tick", map[string]int{})
	if got := strings.Join(ids(t, second, 1), ","); got != "12" {
		t.Fatalf("live id after resume %s, want 12", got)
	}

}

func TestStreamResumeParameters(t *testing.T) {
	tests := []struct {
		name   string
		path   string
		header http.Header
		want   string // ids before the live event 12; 11 is the stream's own attach event
	}{
		{"header", "/v2/events", http.Header{"Last-Event-Id": {"6"}}, "7,8,9,10,11"},
		{"query parameter", "/v2/events?lastEventId=9", nil, "10,11"},
		{"header wins over query", "/v2/events?lastEventId=2", http.Header{"Last-Event-Id": {"8"}}, "9,10,11"},
		{"up to date", "/v2/events", http.Header{"Last-Event-Id": {"10"}}, "11"},
		{"no id: live events only", "/v2/events", nil, "11"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tb := newTestBus(t, Options{})
			srv := tb.server(t, HandlerOptions{KeepAlive: hour})
			for i := range 10 {
				tb.publish(t, "tick", map[string]int{"i": i})
			}
			s := openStream(t, srv, tt.path, tt.header)
			n := strings.Count(tt.want, ",") + 1
			if got := strings.Join(ids(t, s, n), ","); got != tt.want {
				t.Fatalf("ids %s, want %s", got, tt.want)
			}
			tb.publish(t, "tick", map[string]int{})
			if got := strings.Join(ids(t, s, 1), ","); got != "12" {
				t.Fatalf("live id %s, want 12", got)
			}
		})
	}
}

func TestStreamGapSignal(t *testing.T) {
	tests := []struct {
		name     string
		lastID   string
		reason   string
		firstIDs string
	}{
		{"older than the ring", "3", GapEvicted, "7,8,9,10,11"},
		{"newer than the bus", "99", GapUnknown, "7,8,9,10,11"},
		{"not a number", "abc", GapInvalid, "7,8,9,10,11"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tb := newTestBus(t, Options{RingSize: 4})
			srv := tb.server(t, HandlerOptions{KeepAlive: hour})
			for i := 1; i <= 10; i++ {
				tb.publish(t, "tick", map[string]int{"i": i})
			}
			s := openStream(t, srv, "/v2/events", http.Header{"Last-Event-Id": {tt.lastID}})
			gap := s.next(t)
			if gap.event != TypeStreamGap || gap.id != "6" {
				t.Fatalf("first frame %+v, want %s with id 6", gap, TypeStreamGap)
			}
			var body StreamGapEvent
			if err := json.Unmarshal([]byte(gap.data), &body); err != nil {
				t.Fatal(err)
			}
			if body != (StreamGapEvent{LastEventID: tt.lastID, FirstAvailableID: 7, Reason: tt.reason}) {
				t.Fatalf("gap %+v", body)
			}
			if got := strings.Join(ids(t, s, 5), ","); got != tt.firstIDs {
				t.Fatalf("ids after the gap %s, want %s", got, tt.firstIDs)
			}
		})
	}
}

func TestStreamAttachDetachEvents(t *testing.T) {
	tb := newTestBus(t, Options{})
	srv := tb.server(t, HandlerOptions{KeepAlive: hour})
	watcher := openStream(t, srv, "/v2/events?event_type=event_stream_attached,event_stream_detached", nil)
	watcher.nextOfType(t, TypeStreamAttached) // its own

	client := openStream(t, srv, "/v2/events", nil)
	client.nextOfType(t, TypeStreamAttached)
	client.close()

	for _, typ := range []string{TypeStreamAttached, TypeStreamDetached} {
		f := watcher.next(t)
		var body map[string]string
		if err := json.Unmarshal([]byte(f.data), &body); err != nil {
			t.Fatal(err)
		}
		if f.event != typ || body["remoteAddress"] != "127.0.0.1" {
			t.Fatalf("frame %+v, want %s from 127.0.0.1", f, typ)
		}
	}
	waitFor(t, "the closed client's subscription to end", func() bool { return tb.Subscribers() == 1 })
}

func TestStreamKeepAlive(t *testing.T) {
	tb := newTestBus(t, Options{})
	srv := tb.server(t, HandlerOptions{KeepAlive: 20 * time.Millisecond})
	s := openStream(t, srv, "/v2/events?event_type=none", nil)
	readExactly(t, s, ": ping\n\n: ping\n\n")
}

func TestStreamOutlivesServerWriteTimeout(t *testing.T) {
	tb := newTestBus(t, Options{})
	r := gin.New()
	r.GET("/v2/events", tb.Handler(HandlerOptions{KeepAlive: hour}))
	srv := httptest.NewUnstartedServer(r)
	srv.Config.WriteTimeout = 100 * time.Millisecond
	srv.Start()
	t.Cleanup(srv.Close)
	t.Cleanup(tb.Close)

	s := openStream(t, srv, "/v2/events?event_type=late", nil)
	waitFor(t, "subscription", func() bool { return tb.Subscribers() == 1 })
	time.Sleep(300 * time.Millisecond)
	tb.publish(t, "late", map[string]int{})
	if f := s.next(t); f.event != "late" {
		t.Fatalf("frame %+v", f)
	}
}

func TestStreamSlowConsumerIsDisconnected(t *testing.T) {
	tb := newTestBus(t, Options{QueueSize: 8})
	srv := tb.server(t, HandlerOptions{KeepAlive: hour})
	detached, err := tb.Subscribe(SubscribeOptions{Types: []string{TypeStreamDetached}})
	if err != nil {
		t.Fatal(err)
	}

	// A client that sends its request and never reads.
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := fmt.Fprintf(conn, "GET /v2/events?event_type=big HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the stuck client's subscription", func() bool { return tb.Subscribers() == 2 })

	// A client that reads everything, paced so that its own queue never fills.
	reader := openStream(t, srv, "/v2/events?event_type=big", nil)
	waitFor(t, "the reader's subscription", func() bool { return tb.Subscribers() == 3 })
	received := make(chan string, 1)
	go func() {
		for {
			f, err := reader.nextFrame()
			if err != nil {
				close(received)
				return
			}
			received <- f.id
		}
	}()

	payload := map[string]string{"pad": strings.Repeat("x", 64<<10)}
	published := 0
	for tb.metric(t, "strata_apps_events_subscribers_dropped_total", "") == 0 {
		if published == 5000 {
			t.Fatal("the stuck client was never disconnected")
		}
		id := tb.publish(t, "big", payload)
		published++
		select {
		case got, ok := <-received:
			if !ok || got != fmt.Sprint(id) {
				t.Fatalf("reader got id %q (open %t), want %d", got, ok, id)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("reader did not get event %d: the stuck client blocks the others", id)
		}
	}
	// Its handler returns (and announces the detach) although the client still does not read.
	if ev := collect(t, detached, 1)[0]; !strings.Contains(string(ev.Data), `"remoteAddress":"127.0.0.1"`) {
		t.Fatalf("detach event %s", ev.Data)
	}
	if tb.Subscribers() != 2 {
		t.Fatalf("%d subscribers, want the reader and the detach watcher", tb.Subscribers())
	}
	if logs := tb.logs.String(); !strings.Contains(logs, "slow subscriber disconnected") {
		t.Fatalf("no log of the disconnection:\n%s", logs)
	}
	// The reader goes on.
	id := tb.publish(t, "big", map[string]string{})
	if got := <-received; got != fmt.Sprint(id) {
		t.Fatalf("reader got %s, want %d", got, id)
	}
	// The stuck client's connection was cut: reading it to the end terminates.
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.Copy(io.Discard, bufio.NewReader(conn)); err != nil {
		t.Fatalf("stuck client's connection did not end: %v", err)
	}
}

func TestStreamShutdown(t *testing.T) {
	tb := newTestBus(t, Options{})
	srv := tb.server(t, HandlerOptions{KeepAlive: hour})
	a := openStream(t, srv, "/v2/events", nil)
	b := openStream(t, srv, "/v2/events", nil)
	a.nextOfType(t, TypeStreamAttached)
	b.nextOfType(t, TypeStreamAttached)

	tb.Close()
	for name, s := range map[string]*sseStream{"a": a, "b": b} {
		if err := s.drainUntilEnd(); err != io.EOF {
			t.Fatalf("stream %s ended with %v, want a clean end", name, err)
		}
	}
	waitFor(t, "subscriptions to end", func() bool { return tb.Subscribers() == 0 })

	_, status := tryOpenStream(t, srv, "/v2/events", nil)
	if status != http.StatusServiceUnavailable {
		t.Fatalf("after Close: status %d, want 503", status)
	}
}
