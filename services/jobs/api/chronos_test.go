package api

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"strata/kernel/mesos/mesospb"
)

func TestChronosScheduledAndDependent(t *testing.T) {
	h := newHarness(t)
	// cpus and mem as strings, as some clients send them; an empty start means now.
	h.must("POST", "/v1/scheduler/iso8601", `{"name":"etl","command":"run-etl","schedule":"R//PT1H","epsilon":"PT10M","cpus":"0.5","mem":"256","owner":"ops@example.com"}`, 204)
	got := obj(t, h.must("GET", "/v1/scheduler/job/etl", "", 200))
	if got["schedule"] != "R/2026-11-21T12:00:00.000Z/PT1H" {
		t.Fatalf("an empty start is stored as the time of the post: %v", got["schedule"])
	}
	if got["cpus"] != 0.5 || got["mem"] != 256.0 || got["epsilon"] != "PT10M" || got["owner"] != "ops@example.com" || got["shell"] != true {
		t.Fatalf("job: %v", got)
	}
	// Re-posting the same hash keeps the start, so its ticks are not pushed back.
	h.clock.Advance(10 * time.Minute)
	h.must("POST", "/v1/scheduler/iso8601", `{"name":"etl","command":"run-etl","schedule":"R//PT1H","epsilon":"PT10M","cpus":"0.5","mem":"256"}`, 204)
	if s := obj(t, h.must("GET", "/v1/scheduler/job/etl", "", 200))["schedule"]; s != "R/2026-11-21T12:00:00.000Z/PT1H" {
		t.Fatalf("re-posted: %v", s)
	}
	// With a zone, the start is written in it.
	h.must("POST", "/scheduler/iso8601", `{"name":"berlin","command":"x","schedule":"R5//P1D","scheduleTimeZone":"Europe/Berlin"}`, 204)
	if s := obj(t, h.must("GET", "/scheduler/job/berlin", "", 200))["schedule"]; s != "R5/2026-11-21T13:10:00.000+01:00/P1D" {
		t.Fatalf("zoned start: %v", s)
	}

	tests := []struct {
		name, method, path, body string
		code                     int
		want                     string
	}{
		{"dependent", "POST", "/v1/scheduler/dependency", `{"name":"report","command":"make-report","parents":["etl"]}`, 204, ``},
		{"missing parent", "POST", "/v1/scheduler/dependency", `{"name":"orphan","command":"x","parents":["ghost"]}`, 400, `"message":"parents: parent 'ghost' does not exist","status":"Bad Request"`},
		{"dependent without parents", "POST", "/v1/scheduler/dependency", `{"name":"orphan","command":"x"}`, 400, `parents`},
		{"scheduled without schedule", "POST", "/v1/scheduler/iso8601", `{"name":"x","command":"x"}`, 400, `schedule`},
		{"bad schedule", "POST", "/v1/scheduler/iso8601", `{"name":"x","command":"x","schedule":"every hour"}`, 400, `"message":"schedule: `},
		{"bad zone", "POST", "/v1/scheduler/iso8601", `{"name":"x","command":"x","schedule":"R//PT1H","scheduleTimeZone":"Mars/Base"}`, 400, `scheduleTimeZone`},
		{"bad cpus", "POST", "/v1/scheduler/iso8601", `{"name":"x","command":"x","schedule":"R//PT1H","cpus":"many"}`, 400, `cpus`},
		{"bad name", "POST", "/v1/scheduler/iso8601", `{"name":"a/b","command":"x","schedule":"R//PT1H"}`, 400, `name`},
		{"malformed", "POST", "/v1/scheduler/iso8601", `{"name":`, 400, `json`},
		{"cycle", "POST", "/v1/scheduler/dependency", `{"name":"etl","command":"x","parents":["report"]}`, 400, `cycle`},
		{"get unknown", "GET", "/v1/scheduler/job/nope", "", 404, `{"message":"Job 'nope' not found","status":"Not Found"}`},
		{"run unknown", "PUT", "/v1/scheduler/job/nope", "", 404, `not found`},
		{"delete unknown", "DELETE", "/v1/scheduler/job/nope", "", 404, `not found`},
		{"kill unknown", "DELETE", "/v1/scheduler/task/kill/nope", "", 404, `not found`},
		{"success unknown", "PUT", "/v1/scheduler/job/success/nope", "", 404, `not found`},
		{"delete a parent", "DELETE", "/v1/scheduler/job/etl", "", 409, `report`},
		{"shell metacharacters", "PUT", "/v1/scheduler/job/etl?arguments=a%3Brm%20-rf", "", 400, `arguments`},
		{"raw semicolon", "PUT", "/v1/scheduler/job/etl?arguments=a;b", "", 400, `arguments`},
		{"bad limit", "GET", "/v1/scheduler/jobs/search?limit=-1", "", 400, `limit`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, body := h.do(tc.method, tc.path, tc.body)
			if code != tc.code || !strings.Contains(body, tc.want) {
				t.Fatalf("status %d, body %s; want %d with %s", code, body, tc.code, tc.want)
			}
		})
	}

	dep := obj(t, h.must("GET", "/v1/scheduler/job/report", "", 200))
	if _, ok := dep["schedule"]; ok || !reflect.DeepEqual(dep["parents"], []any{"etl"}) {
		t.Fatalf("dependent job: %v", dep)
	}

	dot := `digraph G {
  1 [ label="berlin" ];
  2 [ label="etl" ];
  3 [ label="report" ];
  2 -> 3;
}
`
	if code, body := h.do("GET", "/v1/scheduler/graph/dot", ""); code != 200 || body != dot {
		t.Fatalf("dot: %d\n%s", code, body)
	}
	csv := "node,berlin,fresh,idle\nnode,etl,fresh,idle\nnode,report,fresh,idle\nlink,etl,report\n"
	if code, body := h.do("GET", "/scheduler/graph/csv", ""); code != 200 || body != csv {
		t.Fatalf("csv: %d\n%s", code, body)
	}

	// Run now with arguments (Chronos' "-a 1 -b 2", and the parameter repeated).
	h.must("PUT", "/v1/scheduler/job/etl?arguments=--day%202026-11-21&arguments=--dry", "", 204)
	active := h.eng.ActiveRuns("etl")
	if len(active) != 1 || !reflect.DeepEqual(active[0].Arguments, []string{"--day", "2026-11-21", "--dry"}) {
		t.Fatalf("active runs: %+v", active)
	}
	sum := obj(t, h.must("GET", "/v1/scheduler/jobs/summary", "", 200))
	wantSum := []any{
		map[string]any{"name": "berlin", "status": "fresh", "state": "idle", "schedule": "R5/2026-11-21T13:10:00.000+01:00/P1D", "parents": []any{}, "disabled": false},
		map[string]any{"name": "etl", "status": "fresh", "state": "queued", "schedule": "R/2026-11-21T12:00:00.000Z/PT1H", "parents": []any{}, "disabled": false},
		map[string]any{"name": "report", "status": "fresh", "state": "idle", "schedule": "", "parents": []any{"etl"}, "disabled": false},
	}
	if !reflect.DeepEqual(sum["jobs"], wantSum) {
		t.Fatalf("summary:\n%v\nwant\n%v", sum["jobs"], wantSum)
	}
	// Kill stops the run.
	h.must("DELETE", "/v1/scheduler/task/kill/etl", "", 204)
	if active := h.eng.ActiveRuns("etl"); len(active) != 0 {
		t.Fatalf("runs after kill: %+v", active)
	}
	if got := obj(t, h.must("GET", "/v1/scheduler/job/etl", "", 200)); got["errorCount"] != 1.0 || got["lastError"] != "2026-11-21T12:10:00.000Z" {
		t.Fatalf("counters after the kill: %v", got)
	}
	// Mark success: counted, and the dependent job runs.
	if code, body := h.do("PUT", "/v1/scheduler/job/success/etl", ""); code != 200 || body != "marked job etl as successful: true" {
		t.Fatalf("mark success: %d %s", code, body)
	}
	if got := obj(t, h.must("GET", "/v1/scheduler/job/etl", "", 200)); got["successCount"] != 1.0 {
		t.Fatalf("counters after success: %v", got)
	}
	if active := h.eng.ActiveRuns("report"); len(active) != 1 || active[0].Trigger != "dependency" {
		t.Fatalf("the dependent did not run: %+v", active)
	}
	// Replacing a job keeps its counters, whatever the hash says.
	h.must("POST", "/v1/scheduler/iso8601", `{"name":"etl","command":"run-etl-v2","schedule":"R//PT2H","successCount":99}`, 204)
	if got := obj(t, h.must("GET", "/v1/scheduler/job/etl", "", 200)); got["successCount"] != 1.0 || got["errorCount"] != 1.0 || got["command"] != "run-etl-v2" {
		t.Fatalf("counters after replace: %v", got)
	}
	// Delete: the child first, then the parent.
	h.must("DELETE", "/v1/scheduler/job/report", "", 204)
	h.must("DELETE", "/scheduler/job/etl", "", 204)
	if code, _ := h.do("GET", "/v1/scheduler/job/etl", ""); code != 404 {
		t.Fatalf("deleted job: %d", code)
	}
}

