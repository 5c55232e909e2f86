package faults

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"strata/kernel/e2e/netns"
	"strata/kernel/e2e/pgserver"
	"strata/kernel/e2e/procs"
	"strata/kernel/e2e/zkserver"
)

// Settings of the suite's cluster.
const (
	sessionTimeout  = 4 * time.Second // ZooKeeper sessions of masters and service replicas
	agentPort       = "5051"          // each agent has a namespace of its own: no clash
	instances       = 4
	inactiveAfter   = 2 // the app's unreachableStrategy, seconds
	tickPeriod      = 2 * time.Second
	agentAResources = "cpus:4;mem:2048;disk:2048;ports:[31000-31001]" // room for two of the app's tasks
	agentBResources = "cpus:4;mem:4096;disk:4096;ports:[31000-31019]"
)

// member is one server process (a master or a service replica) and how to start it again.
type member struct {
	addr string // host:port
	args []string
	proc *procs.Proc
}

func (m *member) start(t *testing.T) { m.proc = procs.Start(t, strataBin, m.args...) }

// agentProc is an agent inside its namespace.
type agentProc struct {
	ns   *netns.NS
	args []string
	proc *procs.Proc
}

func (a *agentProc) start(t *testing.T) {
	a.proc = procs.StartCmd(t, a.ns.Command(strataBin, a.args...))
}

type cluster struct {
	t         *testing.T // the running (sub)test, for assertions
	root      *testing.T // the suite: processes started again in a subtest must outlive it
	host      string     // the masters' and ZooKeeper's address, reached from every namespace
	zk        *zkserver.Ensemble
	pg        *pgserver.Server
	masters   []*member
	agents    []*agentProc // A, B
	apps      []*member
	jobs      []*member
	appID     string
	marker    []string // the app's task process argv: sleep 100000.<pid>
	ranFile   string   // the job's runs append a line each
	jobAgent  string   // the agent the job's runs are placed on (B, never partitioned)
	zkMesos   string
	appsBase  string // a replica's base URL (any: they forward)
	jobsBase  string
	startedAt time.Time
}

func startCluster(t *testing.T) *cluster {
	t.Helper()
	c := &cluster{t: t, root: t, appID: fmt.Sprintf("/suite-%d", os.Getpid()), startedAt: time.Now()}
	c.marker = []string{"sleep", fmt.Sprintf("100000.%d", 100000+os.Getpid()%900000)}
	c.host = netns.HostAddress(t)
	nsA, nsB := netns.Create(t, "a"), netns.Create(t, "b")
	c.zk = zkserver.StartOn(t, 3, c.host)
	c.pg = pgserver.Start(t)
	c.zkMesos = c.zk.URL("/strata/mesos")
	masterDB, appsDB, jobsDB := c.pg.CreateDB("strata"), c.pg.CreateDB("apps"), c.pg.CreateDB("jobs")

	for range 3 {
		port := procs.FreePort(t)
		m := &member{addr: fmt.Sprintf("%s:%d", c.host, port), args: []string{"master", "--ip", "0.0.0.0",
			"--hostname", c.host, "--port", fmt.Sprint(port), "--work-dir", t.TempDir(), "--zk", c.zkMesos,
			"--quorum", "2", "--db", masterDB, "--zk-session-timeout", sessionTimeout.String(),
			"--agent-ping-timeout", "1s", "--max-agent-ping-timeouts", "3", "--allocation-interval", "200ms"}}
		m.start(t)
		c.masters = append(c.masters, m)
	}
	procs.Eventually(t, 60*time.Second, "a leading master", func() bool { return c.leadingMaster(-1) >= 0 })

	for i, ns := range []*netns.NS{nsA, nsB} {
		res := agentAResources
		if i == 1 {
			res = agentBResources
		}
		a := &agentProc{ns: ns, args: []string{"agent", "--master", c.zkMesos, "--ip", ns.NSIP, "--hostname", ns.NSIP,
			"--port", agentPort, "--work-dir", t.TempDir(), "--resources", res, "--kill-tasks-on-exit", "--podman", "off"}}
		c.agents = append(c.agents, a)
	}
	c.jobAgent = nsB.NSIP

	// Two replicas each of the apps and jobs services, following the masters through ZooKeeper.
	for _, svc := range []struct {
		name    string
		db      string
		members *[]*member
		extra   []string
	}{
		{"apps", appsDB, &c.apps, []string{"--reconciliation-interval", "5s"}},
		{"jobs", jobsDB, &c.jobs, []string{"--failure-retry", "1s"}},
	} {
		for range 2 {
			port := procs.FreePort(t)
			m := &member{addr: fmt.Sprintf("127.0.0.1:%d", port)}
			m.args = append([]string{svc.name, "--master", c.zkMesos, "--ip", "127.0.0.1", "--port", fmt.Sprint(port),
				"--advertise", m.addr, "--work-dir", t.TempDir(), "--zk", c.zk.URL("/strata/" + svc.name), "--db", svc.db,
				"--zk-session-timeout", sessionTimeout.String()}, svc.extra...)
			m.start(t)
			*svc.members = append(*svc.members, m)
		}
	}
	c.appsBase, c.jobsBase = "http://"+c.apps[1].addr, "http://"+c.jobs[1].addr
	procs.Eventually(t, 60*time.Second, "both services to lead and serve", func() bool {
		return serviceLeader(c.appsBase+"/v2/apps") != "" && serviceLeader(c.jobsBase+"/v1/jobs") != ""
	})

	// Agent A first, alone, so that it takes exactly two of the app's tasks (it has two ports).
	c.agents[0].start(t)
	procs.Eventually(t, 30*time.Second, "agent A to register", func() bool { return c.agentActive(nsA.NSIP) })
	c.deployApp()
	procs.Eventually(t, 60*time.Second, "two of the app's tasks on agent A", func() bool {
		return c.runningOn(nsA.NSIP) == 2
	})
	c.agents[1].start(t)
	procs.Eventually(t, 30*time.Second, "agent B to register", func() bool { return c.agentActive(nsB.NSIP) })
	c.waitApp(instances, 60*time.Second)
	c.scheduleJob()
	return c
}

