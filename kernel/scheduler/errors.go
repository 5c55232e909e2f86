package scheduler

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
)

var (
	// ErrNotConnected is returned by calls made while the client holds no
	// live subscription (before the first SUBSCRIBED event, or while it is
	// reconnecting).
	ErrNotConnected = errors.New("scheduler: not connected")

	// ErrFrameworkRemoved is returned by Run when the master reports that the
	// framework has been removed (torn down, or its failover timeout
	// expired). The framework id can never be used again.
	ErrFrameworkRemoved = errors.New("scheduler: framework has been removed")

	// ErrFailedOver is returned by Run when the master reports that another
	// scheduler instance subscribed with the same framework id. Resubscribing
	// would only make the two instances take the framework from each other.
	ErrFailedOver = errors.New("scheduler: framework failed over to another scheduler instance")

	// ErrStop may be wrapped by an error a Handler method returns to make Run
	// stop and return that error. Other handler errors are only logged.
	ErrStop = errors.New("scheduler: stop")

	// ErrAlreadyRunning is returned by Run when another Run of the same
	// Client is in progress.
	ErrAlreadyRunning = errors.New("scheduler: Run already in progress")
)

// maxErrorBody caps how much of a non-2xx answer is kept in a CallError.
const maxErrorBody = 4 << 10

// CallError is a non-2xx answer of the master to a call (or to SUBSCRIBE).
type CallError struct {
	// Call is the call type, e.g. "ACCEPT" or "SUBSCRIBE".
	Call string
	// StatusCode is the HTTP status code, e.g. 400.
	StatusCode int
	// Status is the HTTP status line text, e.g. "400 Bad Request".
	Status string
	// Body is the answer's body text (trimmed, at most 4 KiB).
	Body string
}

func (e *CallError) Error() string {
	status := e.Status
	if status == "" {
		status = fmt.Sprintf("%d %s", e.StatusCode, http.StatusText(e.StatusCode))
	}
	if e.Body == "" {
		return fmt.Sprintf("scheduler: call %s: %s", e.Call, status)
	}
	return fmt.Sprintf("scheduler: call %s: %s: %s", e.Call, status, e.Body)
}

// notSubscribed reports whether the master's answer says that it does not
// consider this client's subscription live, so that resubscribing is the fix.
func (e *CallError) notSubscribed() bool {
	switch e.StatusCode {
	case http.StatusForbidden, http.StatusTemporaryRedirect:
		// 403 is "Framework is not subscribed" or "not connected via HTTP";
		// 307 means the leader moved.
		return true
	case http.StatusBadRequest:
		body := strings.ToLower(e.Body)
		return strings.Contains(body, "not subscribed") ||
			strings.Contains(body, "cannot be found") ||
			strings.Contains(body, "stream id")
	}
	return false
}

// retryable reports whether a failed SUBSCRIBE is worth retrying: the master
// may be electing, recovering or overloaded. Other 4xx answers are permanent
// (invalid FrameworkInfo, failed authentication or authorization).
func (e *CallError) retryable() bool {
	return e.StatusCode >= 500 || e.StatusCode == http.StatusTooManyRequests ||
		e.StatusCode == http.StatusRequestTimeout
}

// permanentError marks an error that must end Run.
type permanentError struct{ err error }

func (p *permanentError) Error() string { return p.err.Error() }
func (p *permanentError) Unwrap() error { return p.err }

func permanent(err error) error { return &permanentError{err: err} }

// classifyErrorEvent maps the message of an ERROR event to the error Run
// ends with, or nil if resubscribing is the right reaction.
func classifyErrorEvent(msg string) error {
	m := strings.ToLower(msg)
	switch {
	case strings.Contains(m, "has been removed"):
		return fmt.Errorf("%w: %s", ErrFrameworkRemoved, msg)
	case strings.Contains(m, "failed over"):
		return fmt.Errorf("%w: %s", ErrFailedOver, msg)
	}
	return nil
}
