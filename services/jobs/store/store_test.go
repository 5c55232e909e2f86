package store

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"strata/services/jobs/runs"
)

func open(t *testing.T, path string) *Store {
	t.Helper()
	s, err := OpenSQLite(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestRunsTicksAndHistory(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "jobs.db")
	s := open(t, path)
	if err := s.SaveJob(ctx, "nightly", []byte(`{"id":"nightly"}`)); err != nil {
		t.Fatal(err)
	}
	k := TickKey{"nightly", "default"}
	tick := time.Date(2026, 11, 21, 3, 0, 0, 0, time.UTC)
	r := &runs.Run{ID: "20261121030000abcde", JobID: "nightly", Status: runs.Initial, CreatedAt: tick, ScheduledAt: &tick}
	if err := s.CreateRuns(ctx, k, &tick, r); err != nil {
		t.Fatal(err)
	}
	// The same tick again: nothing happens, and the caller learns it.
	later := tick.Add(time.Hour)
	if err := s.CreateRuns(ctx, k, &later, r); !errors.Is(err, ErrExists) {
		t.Fatalf("second create: %v, want ErrExists", err)
	}
	ticks, err := s.LastTicks(ctx)
	if err != nil || !ticks[k].Equal(tick) {
		t.Fatalf("last tick = %v, %v; want %v (the failed create must not move it)", ticks[k], err, tick)
	}
	// The same run id under another job is another run.
	other := *r
	other.JobID = "other"
	if err := s.CreateRuns(ctx, TickKey{"other", "default"}, &tick, &other); err != nil {
		t.Fatal(err)
	}

	active, err := s.ActiveRuns(ctx)
	if err != nil || len(active) != 2 {
		t.Fatalf("active = %d, %v", len(active), err)
	}
	for i := 0; i < 5; i++ {
		at := tick.Add(time.Duration(i) * time.Minute)
		done := &runs.Run{ID: "run" + string(rune('a'+i)), JobID: "nightly", CreatedAt: at}
		done.Finish(runs.Success, "", at.Add(time.Second))
		if err := s.CreateRuns(ctx, k, nil, done); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.PruneHistory(ctx, "nightly", 3); err != nil {
		t.Fatal(err)
	}
	hist, err := s.History(ctx, "nightly", 0)
	if err != nil || len(hist) != 3 || hist[0].ID != "rune" || hist[2].ID != "runc" {
		t.Fatalf("history = %v, %v", hist, err)
	}

	// Everything survives a reopen.
	s.Close()
	s2 := open(t, path)
	got, err := s2.Run(ctx, "nightly", r.ID)
	if err != nil || got == nil || got.Status != runs.Initial || !got.ScheduledAt.Equal(tick) {
		t.Fatalf("run after reopen = %+v, %v", got, err)
	}
	if err := s2.DeleteJob(ctx, "nightly"); err != nil {
		t.Fatal(err)
	}
	if jobs, _ := s2.Jobs(ctx); len(jobs) != 0 {
		t.Fatalf("jobs after delete = %v", jobs)
	}
	if active, _ := s2.ActiveRuns(ctx); len(active) != 1 || active[0].JobID != "other" {
		t.Fatalf("active after delete = %v", active)
	}
}

func TestTaskIDRoundTrip(t *testing.T) {
	for _, job := range []string{"nightly", "prod.etl-daily", "Chronos_job.x"} {
		id := runs.TaskID(job, "20261121030000abcde", 3)
		j, r, a, err := runs.ParseTaskID(id)
		if err != nil || j != job || r != "20261121030000abcde" || a != 3 {
			t.Fatalf("%s → %q %q %d %v", id, j, r, a, err)
		}
	}
	for _, bad := range []string{"x", "x.y", "_r.1", "j_.1", "j_r.0"} {
		if _, _, _, err := runs.ParseTaskID(bad); err == nil {
			t.Fatalf("%q parsed", bad)
		}
	}
}

func TestExitStatusOf(t *testing.T) {
	for msg, want := range map[string]int{
		"Command exited with status 3":   3,
		"Command exited with status 0":   0,
		"Command exited with status 137": 137,
	} {
		if got, ok := runs.ExitStatusOf(msg); !ok || got != want {
			t.Errorf("%q → %d %v", msg, got, ok)
		}
	}
	for _, msg := range []string{"", "Command terminated with signal Killed", "exited with status x"} {
		if _, ok := runs.ExitStatusOf(msg); ok {
			t.Errorf("%q has an exit status", msg)
		}
	}
}