// leadingMaster is the index of the leading master (procs.LeadingMaster), skipping skip.
func (c *cluster) leadingMaster(skip int) int {
	addrs := make([]string, len(c.masters))
	for i, m := range c.masters {
		addrs[i] = m.addr
	}
	return procs.LeadingMaster(addrs, skip)
}

var client = &http.Client{Timeout: 10 * time.Second}

// serviceLeader is the leader a service replica names on a 200 answer to url ("" otherwise).
func serviceLeader(url string) string {
	resp, err := client.Get(url)
	if err != nil {
		return ""
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return ""
	}
	return resp.Header.Get("X-Strata-Leader")
}

// master is the leading master's address (fails the test if none leads).
func (c *cluster) master() string {
	c.t.Helper()
	i := c.leadingMaster(-1)
	if i < 0 {
		c.t.Fatal("no master leads")
	}
	return c.masters[i].addr
}

func getJSON(url string, out any) bool {
	code, body := procs.Request("GET", url, "")
	return code == 200 && json.Unmarshal([]byte(body), out) == nil
}

func (c *cluster) agentActive(ip string) bool {
	i := c.leadingMaster(-1)
	if i < 0 {
		return false
	}
	var st struct {
		Slaves []struct {
			Hostname string `json:"hostname"`
			Active   bool   `json:"active"`
		} `json:"slaves"`
	}
	if !getJSON("http://"+c.masters[i].addr+"/master/slaves", &st) {
		return false
	}
	for _, s := range st.Slaves {
		if s.Hostname == ip && s.Active {
			return true
		}
	}
	return false
}

// masterTask is a task as the leading master reports it.
type masterTask struct {
	ID          string `json:"id"`
	State       string `json:"state"`
	FrameworkID string `json:"framework_id"`
	SlaveID     string `json:"slave_id"`
	Name        string `json:"name"`
}

// masterTasks lists the tasks the leading master knows (running, unreachable and completed).
func (c *cluster) masterTasks() []masterTask {
	i := c.leadingMaster(-1)
	if i < 0 {
		return nil
	}
	var out struct {
		Tasks []masterTask `json:"tasks"`
	}
	if !getJSON("http://"+c.masters[i].addr+"/master/tasks?limit=10000", &out) {
		return nil
	}
	return out.Tasks
}

// appTask is a task of the app as the apps service reports it.
type appTask struct {
	ID      string `json:"id"`
	Host    string `json:"host"`
	State   string `json:"state"`
	Version string `json:"version"`
}

func (c *cluster) appTasks() ([]appTask, bool) {
	var out struct {
		Tasks []appTask `json:"tasks"`
	}
	ok := getJSON(c.appsBase+"/v2/apps"+c.appID+"/tasks", &out)
	return out.Tasks, ok
}

// runningOn counts the app's RUNNING tasks on the agent at ip, as the apps service reports them.
func (c *cluster) runningOn(ip string) int {
	tasks, _ := c.appTasks()
	n := 0
	for _, tk := range tasks {
		if tk.Host == ip && tk.State == "TASK_RUNNING" {
			n++
		}
	}
	return n
}

