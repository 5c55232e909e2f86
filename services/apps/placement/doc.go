// Package placement decides whether, and how, an instance of an app can be
// launched on a Mesos offer. It is a pure library: it reads offers and the
// hosts of instances already placed, and returns the resources and ports for
// a TaskInfo, or the reasons an offer was not used. It does no I/O and keeps
// no state beyond the values it is handed.
//
// The apps service describes an app with a Spec (resources, ports, network
// mode, constraints and roles) and compiles it once with NewMatcher. It keeps
// an index of where the app's instances run (Matcher.NewIndex, then Add and
// Remove as instances come and go). For each offer it wraps the offer in a
// Remaining, which tracks what is left as instances are placed, and calls
// Matcher.Match, or MatchN for several instances on one offer:
//
//   - a Fit carries the exact []*mesospb.Resource for TaskInfo.resources,
//     with the reservation and allocation_info of the offered resources they
//     were taken from, and the host and container port of every port;
//   - a Rejection carries Marathon's reasons (UnfulfilledRole,
//     UnfulfilledConstraint, InsufficientCpus, ...), which constraints
//     refused the offer, and by how much each resource fell short.
//
// # Roles
//
// An instance may use unreserved resources and resources reserved to its
// role (or to an ancestor of it); when acceptedResourceRoles is set, only
// resources whose reservation role ("*" when unreserved) is listed. With
// MULTI_ROLE, resources allocated to another role are never used. Revocable
// and shared resources, persistent volumes, non-root disks and reservations
// carrying labels (which belong to resident apps) are not used either.
// Reserved resources are consumed before unreserved ones.
//
// # Ports
//
// Dynamic host ports are drawn at random from the offer's port ranges, so two
// frameworks reusing an agent do not keep colliding on its lowest ports;
// fixed host ports are taken exactly. See PortRequest for which ports are
// fixed in each network mode.
//
// The sub-packages hold the other pieces: constraint (parsing, validation
// and evaluation of constraints), taskenv (the task environment and
// DiscoveryInfo) and offerstats (the per-app statistics behind /v2/queue).
package placement
