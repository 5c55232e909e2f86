package deploy

import (
	"sort"

	"strata/services/apps/app"
)

// dependencyPlan computes the steps that take originals to targets, ordered by the apps'
// dependencies (before: the dependency graph of the tree before the deployment; after: of the
// tree it leads to) as Marathon's DeploymentPlan orders them:
//
//  1. the apps that go away are stopped, dependents before what they depend on: an app's stop
//     step is the length of the longest chain of apps that depend on it in the tree before
//     (Marathon stops them all in one step; Strata does not stop a database before the apps
//     that use it);
//  2. the new apps are started, with no instances, in one step;
//  3. the new apps and the ones whose instance count changed are scaled, and those whose
//     configuration changed (lastConfigChangeAt moved: a non-scaling change, or a restart) are
//     restarted, in layers: an app's layer is the length of the longest chain of dependencies
//     from it in the tree after (Marathon's runSpecsGroupedByLongestPath), so that what an app
//     depends on is scaled or restarted in an earlier step, and apps of one layer go together.
//
// An app whose definition did not change gets no action (no restarts), and empty steps are
// dropped. Within a step, actions are in the order of ids.
func dependencyPlan(ids []string, originals, targets map[string]*app.App, kills map[string][]string, before, after app.Graph) []Step {
	stopDepth := newDepths(reverse(before))
	depth := newDepths(after)
	stops := map[int][]Action{}
	layers := map[int][]Action{}
	var starts []Action
	for _, id := range ids {
		orig, target := originals[id], targets[id]
		switch {
		case target == nil && orig != nil:
			n := stopDepth.of(id)
			stops[n] = append(stops[n], Action{StopApplication, id})
		case orig == nil && target != nil:
			starts = append(starts, Action{StartApplication, id})
			n := depth.of(id)
			layers[n] = append(layers[n], Action{ScaleApplication, id})
		case orig != nil && target != nil:
			n := depth.of(id)
			switch {
			case orig.ConfigVersion() != target.ConfigVersion():
				layers[n] = append(layers[n], Action{RestartApplication, id})
			case orig.Instances != target.Instances || len(kills[id]) > 0:
				layers[n] = append(layers[n], Action{ScaleApplication, id})
			}
		}
	}
	var steps []Step
	steps = appendLayers(steps, stops)
	if len(starts) > 0 {
		steps = append(steps, Step{Actions: starts})
	}
	return appendLayers(steps, layers)
}

// appendLayers appends one step per layer, in ascending order.
func appendLayers(steps []Step, layers map[int][]Action) []Step {
	keys := make([]int, 0, len(layers))
	for k := range layers {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	for _, k := range keys {
		steps = append(steps, Step{Actions: layers[k]})
	}
	return steps
}

// reverse turns "depends on" edges into "is depended on by" edges.
func reverse(g app.Graph) app.Graph {
	out := app.Graph{}
	for from, tos := range g {
		for _, to := range tos {
			out[to] = append(out[to], from)
		}
	}
	for k := range out {
		sort.Strings(out[k])
	}
	return out
}

// depths computes, with memoization, the number of apps on the longest path that starts at an
// app (1 for an app without edges). A cycle, which validation rejects before a plan is made,
// is cut where it closes.
type depths struct {
	g     app.Graph
	memo  map[string]int
	onWay map[string]bool
}

func newDepths(g app.Graph) *depths {
	return &depths{g: g, memo: map[string]int{}, onWay: map[string]bool{}}
}

func (d *depths) of(id string) int {
	if n, ok := d.memo[id]; ok {
		return n
	}
	if d.onWay[id] {
		return 0
	}
	d.onWay[id] = true
	n := 1
	for _, next := range d.g[id] {
		if m := 1 + d.of(next); m > n {
			n = m
		}
	}
	delete(d.onWay, id)
	d.memo[id] = n
	return n
}
