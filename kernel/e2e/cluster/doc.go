// Package cluster starts a real master and a real agent in the calling
// test's process, on free loopback ports, for the integration tests of the
// frameworks built on the kernel (the apps and jobs services).
package cluster
