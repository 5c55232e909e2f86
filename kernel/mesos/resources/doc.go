// Package resources implements Mesos resource semantics on plain
// []*mesospb.Resource lists: parsing the agent's --resources and
// --attributes flags, arithmetic (Add, Subtract, Contains, Equal, Merge),
// filtering by reservation, role and revocability, validation, the legacy
// "resources map" JSON form of /master/state, and the default resources an
// agent offers when it is not told what to offer.
//
// # Identity
//
// Two resources are the same kind, and merge into one entry, when their name,
// type, reservation stack, allocation role, disk source and persistence id,
// revocability, shareability and resource provider agree. The reservation
// stack is read from the post-refinement "reservations" field when present
// and otherwise from the legacy "role"/"reservation" fields, so both formats
// compare equal. Like Mesos, persistent volumes, MOUNT disks and shared
// resources never merge with one another; they are kept as separate entries
// and only an identical entry can be subtracted from them.
//
// # Scalars
//
// Scalar arithmetic is done at Mesos' precision of three decimal digits: sums
// and differences are rounded to the nearest 0.001, a value that rounds to
// zero is empty and dropped, and comparisons are made on the rounded values.
//
// All functions treat their arguments as read-only and return new slices of
// new messages; nothing returned aliases an argument.
package resources
