package apps_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// sseEvent is one frame of /v2/events.
type sseEvent struct {
	id   uint64
	typ  string
	data map[string]any
}

// sseClient reads /v2/events the way EventSource does: id, event and data lines, frames ended
// by a blank line, comments ignored.
type sseClient struct {
	cancel context.CancelFunc
	frames chan sseEvent
	done   chan struct{}
}

// openEvents connects to the stream; lastID, when not empty, is sent as Last-Event-ID.
func openEvents(t *testing.T, s *service, query, lastID string) *sseClient {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, "GET", s.url+"/v2/events"+query, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Cache-Control", "no-cache")
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatalf("GET /v2/events%s: %v", query, err)
	}
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		cancel()
		resp.Body.Close()
		t.Fatalf("GET /v2/events%s: %d %s", query, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	c := &sseClient{cancel: cancel, frames: make(chan sseEvent, 1024), done: make(chan struct{})}
	go func() {
		defer close(c.done)
		defer close(c.frames)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		var ev sseEvent
		var data strings.Builder
		for sc.Scan() {
			line := sc.Text()
			field, value, _ := strings.Cut(line, ":")
			value = strings.TrimPrefix(value, " ")
			switch {
			case line == "":
				if data.Len() > 0 {
					if err := json.Unmarshal([]byte(data.String()), &ev.data); err != nil {
						t.Errorf("event %d: data is not JSON: %v", ev.id, err)
					}
					c.frames <- ev
				}
				ev, data = sseEvent{}, strings.Builder{}
			case field == "":
				// a comment (": ping")
			case field == "id":
				ev.id, _ = strconv.ParseUint(value, 10, 64)
			case field == "event":
				ev.typ = value
			case field == "data":
				if data.Len() > 0 {
					data.WriteByte('\n')
				}
				data.WriteString(value)
			}
		}
	}()
	t.Cleanup(c.close)
	return c
}

func (c *sseClient) close() {
	c.cancel()
	<-c.done
}

// next returns the next event, failing the test after within.
func (c *sseClient) next(t *testing.T, within time.Duration) sseEvent {
	t.Helper()
	select {
	case ev, ok := <-c.frames:
		if !ok {
			t.Fatal("the event stream ended")
		}
		return ev
	case <-time.After(within):
		t.Fatalf("no event within %s", within)
	}
	return sseEvent{}
}

// until reads events until match returns true and returns them all, the matching one last.
func (c *sseClient) until(t *testing.T, within time.Duration, what string, match func(sseEvent) bool) []sseEvent {
	t.Helper()
	deadline := time.Now().Add(within)
	var seen []sseEvent
	for {
		left := time.Until(deadline)
		if left <= 0 {
			t.Fatalf("no %s within %s; saw %s", what, within, types(seen))
		}
		ev := c.next(t, left)
		seen = append(seen, ev)
		if match(ev) {
			return seen
		}
	}
}

func types(evs []sseEvent) string {
	var out []string
	for _, ev := range evs {
		out = append(out, strconv.FormatUint(ev.id, 10)+":"+ev.typ)
	}
	return strings.Join(out, " ")
}

func str(m map[string]any, keys ...string) string {
	var v any = m
	for _, k := range keys {
		o, _ := v.(map[string]any)
		v = o[k]
	}
	s, _ := v.(string)
	return s
}

