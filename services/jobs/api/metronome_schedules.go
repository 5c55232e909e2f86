package api

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"strata/services/jobs/job"
)

// Schedules (/v1/jobs/{id}/schedules): a job may have several, with ids unique within the job
// (Metronome accepted one). Only cron schedules are seen here; the ISO 8601 schedule of a
// Chronos job (id "chronos") is changed through the Chronos API and is a 404 here.

func (s *server) listSchedules(c *gin.Context) {
	j, ok := s.lookup(c)
	if !ok {
		return
	}
	writeJSON(c, http.StatusOK, s.schedules(j))
}

// cronSchedule returns the job's cron schedule with the given id.
func cronSchedule(j *job.Job, id string) (job.Schedule, bool) {
	sc, ok := j.Schedule(id)
	if !ok || !sc.IsCron() {
		return job.Schedule{}, false
	}
	return sc, true
}

func (s *server) getSchedule(c *gin.Context) {
	j, ok := s.lookup(c)
	if !ok {
		return
	}
	sid := c.Param("sid")
	sc, ok := cronSchedule(j, sid)
	if !ok {
		s.fail(c, scheduleNotFound(sid))
		return
	}
	writeJSON(c, http.StatusOK, s.withNextRun(j.ID, job.ToScheduleSpec(sc)))
}

// decodeSchedule reads and validates a schedule body; id, if not empty, replaces the body's.
func decodeSchedule(c *gin.Context, id string) (*job.ScheduleSpec, error) {
	raw, err := body(c)
	if err != nil {
		return nil, err
	}
	spec, err := job.DecodeScheduleSpec(raw)
	if err != nil {
		return nil, err
	}
	if id != "" {
		spec.ID = id
	}
	if err := checkIDLength("/id", spec.ID); err != nil {
		return nil, err
	}
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	return spec, nil
}

// changeSchedules applies change to the job of the URL and stores the result.
func (s *server) changeSchedules(c *gin.Context, change func(j *job.Job) error) error {
	id := c.Param("id")
	s.mu.Lock()
	defer s.mu.Unlock()
	j, ok := s.eng.Job(id)
	if !ok {
		return jobNotFound(id)
	}
	if err := change(j); err != nil {
		return err
	}
	return s.eng.PutJob(c.Request.Context(), j, false)
}

// createSchedule is POST /v1/jobs/{id}/schedules: 201 with the schedule, 409 when the job has
// a schedule with that id.
func (s *server) createSchedule(c *gin.Context) {
	spec, err := decodeSchedule(c, "")
	if err != nil {
		s.fail(c, err)
		return
	}
	err = s.changeSchedules(c, func(j *job.Job) error {
		if _, dup := j.Schedule(spec.ID); dup {
			return newError(http.StatusConflict, "Schedule '%s' already exists", spec.ID)
		}
		j.Schedules = append(j.Schedules, job.FromScheduleSpec(*spec))
		return nil
	})
	if err != nil {
		s.fail(c, err)
		return
	}
	writeJSON(c, http.StatusCreated, s.withNextRun(c.Param("id"), *spec))
}

// updateSchedule is PUT /v1/jobs/{id}/schedules/{sid}: the body replaces the schedule (its id
// is the URL's).
func (s *server) updateSchedule(c *gin.Context) {
	sid := c.Param("sid")
	spec, err := decodeSchedule(c, sid)
	if err != nil {
		s.fail(c, err)
		return
	}
	err = s.changeSchedules(c, func(j *job.Job) error {
		for i, sc := range j.Schedules {
			if sc.ID == sid && sc.IsCron() {
				j.Schedules[i] = job.FromScheduleSpec(*spec)
				return nil
			}
		}
		return scheduleNotFound(sid)
	})
	if err != nil {
		s.fail(c, err)
		return
	}
	writeJSON(c, http.StatusOK, s.withNextRun(c.Param("id"), *spec))
}

// deleteSchedule is DELETE /v1/jobs/{id}/schedules/{sid}: 200 with an empty body.
func (s *server) deleteSchedule(c *gin.Context) {
	sid := c.Param("sid")
	err := s.changeSchedules(c, func(j *job.Job) error {
		for i, sc := range j.Schedules {
			if sc.ID == sid && sc.IsCron() {
				j.Schedules = append(j.Schedules[:i], j.Schedules[i+1:]...)
				return nil
			}
		}
		return scheduleNotFound(sid)
	})
	if err != nil {
		s.fail(c, err)
		return
	}
	c.Status(http.StatusOK)
}
