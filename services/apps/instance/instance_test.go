package instance

import (
	"testing"
	"time"
)

func TestKillOrder(t *testing.T) {
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	mk := func(id, state string, started time.Duration, alive bool) *Instance {
		return &Instance{TaskID: id, State: state, StartedAt: t0.Add(started), Health: &Health{Alive: alive}}
	}
	tests := []struct {
		name        string
		oldestFirst bool
		want        []string
	}{
		{"youngest first", false, []string{"sched", "staging", "sick", "new", "mid", "old"}},
		{"oldest first", true, []string{"sched", "staging", "sick", "old", "mid", "new"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			list := []*Instance{
				mk("old", Running, 0, true), mk("new", Running, 2*time.Minute, true), mk("mid", Running, time.Minute, true),
				mk("sick", Running, 3*time.Minute, false), mk("staging", Staging, 0, false),
				{TaskID: "sched", State: Scheduled, ScheduledAt: t0},
			}
			KillOrder(list, tt.oldestFirst, true)
			for i, want := range tt.want {
				if list[i].TaskID != want {
					t.Fatalf("position %d: %s, want %s", i, list[i].TaskID, want)
				}
			}
		})
	}
}

func TestActiveAndHealthy(t *testing.T) {
	now := time.Now()
	tests := []struct {
		name                    string
		inst                    Instance
		inactiveAfter           time.Duration
		disabled                bool
		active, healthy, health bool
	}{
		{"running no result", Instance{State: Running}, 0, false, true, false, true},
		{"running alive", Instance{State: Running, Health: &Health{Alive: true}}, 0, false, true, true, true},
		{"killing", Instance{State: Running, KillRequested: true, Health: &Health{Alive: true}}, 0, false, false, false, false},
		{"unreachable inactive", Instance{State: Unreachable, UnreachableSince: now.Add(-time.Second)}, 0, false, false, false, false},
		{"unreachable within inactiveAfter", Instance{State: Unreachable, UnreachableSince: now.Add(-time.Second)}, time.Minute, false, true, false, false},
		{"unreachable disabled", Instance{State: Unreachable, UnreachableSince: now.Add(-time.Hour)}, 0, true, true, false, false},
	}
	for _, tt := range tests {
		if got := tt.inst.Active(now, tt.inactiveAfter, tt.disabled); got != tt.active {
			t.Errorf("%s: Active = %v", tt.name, got)
		}
		if got := tt.inst.Healthy(true); got != tt.healthy {
			t.Errorf("%s: Healthy(checks) = %v", tt.name, got)
		}
		if got := tt.inst.Healthy(false); got != tt.health {
			t.Errorf("%s: Healthy(no checks) = %v", tt.name, got)
		}
	}
}
