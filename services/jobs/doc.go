// Package jobs is Strata's distributed cron: `strata jobs`, and part of
// `strata dev` on port 9000. It registers as framework "metronome" and
// talks to the master only through the scheduler API (package launcher on
// kernel/scheduler); it serves Metronome's /v1/jobs API and Chronos'
// /v1/scheduler API over one set of jobs (package api); its core (package
// engine) fires schedules (package schedule) without ever firing a tick
// twice or missing one silently, and its state lives in SQLite through gorm
// (package store).
package jobs
