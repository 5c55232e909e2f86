package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"strata/kernel/e2e/netns"
	"strata/kernel/e2e/procs"
)

// Settings of the partition test: the master pings every second and gives up after three
// missed pings; the app replaces an unreachable instance after 2 s and forgets it after 30 s.
const (
	partitionPingTimeout     = "1s"
	partitionMaxPingTimeouts = "3"
	partitionInactiveAfter   = 2
	partitionExpungeAfter    = 30
	partitionInstances       = 4
	partitionAgentPort       = "5051" // each agent has a namespace of its own: no clash
)

// partitionCluster is a master and the apps service in the host's network namespace and two
// agents, each in a namespace of its own joined to the host by a veth pair.
type partitionCluster struct {
	master string // 127.0.0.1:port of the master (it listens on 0.0.0.0)
	apps   string // base URL of the apps service
	appID  string
	marker string // the app's command, unique to this run: "sleep 100000.<n>"
	a, b   *netns.NS
	agentA *proc
	agentB *proc
}

// startPartitionCluster starts everything and deploys the app: agent A (room for two tasks:
// two ports) first, so that it gets two instances, then agent B (room for all four), which gets
// the other two.
func startPartitionCluster(t *testing.T) *partitionCluster {
	t.Helper()
	c := &partitionCluster{
		appID:  fmt.Sprintf("/partition-%d", os.Getpid()),
		marker: fmt.Sprintf("sleep 100000.%d", 100000+os.Getpid()%900000),
	}
	// The namespaces' cleanup runs after the processes' (t.Cleanup is last in, first out).
	c.a, c.b = netns.Create(t, "a"), netns.Create(t, "b")

	mp := freePort(t)
	c.master = fmt.Sprintf("127.0.0.1:%d", mp)
	start(t, "master", "--ip", "0.0.0.0", "--hostname", "127.0.0.1", "--port", fmt.Sprint(mp),
		"--work-dir", t.TempDir(), "--agent-ping-timeout", partitionPingTimeout,
		"--max-agent-ping-timeouts", partitionMaxPingTimeouts)
	waitHTTP(t, "http://"+c.master+"/health", 20*time.Second)

	c.agentA = c.startAgent(t, c.a, mp, "ports:[31000-31001]")
	eventually(t, 20*time.Second, "agent A to register", func() bool { return c.agentActive(t, c.a.NSIP) })

	pp := freePort(t)
	c.apps = fmt.Sprintf("http://127.0.0.1:%d", pp)
	start(t, "apps", "--master", c.master, "--ip", "127.0.0.1", "--port", fmt.Sprint(pp), "--work-dir", t.TempDir())
	eventually(t, 30*time.Second, "the apps service to answer /ping", func() bool {
		code, body := procs.Request("GET", c.apps+"/ping", "")
		return code == 200 && strings.TrimSpace(body) == "pong"
	})
	body := fmt.Sprintf(`{"id":%q,"cmd":%q,"instances":%d,"cpus":0.1,"mem":16,
		"portDefinitions":[{"port":0}],
		"unreachableStrategy":{"inactiveAfterSeconds":%d,"expungeAfterSeconds":%d}}`,
		c.appID, c.marker, partitionInstances, partitionInactiveAfter, partitionExpungeAfter)
	if code, out := procs.Request("POST", c.apps+"/v2/apps", body); code != 201 {
		t.Fatalf("POST /v2/apps: %d %s", code, out)
	}
	eventually(t, 30*time.Second, "two instances running on agent A", func() bool {
		return len(c.appTasksOn(t, c.a.NSIP, "TASK_RUNNING")) == 2
	})

	c.agentB = c.startAgent(t, c.b, mp, "ports:[31000-31009]")
	eventually(t, 20*time.Second, "agent B to register", func() bool { return c.agentActive(t, c.b.NSIP) })
	eventually(t, 30*time.Second, "two instances running on agent B", func() bool {
		return len(c.appTasksOn(t, c.b.NSIP, "TASK_RUNNING")) == 2
	})
	eventually(t, 30*time.Second, "the app's deployment to finish", func() bool {
		code, out := procs.Request("GET", c.apps+"/v2/deployments", "")
		return code == 200 && strings.TrimSpace(out) == "[]"
	})
	if pa, pb := c.processes(c.a), c.processes(c.b); pa != 2 || pb != 2 {
		t.Fatalf("task processes: %d in A's namespace and %d in B's, want 2 and 2", pa, pb)
	}
	return c
}

