// Command init stands in for the strata executable in the containerizer's
// tests: it waits as a standby like `strata executor` and `strata
// container-init` do. With the argument container-init it expects a program
// to execute; with "report" it writes what it became (uid, cgroups) to its
// stdout and exits.
package main

import (
	"fmt"
	"os"

	"strata/kernel/containerizer/standby"
)

func main() {
	ok, err := standby.Await()
	if err != nil {
		fmt.Fprintln(os.Stderr, "init:", err)
		os.Exit(1)
	}
	if !ok {
		fmt.Fprintln(os.Stderr, "init: not a standby")
		os.Exit(1)
	}
	if len(os.Args) > 1 && os.Args[1] == "report" {
		cg, _ := os.ReadFile("/proc/self/cgroup")
		fmt.Printf("uid=%d\n%s", os.Getuid(), cg)
		return
	}
	fmt.Fprintln(os.Stderr, "init: nothing to execute")
	os.Exit(1)
}
