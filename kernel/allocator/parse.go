package allocator

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// ErrSyntax is wrapped by all parse errors.
var ErrSyntax = errors.New("syntax error")

// ParseResources parses the agent --resources text format:
//
//	cpus:8;mem:16384;disk:100000;ports:[31000-32000,33000-33100];cpus(ops):2;zones:{a,b}
//
// Entries are separated by ';'. "name(role):value" reserves for role
// ("*" is unreserved). A value in [..] is RANGES, in {..} a SET, anything
// else a SCALAR. Repeated entries add up. Well-known names must have their
// usual kind (cpus, mem, disk and gpus scalars; ports ranges).
func ParseResources(s string) (Resources, error) {
	var r Resources
	kinds := map[string]Kind{}
	for entry := range strings.SplitSeq(s, ";") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		name, role, value, err := splitEntry(entry)
		if err != nil {
			return Resources{}, err
		}
		var kind Kind
		switch {
		case strings.HasPrefix(value, "["):
			kind = Ranges
			rs, err := parseRanges(value)
			if err != nil {
				return Resources{}, fmt.Errorf("allocator: parse resources: %q: %w", entry, err)
			}
			r.AddRanges(role, name, rs...)
		case strings.HasPrefix(value, "{"):
			kind = Set
			items, err := parseSet(value)
			if err != nil {
				return Resources{}, fmt.Errorf("allocator: parse resources: %q: %w", entry, err)
			}
			r.AddSet(role, name, items...)
		default:
			kind = Scalar
			v, err := parseScalar(value)
			if err != nil {
				return Resources{}, fmt.Errorf("allocator: parse resources: %q: %w", entry, err)
			}
			r.AddScalar(role, name, v)
		}
		if want, ok := wellKnownKind(name); ok && want != kind {
			return Resources{}, fmt.Errorf("allocator: parse resources: %q: %s has the wrong type: %w", entry, name, ErrSyntax)
		}
		if prev, ok := kinds[name]; ok && prev != kind {
			return Resources{}, fmt.Errorf("allocator: parse resources: %q: %s used with two types: %w", entry, name, ErrSyntax)
		}
		kinds[name] = kind
	}
	return r, nil
}

func wellKnownKind(name string) (Kind, bool) {
	switch name {
	case Cpus, Mem, Disk, Gpus:
		return Scalar, true
	case Ports:
		return Ranges, true
	}
	return 0, false
}

// splitEntry splits "name(role):value".
func splitEntry(entry string) (name, role, value string, err error) {
	colon := strings.IndexByte(entry, ':')
	if colon < 0 {
		return "", "", "", fmt.Errorf("allocator: parse resources: %q: missing ':': %w", entry, ErrSyntax)
	}
	head, value := strings.TrimSpace(entry[:colon]), strings.TrimSpace(entry[colon+1:])
	name, role = head, Unreserved
	if open := strings.IndexByte(head, '('); open >= 0 {
		if !strings.HasSuffix(head, ")") {
			return "", "", "", fmt.Errorf("allocator: parse resources: %q: unbalanced '(': %w", entry, ErrSyntax)
		}
		name, role = strings.TrimSpace(head[:open]), strings.TrimSpace(head[open+1:len(head)-1])
		if err := validRole(role); err != nil {
			return "", "", "", fmt.Errorf("allocator: parse resources: %q: %w", entry, err)
		}
	}
	if name == "" || strings.ContainsAny(name, "()[]{},;: \t") {
		return "", "", "", fmt.Errorf("allocator: parse resources: %q: bad name: %w", entry, ErrSyntax)
	}
	if value == "" {
		return "", "", "", fmt.Errorf("allocator: parse resources: %q: empty value: %w", entry, ErrSyntax)
	}
	return name, role, value, nil
}

// validRole checks a role name the way Mesos does: "*" or non-empty
// '/'-separated components without '.', '..', whitespace, control
// characters, '(' ')' or a leading '-'.
func validRole(role string) error {
	if role == Unreserved {
		return nil
	}
	if role == "" {
		return fmt.Errorf("empty role: %w", ErrSyntax)
	}
	for part := range strings.SplitSeq(role, "/") {
		if part == "" || part == "." || part == ".." || part == Unreserved || strings.HasPrefix(part, "-") {
			return fmt.Errorf("invalid role %q: %w", role, ErrSyntax)
		}
		for _, c := range part {
			if c <= ' ' || c == 0x7f || strings.ContainsRune("()[]{},;:\\", c) {
				return fmt.Errorf("invalid role %q: %w", role, ErrSyntax)
			}
		}
	}
	return nil
}

func parseScalar(s string) (float64, error) {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("scalar %q: %w", s, ErrSyntax)
	}
	if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 || v > 1e15 {
		return 0, fmt.Errorf("scalar %q out of range: %w", s, ErrSyntax)
	}
	return v, nil
}

func parseRanges(s string) ([]Range, error) {
	if !strings.HasSuffix(s, "]") {
		return nil, fmt.Errorf("ranges %q: missing ']': %w", s, ErrSyntax)
	}
	body := strings.TrimSpace(s[1 : len(s)-1])
	if body == "" {
		return nil, nil
	}
	var out []Range
	for part := range strings.SplitSeq(body, ",") {
		part = strings.TrimSpace(part)
		lo, hi, ok := strings.Cut(part, "-")
		if !ok {
			lo, hi = part, part
		}
		b, err1 := strconv.ParseUint(strings.TrimSpace(lo), 10, 64)
		e, err2 := strconv.ParseUint(strings.TrimSpace(hi), 10, 64)
		if err1 != nil || err2 != nil || b > e {
			return nil, fmt.Errorf("range %q: %w", part, ErrSyntax)
		}
		out = append(out, Range{b, e})
	}
	return out, nil
}

func parseSet(s string) ([]string, error) {
	if !strings.HasSuffix(s, "}") {
		return nil, fmt.Errorf("set %q: missing '}': %w", s, ErrSyntax)
	}
	body := s[1 : len(s)-1]
	var out []string
	for item := range strings.SplitSeq(body, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out, nil
}

// ParseQuantities parses "cpus:0.01;mem:32". Values must be non-negative
// numbers; for RANGES or SET names they count elements.
func ParseQuantities(s string) (Quantities, error) {
	var q Quantities
	for entry := range strings.SplitSeq(s, ";") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		name, value, ok := strings.Cut(entry, ":")
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		if !ok || name == "" || strings.ContainsAny(name, "()[]{},") {
			return Quantities{}, fmt.Errorf("allocator: parse quantities: %q: %w", entry, ErrSyntax)
		}
		v, err := parseScalar(value)
		if err != nil {
			return Quantities{}, fmt.Errorf("allocator: parse quantities: %q: %w", entry, err)
		}
		q.add(name, Milli(v))
	}
	return q, nil
}

// ParseMinAllocatable parses the --min_allocatable_resources syntax: a
// '|'-separated list of quantity sets, e.g. "cpus:0.01|mem:32". An offer
// is allocatable when it contains at least one of the sets.
func ParseMinAllocatable(s string) ([]Quantities, error) {
	out := []Quantities{}
	for alt := range strings.SplitSeq(s, "|") {
		if strings.TrimSpace(alt) == "" {
			continue
		}
		q, err := ParseQuantities(alt)
		if err != nil {
			return nil, err
		}
		out = append(out, q)
	}
	return out, nil
}

// MustParseResources is ParseResources for constants and tests; it panics
// on error.
func MustParseResources(s string) Resources {
	r, err := ParseResources(s)
	if err != nil {
		panic(err)
	}
	return r
}
