package deploy

import "testing"

func TestCapacity(t *testing.T) {
	tests := []struct {
		n                int
		m, o             float64
		minHealthy, maxC int
	}{
		{10, 0.6, 0.2, 6, 12},
		{10, 1, 1, 10, 20},
		{3, 0, 0, 0, 3},
		{3, 1, 0, 3, 3},
		{3, 0.5, 0.5, 2, 4},
		{10, 0.7, 0.1, 7, 11},
		{0, 1, 1, 0, 0},
	}
	for _, tt := range tests {
		mh, mc := Capacity(tt.n, tt.m, tt.o)
		if mh != tt.minHealthy || mc != tt.maxC {
			t.Errorf("Capacity(%d, %v, %v) = %d, %d; want %d, %d", tt.n, tt.m, tt.o, mh, mc, tt.minHealthy, tt.maxC)
		}
	}
}

// The arithmetic of reference §5, as successive moments of one restart.
func TestRestartArithmetic(t *testing.T) {
	type moment struct {
		s    RestartState
		want RestartActions
	}
	tests := []struct {
		name    string
		moments []moment
	}{
		{"0.6 on 10: 4 old killed at once, 6 old + 6 new side by side", []moment{
			{RestartState{Instances: 10, MinHealthCapacity: 0.6, MaxOverCapacity: 0.2, Old: 10, OldHealthy: 10},
				RestartActions{MinHealthy: 6, MaxCapacity: 12, KillOld: 4, Start: 2}},
			{RestartState{Instances: 10, MinHealthCapacity: 0.6, MaxOverCapacity: 0.2, Old: 6, OldHealthy: 6, New: 2},
				RestartActions{MinHealthy: 6, MaxCapacity: 12, Start: 4}},
			// 6 old + 6 new; two new healthy: two more old go.
			{RestartState{Instances: 10, MinHealthCapacity: 0.6, MaxOverCapacity: 0.2, Old: 6, OldHealthy: 6, New: 6, NewHealthy: 2},
				RestartActions{MinHealthy: 6, MaxCapacity: 12, KillOld: 2}},
			{RestartState{Instances: 10, MinHealthCapacity: 0.6, MaxOverCapacity: 0.2, OldKilling: 4, New: 10, NewHealthy: 10},
				RestartActions{MinHealthy: 6, MaxCapacity: 12}},
			{RestartState{Instances: 10, MinHealthCapacity: 0.6, MaxOverCapacity: 0.2, New: 10, NewHealthy: 10},
				RestartActions{MinHealthy: 6, MaxCapacity: 12, Done: true}},
		}},
		{"m=0, o=0: stop all, then start", []moment{
			{RestartState{Instances: 3, Old: 3, OldHealthy: 3},
				RestartActions{MinHealthy: 0, MaxCapacity: 3, KillOld: 3}},
			{RestartState{Instances: 3, OldKilling: 3},
				RestartActions{MinHealthy: 0, MaxCapacity: 3}},
			{RestartState{Instances: 3},
				RestartActions{MinHealthy: 0, MaxCapacity: 3, Start: 3}},
		}},
		{"m=0, o=1: kill all and start all at once", []moment{
			{RestartState{Instances: 3, MaxOverCapacity: 1, Old: 3, OldHealthy: 3},
				RestartActions{MinHealthy: 0, MaxCapacity: 6, KillOld: 3, Start: 3}},
		}},
		{"m=1, o=1: blue/green, no old killed before a new one is healthy", []moment{
			{RestartState{Instances: 3, MinHealthCapacity: 1, MaxOverCapacity: 1, Old: 3, OldHealthy: 3},
				RestartActions{MinHealthy: 3, MaxCapacity: 6, Start: 3}},
			{RestartState{Instances: 3, MinHealthCapacity: 1, MaxOverCapacity: 1, Old: 3, OldHealthy: 3, New: 3},
				RestartActions{MinHealthy: 3, MaxCapacity: 6}},
			{RestartState{Instances: 3, MinHealthCapacity: 1, MaxOverCapacity: 1, Old: 3, OldHealthy: 3, New: 3, NewHealthy: 1},
				RestartActions{MinHealthy: 3, MaxCapacity: 6, KillOld: 1}},
			{RestartState{Instances: 3, MinHealthCapacity: 1, MaxOverCapacity: 1, New: 3, NewHealthy: 3},
				RestartActions{MinHealthy: 3, MaxCapacity: 6, Done: true}},
		}},
		{"m=1, o=0: one extra instance so that the restart can progress", []moment{
			{RestartState{Instances: 3, MinHealthCapacity: 1, Old: 3, OldHealthy: 3},
				RestartActions{MinHealthy: 3, MaxCapacity: 4, Start: 1}},
			{RestartState{Instances: 3, MinHealthCapacity: 1, Old: 3, OldHealthy: 3, New: 1, NewHealthy: 1},
				RestartActions{MinHealthy: 3, MaxCapacity: 4, KillOld: 1}},
			{RestartState{Instances: 3, MinHealthCapacity: 1, Old: 2, OldHealthy: 2, OldKilling: 1, New: 1, NewHealthy: 1},
				RestartActions{MinHealthy: 3, MaxCapacity: 4}},
			{RestartState{Instances: 3, MinHealthCapacity: 1, Old: 2, OldHealthy: 2, New: 1, NewHealthy: 1},
				RestartActions{MinHealthy: 3, MaxCapacity: 4, Start: 1}},
		}},
		{"a crashed new instance is replaced within capacity", []moment{
			{RestartState{Instances: 2, MinHealthCapacity: 1, MaxOverCapacity: 1, Old: 2, OldHealthy: 2, New: 1},
				RestartActions{MinHealthy: 2, MaxCapacity: 4, Start: 1}},
		}},
		{"scale down within a restart", []moment{
			{RestartState{Instances: 1, MinHealthCapacity: 1, MaxOverCapacity: 1, New: 3, NewHealthy: 3},
				RestartActions{MinHealthy: 1, MaxCapacity: 2, KillNew: 2}},
		}},
		{"restart of an app scaled to 0", []moment{
			{RestartState{Instances: 0, MinHealthCapacity: 1, MaxOverCapacity: 1, Old: 2, OldHealthy: 2},
				RestartActions{KillOld: 2}},
			{RestartState{Instances: 0, MinHealthCapacity: 1, MaxOverCapacity: 1},
				RestartActions{Done: true}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, m := range tt.moments {
				if got := Restart(m.s); got != m.want {
					t.Errorf("moment %d %+v:\n got %+v\nwant %+v", k, m.s, got, m.want)
				}
			}
		})
	}
}

// Whatever the state, the arithmetic never plans more than maxCapacity nor kills below
// minHealthy healthy instances.
func TestRestartInvariants(t *testing.T) {
	for n := 0; n <= 6; n++ {
		for _, m := range []float64{0, 0.5, 0.6, 1} {
			for _, o := range []float64{0, 0.2, 0.5, 1} {
				for old := 0; old <= n; old++ {
					for newH := 0; newH <= n; newH++ {
						s := RestartState{Instances: n, MinHealthCapacity: m, MaxOverCapacity: o, Old: old, OldHealthy: old, New: newH, NewHealthy: newH}
						a := Restart(s)
						if s.Old+s.New+a.Start > a.MaxCapacity && a.Start > 0 {
							t.Errorf("%+v: starts %d beyond capacity %d", s, a.Start, a.MaxCapacity)
						}
						if healthyAfter := s.OldHealthy - a.KillOld + s.NewHealthy; a.KillOld > 0 && healthyAfter < a.MinHealthy {
							t.Errorf("%+v: killing %d leaves %d healthy, below %d", s, a.KillOld, healthyAfter, a.MinHealthy)
						}
					}
				}
			}
		}
	}
}
