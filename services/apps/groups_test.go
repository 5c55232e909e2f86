package apps_test

import (
	"encoding/json"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"strata/services/apps/app"
)

// groupTask is the part of a task the group tests read.
type groupTask struct {
	ID                 string `json:"id"`
	StagedAt           string `json:"stagedAt"`
	StartedAt          string `json:"startedAt"`
	HealthCheckResults []struct {
		FirstSuccess *string `json:"firstSuccess"`
	} `json:"healthCheckResults"`
}

func groupTasks(t *testing.T, s *service, id string) []groupTask {
	t.Helper()
	var out struct {
		Tasks []groupTask `json:"tasks"`
	}
	r := do(t, "GET", s.url+"/v2/apps"+id+"/tasks", "")
	if err := json.Unmarshal([]byte(r.body), &out); err != nil {
		t.Fatalf("tasks of %s: %d %s", id, r.code, r.body)
	}
	return out.Tasks
}

func parseTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := app.ParseVersion(s)
	if err != nil {
		t.Fatalf("timestamp %q: %v", s, err)
	}
	return v
}

// deploymentSteps renders a deployment's steps as "Action /app, ...; ..." for comparisons.
func deploymentSteps(t *testing.T, steps any) string {
	t.Helper()
	b, _ := json.Marshal(steps)
	var list []struct {
		Actions []struct {
			Action string `json:"action"`
			App    string `json:"app"`
		} `json:"actions"`
	}
	if err := json.Unmarshal(b, &list); err != nil {
		t.Fatalf("steps %s: %v", b, err)
	}
	var out []string
	for _, s := range list {
		var acts []string
		for _, a := range s.Actions {
			acts = append(acts, a.Action+" "+a.App)
		}
		out = append(out, strings.Join(acts, ", "))
	}
	return strings.Join(out, "; ")
}

// waitDeployment waits for a deployment to end and returns it (GET /v2/deployments/{id}).
func waitDeployment(t *testing.T, s *service, id string) map[string]any {
	t.Helper()
	var d map[string]any
	eventually(t, 60*time.Second, "deployment "+id+" to end", func() bool {
		d = do(t, "GET", s.url+"/v2/deployments/"+id, "").json(t)
		return d["status"] != "RUNNING"
	})
	if d["status"] != "SUCCESS" {
		t.Fatalf("deployment %s: %v", id, d)
	}
	return d
}

