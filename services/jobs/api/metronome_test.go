package api

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"strata/kernel/mesos/mesospb"
	"strata/kernel/version"
	"strata/services/jobs/runs"
	"strata/services/jobs/store"
)

func TestPingInfoLeader(t *testing.T) {
	h := newHarness(t)
	if code, body := h.do("GET", "/ping", ""); code != 200 || body != "pong" {
		t.Fatalf("/ping: %d %q", code, body)
	}
	info := obj(t, h.must("GET", "/info", "", 200))
	if info["version"] != version.Version || info["libVersion"] != version.MesosVersion {
		t.Fatalf("/info: %v", info)
	}
	if l := obj(t, h.must("GET", "/leader", "", 200)); l["leader"] != "jobs.example:9000" {
		t.Fatalf("/leader: %v", l)
	}
	if code, _ := h.do("GET", "/no/such/route", ""); code != 404 {
		t.Fatalf("unknown route: %d", code)
	}
	if code, _ := h.do("PATCH", "/v1/jobs", "{}"); code != 405 {
		t.Fatalf("unknown method: %d", code)
	}
}

func TestMetronomeJobs(t *testing.T) {
	h := newHarness(t)
	h.must("POST", "/v1/jobs", minimal("prod.email.summary"), 201)
	h.must("POST", "/v1/jobs", minimal("busy"), 201)
	h.must("POST", "/v1/jobs/busy/runs", "", 201)

	tests := []struct {
		name, method, path, body string
		code                     int
		want                     string // a fragment of the answer
	}{
		{"create", "POST", "/v1/jobs", minimal("nightly"), 201, `"id":"nightly"`},
		{"create keeps cmd and resources", "POST", "/v1/jobs", minimal("a.b-c.d"), 201, `"cmd":"echo hi","cpus":0.1,"mem":32`},
		{"duplicate id", "POST", "/v1/jobs", minimal("nightly"), 409, `{"message":"Job with this id already exists"}`},
		{"malformed JSON", "POST", "/v1/jobs", `{"id":`, 400, `"message":"Invalid JSON"`},
		{"not an object", "POST", "/v1/jobs", `[1,2]`, 400, `"message":"Invalid JSON"`},
		{"empty body", "POST", "/v1/jobs", ``, 400, `"message":"Invalid JSON"`},
		{"no run", "POST", "/v1/jobs", `{"id":"x"}`, 422, `"path":"/run"`},
		{"bad id", "POST", "/v1/jobs", `{"id":"Not_Valid","run":{"cmd":"x"}}`, 422, `"path":"/id"`},
		{"mem too low", "POST", "/v1/jobs", `{"id":"x","run":{"cmd":"x","mem":1}}`, 422, `"path":"/run/mem"`},
		{"wrong type", "POST", "/v1/jobs", `{"id":"x","run":{"cmd":"x","cpus":"lots"}}`, 422, `"path":"/run/cpus"`},
		{"huge number", "POST", "/v1/jobs", `{"id":"x","run":{"cmd":"x","maxLaunchDelay":1e400}}`, 0, ``},
		{"unknown restart policy", "POST", "/v1/jobs", `{"id":"x","run":{"cmd":"x","restart":{"policy":"SOMETIMES"}}}`, 422, `"path":"/run/restart/policy"`},
		{"missing dependency", "POST", "/v1/jobs", `{"id":"x","dependencies":[{"id":"ghost"}],"run":{"cmd":"x"}}`, 422, `job 'ghost' does not exist`},
		{"get", "GET", "/v1/jobs/prod.email.summary", "", 200, `"id":"prod.email.summary"`},
		{"get unknown", "GET", "/v1/jobs/nope", "", 404, `{"id":"nope","message":"Job 'nope' does not exist"}`},
		{"get invalid id", "GET", "/v1/jobs/NOT%20an%20id", "", 404, `"message":"Job 'NOT an id' does not exist"`},
		{"update", "PUT", "/v1/jobs/nightly", `{"id":"ignored","description":"d","run":{"cmd":"echo bye"}}`, 200, `"id":"nightly","description":"d"`},
		{"update unknown", "PUT", "/v1/jobs/nope", minimal("nope"), 404, `"message":"Job 'nope' does not exist"`},
		{"update invalid", "PUT", "/v1/jobs/nightly", `{"run":{"cmd":"x","cpus":-1}}`, 422, `"path":"/run/cpus"`},
		{"update malformed", "PUT", "/v1/jobs/nightly", `{"run":`, 400, `Invalid JSON`},
		{"delete with active runs", "DELETE", "/v1/jobs/busy", "", 409, `There are active job runs. Override with stopCurrentJobRuns=true`},
		{"delete bad flag", "DELETE", "/v1/jobs/busy?stopCurrentJobRuns=perhaps", "", 400, `stopCurrentJobRuns`},
		{"delete stopping runs", "DELETE", "/v1/jobs/busy?stopCurrentJobRuns=true", "", 200, `"id":"busy"`},
		{"delete", "DELETE", "/v1/jobs/a.b-c.d", "", 200, `"id":"a.b-c.d"`},
		{"delete unknown", "DELETE", "/v1/jobs/a.b-c.d", "", 404, `Job 'a.b-c.d' does not exist`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, body := h.do(tc.method, tc.path, tc.body)
			if tc.code == 0 { // only: a client error, not a server one
				if code < 400 || code >= 500 {
					t.Fatalf("status %d, want a 4xx; body %s", code, body)
				}
				return
			}
			if code != tc.code || !strings.Contains(body, tc.want) {
				t.Fatalf("status %d, body %s; want %d with %s", code, body, tc.code, tc.want)
			}
		})
	}

	list := arr(t, h.must("GET", "/v1/jobs", "", 200))
	var ids []string
	for _, j := range list {
		ids = append(ids, obj(t, j)["id"].(string))
		if _, ok := obj(t, j)["schedules"]; ok {
			t.Fatalf("schedules without embed: %v", j)
		}
	}
	if want := []string{"nightly", "prod.email.summary"}; !reflect.DeepEqual(ids, want) {
		t.Fatalf("list: %v, want %v", ids, want)
	}
}

