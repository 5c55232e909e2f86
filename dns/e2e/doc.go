// Package e2e tests the DNS server as a user meets it: `strata dev` started
// as a process, apps deployed through the Marathon API, names resolved with
// a DNS client and with dig.
package e2e
