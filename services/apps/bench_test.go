package apps_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"strata/kernel/e2e/cluster"
	"strata/services/apps"
)

// simCluster runs an in-process master with n simulated agents and returns its address.
func simCluster(b *testing.B, n int) string {
	b.Helper()
	addr, _ := cluster.StartSimulated(b, n)
	return addr
}

// BenchmarkDeploy1000On100Agents measures the time from POST /v2/apps of an app with 1,000
// instances to GET /v2/apps/{id} showing all 1,000 running, on 100 simulated agents.
func BenchmarkDeploy1000On100Agents(b *testing.B) {
	const instances, agents = 1000, 100
	addr := simCluster(b, agents)
	s := startServiceB(b, addr)
	for i := 0; i < b.N; i++ {
		id := fmt.Sprintf("/bench/deploy-%d", i)
		body := fmt.Sprintf(`{"id":%q,"cmd":"sleep 1000","cpus":0.01,"mem":1,"instances":%d}`, id, instances)
		start := time.Now()
		resp, err := http.Post(s+"/v2/apps", "application/json", strings.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			b.Fatalf("POST /v2/apps: %d", resp.StatusCode)
		}
		for {
			var out struct {
				App struct {
					TasksRunning int `json:"tasksRunning"`
				} `json:"app"`
			}
			r, err := http.Get(s + "/v2/apps" + id)
			if err != nil {
				b.Fatal(err)
			}
			_ = json.NewDecoder(r.Body).Decode(&out)
			r.Body.Close()
			if out.App.TasksRunning == instances {
				break
			}
			if time.Since(start) > 5*time.Minute {
				b.Fatalf("only %d of %d instances running after 5 minutes", out.App.TasksRunning, instances)
			}
			time.Sleep(50 * time.Millisecond)
		}
		elapsed := time.Since(start)
		b.ReportMetric(elapsed.Seconds(), "deploy-s")
		b.ReportMetric(float64(instances)/elapsed.Seconds(), "instances/s")
	}
}

// startServiceB runs the apps service for a benchmark and returns its base URL.
func startServiceB(b *testing.B, masterAddr string) string {
	b.Helper()
	svc, err := apps.New(apps.Config{Masters: []string{masterAddr}, Listen: "127.0.0.1:0", WorkDir: b.TempDir(),
		FrameworkName: "marathon-bench", Logger: quietLogger()})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	b.Cleanup(func() { cancel(); <-done })
	select {
	case <-svc.Ready():
	case err := <-done:
		b.Fatalf("apps service: %v", err)
	case <-time.After(20 * time.Second):
		b.Fatal("apps service not ready")
	}
	return "http://" + svc.Addr()
}

// wrkLatency runs wrk against url for d with c connections (and script, if set) and returns its
// p50 and p99 latencies and requests per second.
func wrkLatency(b *testing.B, url string, d time.Duration, c int, script string) (p50, p99 time.Duration, rps float64) {
	b.Helper()
	wrk, err := exec.LookPath("wrk")
	if err != nil {
		if os.Getenv("CI") == "true" {
			b.Fatal("wrk is not installed (scripts/install-deps.sh installs it)")
		}
		b.Skip("wrk is not installed")
	}
	args := []string{"-t2", "-c" + strconv.Itoa(c), "-d" + d.String(), "--latency"}
	if script != "" {
		path := filepath.Join(b.TempDir(), "script.lua")
		if err := os.WriteFile(path, []byte(script), 0o644); err != nil {
			b.Fatal(err)
		}
		args = append(args, "-s", path)
	}
	out, err := exec.Command(wrk, append(args, url)...).CombinedOutput()
	if err != nil {
		b.Fatalf("wrk: %v: %s", err, out)
	}
	pct := func(p string) time.Duration {
		m := regexp.MustCompile(`(?m)^\s+` + p + `%\s+([0-9.]+)(us|ms|s)\s*$`).FindStringSubmatch(string(out))
		if m == nil {
			b.Fatalf("no %s%% latency in wrk output:\n%s", p, out)
		}
		v, _ := strconv.ParseFloat(m[1], 64)
		unit := map[string]time.Duration{"us": time.Microsecond, "ms": time.Millisecond, "s": time.Second}[m[2]]
		return time.Duration(v * float64(unit))
	}
	m := regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`).FindStringSubmatch(string(out))
	if m == nil {
		b.Fatalf("no Requests/sec in wrk output:\n%s", out)
	}
	rps, _ = strconv.ParseFloat(m[1], 64)
	if m := regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)`).FindStringSubmatch(string(out)); m != nil {
		b.Fatalf("wrk saw %s error responses from %s:\n%s", m[1], url, out)
	}
	return pct("50"), pct("99"), rps
}

// postScript makes wrk POST a new app (0 instances, so nothing launches) with an id unique per
// request: the run's tag, wrk's thread number and a per-thread counter.
const postScript = `
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
function init(args)
  counter = 0
  shown = 0
end
request = function()
  counter = counter + 1
  local body = '{"id":"/load/%s-' .. tid .. '-' .. counter .. '","cmd":"sleep 1000","cpus":0.01,"mem":1,"instances":0}'
  return wrk.format("POST", "/v2/apps", {["Content-Type"] = "application/json"}, body)
end
response = function(status, headers, body)
  if status >= 300 and shown < 3 then
    shown = shown + 1
    print("status " .. status .. ": " .. body)
  end
end
`

// BenchmarkAPIUnderLoad loads GET /v2/apps (100 apps of 10 running instances) and POST
// /v2/apps with wrk, beside a trivial net/http handler answering a small JSON body, measured in
// the same run with the same wrk settings.
func BenchmarkAPIUnderLoad(b *testing.B) {
	addr := simCluster(b, 10)
	s := startServiceB(b, addr)
	for i := 0; i < 100; i++ {
		body := fmt.Sprintf(`{"id":"/load/base-%03d","cmd":"sleep 1000","cpus":0.01,"mem":1,"instances":10}`, i)
		resp, err := http.Post(s+"/v2/apps", "application/json", strings.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
	}
	trivial := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"apps":[]}`))
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go trivial.Serve(ln)
	b.Cleanup(func() { trivial.Close() })
	base := "http://" + ln.Addr().String()
	const d, c = 5 * time.Second, 16
	ms := func(x time.Duration) float64 { return float64(x) / float64(time.Millisecond) }
	for i := 0; i < b.N; i++ {
		tp50, tp99, trps := wrkLatency(b, base+"/v2/apps", d, c, "")
		gp50, gp99, grps := wrkLatency(b, s+"/v2/apps", d, c, "")
		tag := strconv.FormatInt(time.Now().UnixNano(), 36)
		pp50, pp99, prps := wrkLatency(b, s+"/v2/apps", d, c, fmt.Sprintf(postScript, tag))
		b.ReportMetric(ms(tp50), "trivial-p50-ms")
		b.ReportMetric(ms(tp99), "trivial-p99-ms")
		b.ReportMetric(trps, "trivial-rps")
		b.ReportMetric(ms(gp50), "get-p50-ms")
		b.ReportMetric(ms(gp99), "get-p99-ms")
		b.ReportMetric(grps, "get-rps")
		b.ReportMetric(ms(pp50), "post-p50-ms")
		b.ReportMetric(ms(pp99), "post-p99-ms")
		b.ReportMetric(prps, "post-rps")
	}
}
