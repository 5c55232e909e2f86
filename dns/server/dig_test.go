package server

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// requireDig returns the path of dig (Debian bind9-dnsutils). It skips the test when dig is
// missing, and fails it under CI=true, where the test machine must have it.
func requireDig(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("dig")
	if err == nil {
		return path
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("dig not found (install bind9-dnsutils): %v", err)
	}
	t.Skip("dig not found (install bind9-dnsutils)")
	return ""
}

// TestDig queries the server with a real resolver client over UDP and TCP.
func TestDig(t *testing.T) {
	dig := requireDig(t)
	s := startServer(t, testConfig(), Options{})
	host, port, _ := net.SplitHostPort(s.addr)
	run := func(args ...string) string {
		t.Helper()
		args = append([]string{"@" + host, "-p", port, "+time=2", "+tries=1"}, args...)
		out, err := exec.Command(dig, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("dig %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	out := run("web.marathon.mesos", "A")
	for _, want := range []string{"status: NOERROR", " aa ", "10.0.1.10", "10.0.1.11", "EDNS: version: 0"} {
		if !strings.Contains(out, want) {
			t.Errorf("dig A: %q missing from\n%s", want, out)
		}
	}
	out = run("+tcp", "_web._tcp.marathon.mesos", "SRV")
	if !strings.Contains(out, "ANSWER: 2") || !strings.Contains(out, "ADDITIONAL: 3") { // 2 A + OPT
		t.Errorf("dig +tcp SRV:\n%s", out)
	}
	out = run("+short", "nope.marathon.mesos")
	if strings.TrimSpace(out) != "" {
		t.Errorf("dig +short NXDOMAIN printed %q", out)
	}
	if out = run("nope.marathon.mesos"); !strings.Contains(out, "status: NXDOMAIN") || !strings.Contains(out, "AUTHORITY: 1") {
		t.Errorf("dig NXDOMAIN:\n%s", out)
	}
	// Without EDNS0, a big SRV answer is truncated over UDP and dig retries over TCP.
	out = run("+noedns", "_big._tcp.marathon.mesos", "SRV")
	if !strings.Contains(out, "Truncated, retrying in TCP mode") || !strings.Contains(out, fmt.Sprintf("ANSWER: %d", bigApp)) {
		t.Errorf("dig +noedns big SRV:\n%s", out)
	}
}
