package job

import (
	"encoding/json"
	"reflect"
	"testing"
)

// FuzzDecodeJobSpec feeds Metronome bodies from outside: decoding and validating never panic,
// and a valid job goes through the model and back unchanged, survives its storage form, and has
// a Chronos view that Chronos accepts.
func FuzzDecodeJobSpec(f *testing.F) {
	for _, s := range metronomeBodies {
		f.Add([]byte(s))
	}
	f.Add([]byte(`{"id":"a","run":{"cmd":"x","cpus":"1"}}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		spec, err := DecodeJobSpec(body)
		if err != nil {
			return
		}
		_ = spec.ValidateExisting()
		j, err := FromMetronome(*spec, nil)
		if err != nil {
			return
		}
		schedules := spec.Schedules
		if schedules == nil {
			schedules = []ScheduleSpec{}
		}
		spec.Schedules = nil
		if got := j.Metronome(); !reflect.DeepEqual(got, *spec) {
			t.Fatalf("Metronome → Job → Metronome changed the job:\n%+v\n%+v", got, *spec)
		}
		if got := j.MetronomeSchedules(); !reflect.DeepEqual(got, schedules) {
			t.Fatalf("schedules changed:\n%+v\n%+v", got, schedules)
		}
		checkStorage(t, j)
		c := j.Chronos()
		back, err := FromChronos(c)
		if err != nil {
			t.Fatalf("the Chronos view of a valid job is refused: %v\n%+v", err, c)
		}
		if got := back.Chronos(); !reflect.DeepEqual(got, c) {
			t.Fatalf("Chronos view not stable:\n%+v\n%+v", got, c)
		}
	})
}

// FuzzDecodeChronosJob feeds Chronos bodies from outside: decoding and validating never panic,
// and a valid job goes through the model and back unchanged and survives its storage form.
func FuzzDecodeChronosJob(f *testing.F) {
	for _, s := range chronosBodies {
		f.Add([]byte(s))
	}
	f.Add([]byte(`{"name":"a","command":"x","cpus":"0.5","mem":"lots"}`))
	f.Add([]byte(`{"name":"a","command":"x","retries":"3","shell":"false","container":{"image":"i","forcePullImage":"true"}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		c, err := DecodeChronosJob(body)
		if err != nil {
			return
		}
		_ = c.Validate(ChronosScheduled)
		_ = c.Validate(ChronosDependent)
		j, err := FromChronos(*c)
		if err != nil {
			return
		}
		if got := j.Chronos(); !reflect.DeepEqual(got, *c) {
			gb, _ := json.Marshal(got)
			cb, _ := json.Marshal(c)
			t.Fatalf("Chronos → Job → Chronos changed the job:\n%s\n%s", gb, cb)
		}
		checkStorage(t, j)
		spec := j.Metronome()
		_ = spec.ValidateExisting()
		_ = j.MetronomeSchedules()
	})
}

func checkStorage(t *testing.T, j *Job) {
	t.Helper()
	b, err := json.Marshal(j)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	var again Job
	if err := json.Unmarshal(b, &again); err != nil {
		t.Fatalf("unmarshal %s: %v", b, err)
	}
	if !reflect.DeepEqual(j, &again) {
		t.Fatalf("storage round trip changed the job:\n%s", b)
	}
}