func TestUpdateKeepsSchedules(t *testing.T) {
	h := newHarness(t)
	h.must("POST", "/v1/jobs", minimal("nightly"), 201)
	h.must("POST", "/v1/jobs/nightly/schedules", `{"id":"daily","cron":"0 3 * * *"}`, 201)
	h.must("PUT", "/v1/jobs/nightly", `{"id":"nightly","run":{"cmd":"echo v2"},"schedules":[]}`, 200)
	got := arr(t, h.must("GET", "/v1/jobs/nightly/schedules", "", 200))
	if len(got) != 1 || obj(t, got[0])["id"] != "daily" {
		t.Fatalf("schedules after PUT: %v", got)
	}
}

// Clients always send startingDeadlineSeconds 0 and restart.activeDeadlineSeconds 0 and the IS
// operator: all accepted.
func TestMetronomeClientZerosAndIS(t *testing.T) {
	h := newHarness(t)
	body := `{"id":"zeros","run":{"cmd":"x","cpus":0.5,"mem":64,"disk":0,
		"restart":{"policy":"ON_FAILURE","activeDeadlineSeconds":0},
		"placement":{"constraints":[{"attribute":"hostname","operator":"IS","value":"agent1"}]}}}`
	got := obj(t, h.must("POST", "/v1/jobs", body, 201))
	run := obj(t, got["run"])
	restart := obj(t, run["restart"])
	if restart["policy"] != "ON_FAILURE" || restart["activeDeadlineSeconds"] != nil {
		t.Fatalf("restart: %v", restart)
	}
	cons := arr(t, obj(t, run["placement"])["constraints"])
	if c := obj(t, cons[0]); c["operator"] != "IS" || c["value"] != "agent1" {
		t.Fatalf("constraint: %v", c)
	}
	s := obj(t, h.must("POST", "/v1/jobs/zeros/schedules", `{"id":"s","cron":"*/5 * * * *","startingDeadlineSeconds":0,"concurrencyPolicy":"ALLOW","enabled":true,"timezone":"UTC"}`, 201))
	if s["startingDeadlineSeconds"] != 900.0 {
		t.Fatalf("startingDeadlineSeconds 0 should take the default 900: %v", s)
	}
}

