package api

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"strata/services/jobs/job"
	"strata/services/jobs/runs"
	"strata/services/jobs/schedule"
)

// The Chronos API (/v1/scheduler and /scheduler): the same jobs as /v1/jobs, as Chronos job
// hashes (job.ChronosJob). Errors are {"message": "<field>: <what is wrong>", "status": "Bad
// Request"}.

// chronosLookup returns the job named in the URL or answers 404.
func (s *server) chronosLookup(c *gin.Context) (*job.Job, bool) {
	name := c.Param("name")
	j, ok := s.eng.Job(name)
	if !ok {
		s.chronosFail(c, jobNotFound(name))
		return nil, false
	}
	return j, true
}

// chronosList is GET /jobs: every job as a Chronos job hash, with its counters.
func (s *server) chronosList(c *gin.Context) {
	out := []job.ChronosJob{}
	for _, j := range s.eng.Jobs() {
		out = append(out, j.Chronos())
	}
	writeJSON(c, http.StatusOK, out)
}

// chronosSearch is GET /jobs/search?name=&command=&any=[&limit=&offset=]: case-insensitive
// substring matches. name and command must both match when given; any matches the name or the
// command. A job is listed when it passes the name/command filters given, or when any matches
// it. Without limit every match is listed (Chronos stopped at 10).
func (s *server) chronosSearch(c *gin.Context) {
	name, command, anyText := strings.ToLower(c.Query("name")), strings.ToLower(c.Query("command")), strings.ToLower(c.Query("any"))
	limit, err := intQuery(c, "limit", -1)
	if err != nil {
		s.chronosFail(c, err)
		return
	}
	offset, err := intQuery(c, "offset", 0)
	if err != nil {
		s.chronosFail(c, err)
		return
	}
	out := []job.ChronosJob{}
	for _, j := range s.eng.Jobs() {
		n, cmd := strings.ToLower(j.ID), strings.ToLower(j.Run.Cmd)
		filtered := name != "" || command != ""
		pass := (name == "" || strings.Contains(n, name)) && (command == "" || strings.Contains(cmd, command))
		anyHit := anyText != "" && (strings.Contains(n, anyText) || strings.Contains(cmd, anyText))
		switch {
		case filtered && pass, anyHit:
		case !filtered && anyText == "":
		default:
			continue
		}
		out = append(out, j.Chronos())
	}
	if offset > len(out) {
		offset = len(out)
	}
	out = out[offset:]
	if limit >= 0 && limit < len(out) {
		out = out[:limit]
	}
	writeJSON(c, http.StatusOK, out)
}

