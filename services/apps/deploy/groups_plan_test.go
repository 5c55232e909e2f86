package deploy

import (
	"reflect"
	"sort"
	"testing"

	"strata/services/apps/app"
)

// set builds an id → app map and the dependency graph of those apps with the groups.
func set(apps []*app.App, groups ...*app.GroupSpec) (map[string]*app.App, app.Graph) {
	m := map[string]*app.App{}
	for _, a := range apps {
		m[a.ID] = a
	}
	return m, app.NewTree("", apps, groups).Dependencies()
}

func changed(t *testing.T, a *app.App, f func(*app.App)) *app.App {
	t.Helper()
	c := a.Clone()
	f(c)
	c.SetVersion("2024-02-01T00:00:00.000Z", a)
	return c
}

func step(actions ...Action) Step { return Step{Actions: actions} }

func TestDependencyPlan(t *testing.T) {
	a := mustApp(t, `{"id":"/a","cmd":"x","dependencies":["/b"]}`)
	b := mustApp(t, `{"id":"/b","cmd":"x","dependencies":["/c"]}`)
	c := mustApp(t, `{"id":"/c","cmd":"x"}`)

	top := mustApp(t, `{"id":"/d/top","cmd":"x","dependencies":["/d/left","/d/right"]}`)
	left := mustApp(t, `{"id":"/d/left","cmd":"x","dependencies":["/d/base"]}`)
	right := mustApp(t, `{"id":"/d/right","cmd":"x","dependencies":["base"]}`)
	base := mustApp(t, `{"id":"/d/base","cmd":"x"}`)

	pg := mustApp(t, `{"id":"/db/pg","cmd":"x"}`)
	cache := mustApp(t, `{"id":"/db/cache","cmd":"x"}`)
	api := mustApp(t, `{"id":"/web/api","cmd":"x"}`)
	ui := mustApp(t, `{"id":"/web/ui","cmd":"x"}`)
	webOnDB := &app.GroupSpec{ID: "/web", Dependencies: []string{"/db"}}

	scaled := func(x *app.App) *app.App { return changed(t, x, func(c *app.App) { c.Instances = 3 }) }
	reconfigured := func(x *app.App) *app.App { return changed(t, x, func(c *app.App) { c.Mem = 64 }) }
	ids := func(m map[string]*app.App, more ...map[string]*app.App) []string {
		seen := map[string]bool{}
		for _, mm := range append(more, m) {
			for id := range mm {
				seen[id] = true
			}
		}
		var out []string
		for id := range seen {
			out = append(out, id)
		}
		sort.Strings(out)
		return out
	}

	chain, chainGraph := set([]*app.App{a, b, c})
	diamond, diamondGraph := set([]*app.App{top, left, right, base})
	groups, groupsGraph := set([]*app.App{pg, cache, api, ui}, webOnDB)
	chainScaled, _ := set([]*app.App{scaled(a), scaled(b), scaled(c)})
	chainChanged, _ := set([]*app.App{reconfigured(a), reconfigured(b), c})
	onlyA, _ := set([]*app.App{scaled(a), b, c})
	mixedTarget, mixedGraph := set([]*app.App{reconfigured(a), b, mustApp(t, `{"id":"/n","cmd":"x","dependencies":["/a"]}`)})

	tests := []struct {
		name          string
		orig, target  map[string]*app.App
		before, after app.Graph
		want          []Step
	}{
		{"linear chain: dependencies start first", nil, chain, nil, chainGraph, []Step{
			step(Action{StartApplication, "/a"}, Action{StartApplication, "/b"}, Action{StartApplication, "/c"}),
			step(Action{ScaleApplication, "/c"}), step(Action{ScaleApplication, "/b"}), step(Action{ScaleApplication, "/a"}),
		}},
		{"diamond: the two sides together", nil, diamond, nil, diamondGraph, []Step{
			step(Action{StartApplication, "/d/base"}, Action{StartApplication, "/d/left"}, Action{StartApplication, "/d/right"}, Action{StartApplication, "/d/top"}),
			step(Action{ScaleApplication, "/d/base"}),
			step(Action{ScaleApplication, "/d/left"}, Action{ScaleApplication, "/d/right"}),
			step(Action{ScaleApplication, "/d/top"}),
		}},
		{"group dependencies: every app of /web after every app of /db", nil, groups, nil, groupsGraph, []Step{
			step(Action{StartApplication, "/db/cache"}, Action{StartApplication, "/db/pg"}, Action{StartApplication, "/web/api"}, Action{StartApplication, "/web/ui"}),
			step(Action{ScaleApplication, "/db/cache"}, Action{ScaleApplication, "/db/pg"}),
			step(Action{ScaleApplication, "/web/api"}, Action{ScaleApplication, "/web/ui"}),
		}},
		{"stops in reverse: dependents first", chain, nil, chainGraph, nil, []Step{
			step(Action{StopApplication, "/a"}), step(Action{StopApplication, "/b"}), step(Action{StopApplication, "/c"}),
		}},
		{"group stops in reverse", groups, nil, groupsGraph, nil, []Step{
			step(Action{StopApplication, "/web/api"}, Action{StopApplication, "/web/ui"}),
			step(Action{StopApplication, "/db/cache"}, Action{StopApplication, "/db/pg"}),
		}},
		{"scale dependencies first", chain, chainScaled, chainGraph, chainGraph, []Step{
			step(Action{ScaleApplication, "/c"}), step(Action{ScaleApplication, "/b"}), step(Action{ScaleApplication, "/a"}),
		}},
		{"restart dependencies first; unchanged apps get no step", chain, chainChanged, chainGraph, chainGraph, []Step{
			step(Action{RestartApplication, "/b"}), step(Action{RestartApplication, "/a"}),
		}},
		{"one app of a chain: one step", chain, onlyA, chainGraph, chainGraph, []Step{step(Action{ScaleApplication, "/a"})}},
		{"stop, start, restart and scale in order", chain, mixedTarget, chainGraph, mixedGraph, []Step{
			step(Action{StopApplication, "/c"}),
			step(Action{StartApplication, "/n"}),
			step(Action{RestartApplication, "/a"}),
			step(Action{ScaleApplication, "/n"}),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := dependencyPlan(ids(tt.orig, tt.target), tt.orig, tt.target, nil, tt.before, tt.after)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("plan\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestDepthsCutCycles(t *testing.T) {
	d := newDepths(app.Graph{"/a": {"/b"}, "/b": {"/a"}})
	if n := d.of("/a"); n != 2 {
		t.Fatalf("depth in a cycle %d", n)
	}
}