// processes counts the app's task processes in each agent's namespace.
func (c *cluster) processes() []int {
	counts := make([]int, len(c.agents))
	for i, a := range c.agents {
		counts[i] = a.ns.Count(c.marker...)
	}
	return counts
}

// appState is the app as a client waits on it.
type appState struct {
	Instances    int    `json:"instances"`
	TasksRunning int    `json:"tasksRunning"`
	TasksHealthy int    `json:"tasksHealthy"`
	Version      string `json:"version"`
	Deployments  []any  `json:"deployments"`
}

func (c *cluster) app() (appState, bool) {
	var out struct {
		App appState `json:"app"`
	}
	ok := getJSON(c.appsBase+"/v2/apps"+c.appID, &out)
	return out.App, ok
}

// accounted reports, when the app is settled at n instances, whether every view agrees: the
// apps service has n RUNNING tasks, no deployment; the master knows exactly those n RUNNING for
// the apps framework and none unreachable; the namespaces hold exactly n task processes. The
// string says what disagrees.
func (c *cluster) accounted(n int) (bool, string) {
	a, ok := c.app()
	if !ok || a.Instances != n || a.TasksRunning != n || a.TasksHealthy != n || len(a.Deployments) != 0 {
		return false, fmt.Sprintf("apps service: %+v", a)
	}
	tasks, ok := c.appTasks()
	if !ok || len(tasks) != n {
		return false, fmt.Sprintf("apps service tasks: %+v", tasks)
	}
	ids := map[string]bool{}
	for _, tk := range tasks {
		if tk.State != "TASK_RUNNING" {
			return false, fmt.Sprintf("apps service task %s is %s", tk.ID, tk.State)
		}
		ids[tk.ID] = true
	}
	running := 0
	for _, mt := range c.masterTasks() {
		if !strings.HasPrefix(mt.ID, strings.TrimPrefix(c.appID, "/")) {
			continue
		}
		switch mt.State {
		case "TASK_RUNNING":
			if !ids[mt.ID] {
				return false, fmt.Sprintf("the master runs task %s the apps service does not know", mt.ID)
			}
			running++
		case "TASK_UNREACHABLE", "TASK_STAGING", "TASK_STARTING", "TASK_KILLING":
			return false, fmt.Sprintf("the master has task %s %s", mt.ID, mt.State)
		}
	}
	if running != n {
		return false, fmt.Sprintf("the master has %d of the app's tasks RUNNING", running)
	}
	total := 0
	procs := c.processes()
	for _, p := range procs {
		total += p
	}
	if total != n {
		return false, fmt.Sprintf("task processes per namespace: %v", procs)
	}
	return true, ""
}

