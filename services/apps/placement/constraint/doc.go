// Package constraint parses, validates and evaluates Marathon placement
// constraints in their array form, [field, OPERATOR] or [field, OPERATOR,
// value].
//
// # Fields
//
// "hostname" and "@hostname" compare the agent's hostname; "@region" and
// "@zone" compare the fault domain the agent reports in its offers; any other
// field names an agent attribute. Attribute values are compared as strings in
// Marathon's rendering: text as is, scalars with at most three decimals
// (half-even, no trailing zeros), ranges as "[begin-end,...]" sorted by
// begin, sets as "{a,b}" with the items sorted. When the field is missing on
// an agent every operator refuses the offer except UNLIKE, which accepts it.
//
// # Operators
//
//   - UNIQUE: no other instance on an agent with the same value.
//   - CLUSTER: every instance on agents with the same value; with a value,
//     that value; without one, the first placed instance pins it.
//   - GROUP_BY: spread instances evenly over the values; an offer is taken
//     when its value is new or holds the fewest instances, and with a count N
//     only once instances cover at least N distinct values (until then only
//     new values are taken).
//   - LIKE / UNLIKE: the value (a regular expression) must / must not match
//     the whole field value.
//   - MAX_PER: at most N instances per value.
//   - IS: the field equals the value; when both are numbers they are compared
//     after rounding to three decimals, half to even.
//
// Regular expressions use Go's RE2 syntax, so Java-only constructs such as
// look-arounds and back-references are rejected by Validate.
//
// Evaluation is pure: it reads the candidate agent (a Host built from an
// offer with HostOf) and the agents of the instances already placed, and
// never changes either. Those agents are kept in an Index, which counts the
// instances per field value so that a check does not revisit every
// instance.
package constraint
