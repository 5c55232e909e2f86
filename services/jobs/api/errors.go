package api

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"strata/services/jobs/engine"
	"strata/services/jobs/job"
)

// maxBody bounds request bodies.
const maxBody = 8 << 20

// apiError is an answer with a status code and a message.
type apiError struct {
	code int
	msg  string
}

func (e *apiError) Error() string { return e.msg }

func newError(code int, format string, args ...any) error {
	return &apiError{code: code, msg: fmt.Sprintf(format, args...)}
}

// Metronome's messages.
func jobNotFound(id string) error {
	return &notFoundError{kind: "Job", id: id}
}

func scheduleNotFound(id string) error {
	return &notFoundError{kind: "Schedule", id: id}
}

func runNotFound(id string) error {
	return &notFoundError{kind: "JobRun", id: id}
}

// notFoundError is Metronome's 404: {"id": "x", "message": "Job 'x' does not exist"} (the
// message of Metronome's API documentation, the id field of its implementation).
type notFoundError struct{ kind, id string }

func (e *notFoundError) Error() string { return fmt.Sprintf("%s '%s' does not exist", e.kind, e.id) }

// invalid is a Metronome 422 for one field.
func invalid(path, format string, args ...any) error {
	return &job.ValidationError{Details: []job.Detail{{Path: path, Errors: []string{fmt.Sprintf(format, args...)}}}}
}

// message answers {"message": msg}.
func message(c *gin.Context, code int, msg string) {
	abortJSON(c, code, gin.H{"message": msg})
}

// abortJSON ends the request with v as the answer.
func abortJSON(c *gin.Context, code int, v any) {
	c.Abort()
	c.PureJSON(code, v)
}

// writeJSON answers v as JSON without escaping HTML characters (commands keep their '&').
func writeJSON(c *gin.Context, code int, v any) {
	c.PureJSON(code, v)
}

// fail answers an error of a Metronome endpoint in Metronome's format.
func (s *server) fail(c *gin.Context, err error) {
	var (
		invalidJSON *job.InvalidJSONError
		validation  *job.ValidationError
		cycle       *job.CycleError
		chronosErr  *job.ChronosError
		notFound    *notFoundError
		tooLarge    *http.MaxBytesError
		apiErr      *apiError
	)
	switch {
	case errors.As(err, &invalidJSON):
		abortJSON(c, http.StatusBadRequest, invalidJSON.Body())
	case errors.As(err, &validation):
		abortJSON(c, http.StatusUnprocessableEntity, validation.Body())
	case errors.As(err, &cycle):
		abortJSON(c, http.StatusUnprocessableEntity, job.ErrorBody{Message: "Object is not valid",
			Details: []job.Detail{{Path: "/dependencies", Errors: []string{"dependency cycle: " + strings.Join(cycle.Cycle, " → ")}}}})
	case errors.As(err, &chronosErr):
		abortJSON(c, http.StatusUnprocessableEntity, job.ErrorBody{Message: "Object is not valid",
			Details: []job.Detail{{Path: "/" + strings.ReplaceAll(chronosErr.Field, ".", "/"), Errors: []string{chronosErr.Message}}}})
	case errors.As(err, &notFound):
		abortJSON(c, http.StatusNotFound, gin.H{"id": notFound.id, "message": notFound.Error()})
	case errors.As(err, &tooLarge):
		message(c, http.StatusRequestEntityTooLarge, fmt.Sprintf("Request body larger than %d bytes", tooLarge.Limit))
	case errors.As(err, &apiErr):
		message(c, apiErr.code, apiErr.msg)
	case errors.Is(err, engine.ErrExists):
		message(c, http.StatusConflict, "Job with this id already exists")
	case errors.Is(err, engine.ErrActiveRuns):
		message(c, http.StatusConflict, "There are active job runs. Override with stopCurrentJobRuns=true")
	case errors.Is(err, engine.ErrDependents):
		message(c, http.StatusConflict, strings.TrimPrefix(err.Error(), "engine: "))
	case errors.Is(err, engine.ErrNotFound):
		message(c, http.StatusNotFound, strings.TrimPrefix(err.Error(), "engine: "))
	default:
		s.unavailable(c, err)
	}
}

