package deploy

import (
	"reflect"
	"testing"

	"strata/services/apps/app"
)

func mustApp(t *testing.T, body string) *app.App {
	t.Helper()
	a, err := app.Decode([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Normalize(); err != nil {
		t.Fatal(err)
	}
	a.SetVersion("2024-01-01T00:00:00.000Z", nil)
	return a
}

func TestPlan(t *testing.T) {
	web := mustApp(t, `{"id":"/web","cmd":"serve","instances":2}`)
	scaled := web.Clone()
	scaled.Instances = 5
	scaled.SetVersion("2024-01-02T00:00:00.000Z", web)
	changed := web.Clone()
	changed.Mem = 256
	changed.SetVersion("2024-01-02T00:00:00.000Z", web)
	restarted := web.Clone()
	restarted.SetVersion("2024-01-02T00:00:00.000Z", nil)
	same := web.Clone()
	same.SetVersion("2024-01-02T00:00:00.000Z", web)
	db := mustApp(t, `{"id":"/db","cmd":"db"}`)

	tests := []struct {
		name    string
		orig    map[string]*app.App
		target  map[string]*app.App
		kills   map[string][]string
		want    []Step
		appsIDs []string
	}{
		{"create: start then scale", nil, map[string]*app.App{"/web": web}, nil,
			[]Step{{[]Action{{StartApplication, "/web"}}}, {[]Action{{ScaleApplication, "/web"}}}}, []string{"/web"}},
		{"scale only", map[string]*app.App{"/web": web}, map[string]*app.App{"/web": scaled}, nil,
			[]Step{{[]Action{{ScaleApplication, "/web"}}}}, []string{"/web"}},
		{"config change restarts", map[string]*app.App{"/web": web}, map[string]*app.App{"/web": changed}, nil,
			[]Step{{[]Action{{RestartApplication, "/web"}}}}, []string{"/web"}},
		{"restart", map[string]*app.App{"/web": web}, map[string]*app.App{"/web": restarted}, nil,
			[]Step{{[]Action{{RestartApplication, "/web"}}}}, []string{"/web"}},
		{"identical redeploy: nothing", map[string]*app.App{"/web": web}, map[string]*app.App{"/web": same}, nil, nil, []string{"/web"}},
		{"kill with scale", map[string]*app.App{"/web": web}, map[string]*app.App{"/web": same}, map[string][]string{"/web": {"t"}},
			[]Step{{[]Action{{ScaleApplication, "/web"}}}}, []string{"/web"}},
		{"delete", map[string]*app.App{"/web": web}, map[string]*app.App{}, nil,
			[]Step{{[]Action{{StopApplication, "/web"}}}}, []string{"/web"}},
		{"several apps: stop, start, then scale and restart together",
			map[string]*app.App{"/web": web, "/old": db}, map[string]*app.App{"/web": changed, "/db": db}, nil,
			[]Step{{[]Action{{StopApplication, "/old"}}}, {[]Action{{StartApplication, "/db"}}},
				{[]Action{{ScaleApplication, "/db"}, {RestartApplication, "/web"}}}}, []string{"/db", "/old", "/web"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := plan(tt.appsIDs, tt.orig, tt.target, tt.kills)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("plan = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestAssignServicePorts(t *testing.T) {
	other := mustApp(t, `{"id":"/other","cmd":"x","portDefinitions":[{"port":10000},{"port":10002}]}`)
	others := map[string]*app.App{"/other": other}

	a := mustApp(t, `{"id":"/a","cmd":"x","ports":[0,0,12345]}`)
	if err := assignServicePorts(a, nil, others); err != nil {
		t.Fatal(err)
	}
	if got := a.ServicePorts(); !reflect.DeepEqual(got, []int{10001, 10003, 12345}) {
		t.Fatalf("service ports %v", got)
	}
	// An update that asks for dynamic ports again keeps the ones it had.
	b := mustApp(t, `{"id":"/a","cmd":"y","ports":[0,0]}`)
	if err := assignServicePorts(b, a, others); err != nil {
		t.Fatal(err)
	}
	if got := b.ServicePorts(); !reflect.DeepEqual(got, []int{10001, 10003}) {
		t.Fatalf("service ports on update %v", got)
	}
	// requirePorts: the port is the host port, left as given.
	c := mustApp(t, `{"id":"/c","cmd":"x","requirePorts":true,"ports":[0]}`)
	if err := assignServicePorts(c, nil, others); err != nil || c.ServicePorts()[0] != 0 {
		t.Fatalf("requirePorts: %v %v", c.ServicePorts(), err)
	}
	// Bridge port mappings get service ports too.
	d := mustApp(t, `{"id":"/d","container":{"docker":{"image":"x","network":"BRIDGE","portMappings":[{"containerPort":80}]}}}`)
	if err := assignServicePorts(d, nil, others); err != nil || d.ServicePorts()[0] != 10001 {
		t.Fatalf("bridge: %v %v", d.ServicePorts(), err)
	}
}
