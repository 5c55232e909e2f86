package apps_test

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"strata/services/apps"
	"strata/services/apps/app"
)

// TestAPIConformance drives one in-process apps service on a real master and agent through the
// Marathon /v2 API as clients use it (reference: marathon-api.md §1, §2, §5, §7, §10).
func TestAPIConformance(t *testing.T) {
	master := startCluster(t)
	s := startService(t, master, t.TempDir())

	t.Run("service endpoints", func(t *testing.T) {
		if r := do(t, "GET", s.url+"/ping", ""); r.code != 200 || r.body != "pong" || !strings.HasPrefix(r.header.Get("Content-Type"), "text/plain") {
			t.Errorf("/ping: %d %q %s", r.code, r.body, r.header.Get("Content-Type"))
		}
		info := do(t, "GET", s.url+"/v2/info", "").json(t)
		cfg, _ := info["marathon_config"].(map[string]any)
		httpCfg, _ := info["http_config"].(map[string]any)
		if info["name"] != "marathon" || info["elected"] != true || cfg["failover_timeout"] != float64(604800) ||
			cfg["framework_name"] != "marathon-test" || cfg["master"] != master || httpCfg["http_port"] == nil {
			t.Errorf("/v2/info: %v", info)
		}
		eventually(t, 10*time.Second, "a framework id in /v2/info", func() bool {
			id, _ := do(t, "GET", s.url+"/v2/info", "").json(t)["frameworkId"].(string)
			return id != ""
		})
		leader := do(t, "GET", s.url+"/v2/leader", "").json(t)
		if l, _ := leader["leader"].(string); !strings.HasPrefix(s.url, "http://"+l) {
			t.Errorf("/v2/leader: %v (service at %s)", leader, s.url)
		}
		if r := do(t, "GET", s.url+"/metrics", ""); r.code != 200 || !strings.Contains(r.body, "strata_apps_http_request_duration_seconds") {
			t.Errorf("/metrics: %d %.300s", r.code, r.body)
		}
		if r := do(t, "HEAD", s.url+"/v2/pods", ""); r.code != 404 {
			t.Errorf("HEAD /v2/pods: %d, want 404 (no pods)", r.code)
		}
	})

	t.Run("errors", func(t *testing.T) {
		tests := []struct {
			name, method, path, body string
			code                     int
			message, detailPath      string
		}{
			{"not JSON", "POST", "/v2/apps", `{"id": "/x",`, 400, "Invalid JSON", "/"},
			{"not an object", "POST", "/v2/apps", `[1]`, 400, "Invalid JSON", "/"},
			{"no id", "POST", "/v2/apps", `{"cmd":"sleep 1"}`, 422, "Object is not valid", "/id"},
			{"bad id", "POST", "/v2/apps", `{"id":"/Bad_Id","cmd":"sleep 1"}`, 422, "Object is not valid", "/id"},
			{"wrong type", "POST", "/v2/apps", `{"id":"/x","cmd":"sleep 1","cpus":"two"}`, 422, "Object is not valid", "/cpus"},
			{"no command", "POST", "/v2/apps", `{"id":"/x"}`, 422, "Object is not valid", "/"},
			{"bad health check", "POST", "/v2/apps", `{"id":"/x","cmd":"sleep 1","healthChecks":[{"protocol":"MESOS_HTTP","portIndex":2}]}`, 422, "Object is not valid", "/healthChecks(0)/portIndex"},
			{"unknown app", "GET", "/v2/apps/nope", "", 404, "App '/nope' does not exist", ""},
			{"unknown nested app", "GET", "/v2/apps/a/b/nope", "", 404, "App '/a/b/nope' does not exist", ""},
			{"patch unknown", "PATCH", "/v2/apps/nope", `{"instances":2}`, 404, "App '/nope' does not exist", ""},
			{"delete unknown", "DELETE", "/v2/apps/nope", "", 404, "App '/nope' does not exist", ""},
			{"restart unknown", "POST", "/v2/apps/nope/restart", "{}", 404, "App '/nope' does not exist", ""},
			{"unknown task", "DELETE", "/v2/apps/nope/tasks/nope.1234", "", 404, "Task 'nope.1234' does not exist", ""},
			{"unknown tasks in bulk delete", "POST", "/v2/tasks/delete", `{"ids":["x.1"]}`, 400, "Unknown tasks: x.1", ""},
			{"unknown deployment", "DELETE", "/v2/deployments/nope", "", 404, "DeploymentPlan nope does not exist", ""},
			{"unknown path", "GET", "/v2/nothing", "", 404, "HTTP 404 Not Found", ""},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := do(t, tt.method, s.url+tt.path, tt.body)
				if r.code != tt.code {
					t.Fatalf("%s %s: %d, want %d: %s", tt.method, tt.path, r.code, tt.code, r.body)
				}
				var body app.ErrorBody
				if err := json.Unmarshal([]byte(r.body), &body); err != nil || body.Message != tt.message {
					t.Fatalf("body %s, want message %q", r.body, tt.message)
				}
				if tt.detailPath != "" && (len(body.Details) == 0 || body.Details[0].Path != tt.detailPath || len(body.Details[0].Errors) == 0) {
					t.Fatalf("details %+v, want path %s", body.Details, tt.detailPath)
				}
			})
		}
	})

	// A nested app posted with the deprecated ports array and null fields, as clients send it.
	const id = "/conf/sleeper"
	var first appState
	t.Run("create", func(t *testing.T) {
		r := do(t, "POST", s.url+"/v2/apps", `{"id":"conf/sleeper","cmd":"sleep 1000","cpus":0.05,"mem":16,
			"instances":2,"ports":[0,0],"dependencies":null,"labels":{"tier":"test"},"env":{"GREETING":"hi"},
			"upgradeStrategy":{"minimumHealthCapacity":0.5}}`)
		if r.code != 201 {
			t.Fatalf("POST: %d %s", r.code, r.body)
		}
		dep := r.header.Get("Marathon-Deployment-Id")
		body := r.json(t)
		if r.header.Get("Location") != "/v2/apps/conf/sleeper" || dep == "" || body["id"] != id {
			t.Fatalf("POST answer: %v %v", r.header, body)
		}
		if deps, _ := body["deployments"].([]any); len(deps) != 1 || deps[0].(map[string]any)["id"] != dep {
			t.Fatalf("POST deployments %v, header %s", body["deployments"], dep)
		}
		pds, _ := body["portDefinitions"].([]any)
		if len(pds) != 2 || body["ports"] != nil {
			t.Fatalf("portDefinitions %v ports %v", body["portDefinitions"], body["ports"])
		}
		if sp := pds[0].(map[string]any)["port"].(float64); sp < 10000 || sp > 20000 {
			t.Fatalf("service port %v not assigned from [10000, 20000]", sp)
		}
		if dup := do(t, "POST", s.url+"/v2/apps", `{"id":"/conf/sleeper","cmd":"sleep 1"}`); dup.code != 409 ||
			!strings.Contains(dup.body, "An app with id [/conf/sleeper] already exists.") {
			t.Fatalf("duplicate POST: %d %s", dup.code, dup.body)
		}
		first = waitRunning(t, s, id, 2)
		taskRE := regexp.MustCompile(`^conf_sleeper\.[0-9a-f-]{36}$`)
		for _, tk := range first.Tasks {
			if !taskRE.MatchString(tk.ID) || tk.State != "TASK_RUNNING" || len(tk.Ports) != 2 || tk.Version != first.Version {
				t.Errorf("task %+v", tk)
			}
			if got, err := app.AppIDFromTaskID(tk.ID); err != nil || got != id {
				t.Errorf("task id %s maps back to %q, %v", tk.ID, got, err)
			}
		}
		if first.TasksHealthy != 0 || first.TasksUnhealthy != 0 {
			t.Errorf("an app without health checks reports healthy counts: %+v", first)
		}
		var dl []any
		_ = json.Unmarshal([]byte(do(t, "GET", s.url+"/v2/deployments", "").body), &dl)
		if len(dl) != 0 {
			t.Errorf("deployments after the app runs: %v", dl)
		}
		if d := do(t, "GET", s.url+"/v2/deployments/"+dep, "").json(t); d["status"] != "SUCCESS" || d["totalSteps"] != float64(2) {
			t.Errorf("finished deployment: %v", d)
		}
	})

	t.Run("list filters and embeds", func(t *testing.T) {
		check := func(query string, want int) {
			t.Helper()
			var out struct {
				Apps []map[string]any `json:"apps"`
			}
			r := do(t, "GET", s.url+"/v2/apps"+query, "")
			if err := json.Unmarshal([]byte(r.body), &out); err != nil || len(out.Apps) != want {
				t.Fatalf("GET /v2/apps%s: %d apps (want %d): %s", query, len(out.Apps), want, r.body)
			}
			for _, a := range out.Apps {
				if _, ok := a["tasksRunning"]; !ok {
					t.Errorf("counts missing: %v", a)
				}
				if _, ok := a["deployments"]; !ok {
					t.Errorf("deployments missing: %v", a)
				}
				if _, ok := a["tasks"]; ok != strings.Contains(query, "apps.tasks") {
					t.Errorf("tasks embedded = %v for %s", ok, query)
				}
			}
		}
		check("", 1)
		check("?id=sleeper", 1)
		check("?id=other", 0)
		check("?cmd=sleep", 1)
		check("?label=tier==test", 1)
		check("?label=tier!=test", 0)
		check("?label=tier%20in%20(prod,test)", 1)
		check("?label=owner", 0)
		check("?embed=apps.tasks&embed=apps.counts", 1)
		check("/conf/*", 1)
		check("/other/*", 0)
	})

	t.Run("taskStats and failures embeds", func(t *testing.T) {
		var list struct {
			Apps []map[string]any `json:"apps"`
		}
		if err := json.Unmarshal([]byte(do(t, "GET", s.url+"/v2/apps?embed=apps.taskStats", "").body), &list); err != nil || len(list.Apps) != 1 {
			t.Fatalf("list with apps.taskStats: %v %v", err, list)
		}
		one := do(t, "GET", s.url+"/v2/apps/conf/sleeper?embed=app.taskStats", "").json(t)
		single, _ := one["app"].(map[string]any)
		for where, a := range map[string]map[string]any{"list": list.Apps[0], "app": single} {
			stats, ok := a["tasksStats"].(map[string]any)
			if !ok {
				t.Fatalf("%s: no tasksStats object: %v", where, a)
			}
			// Both tasks run the app's only version: nothing is outdated.
			want := map[string]bool{"startedAfterLastScaling": true, "withLatestConfig": true, "totalSummary": true}
			got := map[string]bool{}
			for k := range stats {
				got[k] = true
			}
			if !equalSets(got, want) {
				t.Fatalf("%s: tasksStats categories %v, want %v", where, got, want)
			}
			for cat := range want {
				st, _ := stats[cat].(map[string]any)["stats"].(map[string]any)
				counts, _ := st["counts"].(map[string]any)
				if counts["staged"] != float64(0) || counts["running"] != float64(2) || counts["healthy"] != float64(0) || counts["unhealthy"] != float64(0) {
					t.Errorf("%s: %s counts %v", where, cat, st["counts"])
				}
				life, _ := st["lifeTime"].(map[string]any)
				avg, ok1 := life["averageSeconds"].(float64)
				med, ok2 := life["medianSeconds"].(float64)
				if !ok1 || !ok2 || avg < 0 || med < 0 {
					t.Errorf("%s: %s lifeTime %v", where, cat, st["lifeTime"])
				}
			}
		}
		if _, ok := do(t, "GET", s.url+"/v2/apps/conf/sleeper", "").json(t)["app"].(map[string]any)["tasksStats"]; ok {
			t.Errorf("tasksStats without the embed")
		}
		list.Apps = nil // a fresh decode, not merged into the maps above
		if err := json.Unmarshal([]byte(do(t, "GET", s.url+"/v2/apps?embed=apps.failures", "").body), &list); err != nil || len(list.Apps) != 1 {
			t.Fatalf("list with apps.failures: %v %v", err, list)
		}
		if tasks, _ := list.Apps[0]["tasks"].([]any); len(tasks) != 2 || list.Apps[0]["tasksStats"] != nil {
			t.Errorf("apps.failures: tasks %v, tasksStats %v", list.Apps[0]["tasks"], list.Apps[0]["tasksStats"])
		}
	})

	t.Run("tasks endpoints", func(t *testing.T) {
		var tasks struct {
			Tasks []map[string]any `json:"tasks"`
		}
		_ = json.Unmarshal([]byte(do(t, "GET", s.url+"/v2/apps/conf/sleeper/tasks", "").body), &tasks)
		if len(tasks.Tasks) != 2 || tasks.Tasks[0]["appId"] != id || tasks.Tasks[0]["slaveId"] == "" {
			t.Fatalf("app tasks: %v", tasks)
		}
		_ = json.Unmarshal([]byte(do(t, "GET", s.url+"/v2/tasks?status=running", "").body), &tasks)
		if len(tasks.Tasks) != 2 {
			t.Fatalf("running tasks: %v", tasks)
		}
		_ = json.Unmarshal([]byte(do(t, "GET", s.url+"/v2/tasks?status=staging", "").body), &tasks)
		if len(tasks.Tasks) != 0 {
			t.Fatalf("staging tasks: %v", tasks)
		}
		text := do(t, "GET", s.url+"/v2/tasks", "", "Accept", "text/plain")
		if lines := strings.Split(strings.TrimSpace(text.body), "\n"); len(lines) != 2 || !strings.HasPrefix(lines[0], "conf_sleeper\t") ||
			strings.Count(lines[0], "127.0.0.1:") != 2 {
			t.Fatalf("text/plain tasks: %q", text.body)
		}
		one := do(t, "GET", s.url+"/v2/apps/conf/sleeper/tasks/"+first.Tasks[0].ID, "").json(t)
		if task, _ := one["task"].(map[string]any); task["id"] != first.Tasks[0].ID {
			t.Fatalf("one task: %v", one)
		}
	})

	var scaled appState
	t.Run("scale with null fields keeps the tasks", func(t *testing.T) {
		r := do(t, "PUT", s.url+"/v2/apps/conf/sleeper", `{"id":"/conf/sleeper","instances":3,"ports":null,"dependencies":null}`)
		if r.code != 200 || r.header.Get("Marathon-Deployment-Id") == "" {
			t.Fatalf("scale PUT: %d %s", r.code, r.body)
		}
		scaled = waitRunning(t, s, id, 3)
		ids := taskIDs(scaled)
		for tid := range taskIDs(first) {
			if !ids[tid] {
				t.Fatalf("scaling restarted task %s", tid)
			}
		}
		if scaled.VersionInfo["lastConfigChangeAt"] != first.VersionInfo["lastConfigChangeAt"] ||
			scaled.VersionInfo["lastScalingAt"] == first.VersionInfo["lastScalingAt"] {
			t.Errorf("versionInfo after a scale: %v (before %v)", scaled.VersionInfo, first.VersionInfo)
		}
		a := do(t, "GET", s.url+"/v2/apps/conf/sleeper", "").json(t)["app"].(map[string]any)
		if env := a["env"].(map[string]any); env["GREETING"] != "hi" || len(a["portDefinitions"].([]any)) != 2 {
			t.Errorf("a scale changed the definition: %v", a)
		}
		// An identical redeploy changes nothing either.
		r = do(t, "PUT", s.url+"/v2/apps/conf/sleeper", `{"instances":3}`)
		again := waitRunning(t, s, id, 3)
		if r.code != 200 || len(taskIDs(again)) != 3 || again.VersionInfo["lastConfigChangeAt"] != first.VersionInfo["lastConfigChangeAt"] {
			t.Errorf("identical redeploy: %d %s, %+v", r.code, r.body, again.VersionInfo)
		}
		for tid := range taskIDs(scaled) {
			if !taskIDs(again)[tid] {
				t.Fatalf("an identical redeploy restarted task %s", tid)
			}
		}
	})

	t.Run("scale down kills the youngest", func(t *testing.T) {
		r := do(t, "PUT", s.url+"/v2/apps/conf/sleeper", `{"id":"/conf/sleeper","instances":2,"ports":null,"dependencies":null}`)
		if r.code != 200 {
			t.Fatalf("%d %s", r.code, r.body)
		}
		down := waitRunning(t, s, id, 2)
		if ids := taskIDs(down); !equalSets(ids, taskIDs(first)) {
			t.Fatalf("after scaling down to 2: %v, want the first two %v", ids, taskIDs(first))
		}
	})

	t.Run("kill one task: it is replaced", func(t *testing.T) {
		victim := first.Tasks[0].ID
		r := do(t, "DELETE", s.url+"/v2/apps/conf/sleeper/tasks/"+victim, "")
		if r.code != 200 || !strings.Contains(r.body, victim) {
			t.Fatalf("kill: %d %s", r.code, r.body)
		}
		eventually(t, 30*time.Second, "a replacement", func() bool {
			a, _ := getApp(t, s, id)
			return a.TasksRunning == 2 && !taskIDs(a)[victim] && len(a.Tasks) == 2
		})
		// Killing by task id alone through the bulk endpoint.
		a, _ := getApp(t, s, id)
		var other string
		for tid := range taskIDs(a) {
			other = tid
		}
		if r := do(t, "POST", s.url+"/v2/tasks/delete", `{"ids":["`+other+`"]}`); r.code != 200 || !strings.Contains(r.body, other) {
			t.Fatalf("bulk kill: %d %s", r.code, r.body)
		}
		eventually(t, 30*time.Second, "a replacement", func() bool {
			a, _ := getApp(t, s, id)
			return a.TasksRunning == 2 && !taskIDs(a)[other] && len(a.Tasks) == 2
		})
	})

	t.Run("kill with scale", func(t *testing.T) {
		a := waitRunning(t, s, id, 2)
		r := do(t, "DELETE", s.url+"/v2/apps/conf/sleeper/tasks/"+a.Tasks[1].ID+"?scale=true", "")
		if r.code != 200 || r.json(t)["deploymentId"] == nil {
			t.Fatalf("kill and scale: %d %s", r.code, r.body)
		}
		after := waitRunning(t, s, id, 1)
		if !taskIDs(after)[a.Tasks[0].ID] {
			t.Fatalf("kill and scale killed the wrong task: %v", taskIDs(after))
		}
	})

	var versions []string
	t.Run("patch, versions and rollback", func(t *testing.T) {
		r := do(t, "PATCH", s.url+"/v2/apps/conf/sleeper", `{"id":"/ignored","env":{"GREETING":"hello"},"labels":null}`)
		if r.code != 200 {
			t.Fatalf("PATCH: %d %s", r.code, r.body)
		}
		patched := waitRunning(t, s, id, 1)
		if patched.VersionInfo["lastConfigChangeAt"] == first.VersionInfo["lastConfigChangeAt"] {
			t.Fatalf("an env change is not a config change: %v", patched.VersionInfo)
		}
		a := do(t, "GET", s.url+"/v2/apps/conf/sleeper", "").json(t)["app"].(map[string]any)
		if a["env"].(map[string]any)["GREETING"] != "hello" || a["labels"].(map[string]any)["tier"] != "test" || a["id"] != id {
			t.Fatalf("PATCH result: %v", a)
		}
		var vs struct {
			Versions []string `json:"versions"`
		}
		_ = json.Unmarshal([]byte(do(t, "GET", s.url+"/v2/apps/conf/sleeper/versions", "").body), &vs)
		if len(vs.Versions) < 5 || vs.Versions[0] != patched.Version {
			t.Fatalf("versions %v (current %s)", vs.Versions, patched.Version)
		}
		versions = vs.Versions
		old := do(t, "GET", s.url+"/v2/apps/conf/sleeper/versions/"+first.Version, "").json(t)
		if old["instances"] != float64(2) || old["version"] != first.Version {
			t.Fatalf("version %s: %v", first.Version, old)
		}
		if r := do(t, "GET", s.url+"/v2/apps/conf/sleeper/versions/2001-01-01T00:00:00.000Z", ""); r.code != 404 {
			t.Fatalf("unknown version: %d %s", r.code, r.body)
		}
		r = do(t, "PUT", s.url+"/v2/apps/conf/sleeper", `{"version":"`+first.Version+`"}`)
		if r.code != 200 {
			t.Fatalf("rollback: %d %s", r.code, r.body)
		}
		back := waitRunning(t, s, id, 2)
		a = do(t, "GET", s.url+"/v2/apps/conf/sleeper", "").json(t)["app"].(map[string]any)
		if a["env"].(map[string]any)["GREETING"] != "hi" || back.Version == first.Version {
			t.Fatalf("after rollback: %v", a)
		}
		for _, tk := range back.Tasks {
			if tk.Version != back.Version {
				t.Errorf("task %s of version %s after the rollback to %s", tk.ID, tk.Version, back.Version)
			}
		}
	})
	_ = versions

	t.Run("replace with partialUpdate=false", func(t *testing.T) {
		r := do(t, "PUT", s.url+"/v2/apps/conf/sleeper?partialUpdate=false", `{"cmd":"sleep 999","cpus":0.05,"mem":16}`)
		if r.code != 200 {
			t.Fatalf("%d %s", r.code, r.body)
		}
		waitRunning(t, s, id, 1) // instances back to the default 1
		a := do(t, "GET", s.url+"/v2/apps/conf/sleeper", "").json(t)["app"].(map[string]any)
		if len(a["env"].(map[string]any)) != 0 || len(a["labels"].(map[string]any)) != 0 || *strPtr(a["cmd"]) != "sleep 999" {
			t.Fatalf("replace kept old fields: %v", a)
		}
	})

	t.Run("locks, force and deployment cancel", func(t *testing.T) {
		// No agent has 1000 cpus: this deployment cannot finish.
		r := do(t, "PUT", s.url+"/v2/apps/conf/sleeper", `{"cpus":1000}`)
		if r.code != 200 {
			t.Fatalf("%d %s", r.code, r.body)
		}
		stuck := r.json(t)["deploymentId"].(string)
		r = do(t, "PUT", s.url+"/v2/apps/conf/sleeper", `{"instances":3}`)
		body := r.json(t)
		if r.code != 409 || !strings.HasPrefix(body["message"].(string), "App is locked by one or more deployments.") {
			t.Fatalf("locked PUT: %d %s", r.code, r.body)
		}
		if deps := body["deployments"].([]any); len(deps) != 1 || deps[0].(map[string]any)["id"] != stuck {
			t.Fatalf("locked body deployments: %v, want %s", deps, stuck)
		}
		var list []map[string]any
		_ = json.Unmarshal([]byte(do(t, "GET", s.url+"/v2/deployments", "").body), &list)
		if len(list) != 1 || list[0]["id"] != stuck || list[0]["currentStep"] != float64(1) || list[0]["totalSteps"] != float64(1) {
			t.Fatalf("deployments: %v", list)
		}
		steps := list[0]["steps"].([]any)
		if act := steps[0].(map[string]any)["actions"].([]any)[0].(map[string]any); act["action"] != "RestartApplication" || act["app"] != id {
			t.Fatalf("steps: %v", steps)
		}
		// The old task keeps running while the new one cannot be placed (capacity kept).
		if a, _ := getApp(t, s, id); a.TasksRunning != 1 {
			t.Fatalf("running during a stuck restart: %+v", a)
		}
		// DELETE rolls back with a new deployment.
		r = do(t, "DELETE", s.url+"/v2/deployments/"+stuck, "")
		if r.code != 200 || r.header.Get("Marathon-Deployment-Id") == "" {
			t.Fatalf("cancel with rollback: %d %s", r.code, r.body)
		}
		a := waitRunning(t, s, id, 1)
		if cur := do(t, "GET", s.url+"/v2/apps/conf/sleeper", "").json(t)["app"].(map[string]any); cur["cpus"] != 0.05 {
			t.Fatalf("rollback did not restore cpus: %v (%+v)", cur["cpus"], a)
		}
		// Again, and this time force a new change over the stuck one.
		stuck = do(t, "PUT", s.url+"/v2/apps/conf/sleeper", `{"cpus":1000}`).json(t)["deploymentId"].(string)
		r = do(t, "PUT", s.url+"/v2/apps/conf/sleeper?force=true", `{"cpus":0.05}`)
		if r.code != 200 {
			t.Fatalf("forced PUT: %d %s", r.code, r.body)
		}
		waitRunning(t, s, id, 1)
		if d := do(t, "GET", s.url+"/v2/deployments/"+stuck, "").json(t); d["status"] != "CANCELED" {
			t.Fatalf("superseded deployment: %v", d)
		}
		// And cancel without rollback.
		stuck = do(t, "PUT", s.url+"/v2/apps/conf/sleeper", `{"mem":1000000}`).json(t)["deploymentId"].(string)
		if r := do(t, "DELETE", s.url+"/v2/deployments/"+stuck+"?force=true", ""); r.code != 202 || r.body != "" {
			t.Fatalf("forced cancel: %d %q", r.code, r.body)
		}
		eventually(t, 10*time.Second, "no deployment", func() bool {
			a, _ := getApp(t, s, id)
			return len(a.Deployments) == 0 && a.TasksRunning == 1
		})
		// A forced cancel keeps the target definition (which cannot run here): put it right.
		if cur := do(t, "GET", s.url+"/v2/apps/conf/sleeper", "").json(t)["app"].(map[string]any); cur["mem"] != float64(1000000) {
			t.Fatalf("a forced cancel changed the definition: %v", cur["mem"])
		}
		if r := do(t, "PUT", s.url+"/v2/apps/conf/sleeper", `{"mem":16}`); r.code != 200 {
			t.Fatalf("%d %s", r.code, r.body)
		}
		waitRunning(t, s, id, 1)
	})

	t.Run("restart", func(t *testing.T) {
		before := waitRunning(t, s, id, 1)
		r := do(t, "POST", s.url+"/v2/apps/conf/sleeper/restart?force=true", `{}`)
		if r.code != 200 || r.json(t)["deploymentId"] == nil {
			t.Fatalf("restart: %d %s", r.code, r.body)
		}
		eventually(t, 30*time.Second, "the restart", func() bool {
			a, _ := getApp(t, s, id)
			return a.TasksRunning == 1 && len(a.Deployments) == 0 && len(a.Tasks) == 1 && !taskIDs(a)[before.Tasks[0].ID]
		})
	})

	t.Run("delete", func(t *testing.T) {
		r := do(t, "DELETE", s.url+"/v2/apps/conf/sleeper", "")
		if r.code != 200 || r.header.Get("Marathon-Deployment-Id") == "" {
			t.Fatalf("DELETE: %d %s", r.code, r.body)
		}
		if _, code := getApp(t, s, id); code != 404 {
			t.Fatalf("GET after DELETE: %d", code)
		}
		eventually(t, 30*time.Second, "the tasks to go", func() bool {
			var tasks struct {
				Tasks []any `json:"tasks"`
			}
			_ = json.Unmarshal([]byte(do(t, "GET", s.url+"/v2/tasks", "").body), &tasks)
			var list []any
			_ = json.Unmarshal([]byte(do(t, "GET", s.url+"/v2/deployments", "").body), &list)
			return len(tasks.Tasks) == 0 && len(list) == 0
		})
	})

	t.Run("bulk update", func(t *testing.T) {
		r := do(t, "PUT", s.url+"/v2/apps", `[{"id":"/bulk/a","cmd":"sleep 1000","cpus":0.05,"mem":16},
			{"id":"bulk/b","cmd":"sleep 1000","cpus":0.05,"mem":16,"instances":2}]`)
		if r.code != 200 || r.header.Get("Marathon-Deployment-Id") == "" {
			t.Fatalf("bulk PUT: %d %s", r.code, r.body)
		}
		d := do(t, "GET", s.url+"/v2/deployments/"+r.header.Get("Marathon-Deployment-Id"), "").json(t)
		if apps := d["affectedApps"].([]any); len(apps) != 2 {
			t.Fatalf("one deployment for both apps: %v", d)
		}
		waitRunning(t, s, "/bulk/a", 1)
		waitRunning(t, s, "/bulk/b", 2)
		if r := do(t, "PATCH", s.url+"/v2/apps", `[{"id":"/bulk/a","instances":2},{"id":"/bulk/none","instances":1}]`); r.code != 404 {
			t.Fatalf("bulk PATCH with an unknown id: %d %s", r.code, r.body)
		}
		if r := do(t, "PATCH", s.url+"/v2/apps", `[{"id":"/bulk/a","instances":2,"ports":null}]`); r.code != 200 {
			t.Fatalf("bulk PATCH: %d %s", r.code, r.body)
		}
		waitRunning(t, s, "/bulk/a", 2)
		for _, id := range []string{"/bulk/a", "/bulk/b"} {
			if r := do(t, "DELETE", s.url+"/v2/apps"+id, ""); r.code != 200 {
				t.Fatalf("DELETE %s: %d %s", id, r.code, r.body)
			}
		}
	})
}