func TestSchedules(t *testing.T) {
	h := newHarness(t)
	h.must("POST", "/v1/jobs", minimal("nightly"), 201)

	created := obj(t, h.must("POST", "/v1/jobs/nightly/schedules",
		`{"id":"daily","cron":"0 3 * * *","timezone":"UTC","startingDeadlineSeconds":60,"concurrencyPolicy":"FORBID"}`, 201))
	want := map[string]any{"id": "daily", "cron": "0 3 * * *", "timezone": "UTC", "startingDeadlineSeconds": 60.0,
		"concurrencyPolicy": "FORBID", "enabled": true, "catchUp": "RUN_ONCE", "nextRunAt": "2026-11-22T03:00:00.000+0000"}
	if !reflect.DeepEqual(created, want) {
		t.Fatalf("created schedule:\n%v\nwant\n%v", created, want)
	}
	// A second schedule (Metronome allowed one).
	berlin := obj(t, h.must("POST", "/v1/jobs/nightly/schedules", `{"id":"weekly","cron":"30 8 * * 1","timezone":"Europe/Berlin"}`, 201))
	if berlin["nextRunAt"] != "2026-11-23T07:30:00.000+0000" {
		t.Fatalf("nextRunAt in Europe/Berlin: %v", berlin["nextRunAt"])
	}

	tests := []struct {
		name, method, path, body string
		code                     int
		want                     string
	}{
		{"list", "GET", "/v1/jobs/nightly/schedules", "", 200, `"id":"weekly"`},
		{"get", "GET", "/v1/jobs/nightly/schedules/daily", "", 200, `"nextRunAt":"2026-11-22T03:00:00.000+0000"`},
		{"get unknown", "GET", "/v1/jobs/nightly/schedules/nope", "", 404, `{"id":"nope","message":"Schedule 'nope' does not exist"}`},
		{"list of unknown job", "GET", "/v1/jobs/nope/schedules", "", 404, `Job 'nope' does not exist`},
		{"duplicate", "POST", "/v1/jobs/nightly/schedules", `{"id":"daily","cron":"0 4 * * *"}`, 409, `Schedule 'daily' already exists`},
		{"bad cron", "POST", "/v1/jobs/nightly/schedules", `{"id":"bad","cron":"61 * * * *"}`, 422, `"path":"/cron"`},
		{"impossible date", "POST", "/v1/jobs/nightly/schedules", `{"id":"bad","cron":"0 0 30 2 *"}`, 422, `"path":"/cron"`},
		{"bad zone", "POST", "/v1/jobs/nightly/schedules", `{"id":"bad","cron":"0 0 * * *","timezone":"Mars/Olympus"}`, 422, `"path":"/timezone"`},
		{"bad policy", "POST", "/v1/jobs/nightly/schedules", `{"id":"bad","cron":"0 0 * * *","concurrencyPolicy":"MAYBE"}`, 422, `"path":"/concurrencyPolicy"`},
		{"wrong type", "POST", "/v1/jobs/nightly/schedules", `{"id":"bad","cron":5}`, 422, `"path":"/cron"`},
		{"malformed", "POST", "/v1/jobs/nightly/schedules", `{"id"`, 400, `Invalid JSON`},
		{"job unknown", "POST", "/v1/jobs/nope/schedules", `{"id":"s","cron":"0 0 * * *"}`, 404, `Job 'nope' does not exist`},
		{"update", "PUT", "/v1/jobs/nightly/schedules/daily", `{"id":"other","cron":"0 5 * * *","enabled":true}`, 200, `"nextRunAt":"2026-11-22T05:00:00.000+0000"`},
		{"update keeps the URL id", "GET", "/v1/jobs/nightly/schedules/daily", "", 200, `"cron":"0 5 * * *"`},
		{"update unknown", "PUT", "/v1/jobs/nightly/schedules/nope", `{"cron":"0 5 * * *"}`, 404, `Schedule 'nope' does not exist`},
		{"disable", "PUT", "/v1/jobs/nightly/schedules/weekly", `{"cron":"30 8 * * 1","enabled":false}`, 200, `"enabled":false`},
		{"delete", "DELETE", "/v1/jobs/nightly/schedules/daily", "", 200, ``},
		{"delete again", "DELETE", "/v1/jobs/nightly/schedules/daily", "", 404, `Schedule 'daily' does not exist`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, body := h.do(tc.method, tc.path, tc.body)
			if code != tc.code || !strings.Contains(body, tc.want) {
				t.Fatalf("status %d, body %s; want %d with %s", code, body, tc.code, tc.want)
			}
		})
	}
	// A disabled schedule has no next run.
	w := obj(t, h.must("GET", "/v1/jobs/nightly/schedules/weekly", "", 200))
	if _, ok := w["nextRunAt"]; ok {
		t.Fatalf("a disabled schedule has a nextRunAt: %v", w)
	}
}

