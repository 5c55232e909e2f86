package app

import (
	"encoding/json"
	"errors"
	"reflect"
	"sort"
	"strings"
	"testing"
)

func treeOf(t *testing.T, apps []string, groups ...*GroupSpec) *Tree {
	t.Helper()
	var list []*App
	for _, body := range apps {
		a := mustNormalized(t, body)
		if err := a.Validate(); err != nil {
			t.Fatalf("%s: %v", body, err)
		}
		a.SetVersion("2024-01-01T00:00:00.000Z", nil)
		list = append(list, a)
	}
	return NewTree("2024-01-01T00:00:00.000Z", list, groups)
}

func appIDs(t *Tree) []string {
	var out []string
	for id := range t.Apps {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

func groupIDs(t *Tree) []string {
	var out []string
	for id := range t.Groups {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

func decodeUpdate(t *testing.T, body string) *GroupUpdate {
	t.Helper()
	u, err := DecodeGroupUpdate([]byte(body))
	if err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	return u
}

func TestGroupUpdate(t *testing.T) {
	base := func(t *testing.T) *Tree {
		return treeOf(t, []string{
			`{"id":"/g/a","cmd":"a"}`, `{"id":"/g/b","cmd":"b"}`, `{"id":"/g/sub/c","cmd":"c"}`, `{"id":"/other","cmd":"o"}`,
		}, &GroupSpec{ID: "/g/old", Dependencies: []string{}})
	}
	tests := []struct {
		name       string
		group      string
		body       string
		wantApps   []string
		wantGroups []string
		check      func(t *testing.T, tr *Tree)
	}{
		{"apps replace the group's own apps", "/g", `{"apps":[{"id":"a","cmd":"a2"},{"id":"d","cmd":"d"}]}`,
			[]string{"/g/a", "/g/d", "/g/sub/c", "/other"}, []string{"/g", "/g/old"},
			func(t *testing.T, tr *Tree) {
				if *tr.Apps["/g/a"].Cmd != "a2" {
					t.Errorf("app /g/a not replaced: %v", *tr.Apps["/g/a"].Cmd)
				}
			}},
		{"absent lists are kept", "/g", `{"dependencies":["/other"]}`,
			[]string{"/g/a", "/g/b", "/g/sub/c", "/other"}, []string{"/g", "/g/old"},
			func(t *testing.T, tr *Tree) {
				if !reflect.DeepEqual(tr.Groups["/g"].Dependencies, []string{"/other"}) {
					t.Errorf("dependencies %v", tr.Groups["/g"].Dependencies)
				}
			}},
		{"null lists are kept", "/g", `{"apps":null,"groups":null,"dependencies":null}`,
			[]string{"/g/a", "/g/b", "/g/sub/c", "/other"}, []string{"/g", "/g/old"}, nil},
		{"groups replace the child groups", "/g", `{"groups":[{"id":"sub"},{"id":"/g/new","apps":[{"id":"x","cmd":"x"}]}]}`,
			[]string{"/g/a", "/g/b", "/g/new/x", "/g/sub/c", "/other"}, []string{"/g", "/g/new", "/g/sub"}, nil},
		{"an empty group list removes every child group", "/g", `{"groups":[]}`,
			[]string{"/g/a", "/g/b", "/other"}, []string{"/g"}, nil},
		{"a new nested group", "/n", `{"groups":[{"id":"/n/m","dependencies":["../x"],"apps":[{"id":"y","cmd":"y","dependencies":["z"]}]}]}`,
			[]string{"/g/a", "/g/b", "/g/sub/c", "/n/m/y", "/other"}, []string{"/g/old", "/n", "/n/m"},
			func(t *testing.T, tr *Tree) {
				if got := tr.Groups["/n/m"].Dependencies; !reflect.DeepEqual(got, []string{"/n/x"}) {
					t.Errorf("group dependencies %v", got)
				}
				if got := tr.Apps["/n/m/y"].Dependencies; !reflect.DeepEqual(got, []string{"/n/m/z"}) {
					t.Errorf("app dependencies %v", got)
				}
			}},
		{"the root group", "/", `{"apps":[{"id":"top","cmd":"t"}]}`,
			[]string{"/g/a", "/g/b", "/g/sub/c", "/top"}, []string{"/g/old"}, nil},
		{"relative dependencies", "/n", `{"dependencies":["x","../other"],"apps":[{"id":"y","cmd":"y","dependencies":["z","/abs"]}]}`,
			[]string{"/g/a", "/g/b", "/g/sub/c", "/n/y", "/other"}, []string{"/g/old", "/n"},
			func(t *testing.T, tr *Tree) {
				if got := tr.Groups["/n"].Dependencies; !reflect.DeepEqual(got, []string{"/n/x", "/other"}) {
					t.Errorf("group dependencies %v (resolved against the group itself)", got)
				}
				if got := tr.Apps["/n/y"].Dependencies; !reflect.DeepEqual(got, []string{"/n/z", "/abs"}) {
					t.Errorf("app dependencies %v (resolved against the app's group)", got)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := base(t)
			if err := tr.Update(tt.group, decodeUpdate(t, tt.body)); err != nil {
				t.Fatal(err)
			}
			if got := appIDs(tr); !reflect.DeepEqual(got, tt.wantApps) {
				t.Errorf("apps %v, want %v", got, tt.wantApps)
			}
			if got := groupIDs(tr); !reflect.DeepEqual(got, tt.wantGroups) {
				t.Errorf("explicit groups %v, want %v", got, tt.wantGroups)
			}
			if tt.check != nil {
				tt.check(t, tr)
			}
		})
	}
}

func TestGroupUpdateErrors(t *testing.T) {
	tests := []struct {
		name, group, body string
		path, message     string
	}{
		{"app not a child", "/g", `{"apps":[{"id":"/elsewhere/a","cmd":"a"}]}`, "/apps(0)/id", "Identifier is not child of /g. Hint: use relative paths."},
		{"app grandchild", "/g", `{"apps":[{"id":"x/a","cmd":"a"}]}`, "/apps(0)/id", "not child of /g"},
		{"app without id", "/g", `{"apps":[{"cmd":"a"}]}`, "/apps(0)/id", "error.path.missing"},
		{"invalid app", "/g", `{"apps":[{"id":"a","cmd":"a"},{"id":"b","cpus":0}]}`, "/apps(1)", "cmd"},
		{"invalid app field", "/g", `{"apps":[{"id":"a","cmd":"a","cpus":0}]}`, "/apps(0)/cpus", "expected 0.001 or more"},
		{"app not an object", "/g", `{"apps":[7]}`, "/apps(0)", "error.expected.jsobject"},
		{"duplicate app", "/g", `{"apps":[{"id":"a","cmd":"a"},{"id":"/g/a","cmd":"a"}]}`, "/apps(1)/id", "duplicate app id /g/a"},
		{"group not a child", "/g", `{"groups":[{"id":"/h"}]}`, "/groups(0)/id", "not child of /g"},
		{"group without id", "/g", `{"groups":[{"apps":[]}]}`, "/groups(0)/id", "error.path.missing"},
		{"nested app path", "/g", `{"groups":[{"id":"s","apps":[{"id":"a","cmd":"a","mem":-1}]}]}`, "/groups(0)/apps(0)/mem", "expected 0 or more"},
		{"bad dependency", "/g", `{"dependencies":["Bad_Id"]}`, "/dependencies(0)", "must fully match"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := treeOf(t, nil)
			err := tr.Update(tt.group, decodeUpdate(t, tt.body))
			var invalid *ValidationError
			if !errors.As(err, &invalid) {
				t.Fatalf("error %v, want a ValidationError", err)
			}
			for _, d := range invalid.Details {
				if d.Path == tt.path && strings.Contains(strings.Join(d.Errors, "; "), tt.message) {
					return
				}
			}
			t.Fatalf("details %+v, want %s: %s", invalid.Details, tt.path, tt.message)
		})
	}
}

func TestDecodeGroupUpdate(t *testing.T) {
	u := decodeUpdate(t, `{"id":"/g","scaleBy":1.5,"version":"2024-01-01T00:00:00.000Z","enforceRole":true,
		"pods":[],"tasksRunning":3,"groups":[{"id":"s","groups":[{"id":"t"}]}]}`)
	if *u.ID != "/g" || *u.ScaleBy != 1.5 || *u.Version == "" || !*u.EnforceRole || u.Apps != nil ||
		len(u.Groups) != 1 || len(u.Groups[0].Groups) != 1 || *u.Groups[0].Groups[0].ID != "t" {
		t.Fatalf("decoded %+v", u)
	}
	tests := []struct{ name, body, path, message string }{
		{"scaleBy type", `{"scaleBy":"two"}`, "/scaleBy", "error.expected.jsnumber"},
		{"negative scaleBy", `{"scaleBy":-1}`, "/scaleBy", "expected 0 or more"},
		{"bad version", `{"version":"yesterday"}`, "/version", "error.expected.date.isoformat"},
		{"nested type", `{"groups":[{"id":"s","dependencies":"x"}]}`, "/groups(0)/dependencies", "error.expected.jsarray"},
		{"apps type", `{"apps":{}}`, "/apps", "error.expected.jsarray"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeGroupUpdate([]byte(tt.body))
			var invalid *ValidationError
			if !errors.As(err, &invalid) || len(invalid.Details) == 0 || invalid.Details[0].Path != tt.path ||
				!strings.Contains(strings.Join(invalid.Details[0].Errors, ";"), tt.message) {
				t.Fatalf("%s: %v, want %s: %s", tt.body, err, tt.path, tt.message)
			}
		})
	}
	var invalidJSON *InvalidJSONError
	if _, err := DecodeGroupUpdate([]byte(`[1]`)); !errors.As(err, &invalidJSON) {
		t.Fatalf("array body: %v", err)
	}
}

func TestScaleInstances(t *testing.T) {
	tests := []struct {
		n      int
		factor float64
		want   int
	}{
		{1, 2, 2}, {3, 1.5, 5}, {3, 0.5, 2}, {5, 0, 0}, {0, 3, 0}, {4, 0.25, 1}, {3, 1.0 / 3, 1},
		// Marathon multiplies in floating point and rounds up: 100 × 1.1 is 110.00000000000001.
		{100, 1.1, 111}, {10, 0.1, 1},
	}
	for _, tt := range tests {
		got, err := ScaleInstances(tt.n, tt.factor)
		if err != nil || got != tt.want {
			t.Errorf("ScaleInstances(%d, %v) = %d, %v; want %d", tt.n, tt.factor, got, err, tt.want)
		}
	}
	for _, bad := range []float64{-1, 1e12} {
		if _, err := ScaleInstances(1000, bad); err == nil {
			t.Errorf("ScaleInstances(1000, %v) accepted", bad)
		}
	}
	tr := treeOf(t, []string{`{"id":"/g/a","cmd":"a","instances":3}`, `{"id":"/g/s/b","cmd":"b"}`, `{"id":"/h","cmd":"h","instances":2}`})
	before := tr.Apps["/g/a"]
	if err := tr.Scale("/g", 1.5); err != nil {
		t.Fatal(err)
	}
	if tr.Apps["/g/a"].Instances != 5 || tr.Apps["/g/s/b"].Instances != 2 || tr.Apps["/h"].Instances != 2 || before.Instances != 3 {
		t.Fatalf("scaled: %d %d %d (the original app changed: %d)", tr.Apps["/g/a"].Instances, tr.Apps["/g/s/b"].Instances,
			tr.Apps["/h"].Instances, before.Instances)
	}
}

func TestDependencyGraph(t *testing.T) {
	tr := treeOf(t, []string{
		`{"id":"/db/pg","cmd":"x"}`, `{"id":"/db/cache","cmd":"x"}`,
		`{"id":"/web/api","cmd":"x","dependencies":["/db/pg"]}`,
		`{"id":"/web/ui","cmd":"x","dependencies":["api","/missing"]}`,
		`{"id":"/jobs/a","cmd":"x"}`, `{"id":"/jobs/b","cmd":"x"}`,
		`{"id":"/mon","cmd":"x","dependencies":["/web"]}`,
	}, &GroupSpec{ID: "/jobs", Dependencies: []string{"/db"}})
	want := Graph{
		"/web/api": {"/db/pg"},
		"/web/ui":  {"/web/api"},
		"/jobs/a":  {"/db/cache", "/db/pg"},
		"/jobs/b":  {"/db/cache", "/db/pg"},
		"/mon":     {"/web/api", "/web/ui"},
	}
	if got := tr.Dependencies(); !reflect.DeepEqual(got, want) {
		t.Fatalf("graph %v, want %v", got, want)
	}
	if c := tr.Dependencies().Cycle(); c != nil {
		t.Fatalf("cycle %v in an acyclic graph", c)
	}
}

func TestCycles(t *testing.T) {
	tests := []struct {
		name   string
		apps   []string
		groups []*GroupSpec
		want   string // "" for no cycle
	}{
		{"none", []string{`{"id":"/a","cmd":"x","dependencies":["/b"]}`, `{"id":"/b","cmd":"x"}`}, nil, ""},
		{"self", []string{`{"id":"/a","cmd":"x","dependencies":["/a"]}`}, nil, "/a -> /a"},
		{"two", []string{`{"id":"/a","cmd":"x","dependencies":["/b"]}`, `{"id":"/b","cmd":"x","dependencies":["/a"]}`}, nil, "/a -> /b -> /a"},
		{"three", []string{`{"id":"/a","cmd":"x","dependencies":["/b"]}`, `{"id":"/b","cmd":"x","dependencies":["/c"]}`,
			`{"id":"/c","cmd":"x","dependencies":["/a"]}`}, nil, "/a -> /b -> /c -> /a"},
		{"an app on its own group", []string{`{"id":"/g/a","cmd":"x","dependencies":["/g"]}`}, nil, "/g/a -> /g/a"},
		{"through groups", []string{`{"id":"/g/a","cmd":"x"}`, `{"id":"/h/b","cmd":"x"}`},
			[]*GroupSpec{{ID: "/g", Dependencies: []string{"/h"}}, {ID: "/h", Dependencies: []string{"/g/a"}}}, "/g/a -> /h/b -> /g/a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := treeOf(t, tt.apps, tt.groups...).Dependencies().CheckCycles()
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var invalid *ValidationError
			if !errors.As(err, &invalid) || !strings.Contains(invalid.Details[0].Errors[0], "cyclic dependencies: "+tt.want) {
				t.Fatalf("error %v, want the cycle %s", err, tt.want)
			}
		})
	}
}

func TestCheckIDs(t *testing.T) {
	tests := []struct {
		name    string
		apps    []string
		groups  []*GroupSpec
		changed []string
		clash   string
	}{
		{"fine", []string{`{"id":"/a/b","cmd":"x"}`, `{"id":"/a/c","cmd":"x"}`}, nil, []string{"/a/b"}, ""},
		{"app holds an app", []string{`{"id":"/a","cmd":"x"}`, `{"id":"/a/b","cmd":"x"}`}, nil, []string{"/a/b"}, "/a"},
		{"app over existing apps", []string{`{"id":"/a","cmd":"x"}`, `{"id":"/a/b","cmd":"x"}`}, nil, []string{"/a"}, "/a"},
		{"app is an explicit group", []string{`{"id":"/a","cmd":"x"}`}, []*GroupSpec{{ID: "/a"}}, []string{"/a"}, "/a"},
		{"group below an app", []string{`{"id":"/a","cmd":"x"}`}, []*GroupSpec{{ID: "/a/g"}}, []string{"/a/g"}, "/a"},
		{"many changed", []string{`{"id":"/a","cmd":"x"}`, `{"id":"/b","cmd":"x"}`, `{"id":"/c","cmd":"x"}`, `{"id":"/d","cmd":"x"}`,
			`{"id":"/e","cmd":"x"}`, `{"id":"/e/f","cmd":"x"}`}, nil, []string{"/a", "/b", "/c", "/d", "/e"}, "/e"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := treeOf(t, tt.apps, tt.groups...).CheckIDs(tt.changed)
			if tt.clash == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), "Groups and Applications may not have the same identifier: "+tt.clash) {
				t.Fatalf("error %v, want a clash at %s", err, tt.clash)
			}
		})
	}
}

