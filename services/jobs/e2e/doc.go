// Package e2e tests the jobs service as a user meets it: `strata dev` (and
// `strata jobs` beside it) started as processes, driven through the
// Metronome and Chronos HTTP APIs.
package e2e