func TestRuns(t *testing.T) {
	h := newHarness(t)
	h.must("POST", "/v1/jobs", minimal("nightly"), 201)

	run := obj(t, h.must("POST", "/v1/jobs/nightly/runs", "", 201))
	id, _ := run["id"].(string)
	if len(id) != 19 || !strings.HasPrefix(id, "20261121120000") {
		t.Fatalf("run id %q", id)
	}
	want := map[string]any{"id": id, "jobId": "nightly", "status": "INITIAL", "createdAt": "2026-11-21T12:00:00.000+0000",
		"completedAt": nil, "tasks": []any{}, "trigger": "manual"}
	if !reflect.DeepEqual(run, want) {
		t.Fatalf("run:\n%v\nwant\n%v", run, want)
	}
	if list := arr(t, h.must("GET", "/v1/jobs/nightly/runs", "", 200)); len(list) != 1 || obj(t, list[0])["id"] != id {
		t.Fatalf("active runs: %v", list)
	}
	if got := obj(t, h.must("GET", "/v1/jobs/nightly/runs/"+id, "", 200)); got["status"] != "INITIAL" {
		t.Fatalf("get run: %v", got)
	}
	for _, tc := range []struct{ method, path, want string }{
		{"GET", "/v1/jobs/nightly/runs/20200101000000xxxxx", `{"id":"20200101000000xxxxx","message":"JobRun '20200101000000xxxxx' does not exist"}`},
		{"POST", "/v1/jobs/nightly/runs/nope/actions/stop", `JobRun 'nope' does not exist`},
		{"GET", "/v1/jobs/nope/runs", `Job 'nope' does not exist`},
		{"POST", "/v1/jobs/nope/runs", `Job 'nope' does not exist`},
		{"GET", "/v1/jobs/nope/runs/" + id, `Job 'nope' does not exist`},
	} {
		if code, body := h.do(tc.method, tc.path, ""); code != 404 || !strings.Contains(body, tc.want) {
			t.Fatalf("%s %s: %d %s", tc.method, tc.path, code, body)
		}
	}

	stopped := obj(t, h.must("POST", "/v1/jobs/nightly/runs/"+id+"/actions/stop", "", 200))
	if stopped["status"] != "FAILED" || stopped["completedAt"] != "2026-11-21T12:00:00.000+0000" || stopped["reason"] != "stopped by request" {
		t.Fatalf("stopped run: %v", stopped)
	}
	if list := arr(t, h.must("GET", "/v1/jobs/nightly/runs", "", 200)); len(list) != 0 {
		t.Fatalf("active runs after stop: %v", list)
	}
	if got := obj(t, h.must("GET", "/v1/jobs/nightly/runs/"+id, "", 200)); got["status"] != "FAILED" {
		t.Fatalf("a finished run is still found: %v", got)
	}
	if code, _ := h.do("POST", "/v1/jobs/nightly/runs/"+id+"/actions/stop", ""); code != 404 {
		t.Fatalf("stopping a finished run: %d", code)
	}
}

