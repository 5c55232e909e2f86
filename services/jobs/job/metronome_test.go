package job

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func mustDecodeSpec(t *testing.T, body string) *JobSpec {
	t.Helper()
	spec, err := DecodeJobSpec([]byte(body))
	if err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	return spec
}

func TestDecodeJobSpecDefaults(t *testing.T) {
	spec := mustDecodeSpec(t, `{"id":"prod.backup","run":{"cmd":"sleep 1"},"schedules":[{"id":"nightly","cron":"0 2 * * *"}]}`)
	r := spec.Run
	if r.Cpus != 1 || r.Mem != 128 || r.Disk != 0 || r.MaxLaunchDelay != 3600 || r.Restart.Policy != RestartNever {
		t.Errorf("run defaults: %+v", r)
	}
	if r.Restart.ActiveDeadlineSeconds != nil || r.Env == nil || r.Secrets == nil || r.Artifacts == nil ||
		r.Networks == nil || r.Volumes == nil || r.Placement.Constraints == nil {
		t.Errorf("collections must be non-nil: %+v", r)
	}
	if spec.Labels == nil || spec.Dependencies == nil {
		t.Errorf("labels and dependencies must be non-nil")
	}
	want := ScheduleSpec{ID: "nightly", Cron: "0 2 * * *", Timezone: "UTC", StartingDeadlineSeconds: 900,
		ConcurrencyPolicy: "ALLOW", Enabled: true, CatchUp: "RUN_ONCE"}
	if !reflect.DeepEqual(spec.Schedules, []ScheduleSpec{want}) {
		t.Errorf("schedule defaults: %+v", spec.Schedules)
	}
	if err := spec.Validate(); err != nil {
		t.Errorf("valid job: %v", err)
	}
}

func TestDecodeJobSpecFields(t *testing.T) {
	body := `{
	  "id": "a.b-c", "description": "d", "labels": {"team": "x"}, "dependencies": [{"id": "other"}],
	  "run": {
	    "args": ["/bin/tool", "-v"], "cpus": 0.5, "mem": 64, "disk": 10, "gpus": 0, "user": "nobody",
	    "env": {"PLAIN": "v", "SECRET": {"secret": "db"}}, "secrets": {"db": {"source": "/db/pass"}},
	    "artifacts": [{"uri": "http://h/a.tgz"}, {"uri": "http://h/b", "extract": false, "executable": true, "cache": true}],
	    "docker": {"image": "busybox", "forcePullImage": true, "privileged": true, "parameters": [{"key": "k", "value": "v"}]},
	    "networks": [{"mode": "container", "name": "dcos", "labels": {"a": "b"}}],
	    "volumes": [{"containerPath": "/data", "hostPath": "/srv", "mode": "ro"}, {"containerPath": "secret-file", "secret": "db"}],
	    "placement": {"constraints": [{"attribute": "rack", "operator": "IS", "value": "r1"}, {"attribute": "host", "operator": "like", "value": "a.*"}]},
	    "maxLaunchDelay": 600, "taskKillGracePeriodSeconds": 5,
	    "restart": {"policy": "ON_FAILURE", "activeDeadlineSeconds": 120}
	  }
	}`
	spec := mustDecodeSpec(t, body)
	if err := spec.Validate(); err != nil {
		t.Fatalf("valid job: %v", err)
	}
	r := spec.Run
	if !r.Artifacts[0].Extract || r.Artifacts[1].Extract || !r.Artifacts[1].Executable {
		t.Errorf("artifact extract default true, explicit false kept: %+v", r.Artifacts)
	}
	if r.Env["SECRET"] != (EnvValue{Secret: "db"}) || r.Env["PLAIN"] != (EnvValue{Value: "v"}) {
		t.Errorf("env: %+v", r.Env)
	}
	if r.Volumes[0].Mode != "RO" || r.Placement.Constraints[1].Operator != "LIKE" {
		t.Errorf("enumerations must be upper case: %+v %+v", r.Volumes, r.Placement)
	}
	if *r.Restart.ActiveDeadlineSeconds != 120 || *r.TaskKillGracePeriodSeconds != 5 {
		t.Errorf("restart: %+v", r.Restart)
	}
	out, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	again := mustDecodeSpec(t, string(out))
	if !reflect.DeepEqual(spec, again) {
		t.Errorf("JSON round trip changed the job:\n%+v\n%+v", spec, again)
	}
}

