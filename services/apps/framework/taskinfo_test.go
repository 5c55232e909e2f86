package framework

import (
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"strata/kernel/mesos/mesospb"
	"strata/kernel/mesos/resources"
	"strata/services/apps/app"
	"strata/services/apps/placement"
	"strata/services/apps/placement/constraint"
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
	if err := a.Validate(); err != nil {
		t.Fatal(err)
	}
	a.SetVersion("2024-01-02T03:04:05.678Z", nil)
	return a
}

func testOffer(t *testing.T, res string, attrs string) *mesospb.Offer {
	t.Helper()
	rs, err := resources.Parse(res, "*")
	if err != nil {
		t.Fatal(err)
	}
	o := &mesospb.Offer{
		Id: &mesospb.OfferID{Value: proto.String("o1")}, AgentId: &mesospb.AgentID{Value: proto.String("a1")},
		Hostname: proto.String("node1"), Resources: rs,
	}
	if attrs != "" {
		if o.Attributes, err = resources.ParseAttributes(attrs); err != nil {
			t.Fatal(err)
		}
	}
	return o
}

func env(t *mesospb.TaskInfo) map[string]string {
	out := map[string]string{}
	for _, v := range t.GetCommand().GetEnvironment().GetVariables() {
		out[v.GetName()] = v.GetValue()
	}
	return out
}

