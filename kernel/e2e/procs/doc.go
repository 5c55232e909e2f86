// Package procs runs strata processes for end-to-end tests (output
// captured, stopped at cleanup) and holds the small HTTP and waiting helpers
// those tests share.
package procs
