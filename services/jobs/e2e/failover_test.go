package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"strata/kernel/e2e/pgserver"
	"strata/kernel/e2e/procs"
	"strata/kernel/e2e/zkserver"
)

var client = &http.Client{Timeout: 5 * time.Second}

// leaderOf asks base who leads: every replica names the leader in X-Strata-Leader.
func leaderOf(base string) string {
	resp, err := client.Get(base + "/v1/jobs")
	if err != nil {
		return ""
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return ""
	}
	return resp.Header.Get("X-Strata-Leader")
}

// TestJobsLeaderKilledMidSchedule runs two replicas of the jobs service that elect their leader
// through ZooKeeper and share PostgreSQL, schedules a job every 2 s through the standby, and
// kills the leading replica with SIGKILL. The other replica must take over and keep the
// schedule: every tick from the first to the last is handled exactly once (run, or recorded
// skipped with its reason), and every run's task ran exactly once (each appends a line to a
// file: as many lines as runs).
func TestJobsLeaderKilledMidSchedule(t *testing.T) {
	zk := zkserver.Start(t, 1)
	dsn := pgserver.Start(t).CreateDB("jobs")
	master, _ := startDev(t, false)
	zkURL := zk.URL("/strata/jobs")
	type replica struct{ base, addr string }
	var replicas []replica
	var procsByAddr = map[string]*procs.Proc{}
	for range 2 {
		port := procs.FreePort(t)
		r := replica{addr: fmt.Sprintf("127.0.0.1:%d", port), base: fmt.Sprintf("http://127.0.0.1:%d", port)}
		procsByAddr[r.addr] = procs.Start(t, strataBin, "jobs", "--master", master, "--ip", "127.0.0.1",
			"--port", fmt.Sprint(port), "--advertise", r.addr, "--work-dir", t.TempDir(), "--zk", zkURL, "--db", dsn,
			"--zk-session-timeout", "4s", "--failure-retry", "1s")
		replicas = append(replicas, r)
	}
	var leader, standby replica
	procs.Eventually(t, 30*time.Second, "a leading jobs replica both replicas name", func() bool {
		l := leaderOf(replicas[0].base)
		if l == "" || leaderOf(replicas[1].base) != l {
			return false
		}
		for i, r := range replicas {
			if r.addr == l {
				leader, standby = r, replicas[1-i]
			}
		}
		return leader.addr != ""
	})

	// Outside /tmp: tasks get a private /tmp.
	dir, err := os.MkdirTemp("/var/tmp", "strata-jobs-failover-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	ran := filepath.Join(dir, "ran")
	job := fmt.Sprintf(`{"id":"tick","run":{"cmd":"echo run-$(date +%%s%%N) >> %s","cpus":0.1,"mem":32}}`, ran)
	must(t, "POST", standby.base+"/v1/jobs", job, 201)
	must(t, "POST", standby.base+"/v1/jobs/tick/schedules", `{"id":"every2","cron":"*/2 * * * * *","startingDeadlineSeconds":60}`, 201)
	procs.Eventually(t, 40*time.Second, "three scheduled runs", func() bool { return getHistory(t, standby.base, "tick").SuccessCount >= 3 })

	killed := time.Now()
	procsByAddr[leader.addr].Signal(t, syscall.SIGKILL)
	procs.Eventually(t, 16*time.Second, "the standby to lead", func() bool { return leaderOf(standby.base) == standby.addr })
	t.Logf("jobs leader killed; the standby leads %v later", time.Since(killed).Round(time.Millisecond))
	before := getHistory(t, standby.base, "tick").SuccessCount
	procs.Eventually(t, 40*time.Second, "three more runs after the failover", func() bool {
		return getHistory(t, standby.base, "tick").SuccessCount >= before+3
	})

	// Stop the schedule and let the last run finish, then account for every tick and task.
	must(t, "DELETE", standby.base+"/v1/jobs/tick/schedules/every2", "", 200)
	procs.Eventually(t, 30*time.Second, "no active run", func() bool {
		code, body := procs.Request("GET", standby.base+"/v1/jobs/tick/runs", "")
		var active []json.RawMessage
		return code == 200 && json.Unmarshal([]byte(body), &active) == nil && len(active) == 0
	})
	h := getHistory(t, standby.base, "tick")
	ticks := ticksOnce(t, h, 2*time.Second)
	b, err := os.ReadFile(ran)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Fields(string(b))
	seen := map[string]bool{}
	for _, id := range lines {
		if seen[id] {
			t.Fatalf("line %s written twice:\n%s", id, b)
		}
		seen[id] = true
	}
	if ranRuns := len(h.Successful) + len(h.Failed); len(lines) != ranRuns {
		t.Fatalf("%d task runs for %d runs in the history:\n%s\n%+v", len(lines), ranRuns, b, h)
	}
	t.Logf("%d ticks: %d run, %d skipped", len(ticks), len(h.Successful), len(h.Skipped))
}