func TestChronosUnschedule(t *testing.T) {
	h := newHarness(t)
	h.must("POST", "/v1/scheduler/iso8601", `{"name":"once","command":"x","schedule":"R/2026-11-22T00:00:00Z/P1D"}`, 204)
	if next, ok := h.eng.NextRun("once", "chronos"); !ok || !next.Equal(time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("next run: %v %v", next, ok)
	}
	h.must("POST", "/v1/scheduler/iso8601", `{"name":"once","command":"x","schedule":"R0//PT0M"}`, 204)
	got := obj(t, h.must("GET", "/v1/scheduler/job/once", "", 200))
	if s, _ := got["schedule"].(string); !strings.HasPrefix(s, "R0/") {
		t.Fatalf("schedule: %v", got["schedule"])
	}
	if next, ok := h.eng.NextRun("once", "chronos"); ok {
		t.Fatalf("an unscheduled job runs at %v", next)
	}
}

func TestChronosSearch(t *testing.T) {
	h := newHarness(t)
	for _, b := range []string{
		`{"name":"Nightly_Backup","command":"backup --all","schedule":"R//P1D"}`,
		`{"name":"hourly-report","command":"REPORT","schedule":"R//PT1H"}`,
		`{"name":"cleanup","command":"rm -rf /tmp/backup","schedule":"R//P1W"}`,
	} {
		h.must("POST", "/v1/scheduler/iso8601", b, 204)
	}
	names := func(path string) []string {
		var out []string
		for _, j := range arr(t, h.must("GET", path, "", 200)) {
			out = append(out, obj(t, j)["name"].(string))
		}
		return out
	}
	tests := []struct {
		query string
		want  []string
	}{
		{"", []string{"Nightly_Backup", "cleanup", "hourly-report"}},
		{"name=BACKUP", []string{"Nightly_Backup"}},
		{"command=report", []string{"hourly-report"}},
		{"any=backup", []string{"Nightly_Backup", "cleanup"}},
		{"name=nightly&command=report", nil},
		{"name=nightly&command=report&any=clean", []string{"cleanup"}},
		{"any=backup&limit=1", []string{"Nightly_Backup"}},
		{"any=backup&offset=1", []string{"cleanup"}},
		{"any=backup&offset=9", nil},
	}
	for _, tc := range tests {
		if got := names("/v1/scheduler/jobs/search?" + tc.query); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("search %q: %v, want %v", tc.query, got, tc.want)
		}
	}
	if got := names("/scheduler/jobs"); len(got) != 3 {
		t.Fatalf("list: %v", got)
	}
	// A Chronos name Metronome would refuse is still a job under /v1/jobs.
	got := obj(t, h.must("GET", "/v1/jobs/Nightly_Backup", "", 200))
	if obj(t, got["run"])["cmd"] != "backup --all" {
		t.Fatalf("Chronos job under /v1/jobs: %v", got)
	}
}