// TestFailedTasksBackOffAndDeadline: a crashing app is relaunched with a growing delay and
// reports its last failure; a deployment whose instances never get healthy fails at the
// deadline, with the reason.
func TestFailedTasksBackOffAndDeadline(t *testing.T) {
	master := startCluster(t)
	s := startService(t, master, t.TempDir(), func(c *apps.Config) { c.ProgressDeadline = 3 * time.Second })
	r := do(t, "POST", s.url+"/v2/apps", `{"id":"/crash","cmd":"exit 3","cpus":0.05,"mem":16,"backoffSeconds":1,"backoffFactor":2}`)
	if r.code != 201 {
		t.Fatalf("%d %s", r.code, r.body)
	}
	var a appState
	eventually(t, 20*time.Second, "a task failure", func() bool {
		a, _ = getApp(t, s, "/crash")
		return a.LastTaskFailure != nil
	})
	if a.LastTaskFailure["state"] != "TASK_FAILED" || !strings.Contains(a.LastTaskFailure["message"].(string), "status 3") ||
		a.LastTaskFailure["appId"] != "/crash" {
		t.Fatalf("lastTaskFailure %v", a.LastTaskFailure)
	}
	eventually(t, 20*time.Second, "the launch delay in /v2/queue", func() bool {
		q := do(t, "GET", s.url+"/v2/queue", "").json(t)["queue"].([]any)
		return len(q) == 1 && q[0].(map[string]any)["delay"].(map[string]any)["timeLeftSeconds"].(float64) > 0
	})
	if r := do(t, "DELETE", s.url+"/v2/queue/crash/delay", ""); r.code != 204 {
		t.Fatalf("reset delay: %d %s", r.code, r.body)
	}

	// Nothing listens on the checked port: the instance runs but never gets healthy.
	r = do(t, "POST", s.url+"/v2/apps", `{"id":"/sick","cmd":"sleep 1000","cpus":0.05,"mem":16,
		"healthChecks":[{"protocol":"MESOS_TCP","port":1,"gracePeriodSeconds":0,"intervalSeconds":1,"timeoutSeconds":1,
		"delaySeconds":0,"maxConsecutiveFailures":0}]}`)
	if r.code != 201 {
		t.Fatalf("%d %s", r.code, r.body)
	}
	dep := r.header.Get("Marathon-Deployment-Id")
	eventually(t, 20*time.Second, "the deployment to fail at its deadline", func() bool {
		d := do(t, "GET", s.url+"/v2/deployments/"+dep, "").json(t)
		return d["status"] == "FAILED" && strings.Contains(d["reason"].(string), "no progress for 3s") &&
			strings.Contains(d["reason"].(string), "0 of 1 healthy")
	})
	sick, _ := getApp(t, s, "/sick")
	if len(sick.Deployments) != 0 || sick.TasksRunning != 1 || sick.TasksUnhealthy != 1 || sick.TasksHealthy != 0 {
		t.Fatalf("after the failed deployment: %+v", sick)
	}
}

