package job

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"
)

var metronomeBodies = []string{
	`{"id":"a","run":{"cmd":"sleep 1"}}`,
	`{"id":"prod.backup","description":"nightly","labels":{"team":"ops"},"dependencies":[{"id":"prod.export"}],
	  "run":{"cmd":"backup.sh","cpus":0.5,"mem":256,"disk":100,"user":"backup","env":{"A":"1","S":{"secret":"db"}},
	  "secrets":{"db":{"source":"/prod/db"}},"artifacts":[{"uri":"http://h/a.tgz","extract":false}],
	  "placement":{"constraints":[{"attribute":"rack","operator":"IS","value":"r1"},{"attribute":"host","operator":"UNLIKE","value":"bad.*"}]},
	  "maxLaunchDelay":120,"taskKillGracePeriodSeconds":3,"restart":{"policy":"ON_FAILURE","activeDeadlineSeconds":600},
	  "volumes":[{"containerPath":"/data","hostPath":"/srv/data","mode":"RW"},{"containerPath":"creds","secret":"db"}]},
	  "schedules":[{"id":"nightly","cron":"0 2 * * *","timezone":"Europe/Berlin","startingDeadlineSeconds":60,"concurrencyPolicy":"FORBID","enabled":false,"catchUp":"SKIP"},
	               {"id":"sundays","cron":"0 12 * * 7"}]}`,
	`{"id":"img","run":{"args":["--verbose"],"docker":{"image":"busybox","privileged":true,"parameters":[{"key":"a","value":"b"}]},
	  "networks":[{"mode":"container","name":"dcos","labels":{"x":"y"}}]}}`,
	`{"id":"ucr","run":{"ucr":{"image":{"id":"alpine","kind":"appc","forcePull":true},"privileged":true},"taskKillGracePeriodSeconds":0.5}}`,
}

// TestMetronomeRoundTrip: Metronome → Job → Metronome is the identity on normalized input.
func TestMetronomeRoundTrip(t *testing.T) {
	for _, body := range metronomeBodies {
		spec := mustDecodeSpec(t, body)
		j, err := FromMetronome(*spec, nil)
		if err != nil {
			t.Fatalf("%s: %v", body, err)
		}
		if j.CreatedBy != CreatedByMetronome {
			t.Errorf("createdBy %q", j.CreatedBy)
		}
		schedules := spec.Schedules
		spec.Schedules = nil
		if got := j.Metronome(); !reflect.DeepEqual(got, *spec) {
			t.Errorf("Metronome view of %s:\n got %+v\nwant %+v", body, got, *spec)
		}
		if schedules == nil {
			schedules = []ScheduleSpec{}
		}
		if got := j.MetronomeSchedules(); !reflect.DeepEqual(got, schedules) {
			t.Errorf("schedules of %s:\n got %+v\nwant %+v", body, got, schedules)
		}
		storageRoundTrip(t, j)
	}
}

var chronosBodies = []string{
	`{"name":"SAMPLE_JOB1","command":"echo 'FOO' >> /tmp/JOB1_OUT","schedule":"R10/2012-10-01T05:52:00Z/PT2S","epsilon":"PT15M","owner":"bob@airbnb.com","async":false}`,
	`{"async":true,"command":"bash -x hive_query.bash","epsilon":"PT30M","errorCount":0,"lastError":"","lastSuccess":"2013-03-15T13:02:14.243Z",
	  "name":"hostings_earnings_summary","owner":"bob@airbnb.com","parents":["db_export-airbed_hostings","db_export-airbed_reservation2s"],"retries":2,"successCount":100}`,
	`{"name":"camus_kafka2hdfs","command":"/srv/kafka_hdfs_job.bash","arguments":["-verbose","-debug"],"shell":false,"epsilon":"PT30M",
	  "executor":"","executorFlags":"","retries":2,"owner":"bofh@your-company.com","async":false,"successCount":190,"errorCount":3,
	  "lastSuccess":"2014-03-08T16:57:17.507Z","lastError":"2014-03-01T00:10:15.957Z","cpus":1.0,"disk":10240,"mem":1024,"disabled":false,
	  "fetch":[{"uri":"https://url-to-file","cache":false,"extract":false,"executable":false}],"schedule":"R/2014-03-08T20:00:00.000Z/PT2H",
	  "environmentVariables":[{"name":"JVMOPTS","value":"-Xmx1000m"},{"name":"JAVA_LIBRARY_PATH","value":"/usr/local/lib"}]}`,
	`{"schedule":"R/2014-09-25T17:22:00Z/PT2M","name":"dockerjob","container":{"type":"DOCKER","image":"libmesos/ubuntu","network":"BRIDGE",
	  "volumes":[{"containerPath":"/var/log/","hostPath":"/logs/","mode":"RW"}],"forcePullImage":true,"parameters":[{"key":"a-docker-option","value":"xxx"}]},
	  "cpus":"0.5","mem":"512","fetch":[],"command":"while sleep 10; do date =u %T; done","concurrent":true,"scheduleTimeZone":"America/New_York",
	  "constraints":[["rack","EQUALS","rack-1"],["host","LIKE","h[1-3]"]],"softError":true,"highPriority":true,"runAsUser":"nobody","maxCompletionTime":60000}`,
	`{"name":"unscheduled","command":"x","schedule":"R0//PT0M","disabled":true,"retries":0,"description":"off"}`,
	`{"name":"user-net","command":"x","schedule":"R1//PT24H","epsilon":"PT10M","container":{"type":"MESOS","image":"alpine","network":"USER",
	  "networkInfos":[{"name":"a","labels":[{"key":"k","value":"v"}]},{"name":"b"}]}}`,
	`{"name":"with-cron","command":"x","strataCronSchedules":[{"id":"hourly","cron":"0 * * * *","timezone":"Asia/Tokyo"}]}`,
}

