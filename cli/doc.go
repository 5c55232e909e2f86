// Package cli is the command tree of the strata binary, built with cobra: the server roles
// (master, agent, executor, dev, ...) and the client verbs, one command per file named
// noun_verb.go. Commands parse flags and hand off to the packages that do the work; no
// behaviour lives here beyond wiring, signal handling and output formatting.
package cli