func TestTreeNodes(t *testing.T) {
	tr := treeOf(t, []string{`{"id":"/a/b/c","cmd":"x"}`, `{"id":"/a/d","cmd":"x"}`, `{"id":"/top","cmd":"x"}`},
		&GroupSpec{ID: "/e/f", Dependencies: []string{"/a"}, Version: "2025-01-01T00:00:00.000Z", EnforceRole: true})
	tr.Version = "2025-02-02T00:00:00.000Z"
	root, ok := tr.Node(RootID)
	if !ok || root.Version != tr.Version || len(root.Apps) != 1 || root.Apps[0].ID != "/top" {
		t.Fatalf("root %+v", root)
	}
	var ids []string
	for _, g := range root.Groups {
		ids = append(ids, g.ID)
	}
	if !reflect.DeepEqual(ids, []string{"/a", "/e"}) {
		t.Fatalf("root groups %v", ids)
	}
	f, ok := tr.Node("/e/f")
	if !ok || !f.Explicit || !f.EnforceRole || f.Version != "2025-01-01T00:00:00.000Z" || len(f.Apps) != 0 ||
		!reflect.DeepEqual(f.Dependencies, []string{"/a"}) {
		t.Fatalf("explicit group %+v", f)
	}
	e, _ := tr.Node("/e")
	if e.Explicit || e.Version != "2025-01-01T00:00:00.000Z" {
		t.Fatalf("implicit group /e %+v: its version is its newest child's", e)
	}
	b, ok := tr.Node("/a/b")
	if !ok || len(b.Apps) != 1 || b.Version != "2024-01-01T00:00:00.000Z" {
		t.Fatalf("/a/b %+v", b)
	}
	for _, missing := range []string{"/a/b/c", "/nope", "/a/x"} {
		if _, ok := tr.Node(missing); ok || tr.HasGroup(missing) {
			t.Errorf("group %s exists", missing)
		}
	}
	if !reflect.DeepEqual(tr.GroupIDs(), []string{"/", "/a", "/a/b", "/e", "/e/f"}) {
		t.Errorf("group ids %v", tr.GroupIDs())
	}
	// Remove and Replace work on whole subtrees.
	old := tr.Clone()
	tr.Remove("/a")
	if got := appIDs(tr); !reflect.DeepEqual(got, []string{"/top"}) {
		t.Fatalf("after removing /a: %v", got)
	}
	tr.Replace("/a", old)
	if got := appIDs(tr); !reflect.DeepEqual(got, []string{"/a/b/c", "/a/d", "/top"}) {
		t.Fatalf("after restoring /a: %v", got)
	}
	tr.Remove(RootID)
	if len(tr.Apps) != 0 || len(tr.Groups) != 0 {
		t.Fatalf("after removing the root: %v %v", tr.Apps, tr.Groups)
	}
	if b, _ := json.Marshal(&GroupSpec{ID: "/x", Dependencies: []string{}}); string(b) != `{"id":"/x","dependencies":[]}` {
		t.Errorf("spec JSON %s", b)
	}
}