// TestChronosRoundTrip: Chronos → Job → Chronos is the identity on normalized input.
func TestChronosRoundTrip(t *testing.T) {
	for _, body := range chronosBodies {
		c := mustDecodeChronos(t, body)
		j, err := FromChronos(*c)
		if err != nil {
			t.Fatalf("%s: %v", body, err)
		}
		if j.CreatedBy != CreatedByChronos {
			t.Errorf("createdBy %q", j.CreatedBy)
		}
		if got := j.Chronos(); !reflect.DeepEqual(got, *c) {
			gb, _ := json.Marshal(got)
			wb, _ := json.Marshal(c)
			t.Errorf("Chronos view:\n got %s\nwant %s", gb, wb)
		}
		storageRoundTrip(t, j)
	}
}

// storageRoundTrip checks that a job survives its JSON (storage) form unchanged.
func storageRoundTrip(t *testing.T, j *Job) {
	t.Helper()
	b, err := json.Marshal(j)
	if err != nil {
		t.Fatal(err)
	}
	var again Job
	if err := json.Unmarshal(b, &again); err != nil {
		t.Fatalf("unmarshal %s: %v", b, err)
	}
	if !reflect.DeepEqual(j, &again) {
		t.Errorf("storage round trip changed the job:\n%+v\n%+v\n%s", j, &again, b)
	}
}

func TestStorageRoundTripEdgeValues(t *testing.T) {
	grace, deadline := 2.5, int64(30)
	j := &Job{
		ID: "x", Labels: map[string]string{}, Parents: nil, Schedules: []Schedule{},
		Run: Run{Args: []string{}, Env: map[string]EnvValue{"E": {Secret: "s"}, "F": {Value: ""}}, Artifacts: []Artifact{{URI: "u"}},
			Docker: &DockerSpec{Image: "i"}, Ucr: &UcrSpec{Image: ImageSpec{ID: "u"}}, Networks: []Network{{Mode: "host"}},
			TaskKillGracePeriodSeconds: &grace, ActiveDeadlineSeconds: &deadline},
		LastSuccess: time.Date(2024, 2, 29, 1, 2, 3, 456789, time.UTC),
		Retries:     RetryUntilDeadline,
	}
	storageRoundTrip(t, j)
}

