package resources

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"google.golang.org/protobuf/proto"

	"strata/kernel/mesos/codec"
	"strata/kernel/mesos/mesospb"
)

// ErrSyntax is wrapped by parse errors of --resources and --attributes.
var ErrSyntax = errors.New("syntax error")

// Parse parses an agent's --resources value. Two forms are accepted, as by
// Mesos:
//
//   - text: "cpus:4;mem:2048;disk:10000;ports:[31000-32000];gpus:0", where a
//     value is a number, ranges "[b-e, b-e]" or a set "{a,b}", and a name may
//     carry a role, "cpus(ops):2", which reserves it statically;
//   - a JSON array of Resource objects in the Mesos JSON format.
//
// Resources without a role get defaultRole ("" or "*" leaves them
// unreserved). A static reservation is written in both formats: a
// "reservations" stack of one STATIC entry and the legacy "role" field.
// Entries of the same kind are merged ("cpus:1;cpus:2" is cpus:3) and empty
// ones dropped; a name used with two different types is an error, as is any
// invalid resource.
func Parse(text, defaultRole string) ([]*mesospb.Resource, error) {
	if defaultRole == "" {
		defaultRole = Unreserved
	}
	if err := ValidateRole(defaultRole); err != nil {
		return nil, fmt.Errorf("resources: default role: %w", err)
	}
	var (
		list []*mesospb.Resource
		err  error
	)
	if t := strings.TrimSpace(text); strings.HasPrefix(t, "[") {
		list, err = parseJSON(t, defaultRole)
	} else {
		list, err = parseText(text, defaultRole)
	}
	if err != nil {
		return nil, err
	}
	types := make(map[string]mesospb.Value_Type)
	for i, r := range list {
		if err := ValidateResource(r); err != nil {
			return nil, fmt.Errorf("resources: resource %d (%q): %w", i, r.GetName(), err)
		}
		if t, seen := types[r.GetName()]; seen && t != r.GetType() {
			return nil, fmt.Errorf("resources: %q is used with types %v and %v", r.GetName(), t, r.GetType())
		}
		types[r.GetName()] = r.GetType()
		if r.Revocable != nil || IsPersistentVolume(r) || IsDynamicallyReserved(r) {
			return nil, fmt.Errorf("resources: resource %d (%q): revocable resources, persistent volumes and dynamic reservations cannot be configured", i, r.GetName())
		}
	}
	return Merge(list), nil
}

func parseJSON(text, defaultRole string) ([]*mesospb.Resource, error) {
	var raw []json.RawMessage
	if err := json.Unmarshal([]byte(text), &raw); err != nil {
		return nil, fmt.Errorf("resources: %w: JSON: %v", ErrSyntax, err)
	}
	out := make([]*mesospb.Resource, 0, len(raw))
	for i, m := range raw {
		r := &mesospb.Resource{}
		if err := codec.UnmarshalJSON(m, r); err != nil {
			return nil, fmt.Errorf("resources: resource %d: %w", i, err)
		}
		if len(r.Reservations) == 0 && r.Reservation == nil {
			role := defaultRole
			if r.Role != nil { //nolint:staticcheck // legacy wire field
				role = r.GetRole() //nolint:staticcheck // legacy wire field
			}
			r = StaticReservation(r, role)
		}
		out = append(out, r)
	}
	return out, nil
}

func parseText(text, defaultRole string) ([]*mesospb.Resource, error) {
	var out []*mesospb.Resource
	for _, token := range strings.Split(text, ";") {
		if strings.TrimSpace(token) == "" {
			continue
		}
		nameRole, value, ok := strings.Cut(token, ":")
		if !ok {
			return nil, fmt.Errorf("resources: %w: %q: missing ':'", ErrSyntax, strings.TrimSpace(token))
		}
		name, role, err := splitNameRole(nameRole)
		if err != nil {
			return nil, err
		}
		if role == "" {
			role = defaultRole
		}
		if err := ValidateRole(role); err != nil {
			return nil, fmt.Errorf("resources: %q: %w", name, err)
		}
		v, err := ParseValue(value)
		if err != nil {
			return nil, fmt.Errorf("resources: %q: %w", name, err)
		}
		r := &mesospb.Resource{Name: proto.String(name), Type: v.Type}
		switch v.GetType() {
		case mesospb.Value_SCALAR:
			r.Scalar = v.Scalar
		case mesospb.Value_RANGES:
			r.Ranges = v.Ranges
		case mesospb.Value_SET:
			r.Set = v.Set
		default:
			return nil, fmt.Errorf("resources: %q: %w: value %q is not a number, ranges or a set", name, ErrSyntax, strings.TrimSpace(value))
		}
		out = append(out, StaticReservation(r, role))
	}
	return out, nil
}