// FuzzGroupUpdate feeds group bodies from outside: decoding and applying them to a tree, then
// scaling, checking ids and resolving dependencies, never panic, and every error is Marathon's
// 400 or 422 kind.
func FuzzGroupUpdate(f *testing.F) {
	for _, s := range []string{
		`{"id":"/g","apps":[{"id":"db","cmd":"x"},{"id":"web","cmd":"x","dependencies":["db"]}]}`,
		`{"groups":[{"id":"a","dependencies":["../b"],"groups":[{"id":"c","apps":[{"id":"d","cmd":"x"}]}]},{"id":"b"}]}`,
		`{"scaleBy":1.5}`, `{"version":"2024-01-01T00:00:00.000Z"}`, `{"enforceRole":true,"apps":null,"groups":null}`,
		`{"apps":[7,null,{"id":"/x/y","cmd":"x"}],"groups":[null,{"id":"/"}]}`, `[]`, `{`, `null`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		u, err := DecodeGroupUpdate(body)
		if err != nil {
			var invalidJSON *InvalidJSONError
			var invalid *ValidationError
			if !errors.As(err, &invalidJSON) && !errors.As(err, &invalid) {
				t.Fatalf("decode error of an unknown kind: %v", err)
			}
			return
		}
		tr := NewTree("", nil, []*GroupSpec{{ID: "/g", Dependencies: []string{}}})
		if err := tr.Update("/g", u); err != nil {
			var invalid *ValidationError
			if !errors.As(err, &invalid) {
				t.Fatalf("update error of an unknown kind: %v", err)
			}
			return
		}
		if u.ScaleBy != nil {
			_ = tr.Scale(RootID, *u.ScaleBy)
		}
		_ = tr.CheckIDs(tr.GroupIDs())
		_ = tr.Dependencies().CheckCycles()
		if _, ok := tr.Node(RootID); !ok {
			t.Fatal("no root group")
		}
	})
}