// unavailable answers a failure that is not the client's: the store or the engine could not do
// it (503, so that clients retry), or it is not ready yet.
func (s *server) unavailable(c *gin.Context, err error) {
	if errors.Is(err, engine.ErrNotReady) {
		message(c, http.StatusServiceUnavailable, err.Error())
		return
	}
	s.log.Error("request failed", "method", c.Request.Method, "path", c.Request.URL.Path, "err", err)
	message(c, http.StatusServiceUnavailable, "the jobs service could not complete the request: "+err.Error())
}

// chronosFail answers an error of a Chronos endpoint in Chronos' format,
// {"message": ..., "status": "Bad Request"}: a 400 for what Chronos refuses, 404 for an unknown
// job (Chronos answered 400), 409 for a conflict.
func (s *server) chronosFail(c *gin.Context, err error) {
	var (
		chronosErr *job.ChronosError
		cycle      *job.CycleError
		validation *job.ValidationError
		invalidJS  *job.InvalidJSONError
		notFound   *notFoundError
		tooLarge   *http.MaxBytesError
		apiErr     *apiError
	)
	switch {
	case errors.As(err, &chronosErr):
		chronosMessage(c, http.StatusBadRequest, chronosErr.Text())
	case errors.As(err, &cycle):
		chronosMessage(c, http.StatusBadRequest, "parents: dependency cycle: "+strings.Join(cycle.Cycle, " → "))
	case errors.As(err, &validation):
		parts := []string{}
		for _, d := range validation.Details {
			parts = append(parts, strings.TrimPrefix(strings.ReplaceAll(d.Path, "/", "."), ".")+": "+strings.Join(d.Errors, "; "))
		}
		chronosMessage(c, http.StatusBadRequest, strings.Join(parts, ", "))
	case errors.As(err, &invalidJS):
		chronosMessage(c, http.StatusBadRequest, "json: "+invalidJS.Err.Error())
	case errors.As(err, &notFound):
		chronosMessage(c, http.StatusNotFound, fmt.Sprintf("Job '%s' not found", notFound.id))
	case errors.As(err, &tooLarge):
		chronosMessage(c, http.StatusRequestEntityTooLarge, fmt.Sprintf("Request body larger than %d bytes", tooLarge.Limit))
	case errors.As(err, &apiErr):
		chronosMessage(c, apiErr.code, apiErr.msg)
	case errors.Is(err, engine.ErrActiveRuns), errors.Is(err, engine.ErrDependents), errors.Is(err, engine.ErrExists):
		chronosMessage(c, http.StatusConflict, strings.TrimPrefix(err.Error(), "engine: "))
	case errors.Is(err, engine.ErrNotFound):
		chronosMessage(c, http.StatusNotFound, strings.TrimPrefix(err.Error(), "engine: "))
	default:
		s.unavailable(c, err)
	}
}

func chronosMessage(c *gin.Context, code int, msg string) {
	abortJSON(c, code, gin.H{"message": msg, "status": http.StatusText(code)})
}

// body reads the request body, at most maxBody bytes.
func body(c *gin.Context) ([]byte, error) {
	return io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, maxBody))
}

// boolQuery reads a boolean query parameter ("true"/"false", "1"/"0"; a bare "?name" is true).
func boolQuery(c *gin.Context, name string) (bool, error) {
	v, ok := c.GetQuery(name)
	if !ok {
		return false, nil
	}
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "", "true", "1", "yes":
		return true, nil
	case "false", "0", "no":
		return false, nil
	}
	return false, newError(http.StatusBadRequest, "Invalid value for query parameter %s: %q (expected true or false)", name, v)
}
