package app

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func mustNormalized(t *testing.T, body string) *App {
	t.Helper()
	a, err := Decode([]byte(body))
	if err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	if err := a.Normalize(); err != nil {
		t.Fatalf("normalize %s: %v", body, err)
	}
	return a
}

func TestDefaults(t *testing.T) {
	a := mustNormalized(t, `{"id":"/web","cmd":"sleep 1"}`)
	if err := a.Validate(); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(a)
	var got map[string]any
	_ = json.Unmarshal(b, &got)
	want := map[string]any{
		"cpus": 1.0, "mem": 128.0, "disk": 0.0, "gpus": 0.0, "instances": 1.0,
		"backoffSeconds": 1.0, "backoffFactor": 1.15, "maxLaunchDelaySeconds": 300.0,
		"killSelection": "YOUNGEST_FIRST", "requirePorts": false, "executor": "", "role": "*",
		"upgradeStrategy":     map[string]any{"minimumHealthCapacity": 1.0, "maximumOverCapacity": 1.0},
		"unreachableStrategy": map[string]any{"inactiveAfterSeconds": 0.0, "expungeAfterSeconds": 0.0},
		"portDefinitions":     []any{map[string]any{"port": 0.0, "protocol": "tcp", "name": "default"}},
		"networks":            []any{map[string]any{"mode": "host"}},
		"env":                 map[string]any{}, "labels": map[string]any{}, "constraints": []any{},
		"healthChecks": []any{}, "readinessChecks": []any{}, "dependencies": []any{}, "fetch": []any{},
	}
	for k, w := range want {
		if !reflect.DeepEqual(got[k], w) {
			t.Errorf("%s = %#v, want %#v", k, got[k], w)
		}
	}
	for _, k := range []string{"ports", "uris", "ipAddress"} {
		if _, ok := got[k]; ok {
			t.Errorf("deprecated field %q in output: %s", k, b)
		}
	}
}

func TestNestedDefaults(t *testing.T) {
	a := mustNormalized(t, `{"id":"/h","cmd":"x","upgradeStrategy":{"minimumHealthCapacity":0.5},
		"healthChecks":[{"protocol":"MESOS_HTTP","path":"/health"}],"fetch":[{"uri":"http://x/a"}],
		"unreachableStrategy":"disabled"}`)
	if a.UpgradeStrategy != (UpgradeStrategy{MinimumHealthCapacity: 0.5, MaximumOverCapacity: 1}) {
		t.Errorf("upgradeStrategy %+v", a.UpgradeStrategy)
	}
	hc := a.HealthChecks[0]
	if hc.GracePeriodSeconds != 300 || hc.IntervalSeconds != 60 || hc.TimeoutSeconds != 20 || hc.MaxConsecutiveFailures != 3 ||
		hc.DelaySeconds != 15 || hc.PortIndex == nil || *hc.PortIndex != 0 || hc.IPProtocol != "IPv4" {
		t.Errorf("health check defaults %+v", hc)
	}
	if !a.Fetch[0].Extract || a.Fetch[0].Executable || a.Fetch[0].Cache {
		t.Errorf("fetch defaults %+v", a.Fetch[0])
	}
	if !a.UnreachableStrategy.Disabled {
		t.Errorf("unreachableStrategy %+v", a.UnreachableStrategy)
	}
	out, _ := json.Marshal(a)
	if !strings.Contains(string(out), `"unreachableStrategy":"disabled"`) {
		t.Errorf("disabled unreachable strategy does not round-trip: %s", out)
	}
}

