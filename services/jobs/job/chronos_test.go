package job

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func mustDecodeChronos(t *testing.T, body string) *ChronosJob {
	t.Helper()
	c, err := DecodeChronosJob([]byte(body))
	if err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	return c
}

func TestDecodeChronosDefaults(t *testing.T) {
	c := mustDecodeChronos(t, `{"name":"SAMPLE_JOB1","command":"echo hi","schedule":"R10/2012-10-01T05:52:00Z/PT2S"}`)
	if !c.Shell || c.Epsilon != "PT60S" || c.Retries != 2 || c.Cpus != 0.1 || c.Mem != 128 || c.Disk != 256 {
		t.Errorf("defaults: %+v", c)
	}
	if c.Schedule == nil || *c.Schedule != "R10/2012-10-01T05:52:00Z/PT2S" || c.ScheduleTimeZone == nil || *c.ScheduleTimeZone != "" {
		t.Errorf("schedule fields: %v %v", c.Schedule, c.ScheduleTimeZone)
	}
	if c.Arguments == nil || c.EnvironmentVariables == nil || c.Fetch == nil || c.URIs == nil || c.Constraints == nil {
		t.Errorf("collections must be non-nil: %+v", c)
	}
	if err := c.Validate(ChronosScheduled); err != nil {
		t.Errorf("valid: %v", err)
	}
}

func TestDecodeChronosStringsAndZeros(t *testing.T) {
	c := mustDecodeChronos(t, `{"name":"dockerjob","command":"date","schedule":"R/2014-09-25T17:22:00Z/PT2M",
		"cpus":"0.5","mem":"512","disk":0,"retries":"3","async":"false","shell":"true","dataJob":true,
		"container":{"type":"docker","image":"libmesos/ubuntu","network":"BRIDGE","forcePullImage":"true",
		  "volumes":[{"containerPath":"/var/log/","hostPath":"/logs/","mode":"rw"}]}}`)
	if c.Cpus != 0.5 || c.Mem != 512 || c.Disk != 256 || c.Retries != 3 || c.Async || !c.Shell || !c.DataJob {
		t.Errorf("flexible values: %+v", c)
	}
	ct := c.Container
	if ct.Type != "DOCKER" || !ct.ForcePullImage || ct.Network != "BRIDGE" || ct.Volumes[0].Mode != "RW" {
		t.Errorf("container: %+v", ct)
	}
	if err := c.Validate(ChronosScheduled); err != nil {
		t.Errorf("valid: %v", err)
	}
	cpus := mustDecodeChronos(t, `{"name":"a","command":"x","cpus":0.5}`)
	if cpus.Cpus != 0.5 {
		t.Errorf("numeric cpus: %v", cpus.Cpus)
	}
}

func TestDecodeChronosErrors(t *testing.T) {
	for _, tc := range []struct{ body, field string }{
		{`{"name":`, "json"},
		{`"x"`, "json"},
		{`{"name":"a","command":"x","cpus":"lots"}`, "cpus"},
		{`{"name":"a","command":"x","retries":"many"}`, "retries"},
		{`{"name":"a","command":"x","async":"maybe"}`, "async"},
		{`{"name":"a","command":"x","parents":"b"}`, "parents"},
		{`{"name":"a","command":"x","container":{"image":"i","forcePullImage":"sometimes"}}`, "forcePullImage"},
	} {
		_, err := DecodeChronosJob([]byte(tc.body))
		var cerr *ChronosError
		if !errors.As(err, &cerr) || cerr.Field != tc.field {
			t.Errorf("%s: want a ChronosError on %q, got %v", tc.body, tc.field, err)
		}
	}
}