// TestEventStream: deploying an app over the API shows on /v2/events as api_post_event, then
// status_update_event TASK_RUNNING, then deployment_success; event_type filters; a client that
// reconnects with Last-Event-ID gets exactly what it missed; and event ids keep increasing
// across a restart of the service.
func TestEventStream(t *testing.T) {
	master := startCluster(t)
	dir := t.TempDir()
	s := startService(t, master, dir)

	if r := do(t, "GET", s.url+"/v2/events", ""); r.code != 406 || !strings.Contains(r.body, "text/event-stream") {
		t.Errorf("GET /v2/events without Accept: %d %s", r.code, r.body)
	}
	all := openEvents(t, s, "", "")
	attached := all.next(t, 5*time.Second)
	if attached.typ != "event_stream_attached" || attached.data["remoteAddress"] != "127.0.0.1" {
		t.Fatalf("first event %+v", attached)
	}
	onlyDone := openEvents(t, s, "?event_type=deployment_success", "")
	if r := do(t, "GET", s.url+"/metrics", ""); !strings.Contains(r.body, "strata_apps_events_subscribers 2") {
		t.Errorf("/metrics lacks the event bus's subscribers gauge: %.300s", r.body)
	}

	r := do(t, "POST", s.url+"/v2/apps", `{"id":"/ev/app","cmd":"sleep 1000","cpus":0.05,"mem":16}`)
	if r.code != 201 {
		t.Fatalf("POST: %d %s", r.code, r.body)
	}
	dep := r.header.Get("Marathon-Deployment-Id")
	isDone := func(ev sseEvent) bool { return ev.typ == "deployment_success" && ev.data["id"] == dep }
	seen := all.until(t, 30*time.Second, "deployment_success", isDone)
	t.Logf("deploying: %s", types(seen))
	post, running, done := -1, -1, len(seen)-1
	last := attached.id
	for k, ev := range seen {
		if ev.id <= last {
			t.Errorf("event ids not increasing: %s", types(seen))
		}
		last = ev.id
		if ev.data["eventType"] != ev.typ || str(ev.data, "timestamp") == "" {
			t.Errorf("event %d: data %v", ev.id, ev.data)
		}
		switch {
		case ev.typ == "api_post_event" && str(ev.data, "appDefinition", "id") == "/ev/app":
			if ev.data["uri"] != "/v2/apps" || ev.data["clientIp"] != "127.0.0.1" || post >= 0 {
				t.Errorf("api_post_event %v", ev.data)
			}
			post = k
		case ev.typ == "status_update_event" && ev.data["taskStatus"] == "TASK_RUNNING" && ev.data["appId"] == "/ev/app":
			if str(ev.data, "taskId") == "" || ev.data["host"] != "127.0.0.1" || str(ev.data, "slaveId") == "" {
				t.Errorf("status_update_event %v", ev.data)
			}
			running = k
		}
	}
	if post < 0 || running < post || done < running {
		t.Fatalf("want api_post_event, status_update_event TASK_RUNNING, deployment_success in order; got %s", types(seen))
	}
	for _, want := range []string{"group_change_success", "deployment_info", "deployment_step_success", "instance_changed_event"} {
		if !strings.Contains(types(seen), ":"+want) {
			t.Errorf("no %s in %s", want, types(seen))
		}
	}
	if plan, _ := seen[done].data["plan"].(map[string]any); plan["id"] != dep || len(plan["steps"].([]any)) != 2 {
		t.Errorf("deployment_success plan %v", seen[done].data["plan"])
	}

	// The filtered stream got that deployment_success and nothing else.
	if got := onlyDone.until(t, 10*time.Second, "deployment_success", isDone); len(got) != 1 || got[0].id != seen[done].id {
		t.Errorf("filtered stream: %s", types(got))
	}

	// Disconnect after the api_post_event, scale meanwhile, reconnect with Last-Event-ID.
	resumeAt := seen[post].id
	all.close()
	r = do(t, "PUT", s.url+"/v2/apps/ev/app", `{"instances":2}`)
	if r.code != 200 {
		t.Fatalf("PUT: %d %s", r.code, r.body)
	}
	scaled := r.header.Get("Marathon-Deployment-Id")
	waitRunning(t, s, "/ev/app", 2)
	again := openEvents(t, s, "", strconv.FormatUint(resumeAt, 10))
	resumed := again.until(t, 10*time.Second, "the scale's deployment_success", func(ev sseEvent) bool {
		return ev.typ == "deployment_success" && ev.data["id"] == scaled
	})
	if resumed[0].id != resumeAt+1 {
		t.Errorf("resumed at %d after %d: %s", resumed[0].id, resumeAt, types(resumed))
	}
	for k, ev := range resumed {
		if k > 0 && ev.id != resumed[k-1].id+1 {
			t.Errorf("resumed stream skips or repeats ids: %s", types(resumed))
		}
		if k < done-post && ev.id != seen[post+1+k].id {
			t.Errorf("resumed event %d is %d:%s, want %d:%s", k, ev.id, ev.typ, seen[post+1+k].id, seen[post+1+k].typ)
		}
	}
	if !strings.Contains(types(resumed), ":api_post_event") {
		t.Errorf("the scale's api_post_event missing after the resume: %s", types(resumed))
	}
	t.Logf("resumed: %s", types(resumed))
	highest := resumed[len(resumed)-1].id
	again.close()

	// A restarted service continues the numbering; an id from before it is reported as a gap.
	s.stop(t)
	s2 := startService(t, master, dir)
	after := openEvents(t, s2, "", strconv.FormatUint(resumeAt, 10))
	gap := after.next(t, 5*time.Second)
	if gap.typ != "event_stream_gap" || gap.data["reason"] != "evicted" || gap.data["lastEventId"] != strconv.FormatUint(resumeAt, 10) {
		t.Fatalf("first event after the restart: %+v", gap)
	}
	if first := after.next(t, 5*time.Second); first.typ != "event_stream_attached" || first.id <= highest {
		t.Fatalf("first event of the restarted service %d:%s, want an id above %d", first.id, first.typ, highest)
	}
}