// Both APIs show the same jobs.
func TestBothAPIsSeeOneJob(t *testing.T) {
	h := newHarness(t)
	h.must("POST", "/v1/scheduler/iso8601", `{"name":"shared","command":"echo from chronos","schedule":"R//PT1H","cpus":"0.25","mem":64,"constraints":[["rack","EQUALS","r1"]]}`, 204)
	m := obj(t, h.must("GET", "/v1/jobs/shared?embed=schedules", "", 200))
	run := obj(t, m["run"])
	if run["cmd"] != "echo from chronos" || run["cpus"] != 0.25 || run["mem"] != 64.0 {
		t.Fatalf("Metronome view of a Chronos job: %v", m)
	}
	if s := arr(t, m["schedules"]); len(s) != 0 {
		t.Fatalf("an ISO 8601 schedule is not a Metronome schedule: %v", s)
	}
	// A run started through Metronome is seen by Chronos.
	h.must("POST", "/v1/jobs/shared/runs", "", 201)
	if st := obj(t, h.must("GET", "/v1/scheduler/jobs/summary", "", 200)); !strings.Contains(mustJSON(t, st), `"state":"queued"`) {
		t.Fatalf("summary: %v", st)
	}

	h.must("POST", "/v1/jobs", `{"id":"from.metronome","description":"made by metronome","run":{"cmd":"echo hi","cpus":0.5,"mem":128}}`, 201)
	h.must("POST", "/v1/jobs/from.metronome/schedules", `{"id":"daily","cron":"0 3 * * *"}`, 201)
	c := obj(t, h.must("GET", "/v1/scheduler/job/from.metronome", "", 200))
	if c["command"] != "echo hi" || c["cpus"] != 0.5 || c["description"] != "made by metronome" || c["schedule"] != "" {
		t.Fatalf("Chronos view of a Metronome job: %v", c)
	}
	if cron := arr(t, c["strataCronSchedules"]); len(cron) != 1 || obj(t, cron[0])["cron"] != "0 3 * * *" {
		t.Fatalf("strataCronSchedules: %v", c["strataCronSchedules"])
	}
	// Chronos runs it now; Metronome sees the run.
	h.must("PUT", "/v1/scheduler/job/from.metronome", "", 204)
	if runs := arr(t, h.must("GET", "/v1/jobs/from.metronome/runs", "", 200)); len(runs) != 1 {
		t.Fatalf("runs: %v", runs)
	}
	// A Chronos post over the Metronome job keeps its cron schedule.
	h.must("POST", "/v1/scheduler/iso8601", `{"name":"from.metronome","command":"echo v2","schedule":"R//P1D"}`, 204)
	if s := arr(t, h.must("GET", "/v1/jobs/from.metronome/schedules", "", 200)); len(s) != 1 {
		t.Fatalf("cron schedules after a Chronos post: %v", s)
	}
}

