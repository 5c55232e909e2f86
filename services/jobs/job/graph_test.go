package job

import (
	"errors"
	"reflect"
	"testing"
	"time"
)

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	tm, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

func jobsWithParents(edges map[string][]string) map[string]*Job {
	out := map[string]*Job{}
	for id, ps := range edges {
		out[id] = &Job{ID: id, Parents: ps}
	}
	return out
}

func TestCheckCycles(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edges map[string][]string
		cycle []string // nil = none
		text  string
	}{
		{"empty", map[string][]string{}, nil, ""},
		{"chain", map[string][]string{"a": {"b"}, "b": {"c"}, "c": nil}, nil, ""},
		{"diamond", map[string][]string{"a": {"b", "c"}, "b": {"d"}, "c": {"d"}, "d": nil}, nil, ""},
		{"missing parent ignored", map[string][]string{"a": {"gone"}}, nil, ""},
		{"two", map[string][]string{"a": {"b"}, "b": {"a"}}, []string{"a", "b", "a"}, "job: dependency cycle: a → b → a"},
		{"self", map[string][]string{"a": {"a"}}, []string{"a", "a"}, ""},
		{"three behind a tail", map[string][]string{"a": {"x"}, "x": {"y"}, "y": {"z"}, "z": {"x"}}, []string{"x", "y", "z", "x"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckCycles(jobsWithParents(tc.edges))
			if tc.cycle == nil {
				if err != nil {
					t.Fatalf("want no cycle, got %v", err)
				}
				return
			}
			var cerr *CycleError
			if !errors.As(err, &cerr) || !reflect.DeepEqual(cerr.Cycle, tc.cycle) {
				t.Fatalf("want cycle %v, got %v", tc.cycle, err)
			}
			if tc.text != "" && err.Error() != tc.text {
				t.Fatalf("text %q, want %q", err.Error(), tc.text)
			}
		})
	}
}

func TestCheckCyclesNilJob(t *testing.T) {
	jobs := map[string]*Job{"a": {ID: "a", Parents: []string{"b"}}, "b": nil}
	if err := CheckCycles(jobs); err != nil {
		t.Fatal(err)
	}
	if _, ok := jobs["b"]; !ok {
		t.Fatal("CheckCycles must not change its argument")
	}
}

func TestMissingParents(t *testing.T) {
	got := MissingParents(jobsWithParents(map[string][]string{"a": {"z", "b", "y"}, "b": nil}))
	if want := map[string][]string{"a": {"y", "z"}}; !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}
