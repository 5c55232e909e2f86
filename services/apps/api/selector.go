package api

import (
	"fmt"
	"strings"
)

// requirement is one part of a label selector.
type requirement struct {
	key    string
	op     string // "exists", "==", "!=", "in", "notin"
	values []string
}

// selector is Marathon's label selector: comma-separated requirements that must all hold:
// "k" (the label exists), "k==v", "k!=v", "k in (a,b)", "k notin (a,b)". A backslash escapes
// the next character.
type selector []requirement

func (s selector) matches(labels map[string]string) bool {
	for _, r := range s {
		v, ok := labels[r.key]
		switch r.op {
		case "exists":
			if !ok {
				return false
			}
		case "==":
			if !ok || v != r.values[0] {
				return false
			}
		case "!=":
			if ok && v == r.values[0] {
				return false
			}
		case "in":
			if !ok || !contains(r.values, v) {
				return false
			}
		case "notin":
			if ok && contains(r.values, v) {
				return false
			}
		}
	}
	return true
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// splitTop splits s at sep outside parentheses, honouring backslash escapes.
func splitTop(s string, sep byte) []string {
	var out []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '(':
			depth++
		case ')':
			depth--
		case sep:
			if depth == 0 {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	return append(out, s[start:])
}

func unescape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return strings.TrimSpace(b.String())
}

func parseSelector(text string) (selector, error) {
	text = strings.TrimSpace(text)
	if text == "" {
		return nil, nil
	}
	var sel selector
	for _, part := range splitTop(text, ',') {
		part = strings.TrimSpace(part)
		if part == "" {
			return nil, fmt.Errorf("empty requirement")
		}
		switch {
		case strings.Contains(part, "=="):
			kv := strings.SplitN(part, "==", 2)
			sel = append(sel, requirement{key: unescape(kv[0]), op: "==", values: []string{unescape(kv[1])}})
		case strings.Contains(part, "!="):
			kv := strings.SplitN(part, "!=", 2)
			sel = append(sel, requirement{key: unescape(kv[0]), op: "!=", values: []string{unescape(kv[1])}})
		case strings.Contains(part, "("):
			open := strings.IndexByte(part, '(')
			if !strings.HasSuffix(part, ")") {
				return nil, fmt.Errorf("%q: missing ')'", part)
			}
			head := strings.Fields(part[:open])
			if len(head) != 2 || (head[1] != "in" && head[1] != "notin") {
				return nil, fmt.Errorf("%q: expected 'key in (...)' or 'key notin (...)'", part)
			}
			var values []string
			for _, v := range splitTop(part[open+1:len(part)-1], ',') {
				values = append(values, unescape(v))
			}
			sel = append(sel, requirement{key: unescape(head[0]), op: head[1], values: values})
		default:
			sel = append(sel, requirement{key: unescape(part), op: "exists"})
		}
	}
	return sel, nil
}
