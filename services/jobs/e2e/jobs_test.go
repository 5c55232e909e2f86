package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"strata/kernel/e2e/procs"
	"strata/kernel/e2e/stratabin"
)

var strataBin string

func TestMain(m *testing.M) {
	code := stratabin.Main(m, &strataBin)
	os.Exit(code)
}

func must(t *testing.T, method, url, body string, want int) string {
	t.Helper()
	code, out := procs.Request(method, url, body)
	if code != want {
		t.Fatalf("%s %s: %d, want %d: %s", method, url, code, want, out)
	}
	return out
}

type historyRun struct {
	ID          string `json:"id"`
	Status      string `json:"status"`
	Trigger     string `json:"trigger"`
	ScheduledAt string `json:"scheduledAt"`
	Sandbox     string `json:"sandbox"`
	Reason      string `json:"reason"`
	ExitStatus  *int   `json:"exitStatus"`
}

type history struct {
	SuccessCount int          `json:"successCount"`
	FailureCount int          `json:"failureCount"`
	Successful   []historyRun `json:"successfulFinishedRuns"`
	Failed       []historyRun `json:"failedFinishedRuns"`
	Skipped      []historyRun `json:"skippedRuns"`
}

func getHistory(t *testing.T, base, id string) history {
	t.Helper()
	var out struct {
		History history `json:"history"`
	}
	code, body := procs.Request("GET", base+"/v1/jobs/"+id+"?embed=history", "")
	if code != 200 {
		return history{}
	}
	if err := json.Unmarshal([]byte(body), &out); err != nil {
		t.Fatalf("history of %s: %v: %s", id, err, body)
	}
	return out.History
}

// startDev runs strata dev with the jobs service on a free port (or without it) and returns
// the master's address and the jobs API's base URL.
func startDev(t *testing.T, jobs bool) (master, base string) {
	t.Helper()
	mp, ap, jp := procs.FreePort(t), procs.FreePort(t), procs.FreePort(t)
	procs.Start(t, strataBin, "dev", "--work-dir", t.TempDir(), "--master-port", fmt.Sprint(mp),
		"--agent-port", fmt.Sprint(ap), "--apps=false", fmt.Sprintf("--jobs=%v", jobs), "--jobs-port", fmt.Sprint(jp))
	master, base = fmt.Sprintf("127.0.0.1:%d", mp), fmt.Sprintf("http://127.0.0.1:%d", jp)
	procs.Eventually(t, 30*time.Second, "the agent to register", func() bool {
		code, body := procs.Request("GET", "http://"+master+"/master/slaves", "")
		return code == 200 && strings.Contains(body, `"active":true`)
	})
	if jobs {
		waitPing(t, base)
	}
	return master, base
}

func waitPing(t *testing.T, base string) {
	t.Helper()
	procs.Eventually(t, 30*time.Second, "the jobs service", func() bool {
		code, body := procs.Request("GET", base+"/ping", "")
		return code == 200 && strings.Contains(body, "pong")
	})
}

// On strata dev: a job run now finishes and shows in history with a working link to its
// sandbox; a schedule every two seconds fires repeatedly; a Chronos dependent job runs after
// its parent, and both APIs see the same jobs.
func TestJobsOnDev(t *testing.T) {
	_, base := startDev(t, true)

	must(t, "POST", base+"/v1/jobs", `{"id":"hello","run":{"cmd":"echo hello-from-a-job","cpus":0.1,"mem":32}}`, 201)
	must(t, "POST", base+"/v1/jobs/hello/runs", "", 201)
	procs.Eventually(t, 30*time.Second, "the run in history", func() bool { return getHistory(t, base, "hello").SuccessCount == 1 })
	run := getHistory(t, base, "hello").Successful[0]
	if run.Status != "SUCCESS" || run.Sandbox == "" || run.ExitStatus == nil || *run.ExitStatus != 0 {
		t.Fatalf("history entry: %+v", run)
	}
	// The sandbox link leads to the run's output.
	read := strings.Replace(run.Sandbox, "/files/browse?path=", "/files/read?offset=0&path=", 1) + "%2Fstdout"
	if out := must(t, "GET", read, "", 200); !strings.Contains(out, "hello-from-a-job") {
		t.Fatalf("sandbox stdout: %s", out)
	}

	must(t, "POST", base+"/v1/jobs", `{"id":"tick","run":{"cmd":"true","cpus":0.1,"mem":32}}`, 201)
	must(t, "POST", base+"/v1/jobs/tick/schedules", `{"id":"every2","cron":"*/2 * * * * *","startingDeadlineSeconds":0}`, 201)
	procs.Eventually(t, 40*time.Second, "three scheduled runs", func() bool { return getHistory(t, base, "tick").SuccessCount >= 3 })
	for _, r := range getHistory(t, base, "tick").Successful {
		if r.Trigger != "schedule" || r.ScheduledAt == "" {
			t.Fatalf("scheduled run: %+v", r)
		}
	}

	must(t, "POST", base+"/v1/scheduler/iso8601",
		`{"name":"parent","command":"echo parent","schedule":"R1//PT1M","epsilon":"PT10M","cpus":"0.1","mem":"32"}`, 204)
	must(t, "POST", base+"/v1/scheduler/dependency",
		`{"name":"child","command":"echo child","parents":["parent"],"cpus":0.1,"mem":32}`, 204)
	procs.Eventually(t, 30*time.Second, "the child to run after its parent", func() bool {
		return getHistory(t, base, "child").SuccessCount == 1
	})
	if p := getHistory(t, base, "parent"); p.SuccessCount != 1 {
		t.Fatalf("parent history: %+v", p)
	}
	if c := getHistory(t, base, "child").Successful[0]; c.Trigger != "dependency" {
		t.Fatalf("child run: %+v", c)
	}
	if jobs := must(t, "GET", base+"/v1/scheduler/jobs", "", 200); !strings.Contains(jobs, `"name":"hello"`) ||
		!strings.Contains(jobs, `"name":"child"`) {
		t.Fatalf("Chronos view: %s", jobs)
	}
}

