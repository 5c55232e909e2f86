package job

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
)

// Detail is one entry of Metronome's error details: the JSON path of the offending field (a
// JSON-pointer-like path such as "/run/mem" or "/schedules/0/timezone") and what is wrong with it.
type Detail struct {
	Path   string   `json:"path"`
	Errors []string `json:"errors"`
}

// ErrorBody is Metronome's error answer body.
type ErrorBody struct {
	Message string   `json:"message"`
	Details []Detail `json:"details,omitempty"`
}

// InvalidJSONError is a body that is not JSON, or not a JSON object (HTTP 400).
type InvalidJSONError struct{ Err error }

func (e *InvalidJSONError) Error() string { return "job: invalid JSON: " + e.Err.Error() }
func (e *InvalidJSONError) Unwrap() error { return e.Err }

// Body is the error in Metronome's format.
func (e *InvalidJSONError) Body() ErrorBody {
	return ErrorBody{Message: "Invalid JSON", Details: []Detail{{Path: "/", Errors: []string{e.Err.Error()}}}}
}

// ValidationError is a Metronome object that does not validate (HTTP 422 "Object is not valid").
type ValidationError struct {
	Details []Detail
}

func (e *ValidationError) Error() string {
	parts := make([]string, 0, len(e.Details))
	for _, d := range e.Details {
		parts = append(parts, d.Path+": "+strings.Join(d.Errors, "; "))
	}
	return "job: object is not valid: " + strings.Join(parts, ", ")
}

// Body is the error in Metronome's format:
// {"message":"Object is not valid","details":[{"path":"/run/mem","errors":["..."]}]}.
func (e *ValidationError) Body() ErrorBody {
	return ErrorBody{Message: "Object is not valid", Details: e.Details}
}

// ChronosError is a Chronos job that Chronos would refuse (HTTP 400). Field names the offending
// job field ("name", "schedule", "epsilon", "container.image", ...).
type ChronosError struct {
	Field   string
	Message string
}

func (e *ChronosError) Error() string { return "job: invalid Chronos job: " + e.Text() }

// Text is the plain-text answer body: the field, then what is wrong with it.
func (e *ChronosError) Text() string { return e.Field + ": " + e.Message }

// CycleError is a set of jobs whose dependencies (Metronome dependencies, Chronos parents)
// form a cycle. Cycle lists the job ids along the cycle, the first id repeated at the end.
type CycleError struct {
	Cycle []string
}

func (e *CycleError) Error() string {
	return "job: dependency cycle: " + strings.Join(e.Cycle, " → ")
}

// violations collects validation errors by path, in the order first seen.
type violations struct {
	order []string
	byKey map[string][]string
}

func (v *violations) add(path, format string, args ...any) {
	if v.byKey == nil {
		v.byKey = map[string][]string{}
	}
	if path == "" {
		path = "/"
	}
	if _, ok := v.byKey[path]; !ok {
		v.order = append(v.order, path)
	}
	v.byKey[path] = append(v.byKey[path], fmt.Sprintf(format, args...))
}

func (v *violations) err() error {
	if len(v.order) == 0 {
		return nil
	}
	out := &ValidationError{}
	for _, p := range v.order {
		out.Details = append(out.Details, Detail{Path: p, Errors: v.byKey[p]})
	}
	return out
}

var errNotObject = errors.New("expected a JSON object")

// decodeError classifies an encoding/json error: syntax errors are InvalidJSONError, a value of
// the wrong type is a ValidationError naming the field in Play JSON's words
// ("error.expected.jsnumber").
func decodeError(err error) error {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		path := "/"
		if typeErr.Field != "" {
			path = "/" + strings.ReplaceAll(typeErr.Field, ".", "/")
		}
		return &ValidationError{Details: []Detail{{Path: path, Errors: []string{expected(typeErr.Type)}}}}
	}
	var syntaxErr *json.SyntaxError
	if errors.As(err, &syntaxErr) || errors.Is(err, errNotObject) {
		return &InvalidJSONError{Err: err}
	}
	var verr *ValidationError
	if errors.As(err, &verr) {
		return verr
	}
	return &ValidationError{Details: []Detail{{Path: "/", Errors: []string{err.Error()}}}}
}

var envValueType = reflect.TypeOf(EnvValue{})

func expected(t reflect.Type) string {
	if t == nil {
		return "error.expected.jsvalue"
	}
	if t == envValueType {
		return "error.expected.jsstring"
	}
	switch t.Kind() {
	case reflect.Float32, reflect.Float64, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32,
		reflect.Int64, reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "error.expected.jsnumber"
	case reflect.String:
		return "error.expected.jsstring"
	case reflect.Bool:
		return "error.expected.jsboolean"
	case reflect.Slice, reflect.Array:
		return "error.expected.jsarray"
	default:
		return "error.expected.jsobject"
	}
}

// sortedKeys returns the keys of m in order, for deterministic output.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
