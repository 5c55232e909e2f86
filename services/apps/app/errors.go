package app

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
)

var envValueType = reflect.TypeOf(EnvValue{})

// Detail is one entry of Marathon's error details: the JSON path of the offending field and what
// is wrong with it.
type Detail struct {
	Path   string   `json:"path"`
	Errors []string `json:"errors"`
}

// ErrorBody is Marathon's error answer body.
type ErrorBody struct {
	Message string   `json:"message"`
	Details []Detail `json:"details,omitempty"`
}

// InvalidJSONError is a body that is not JSON, or not the JSON value expected (Marathon: 400
// "Invalid JSON").
type InvalidJSONError struct{ Err error }

func (e *InvalidJSONError) Error() string { return "app: invalid JSON: " + e.Err.Error() }
func (e *InvalidJSONError) Unwrap() error { return e.Err }

// Body is the error in Marathon's format.
func (e *InvalidJSONError) Body() ErrorBody {
	return ErrorBody{Message: "Invalid JSON", Details: []Detail{{Path: "/", Errors: []string{e.Err.Error()}}}}
}

// ValidationError is an object that does not validate (Marathon: 422 "Object is not valid").
type ValidationError struct {
	Details []Detail
}

func (e *ValidationError) Error() string {
	parts := make([]string, 0, len(e.Details))
	for _, d := range e.Details {
		parts = append(parts, d.Path+": "+strings.Join(d.Errors, "; "))
	}
	return "app: object is not valid: " + strings.Join(parts, ", ")
}

// Body is the error in Marathon's format.
func (e *ValidationError) Body() ErrorBody {
	return ErrorBody{Message: "Object is not valid", Details: e.Details}
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

// decodeError classifies an encoding/json error: syntax errors are InvalidJSONError, a value of
// the wrong type is a ValidationError naming the field, in Play JSON's words
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
	// Errors from the custom decoders (e.g. an unknown unreachableStrategy string).
	return &ValidationError{Details: []Detail{{Path: "/", Errors: []string{err.Error()}}}}
}

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

// sortedKeys returns the keys of m in order, for deterministic validation output.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