// TestZeroDeadlinesAreDefaults: clients always send 0 for unset deadlines.
func TestZeroDeadlinesAreDefaults(t *testing.T) {
	spec := mustDecodeSpec(t, `{"id":"j","run":{"cmd":"x","maxLaunchDelay":0,"restart":{"policy":"NEVER","activeDeadlineSeconds":0}},
		"schedules":[{"id":"s","cron":"* * * * *","startingDeadlineSeconds":0,"timezone":"","concurrencyPolicy":""}]}`)
	if spec.Run.Restart.ActiveDeadlineSeconds != nil || spec.Run.MaxLaunchDelay != 3600 {
		t.Errorf("run: %+v", spec.Run)
	}
	s := spec.Schedules[0]
	if s.StartingDeadlineSeconds != 900 || s.Timezone != "UTC" || s.ConcurrencyPolicy != "ALLOW" {
		t.Errorf("schedule: %+v", s)
	}
	if err := spec.Validate(); err != nil {
		t.Errorf("zeros must validate: %v", err)
	}
}

func TestDecodeJobSpecErrors(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		json       bool // *InvalidJSONError, else *ValidationError
		path       string
	}{
		{"empty", ``, true, ""},
		{"syntax", `{"id":`, true, ""},
		{"array", `[]`, true, ""},
		{"no run", `{"id":"a"}`, false, "/run"},
		{"null run", `{"id":"a","run":null}`, false, "/run"},
		{"cpus string", `{"id":"a","run":{"cmd":"x","cpus":"1"}}`, false, "/run/cpus"},
		{"env number", `{"id":"a","run":{"cmd":"x","env":{"A":1}}}`, false, "/run/env"},
		{"env object without secret", `{"id":"a","run":{"cmd":"x","env":{"A":{}}}}`, false, "/run/env"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeJobSpec([]byte(tc.body))
			var jerr *InvalidJSONError
			var verr *ValidationError
			switch {
			case tc.json && !errors.As(err, &jerr):
				t.Fatalf("want *InvalidJSONError, got %v", err)
			case !tc.json && !errors.As(err, &verr):
				t.Fatalf("want *ValidationError, got %v", err)
			case !tc.json && verr.Details[0].Path != tc.path:
				t.Fatalf("path %q, want %q (%v)", verr.Details[0].Path, tc.path, err)
			}
		})
	}
}

// details returns the validation error's paths with their messages joined.
func details(t *testing.T, err error) map[string]string {
	t.Helper()
	if err == nil {
		return nil
	}
	var verr *ValidationError
	if !errors.As(err, &verr) {
		t.Fatalf("want *ValidationError, got %T %v", err, err)
	}
	out := map[string]string{}
	for _, d := range verr.Details {
		out[d.Path] = strings.Join(d.Errors, "; ")
	}
	return out
}