// TestGroups drives the group API of an in-process apps service on a real master and agent
// (reference: marathon-api.md §1 groups, §2 dependencies, §5 plans, §6 versions).
func TestGroups(t *testing.T) {
	master := startCluster(t)
	work := t.TempDir()
	s := startService(t, master, work)

	t.Run("errors", func(t *testing.T) {
		tests := []struct {
			name, method, path, body string
			code                     int
			message, detail          string
		}{
			{"unknown group", "GET", "/v2/groups/nope", "", 404, "Group '/nope' does not exist", ""},
			{"unknown group versions", "GET", "/v2/groups/nope/versions", "", 404, "Group '/nope' does not exist", ""},
			{"delete unknown", "DELETE", "/v2/groups/nope", "", 404, "Group '/nope' does not exist", ""},
			{"scale unknown", "PUT", "/v2/groups/nope", `{"scaleBy":2}`, 404, "Group '/nope' does not exist", ""},
			{"roll back to an unknown version", "PUT", "/v2/groups/nope", `{"version":"2001-01-01T00:00:00.000Z"}`, 404,
				"Group '/nope' does not exist in version 2001-01-01T00:00:00.000Z", ""},
			{"patch unknown", "PATCH", "/v2/groups/nope", `{"enforceRole":true}`, 404, "Group '/nope' does not exist", ""},
			{"root exists", "POST", "/v2/groups", `{}`, 409, "Group / is already created. Use PUT to change this group.", ""},
			{"not JSON", "POST", "/v2/groups", `{"id":`, 400, "Invalid JSON", ""},
			{"negative scale", "PUT", "/v2/groups/x", `{"scaleBy":-1}`, 422, "Object is not valid", "/scaleBy"},
			{"app outside the group", "POST", "/v2/groups", `{"id":"/e","apps":[{"id":"/f/a","cmd":"sleep 1"}]}`, 422,
				"Object is not valid", "/apps(0)/id"},
			{"invalid app", "POST", "/v2/groups", `{"id":"/e","apps":[{"id":"a"}]}`, 422, "Object is not valid", "/apps(0)"},
			{"cycle", "POST", "/v2/groups", `{"id":"/c","apps":[{"id":"a","cmd":"sleep 1","dependencies":["b"]},
				{"id":"b","cmd":"sleep 1","dependencies":["../c/a"]}]}`, 422, "Object is not valid", "/"},
			{"app and group share an id", "POST", "/v2/groups", `{"id":"/s","apps":[{"id":"x","cmd":"sleep 1"}],"groups":[{"id":"x"}]}`, 422,
				"Object is not valid", "/"},
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
				if tt.detail != "" && (len(body.Details) == 0 || body.Details[0].Path != tt.detail) {
					t.Fatalf("details %+v, want path %s", body.Details, tt.detail)
				}
			})
		}
		r := do(t, "POST", s.url+"/v2/groups", `{"id":"/c","apps":[{"id":"a","cmd":"sleep 1","dependencies":["b"]},{"id":"b","cmd":"sleep 1","dependencies":["a"]}]}`)
		if !strings.Contains(r.body, "Dependency graph has cyclic dependencies: /c/a -> /c/b -> /c/a") {
			t.Fatalf("the cycle is not named: %s", r.body)
		}
		if r := do(t, "GET", s.url+"/v2/groups/c", ""); r.code != 404 {
			t.Fatalf("a rejected group exists: %d %s", r.code, r.body)
		}
	})

	const group = `{"id":"/g","apps":[
		{"id":"db","cmd":"sleep 1000","cpus":0.05,"mem":16},
		{"id":"web","cmd":"sleep 1000","cpus":0.05,"mem":16,"dependencies":["db"]}]}`
	const ordered = "StartApplication /g/db, StartApplication /g/web; ScaleApplication /g/db; ScaleApplication /g/web"

	t.Run("dry run", func(t *testing.T) {
		r := do(t, "PUT", s.url+"/v2/groups/g?dryRun=true", group)
		if r.code != 200 || r.header.Get("Marathon-Deployment-Id") != "" {
			t.Fatalf("dry run: %d %v %s", r.code, r.header, r.body)
		}
		body := r.json(t)
		if len(body) != 1 || deploymentSteps(t, body["steps"]) != ordered {
			t.Fatalf("dry run answer %s, want only the steps %s", r.body, ordered)
		}
		if r := do(t, "GET", s.url+"/v2/groups/g", ""); r.code != 404 {
			t.Fatalf("a dry run created the group: %d %s", r.code, r.body)
		}
	})

	var created string // the version of the group as created
	t.Run("create: the dependency runs before its dependent starts", func(t *testing.T) {
		r := do(t, "POST", s.url+"/v2/groups", group)
		if r.code != 201 || r.header.Get("Location") != "/v2/groups/g" {
			t.Fatalf("POST: %d %v %s", r.code, r.header, r.body)
		}
		body := r.json(t)
		dep, _ := body["deploymentId"].(string)
		created, _ = body["version"].(string)
		if dep == "" || dep != r.header.Get("Marathon-Deployment-Id") || created == "" {
			t.Fatalf("POST answer %s (header %s)", r.body, r.header.Get("Marathon-Deployment-Id"))
		}
		if dup := do(t, "POST", s.url+"/v2/groups", group); dup.code != 409 || !strings.Contains(dup.body, "Group /g is already created") {
			t.Fatalf("second POST: %d %s", dup.code, dup.body)
		}
		d := waitDeployment(t, s, dep)
		if got := deploymentSteps(t, d["steps"]); got != ordered {
			t.Fatalf("steps %s, want %s", got, ordered)
		}
		waitRunning(t, s, "/g/db", 1)
		waitRunning(t, s, "/g/web", 1)
		db, web := groupTasks(t, s, "/g/db"), groupTasks(t, s, "/g/web")
		if dbStarted, webStaged := parseTime(t, db[0].StartedAt), parseTime(t, web[0].StagedAt); webStaged.Before(dbStarted) {
			t.Fatalf("/g/web staged at %s, before /g/db started at %s", webStaged, dbStarted)
		}
	})

	t.Run("get with embeds", func(t *testing.T) {
		root := do(t, "GET", s.url+"/v2/groups", "").json(t)
		if root["id"] != "/" || root["pods"] == nil || root["version"] == nil || root["dependencies"] == nil {
			t.Fatalf("root group %v", root)
		}
		groups, _ := root["groups"].([]any)
		if len(groups) != 1 {
			t.Fatalf("root groups %v", root["groups"])
		}
		g := groups[0].(map[string]any)
		apps, _ := g["apps"].([]any)
		if g["id"] != "/g" || len(apps) != 2 || g["enforceRole"] != false {
			t.Fatalf("group /g %v", g)
		}
		web := apps[1].(map[string]any)
		if web["id"] != "/g/web" || !reflect.DeepEqual(web["dependencies"], []any{"/g/db"}) {
			t.Fatalf("app %v", web)
		}
		if _, ok := web["tasksRunning"]; ok {
			t.Fatalf("counts without group.apps.counts: %v", web)
		}
		q := url.Values{"embed": {"group.apps", "group.apps.counts", "group.apps.tasks", "group.apps.deployments"}}
		g = do(t, "GET", s.url+"/v2/groups/g?"+q.Encode(), "").json(t)
		if _, ok := g["groups"]; ok {
			t.Fatalf("groups without group.groups: %v", g)
		}
		db := g["apps"].([]any)[0].(map[string]any)
		if db["tasksRunning"] != float64(1) || len(db["tasks"].([]any)) != 1 || db["deployments"] == nil {
			t.Fatalf("embedded app %v", db)
		}
	})

	t.Run("an identical PUT changes nothing", func(t *testing.T) {
		before := taskIDs(waitRunning(t, s, "/g/web", 1))
		if r := do(t, "PUT", s.url+"/v2/groups/g?dryRun=true", group); r.code != 200 || strings.TrimSpace(r.body) != `{"steps":[]}` {
			t.Fatalf("dry run of the same group: %d %s", r.code, r.body)
		}
		r := do(t, "PUT", s.url+"/v2/groups/g", group)
		if r.code != 200 {
			t.Fatalf("PUT: %d %s", r.code, r.body)
		}
		if d := waitDeployment(t, s, r.json(t)["deploymentId"].(string)); d["totalSteps"] != float64(0) {
			t.Fatalf("deployment of the same group: %v", d)
		}
		if after := taskIDs(waitRunning(t, s, "/g/web", 1)); !equalSets(before, after) {
			t.Fatalf("tasks %v became %v", before, after)
		}
	})

	var before map[string]bool
	t.Run("scaleBy", func(t *testing.T) {
		before = taskIDs(waitRunning(t, s, "/g/db", 1))
		r := do(t, "PUT", s.url+"/v2/groups/g", `{"scaleBy":2}`)
		if r.code != 200 || r.header.Get("Marathon-Deployment-Id") == "" {
			t.Fatalf("scale: %d %s", r.code, r.body)
		}
		d := waitDeployment(t, s, r.json(t)["deploymentId"].(string))
		if got := deploymentSteps(t, d["steps"]); got != "ScaleApplication /g/db; ScaleApplication /g/web" {
			t.Fatalf("scale steps %s", got)
		}
		db := waitRunning(t, s, "/g/db", 2)
		waitRunning(t, s, "/g/web", 2)
		for id := range before {
			if !taskIDs(db)[id] {
				t.Fatalf("scaling restarted %s", id)
			}
		}
	})

	t.Run("versions and rollback", func(t *testing.T) {
		var versions []string
		if err := json.Unmarshal([]byte(do(t, "GET", s.url+"/v2/groups/g/versions", "").body), &versions); err != nil || len(versions) < 2 {
			t.Fatalf("versions %v %v", versions, err)
		}
		found := false
		for _, v := range versions {
			found = found || v == created
		}
		if !found {
			t.Fatalf("versions %v lack the creation %s", versions, created)
		}
		old := do(t, "GET", s.url+"/v2/groups/g/versions/"+created, "").json(t)
		if apps := old["apps"].([]any); len(apps) != 2 || apps[0].(map[string]any)["instances"] != float64(1) {
			t.Fatalf("group at %s: %v", created, old)
		}
		r := do(t, "PUT", s.url+"/v2/groups/g", `{"version":"`+created+`"}`)
		if r.code != 200 {
			t.Fatalf("rollback: %d %s", r.code, r.body)
		}
		waitDeployment(t, s, r.json(t)["deploymentId"].(string))
		waitRunning(t, s, "/g/db", 1)
		waitRunning(t, s, "/g/web", 1)
	})

	t.Run("an app posted alone waits for its dependency", func(t *testing.T) {
		r := do(t, "POST", s.url+"/v2/apps", `{"id":"/x/db","cmd":"sleep 1000","cpus":0.05,"mem":16,
			"healthChecks":[{"protocol":"COMMAND","command":{"value":"true"},"delaySeconds":1,"intervalSeconds":1,"gracePeriodSeconds":30}]}`)
		if r.code != 201 {
			t.Fatalf("POST db: %d %s", r.code, r.body)
		}
		r = do(t, "POST", s.url+"/v2/apps", `{"id":"/x/web","cmd":"sleep 1000","cpus":0.05,"mem":16,"dependencies":["db"]}`)
		if r.code != 201 {
			t.Fatalf("POST web: %d %s", r.code, r.body)
		}
		dep := r.header.Get("Marathon-Deployment-Id")
		eventually(t, 10*time.Second, "the web deployment to wait", func() bool {
			d := do(t, "GET", s.url+"/v2/deployments/"+dep, "").json(t)
			p, _ := d["progress"].(string)
			return strings.Contains(p, "waiting for its dependencies (/x/db: 0 of 1 healthy)")
		})
		waitDeployment(t, s, dep)
		db, web := groupTasks(t, s, "/x/db"), groupTasks(t, s, "/x/web")
		if len(db) != 1 || len(web) != 1 || len(db[0].HealthCheckResults) != 1 || db[0].HealthCheckResults[0].FirstSuccess == nil {
			t.Fatalf("tasks %+v %+v", db, web)
		}
		if healthy, staged := parseTime(t, *db[0].HealthCheckResults[0].FirstSuccess), parseTime(t, web[0].StagedAt); staged.Before(healthy) {
			t.Fatalf("/x/web staged at %s, before /x/db was healthy at %s", staged, healthy)
		}
	})

	t.Run("delete: dependents stop first", func(t *testing.T) {
		r := do(t, "DELETE", s.url+"/v2/groups/g", "")
		if r.code != 200 || r.header.Get("Marathon-Deployment-Id") == "" {
			t.Fatalf("delete: %d %s", r.code, r.body)
		}
		d := waitDeployment(t, s, r.json(t)["deploymentId"].(string))
		if got := deploymentSteps(t, d["steps"]); got != "StopApplication /g/web; StopApplication /g/db" {
			t.Fatalf("delete steps %s", got)
		}
		if r := do(t, "GET", s.url+"/v2/groups/g", ""); r.code != 404 {
			t.Fatalf("deleted group: %d %s", r.code, r.body)
		}
		if _, code := getApp(t, s, "/g/db"); code != 404 {
			t.Fatalf("an app of the deleted group: %d", code)
		}
		// A version from before the delete still restores it.
		r = do(t, "PUT", s.url+"/v2/groups/g", `{"version":"`+created+`"}`)
		if r.code != 200 {
			t.Fatalf("restore: %d %s", r.code, r.body)
		}
		waitDeployment(t, s, r.json(t)["deploymentId"].(string))
		waitRunning(t, s, "/g/web", 1)
	})

	t.Run("explicit groups survive a restart", func(t *testing.T) {
		r := do(t, "POST", s.url+"/v2/groups", `{"id":"/empty","dependencies":["/g"]}`)
		if r.code != 201 {
			t.Fatalf("empty group: %d %s", r.code, r.body)
		}
		if r := do(t, "PATCH", s.url+"/v2/groups/empty", `{"enforceRole":true}`); r.code != 200 {
			t.Fatalf("PATCH: %d %s", r.code, r.body)
		}
		s.stop(t)
		s2 := startService(t, master, work)
		g := do(t, "GET", s2.url+"/v2/groups/empty", "").json(t)
		if g["id"] != "/empty" || !reflect.DeepEqual(g["dependencies"], []any{"/g"}) || g["enforceRole"] != true {
			t.Fatalf("explicit group after a restart: %v", g)
		}
		if r := do(t, "DELETE", s2.url+"/v2/groups", ""); r.code != 200 {
			t.Fatalf("delete everything: %d %s", r.code, r.body)
		}
		eventually(t, 30*time.Second, "an empty root", func() bool {
			root := do(t, "GET", s2.url+"/v2/groups", "").json(t)
			var tasks struct {
				Tasks []any `json:"tasks"`
			}
			_ = json.Unmarshal([]byte(do(t, "GET", s2.url+"/v2/tasks", "").body), &tasks)
			return len(root["apps"].([]any)) == 0 && len(root["groups"].([]any)) == 0 && len(tasks.Tasks) == 0
		})
	})
}
