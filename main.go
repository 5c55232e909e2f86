// Command strata is the one binary of the Strata datacenter operating system: every server role
// (master, agent, executor, services, dev) and every client verb is a subcommand.
package main

import (
	"os"

	"strata/cli"
)

func main() {
	os.Exit(cli.Execute(os.Args[1:]))
}
