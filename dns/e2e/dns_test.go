package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"strata/kernel/e2e/procs"
	"strata/kernel/e2e/stratabin"
)

var strataBin string

func TestMain(m *testing.M) {
	code := stratabin.Main(m, &strataBin)
	os.Exit(code)
}

func query(t *testing.T, server, name string, qtype uint16) *dns.Msg {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	c := &dns.Client{Timeout: 2 * time.Second}
	r, _, err := c.Exchange(m, server)
	if err != nil {
		return nil
	}
	return r
}

// srvPorts returns the sorted ports of the SRV answers for name.
func srvPorts(t *testing.T, server, name string) []int {
	r := query(t, server, name, dns.TypeSRV)
	if r == nil || r.Rcode != dns.RcodeSuccess {
		return nil
	}
	var out []int
	for _, rr := range r.Answer {
		if srv, ok := rr.(*dns.SRV); ok {
			out = append(out, int(srv.Port))
		}
	}
	sort.Ints(out)
	return out
}

type appTasks struct {
	Tasks []struct {
		ID    string `json:"id"`
		Ports []int  `json:"ports"`
	} `json:"tasks"`
}

func taskPorts(t *testing.T, apps, id string) []int {
	t.Helper()
	code, body := procs.Request("GET", apps+"/v2/apps/"+id+"/tasks", "")
	if code != 200 {
		t.Fatalf("tasks of %s: %d %s", id, code, body)
	}
	var out []int
	for _, f := range strings.Split(body, `"ports":[`)[1:] {
		var p int
		if _, err := fmt.Sscanf(f, "%d", &p); err == nil {
			out = append(out, p)
		}
	}
	sort.Ints(out)
	return out
}

func equal(a, b []int) bool { return fmt.Sprint(a) == fmt.Sprint(b) }