// TestServiceRestartKillsNothing: the service restarts (same work dir) while its app runs; the
// new service reconciles, keeps every task, and manages the app as before.
func TestServiceRestartKillsNothing(t *testing.T) {
	master := startCluster(t)
	dir := t.TempDir()
	s := startService(t, master, dir)
	if r := do(t, "POST", s.url+"/v2/apps", `{"id":"/keep","cmd":"sleep 1000","cpus":0.05,"mem":16,"instances":2}`); r.code != 201 {
		t.Fatalf("%d %s", r.code, r.body)
	}
	before := waitRunning(t, s, "/keep", 2)
	fid := do(t, "GET", s.url+"/v2/info", "").json(t)["frameworkId"]
	if fid == "" {
		t.Fatal("no framework id while the app runs")
	}
	s.stop(t)

	s2 := startService(t, master, dir)
	eventually(t, 20*time.Second, "the service to re-register", func() bool {
		return do(t, "GET", s2.url+"/v2/info", "").json(t)["frameworkId"] == fid
	})
	after := waitRunning(t, s2, "/keep", 2)
	if !equalSets(taskIDs(before), taskIDs(after)) {
		t.Fatalf("tasks before the restart %v, after %v", taskIDs(before), taskIDs(after))
	}
	time.Sleep(time.Second) // reconciliation has run: nothing was killed meanwhile
	if again, _ := getApp(t, s2, "/keep"); !equalSets(taskIDs(before), taskIDs(again)) || again.TasksRunning != 2 {
		t.Fatalf("tasks changed after reconciliation: %+v", again)
	}
	if r := do(t, "PUT", s2.url+"/v2/apps/keep", `{"instances":3}`); r.code != 200 {
		t.Fatalf("%d %s", r.code, r.body)
	}
	waitRunning(t, s2, "/keep", 3)
}