func TestChronosRunHistoryThroughMetronome(t *testing.T) {
	h := newHarness(t)
	h.must("POST", "/v1/scheduler/iso8601", `{"name":"h","command":"x","schedule":"R//PT1H"}`, 204)
	h.must("PUT", "/v1/scheduler/job/h", "", 204)
	r := h.eng.ActiveRuns("h")[0]
	h.finishRun("h", r.ID, mesospb.TaskState_TASK_FINISHED, time.Second, "")
	c := obj(t, h.must("GET", "/v1/scheduler/job/h", "", 200))
	if c["successCount"] != 1.0 || c["lastSuccess"] != "2026-11-21T12:00:01.000Z" {
		t.Fatalf("counters: %v", c)
	}
	m := obj(t, h.must("GET", "/v1/jobs/h?embed=history", "", 200))
	if s := arr(t, obj(t, m["history"])["successfulFinishedRuns"]); len(s) != 1 {
		t.Fatalf("history: %v", m["history"])
	}
}

func TestDisabledJobDoesNotRunByHand(t *testing.T) {
	h := newHarness(t)
	h.must("POST", "/v1/scheduler/iso8601", `{"name":"off","command":"x","schedule":"R//PT1H","disabled":"true"}`, 204)
	if code, body := h.do("PUT", "/v1/scheduler/job/off", ""); code != 409 || !strings.Contains(body, "disabled") {
		t.Fatalf("Chronos run of a disabled job: %d %s", code, body)
	}
	if code, body := h.do("POST", "/v1/jobs/off/runs", ""); code != 409 || !strings.Contains(body, "disabled") {
		t.Fatalf("Metronome run of a disabled job: %d %s", code, body)
	}
	if len(h.eng.ActiveRuns("off")) != 0 {
		t.Fatal("a disabled job ran")
	}
}

// A job named like a route segment ("success", "stat") is still reachable.
func TestChronosJobNamedLikeARoute(t *testing.T) {
	h := newHarness(t)
	for _, name := range []string{"success", "search", "summary"} {
		h.must("POST", "/v1/scheduler/iso8601", `{"name":"`+name+`","command":"x","schedule":"R//PT1H"}`, 204)
		if got := obj(t, h.must("GET", "/v1/scheduler/job/"+name, "", 200)); got["name"] != name {
			t.Fatalf("GET %s: %v", name, got)
		}
		h.must("PUT", "/v1/scheduler/job/"+name, "", 204)
		h.must("DELETE", "/v1/scheduler/job/"+name, "", 204)
	}
	// Names with blanks and '#', URL-encoded.
	h.must("POST", "/v1/scheduler/iso8601", `{"name":"Daily Report #2","command":"x","schedule":"R//PT1H"}`, 204)
	if got := obj(t, h.must("GET", "/v1/scheduler/job/Daily%20Report%20%232", "", 200)); got["name"] != "Daily Report #2" {
		t.Fatalf("GET: %v", got)
	}
	if got := obj(t, h.must("GET", "/v1/jobs/Daily%20Report%20%232", "", 200)); got["id"] != "Daily Report #2" {
		t.Fatalf("GET /v1/jobs: %v", got)
	}
}
