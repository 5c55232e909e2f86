package store

import (
	"context"
	"path/filepath"
	"testing"
	"time"
)

func openTemp(t *testing.T) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "master.db")
	s, err := OpenSQLite(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

func TestAgentsSurviveReopen(t *testing.T) {
	ctx := context.Background()
	s, path := openTemp(t)
	now := time.Now().UTC().Truncate(time.Second)
	if err := s.PutAgent(ctx, &Agent{ID: "m-S0", Hostname: "h0", Info: []byte{1, 2}, State: AgentAdmitted, RegisteredAt: now}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutAgent(ctx, &Agent{ID: "m-S0", Hostname: "h0", Info: []byte{1, 2}, State: AgentUnreachable, RegisteredAt: now, UnreachableAt: &now}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s2, err := OpenSQLite(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	agents, err := s2.Agents(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(agents) != 1 || agents[0].State != AgentUnreachable || agents[0].UnreachableAt == nil || string(agents[0].Info) != "\x01\x02" {
		t.Fatalf("agents after reopen = %+v", agents)
	}
}

func TestFrameworksAndPrune(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t)
	base := time.Now().UTC()
	for i, id := range []string{"f1", "f2", "f3", "f4"} {
		f := &Framework{ID: id, Name: id, FailoverTimeout: 60, RegisteredAt: base.Add(time.Duration(i) * time.Second)}
		if i < 3 {
			removed := base.Add(time.Duration(i) * time.Minute)
			f.RemovedAt = &removed
		}
		if err := s.PutFramework(ctx, f); err != nil {
			t.Fatal(err)
		}
	}
	n, err := s.PruneFrameworks(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Fatalf("pruned %d, want 2", n)
	}
	fws, _ := s.Frameworks(ctx)
	got := map[string]bool{}
	for _, f := range fws {
		got[f.ID] = true
	}
	if !got["f3"] || !got["f4"] || len(got) != 2 {
		t.Fatalf("frameworks left = %v, want f3 (newest removed) and f4 (active)", got)
	}
	if _, err := s.Framework(ctx, "f1"); err != ErrNotFound {
		t.Fatalf("Framework(f1) err = %v, want ErrNotFound", err)
	}
}

func TestWeightsAndMeta(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t)
	if err := s.SetWeights(ctx, map[string]float64{"a": 2, "b": 3}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetWeights(ctx, map[string]float64{"b": 1}); err != nil {
		t.Fatal(err)
	}
	w, err := s.Weights(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(w) != 1 || w["a"] != 2 {
		t.Fatalf("weights = %v", w)
	}
	if _, err := s.GetMeta(ctx, "x"); err != ErrNotFound {
		t.Fatalf("GetMeta missing err = %v", err)
	}
	if err := s.SetMeta(ctx, "x", "1"); err != nil {
		t.Fatal(err)
	}
	if v, _ := s.GetMeta(ctx, "x"); v != "1" {
		t.Fatalf("meta = %q", v)
	}
}
