package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestDevQueueAndEvents runs `strata dev` and checks what a user waiting on an app sees: the
// /v2/events stream delivers status_update_event and deployment_success for a deployment, and
// /v2/queue names the constraint that keeps an app from being placed.
func TestDevQueueAndEvents(t *testing.T) {
	bb := busybox(t)
	mp, ap, pp := freePort(t), freePort(t), freePort(t)
	start(t, "dev", "--jobs=false", "--work-dir", t.TempDir(), "--master-port", fmt.Sprint(mp), "--agent-port", fmt.Sprint(ap),
		"--apps-port", fmt.Sprint(pp))
	base := fmt.Sprintf("http://127.0.0.1:%d", pp)
	eventually(t, 30*time.Second, "the apps service", func() bool {
		code, _ := request("GET", base+"/ping", "")
		return code == 200
	})

	// An SSE client, as clients read the stream: dispatch on data.eventType.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", base+"/v2/events?event_type=status_update_event&event_type=deployment_success", nil)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /v2/events: %v %v", resp, err)
	}
	defer resp.Body.Close()
	got := make(chan map[string]any, 100)
	go func() {
		defer close(got)
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				var ev map[string]any
				if json.Unmarshal([]byte(data), &ev) == nil {
					got <- ev
				}
			}
		}
	}()

	dep := mustRequest(t, "POST", base+"/v2/apps", webApp(bb, "/seen", 1, 0), 201)["deployments"].([]any)[0].(map[string]any)["id"]
	running := false
	deadline := time.After(60 * time.Second)
	for done := false; !done; {
		select {
		case ev, ok := <-got:
			if !ok {
				t.Fatal("the event stream ended")
			}
			switch ev["eventType"] {
			case "status_update_event":
				running = running || (ev["appId"] == "/seen" && ev["taskStatus"] == "TASK_RUNNING")
			case "deployment_success":
				done = ev["id"] == dep
			default:
				t.Errorf("event_type filter let through %v", ev["eventType"])
			}
		case <-deadline:
			t.Fatal("no deployment_success within 60s")
		}
	}
	if !running {
		t.Error("deployment_success before the task's status_update_event TASK_RUNNING")
	}

	mustRequest(t, "POST", base+"/v2/apps", `{"id":"/pinned","cmd":"sleep 1000","cpus":0.05,"mem":16,
		"constraints":[["hostname","CLUSTER","elsewhere.example"]]}`, 201)
	eventually(t, 30*time.Second, "/v2/queue to name the constraint", func() bool {
		code, body := request("GET", base+"/v2/queue", "")
		return code == 200 && strings.Contains(body, `"reason":"UnfulfilledConstraint","declined":1`) &&
			strings.Contains(body, `"constraint":["hostname","CLUSTER","elsewhere.example"]`)
	})
}
