package apps_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"strata/services/apps"
)

// TestAutoRevert: a new version that never gets healthy has its deployment FAILED at the
// progress deadline. Without upgradeStrategy.autoRevert (and the service's default off) that is
// all; with it, deployment_failed names the reason and the revert, and a new deployment takes the
// app back to the last version that deployed successfully, not to the failed one before it.
func TestAutoRevert(t *testing.T) {
	master := startCluster(t)
	s := startService(t, master, t.TempDir(), func(c *apps.Config) { c.ProgressDeadline = 3 * time.Second })
	stream := openEvents(t, s, "?event_type=deployment_failed,deployment_success", "")
	const id = "/revertible"
	good := `{"id":"/revertible","cmd":"sleep 1000","cpus":0.05,"mem":16,"instances":1,"upgradeStrategy":{"autoRevert":true}}`
	if r := do(t, "POST", s.url+"/v2/apps", good); r.code != 201 {
		t.Fatalf("POST: %d %s", r.code, r.body)
	}
	v1 := waitRunning(t, s, id, 1)
	stream.until(t, 10*time.Second, "deployment_success", func(ev sseEvent) bool { return ev.typ == "deployment_success" })

	// Versions that never get healthy: nothing listens on the checked port. With
	// minimumHealthCapacity 1 the old task keeps running while a deployment waits.
	bad := func(cmd, autoRevert string) string {
		return `{"cmd":"` + cmd + `","upgradeStrategy":{"autoRevert":` + autoRevert + `},"healthChecks":[{"protocol":"MESOS_TCP",
			"port":1,"gracePeriodSeconds":0,"intervalSeconds":1,"timeoutSeconds":1,"delaySeconds":0,"maxConsecutiveFailures":0}]}`
	}
	fail := func(body string) (deployment, reason string) {
		t.Helper()
		r := do(t, "PUT", s.url+"/v2/apps"+id, body)
		if r.code != 200 {
			t.Fatalf("PUT: %d %s", r.code, r.body)
		}
		deployment = r.json(t)["deploymentId"].(string)
		seen := stream.until(t, 20*time.Second, "deployment_failed", func(ev sseEvent) bool { return ev.typ == "deployment_failed" })
		ev := seen[len(seen)-1]
		reason = str(ev.data, "reason")
		if ev.data["id"] != deployment || !strings.Contains(reason, "no progress for 3s") {
			t.Fatalf("deployment_failed %v", ev.data)
		}
		return deployment, reason
	}

	// Without auto-revert the failed version stays.
	if _, reason := fail(bad("sleep 1001", "false")); strings.Contains(reason, "auto-revert") {
		t.Fatalf("a failure without auto-revert: %s", reason)
	}
	time.Sleep(300 * time.Millisecond)
	if a, _ := getApp(t, s, id); len(a.Deployments) != 0 {
		t.Fatalf("a deployment runs after a failure without auto-revert: %+v", a)
	}

	// With it, the app goes back to v1, the last good version, not to the failed one before.
	failed, reason := fail(bad("sleep 1002", "true"))
	const says = "auto-revert to the last good version in deployment "
	if !strings.Contains(reason, says) {
		t.Fatalf("the reason does not name the revert: %s", reason)
	}
	revert := reason[strings.Index(reason, says)+len(says):]

	var d struct {
		Status     string `json:"status"`
		RevertOf   string `json:"revertOf"`
		RevertedBy string `json:"revertedBy"`
	}
	if err := json.Unmarshal([]byte(do(t, "GET", s.url+"/v2/deployments/"+failed, "").body), &d); err != nil ||
		d.Status != "FAILED" || d.RevertedBy != revert {
		t.Fatalf("the failed deployment: %+v %v", d, err)
	}
	if err := json.Unmarshal([]byte(do(t, "GET", s.url+"/v2/deployments/"+revert, "").body), &d); err != nil || d.RevertOf != failed {
		t.Fatalf("the revert deployment: %+v %v", d, err)
	}
	stream.until(t, 20*time.Second, "the revert's deployment_success", func(ev sseEvent) bool {
		return ev.typ == "deployment_success" && ev.data["id"] == revert
	})
	a := waitRunning(t, s, id, 1)
	var def struct {
		App struct {
			Cmd          string `json:"cmd"`
			HealthChecks []any  `json:"healthChecks"`
		} `json:"app"`
	}
	_ = json.Unmarshal([]byte(do(t, "GET", s.url+"/v2/apps"+id, "").body), &def)
	if def.App.Cmd != "sleep 1000" || len(def.App.HealthChecks) != 0 || a.Version == v1.Version || a.Tasks[0].Version != a.Version {
		t.Fatalf("after the revert: %+v, definition %+v (v1 %s)", a, def.App, v1.Version)
	}
}