// waitApp waits until the app is settled at n instances with every view agreeing.
func (c *cluster) waitApp(n int, within time.Duration) {
	c.t.Helper()
	var why string
	deadline := time.Now().Add(within)
	for {
		ok, w := c.accounted(n)
		if ok {
			return
		}
		why = w
		if time.Now().After(deadline) {
			c.t.Fatalf("the app is not settled at %d instances after %v: %s", n, within, why)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// appBody is the app: a task process named by the marker, healthy once its sandbox holds
// "ready" (after delay seconds), replaced 2 s after it becomes unreachable.
func (c *cluster) appBody(version string, delay int) string {
	cmd := fmt.Sprintf("sleep %d; touch ready; exec %s %s", delay, c.marker[0], c.marker[1])
	return fmt.Sprintf(`{"id":%q,"cmd":%q,"instances":%d,"cpus":0.1,"mem":16,"env":{"V":%q},
		"portDefinitions":[{"port":0}],
		"healthChecks":[{"protocol":"COMMAND","command":{"value":"test -f ready"},"gracePeriodSeconds":30,
			"intervalSeconds":1,"timeoutSeconds":2,"maxConsecutiveFailures":3}],
		"unreachableStrategy":{"inactiveAfterSeconds":%d,"expungeAfterSeconds":120}}`,
		c.appID, cmd, instances, version, inactiveAfter)
}

func (c *cluster) deployApp() {
	c.t.Helper()
	if code, out := procs.Request("POST", c.appsBase+"/v2/apps", c.appBody("1", 0)); code != 201 {
		c.t.Fatalf("POST /v2/apps: %d %s", code, out)
	}
}

// scheduleJob creates the job (its runs append a line to ranFile, on agent B) and its schedule
// every 2 s.
func (c *cluster) scheduleJob() {
	c.t.Helper()
	dir, err := os.MkdirTemp("/var/tmp", "strata-faults-") // tasks have a private /tmp
	if err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(func() { os.RemoveAll(dir) })
	c.ranFile = filepath.Join(dir, "ran")
	job := fmt.Sprintf(`{"id":"tick","run":{"cmd":"echo run >> %s","cpus":0.1,"mem":32,
		"placement":{"constraints":[{"attribute":"hostname","operator":"IS","value":%q}]}}}`, c.ranFile, c.jobAgent)
	for _, req := range []struct{ url, body string }{
		{c.jobsBase + "/v1/jobs", job},
		{c.jobsBase + "/v1/jobs/tick/schedules", `{"id":"every2","cron":"*/2 * * * * *","startingDeadlineSeconds":60}`},
	} {
		if code, out := procs.Request("POST", req.url, req.body); code != 201 {
			c.t.Fatalf("POST %s: %d %s", req.url, code, out)
		}
	}
}

// historyRun is a run in the job's history.
type historyRun struct {
	ID          string `json:"id"`
	Status      string `json:"status"`
	ScheduledAt string `json:"scheduledAt"`
	Reason      string `json:"reason"`
}

type history struct {
	Successful []historyRun `json:"successfulFinishedRuns"`
	Failed     []historyRun `json:"failedFinishedRuns"`
	Skipped    []historyRun `json:"skippedRuns"`
}

func (c *cluster) history() (history, bool) {
	var out struct {
		History history `json:"history"`
	}
	ok := getJSON(c.jobsBase+"/v1/jobs/tick?embed=history", &out)
	return out.History, ok
}

// checkTicks stops the schedule, waits for the last run, and checks that every tick from the
// first to the last was handled exactly once and that each run that ran wrote one line.
func (c *cluster) checkTicks() {
	c.t.Helper()
	if code, out := procs.Request("DELETE", c.jobsBase+"/v1/jobs/tick/schedules/every2", ""); code != 200 {
		c.t.Fatalf("DELETE schedule: %d %s", code, out)
	}
	procs.Eventually(c.t, 60*time.Second, "no active run of the job", func() bool {
		var active []json.RawMessage
		return getJSON(c.jobsBase+"/v1/jobs/tick/runs", &active) && len(active) == 0
	})
	h, ok := c.history()
	if !ok {
		c.t.Fatal("no job history")
	}
	var ticks []time.Time
	seen := map[string]bool{}
	for _, r := range append(append(h.Successful, h.Failed...), h.Skipped...) {
		if seen[r.ScheduledAt] {
			c.t.Fatalf("tick %s handled twice: %+v", r.ScheduledAt, h)
		}
		seen[r.ScheduledAt] = true
		at, err := time.Parse("2006-01-02T15:04:05.000-0700", r.ScheduledAt)
		if err != nil {
			c.t.Fatalf("scheduledAt %q: %v", r.ScheduledAt, err)
		}
		ticks = append(ticks, at)
	}
	sort.Slice(ticks, func(a, b int) bool { return ticks[a].Before(ticks[b]) })
	for k := 1; k < len(ticks); k++ {
		if gap := ticks[k].Sub(ticks[k-1]); gap != tickPeriod {
			c.t.Fatalf("ticks %v and %v are %v apart: a tick was lost\n%+v", ticks[k-1], ticks[k], gap, h)
		}
	}
	for _, s := range h.Skipped {
		if s.Reason == "" {
			c.t.Errorf("tick %s skipped without a reason", s.ScheduledAt)
		}
	}
	b, err := os.ReadFile(c.ranFile)
	if err != nil {
		c.t.Fatal(err)
	}
	lines := len(strings.Fields(string(b)))
	if lines != len(h.Successful) {
		c.t.Errorf("%d executions for %d successful runs (%d failed): a run executed twice or not at all\n%+v",
			lines, len(h.Successful), len(h.Failed), h)
	}
	c.t.Logf("job: %d ticks over %v: %d run, %d failed, %d skipped", len(ticks),
		time.Since(c.startedAt).Round(time.Second), len(h.Successful), len(h.Failed), len(h.Skipped))
}

// leadingReplica is the index of the replica of ms that leads, as the given base names it.
func leadingReplica(ms []*member, url string) int {
	l := serviceLeader(url)
	for i, m := range ms {
		if m.addr == l {
			return i
		}
	}
	return -1
}

func kill(t *testing.T, p *procs.Proc) { p.Signal(t, syscall.SIGKILL) }