func TestValidateJobSpec(t *testing.T) {
	for _, tc := range []struct {
		name string
		body string
		path string // "" = valid
		msg  string // part of the message
	}{
		{"minimal cmd", `{"id":"a","run":{"cmd":"x"}}`, "", ""},
		{"docker only", `{"id":"a","run":{"docker":{"image":"busybox"}}}`, "", ""},
		{"ucr only", `{"id":"a","run":{"ucr":{"image":{"id":"busybox"}}}}`, "", ""},
		{"args only", `{"id":"a","run":{"args":["/bin/true"]}}`, "", ""},
		{"hierarchical id", `{"id":"prod.team-a.backup","run":{"cmd":"x"}}`, "", ""},
		{"one char segments", `{"id":"a.b.c","run":{"cmd":"x"}}`, "", ""},
		{"missing id", `{"run":{"cmd":"x"}}`, "/id", "missing"},
		{"uppercase id", `{"id":"Prod","run":{"cmd":"x"}}`, "/id", "must fully match"},
		{"id ends with dash", `{"id":"a-","run":{"cmd":"x"}}`, "/id", "must fully match"},
		{"id starts with dash", `{"id":"a.-b","run":{"cmd":"x"}}`, "/id", "must fully match"},
		{"empty segment", `{"id":"a..b","run":{"cmd":"x"}}`, "/id", "must fully match"},
		{"underscore id", `{"id":"a_b","run":{"cmd":"x"}}`, "/id", "must fully match"},
		{"nothing to run", `{"id":"a","run":{}}`, "/run", "Cmd, docker or ucr image must be specified"},
		{"cmd and args", `{"id":"a","run":{"cmd":"x","args":["y"]}}`, "/run", "not both"},
		{"docker and ucr", `{"id":"a","run":{"docker":{"image":"a"},"ucr":{"image":{"id":"b"}}}}`, "/run", "Docker or UCR"},
		{"cpus too small", `{"id":"a","run":{"cmd":"x","cpus":0.001}}`, "/run/cpus", "got 0.001, expected 0.01 or more"},
		{"cpus zero", `{"id":"a","run":{"cmd":"x","cpus":0}}`, "/run/cpus", "expected 0.01"},
		{"cpus min", `{"id":"a","run":{"cmd":"x","cpus":0.01}}`, "", ""},
		{"mem too small", `{"id":"a","run":{"cmd":"x","mem":16}}`, "/run/mem", "got 16, expected 32 or more"},
		{"mem min", `{"id":"a","run":{"cmd":"x","mem":32}}`, "", ""},
		{"gpus", `{"id":"a","run":{"cmd":"x","gpus":1}}`, "/run/gpus", "not offered"},
		{"negative disk", `{"id":"a","run":{"cmd":"x","disk":-1}}`, "/run/disk", "expected 0 or more"},
		{"negative maxLaunchDelay", `{"id":"a","run":{"cmd":"x","maxLaunchDelay":-5}}`, "/run/maxLaunchDelay", "expected 1 or more"},
		{"bad restart policy", `{"id":"a","run":{"cmd":"x","restart":{"policy":"ALWAYS"}}}`, "/run/restart/policy", "not a valid restart policy"},
		{"negative active deadline", `{"id":"a","run":{"cmd":"x","restart":{"policy":"ON_FAILURE","activeDeadlineSeconds":-1}}}`, "/run/restart/activeDeadlineSeconds", "0 or more"},
		{"undefined secret", `{"id":"a","run":{"cmd":"x","env":{"P":{"secret":"nope"}}}}`, "/run/env/P", "undefined secret named 'nope'"},
		{"defined secret", `{"id":"a","run":{"cmd":"x","env":{"P":{"secret":"s"}},"secrets":{"s":{"source":"/x"}}}}`, "", ""},
		{"secret without source", `{"id":"a","run":{"cmd":"x","secrets":{"s":{}}}}`, "/run/secrets/s/source", "must not be empty"},
		{"IS accepted", `{"id":"a","run":{"cmd":"x","placement":{"constraints":[{"attribute":"rack","operator":"IS","value":"r1"}]}}}`, "", ""},
		{"EQ accepted", `{"id":"a","run":{"cmd":"x","placement":{"constraints":[{"attribute":"rack","operator":"EQ","value":"r1"}]}}}`, "", ""},
		{"UNLIKE accepted", `{"id":"a","run":{"cmd":"x","placement":{"constraints":[{"attribute":"rack","operator":"UNLIKE","value":"r[12]"}]}}}`, "", ""},
		{"unknown operator", `{"id":"a","run":{"cmd":"x","placement":{"constraints":[{"attribute":"rack","operator":"UNIQUE"}]}}}`, "/run/placement/constraints/0/operator", "not a valid operator"},
		{"bad regex", `{"id":"a","run":{"cmd":"x","placement":{"constraints":[{"attribute":"rack","operator":"LIKE","value":"r[1"}]}}}`, "/run/placement/constraints/0/value", "not a valid regular expression"},
		{"missing value", `{"id":"a","run":{"cmd":"x","placement":{"constraints":[{"attribute":"rack","operator":"EQ"}]}}}`, "/run/placement/constraints/0/value", "must not be empty"},
		{"artifact without uri", `{"id":"a","run":{"cmd":"x","artifacts":[{}]}}`, "/run/artifacts/0/uri", "must not be empty"},
		{"bad network mode", `{"id":"a","run":{"cmd":"x","networks":[{"mode":"weird"}]}}`, "/run/networks/0/mode", "not a valid mode"},
		{"container network needs name", `{"id":"a","run":{"cmd":"x","networks":[{"mode":"container"}]}}`, "/run/networks/0/name", "must not be empty"},
		{"host volume without mode", `{"id":"a","run":{"cmd":"x","volumes":[{"containerPath":"/a","hostPath":"/b"}]}}`, "/run/volumes/0/mode", "RO, RW"},
		{"relative host volume", `{"id":"a","run":{"cmd":"x","volumes":[{"containerPath":"a","hostPath":"/b","mode":"RW"}]}}`, "/run/volumes/0/containerPath", "absolute"},
		{"secret volume undefined", `{"id":"a","run":{"cmd":"x","volumes":[{"containerPath":"f","secret":"s"}]}}`, "/run/volumes/0/secret", "undefined secret"},
		{"ucr bad kind", `{"id":"a","run":{"ucr":{"image":{"id":"x","kind":"oci"}}}}`, "/run/ucr/image/kind", "docker, appc"},
		{"self dependency", `{"id":"a","dependencies":[{"id":"a"}],"run":{"cmd":"x"}}`, "/dependencies/0/id", "itself"},
		{"bad dependency", `{"id":"a","dependencies":[{"id":"b/c"}],"run":{"cmd":"x"}}`, "/dependencies/0/id", "must fully match"},
		{"duplicate dependency", `{"id":"a","dependencies":[{"id":"b"},{"id":"b"}],"run":{"cmd":"x"}}`, "/dependencies/1/id", "duplicate"},
		{"chronos-named dependency", `{"id":"a","dependencies":[{"id":"Nightly_Export"}],"run":{"cmd":"x"}}`, "", ""},
		{"several schedules", `{"id":"a","run":{"cmd":"x"},"schedules":[{"id":"a","cron":"0 * * * *"},{"id":"b","cron":"30 * * * *"}]}`, "", ""},
		{"duplicate schedule id", `{"id":"a","run":{"cmd":"x"},"schedules":[{"id":"a","cron":"0 * * * *"},{"id":"a","cron":"30 * * * *"}]}`, "/schedules/1/id", "duplicate schedule id"},
		{"unknown timezone", `{"id":"a","run":{"cmd":"x"},"schedules":[{"id":"s","cron":"0 * * * *","timezone":"Mars/Olympus"}]}`, "/schedules/0/timezone", "Mars/Olympus"},
		{"impossible date", `{"id":"a","run":{"cmd":"x"},"schedules":[{"id":"s","cron":"0 0 31 2 *"}]}`, "/schedules/0/cron", ""},
		{"30 february", `{"id":"a","run":{"cmd":"x"},"schedules":[{"id":"s","cron":"0 0 30 2 *"}]}`, "/schedules/0/cron", ""},
		{"29 february", `{"id":"a","run":{"cmd":"x"},"schedules":[{"id":"s","cron":"0 0 29 2 *"}]}`, "", ""},
		{"bad cron", `{"id":"a","run":{"cmd":"x"},"schedules":[{"id":"s","cron":"61 * * * *"}]}`, "/schedules/0/cron", ""},
		{"sunday as 7", `{"id":"a","run":{"cmd":"x"},"schedules":[{"id":"s","cron":"0 0 * * 5-7"}]}`, "", ""},
		{"bad policy", `{"id":"a","run":{"cmd":"x"},"schedules":[{"id":"s","cron":"* * * * *","concurrencyPolicy":"QUEUE"}]}`, "/schedules/0/concurrencyPolicy", "ALLOW, FORBID, REPLACE"},
		{"replace policy", `{"id":"a","run":{"cmd":"x"},"schedules":[{"id":"s","cron":"* * * * *","concurrencyPolicy":"replace"}]}`, "", ""},
		{"bad catch-up", `{"id":"a","run":{"cmd":"x"},"schedules":[{"id":"s","cron":"* * * * *","catchUp":"ALL"}]}`, "/schedules/0/catchUp", "SKIP, RUN_ONCE"},
		{"negative deadline", `{"id":"a","run":{"cmd":"x"},"schedules":[{"id":"s","cron":"* * * * *","startingDeadlineSeconds":-1}]}`, "/schedules/0/startingDeadlineSeconds", "0 or more"},
		{"bad schedule id", `{"id":"a","run":{"cmd":"x"},"schedules":[{"id":"Every_Hour","cron":"* * * * *"}]}`, "/schedules/0/id", "must fully match"},
		{"one char schedule id", `{"id":"a","run":{"cmd":"x"},"schedules":[{"id":"s","cron":"* * * * *"}]}`, "", ""},
		{"missing cron", `{"id":"a","run":{"cmd":"x"},"schedules":[{"id":"s"}]}`, "/schedules/0/cron", "missing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := mustDecodeSpec(t, tc.body)
			got := details(t, spec.Validate())
			if tc.path == "" {
				if got != nil {
					t.Fatalf("want valid, got %v", got)
				}
				return
			}
			msg, ok := got[tc.path]
			if !ok {
				t.Fatalf("want an error at %s, got %v", tc.path, got)
			}
			if !strings.Contains(msg, tc.msg) {
				t.Fatalf("message at %s = %q, want it to contain %q", tc.path, msg, tc.msg)
			}
		})
	}
}

