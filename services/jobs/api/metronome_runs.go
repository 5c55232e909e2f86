package api

import (
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"strata/services/jobs/engine"
	"strata/services/jobs/runs"
)

// listRuns is GET /v1/jobs/{id}/runs: the job's active runs (finished ones are in
// ?embed=history).
func (s *server) listRuns(c *gin.Context) {
	j, ok := s.lookup(c)
	if !ok {
		return
	}
	writeJSON(c, http.StatusOK, renderRuns(s.eng.ActiveRuns(j.ID)))
}

// startRun is POST /v1/jobs/{id}/runs: 201 with the new run; 409 for a job disabled through
// Chronos. A body (Metronome's run overrides) is ignored.
func (s *server) startRun(c *gin.Context) {
	j, ok := s.lookup(c)
	if !ok {
		return
	}
	if j.Disabled {
		s.fail(c, newError(http.StatusConflict, "Job '%s' is disabled", j.ID))
		return
	}
	r, err := s.eng.StartRun(c.Request.Context(), j.ID, runs.TriggerManual, nil)
	if err != nil {
		s.fail(c, s.runError(err, j.ID, ""))
		return
	}
	writeJSON(c, http.StatusCreated, renderRun(r))
}

// getRun is GET /v1/jobs/{id}/runs/{runId}: an active or finished run (a skipped tick shows
// with status SKIPPED).
func (s *server) getRun(c *gin.Context) {
	j, ok := s.lookup(c)
	if !ok {
		return
	}
	runID := c.Param("runId")
	r, err := s.eng.Run(c.Request.Context(), j.ID, runID)
	if err != nil {
		s.fail(c, s.runError(err, j.ID, runID))
		return
	}
	writeJSON(c, http.StatusOK, renderRun(r))
}

// stopRun is POST /v1/jobs/{id}/runs/{runId}/actions/stop: the run's task is killed and the run
// fails; the answer is the run. A run that is not active is a 404.
func (s *server) stopRun(c *gin.Context) {
	j, ok := s.lookup(c)
	if !ok {
		return
	}
	runID := c.Param("runId")
	ctx := c.Request.Context()
	if err := s.eng.StopRun(ctx, j.ID, runID); err != nil {
		s.fail(c, s.runError(err, j.ID, runID))
		return
	}
	r, err := s.eng.Run(ctx, j.ID, runID)
	if err != nil {
		s.fail(c, s.runError(err, j.ID, runID))
		return
	}
	writeJSON(c, http.StatusOK, renderRun(r))
}

// runError names what was not found: the run if one was asked for, else the job.
func (s *server) runError(err error, jobID, runID string) error {
	if !errors.Is(err, engine.ErrNotFound) {
		return err
	}
	if runID != "" {
		if _, ok := s.eng.Job(jobID); ok {
			return runNotFound(runID)
		}
	}
	return jobNotFound(jobID)
}
