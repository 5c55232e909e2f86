// Package podmantest helps tests that run real containers with podman: it
// finds podman (a test without it skips, or fails under CI=true, where
// scripts/install-deps.sh must have installed it), builds once per machine a
// small local image holding a static busybox (no registry is reachable in
// the test environment), gives each test a short private work directory for
// a podman service socket, and removes a test agent's containers.
//
// It drives the podman command line only, so tests that use it do not need
// the podman bindings or their build tags.
package podmantest
