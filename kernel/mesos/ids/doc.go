// Package ids validates and builds the identifiers of the Mesos v1 API
// (framework, agent, offer, task, executor and operation ids).
//
// A valid id is non-empty, at most 255 bytes long, is not "." or "..", and
// contains no control characters and neither '/' nor '\', because ids become
// directory names in agent sandboxes.
//
// The master's ids have fixed shapes that clients and tools recognise:
// framework "<masterID>-0000" (a counter of at least four digits), agent
// "<masterID>-S<n>" and offer "<masterID>-O<n>", where the master id is a
// random UUID chosen when the master starts.
package ids
