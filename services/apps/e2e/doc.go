// Package e2e holds the apps service's end-to-end tests: they run the real strata binary
// (`strata dev`, and `strata apps` as a process of its own) on free loopback ports and drive it
// through the Marathon /v2 API the way clients do, with real tasks (busybox httpd) health
// checked by the agent.
//
// The binary comes from $STRATA_BIN (set by `make test`) or is built once by TestMain.
package e2e
