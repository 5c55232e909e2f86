package api

import (
	"encoding/json"
	"testing"
	"time"

	"strata/services/apps/app"
	"strata/services/apps/instance"
)

func TestComputeTasksStats(t *testing.T) {
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	v := func(d time.Duration) string { return app.FormatVersion(now.Add(-d)) }
	// The app's config changed 1h ago and it was scaled 10m ago.
	withInfo := &app.App{ID: "/a", Version: v(10 * time.Minute),
		VersionInfo: &app.VersionInfo{LastScalingAt: v(10 * time.Minute), LastConfigChangeAt: v(time.Hour)}}
	checked := &app.App{ID: "/a", Version: withInfo.Version, VersionInfo: withInfo.VersionInfo,
		HealthChecks: []app.HealthCheck{{}}}
	noInfo := &app.App{ID: "/a", Version: v(time.Hour)}

	running := func(version string, up time.Duration) *instance.Instance {
		return &instance.Instance{State: instance.Running, Version: version, StagedAt: now.Add(-up - time.Second), StartedAt: now.Add(-up)}
	}
	staged := func(version string) *instance.Instance {
		return &instance.Instance{State: instance.Staging, Version: version, StagedAt: now.Add(-time.Second)}
	}
	healthy := func(i *instance.Instance, alive bool) *instance.Instance {
		i.Health = &instance.Health{Alive: alive}
		return i
	}
	scheduled := &instance.Instance{State: instance.Scheduled, Version: v(5 * time.Minute)}

	tests := []struct {
		name  string
		app   *app.App
		insts []*instance.Instance
		want  string
	}{
		{"no instances", withInfo, nil, `{}`},
		{"only a scheduled instance", withInfo, []*instance.Instance{scheduled}, `{}`},
		{
			"staged only: no lifeTime", withInfo, []*instance.Instance{staged(v(10 * time.Minute)), scheduled},
			`{"startedAfterLastScaling":{"stats":{"counts":{"staged":1,"running":0,"healthy":0,"unhealthy":0}}},` +
				`"withLatestConfig":{"stats":{"counts":{"staged":1,"running":0,"healthy":0,"unhealthy":0}}},` +
				`"totalSummary":{"stats":{"counts":{"staged":1,"running":0,"healthy":0,"unhealthy":0}}}}`,
		},
		{
			"by version", withInfo, []*instance.Instance{
				running(v(2*time.Hour), 120*time.Second),   // outdated config
				running(v(30*time.Minute), 20*time.Second), // latest config, before the scaling
				running(v(10*time.Minute), 10*time.Second), // after the scaling
				staged(v(10 * time.Minute)),
			},
			`{"startedAfterLastScaling":{"stats":{"counts":{"staged":1,"running":1,"healthy":0,"unhealthy":0},"lifeTime":{"averageSeconds":10,"medianSeconds":10}}},` +
				`"withLatestConfig":{"stats":{"counts":{"staged":1,"running":2,"healthy":0,"unhealthy":0},"lifeTime":{"averageSeconds":15,"medianSeconds":20}}},` +
				`"withOutdatedConfig":{"stats":{"counts":{"staged":0,"running":1,"healthy":0,"unhealthy":0},"lifeTime":{"averageSeconds":120,"medianSeconds":120}}},` +
				`"totalSummary":{"stats":{"counts":{"staged":1,"running":3,"healthy":0,"unhealthy":0},"lifeTime":{"averageSeconds":50,"medianSeconds":20}}}}`,
		},
		{
			"health counts", checked, []*instance.Instance{
				healthy(running(v(10*time.Minute), 30*time.Second), true),
				healthy(running(v(10*time.Minute), 60*time.Second), false),
				running(v(10*time.Minute), 90*time.Second), // no result yet: neither
			},
			`{"startedAfterLastScaling":{"stats":{"counts":{"staged":0,"running":3,"healthy":1,"unhealthy":1},"lifeTime":{"averageSeconds":60,"medianSeconds":60}}},` +
				`"withLatestConfig":{"stats":{"counts":{"staged":0,"running":3,"healthy":1,"unhealthy":1},"lifeTime":{"averageSeconds":60,"medianSeconds":60}}},` +
				`"totalSummary":{"stats":{"counts":{"staged":0,"running":3,"healthy":1,"unhealthy":1},"lifeTime":{"averageSeconds":60,"medianSeconds":60}}}}`,
		},
		{
			"kill requested: launched but not counted running", withInfo, []*instance.Instance{
				{State: instance.Running, Version: v(10 * time.Minute), StartedAt: now.Add(-4 * time.Second), KillRequested: true},
			},
			`{"startedAfterLastScaling":{"stats":{"counts":{"staged":0,"running":0,"healthy":0,"unhealthy":0},"lifeTime":{"averageSeconds":4,"medianSeconds":4}}},` +
				`"withLatestConfig":{"stats":{"counts":{"staged":0,"running":0,"healthy":0,"unhealthy":0},"lifeTime":{"averageSeconds":4,"medianSeconds":4}}},` +
				`"totalSummary":{"stats":{"counts":{"staged":0,"running":0,"healthy":0,"unhealthy":0},"lifeTime":{"averageSeconds":4,"medianSeconds":4}}}}`,
		},
		{
			"no versionInfo: total only", noInfo, []*instance.Instance{running(v(time.Hour), 8*time.Second)},
			`{"totalSummary":{"stats":{"counts":{"staged":0,"running":1,"healthy":0,"unhealthy":0},"lifeTime":{"averageSeconds":8,"medianSeconds":8}}}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := json.Marshal(computeTasksStats(tt.app, tt.insts, now))
			if err != nil {
				t.Fatal(err)
			}
			if !jsonEqual(t, got, tt.want) {
				t.Errorf("tasksStats\n got %s\nwant %s", got, tt.want)
			}
		})
	}
}

// jsonEqual compares two JSON documents by value.
func jsonEqual(t *testing.T, got []byte, want string) bool {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("got: %v", err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("want %s: %v", want, err)
	}
	gb, _ := json.Marshal(g)
	wb, _ := json.Marshal(w)
	return string(gb) == string(wb)
}