// The jobs service killed (-9) mid-schedule and restarted neither repeats nor loses a tick:
// every tick from the first to the last is in the history exactly once, run or recorded as
// skipped with its reason.
func TestJobsServiceRestartMidSchedule(t *testing.T) {
	master, _ := startDev(t, false)
	dir := t.TempDir()
	port := procs.FreePort(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	args := []string{"jobs", "--master", master, "--port", fmt.Sprint(port), "--work-dir", dir, "--failure-retry", "1s"}
	jobs := procs.Start(t, strataBin, args...)
	waitPing(t, base)
	must(t, "POST", base+"/v1/jobs", `{"id":"tick","run":{"cmd":"true","cpus":0.1,"mem":32}}`, 201)
	must(t, "POST", base+"/v1/jobs/tick/schedules", `{"id":"every2","cron":"*/2 * * * * *","startingDeadlineSeconds":60}`, 201)
	procs.Eventually(t, 40*time.Second, "two scheduled runs", func() bool { return getHistory(t, base, "tick").SuccessCount >= 2 })

	jobs.Signal(t, syscall.SIGKILL)
	time.Sleep(5 * time.Second)
	procs.Start(t, strataBin, args...)
	waitPing(t, base)
	before := getHistory(t, base, "tick").SuccessCount
	procs.Eventually(t, 40*time.Second, "three more runs after the restart", func() bool {
		return getHistory(t, base, "tick").SuccessCount >= before+3
	})

	h := getHistory(t, base, "tick")
	ticks := ticksOnce(t, h, 2*time.Second)
	if len(h.Skipped) == 0 {
		t.Fatalf("no tick recorded skipped across 5s of downtime: %+v", h)
	}
	for _, s := range h.Skipped {
		if !strings.Contains(s.Reason, "missed") {
			t.Fatalf("skip without a reason: %+v", s)
		}
	}
	t.Logf("%d ticks: %d run, %d skipped while the service was down", len(ticks), len(h.Successful), len(h.Skipped))
}

// ticksOnce checks that every tick of a schedule every period, from the first in h to the last,
// was handled exactly once (run, failed, or recorded skipped) and returns them in order.
func ticksOnce(t *testing.T, h history, period time.Duration) []time.Time {
	t.Helper()
	var ticks []time.Time
	seen := map[string]bool{}
	for _, r := range append(append(h.Successful, h.Failed...), h.Skipped...) {
		if seen[r.ScheduledAt] {
			t.Fatalf("tick %s handled twice: %+v", r.ScheduledAt, h)
		}
		seen[r.ScheduledAt] = true
		at, err := time.Parse("2006-01-02T15:04:05.000-0700", r.ScheduledAt)
		if err != nil {
			t.Fatalf("scheduledAt %q: %v", r.ScheduledAt, err)
		}
		ticks = append(ticks, at)
	}
	sort.Slice(ticks, func(a, b int) bool { return ticks[a].Before(ticks[b]) })
	for k := 1; k < len(ticks); k++ {
		if gap := ticks[k].Sub(ticks[k-1]); gap != period {
			t.Fatalf("ticks %v and %v are %v apart: a tick was lost\n%+v", ticks[k-1], ticks[k], gap, h)
		}
	}
	return ticks
}