// splitNameRole splits "name(role)" into its parts; role is "" when absent.
func splitNameRole(s string) (name, role string, err error) {
	s = strings.TrimSpace(s)
	open := strings.IndexByte(s, '(')
	if open < 0 {
		if strings.ContainsRune(s, ')') {
			return "", "", fmt.Errorf("resources: %w: %q: mismatched parentheses", ErrSyntax, s)
		}
		name = s
	} else {
		if !strings.HasSuffix(s, ")") || strings.Count(s, "(") != 1 || strings.Count(s, ")") != 1 {
			return "", "", fmt.Errorf("resources: %w: %q: mismatched parentheses", ErrSyntax, s)
		}
		name = strings.TrimSpace(s[:open])
		role = strings.TrimSpace(s[open+1 : len(s)-1])
		if role == "" {
			return "", "", fmt.Errorf("resources: %w: %q: empty role", ErrSyntax, s)
		}
	}
	if name == "" {
		return "", "", fmt.Errorf("resources: %w: empty resource name", ErrSyntax)
	}
	return name, role, nil
}

// ParseValue parses a value in Mesos text syntax: ranges "[1-5, 10-20]"
// (coalesced), a set "{a, b}", a number (SCALAR), or anything else as TEXT.
// Surrounding whitespace is ignored; an empty value is an error.
func ParseValue(text string) (*mesospb.Value, error) {
	t := strings.TrimSpace(text)
	switch {
	case t == "":
		return nil, fmt.Errorf("%w: empty value", ErrSyntax)
	case t[0] == '[':
		if t[len(t)-1] != ']' || strings.ContainsAny(t[1:len(t)-1], "[]{}") {
			return nil, fmt.Errorf("%w: %q: mismatched brackets", ErrSyntax, t)
		}
		var rs []Range
		for _, part := range strings.Split(t[1:len(t)-1], ",") {
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			b, e, ok := strings.Cut(part, "-")
			if !ok {
				return nil, fmt.Errorf("%w: range %q: expected begin-end", ErrSyntax, part)
			}
			begin, err1 := strconv.ParseUint(strings.TrimSpace(b), 10, 64)
			end, err2 := strconv.ParseUint(strings.TrimSpace(e), 10, 64)
			if err1 != nil || err2 != nil {
				return nil, fmt.Errorf("%w: range %q: expected non-negative integers", ErrSyntax, part)
			}
			if begin > end {
				return nil, fmt.Errorf("%w: range %q: begin > end", ErrSyntax, part)
			}
			rs = append(rs, Range{begin, end})
		}
		return &mesospb.Value{Type: mesospb.Value_RANGES.Enum(), Ranges: RangesToProto(CoalesceRanges(rs))}, nil
	case t[0] == '{':
		if t[len(t)-1] != '}' || strings.ContainsAny(t[1:len(t)-1], "[]{}") {
			return nil, fmt.Errorf("%w: %q: mismatched braces", ErrSyntax, t)
		}
		set := &mesospb.Value_Set{}
		for _, item := range strings.Split(t[1:len(t)-1], ",") {
			if item = strings.TrimSpace(item); item != "" {
				set.Item = append(set.Item, item)
			}
		}
		return &mesospb.Value{Type: mesospb.Value_SET.Enum(), Set: set}, nil
	case strings.ContainsAny(t, "[]{}"):
		return nil, fmt.Errorf("%w: %q: unexpected bracket", ErrSyntax, t)
	}
	if isDecimal(t) {
		if f, err := strconv.ParseFloat(t, 64); err == nil {
			return &mesospb.Value{Type: mesospb.Value_SCALAR.Enum(), Scalar: &mesospb.Value_Scalar{Value: proto.Float64(f)}}, nil
		}
	}
	return &mesospb.Value{Type: mesospb.Value_TEXT.Enum(), Text: &mesospb.Value_Text{Value: proto.String(t)}}, nil
}

// isDecimal reports whether s looks like a decimal number (no hex, no
// "inf"/"nan" words, no digit separators).
func isDecimal(s string) bool {
	digits := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			digits = true
		case c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-':
		default:
			return false
		}
	}
	return digits
}

// ParseAttributes parses an agent's --attributes value, such as
// "rack:r1;zone:us-east;cores:4;ports:[1-2];tags:{a,b}". Each value is typed
// by its syntax (see ParseValue): TEXT, SCALAR, RANGES or SET. Attribute
// names must be non-empty; order is kept and duplicates are allowed.
func ParseAttributes(text string) ([]*mesospb.Attribute, error) {
	var out []*mesospb.Attribute
	for _, token := range strings.Split(text, ";") {
		if strings.TrimSpace(token) == "" {
			continue
		}
		name, value, ok := strings.Cut(token, ":")
		if !ok {
			return nil, fmt.Errorf("attributes: %w: %q: missing ':'", ErrSyntax, strings.TrimSpace(token))
		}
		name = strings.TrimSpace(name)
		if name == "" {
			return nil, fmt.Errorf("attributes: %w: empty attribute name", ErrSyntax)
		}
		v, err := ParseValue(value)
		if err != nil {
			return nil, fmt.Errorf("attributes: %q: %w", name, err)
		}
		out = append(out, &mesospb.Attribute{
			Name:   proto.String(name),
			Type:   v.Type,
			Scalar: v.Scalar,
			Ranges: v.Ranges,
			Set:    v.Set,
			Text:   v.Text,
		})
	}
	return out, nil
}