// TestMetronomeJobInChronos: how /v1/scheduler shows a Metronome job.
func TestMetronomeJobInChronos(t *testing.T) {
	spec := mustDecodeSpec(t, metronomeBodies[1])
	j, err := FromMetronome(*spec, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := j.Chronos()
	if c.Name != "prod.backup" || c.Command != "backup.sh" || !c.Shell || c.Retries != RetryUntilDeadline {
		t.Errorf("name, command, retries: %+v", c)
	}
	if c.Schedule != nil || !reflect.DeepEqual(c.Parents, []string{"prod.export"}) {
		t.Errorf("a job with dependencies shows parents and no schedule: %v %v", c.Schedule, c.Parents)
	}
	if len(c.StrataCronSchedules) != 2 || c.StrataCronSchedules[1].Cron != "0 12 * * 7" {
		t.Errorf("cron schedules: %+v", c.StrataCronSchedules)
	}
	if !reflect.DeepEqual(c.EnvironmentVariables, []ChronosEnv{{Name: "A", Value: "1"}}) {
		t.Errorf("secret env entries are left out: %+v", c.EnvironmentVariables)
	}
	if !reflect.DeepEqual(c.Constraints, [][]string{{"rack", "EQUALS", "r1"}, {"host", "UNLIKE", "bad.*"}}) {
		t.Errorf("constraints: %v", c.Constraints)
	}
	if err := c.Validate(ChronosAnyKind); err != nil {
		t.Errorf("the Chronos view must validate: %v", err)
	}
	// Re-posting the view gives back the same job.
	back, err := FromChronos(c)
	if err != nil {
		t.Fatal(err)
	}
	if got := back.Chronos(); !reflect.DeepEqual(got, c) {
		t.Errorf("Chronos view is not stable:\n%+v\n%+v", got, c)
	}

	cronOnly := mustDecodeSpec(t, `{"id":"c","run":{"args":["/bin/echo","hi"]},"schedules":[{"id":"s","cron":"*/5 * * * *"}]}`)
	j2, err := FromMetronome(*cronOnly, nil)
	if err != nil {
		t.Fatal(err)
	}
	c2 := j2.Chronos()
	if c2.Schedule == nil || *c2.Schedule != "" || c2.Command != "" || !reflect.DeepEqual(c2.Arguments, []string{"/bin/echo", "hi"}) || c2.Shell {
		t.Errorf("a cron-only job shows schedule \"\" and its args: %+v", c2)
	}
	if c2.Concurrent {
		t.Errorf("concurrent comes from the ISO schedule or the Chronos options only")
	}
}

// TestChronosJobInMetronome: how /v1/jobs shows a Chronos job.
func TestChronosJobInMetronome(t *testing.T) {
	c := mustDecodeChronos(t, chronosBodies[2])
	j, err := FromChronos(*c)
	if err != nil {
		t.Fatal(err)
	}
	spec := j.Metronome()
	if spec.ID != "camus_kafka2hdfs" || spec.Run.Cmd != "" ||
		!reflect.DeepEqual(spec.Run.Args, []string{"/srv/kafka_hdfs_job.bash", "-verbose", "-debug"}) {
		t.Errorf("shell=false shows as args: %+v", spec.Run)
	}
	if spec.Run.Restart.Policy != RestartOnFailure || spec.Run.Cpus != 1 || spec.Run.Mem != 1024 {
		t.Errorf("run: %+v", spec.Run)
	}
	if len(j.MetronomeSchedules()) != 0 {
		t.Errorf("ISO 8601 schedules do not show in Metronome")
	}
	iso, _ := j.ISOSchedule()
	if iso.StartingDeadlineSeconds != 1800 || iso.ConcurrencyPolicy != ConcurrencyForbid || iso.ID != ChronosScheduleID {
		t.Errorf("ISO schedule: %+v", iso)
	}
	// The Metronome view validates once the id rule is skipped (the name has '_').
	if err := spec.ValidateExisting(); err != nil {
		t.Errorf("ValidateExisting: %v", err)
	}
	docker := mustDecodeChronos(t, chronosBodies[3])
	jd, err := FromChronos(*docker)
	if err != nil {
		t.Fatal(err)
	}
	ds := jd.Metronome()
	if ds.Run.Docker == nil || ds.Run.Docker.Image != "libmesos/ubuntu" || !ds.Run.Docker.ForcePullImage ||
		!reflect.DeepEqual(ds.Run.Networks, []Network{{Mode: NetworkBridge, Labels: map[string]string{}}}) ||
		ds.Run.Placement.Constraints[0] != (Constraint{Attribute: "rack", Operator: "EQ", Value: "rack-1"}) {
		t.Errorf("docker job: %+v", ds.Run)
	}
	if err := ds.Validate(); err != nil {
		t.Errorf("valid: %v", err)
	}
}

func TestFromMetronomeValidates(t *testing.T) {
	spec := mustDecodeSpec(t, `{"id":"a","run":{"cmd":"x"}}`)
	_, err := FromMetronome(*spec, []ScheduleSpec{{ID: "s", Cron: "0 0 31 2 *"}})
	if got := details(t, err); got["/schedules/0/cron"] == "" {
		t.Errorf("want /schedules/0/cron, got %v", got)
	}
	_, err = FromMetronome(*spec, []ScheduleSpec{{ID: "s", Cron: "* * * * *", Timezone: "Atlantis/Capital"}})
	if got := details(t, err); got["/schedules/0/timezone"] == "" {
		t.Errorf("want /schedules/0/timezone, got %v", got)
	}
	j, err := FromMetronome(*spec, []ScheduleSpec{{ID: "s", Cron: "* * * * *"}})
	if err != nil {
		t.Fatal(err)
	}
	if s := j.Schedules[0]; s.Timezone != "UTC" || s.StartingDeadlineSeconds != 900 || s.ConcurrencyPolicy != "ALLOW" || s.CatchUp != "RUN_ONCE" {
		t.Errorf("schedules given as Go values are normalized: %+v", s)
	}
}

func TestFromChronosDuplicateScheduleID(t *testing.T) {
	c := mustDecodeChronos(t, `{"name":"a","command":"x","schedule":"R//P1D","strataCronSchedules":[{"id":"chronos","cron":"* * * * *"}]}`)
	_, err := FromChronos(*c)
	var cerr *ChronosError
	if !errors.As(err, &cerr) || cerr.Field != "strataCronSchedules[0].id" {
		t.Errorf("got %v", err)
	}
}

func TestMergeMetronome(t *testing.T) {
	c := mustDecodeChronos(t, chronosBodies[2])
	old, err := FromChronos(*c)
	if err != nil {
		t.Fatal(err)
	}
	// A Metronome client GETs the job, changes mem and PUTs it back.
	spec := old.Metronome()
	spec.Run.Mem = 2048
	n, err := MergeMetronome(old, spec)
	if err != nil {
		t.Fatal(err)
	}
	want := old.Clone()
	want.Run.Mem = 2048
	if !reflect.DeepEqual(n, want) {
		t.Errorf("merge must only change mem:\n got %+v\nwant %+v", n, want)
	}
	// Embedded schedules replace the cron schedules and keep the ISO one.
	spec.Schedules = []ScheduleSpec{{ID: "hourly", Cron: "0 * * * *"}}
	n, err = MergeMetronome(old, spec)
	if err != nil {
		t.Fatal(err)
	}
	if len(n.Schedules) != 2 || n.Schedules[0].ID != ChronosScheduleID || n.Schedules[1].Cron != "0 * * * *" {
		t.Errorf("schedules: %+v", n.Schedules)
	}
	spec.Run.Mem = 1
	if _, err := MergeMetronome(old, spec); details(t, err)["/run/mem"] == "" {
		t.Errorf("merge validates: %v", err)
	}
}

func TestMergeChronos(t *testing.T) {
	spec := mustDecodeSpec(t, metronomeBodies[1])
	old, err := FromMetronome(*spec, nil)
	if err != nil {
		t.Fatal(err)
	}
	old.SuccessCount = 7
	// A Chronos client GETs the job, drops the Strata field (as an old client would) and re-posts it.
	c := old.Chronos()
	c.StrataCronSchedules = nil
	c.SuccessCount = 0
	c.Owner = "ops@example.com"
	n, err := MergeChronos(old, c)
	if err != nil {
		t.Fatal(err)
	}
	want := old.Clone()
	want.Owner = "ops@example.com"
	if n.CreatedBy != CreatedByMetronome || n.SuccessCount != 7 {
		t.Errorf("creator and counters are kept: %+v", n)
	}
	// Retries: ON_FAILURE showed as -1 and stays so; the rest must equal old.
	if !reflect.DeepEqual(n, want) {
		nb, _ := json.Marshal(n)
		wb, _ := json.Marshal(want)
		t.Errorf("merge must only change owner:\n got %s\nwant %s", nb, wb)
	}
}

func TestJobCloneIsDeep(t *testing.T) {
	spec := mustDecodeSpec(t, metronomeBodies[1])
	j, err := FromMetronome(*spec, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := j.Clone()
	c.Labels["x"] = "y"
	c.Run.Env["A"] = EnvValue{Value: "changed"}
	c.Schedules[0].Cron = "changed"
	*c.Run.ActiveDeadlineSeconds = 1
	if j.Labels["x"] != "" || j.Run.Env["A"].Value != "1" || j.Schedules[0].Cron == "changed" || *j.Run.ActiveDeadlineSeconds != 600 {
		t.Errorf("Clone shares state with the original")
	}
}