func TestBuildTaskCommandAndEnv(t *testing.T) {
	a := mustApp(t, `{"id":"/prod/web","cmd":"serve --port $PORT0","cpus":0.5,"mem":64,"disk":10,"user":"nobody",
		"portDefinitions":[{"port":0,"name":"http"},{"port":0,"name":"admin-ui","protocol":"udp,tcp"}],
		"env":{"PORT0":"overridden","A":"1"},"labels":{"team":"x","tier":"fe"},
		"fetch":[{"uri":"http://h/a.tgz","destPath":"a.tgz"}],"taskKillGracePeriodSeconds":7}`)
	o := testOffer(t, "cpus:4;mem:1024;disk:100;ports:[31000-31009]", "")
	fit := place(t, a, o)
	task := buildTask(a, "prod_web.x", o, fit)
	if task.GetName() != "web.prod" || task.GetTaskId().GetValue() != "prod_web.x" || task.GetAgentId().GetValue() != "a1" {
		t.Errorf("identity %v", task)
	}
	c := task.GetCommand()
	if !c.GetShell() || c.GetValue() != "serve --port $PORT0" || c.GetUser() != "nobody" {
		t.Errorf("command %v", c)
	}
	if u := c.GetUris(); len(u) != 1 || !u[0].GetExtract() || u[0].GetOutputFile() != "a.tgz" {
		t.Errorf("uris %v", u)
	}
	if g := task.GetKillPolicy().GetGracePeriod().GetNanoseconds(); g != int64(7*time.Second) {
		t.Errorf("kill policy %v", task.GetKillPolicy())
	}
	if resources.Scalar(task.Resources, "cpus") != 0.5 || resources.Scalar(task.Resources, "mem") != 64 ||
		resources.Scalar(task.Resources, "disk") != 10 || resources.RangesSize(resources.Ranges(task.Resources, "ports")) != 2 {
		t.Errorf("resources %v", task.Resources)
	}
	e := env(task)
	p0, p1 := fit.Ports[0].HostPort, fit.Ports[1].HostPort
	want := map[string]string{
		"PORT0": "overridden", "PORT1": itoa(p1), "PORT": itoa(p0), "PORTS": itoa(p0) + "," + itoa(p1),
		"PORT_HTTP": itoa(p0), "PORT_ADMIN_UI": itoa(p1), "HOST": "node1", "MESOS_TASK_ID": "prod_web.x",
		"MARATHON_APP_ID": "/prod/web", "MARATHON_APP_VERSION": "2024-01-02T03:04:05.678Z", "A": "1",
		"MARATHON_APP_RESOURCE_CPUS": "0.5", "MARATHON_APP_RESOURCE_MEM": "64.0", "MARATHON_APP_RESOURCE_DISK": "10.0",
		"MARATHON_APP_LABELS": "TEAM TIER", "MARATHON_APP_LABEL_TEAM": "x", "MARATHON_APP_LABEL_TIER": "fe",
	}
	for k, v := range want {
		if e[k] != v {
			t.Errorf("env %s = %q, want %q", k, e[k], v)
		}
	}
	if _, ok := e["MARATHON_APP_DOCKER_IMAGE"]; ok {
		t.Error("MARATHON_APP_DOCKER_IMAGE without an image")
	}
	if len(task.GetLabels().GetLabels()) != 2 {
		t.Errorf("labels %v", task.GetLabels())
	}
	ports := task.GetDiscovery().GetPorts().GetPorts()
	if len(ports) != 3 || ports[0].GetName() != "http" || ports[1].GetProtocol() != "udp" || ports[2].GetProtocol() != "tcp" {
		t.Errorf("discovery ports %v", ports)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

func fmtInt(i int) string { return strconv.Itoa(i) }

func TestBuildTaskArgsAndContainers(t *testing.T) {
	tests := []struct {
		name  string
		body  string
		check func(t *testing.T, task *mesospb.TaskInfo, fit *placement.Fit)
	}{
		{"args without image", `{"id":"/a","args":["/bin/echo","hi"]}`, func(t *testing.T, task *mesospb.TaskInfo, _ *placement.Fit) {
			c := task.GetCommand()
			if c.GetShell() || c.GetValue() != "/bin/echo" || strings.Join(c.GetArguments(), " ") != "/bin/echo hi" || task.Container != nil {
				t.Errorf("command %v", c)
			}
		}},
		{"docker image with args", `{"id":"/a","args":["-v"],"container":{"type":"DOCKER","docker":{"image":"busybox","forcePullImage":true}}}`,
			func(t *testing.T, task *mesospb.TaskInfo, _ *placement.Fit) {
				c, ci := task.GetCommand(), task.GetContainer()
				if c.GetShell() || c.Value != nil || len(c.GetArguments()) != 1 {
					t.Errorf("command %v", c)
				}
				if ci.GetType() != mesospb.ContainerInfo_DOCKER || ci.GetDocker().GetImage() != "busybox" || !ci.GetDocker().GetForcePullImage() ||
					ci.GetDocker().GetNetwork() != mesospb.ContainerInfo_DockerInfo_HOST {
					t.Errorf("container %v", ci)
				}
				if env(task)["MARATHON_APP_DOCKER_IMAGE"] != "busybox" {
					t.Errorf("env %v", env(task))
				}
			}},
		{"docker image, default entrypoint", `{"id":"/a","container":{"docker":{"image":"nginx"}}}`, func(t *testing.T, task *mesospb.TaskInfo, _ *placement.Fit) {
			if c := task.GetCommand(); c.GetShell() || c.Value != nil || len(c.GetArguments()) != 0 {
				t.Errorf("command %v", c)
			}
		}},
		{"bridge port mappings", `{"id":"/a","cmd":"x","container":{"type":"DOCKER","docker":{"image":"nginx","network":"BRIDGE",
			"portMappings":[{"containerPort":80,"name":"web"},{"containerPort":0}]},"volumes":[{"containerPath":"/data","hostPath":"/srv","mode":"RO"}]},
			"healthChecks":[{"protocol":"HTTP","portIndex":0}]}`, func(t *testing.T, task *mesospb.TaskInfo, fit *placement.Fit) {
			d := task.GetContainer().GetDocker()
			pm := d.GetPortMappings()
			if d.GetNetwork() != mesospb.ContainerInfo_DockerInfo_BRIDGE || len(pm) != 2 || pm[0].GetContainerPort() != 80 ||
				pm[0].GetHostPort() != uint32(fit.Ports[0].HostPort) || pm[1].GetContainerPort() != uint32(fit.Ports[1].HostPort) {
				t.Errorf("docker %v (ports %v)", d, fit.Ports)
			}
			if v := task.GetContainer().GetVolumes(); len(v) != 1 || v[0].GetMode() != mesospb.Volume_RO || v[0].GetHostPath() != "/srv" {
				t.Errorf("volumes %v", v)
			}
			// A bridged task's check goes to the container port, on the container's IP.
			if hc := task.GetHealthCheck(); hc.GetType() != mesospb.HealthCheck_HTTP || hc.GetHttp().GetPort() != 80 {
				t.Errorf("health check %v", hc)
			}
			if e := env(task); e["PORT0"] != fmtInt(fit.Ports[0].HostPort) || e["PORT_80"] != fmtInt(fit.Ports[0].HostPort) || e["PORT_WEB"] != fmtInt(fit.Ports[0].HostPort) {
				t.Errorf("env %v", e)
			}
		}},
		{"mesos container with an image", `{"id":"/a","cmd":"x","container":{"type":"MESOS","docker":{"image":"alpine"}}}`,
			func(t *testing.T, task *mesospb.TaskInfo, _ *placement.Fit) {
				ci := task.GetContainer()
				if ci.GetType() != mesospb.ContainerInfo_MESOS || ci.GetMesos().GetImage().GetDocker().GetName() != "alpine" ||
					!ci.GetMesos().GetImage().GetCached() {
					t.Errorf("container %v", ci)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := mustApp(t, tt.body)
			o := testOffer(t, "cpus:4;mem:1024;disk:100;ports:[31000-31009]", "")
			fit := place(t, a, o)
			tt.check(t, buildTask(a, "a.1", o, fit), fit)
		})
	}
}

func TestHealthCheckMapping(t *testing.T) {
	tests := []struct {
		name   string
		check  string
		typ    mesospb.HealthCheck_Type
		scheme string
		port   uint32
	}{
		{"MESOS_HTTP", `{"protocol":"MESOS_HTTP","path":"/health","portIndex":1}`, mesospb.HealthCheck_HTTP, "http", 31001},
		{"Marathon HTTPS", `{"protocol":"HTTPS"}`, mesospb.HealthCheck_HTTP, "https", 31000},
		{"Marathon TCP", `{"protocol":"TCP","port":9000}`, mesospb.HealthCheck_TCP, "", 9000},
		{"MESOS_TCP never kill", `{"protocol":"MESOS_TCP","maxConsecutiveFailures":0}`, mesospb.HealthCheck_TCP, "", 31000},
		{"COMMAND", `{"protocol":"COMMAND","command":{"value":"true"},"maxConsecutiveFailures":5}`, mesospb.HealthCheck_COMMAND, "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := mustApp(t, `{"id":"/a","cmd":"x","portDefinitions":[{"port":0},{"port":0}],"healthChecks":[`+tt.check+`]}`)
			hc := healthCheck(a, a.HealthChecks[0], []placement.AssignedPort{{Index: 0, HostPort: 31000}, {Index: 1, HostPort: 31001}})
			// The executor never kills: the framework does, rate-limited (healthkill.go).
			if hc.GetType() != tt.typ || hc.GetConsecutiveFailures() != math.MaxUint32 {
				t.Fatalf("check %v", hc)
			}
			if hc.GetDelaySeconds() != 15 || hc.GetIntervalSeconds() != 60 || hc.GetTimeoutSeconds() != 20 || hc.GetGracePeriodSeconds() != 300 {
				t.Errorf("timings %v", hc)
			}
			switch tt.typ {
			case mesospb.HealthCheck_HTTP:
				if hc.GetHttp().GetScheme() != tt.scheme || hc.GetHttp().GetPort() != tt.port || !strings.HasPrefix(hc.GetHttp().GetPath(), "/") {
					t.Errorf("http %v", hc.GetHttp())
				}
			case mesospb.HealthCheck_TCP:
				if hc.GetTcp().GetPort() != tt.port {
					t.Errorf("tcp %v", hc.GetTcp())
				}
			case mesospb.HealthCheck_COMMAND:
				if !hc.GetCommand().GetShell() || hc.GetCommand().GetValue() != "true" {
					t.Errorf("command %v", hc.GetCommand())
				}
			}
		})
	}
}

// TestPlacementOfApps runs apps through Spec and the placement library, as the framework does
// with every offer.
func TestPlacementOfApps(t *testing.T) {
	tests := []struct {
		name, app, res, attrs string
		placed                []constraint.Host
		reason                placement.Reason // "" for a fit
	}{
		{"fits", `{"id":"/a","cmd":"x","cpus":1,"mem":128}`, "cpus:1;mem:128;ports:[31000-31000]", "", nil, ""},
		{"cpus", `{"id":"/a","cmd":"x","cpus":2}`, "cpus:1;mem:1024;ports:[31000-31005]", "", nil, placement.InsufficientCpus},
		{"mem", `{"id":"/a","cmd":"x","mem":2048}`, "cpus:4;mem:1024;ports:[31000-31005]", "", nil, placement.InsufficientMemory},
		{"disk", `{"id":"/a","cmd":"x","disk":10}`, "cpus:4;mem:1024;disk:5;ports:[31000-31005]", "", nil, placement.InsufficientDisk},
		{"ports", `{"id":"/a","cmd":"x","ports":[0,0]}`, "cpus:4;mem:1024;ports:[31000-31000]", "", nil, placement.InsufficientPorts},
		{"required port offered", `{"id":"/a","cmd":"x","requirePorts":true,"portDefinitions":[{"port":31003}]}`, "cpus:4;mem:1024;ports:[31000-31005]", "", nil, ""},
		{"required port not offered", `{"id":"/a","cmd":"x","requirePorts":true,"portDefinitions":[{"port":8080}]}`, "cpus:4;mem:1024;ports:[31000-31005]", "", nil, placement.InsufficientPorts},
		{"service port is not a host port", `{"id":"/a","cmd":"x","portDefinitions":[{"port":8080}]}`, "cpus:4;mem:1024;ports:[31000-31005]", "", nil, ""},
		{"fixed bridge host port", `{"id":"/a","cmd":"x","container":{"docker":{"image":"i"},"portMappings":[{"containerPort":80,"hostPort":8080}]},
			"networks":[{"mode":"container/bridge"}]}`, "cpus:4;mem:1024;ports:[31000-31005]", "", nil, placement.InsufficientPorts},
		{"container port without a host port", `{"id":"/a","cmd":"x","container":{"docker":{"image":"i"},"portMappings":[{"containerPort":80}]},
			"networks":[{"mode":"container","name":"n"}]}`, "cpus:4;mem:1024", "", nil, ""},
		{"reserved role not accepted", `{"id":"/a","cmd":"x","cpus":1}`, "cpus(ops):4;mem(ops):1024;ports(ops):[31000-31005]", "", nil, placement.UnfulfilledRole},
		{"reserved role accepted", `{"id":"/a","cmd":"x","cpus":1,"role":"ops","acceptedResourceRoles":["ops"]}`, "cpus(ops):4;mem(ops):1024;ports(ops):[31000-31005]", "", nil, ""},
		{"unreserved not accepted", `{"id":"/a","cmd":"x","cpus":1,"acceptedResourceRoles":["ops"]}`, "cpus:4;mem:1024;ports:[31000-31005]", "", nil, placement.UnfulfilledRole},
		{"unique host taken", `{"id":"/a","cmd":"x","constraints":[["hostname","UNIQUE"]]}`, "cpus:4;mem:1024;ports:[31000-31005]", "", []constraint.Host{{Hostname: "node1"}}, placement.UnfulfilledConstraint},
		{"unique host free", `{"id":"/a","cmd":"x","constraints":[["hostname","UNIQUE"]]}`, "cpus:4;mem:1024;ports:[31000-31005]", "", []constraint.Host{{Hostname: "node2"}}, ""},
		{"operator in lower case", `{"id":"/a","cmd":"x","constraints":[["hostname","unique"]]}`, "cpus:4;mem:1024;ports:[31000-31005]", "", []constraint.Host{{Hostname: "node1"}}, placement.UnfulfilledConstraint},
		{"cluster value", `{"id":"/a","cmd":"x","constraints":[["rack","CLUSTER","r2"]]}`, "cpus:4;mem:1024;ports:[31000-31005]", "rack:r1", nil, placement.UnfulfilledConstraint},
		{"like", `{"id":"/a","cmd":"x","constraints":[["rack","LIKE","r[0-9]"]]}`, "cpus:4;mem:1024;ports:[31000-31005]", "rack:r1", nil, ""},
		{"like is a full match", `{"id":"/a","cmd":"x","constraints":[["rack","LIKE","r"]]}`, "cpus:4;mem:1024;ports:[31000-31005]", "rack:r1", nil, placement.UnfulfilledConstraint},
		{"unlike on a missing attribute", `{"id":"/a","cmd":"x","constraints":[["gpu","UNLIKE","yes"]]}`, "cpus:4;mem:1024;ports:[31000-31005]", "", nil, ""},
		{"missing attribute", `{"id":"/a","cmd":"x","constraints":[["gpu","LIKE",".*"]]}`, "cpus:4;mem:1024;ports:[31000-31005]", "", nil, placement.UnfulfilledConstraint},
		{"max per", `{"id":"/a","cmd":"x","constraints":[["rack","MAX_PER","2"]]}`, "cpus:4;mem:1024;ports:[31000-31005]", "rack:r1",
			[]constraint.Host{rack("r1"), rack("r1")}, placement.UnfulfilledConstraint},
		{"group by waits for the emptier value", `{"id":"/a","cmd":"x","constraints":[["rack","GROUP_BY"]]}`, "cpus:4;mem:1024;ports:[31000-31005]", "rack:r1",
			[]constraint.Host{rack("r1"), rack("r2"), rack("r1")}, placement.UnfulfilledConstraint},
		{"group by with a count wants new values", `{"id":"/a","cmd":"x","constraints":[["rack","GROUP_BY","3"]]}`, "cpus:4;mem:1024;ports:[31000-31005]", "rack:r1",
			[]constraint.Host{rack("r1"), rack("r2")}, placement.UnfulfilledConstraint},
		{"is scalar", `{"id":"/a","cmd":"x","constraints":[["size","IS","2.0"]]}`, "cpus:4;mem:1024;ports:[31000-31005]", "size:2", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := mustApp(t, tt.app)
			o := testOffer(t, tt.res, tt.attrs)
			m, err := placement.NewMatcher(Spec(a))
			if err != nil {
				t.Fatal(err)
			}
			fit, rej := m.Match(placement.NewRemaining(o), m.NewIndex(tt.placed...), nil)
			if tt.reason == "" {
				if rej != nil {
					t.Fatalf("no fit: %v", rej)
				}
				if !resources.Contains(o.Resources, fit.Resources) || len(fit.Ports) != a.PortCount() {
					t.Fatalf("fit %v not within the offer, ports %v", fit.Resources, fit.Ports)
				}
				return
			}
			if rej == nil || rej.Reason() != tt.reason {
				t.Fatalf("rejection %v, want %s", rej, tt.reason)
			}
		})
	}
}

func rack(v string) constraint.Host {
	return constraint.Host{AgentID: "a-" + v, Hostname: "h-" + v, Attributes: map[string]string{"rack": v}}
}

// place fits one instance of a on the whole offer o.
func place(t *testing.T, a *app.App, o *mesospb.Offer) *placement.Fit {
	t.Helper()
	m, err := placement.NewMatcher(Spec(a))
	if err != nil {
		t.Fatal(err)
	}
	fit, rej := m.Match(placement.NewRemaining(o), nil, nil)
	if rej != nil {
		t.Fatal(rej)
	}
	return fit
}

// Dynamic ports are distinct and drawn from the offer; several instances fit one offer.
func TestPortsAcrossInstances(t *testing.T) {
	a := mustApp(t, `{"id":"/a","cmd":"x","cpus":0.1,"mem":16,"ports":[0,0,0]}`)
	o := testOffer(t, "cpus:1;mem:1024;ports:[31000-31005,32000-32002]", "")
	m, err := placement.NewMatcher(Spec(a))
	if err != nil {
		t.Fatal(err)
	}
	r := placement.NewRemaining(o)
	seen := map[int]bool{}
	for i := 0; i < 3; i++ {
		fit, rej := m.Match(r, nil, nil)
		if rej != nil {
			t.Fatalf("instance %d: %v", i, rej)
		}
		for _, p := range portsOf(fit) {
			if seen[p] || !(p >= 31000 && p <= 31005 || p >= 32000 && p <= 32002) {
				t.Fatalf("port %d reused or not offered (%v)", p, seen)
			}
			seen[p] = true
		}
	}
	if _, rej := m.Match(r, nil, nil); rej == nil || rej.Reason() != placement.InsufficientPorts {
		t.Fatalf("a fourth instance in 9 ports: %v", rej)
	}
}

func TestLaunchDelay(t *testing.T) {
	a := mustApp(t, `{"id":"/a","cmd":"x","backoffSeconds":2,"backoffFactor":1.5,"maxLaunchDelaySeconds":5}`)
	for n, want := range map[int]time.Duration{0: 0, 1: 2 * time.Second, 2: 3 * time.Second, 3: 4500 * time.Millisecond, 4: 5 * time.Second, 10: 5 * time.Second} {
		if got := LaunchDelay(a, n); got != want {
			t.Errorf("LaunchDelay(%d) = %v, want %v", n, got, want)
		}
	}
}

// A secret-valued env entry travels as a Mesos SECRET variable referencing
// the secret's source, never as a value.
func TestBuildTaskSecretEnv(t *testing.T) {
	a := mustApp(t, `{"id":"/db-client","cmd":"run","env":{"PLAIN":"p","DB_PASSWORD":{"secret":"dbpw"}},
		"secrets":{"dbpw":{"source":"/db/password"}}}`)
	o := testOffer(t, "cpus:4;mem:1024;disk:100;ports:[31000-31009]", "")
	task := buildTask(a, "db-client.x", o, place(t, a, o))
	var secret *mesospb.Environment_Variable
	for _, v := range task.GetCommand().GetEnvironment().GetVariables() {
		if v.GetName() == "DB_PASSWORD" {
			if secret != nil {
				t.Fatal("DB_PASSWORD twice")
			}
			secret = v
		}
	}
	if secret == nil || secret.GetType() != mesospb.Environment_Variable_SECRET || secret.GetValue() != "" ||
		secret.GetSecret().GetType() != mesospb.Secret_REFERENCE ||
		secret.GetSecret().GetReference().GetName() != "/db/password" {
		t.Fatalf("DB_PASSWORD = %v", secret)
	}
	if env(task)["PLAIN"] != "p" {
		t.Fatalf("PLAIN missing: %v", env(task))
	}
}