func TestValidationErrorBody(t *testing.T) {
	spec := mustDecodeSpec(t, `{"id":"a","run":{"cmd":"x","mem":8}}`)
	err := spec.Validate()
	var verr *ValidationError
	if !errors.As(err, &verr) {
		t.Fatalf("got %v", err)
	}
	b, _ := json.Marshal(verr.Body())
	want := `{"message":"Object is not valid","details":[{"path":"/run/mem","errors":["got 8, expected 32 or more"]}]}`
	if string(b) != want {
		t.Errorf("body\n got %s\nwant %s", b, want)
	}
}

func TestValidateExistingSkipsIDRule(t *testing.T) {
	spec := mustDecodeSpec(t, `{"id":"Nightly_Report","run":{"cmd":"x"}}`)
	if spec.Validate() == nil {
		t.Fatal("Validate must apply the id rule")
	}
	if err := spec.ValidateExisting(); err != nil {
		t.Fatalf("ValidateExisting: %v", err)
	}
}

func TestDecodeScheduleSpec(t *testing.T) {
	s, err := DecodeScheduleSpec([]byte(`{"id":"every-minute","cron":"* * * * *","timezone":"America/Chicago","startingDeadlineSeconds":60,"enabled":false}`))
	if err != nil {
		t.Fatal(err)
	}
	want := ScheduleSpec{ID: "every-minute", Cron: "* * * * *", Timezone: "America/Chicago", StartingDeadlineSeconds: 60,
		ConcurrencyPolicy: "ALLOW", Enabled: false, CatchUp: "RUN_ONCE"}
	if *s != want {
		t.Errorf("got %+v", *s)
	}
	if err := s.Validate(); err != nil {
		t.Errorf("valid: %v", err)
	}
	bad, _ := DecodeScheduleSpec([]byte(`{"id":"x","cron":"* * * * *","timezone":"Nowhere/City"}`))
	if got := details(t, bad.Validate()); got["/timezone"] == "" {
		t.Errorf("unknown zone must name /timezone: %v", got)
	}
	// Metronome's JSON schema spells the field timeZone; encoding/json matches it too.
	alt, _ := DecodeScheduleSpec([]byte(`{"id":"x","cron":"* * * * *","timeZone":"Europe/Berlin"}`))
	if alt.Timezone != "Europe/Berlin" {
		t.Errorf("timeZone: %+v", alt)
	}
}