// startAgent runs an agent inside ns, registered with the master on the host side of the veth
// pair, and checks that the host (where the master runs) reaches the agent's HTTP API.
func (c *partitionCluster) startAgent(t *testing.T, ns *netns.NS, masterPort int, ports string) *proc {
	t.Helper()
	cmd := ns.Command(strataBin, "agent", "--master", fmt.Sprintf("%s:%d", ns.HostIP, masterPort),
		"--ip", ns.NSIP, "--hostname", ns.NSIP, "--port", partitionAgentPort, "--work-dir", t.TempDir(),
		"--resources", "cpus:2;mem:1024;disk:1024;"+ports, "--kill-tasks-on-exit", "--podman", "off")
	p := procs.StartCmd(t, cmd)
	waitHTTP(t, "http://"+ns.NSIP+":"+partitionAgentPort+"/health", 20*time.Second)
	return p
}

// agentActive reports whether the master lists the agent at ip as active.
func (c *partitionCluster) agentActive(t *testing.T, ip string) bool {
	var st struct {
		Slaves []struct {
			Hostname string `json:"hostname"`
			Active   bool   `json:"active"`
		} `json:"slaves"`
	}
	if json.Unmarshal([]byte(getBody(t, "http://"+c.master+"/master/slaves")), &st) != nil {
		return false
	}
	for _, s := range st.Slaves {
		if s.Hostname == ip && s.Active {
			return true
		}
	}
	return false
}

// partitionAppTask is what the test reads of a task in /v2/apps/{id}/tasks.
type partitionAppTask struct {
	ID    string `json:"id"`
	Host  string `json:"host"`
	State string `json:"state"`
}

// appTasks lists the app's tasks as the apps service reports them (nil when it does not answer).
func (c *partitionCluster) appTasks(t *testing.T) []partitionAppTask {
	var out struct {
		Tasks []partitionAppTask `json:"tasks"`
	}
	if json.Unmarshal([]byte(getBody(t, c.apps+"/v2/apps"+c.appID+"/tasks")), &out) != nil {
		return nil
	}
	return out.Tasks
}

// appTasksOn lists the ids of the app's tasks on host in state ("" for any state).
func (c *partitionCluster) appTasksOn(t *testing.T, host, state string) []string {
	var ids []string
	for _, tk := range c.appTasks(t) {
		if (host == "" || tk.Host == host) && (state == "" || tk.State == state) {
			ids = append(ids, tk.ID)
		}
	}
	return ids
}

// partitionMasterTasks is the master's view of the app's tasks (operator API GET_TASKS): the state of
// each task it tracks as running somewhere, and the ids of those it has as unreachable. ok is
// false when the master did not answer.
type partitionMasterTasks struct {
	ok          bool
	state       map[string]string // task id -> state, for the tasks (not the unreachable ones)
	unreachable map[string]bool
}

func (m partitionMasterTasks) count(state string) int {
	n := 0
	for _, s := range m.state {
		if s == state {
			n++
		}
	}
	return n
}

func (c *partitionCluster) masterTasks(t *testing.T) partitionMasterTasks {
	code, body := procs.Request("POST", "http://"+c.master+"/api/v1", `{"type":"GET_TASKS"}`)
	res := partitionMasterTasks{state: map[string]string{}, unreachable: map[string]bool{}}
	type tk struct {
		TaskID struct {
			Value string `json:"value"`
		} `json:"task_id"`
		State string `json:"state"`
	}
	var out struct {
		GetTasks struct {
			Tasks            []tk `json:"tasks"`
			UnreachableTasks []tk `json:"unreachable_tasks"`
		} `json:"get_tasks"`
	}
	if code != 200 || json.Unmarshal([]byte(body), &out) != nil {
		return res
	}
	res.ok = true
	prefix := strings.TrimPrefix(c.appID, "/") + "."
	for _, x := range out.GetTasks.Tasks {
		if strings.HasPrefix(x.TaskID.Value, prefix) {
			res.state[x.TaskID.Value] = x.State
		}
	}
	for _, x := range out.GetTasks.UnreachableTasks {
		if strings.HasPrefix(x.TaskID.Value, prefix) {
			res.unreachable[x.TaskID.Value] = true
		}
	}
	return res
}

// processes counts the app's task processes (the sleep itself, not a shell around it) running
// inside ns.
func (c *partitionCluster) processes(ns *netns.NS) int {
	return ns.Count(strings.Fields(c.marker)...)
}