// intQuery reads a non-negative integer query parameter.
func intQuery(c *gin.Context, name string, def int) (int, error) {
	v, ok := c.GetQuery(name)
	if !ok || strings.TrimSpace(v) == "" {
		return def, nil
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 0 {
		return 0, &job.ChronosError{Field: name, Message: fmt.Sprintf("must be an integer of 0 or more, got %q", v)}
	}
	return n, nil
}

// jobSummary is one entry of GET /jobs/summary.
type jobSummary struct {
	Name     string   `json:"name"`
	Status   string   `json:"status"`
	State    string   `json:"state"`
	Schedule string   `json:"schedule"`
	Parents  []string `json:"parents"`
	Disabled bool     `json:"disabled"`
}

// lastState is Chronos' status of a job: how its last run ended.
func lastState(j *job.Job) string {
	switch {
	case j.LastSuccess.IsZero() && j.LastError.IsZero():
		return "fresh"
	case j.LastError.IsZero() || j.LastSuccess.After(j.LastError):
		return "success"
	}
	return "failure"
}

// runState is Chronos' state of a job: idle, queued (a run waits for its task) or "N running".
func (s *server) runState(jobID string) string {
	running, queued := 0, 0
	for _, r := range s.eng.ActiveRuns(jobID) {
		if r.Status == runs.Initial {
			queued++
		} else {
			running++
		}
	}
	switch {
	case running > 0:
		return strconv.Itoa(running) + " running"
	case queued > 0:
		return "queued"
	}
	return "idle"
}

// chronosSummary is GET /jobs/summary: {jobs: [{name, status, state, schedule, parents,
// disabled}]}.
func (s *server) chronosSummary(c *gin.Context) {
	out := []jobSummary{}
	for _, j := range s.eng.Jobs() {
		sum := jobSummary{Name: j.ID, Status: lastState(j), State: s.runState(j.ID), Parents: j.Parents, Disabled: j.Disabled}
		if iso, ok := j.ISOSchedule(); ok {
			sum.Schedule = iso.ISO8601
		}
		if sum.Parents == nil {
			sum.Parents = []string{}
		}
		out = append(out, sum)
	}
	writeJSON(c, http.StatusOK, gin.H{"jobs": out})
}

func (s *server) chronosGet(c *gin.Context) {
	j, ok := s.chronosLookup(c)
	if !ok {
		return
	}
	writeJSON(c, http.StatusOK, j.Chronos())
}

// chronosPost is POST /iso8601 (a scheduled job) and POST /dependency (a dependent job, whose
// parents must exist): create, or replace the job of that name (its counters stay). 204.
func (s *server) chronosPost(c *gin.Context, kind job.ChronosKind) {
	raw, err := body(c)
	if err != nil {
		s.chronosFail(c, err)
		return
	}
	cj, err := job.DecodeChronosJob(raw)
	if err == nil {
		err = cj.Validate(kind)
	}
	if err == nil {
		err = s.putChronos(c, cj)
	}
	if err != nil {
		s.chronosFail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

func (s *server) putChronos(c *gin.Context, cj *job.ChronosJob) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range cj.Parents {
		if _, ok := s.eng.Job(p); !ok {
			return &job.ChronosError{Field: "parents", Message: fmt.Sprintf("parent '%s' does not exist", p)}
		}
	}
	old, exists := s.eng.Job(cj.Name)
	if !exists && len(cj.Name) > maxIDLength {
		return &job.ChronosError{Field: "name", Message: fmt.Sprintf("must be at most %d characters long, got %d", maxIDLength, len(cj.Name))}
	}
	for i, sc := range cj.StrataCronSchedules {
		if len(sc.ID) > maxIDLength {
			return &job.ChronosError{Field: fmt.Sprintf("strataCronSchedules[%d].id", i), Message: fmt.Sprintf("must be at most %d characters long", maxIDLength)}
		}
	}
	s.concreteStart(cj, old)
	var (
		j   *job.Job
		err error
	)
	if exists {
		j, err = job.MergeChronos(old, *cj)
	} else {
		j, err = job.FromChronos(*cj)
	}
	if err != nil {
		return err
	}
	return s.eng.PutJob(c.Request.Context(), j, !exists)
}

// chronosStartFormat writes a schedule start with milliseconds and the zone's offset.
const chronosStartFormat = "2006-01-02T15:04:05.000Z07:00"

// concreteStart replaces an empty start ("R//PT1H": from now) by the current time, so that the
// stored schedule means what it meant when it was posted (the engine would read "now" again on
// every restart). A job re-posted with the same repetitions, period and zone keeps the start it
// has, so that configuration tools posting the same hash over and over do not push its ticks
// back each time.
func (s *server) concreteStart(cj *job.ChronosJob, old *job.Job) {
	if cj.Schedule == nil {
		return
	}
	parts := strings.Split(*cj.Schedule, "/")
	if len(parts) != 3 || strings.TrimSpace(parts[1]) != "" {
		return
	}
	tz := ""
	if cj.ScheduleTimeZone != nil {
		tz = *cj.ScheduleTimeZone
	}
	if old != nil {
		if iso, ok := old.ISOSchedule(); ok && iso.Timezone == tz {
			op := strings.Split(iso.ISO8601, "/")
			if len(op) == 3 && op[1] != "" && op[0] == parts[0] && op[2] == parts[2] {
				kept := iso.ISO8601
				cj.Schedule = &kept
				return
			}
		}
	}
	loc := time.UTC
	if tz != "" {
		if l, err := schedule.LoadLocation(tz); err == nil {
			loc = l
		}
	}
	parts[1] = s.now().In(loc).Format(chronosStartFormat)
	concrete := strings.Join(parts, "/")
	cj.Schedule = &concrete
}

// shellUnsafe are the characters refused in the run-time arguments of a shell job: they are
// appended to its command line.
const shellUnsafe = ";&|`$<>()\\'\"\n\r\x00"

// chronosArguments reads ?arguments=: each value is split at blanks, as Chronos does ("-a 1 -b
// 2"), and the parameter may repeat. A shell job's arguments must be plain words.
func chronosArguments(c *gin.Context, j *job.Job) ([]string, error) {
	q, err := url.ParseQuery(c.Request.URL.RawQuery)
	if err != nil { // e.g. a raw ';', which would otherwise be dropped silently
		return nil, &job.ChronosError{Field: "arguments", Message: "the query string does not parse: " + err.Error()}
	}
	var args []string
	for _, v := range q["arguments"] {
		args = append(args, strings.Fields(v)...)
	}
	for _, a := range args {
		bad := "\x00"
		if j.Run.Shell {
			bad = shellUnsafe
		}
		if strings.ContainsAny(a, bad) {
			return nil, &job.ChronosError{Field: "arguments", Message: fmt.Sprintf(
				"%q holds a character a shell would interpret (one of %q); the arguments of a shell job are appended to its command", a, shellUnsafe)}
		}
	}
	return args, nil
}

// chronosTrigger is PUT /job/{name}[?arguments=...]: run the job now (204). The arguments are
// appended to its command.
func (s *server) chronosTrigger(c *gin.Context) {
	j, ok := s.chronosLookup(c)
	if !ok {
		return
	}
	args, err := chronosArguments(c, j)
	if err == nil && j.Disabled {
		err = newError(http.StatusConflict, "Job '%s' is disabled", j.ID)
	}
	if err == nil {
		_, err = s.eng.StartRun(c.Request.Context(), j.ID, runs.TriggerManual, args)
	}
	if err != nil {
		s.chronosFail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// chronosDelete is DELETE /job/{name}: its active runs are stopped and the job deleted (204). A
// job others depend on is refused (409): Chronos handed its children its parents or schedule.
func (s *server) chronosDelete(c *gin.Context) {
	j, ok := s.chronosLookup(c)
	if !ok {
		return
	}
	if err := s.delete(c, j.ID, true); err != nil {
		s.chronosFail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// chronosMarkSuccess is PUT /job/success/{name}: count a success and trigger the dependents.
func (s *server) chronosMarkSuccess(c *gin.Context) {
	j, ok := s.chronosLookup(c)
	if !ok {
		return
	}
	if err := s.eng.MarkSuccess(c.Request.Context(), j.ID); err != nil {
		s.chronosFail(c, err)
		return
	}
	c.Data(http.StatusOK, "text/plain; charset=utf-8", []byte(fmt.Sprintf("marked job %s as successful: true", j.ID)))
}

// chronosKill is DELETE /task/kill/{name}: stop every active run of the job (204).
func (s *server) chronosKill(c *gin.Context) {
	j, ok := s.chronosLookup(c)
	if !ok {
		return
	}
	if err := s.eng.StopAll(c.Request.Context(), j.ID); err != nil {
		s.chronosFail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}