// TestHealthEvents: a task whose health check passes once, then fails, shows on /v2/events as
// health_status_changed_event and instance_health_changed_event (alive, then not), then
// unhealthy_task_kill_event when the service kills it, and it is replaced.
func TestHealthEvents(t *testing.T) {
	master := startCluster(t)
	s := startService(t, master, t.TempDir())
	stream := openEvents(t, s, "?event_type=health_status_changed_event,instance_health_changed_event,unhealthy_task_kill_event,unhealthy_instance_kill_event", "")
	r := do(t, "POST", s.url+"/v2/apps", `{"id":"/flaky","cmd":"sleep 1000","cpus":0.05,"mem":16,
		"healthChecks":[{"protocol":"COMMAND","command":{"value":"test ! -f checked && touch checked"},"gracePeriodSeconds":0,"intervalSeconds":1,
		"timeoutSeconds":1,"delaySeconds":0,"maxConsecutiveFailures":1}]}`)
	if r.code != 201 {
		t.Fatalf("POST: %d %s", r.code, r.body)
	}
	seen := stream.until(t, 60*time.Second, "unhealthy_task_kill_event", func(ev sseEvent) bool { return ev.typ == "unhealthy_task_kill_event" })
	t.Logf("health events: %s", types(seen))
	kill := seen[len(seen)-1]
	task := str(kill.data, "taskId")
	if kill.data["appId"] != "/flaky" || task == "" || !strings.HasPrefix(str(kill.data, "reason"), "health check failed") {
		t.Fatalf("unhealthy_task_kill_event %v", kill.data)
	}
	var alive []any
	for _, ev := range seen {
		switch ev.typ {
		case "health_status_changed_event":
			if ev.data["taskId"] == task {
				alive = append(alive, ev.data["alive"])
			}
		case "instance_health_changed_event":
			if ev.data["instanceId"] == task && ev.data["runSpecId"] != "/flaky" {
				t.Errorf("instance_health_changed_event %v", ev.data)
			}
		}
	}
	if len(alive) != 2 || alive[0] != true || alive[1] != false {
		t.Errorf("health_status_changed_event alive %v for %s, want [true false]", alive, task)
	}
	if ev := stream.next(t, 5*time.Second); ev.typ != "unhealthy_instance_kill_event" || ev.data["instanceId"] != task {
		t.Errorf("after unhealthy_task_kill_event: %d:%s %v", ev.id, ev.typ, ev.data)
	}
	eventually(t, 30*time.Second, "a replacement", func() bool {
		a, _ := getApp(t, s, "/flaky")
		return a.TasksRunning == 1 && len(a.Tasks) == 1 && a.Tasks[0].ID != task
	})
}