func TestEmbeds(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	h.must("POST", "/v1/jobs", minimal("nightly"), 201)
	h.must("POST", "/v1/jobs/nightly/schedules", `{"id":"daily","cron":"0 3 * * *"}`, 201)

	// A successful run of 90 s, a failed one, a skipped tick and an active run.
	ok := obj(t, h.must("POST", "/v1/jobs/nightly/runs", "", 201))["id"].(string)
	h.finishRun("nightly", ok, mesospb.TaskState_TASK_FINISHED, 90*time.Second, "Command exited with status 0")
	h.clock.Advance(time.Minute)
	bad := obj(t, h.must("POST", "/v1/jobs/nightly/runs", "", 201))["id"].(string)
	h.finishRun("nightly", bad, mesospb.TaskState_TASK_FAILED, 5*time.Second, "Command exited with status 3")
	tick := time.Date(2026, 11, 21, 3, 0, 0, 0, time.UTC)
	skipped := &runs.Run{ID: "20261121030000skip1", JobID: "nightly", Trigger: runs.TriggerSchedule, ScheduleID: "daily",
		ScheduledAt: &tick, CreatedAt: h.clock.Now(), Tasks: []runs.Task{}}
	skipped.Finish(runs.Skipped, "missed: service was not running; 9h late beyond startingDeadlineSeconds=900", h.clock.Now())
	if err := h.store.CreateRuns(ctx, store.TickKey{}, nil, skipped); err != nil {
		t.Fatal(err)
	}
	active := obj(t, h.must("POST", "/v1/jobs/nightly/runs", "", 201))["id"].(string)

	got := obj(t, h.must("GET", "/v1/jobs/nightly?embed=activeRuns&embed=schedules,history,historySummary", "", 200))
	if a := arr(t, got["activeRuns"]); len(a) != 1 || obj(t, a[0])["id"] != active {
		t.Fatalf("activeRuns: %v", a)
	}
	if s := arr(t, got["schedules"]); len(s) != 1 || obj(t, s[0])["nextRunAt"] != "2026-11-22T03:00:00.000+0000" {
		t.Fatalf("schedules: %v", s)
	}
	sum := obj(t, got["historySummary"])
	wantSum := map[string]any{"successCount": 1.0, "failureCount": 1.0,
		"lastSuccessAt": "2026-11-21T12:01:30.000+0000", "lastFailureAt": "2026-11-21T12:02:35.000+0000"}
	if !reflect.DeepEqual(sum, wantSum) {
		t.Fatalf("historySummary: %v, want %v", sum, wantSum)
	}
	hist := obj(t, got["history"])
	for k, v := range wantSum {
		if hist[k] != v {
			t.Fatalf("history.%s = %v, want %v", k, hist[k], v)
		}
	}
	succ := arr(t, hist["successfulFinishedRuns"])
	task := runs.TaskID("nightly", ok, 1)
	wantOK := map[string]any{"id": ok, "createdAt": "2026-11-21T12:00:00.000+0000", "finishedAt": "2026-11-21T12:01:30.000+0000",
		"tasks": []any{task}, "status": "SUCCESS", "startedAt": "2026-11-21T12:00:00.000+0000", "durationSeconds": 90.0, "exitStatus": 0.0,
		"reason": "", "sandbox": "http://agent1:5051/files/browse?path=/var/lib/strata/sandbox/" + task, "trigger": "manual"}
	if len(succ) != 1 || !reflect.DeepEqual(obj(t, succ[0]), wantOK) {
		t.Fatalf("successfulFinishedRuns:\n%v\nwant\n%v", succ, wantOK)
	}
	failed := arr(t, hist["failedFinishedRuns"])
	if len(failed) != 1 || obj(t, failed[0])["status"] != "FAILED" ||
		!strings.Contains(obj(t, failed[0])["reason"].(string), "Command exited with status 3") {
		t.Fatalf("failedFinishedRuns: %v", failed)
	}
	sk := arr(t, hist["skippedRuns"])
	wantSkip := map[string]any{"id": "20261121030000skip1", "scheduleId": "daily", "scheduledAt": "2026-11-21T03:00:00.000+0000",
		"reason": "missed: service was not running; 9h late beyond startingDeadlineSeconds=900"}
	if len(sk) != 1 || !reflect.DeepEqual(obj(t, sk[0]), wantSkip) {
		t.Fatalf("skippedRuns: %v", sk)
	}
	if r := obj(t, h.must("GET", "/v1/jobs/nightly/runs/20261121030000skip1", "", 200)); r["status"] != "SKIPPED" {
		t.Fatalf("a skipped run: %v", r)
	}

	// The list takes the same embeds; no embed means none of them.
	list := arr(t, h.must("GET", "/v1/jobs?embed=historySummary", "", 200))
	if _, ok := obj(t, list[0])["historySummary"]; !ok {
		t.Fatalf("list with embed: %v", list)
	}
	plain := obj(t, h.must("GET", "/v1/jobs/nightly", "", 200))
	for _, k := range []string{"activeRuns", "schedules", "history", "historySummary"} {
		if _, ok := plain[k]; ok {
			t.Fatalf("%s without embed", k)
		}
	}
	for _, path := range []string{"/v1/jobs?embed=everything", "/v1/jobs/nightly?embed=history,bogus"} {
		if code, body := h.do("GET", path, ""); code != 400 || !strings.Contains(body, "Unknown embed") {
			t.Fatalf("%s: %d %s", path, code, body)
		}
	}
}

