// Package netns gives end-to-end tests a network namespace of their own, joined to the host by
// a veth pair on a /30 of 10.213.0.0/16: the host side is 10.213.N.1, the namespace side
// 10.213.N.2, and the namespace's lo is up. A test runs processes inside it (Command, through
// `ip netns exec`) and cuts it off from the host and heals it again by taking the host side of
// the veth pair down and up (LinkDown, LinkUp), which is what a partition looks like to both
// ends: no RST, no FIN, packets just stop.
//
// Create needs root and iproute2; Available says whether the machine has them. Names include
// the test process's pid so that concurrent runs do not clash, the /30 is one no interface on
// the host uses yet, and Create registers a t.Cleanup that deletes the namespace and the veth
// pair (Delete may be called earlier; it is idempotent). Register the cleanup of the processes
// running inside after Create, so that they are stopped before the namespace goes.
package netns
