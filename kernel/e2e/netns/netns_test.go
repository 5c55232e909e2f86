package netns

import (
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

// TestMain lets the test binary act as a TCP client inside a namespace: with NETNS_TEST_DIAL set
// it dials that address and exits 0 when the connection opens.
func TestMain(m *testing.M) {
	if addr := os.Getenv("NETNS_TEST_DIAL"); addr != "" {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			os.Exit(1)
		}
		c.Close()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestNamespaceLinkDownAndUp creates a namespace, reaches the host from inside it, cuts it off
// with LinkDown, heals it with LinkUp, and deletes it.
func TestNamespaceLinkDownAndUp(t *testing.T) {
	if err := Available(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	ns := Create(t, "t")
	ln, err := net.Listen("tcp", ns.HostIP+":0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	dial := func() error {
		cmd := ns.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "NETNS_TEST_DIAL="+ln.Addr().String())
		return cmd.Run()
	}
	if err := dial(); err != nil {
		t.Fatalf("dial %s from inside %s: %v", ln.Addr(), ns.Name, err)
	}
	if err := ns.LinkDown(); err != nil {
		t.Fatal(err)
	}
	if err := dial(); err == nil {
		t.Fatal("the host was reachable from the namespace with the link down")
	}
	if err := ns.LinkUp(); err != nil {
		t.Fatal(err)
	}
	// The carrier and the host side's route come back within moments of LinkUp, not at once.
	healed := time.Now().Add(10 * time.Second)
	for err := dial(); err != nil; err = dial() {
		if time.Now().After(healed) {
			t.Fatalf("dial after LinkUp: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}

	sleep := ns.Command("sleep", "30")
	if err := sleep.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sleep.Process.Kill(); _ = sleep.Wait() }()
	deadline := time.Now().Add(5 * time.Second)
	for !ns.Holds(sleep.Process.Pid) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond) // nsenter execs sleep once it has entered
	}
	if !ns.Holds(sleep.Process.Pid) || ns.Holds(os.Getpid()) {
		t.Fatalf("Holds: the process inside %v, the test itself %v", ns.Holds(sleep.Process.Pid), ns.Holds(os.Getpid()))
	}
	ipBin, err := lookPath("ip")
	if err != nil {
		t.Fatal(err)
	}
	if out, err := ns.Exec(ipBin, "-o", "addr", "show", "dev", ns.NSIf); err != nil || !strings.Contains(string(out), ns.NSIP+"/30") {
		t.Fatalf("ip addr inside: %v %s", err, out)
	}
	_ = sleep.Process.Kill()
	_ = sleep.Wait()

	if err := ns.Delete(); err != nil {
		t.Fatal(err)
	}
	if err := ns.Delete(); err != nil {
		t.Fatalf("second Delete: %v", err)
	}
	if _, err := os.Stat(ns.Path()); !os.IsNotExist(err) {
		t.Fatalf("%s still exists after Delete: %v", ns.Path(), err)
	}
	if _, err := os.Stat("/sys/class/net/" + ns.HostIf); !os.IsNotExist(err) {
		t.Fatalf("veth %s still exists after Delete: %v", ns.HostIf, err)
	}
}