func TestScheduledJobsV0(t *testing.T) {
	h := newHarness(t)
	body := `{"id":"legacy","run":{"cmd":"x"},"schedules":[{"id":"a","cron":"0 3 * * *"},{"id":"b","cron":"0 4 * * *","startingDeadlineSeconds":0}]}`
	got := obj(t, h.must("POST", "/v0/scheduled-jobs", body, 201))
	if s := arr(t, got["schedules"]); len(s) != 2 || obj(t, s[1])["startingDeadlineSeconds"] != 900.0 {
		t.Fatalf("schedules: %v", s)
	}
	if code, _ := h.do("POST", "/v0/scheduled-jobs", body); code != 409 {
		t.Fatalf("duplicate: %d", code)
	}
	bad := `{"id":"legacy2","run":{"cmd":"x"},"schedules":[{"id":"a","cron":"nope"}]}`
	if code, out := h.do("POST", "/v0/scheduled-jobs", bad); code != 422 || !strings.Contains(out, `"/schedules/0/cron"`) {
		t.Fatalf("bad schedule: %d %s", code, out)
	}
	got = obj(t, h.must("PUT", "/v0/scheduled-jobs/legacy", `{"id":"legacy","run":{"cmd":"y"},"schedules":[{"id":"c","cron":"0 5 * * *"}]}`, 200))
	if s := arr(t, got["schedules"]); len(s) != 1 || obj(t, s[0])["id"] != "c" {
		t.Fatalf("replaced schedules: %v", s)
	}
	if code, _ := h.do("PUT", "/v0/scheduled-jobs/nope", minimal("nope")); code != 404 {
		t.Fatalf("unknown: %d", code)
	}
}

