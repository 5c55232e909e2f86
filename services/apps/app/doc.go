// Package app is the Marathon app definition as the apps service accepts, stores and returns it:
// every field of Marathon's /v2 App JSON as a Go type that round-trips (including the deprecated
// forms clients still send: the `ports` int array, `uris`, `container.docker.network`,
// `container.docker.portMappings`, `ipAddress`, and env values that are either strings or
// `{"secret": name}` objects), Marathon's defaults, normalization of the deprecated forms into the
// canonical ones, validation with Marathon's error shape (`{message, details:[{path, errors}]}`),
// the merge semantics of PUT (partialUpdate) and PATCH in which a JSON null and an absent field
// both mean "unchanged", app ids (PathId), versions (ISO-8601 timestamps in UTC with
// milliseconds) and the legacy task id form `<app path with _ for />.<uuid>`.
//
// Readiness checks are validated as Marathon does (one at most, portName naming one of the app's
// ports, 0 < timeoutSeconds < intervalSeconds); PortNames and PortIndex find a port by name.
// upgradeStrategy.autoRevert is a Strata extension (see package deploy), left out of the JSON
// when unset.
//
// Groups (group*.go): the root group as a Tree of apps and explicit groups (GroupSpec), with
// implicit groups for every app path; Marathon's GroupUpdate and its structural update, group
// scaling (scaleBy, rounded up as Marathon does), rollback of a subtree, the dependency graph
// between apps (app and group dependencies resolved to apps) with cycle detection, and the check
// that no app and group share an id.
//
// The package holds no state and does no I/O: the store keeps definitions as the JSON this
// package produces, and the deploy and api packages decide what a change means.
package app
