package api

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"

	"strata/services/jobs/job"
)

// embedNames are the values ?embed= takes.
var embedNames = []string{"activeRuns", "schedules", "history", "historySummary"}

// embeds reads ?embed= (repeatable, and comma-separated values). An unknown name is a 400.
func embeds(c *gin.Context) (embed, error) {
	var e embed
	for _, v := range c.QueryArray("embed") {
		for _, name := range strings.Split(v, ",") {
			switch strings.TrimSpace(name) {
			case "":
			case "activeRuns":
				e.activeRuns = true
			case "schedules":
				e.schedules = true
			case "history":
				e.history = true
			case "historySummary":
				e.historySummary = true
			default:
				return embed{}, newError(http.StatusBadRequest, "Unknown embed %q. Allowed values: %s",
					strings.TrimSpace(name), strings.Join(embedNames, ", "))
			}
		}
	}
	return e, nil
}

// lookup returns the job of the URL or answers 404.
func (s *server) lookup(c *gin.Context) (*job.Job, bool) {
	id := c.Param("id")
	j, ok := s.eng.Job(id)
	if !ok {
		s.fail(c, jobNotFound(id))
		return nil, false
	}
	return j, true
}

func (s *server) listJobs(c *gin.Context) {
	e, err := embeds(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	out := []jobInfo{}
	for _, j := range s.eng.Jobs() {
		info, err := s.jobInfo(c.Request.Context(), j, e)
		if err != nil {
			s.fail(c, err)
			return
		}
		out = append(out, info)
	}
	writeJSON(c, http.StatusOK, out)
}

func (s *server) getJob(c *gin.Context) {
	e, err := embeds(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	j, ok := s.lookup(c)
	if !ok {
		return
	}
	info, err := s.jobInfo(c.Request.Context(), j, e)
	if err != nil {
		s.fail(c, err)
		return
	}
	writeJSON(c, http.StatusOK, info)
}

// decodeSpec reads a Metronome job body.
func decodeSpec(c *gin.Context) (*job.JobSpec, error) {
	raw, err := body(c)
	if err != nil {
		return nil, err
	}
	return job.DecodeJobSpec(raw)
}

// checkParentsLocked refuses dependencies on jobs that do not exist (Metronome's 422).
func (s *server) checkParentsLocked(j *job.Job) error {
	for i, p := range j.Parents {
		if _, ok := s.eng.Job(p); !ok {
			return invalid(fmt.Sprintf("/dependencies/%d/id", i), "job '%s' does not exist", p)
		}
	}
	return nil
}

// createJob is POST /v1/jobs. Schedules in the body are ignored, as by Metronome: they are
// added with POST /v1/jobs/{id}/schedules (or the whole job is posted to /v0/scheduled-jobs).
func (s *server) createJob(c *gin.Context) {
	spec, err := decodeSpec(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	j, err := job.FromMetronome(*spec, []job.ScheduleSpec{})
	if err != nil {
		s.fail(c, err)
		return
	}
	if err := s.create(c, j); err != nil {
		s.fail(c, err)
		return
	}
	s.answerJob(c, http.StatusCreated, j.ID, embed{})
}

// maxIDLength bounds job and schedule ids: the store keeps them in columns of 255 characters
// (PostgreSQL refuses longer ones), and a job's id is part of its tasks' ids.
const maxIDLength = 255

// checkIDLength refuses an id longer than maxIDLength.
func checkIDLength(path, id string) error {
	if len(id) > maxIDLength {
		return invalid(path, "must be at most %d characters long, got %d", maxIDLength, len(id))
	}
	return nil
}

// checkScheduleIDs refuses schedule ids longer than maxIDLength.
func checkScheduleIDs(j *job.Job) error {
	for i, sc := range j.Schedules {
		if err := checkIDLength(fmt.Sprintf("/schedules/%d/id", i), sc.ID); err != nil {
			return err
		}
	}
	return nil
}

// create stores a new job whose parents exist.
func (s *server) create(c *gin.Context, j *job.Job) error {
	if err := checkIDLength("/id", j.ID); err != nil {
		return err
	}
	if err := checkScheduleIDs(j); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.checkParentsLocked(j); err != nil {
		return err
	}
	return s.eng.PutJob(c.Request.Context(), j, true)
}

// answerJob answers the stored job.
func (s *server) answerJob(c *gin.Context, code int, id string, e embed) {
	stored, ok := s.eng.Job(id)
	if !ok { // deleted in between
		s.fail(c, jobNotFound(id))
		return
	}
	info, err := s.jobInfo(c.Request.Context(), stored, e)
	if err != nil {
		s.fail(c, err)
		return
	}
	writeJSON(c, code, info)
}

// updateJob is PUT /v1/jobs/{id}: the body replaces the job's spec (its id is the URL's); the
// job keeps its schedules, as in Metronome.
func (s *server) updateJob(c *gin.Context) {
	spec, err := decodeSpec(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	spec.Schedules = nil
	s.replace(c, spec, embed{})
}

// replace merges a Metronome spec into the job of the URL and answers the result.
func (s *server) replace(c *gin.Context, spec *job.JobSpec, e embed) {
	id := c.Param("id")
	err := func() error {
		s.mu.Lock()
		defer s.mu.Unlock()
		old, ok := s.eng.Job(id)
		if !ok {
			return jobNotFound(id)
		}
		n, err := job.MergeMetronome(old, *spec)
		if err == nil {
			err = checkScheduleIDs(n)
		}
		if err != nil {
			return err
		}
		if err := s.checkParentsLocked(n); err != nil {
			return err
		}
		return s.eng.PutJob(c.Request.Context(), n, false)
	}()
	if err != nil {
		s.fail(c, err)
		return
	}
	s.answerJob(c, http.StatusOK, id, e)
}

// deleteJob is DELETE /v1/jobs/{id}[?stopCurrentJobRuns=true]: 409 while runs are active unless
// they are to be stopped; the answer is the deleted job.
func (s *server) deleteJob(c *gin.Context) {
	stop, err := boolQuery(c, "stopCurrentJobRuns")
	if err != nil {
		s.fail(c, err)
		return
	}
	j, ok := s.lookup(c)
	if !ok {
		return
	}
	if err := s.delete(c, j.ID, stop); err != nil {
		s.fail(c, err)
		return
	}
	writeJSON(c, http.StatusOK, j.Metronome())
}

// delete deletes a job. A job others depend on is refused before any of its runs is stopped.
func (s *server) delete(c *gin.Context, id string, stopRuns bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var children []string
	for _, x := range s.eng.Jobs() {
		if x.ID != id && slices.Contains(x.Parents, id) {
			children = append(children, x.ID)
		}
	}
	if len(children) > 0 {
		return newError(http.StatusConflict, "Job '%s' cannot be deleted: %s depend on it; change or delete them first",
			id, strings.Join(children, ", "))
	}
	return s.eng.DeleteJob(c.Request.Context(), id, stopRuns)
}

// createScheduledJob is the legacy POST /v0/scheduled-jobs: a job with its schedules embedded.
func (s *server) createScheduledJob(c *gin.Context) {
	spec, err := decodeSpec(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	j, err := job.FromMetronome(*spec, nil)
	if err != nil {
		s.fail(c, err)
		return
	}
	if err := s.create(c, j); err != nil {
		s.fail(c, err)
		return
	}
	s.answerJob(c, http.StatusCreated, j.ID, embed{schedules: true})
}

// updateScheduledJob is the legacy PUT /v0/scheduled-jobs/{id}: the body replaces the job and
// its (cron) schedules; a body without schedules leaves the job with none, as in Metronome.
func (s *server) updateScheduledJob(c *gin.Context) {
	spec, err := decodeSpec(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	if spec.Schedules == nil {
		spec.Schedules = []job.ScheduleSpec{}
	}
	s.replace(c, spec, embed{schedules: true})
}
