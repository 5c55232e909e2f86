package api

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
)

// badBodies are bodies clients get wrong: none may get a 5xx anywhere.
var badBodies = []string{
	``,
	`null`,
	`[]`,
	`"job"`,
	`12`,
	`{`,
	`{"id":}`,
	`{"id":null,"run":null}`,
	`{"id":["a"],"run":{"cmd":"x"}}`,
	`{"id":"x","run":[]}`,
	`{"id":"x","run":{"cmd":{"a":1}}}`,
	`{"id":"x","run":{"cmd":"x","cpus":1e999}}`,
	`{"id":"x","run":{"cmd":"x","mem":-1e308}}`,
	`{"id":"x","run":{"cmd":"x","maxLaunchDelay":99999999999999999999999}}`,
	`{"id":"x","run":{"cmd":"x","gpus":3.5}}`,
	`{"id":"x","run":{"cmd":"x","env":{"A":{"secret":5}}}}`,
	`{"id":"x","run":{"cmd":"x","restart":{"policy":"ON_FAILURE","activeDeadlineSeconds":-5}}}`,
	`{"id":"x","run":{"cmd":"x","placement":{"constraints":[{"attribute":"a","operator":"NEAR"}]}}}`,
	`{"id":"x","run":{"cmd":"x","volumes":[{"containerPath":"/a","hostPath":"/b","mode":"RX"}]}}`,
	`{"id":"x","run":{"cmd":"x","networks":[{"mode":"overlay"}]}}`,
	`{"id":"x","run":{"cmd":"x"},"schedules":[{"id":"s","cron":"0 0 * * *","startingDeadlineSeconds":"soon"}]}`,
	`{"id":"x","cron":"0 0 31 2 *","timezone":"Nowhere/Land","concurrencyPolicy":7}`,
	`{"id":"s","cron":"@every 1s"}`,
	`{"name":"x","command":"x","schedule":"R/2026-13-45T99:00:00Z/PT1H"}`,
	`{"name":"x","command":"x","schedule":"R99999999999999999999//PT1H"}`,
	`{"name":"x","command":"x","schedule":"R//P99999999999999999999Y"}`,
	`{"name":"x","command":"x","schedule":"R//PT0S"}`,
	`{"name":"x","command":"x","schedule":"R//PT1H","epsilon":"forever"}`,
	`{"name":"x","command":"x","schedule":"R//PT1H","cpus":"NaN"}`,
	`{"name":"x","command":"x","schedule":"R//PT1H","retries":"1e30"}`,
	`{"name":"x","command":"x","parents":"etl"}`,
	`{"name":"x","command":"x","parents":[null]}`,
	`{"name":"x","command":"x","container":{"type":"ROCKET","image":"i"},"schedule":"R//PT1H"}`,
	`{"name":"x","command":"x","constraints":[["a"]],"schedule":"R//PT1H"}`,
	`{"name":"x","command":"x","constraints":[["a","LIKE","("]],"schedule":"R//PT1H"}`,
}

// idOnlyBodies are wrong only in their id, which PUT ignores (the URL names the job).
var idOnlyBodies = []string{
	"{\"id\":\"\xff\xfe\",\"run\":{\"cmd\":\"x\"}}",
	`{"id":"` + strings.Repeat("a", 100000) + `","run":{"cmd":"x"}}`,
	`{"id":"` + strings.Repeat("a", 256) + `","run":{"cmd":"x"}}`,
	`{"name":"` + strings.Repeat("a", 256) + `","command":"x","schedule":"R//PT1H"}`,
}

// badScheduleBody is wrong only in its schedules, which POST and PUT /v1/jobs ignore, as
// Metronome does.
const badScheduleBody = `{"id":"x","run":{"cmd":"x"},"schedules":[{"id":"s","cron":"* * * * * * * *"}]}`

// writeEndpoints are the endpoints that take a body; "existing" is a job that exists.
var writeEndpoints = []struct{ method, path string }{
	{"POST", "/v1/jobs"},
	{"PUT", "/v1/jobs/existing"},
	{"POST", "/v1/jobs/existing/schedules"},
	{"PUT", "/v1/jobs/existing/schedules/daily"},
	{"POST", "/v1/jobs/existing/runs"},
	{"POST", "/v0/scheduled-jobs"},
	{"PUT", "/v0/scheduled-jobs/existing"},
	{"POST", "/v1/scheduler/iso8601"},
	{"POST", "/v1/scheduler/dependency"},
	{"POST", "/scheduler/iso8601"},
}