func TestDeprecatedForms(t *testing.T) {
	tests := []struct {
		name  string
		body  string
		check func(t *testing.T, a *App)
	}{
		{"ports", `{"id":"/a","cmd":"x","ports":[0,8080]}`, func(t *testing.T, a *App) {
			if len(a.PortDefinitions) != 2 || a.PortDefinitions[1].Port != 8080 || a.PortDefinitions[0].Protocol != "tcp" {
				t.Errorf("portDefinitions %+v", a.PortDefinitions)
			}
		}},
		{"ports null keeps the default", `{"id":"/a","cmd":"x","ports":null,"dependencies":null}`, func(t *testing.T, a *App) {
			if len(a.PortDefinitions) != 1 || a.PortDefinitions[0].Name != "default" || a.Dependencies == nil {
				t.Errorf("portDefinitions %+v deps %v", a.PortDefinitions, a.Dependencies)
			}
		}},
		{"empty ports", `{"id":"/a","cmd":"x","ports":[]}`, func(t *testing.T, a *App) {
			if len(a.PortDefinitions) != 0 || a.PortDefinitions == nil {
				t.Errorf("portDefinitions %+v", a.PortDefinitions)
			}
		}},
		{"uris", `{"id":"/a","cmd":"x","uris":["http://h/a.tgz","http://h/b.sh"]}`, func(t *testing.T, a *App) {
			if len(a.Fetch) != 2 || !a.Fetch[0].Extract || a.Fetch[1].Extract || a.Fetch[1].URI != "http://h/b.sh" {
				t.Errorf("fetch %+v", a.Fetch)
			}
		}},
		{"docker network and port mappings", `{"id":"/a","container":{"type":"DOCKER","docker":{"image":"busybox","network":"BRIDGE",
			"portMappings":[{"containerPort":80}]}}}`, func(t *testing.T, a *App) {
			if len(a.Networks) != 1 || a.Networks[0].Mode != NetworkBridge {
				t.Errorf("networks %+v", a.Networks)
			}
			pm := a.Container.PortMappings
			if len(pm) != 1 || pm[0].ContainerPort != 80 || pm[0].HostPort == nil || *pm[0].HostPort != 0 || pm[0].Protocol != "tcp" {
				t.Errorf("portMappings %+v", pm)
			}
			if a.Container.Docker.Network != "" || a.Container.Docker.PortMappings != nil || len(a.PortDefinitions) != 0 {
				t.Errorf("deprecated fields kept: %+v %+v", a.Container.Docker, a.PortDefinitions)
			}
		}},
		{"env secret", `{"id":"/a","cmd":"x","env":{"A":"1","DB":{"secret":"pw"}}}`, func(t *testing.T, a *App) {
			if a.Env["A"].Value != "1" || a.Env["DB"].Secret != "pw" {
				t.Errorf("env %+v", a.Env)
			}
			out, _ := json.Marshal(a.Env)
			if string(out) != `{"A":"1","DB":{"secret":"pw"}}` {
				t.Errorf("env JSON %s", out)
			}
		}},
		{"ipAddress", `{"id":"/a","cmd":"x","ipAddress":{"networkName":"dcos"}}`, func(t *testing.T, a *App) {
			if len(a.Networks) != 1 || a.Networks[0].Mode != NetworkContainer || a.Networks[0].Name != "dcos" || a.Container == nil || a.Container.Type != ContainerMesos {
				t.Errorf("networks %+v container %+v", a.Networks, a.Container)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.check(t, mustNormalized(t, tt.body)) })
	}
}

// TestReadinessAndAutoRevert: a readiness check gets Marathon's defaults and may name a port
// definition or a port mapping; upgradeStrategy.autoRevert (a Strata extension) round-trips and
// is left out of the JSON when unset.
func TestReadinessAndAutoRevert(t *testing.T) {
	a := mustNormalized(t, `{"id":"/r","cmd":"x","portDefinitions":[{"name":"admin"},{"name":"http-api"}],
		"readinessChecks":[{}],"upgradeStrategy":{"autoRevert":true}}`)
	if err := a.Validate(); err != nil {
		t.Fatal(err)
	}
	want := ReadinessCheck{Name: "readinessCheck", Protocol: "HTTP", Path: "/", PortName: "http-api", IntervalSeconds: 30,
		TimeoutSeconds: 10, HTTPStatusCodesForReady: []int{200}}
	if !reflect.DeepEqual(a.ReadinessChecks[0], want) {
		t.Errorf("readiness check defaults %+v", a.ReadinessChecks[0])
	}
	if got := a.PortIndex("http-api"); got != 1 {
		t.Errorf("PortIndex(http-api) = %d", got)
	}
	if s := a.UpgradeStrategy; s.AutoRevert == nil || !*s.AutoRevert || s.MinimumHealthCapacity != 1 || s.MaximumOverCapacity != 1 {
		t.Errorf("upgradeStrategy %+v", s)
	}
	out, _ := json.Marshal(a)
	if !strings.Contains(string(out), `"upgradeStrategy":{"minimumHealthCapacity":1,"maximumOverCapacity":1,"autoRevert":true}`) {
		t.Errorf("autoRevert does not round-trip: %s", out)
	}

	bridged := mustNormalized(t, `{"id":"/b","container":{"type":"DOCKER","docker":{"image":"i"},
		"portMappings":[{"containerPort":80,"hostPort":0,"name":"web"}]},"networks":[{"mode":"container/bridge"}],
		"readinessChecks":[{"portName":"web","path":"/ready","intervalSeconds":2,"timeoutSeconds":1}]}`)
	if err := bridged.Validate(); err != nil {
		t.Fatal(err)
	}
	if plain, _ := json.Marshal(mustNormalized(t, `{"id":"/p","cmd":"x"}`)); strings.Contains(string(plain), "autoRevert") {
		t.Errorf("autoRevert in the JSON of an app that does not set it: %s", plain)
	}
}

func TestValidation(t *testing.T) {
	tests := []struct {
		name, body, path, message string
	}{
		{"uppercase id", `{"id":"/Web","cmd":"x"}`, "/id", "must fully match regular expression"},
		{"no cmd", `{"id":"/a"}`, "/", "AppDefinition must either contain one of 'cmd' or 'args', and/or a 'container'."},
		{"cmd and args", `{"id":"/a","cmd":"x","args":["y"]}`, "/", "must either contain one of"},
		{"cpus", `{"id":"/a","cmd":"x","cpus":0}`, "/cpus", "got 0, expected 0.001 or more"},
		{"instances", `{"id":"/a","cmd":"x","instances":-1}`, "/instances", "got -1, expected 0 or more"},
		{"backoffFactor", `{"id":"/a","cmd":"x","backoffFactor":0.5}`, "/backoffFactor", "got 0.5, expected 1 or more"},
		{"upgrade", `{"id":"/a","cmd":"x","upgradeStrategy":{"minimumHealthCapacity":1.5}}`, "/upgradeStrategy/minimumHealthCapacity", "between 0 and 1"},
		{"killSelection", `{"id":"/a","cmd":"x","killSelection":"RANDOM"}`, "/killSelection", "YOUNGEST_FIRST"},
		{"constraint operator", `{"id":"/a","cmd":"x","constraints":[["hostname","SOMETIMES"]]}`, "/constraints(0)", "Constraint operator must be one of"},
		{"constraint arity", `{"id":"/a","cmd":"x","constraints":[["hostname"]]}`, "/constraints(0)", "either 2 or 3 fields"},
		{"max per value", `{"id":"/a","cmd":"x","constraints":[["hostname","MAX_PER","two"]]}`, "/constraints(0)", "not a number"},
		{"regex that only anchoring balances", `{"id":"/a","cmd":"x","constraints":[["hostname","LIKE","a)|(b"]]}`, "/constraints(0)", "not a valid regular expression"},
		{"unique with a value", `{"id":"/a","cmd":"x","constraints":[["hostname","unique","x"]]}`, "/constraints(0)", "Value specified but not used"},
		{"duplicate host ports", `{"id":"/a","cmd":"x","container":{"docker":{"image":"i"},"portMappings":[{"containerPort":80,"hostPort":8080},{"containerPort":81,"hostPort":8080}]},"networks":[{"mode":"container/bridge"}]}`, "/container/portMappings", "Host ports must be unique."},
		{"health protocol", `{"id":"/a","cmd":"x","healthChecks":[{"protocol":"UDP"}]}`, "/healthChecks(0)/protocol", "must be one of"},
		{"health port index", `{"id":"/a","cmd":"x","healthChecks":[{"protocol":"MESOS_HTTP","portIndex":3}]}`, "/healthChecks(0)/portIndex", "must address an element"},
		{"two health checks", `{"id":"/a","cmd":"x","healthChecks":[{"protocol":"MESOS_TCP"},{"protocol":"MESOS_HTTP"}]}`, "/healthChecks", "at most one Mesos health check"},
		{"command check", `{"id":"/a","cmd":"x","healthChecks":[{"protocol":"COMMAND"}]}`, "/healthChecks(0)/command", "must not be empty"},
		{"docker image", `{"id":"/a","container":{"type":"DOCKER","docker":{"image":""}}}`, "/container/docker/image", "must not be empty"},
		{"port name", `{"id":"/a","cmd":"x","portDefinitions":[{"port":0,"name":"Http"}]}`, "/portDefinitions(0)/name", "must fully match"},
		{"unreachable", `{"id":"/a","cmd":"x","unreachableStrategy":{"inactiveAfterSeconds":10,"expungeAfterSeconds":5}}`, "/unreachableStrategy/expungeAfterSeconds", "expected 10 or more"},
		{"secret source empty", `{"id":"/a","cmd":"x","env":{"P":{"secret":"s"}},"secrets":{"s":{"source":""}}}`, "/secrets/s/source", "must not be empty"},
		{"secret source escapes", `{"id":"/a","cmd":"x","env":{"P":{"secret":"s"}},"secrets":{"s":{"source":"/db/../../etc/shadow"}}}`, "/secrets/s/source", "clean path"},
		{"secret source hidden", `{"id":"/a","cmd":"x","env":{"P":{"secret":"s"}},"secrets":{"s":{"source":"db/.pw"}}}`, "/secrets/s/source", "start with a dot"},
		{"undefined secret", `{"id":"/a","cmd":"x","env":{"P":{"secret":"s"}}}`, "/env/P", "undefined secret"},
		{"uris and fetch", `{"id":"/a","cmd":"x","uris":["u"],"fetch":[{"uri":"v"}]}`, "/uris", "cannot specify both"},
		{"readiness port name", `{"id":"/a","cmd":"x","portDefinitions":[{"name":"web"}],"readinessChecks":[{}]}`, "/readinessChecks(0)/portName", `"http-api" is not`},
		{"readiness unnamed ports", `{"id":"/a","cmd":"x","portDefinitions":[{}],"readinessChecks":[{"portName":""}]}`, "/readinessChecks(0)/portName", "must not be empty"},
		{"readiness timeout", `{"id":"/a","cmd":"x","portDefinitions":[{"name":"http-api"}],"readinessChecks":[{"intervalSeconds":5,"timeoutSeconds":5}]}`, "/readinessChecks(0)/timeoutSeconds", "expected less than intervalSeconds (5)"},
		{"readiness protocol", `{"id":"/a","cmd":"x","portDefinitions":[{"name":"http-api"}],"readinessChecks":[{"protocol":"TCP"}]}`, "/readinessChecks(0)/protocol", "must be one of HTTP, HTTPS"},
		{"readiness codes", `{"id":"/a","cmd":"x","portDefinitions":[{"name":"http-api"}],"readinessChecks":[{"httpStatusCodesForReady":[]}]}`, "/readinessChecks(0)/httpStatusCodesForReady", "must not be empty"},
		{"readiness path", `{"id":"/a","cmd":"x","portDefinitions":[{"name":"http-api"}],"readinessChecks":[{"path":"ready"}]}`, "/readinessChecks(0)/path", "must start with /"},
		{"two readiness checks", `{"id":"/a","cmd":"x","portDefinitions":[{"name":"http-api"}],"readinessChecks":[{},{"name":"b"}]}`, "/readinessChecks", "at most one readiness check"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := Decode([]byte(tt.body))
			if err == nil {
				if nerr := a.Normalize(); nerr != nil {
					err = nerr
				} else {
					if !strings.HasPrefix(a.ID, "/") {
						a.ID, _ = ParseID(a.ID, "/")
					}
					err = a.Validate()
				}
			}
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("got %v, want a ValidationError", err)
			}
			body := ve.Body()
			if body.Message != "Object is not valid" {
				t.Errorf("message %q", body.Message)
			}
			for _, d := range body.Details {
				if d.Path == tt.path && strings.Contains(strings.Join(d.Errors, "|"), tt.message) {
					return
				}
			}
			t.Errorf("details %+v lack %s: %q", body.Details, tt.path, tt.message)
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	for _, body := range []string{``, `{`, `[1,2]`, `"x"`, `{"id":"/a",}`} {
		_, err := Decode([]byte(body))
		var ij *InvalidJSONError
		if !errors.As(err, &ij) {
			t.Errorf("Decode(%q) = %v, want InvalidJSONError", body, err)
		} else if ij.Body().Message != "Invalid JSON" {
			t.Errorf("message %q", ij.Body().Message)
		}
	}
	_, err := Decode([]byte(`{"id":"/a","cmd":"x","cpus":"lots"}`))
	var ve *ValidationError
	if !errors.As(err, &ve) || ve.Details[0].Path != "/cpus" || ve.Details[0].Errors[0] != "error.expected.jsnumber" {
		t.Errorf("type error: %v", err)
	}
	_, err = Decode([]byte(`{"id":"/a","cmd":"x","env":{"A":1}}`))
	if !errors.As(err, &ve) || ve.Details[0].Path != "/env/A" {
		t.Errorf("env type error: %v", err)
	}
}

func current(t *testing.T) *App {
	a := mustNormalized(t, `{"id":"/x","cmd":"serve","instances":3,"ports":[10000],"dependencies":["/db"],
		"env":{"A":"1","B":"2"},"labels":{"l":"v"},"healthChecks":[{"protocol":"MESOS_TCP"}]}`)
	a.SetVersion("2024-01-01T00:00:00.000Z", nil)
	return a
}

// The bodies clients send (reference §10): null means unchanged.
func TestMergeNullMeansUnchanged(t *testing.T) {
	cur := current(t)
	tests := []struct {
		name  string
		body  string
		check func(t *testing.T, got *App)
	}{
		{"scale", `{"id":"/x","instances":5,"ports":null,"dependencies":null}`, func(t *testing.T, got *App) {
			if got.Instances != 5 || len(got.PortDefinitions) != 1 || got.PortDefinitions[0].Port != 10000 ||
				!reflect.DeepEqual(got.Dependencies, []string{"/db"}) || *got.Cmd != "serve" {
				t.Errorf("got %+v", got)
			}
			if !SameConfig(cur, got) {
				t.Error("a scale is a config change")
			}
		}},
		{"scale to zero", `{"id":"/x","instances":0,"ports":null,"dependencies":null}`, func(t *testing.T, got *App) {
			if got.Instances != 0 {
				t.Errorf("instances %d", got.Instances)
			}
		}},
		{"env replaced wholesale", `{"env":{"C":"3"},"labels":null}`, func(t *testing.T, got *App) {
			if !reflect.DeepEqual(got.Env, map[string]EnvValue{"C": {Value: "3"}}) || got.Labels["l"] != "v" {
				t.Errorf("env %+v labels %+v", got.Env, got.Labels)
			}
			if SameConfig(cur, got) {
				t.Error("an env change is not a config change")
			}
		}},
		{"args replace cmd", `{"args":["a","b"]}`, func(t *testing.T, got *App) {
			if got.Cmd != nil || len(got.Args) != 2 {
				t.Errorf("cmd %v args %v", got.Cmd, got.Args)
			}
		}},
		{"portDefinitions replace ports", `{"portDefinitions":[{"port":0,"name":"http"},{"port":0}]}`, func(t *testing.T, got *App) {
			if len(got.PortDefinitions) != 2 || got.PortDefinitions[0].Name != "http" {
				t.Errorf("portDefinitions %+v", got.PortDefinitions)
			}
		}},
		{"body id ignored", `{"id":"/other","instances":2}`, func(t *testing.T, got *App) {
			if got.ID != "/x" || got.Version != cur.Version {
				t.Errorf("id %s version %s", got.ID, got.Version)
			}
		}},
		{"health check member defaults", `{"healthChecks":[{"protocol":"MESOS_HTTP","intervalSeconds":2}]}`, func(t *testing.T, got *App) {
			hc := got.HealthChecks[0]
			if hc.IntervalSeconds != 2 || hc.TimeoutSeconds != 20 || hc.Path != "" || hc.PortIndex == nil {
				t.Errorf("health check %+v", hc)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Merge(cur, []byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if err := got.Normalize(); err != nil {
				t.Fatal(err)
			}
			if err := got.Validate(); err != nil {
				t.Fatal(err)
			}
			tt.check(t, got)
		})
	}
	if _, err := Merge(cur, []byte(`{"instances":"many"}`)); err == nil {
		t.Error("a wrongly typed field merged")
	}
}

func TestUpdateVersion(t *testing.T) {
	v, ok, err := UpdateVersion([]byte(`{"version":"2024-01-01T00:00:00.000Z"}`))
	if err != nil || !ok || v != "2024-01-01T00:00:00.000Z" {
		t.Errorf("got %q %v %v", v, ok, err)
	}
	if _, ok, _ := UpdateVersion([]byte(`{"version":null,"instances":2}`)); ok {
		t.Error("null version asks for a rollback")
	}
}

func TestPathID(t *testing.T) {
	tests := []struct {
		id, base, want string
		ok             bool
	}{
		{"/a/b", "/", "/a/b", true},
		{"a/b", "/", "/a/b", true},
		{"b", "/g", "/g/b", true},
		{"../c", "/g/h", "/g/c", true},
		{"./c", "/g", "/g/c", true},
		{"/a//b/", "/", "/a/b", true},
		{"/my-app.v2", "/", "/my-app.v2", true},
		{"/A", "/", "", false},
		{"/a_b", "/", "", false},
		{"/-a", "/", "", false},
		{"/a-", "/", "", false},
		{"/a..b", "/", "", false},
		{"/", "/", "", false},
		{"", "/", "", false},
		{"../../x", "/g", "", false},
	}
	for _, tt := range tests {
		got, err := ParseID(tt.id, tt.base)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseID(%q, %q) = %q, %v; want %q ok=%v", tt.id, tt.base, got, err, tt.want, tt.ok)
		}
	}
	if SafePath("/prod/web") != "prod_web" || Hostname("/prod/web") != "web.prod" || Parent("/prod/web") != "/prod" {
		t.Error("SafePath/Hostname/Parent")
	}
	if !InGroup("/prod/web", "/prod") || InGroup("/prod", "/prod") || InGroup("/production/x", "/prod") || !InGroup("/x", "/") {
		t.Error("InGroup")
	}
}

func TestTaskIDRoundTrip(t *testing.T) {
	for _, id := range []string{"/web", "/prod/web", "/a.b/c-d/e"} {
		tid := NewTaskID(id)
		if !strings.HasPrefix(tid, SafePath(id)+".") || len(tid) != len(SafePath(id))+1+36 {
			t.Errorf("task id %q", tid)
		}
		// How clients do it: cut at the last '.', '_' → '/'.
		client := "/" + strings.ReplaceAll(tid[:strings.LastIndexByte(tid, '.')], "_", "/")
		if client != id {
			t.Errorf("client-side parse of %q = %q", tid, client)
		}
		if got, err := AppIDFromTaskID(tid); err != nil || got != id {
			t.Errorf("AppIDFromTaskID(%q) = %q, %v", tid, got, err)
		}
	}
	for tid, want := range map[string]string{
		"minecraft_survival-world.564bd685-4c30-11e5-98c1-be5b2935a987": "/minecraft/survival-world",
		"prod_web.instance-564bd685-4c30-11e5-98c1-be5b2935a987._app.1": "/prod/web",
		"prod_web.marathon-564bd685-4c30-11e5-98c1-be5b2935a987":        "/prod/web",
	} {
		if got, err := AppIDFromTaskID(tid); err != nil || got != want {
			t.Errorf("AppIDFromTaskID(%q) = %q, %v; want %q", tid, got, err, want)
		}
	}
	if _, err := AppIDFromTaskID("nodot"); err == nil {
		t.Error("a task id without '.' parsed")
	}
}

func TestVersions(t *testing.T) {
	now := time.Date(2024, 5, 4, 12, 34, 56, 789_123_000, time.FixedZone("x", 3600))
	if v := FormatVersion(now); v != "2024-05-04T11:34:56.789Z" {
		t.Errorf("FormatVersion = %s", v)
	}
	if v := NextVersion(now, "2024-05-04T11:34:56.789Z"); v != "2024-05-04T11:34:56.790Z" {
		t.Errorf("NextVersion = %s", v)
	}
	a := current(t)
	b := a.Clone()
	b.Instances = 7
	b.SetVersion("2024-02-01T00:00:00.000Z", a)
	if b.VersionInfo.LastConfigChangeAt != "2024-01-01T00:00:00.000Z" || b.VersionInfo.LastScalingAt != "2024-02-01T00:00:00.000Z" {
		t.Errorf("scale versionInfo %+v", b.VersionInfo)
	}
	c := a.Clone()
	c.Mem = 256
	c.SetVersion("2024-03-01T00:00:00.000Z", a)
	if c.ConfigVersion() != "2024-03-01T00:00:00.000Z" {
		t.Errorf("config change versionInfo %+v", c.VersionInfo)
	}
}