func TestNormalizeChronos(t *testing.T) {
	c := mustDecodeChronos(t, `{"name":"n","command":"x","parents":["p","p","q"],"schedule":"",
		"uris":["http://h/a.tgz"],"fetch":[{"uri":"http://h/b"}],
		"environmentVariables":[{"name":"B","value":"1"},{"name":"A","value":"2"},{"name":"B","value":"3"}],
		"constraints":[["rack","equals","r1"]],"lastSuccess":"2014-03-08T16:57:17.507+01:00","maxCompletionTime":-1,
		"container":{"image":"i","network":"USER","networkName":"dcos","parameters":[{"key":"a","value":"b"}],"type":"MESOS"}}`)
	if c.Schedule != nil || c.ScheduleTimeZone != nil || !reflect.DeepEqual(c.Parents, []string{"p", "q"}) {
		t.Errorf("a dependent job carries no schedule: %v %v %v", c.Schedule, c.ScheduleTimeZone, c.Parents)
	}
	wantFetch := []ChronosFetch{{URI: "http://h/b"}, {URI: "http://h/a.tgz", Extract: true}}
	if !reflect.DeepEqual(c.Fetch, wantFetch) || len(c.URIs) != 0 {
		t.Errorf("uris become fetch entries: %+v %v", c.Fetch, c.URIs)
	}
	wantEnv := []ChronosEnv{{Name: "A", Value: "2"}, {Name: "B", Value: "3"}}
	if !reflect.DeepEqual(c.EnvironmentVariables, wantEnv) {
		t.Errorf("env: %+v", c.EnvironmentVariables)
	}
	if c.Constraints[0][1] != "EQUALS" || c.LastSuccess != "2014-03-08T15:57:17.507Z" || c.MaxCompletionTime != 0 {
		t.Errorf("constraints, lastSuccess, maxCompletionTime: %v %q %d", c.Constraints, c.LastSuccess, c.MaxCompletionTime)
	}
	ct := c.Container
	if ct.NetworkName != "" || !reflect.DeepEqual(ct.NetworkInfos, []ChronosNetworkInfo{{Name: "dcos"}}) || len(ct.Parameters) != 0 {
		t.Errorf("container: %+v", ct)
	}
	if err := c.Validate(ChronosDependent); err != nil {
		t.Errorf("valid: %v", err)
	}
	// Normalize is idempotent.
	again := *c
	again.Normalize()
	if !reflect.DeepEqual(&again, c) {
		t.Errorf("second Normalize changed the job")
	}
}