func TestMalformedInputIsAClientError(t *testing.T) {
	h := newHarness(t)
	h.must("POST", "/v1/jobs", minimal("existing"), 201)
	h.must("POST", "/v1/jobs/existing/schedules", `{"id":"daily","cron":"0 3 * * *"}`, 201)
	all := append(append(append([]string{}, badBodies...), idOnlyBodies...), badScheduleBody)
	for _, ep := range writeEndpoints {
		for i, b := range all {
			code, out := h.do(ep.method, ep.path, b)
			if code >= 500 {
				t.Errorf("%s %s with body #%d: %d %.300s", ep.method, ep.path, i, code, out)
			}
			mayAccept := ep.path == "/v1/jobs/existing/runs" || // the body is not read
				(ep.method == "PUT" && strings.Contains(ep.path, "/existing") && slices.Contains(idOnlyBodies, b)) ||
				(strings.HasPrefix(ep.path, "/v1/jobs") && !strings.Contains(ep.path, "schedules") && b == badScheduleBody)
			if code < 400 && !mayAccept {
				t.Errorf("%s %s with body #%d accepted: %d %.300s", ep.method, ep.path, i, code, out)
			}
		}
	}
	// Bad paths and queries.
	for _, path := range []string{
		"/v1/jobs/%00", "/v1/jobs/" + strings.Repeat("x", 5000), "/v1/jobs/existing/runs/..%2F..",
		"/v1/jobs?embed=%ff", "/v1/jobs/existing?embed=", "/v1/scheduler/job/%ff",
		"/v1/scheduler/jobs/search?limit=99999999999999999999", "/v1/scheduler/jobs/search?offset=x",
	} {
		if code, out := h.do("GET", path, ""); code >= 500 {
			t.Errorf("GET %s: %d %s", path, code, out)
		}
	}
	if code, out := h.do("POST", "/v1/jobs", `{"id":"big","run":{"cmd":"`+strings.Repeat("x", maxBody)+`"}}`); code != http.StatusRequestEntityTooLarge {
		t.Errorf("a body over the limit: %d %.200s", code, out)
	}
}

// FuzzMetronomeCreate posts arbitrary bodies to the job-creating endpoints: never a 5xx, and a
// job that was created can be read back.
func FuzzMetronomeCreate(f *testing.F) {
	for _, b := range append(append([]string{badScheduleBody}, badBodies...), idOnlyBodies...) {
		if len(b) < 1000 {
			f.Add([]byte(b))
		}
	}
	f.Add([]byte(minimal("seed")))
	eng, _, clk, _ := newEngine(f)
	handler := New(Config{Engine: eng, Now: clk.Now, Logger: quiet})
	serve := func(method, path string, body []byte) (int, string) {
		req := httptest.NewRequest(method, path, strings.NewReader(string(body)))
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		return rec.Code, rec.Body.String()
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		defer func() {
			// Start each input from an empty set of jobs; children go before their parents.
			for progress := true; progress; {
				progress = false
				for _, j := range eng.Jobs() {
					if eng.DeleteJob(context.Background(), j.ID, true) == nil {
						progress = true
					}
				}
			}
		}()
		code, out := serve("POST", "/v1/jobs", body)
		if code >= 500 {
			t.Fatalf("POST /v1/jobs: %d %s", code, out)
		}
		if code == http.StatusCreated {
			var id string
			for _, j := range eng.Jobs() {
				id = j.ID
			}
			if c, o := serve("GET", "/v1/jobs/"+id+"?embed=schedules,history", nil); c != http.StatusOK {
				t.Fatalf("GET of a created job %q: %d %s", id, c, o)
			}
			if c, o := serve("PUT", "/v1/jobs/"+id, body); c >= 500 {
				t.Fatalf("PUT: %d %s", c, o)
			}
		}
		for _, path := range []string{"/v0/scheduled-jobs", "/v1/scheduler/iso8601", "/v1/scheduler/dependency"} {
			if c, o := serve("POST", path, body); c >= 500 {
				t.Fatalf("POST %s: %d %s", path, c, o)
			}
		}
	})
}
