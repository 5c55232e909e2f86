// Package pgserver runs a real PostgreSQL server (Debian's postgresql package) for tests: a
// fresh cluster made with initdb in its own directory, listening on a free loopback port, run as
// the postgres user (PostgreSQL refuses to run as root), that a test can stop and start again.
package pgserver