func equalSets(a, b map[string]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}

func strPtr(v any) *string {
	s, _ := v.(string)
	return &s
}

// TestFrameworkRemovedRegistersAnew: when an operator tears the framework down, its id is dead;
// the service registers anew and brings its apps back.
func TestFrameworkRemovedRegistersAnew(t *testing.T) {
	master := startCluster(t)
	s := startService(t, master, t.TempDir())
	if r := do(t, "POST", s.url+"/v2/apps", `{"id":"/phoenix","cmd":"sleep 1000","cpus":0.05,"mem":16}`); r.code != 201 {
		t.Fatalf("%d %s", r.code, r.body)
	}
	before := waitRunning(t, s, "/phoenix", 1)
	fid, _ := do(t, "GET", s.url+"/v2/info", "").json(t)["frameworkId"].(string)
	if code, body := call(t, "POST", "http://"+master+"/master/teardown?frameworkId="+fid, ""); code != 200 {
		t.Fatalf("teardown: %d %s", code, body)
	}
	eventually(t, 30*time.Second, "a new registration with the app back", func() bool {
		id, _ := do(t, "GET", s.url+"/v2/info", "").json(t)["frameworkId"].(string)
		a, _ := getApp(t, s, "/phoenix")
		return id != "" && id != fid && a.TasksRunning == 1 && len(a.Tasks) == 1 && !taskIDs(a)[before.Tasks[0].ID]
	})
}