// On strata dev, an app's tasks resolve by A and SRV with the ports Marathon gave them, a
// scale-up and a kill show in DNS, the built-in services resolve by name, other names get
// NXDOMAIN with the SOA, and dig sees the same.
func TestAppTasksResolve(t *testing.T) {
	mp, ap, pp, dp, hp := procs.FreePort(t), procs.FreePort(t), procs.FreePort(t), procs.FreePort(t), procs.FreePort(t)
	jp := procs.FreePort(t)
	procs.Start(t, strataBin, "dev", "--work-dir", t.TempDir(), "--master-port", fmt.Sprint(mp), "--agent-port", fmt.Sprint(ap),
		"--apps-port", fmt.Sprint(pp), "--jobs-port", fmt.Sprint(jp), "--dns-port", fmt.Sprint(dp), "--dns-http-port", fmt.Sprint(hp))
	apps := fmt.Sprintf("http://127.0.0.1:%d", pp)
	server := fmt.Sprintf("127.0.0.1:%d", dp)
	procs.Eventually(t, 30*time.Second, "the DNS server to answer for leader.mesos", func() bool {
		r := query(t, server, "leader.mesos", dns.TypeA)
		return r != nil && r.Rcode == dns.RcodeSuccess && len(r.Answer) == 1
	})
	procs.Eventually(t, 30*time.Second, "the apps service", func() bool {
		code, _ := procs.Request("GET", apps+"/ping", "")
		return code == 200
	})
	if code, body := procs.Request("POST", apps+"/v2/apps",
		`{"id":"/web","cmd":"sleep 1000","cpus":0.1,"mem":16,"instances":2,"portDefinitions":[{"port":0,"name":"http"}]}`); code != 201 {
		t.Fatalf("POST /v2/apps: %d %s", code, body)
	}
	want := func(n int) []int {
		var ports []int
		procs.Eventually(t, 30*time.Second, fmt.Sprintf("%d running tasks", n), func() bool {
			ports = taskPorts(t, apps, "web")
			return len(ports) == n
		})
		return ports
	}
	ports := want(2)
	procs.Eventually(t, 10*time.Second, "SRV _web._tcp.marathon.mesos with the tasks' ports", func() bool {
		return equal(srvPorts(t, server, "_web._tcp.marathon.mesos"), ports)
	})
	r := query(t, server, "web.marathon.mesos", dns.TypeA)
	if r == nil || len(r.Answer) == 0 || r.Answer[0].(*dns.A).A.String() != "127.0.0.1" || !r.Authoritative {
		t.Fatalf("A web.marathon.mesos: %v", r)
	}
	for _, name := range []string{"marathon.mesos", "metronome.mesos", "master.mesos", "master0.mesos", "slave.mesos", "web.marathon.slave.mesos"} {
		procs.Eventually(t, 10*time.Second, "A "+name, func() bool {
			r := query(t, server, name, dns.TypeA)
			return r != nil && len(r.Answer) > 0 && r.Answer[0].(*dns.A).A.String() == "127.0.0.1"
		})
	}
	// The services' API ports by SRV: the apps service (Marathon) and the jobs service
	// (Metronome); the leader's and the agent's ports; the app's named port and the ports on
	// the agents' names.
	for name, want := range map[string][]int{
		"_framework._tcp.marathon.mesos":  {pp},
		"_framework._tcp.metronome.mesos": {jp},
		"_leader._tcp.mesos":              {mp},
		"_leader._udp.mesos":              {mp},
		"_slave._tcp.mesos":               {ap},
		"_http._web._tcp.marathon.mesos":  ports,
		"_web._tcp.marathon.slave.mesos":  ports,
		"_web._udp.marathon.slave.mesos":  ports,
	} {
		procs.Eventually(t, 10*time.Second, fmt.Sprintf("SRV %s → %v", name, want), func() bool {
			return equal(srvPorts(t, server, name), want)
		})
	}
	// NODATA: the name exists, not for AAAA.
	if r := query(t, server, "web.marathon.mesos", dns.TypeAAAA); r == nil || r.Rcode != dns.RcodeSuccess || len(r.Answer) != 0 ||
		len(r.Ns) != 1 || r.Ns[0].Header().Rrtype != dns.TypeSOA {
		t.Fatalf("AAAA web.marathon.mesos, want NODATA with the SOA: %v", r)
	}
	if r := query(t, server, "nothing-here.marathon.mesos", dns.TypeA); r == nil || r.Rcode != dns.RcodeNameError ||
		len(r.Ns) != 1 || r.Ns[0].Header().Rrtype != dns.TypeSOA {
		t.Fatalf("NXDOMAIN with SOA: %v", r)
	}

	// Scale up: the third task shows up.
	if code, body := procs.Request("PUT", apps+"/v2/apps/web", `{"instances":3}`); code != 200 {
		t.Fatalf("scale: %d %s", code, body)
	}
	ports = want(3)
	procs.Eventually(t, 10*time.Second, "three SRV answers", func() bool {
		return equal(srvPorts(t, server, "_web._tcp.marathon.mesos"), ports)
	})

	// Kill one with scale=true: its port is gone from DNS.
	code, body := procs.Request("GET", apps+"/v2/apps/web/tasks", "")
	if code != 200 {
		t.Fatal(body)
	}
	victim := strings.Split(strings.Split(body, `"id":"`)[1], `"`)[0]
	if code, body := procs.Request("DELETE", apps+"/v2/apps/web/tasks/"+victim+"?scale=true", ""); code != 200 {
		t.Fatalf("kill: %d %s", code, body)
	}
	ports = want(2)
	procs.Eventually(t, 10*time.Second, "the killed task gone from SRV", func() bool {
		return equal(srvPorts(t, server, "_web._tcp.marathon.mesos"), ports)
	})

	// dig, as a user would.
	dig, err := exec.LookPath("dig")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("dig is required (apt-get install bind9-dnsutils): %v", err)
		}
		t.Skip("dig not installed")
	}
	out, err := exec.Command(dig, "@127.0.0.1", "-p", fmt.Sprint(dp), "+short", "SRV", "_web._tcp.marathon.mesos").CombinedOutput()
	if err != nil {
		t.Fatalf("dig: %v\n%s", err, out)
	}
	for _, p := range ports {
		if !strings.Contains(string(out), fmt.Sprintf(" %d web-", p)) {
			t.Fatalf("dig SRV lacks port %d:\n%s", p, out)
		}
	}
	out, _ = exec.Command(dig, "@127.0.0.1", "-p", fmt.Sprint(dp), "+tcp", "+short", "web.marathon.mesos").CombinedOutput()
	if strings.TrimSpace(string(out)) != "127.0.0.1" {
		t.Fatalf("dig +tcp web.marathon.mesos: %q", out)
	}
	if code, body := procs.Request("GET", fmt.Sprintf("http://127.0.0.1:%d/v1/hosts/web.marathon.mesos", hp), ""); code != 200 ||
		!strings.Contains(body, `"ip":"127.0.0.1"`) {
		t.Fatalf("/v1/hosts: %d %s", code, body)
	}
}
