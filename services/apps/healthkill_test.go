package apps_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"strata/services/apps"
)

// TestHealthKillsKeepCapacity: the health checks of all four instances of an app fail at once
// (a COMMAND check that tests for a file the test creates). The service kills them one at a time
// (max(1, 10% of 4) = 1): never more than one being killed, kills at least the health kill window
// apart, each replacement launched before its unhealthy instance is killed, so that at least
// three tasks keep running throughout. Once the checks pass again, the app is healthy.
func TestHealthKillsKeepCapacity(t *testing.T) {
	const window = 2 * time.Second
	master := startCluster(t)
	s := startService(t, master, t.TempDir(), func(c *apps.Config) { c.HealthKillWindow = window })
	sick := filepath.Join(sharedDir(t), "sick")
	stream := openEvents(t, s, "?event_type=unhealthy_task_kill_event", "")
	const id = "/fragile"
	r := do(t, "POST", s.url+"/v2/apps", fmt.Sprintf(`{"id":%q,"cmd":"sleep 1000","instances":4,"cpus":0.05,"mem":16,
		"healthChecks":[{"protocol":"COMMAND","command":{"value":"test ! -e %s"},"gracePeriodSeconds":0,"intervalSeconds":1,
		"timeoutSeconds":1,"delaySeconds":0,"maxConsecutiveFailures":2}]}`, id, sick))
	if r.code != 201 {
		t.Fatalf("POST: %d %s", r.code, r.body)
	}
	eventually(t, 30*time.Second, "4 healthy tasks", func() bool {
		a, _ := getApp(t, s, id)
		return a.TasksHealthy == 4 && len(a.Tasks) == 4 && len(a.Deployments) == 0
	})

	if err := os.WriteFile(sick, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	var kills []time.Time
	start := time.Now()
	for time.Since(start) < 3*window+2*time.Second {
		select {
		case ev := <-stream.frames:
			at, err := time.Parse("2006-01-02T15:04:05.000Z", str(ev.data, "timestamp"))
			if err != nil || ev.data["appId"] != id {
				t.Fatalf("unhealthy_task_kill_event %v: %v", ev.data, err)
			}
			kills = append(kills, at)
		default:
		}
		a, _ := getApp(t, s, id)
		killing := 0
		for _, tk := range a.Tasks {
			if tk.State == "TASK_KILLING" {
				killing++
			}
		}
		if killing > 1 || a.TasksRunning < 3 {
			t.Fatalf("%d tasks being killed at once, %d running: %+v", killing, a.TasksRunning, a)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(kills) < 2 {
		t.Fatalf("%d health kills in %s; want some, one per %s", len(kills), time.Since(start), window)
	}
	// An event is stamped when published, a little after its kill was allowed (the instance is
	// stored first): the gaps may fall short of the window by that much, never by a whole window.
	for k := 1; k < len(kills); k++ {
		if gap := kills[k].Sub(kills[k-1]); gap < window*3/4 {
			t.Errorf("health kills %d and %d only %s apart (window %s)", k-1, k, gap, window)
		}
	}
	t.Logf("%d health kills in %s", len(kills), time.Since(start).Round(time.Millisecond))

	if err := os.Remove(sick); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "4 healthy tasks again", func() bool {
		a, _ := getApp(t, s, id)
		return a.TasksHealthy == 4 && len(a.Tasks) == 4 && len(a.Deployments) == 0
	})
}