func TestValidateChronos(t *testing.T) {
	for _, tc := range []struct {
		name  string
		kind  ChronosKind
		body  string
		field string // "" = valid
		msg   string
	}{
		{"scheduled", ChronosScheduled, `{"name":"a","command":"x","schedule":"R/2014-03-08T20:00:00Z/PT2H"}`, "", ""},
		{"unschedule R0//PT0M", ChronosScheduled, `{"name":"a","command":"x","schedule":"R0//PT0M"}`, "", ""},
		{"run once R1", ChronosScheduled, `{"name":"a","command":"x","schedule":"R1//PT24H","epsilon":"PT10M"}`, "", ""},
		{"with time zone", ChronosScheduled, `{"name":"a","command":"x","schedule":"R/2014-10-10T18:32:00Z/PT60M","scheduleTimeZone":"America/Los_Angeles"}`, "", ""},
		{"chronos name chars", ChronosScheduled, `{"name":"Nightly_Report.v2 #1","command":"x","schedule":"R//P1D"}`, "", ""},
		{"bad name", ChronosScheduled, `{"name":"a/b","command":"x","schedule":"R//P1D"}`, "name", "must match"},
		{"empty name", ChronosScheduled, `{"command":"x","schedule":"R//P1D"}`, "name", "must not be empty"},
		{"no command", ChronosScheduled, `{"name":"a","schedule":"R//P1D"}`, "command", "must not be empty"},
		{"docker without command", ChronosScheduled, `{"name":"a","schedule":"R//P1D","container":{"image":"busybox"}}`, "", ""},
		{"scheduled without schedule", ChronosScheduled, `{"name":"a","command":"x"}`, "schedule", "needs an ISO 8601 schedule"},
		{"scheduled with parents", ChronosScheduled, `{"name":"a","command":"x","schedule":"R//P1D","parents":["b"]}`, "parents", "must not have parents"},
		{"dependent", ChronosDependent, `{"name":"a","command":"x","parents":["b"]}`, "", ""},
		{"dependent without parents", ChronosDependent, `{"name":"a","command":"x"}`, "parents", "at least one parent"},
		{"dependent with schedule", ChronosDependent, `{"name":"a","command":"x","parents":["b"],"schedule":"R//P1D"}`, "schedule", "must not have a schedule"},
		{"own parent", ChronosDependent, `{"name":"a","command":"x","parents":["a"]}`, "parents", "own parent"},
		{"bad schedule", ChronosScheduled, `{"name":"a","command":"x","schedule":"every day"}`, "schedule", ""},
		{"zero period", ChronosScheduled, `{"name":"a","command":"x","schedule":"R/2014-03-08T20:00:00Z/PT0M"}`, "schedule", ""},
		{"bad zone", ChronosScheduled, `{"name":"a","command":"x","schedule":"R//P1D","scheduleTimeZone":"Mars/Base"}`, "scheduleTimeZone", "Mars/Base"},
		{"bad epsilon", ChronosScheduled, `{"name":"a","command":"x","schedule":"R//P1D","epsilon":"10 minutes"}`, "epsilon", ""},
		{"negative cpus", ChronosAnyKind, `{"name":"a","command":"x","cpus":-1}`, "cpus", "greater than 0"},
		{"negative disk", ChronosAnyKind, `{"name":"a","command":"x","disk":"-1"}`, "disk", "0 or more"},
		{"bad constraint operator", ChronosAnyKind, `{"name":"a","command":"x","constraints":[["rack","GROUP_BY","2"]]}`, "constraints[0]", "EQUALS, LIKE, UNLIKE"},
		{"short constraint", ChronosAnyKind, `{"name":"a","command":"x","constraints":[["rack","EQUALS"]]}`, "constraints[0]", "[attribute, operator, value]"},
		{"bad regex", ChronosAnyKind, `{"name":"a","command":"x","constraints":[["rack","LIKE","r[1"]]}`, "constraints[0]", "regular expression"},
		{"container without image", ChronosAnyKind, `{"name":"a","command":"x","container":{"type":"DOCKER"}}`, "container.image", "must not be empty"},
		{"bad container type", ChronosAnyKind, `{"name":"a","command":"x","container":{"type":"RKT","image":"i"}}`, "container.type", "DOCKER, MESOS"},
		{"USER without network", ChronosAnyKind, `{"name":"a","command":"x","container":{"image":"i","network":"USER"}}`, "container.networkName", "USER"},
		{"bad lastSuccess", ChronosAnyKind, `{"name":"a","command":"x","lastSuccess":"yesterday"}`, "lastSuccess", "timestamp"},
		{"bad cron extra", ChronosAnyKind, `{"name":"a","command":"x","strataCronSchedules":[{"id":"s","cron":"0 0 31 2 *"}]}`, "strataCronSchedules[0].cron", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := mustDecodeChronos(t, tc.body)
			err := c.Validate(tc.kind)
			if tc.field == "" {
				if err != nil {
					t.Fatalf("want valid, got %v", err)
				}
				return
			}
			var cerr *ChronosError
			if !errors.As(err, &cerr) {
				t.Fatalf("want a *ChronosError, got %v", err)
			}
			if cerr.Field != tc.field || !strings.Contains(cerr.Message, tc.msg) {
				t.Fatalf("got %q: %q, want %q containing %q", cerr.Field, cerr.Message, tc.field, tc.msg)
			}
			if !strings.HasPrefix(cerr.Text(), tc.field+": ") {
				t.Fatalf("the message must name the field: %q", cerr.Text())
			}
		})
	}
}

// TestChronosJSONRoundTrip: a normalized Chronos job survives encoding/json unchanged.
func TestChronosJSONRoundTrip(t *testing.T) {
	c := mustDecodeChronos(t, `{"name":"camus_kafka2hdfs","command":"/srv/job.bash","arguments":["-verbose","-debug"],
		"shell":false,"epsilon":"PT30M","retries":2,"owner":"bofh@example.com","async":false,"successCount":190,
		"errorCount":3,"lastSuccess":"2014-03-08T16:57:17.507Z","lastError":"2014-03-01T00:10:15.957Z","cpus":1.0,
		"disk":10240,"mem":1024,"disabled":false,"fetch":[{"uri":"https://url-to-file","cache":false,"extract":false,"executable":false}],
		"schedule":"R/2014-03-08T20:00:00.000Z/PT2H","environmentVariables":[{"name":"JVMOPTS","value":"-Xmx1000m"}]}`)
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var again ChronosJob
	if err := json.Unmarshal(b, &again); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c, &again) {
		t.Errorf("round trip:\n%+v\n%+v", c, again)
	}
}
