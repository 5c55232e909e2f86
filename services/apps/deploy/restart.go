package deploy

import "math"

// RestartState is what a rolling restart sees at one moment.
type RestartState struct {
	// Instances is the target instance count; MinHealthCapacity and MaxOverCapacity are the
	// target's upgradeStrategy.
	Instances         int
	MinHealthCapacity float64
	MaxOverCapacity   float64
	// Old counts the active instances of an older configuration, OldHealthy those of them
	// that count as healthy; OldKilling the old instances being killed but not yet gone.
	Old, OldHealthy, OldKilling int
	// New counts the active instances of the target configuration (waiting, staging or
	// running), NewHealthy those that count as healthy (running, and passing their health
	// check when the app has one); NewKilling new ones being killed.
	New, NewHealthy, NewKilling int
}

// RestartActions is what a rolling restart does next.
type RestartActions struct {
	MinHealthy, MaxCapacity int
	// KillOld old instances and KillNew new ones (beyond the target) are to be killed now, and
	// Start new ones scheduled.
	KillOld, KillNew, Start int
	// Done means the restart is complete.
	Done bool
}

// Capacity returns ceil(n×m) and floor(n×(1+o)), Marathon's minHealthy and maxCapacity
// (computed with a tolerance so that 10×0.6 is 6, not 7).
func Capacity(n int, m, o float64) (minHealthy, maxCapacity int) {
	const eps = 1e-9
	return int(math.Ceil(float64(n)*m - eps)), int(math.Floor(float64(n)*(1+o) + eps))
}

// Restart decides the next moves of a rolling restart (Marathon's TaskReplaceActor, made
// level-triggered): keep at least minHealthy instances healthy by killing old instances only
// as new ones become healthy (at first, only those above minHealthy); start new instances while
// everything running or dying stays within maxCapacity; when minHealthy equals maxCapacity and
// the capacity is used up, allow one extra instance so that the restart can progress. Old
// instances being killed occupy capacity until they are gone.
func Restart(s RestartState) RestartActions {
	n := s.Instances
	minHealthy, maxCap := Capacity(n, s.MinHealthCapacity, s.MaxOverCapacity)
	occupied := s.Old + s.OldKilling + s.New + s.NewKilling
	if minHealthy == maxCap && n > 0 && occupied >= maxCap {
		maxCap++
	}
	a := RestartActions{MinHealthy: minHealthy, MaxCapacity: maxCap}
	a.KillNew = max(0, s.New-n)
	keepOld := max(0, minHealthy-s.NewHealthy)
	a.KillOld = max(0, s.Old-keepOld)
	a.Start = max(0, min(n-(s.New-a.KillNew), maxCap-occupied))
	a.Done = s.Old == 0 && s.OldKilling == 0 && s.NewKilling == 0 && s.New == n && s.NewHealthy == n
	return a
}
