package api

import (
	"sort"
	"time"

	"strata/services/apps/app"
	"strata/services/apps/instance"
)

// tasksStats is Marathon's AppInfo tasksStats (embed=apps.taskStats): the counts and life times
// of an app's launched tasks, in total and split by the app version each was launched from.
// A category without tasks is left out; without versionInfo only totalSummary is given.
type tasksStats struct {
	StartedAfterLastScaling *taskStats `json:"startedAfterLastScaling,omitempty"`
	WithLatestConfig        *taskStats `json:"withLatestConfig,omitempty"`
	WithOutdatedConfig      *taskStats `json:"withOutdatedConfig,omitempty"`
	TotalSummary            *taskStats `json:"totalSummary,omitempty"`
}

// taskStats is one category of tasksStats.
type taskStats struct {
	Stats struct {
		Counts   statsCounts    `json:"counts"`
		LifeTime *statsLifeTime `json:"lifeTime,omitempty"`
	} `json:"stats"`
}

type statsCounts struct {
	Staged    int `json:"staged"`
	Running   int `json:"running"`
	Healthy   int `json:"healthy"`
	Unhealthy int `json:"unhealthy"`
}

// statsLifeTime is how long the category's started tasks have been running, in seconds; tasks
// that have not started do not count.
type statsLifeTime struct {
	AverageSeconds float64 `json:"averageSeconds"`
	MedianSeconds  float64 `json:"medianSeconds"`
}

// computeTasksStats computes a's tasksStats from its instances at now. An instance belongs to
// startedAfterLastScaling when its version is not older than versionInfo.lastScalingAt, to
// withLatestConfig when not older than lastConfigChangeAt and to withOutdatedConfig otherwise.
func computeTasksStats(a *app.App, insts []*instance.Instance, now time.Time) *tasksStats {
	var launched []*instance.Instance
	for _, i := range insts {
		if i.Launched() {
			launched = append(launched, i)
		}
	}
	checks := len(a.HealthChecks) > 0
	out := &tasksStats{TotalSummary: statsOf(launched, checks, now)}
	if a.VersionInfo == nil {
		return out
	}
	scaledAt, err1 := app.ParseVersion(a.VersionInfo.LastScalingAt)
	configAt, err2 := app.ParseVersion(a.VersionInfo.LastConfigChangeAt)
	if err1 != nil || err2 != nil {
		return out
	}
	var afterScaling, latest, outdated []*instance.Instance
	for _, i := range launched {
		v, err := app.ParseVersion(i.Version)
		if err != nil {
			continue
		}
		if !v.Before(scaledAt) {
			afterScaling = append(afterScaling, i)
		}
		if v.Before(configAt) {
			outdated = append(outdated, i)
		} else {
			latest = append(latest, i)
		}
	}
	out.StartedAfterLastScaling = statsOf(afterScaling, checks, now)
	out.WithLatestConfig = statsOf(latest, checks, now)
	out.WithOutdatedConfig = statsOf(outdated, checks, now)
	return out
}

// statsOf is the stats of some launched instances, nil for none. The counts are those of the
// AppInfo's tasksStaged, tasksRunning, tasksHealthy and tasksUnhealthy.
func statsOf(insts []*instance.Instance, checks bool, now time.Time) *taskStats {
	if len(insts) == 0 {
		return nil
	}
	s := &taskStats{}
	c := &s.Stats.Counts
	var lives []float64
	for _, i := range insts {
		switch {
		case i.IsStaged():
			c.Staged++
		case i.IsRunning():
			c.Running++
			if checks && i.Healthy(true) {
				c.Healthy++
			}
			if checks && i.Unhealthy() {
				c.Unhealthy++
			}
		}
		if !i.StartedAt.IsZero() {
			lives = append(lives, now.Sub(i.StartedAt).Seconds())
		}
	}
	if len(lives) > 0 {
		sort.Float64s(lives)
		sum := 0.0
		for _, l := range lives {
			sum += l
		}
		// The median of an even count is the upper middle value, as Marathon reports it.
		s.Stats.LifeTime = &statsLifeTime{AverageSeconds: sum / float64(len(lives)), MedianSeconds: lives[len(lives)/2]}
	}
	return s
}
