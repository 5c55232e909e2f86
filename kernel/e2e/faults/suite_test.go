package faults

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"strata/kernel/e2e/procs"
)

// TestFaultSuite builds the cluster once and runs the faults on it in turn (see the package
// documentation); after each, the app must be back at its instance count with every view
// agreeing, and at the end every tick of the job must have been handled exactly once.
func TestFaultSuite(t *testing.T) {
	c := startCluster(t)
	t.Logf("cluster up in %v", time.Since(c.startedAt).Round(time.Millisecond))

	t.Run("leading master killed", func(t *testing.T) {
		c.t = t
		old := c.leadingMaster(-1)
		killed := time.Now()
		kill(t, c.masters[old].proc)
		next := -1
		procs.Eventually(t, 4*sessionTimeout, "another master to lead", func() bool {
			next = c.leadingMaster(old)
			return next >= 0
		})
		t.Logf("master %d → %d leading %v after the kill", old, next, time.Since(killed).Round(time.Millisecond))
		if d := time.Since(killed); d > 2*sessionTimeout+2*time.Second {
			t.Errorf("the new master led %v after the kill", d)
		}
		procs.Eventually(t, 30*time.Second, "both agents to re-register", func() bool {
			return c.agentActive(c.agents[0].ns.NSIP) && c.agentActive(c.agents[1].ns.NSIP)
		})
		c.waitApp(instances, 60*time.Second)
		c.masters[old].start(c.root) // back as a candidate
	})

	t.Run("agent partitioned and healed", func(t *testing.T) {
		c.t = t
		a := c.agents[0]
		if n := c.runningOn(a.ns.NSIP); n != 2 {
			t.Fatalf("agent A runs %d of the app's tasks, want 2", n)
		}
		down := time.Now()
		if err := a.ns.LinkDown(); err != nil {
			t.Fatal(err)
		}
		procs.Eventually(t, 30*time.Second, "agent A's tasks to be unreachable at the master", func() bool {
			n := 0
			for _, mt := range c.masterTasks() {
				if mt.State == "TASK_UNREACHABLE" && strings.HasPrefix(mt.ID, strings.TrimPrefix(c.appID, "/")) {
					n++
				}
			}
			return n == 2
		})
		unreachable := time.Since(down)
		procs.Eventually(t, 60*time.Second, "replacements running on agent B", func() bool {
			return c.runningOn(c.agents[1].ns.NSIP) == instances
		})
		replaced := time.Since(down)
		up := time.Now()
		if err := a.ns.LinkUp(); err != nil {
			t.Fatal(err)
		}
		c.waitApp(instances, 60*time.Second)
		t.Logf("link down → unreachable %v, → replaced %v; link up → exactly %d again %v",
			unreachable.Round(time.Millisecond), replaced.Round(time.Millisecond), instances, time.Since(up).Round(time.Millisecond))
	})

	t.Run("every agent restarted", func(t *testing.T) {
		c.t = t
		before, _ := c.appTasks()
		for i, a := range c.agents {
			kill(t, a.proc)
			a.start(c.root)
			procs.Eventually(t, 30*time.Second, fmt.Sprintf("agent %d to re-register", i), func() bool {
				return strings.Contains(a.proc.Output(), "registered with master") && c.agentActive(a.ns.NSIP)
			})
		}
		c.waitApp(instances, 60*time.Second)
		after, _ := c.appTasks()
		ids := map[string]bool{}
		for _, tk := range after {
			ids[tk.ID] = true
		}
		for _, tk := range before {
			if !ids[tk.ID] {
				t.Errorf("task %s did not survive the agents' restarts", tk.ID)
			}
		}
	})

	t.Run("apps leader killed during a deployment", func(t *testing.T) {
		c.t = t
		first, _ := c.app()
		old := leadingReplica(c.apps, c.appsBase+"/v2/apps")
		if old < 0 {
			t.Fatal("no leading apps replica")
		}
		survivor := c.apps[1-old]
		c.appsBase = "http://" + survivor.addr
		if code, out := procs.Request("PUT", c.appsBase+"/v2/apps"+c.appID, c.appBody("2", 3)); code != 200 {
			t.Fatalf("PUT: %d %s", code, out)
		}
		procs.Eventually(t, 30*time.Second, "the new version's tasks to start", func() bool {
			tasks, _ := c.appTasks()
			for _, tk := range tasks {
				if tk.Version != first.Version && tk.State == "TASK_RUNNING" {
					return true
				}
			}
			return false
		})
		killed := time.Now()
		kill(t, c.apps[old].proc)
		procs.Eventually(t, 4*sessionTimeout, "the other apps replica to lead", func() bool {
			return serviceLeader(c.appsBase+"/v2/apps") == survivor.addr
		})
		t.Logf("apps leader killed; the other replica leads %v later", time.Since(killed).Round(time.Millisecond))
		c.waitApp(instances, 90*time.Second)
		if a, _ := c.app(); a.Version == first.Version {
			t.Fatalf("the deployment did not finish: %+v", a)
		}
		c.apps[old].start(c.root)
	})

	t.Run("PostgreSQL restarted", func(t *testing.T) {
		c.t = t
		c.pg.Stop()
		time.Sleep(2 * time.Second) // a tick or so without the store
		c.pg.Start()
		// The first write after the restart may meet a connection the restart closed (503).
		procs.Eventually(t, 30*time.Second, "the apps service to accept a change", func() bool {
			code, _ := procs.Request("PUT", c.appsBase+"/v2/apps"+c.appID, fmt.Sprintf(`{"instances":%d}`, instances+1))
			return code == 200
		})
		c.waitApp(instances+1, 60*time.Second)
		if code, out := procs.Request("PUT", c.appsBase+"/v2/apps"+c.appID, fmt.Sprintf(`{"instances":%d}`, instances)); code != 200 {
			t.Fatalf("scale back: %d %s", code, out)
		}
		c.waitApp(instances, 60*time.Second)
		if l := c.leadingMaster(-1); l < 0 {
			t.Fatal("no master leads after the PostgreSQL restart")
		}
	})

	c.t = t
	c.waitApp(instances, 30*time.Second)
	c.checkTicks()
}
