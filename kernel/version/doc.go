// Package version holds the build identity of the strata binary (version, git commit, build time),
// set at link time with -ldflags "-X strata/kernel/version.Version=...", and the Mesos API version the
// kernel speaks, which clients read from /version and GET_VERSION.
package version
