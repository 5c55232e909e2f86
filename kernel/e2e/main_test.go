package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"strata/kernel/e2e/procs"
	"strata/kernel/e2e/stratabin"
)

var strataBin string

func TestMain(m *testing.M) {
	code := stratabin.Main(m, &strataBin)
	if staticDir != "" {
		os.RemoveAll(staticDir)
	}
	os.Exit(code)
}

func freePort(t *testing.T) int { return procs.FreePort(t) }

type proc = procs.Proc

// start runs strata with args; the process is stopped at the end of the test if still running.
func start(t *testing.T, args ...string) *proc { return procs.Start(t, strataBin, args...) }

// waitHTTP polls url until it answers 200.
func waitHTTP(t *testing.T, url string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s did not answer 200 within %s", url, within)
}

func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	procs.Eventually(t, within, what, cond)
}

// processesWith lists pids whose command line contains marker.
func processesWith(marker string) []int {
	var pids []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		var pid int
		if _, err := fmt.Sscanf(e.Name(), "%d", &pid); err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		if strings.Contains(strings.ReplaceAll(string(b), "\x00", " "), marker) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// startDev runs `strata dev` on free ports (with extra flags) and returns the master and agent
// addresses.
func startDev(t *testing.T, extra ...string) (*proc, string, string) {
	t.Helper()
	mp, ap := freePort(t), freePort(t)
	args := append([]string{"dev", "--work-dir", t.TempDir(), "--master-port", fmt.Sprint(mp), "--agent-port", fmt.Sprint(ap),
		"--apps-port", "0", "--jobs-port", "0"}, extra...)
	p := start(t, args...)
	master, agent := fmt.Sprintf("127.0.0.1:%d", mp), fmt.Sprintf("127.0.0.1:%d", ap)
	waitHTTP(t, "http://"+master+"/health", 20*time.Second)
	waitHTTP(t, "http://"+agent+"/health", 20*time.Second)
	eventually(t, 20*time.Second, "the agent to register", func() bool {
		body := getBody(t, "http://"+master+"/master/slaves")
		return strings.Contains(body, `"active":true`)
	})
	return p, master, agent
}

func getBody(t *testing.T, url string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}
