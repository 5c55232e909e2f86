// Package allocator implements Strata's resource allocator: the Mesos
// HierarchicalDRF policy that decides which framework is offered which
// agent's resources.
//
// The package is pure. It performs no I/O, starts no goroutines and reads
// the wall clock only through an injectable clock (Config.Clock) or the
// `now` argument of a pass, so a given sequence of calls with a given seed
// always yields the same offers. It is not safe for concurrent use: the
// master calls it from one goroutine or under its own lock.
//
// It deliberately knows nothing about protobuf. Resources, Quantities and
// Range are its own compact types (scalars are fixed-point milli-units, as
// in Mesos, so repeated arithmetic never drifts); the master converts
// mesos.v1.Resource values at the boundary.
//
// A pass (Allocate, AllocateAgents, AllocatePending) walks the active agents
// in a seeded random order. On each agent it visits roles in hierarchical
// DRF order (dominant share divided by weight) and, for each role, offers
// everything the agent has for that role (its reservations plus unreserved
// resources, trimmed by quota limits and headroom when quota is in use) to
// the first framework of the role, in DRF order, that is active, not
// suppressed for the role, capable of using the agent, not filtered by an
// earlier refusal and satisfied by min_allocatable_resources. Offered
// resources stay allocated until RecoverResources returns them. See
// README.md in this directory for the pipeline and a glossary.
package allocator