func TestDependencies(t *testing.T) {
	h := newHarness(t)
	h.must("POST", "/v1/jobs", minimal("parent"), 201)
	h.must("POST", "/v1/jobs", `{"id":"child","dependencies":[{"id":"parent"}],"run":{"cmd":"x"}}`, 201)
	code, body := h.do("PUT", "/v1/jobs/parent", `{"id":"parent","dependencies":[{"id":"child"}],"run":{"cmd":"x"}}`)
	if code != 422 || !strings.Contains(body, "dependency cycle") {
		t.Fatalf("cycle: %d %s", code, body)
	}
	if code, body := h.do("DELETE", "/v1/jobs/parent", ""); code != 409 || !strings.Contains(body, "child") {
		t.Fatalf("deleting a parent: %d %s", code, body)
	}
}

// The answers are JSON that round-trips; commands keep their '&'.
func TestNoHTMLEscaping(t *testing.T) {
	h := newHarness(t)
	_, body := h.do("POST", "/v1/jobs", `{"id":"amp","run":{"cmd":"a && b < c"}}`)
	if !strings.Contains(body, `"cmd":"a && b < c"`) {
		t.Fatalf("body %s", body)
	}
	var v any
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatal(err)
	}
	if code, _ := h.do("GET", "/v1/jobs/amp", ""); code != http.StatusOK {
		t.Fatal(code)
	}
}

// Concurrent changes of one job are all kept.
func TestConcurrentScheduleChanges(t *testing.T) {
	h := newHarness(t)
	h.must("POST", "/v1/jobs", minimal("busy"), 201)
	done := make(chan struct{})
	for i := range 8 {
		go func() {
			defer func() { done <- struct{}{} }()
			id := string(rune('a' + i))
			if code, body := h.do("POST", "/v1/jobs/busy/schedules", `{"id":"`+id+`","cron":"0 3 * * *"}`); code != 201 {
				t.Errorf("schedule %s: %d %s", id, code, body)
			}
		}()
	}
	for range 8 {
		<-done
	}
	if got := arr(t, h.must("GET", "/v1/jobs/busy/schedules", "", 200)); len(got) != 8 {
		t.Fatalf("schedules: %d, want 8", len(got))
	}
}

// Deleting a parent is refused before its runs are stopped.
func TestDeleteParentKeepsItsRuns(t *testing.T) {
	h := newHarness(t)
	h.must("POST", "/v1/jobs", minimal("parent"), 201)
	h.must("POST", "/v1/jobs", `{"id":"child","dependencies":[{"id":"parent"}],"run":{"cmd":"x"}}`, 201)
	h.must("POST", "/v1/jobs/parent/runs", "", 201)
	if code, body := h.do("DELETE", "/v1/jobs/parent?stopCurrentJobRuns=true", ""); code != 409 || !strings.Contains(body, "child") {
		t.Fatalf("delete: %d %s", code, body)
	}
	if n := len(h.eng.ActiveRuns("parent")); n != 1 {
		t.Fatalf("active runs of the parent: %d, want 1", n)
	}
}

// Register mounts the API under a prefix, as Admin Router does with /service/metronome.
func TestRegisterUnderPrefix(t *testing.T) {
	eng, _, clk, _ := newEngine(t)
	r := gin.New()
	Register(r.Group("/service/metronome"), Config{Engine: eng, Now: clk.Now, Logger: quiet})
	for path, want := range map[string]int{"/service/metronome/ping": 200, "/service/metronome/v1/jobs": 200,
		"/service/metronome/v1/scheduler/jobs": 200, "/service/metronome/leader": 404} {
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		if rec.Code != want {
			t.Errorf("GET %s: %d, want %d", path, rec.Code, want)
		}
	}
}
