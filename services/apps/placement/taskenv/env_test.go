package taskenv

import (
	"maps"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"strata/kernel/mesos/codec"
	"strata/kernel/mesos/mesospb"
	"strata/services/apps/placement"
)

func TestFormatDouble(t *testing.T) {
	tests := []struct {
		in   float64
		want string
	}{
		{1, "1.0"},
		{128, "128.0"},
		{0, "0.0"},
		{0.5, "0.5"},
		{0.1, "0.1"},
		{1.25, "1.25"},
		{0.001, "0.001"},
		{1e-4, "1.0E-4"},
		{1.5e-5, "1.5E-5"},
		{9999999, "9999999.0"},
		{1e7, "1.0E7"},
		{12345678.5, "1.23456785E7"},
		{-2, "-2.0"},
	}
	for _, tc := range tests {
		if got := FormatDouble(tc.in); got != tc.want {
			t.Errorf("FormatDouble(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestLabelVars(t *testing.T) {
	long := strings.Repeat("x", 512)
	tests := []struct {
		name   string
		labels map[string]string
		want   map[string]string
	}{
		{"none", nil, map[string]string{AppLabels: ""}},
		{
			"escaped and upper-cased",
			map[string]string{"HAPROXY_GROUP": "external", "dcos.package-version": "1.2", "a..b": "x"},
			map[string]string{
				AppLabels:                                 "A_B DCOS_PACKAGE_VERSION HAPROXY_GROUP",
				"MARATHON_APP_LABEL_HAPROXY_GROUP":        "external",
				"MARATHON_APP_LABEL_DCOS_PACKAGE_VERSION": "1.2",
				"MARATHON_APP_LABEL_A_B":                  "x",
			},
		},
		{
			"too long left out",
			map[string]string{"ok": "1", "big": long, strings.Repeat("k", 493): "v", strings.Repeat("n", 492): "v"},
			map[string]string{AppLabels: strings.Repeat("N", 492) + " OK", "MARATHON_APP_LABEL_OK": "1", AppLabelPrefix + strings.Repeat("N", 492): "v"},
		},
		{
			"colliding names",
			map[string]string{"a-b": "1", "a.b": "2"},
			map[string]string{AppLabels: "A_B", "MARATHON_APP_LABEL_A_B": "2"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := LabelVars(tc.labels); !maps.Equal(got, tc.want) {
				t.Fatalf("got %v\nwant %v", got, tc.want)
			}
		})
	}
}

func TestAppVars(t *testing.T) {
	app := App{ID: "/shop/db", Version: "2015-04-02T09:37:00.596Z", DockerImage: "nginx:1.9.3", CPUs: 1, Mem: 128, Disk: 0, GPUs: 0, Labels: map[string]string{"tier": "db"}}
	got := AppVars(app, "shop_db.1234")
	want := map[string]string{
		MesosTaskID:               "shop_db.1234",
		AppID:                     "/shop/db",
		AppVersion:                "2015-04-02T09:37:00.596Z",
		AppDockerImage:            "nginx:1.9.3",
		AppResourceCPUs:           "1.0",
		AppResourceMem:            "128.0",
		AppResourceDisk:           "0.0",
		AppResourceGPUs:           "0.0",
		AppLabels:                 "TIER",
		"MARATHON_APP_LABEL_TIER": "db",
	}
	if !maps.Equal(got, want) {
		t.Fatalf("got %v\nwant %v", got, want)
	}
	app.DockerImage = ""
	if _, ok := AppVars(app, "")[AppDockerImage]; ok {
		t.Fatal("docker image set for an app without one")
	}
	if _, ok := AppVars(app, "")[MesosTaskID]; ok {
		t.Fatal("task id set without one")
	}
}

// assigned builds placed ports by hand: (host port, container port) pairs
// for the requests given.
func assigned(reqs []placement.PortRequest, hostAndContainer ...int) []placement.AssignedPort {
	out := make([]placement.AssignedPort, len(reqs))
	for i, r := range reqs {
		out[i] = placement.AssignedPort{Index: i, Request: r, HostPort: hostAndContainer[2*i], ContainerPort: hostAndContainer[2*i+1]}
	}
	return out
}

func TestPortVars(t *testing.T) {
	tests := []struct {
		name  string
		ports []placement.AssignedPort
		want  map[string]string
	}{
		{"no ports", nil, map[string]string{}},
		{
			"host networking with service ports and names",
			assigned([]placement.PortRequest{{Name: "http", ServicePort: 10000}, {Name: "admin-api"}, {HostPort: 10002}}, 31005, 0, 31001, 0, 31777, 0),
			map[string]string{
				"PORT0": "31005", "PORT1": "31001", "PORT2": "31777",
				"PORT_10000": "31005", "PORT_31001": "31001", "PORT_10002": "31777",
				"PORT_HTTP": "31005", "PORT_ADMIN_API": "31001", "PORT_ADMIN-API": "31001",
				"PORT": "31005", "PORTS": "31005,31001,31777",
			},
		},
		{
			"bridge mappings",
			assigned([]placement.PortRequest{{ContainerPort: 80, Name: "web"}, {}}, 31000, 80, 31001, 31001),
			map[string]string{
				"PORT0": "31000", "PORT1": "31001",
				"PORT_80": "31000", "PORT_31001": "31001", "PORT_WEB": "31000",
				"PORT": "31000", "PORTS": "31000,31001",
			},
		},
		{
			"container network without host ports",
			assigned([]placement.PortRequest{{NoHostPort: true, ContainerPort: 8080, Name: "api"}, {NoHostPort: true}, {ContainerPort: 9090}}, 0, 8080, 0, 40123, 31000, 9090),
			map[string]string{
				"PORT0": "8080", "PORT1": "40123", "PORT2": "31000",
				"PORT_8080": "8080", "PORT_40123": "40123", "PORT_9090": "31000",
				"PORT_API": "8080",
				"PORT":     "31000", "PORTS": "31000,40123",
			},
		},
		{
			"only declared container ports",
			assigned([]placement.PortRequest{{NoHostPort: true, ContainerPort: 8080}}, 0, 8080),
			map[string]string{"PORT0": "8080", "PORT_8080": "8080", "PORTS": ""},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := PortVars(tc.ports); !maps.Equal(got, tc.want) {
				t.Fatalf("got  %v\nwant %v", got, tc.want)
			}
		})
	}
}

func TestEnvironment(t *testing.T) {
	in := Input{
		App:      App{ID: "/web", Version: "v1", CPUs: 0.5, Mem: 64},
		TaskID:   "web.1",
		Hostname: "agent1",
		Ports:    assigned([]placement.PortRequest{{}}, 31000, 0),
		Prefix:   "",
		User:     map[string]string{"PORT0": "9", "EXTRA": "yes"},
	}
	env := Environment(in)
	var names []string
	got := map[string]string{}
	for _, v := range env.GetVariables() {
		names = append(names, v.GetName())
		got[v.GetName()] = v.GetValue()
		if v.GetType() != mesospb.Environment_Variable_VALUE {
			t.Fatalf("variable %s has type %v", v.GetName(), v.GetType())
		}
	}
	for i := 1; i < len(names); i++ {
		if names[i-1] >= names[i] {
			t.Fatalf("not sorted: %v", names)
		}
	}
	want := map[string]string{
		"HOST": "agent1", "PORT": "31000", "PORTS": "31000", "PORT_31000": "31000",
		"PORT0": "9", // the app's env wins
		"EXTRA": "yes", MesosTaskID: "web.1", AppID: "/web", AppVersion: "v1",
		AppResourceCPUs: "0.5", AppResourceMem: "64.0", AppResourceDisk: "0.0", AppResourceGPUs: "0.0", AppLabels: "",
	}
	if !maps.Equal(got, want) {
		t.Fatalf("got  %v\nwant %v", got, want)
	}

	in.Prefix, in.User = "MARATHON_", nil
	vars := Vars(in)
	for _, k := range []string{"MARATHON_HOST", "MARATHON_PORT0", "MARATHON_PORTS", AppID, MesosTaskID} {
		if _, ok := vars[k]; !ok {
			t.Errorf("prefixed environment lacks %s: %v", k, vars)
		}
	}
	if _, ok := vars["PORT0"]; ok {
		t.Error("PORT0 set without the prefix")
	}
}

func TestDiscovery(t *testing.T) {
	tests := []struct {
		name     string
		appID    string
		network  placement.NetworkMode
		ports    []placement.AssignedPort
		networks []string
		want     string // JSON of DiscoveryInfo in Mesos' format
	}{
		{
			name: "host networking", appID: "/shop/web", network: placement.NetworkHost,
			ports: assigned([]placement.PortRequest{{Name: "http", Protocol: "udp,tcp", Labels: map[string]string{"VIP_0": "/web:80"}}, {}}, 31000, 0, 31001, 0),
			want:  `{"visibility":"FRAMEWORK","name":"web.shop","ports":{"ports":[{"number":31000,"name":"http","protocol":"udp","labels":{"labels":[{"key":"VIP_0","value":"/web:80"}]}},{"number":31000,"name":"http","protocol":"tcp","labels":{"labels":[{"key":"VIP_0","value":"/web:80"}]}},{"number":31001,"protocol":"tcp"}]}}`,
		},
		{
			name: "container network", appID: "/api", network: placement.NetworkContainer,
			ports:    assigned([]placement.PortRequest{{Name: "api", NoHostPort: true, ContainerPort: 8080}, {Name: "pub", ContainerPort: 80}, {NoHostPort: true, ContainerPort: 9000, NetworkNames: []string{"b"}}}, 0, 8080, 31000, 80, 0, 9000),
			networks: []string{"a", "b"},
			want:     `{"visibility":"FRAMEWORK","name":"api","ports":{"ports":[{"number":8080,"name":"api","protocol":"tcp","labels":{"labels":[{"key":"network-name","value":"a"},{"key":"network-scope","value":"container"}]}},{"number":8080,"name":"api","protocol":"tcp","labels":{"labels":[{"key":"network-name","value":"b"},{"key":"network-scope","value":"container"}]}},{"number":31000,"name":"pub","protocol":"tcp","labels":{"labels":[{"key":"network-scope","value":"host"}]}},{"number":9000,"protocol":"tcp","labels":{"labels":[{"key":"network-name","value":"b"},{"key":"network-scope","value":"container"}]}}]}}`,
		},
		{
			name: "no ports", appID: "/", network: placement.NetworkBridge,
			want: `{"visibility":"FRAMEWORK","name":"","ports":{}}`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := Discovery(tc.appID, tc.network, tc.ports, tc.networks)
			want := &mesospb.DiscoveryInfo{}
			if err := codec.UnmarshalJSON([]byte(tc.want), want); err != nil {
				t.Fatal(err)
			}
			if !proto.Equal(d, want) {
				got, _ := codec.MarshalJSON(d)
				t.Fatalf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
	if DiscoveryName("/a/b/c") != "c.b.a" || DiscoveryName("rel") != "rel" {
		t.Fatal("DiscoveryName")
	}
}
