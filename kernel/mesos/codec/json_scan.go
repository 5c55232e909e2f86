package codec

import (
	"bytes"
	"unicode/utf16"
	"unicode/utf8"
)

// scanner is a small JSON tokenizer over a byte slice. It validates syntax
// strictly (RFC 8259) and never panics on malformed input; every method
// reports a syntax error instead of reading past the end.
type scanner struct {
	data []byte
	pos  int
}

func (s *scanner) skipWS() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

// peek returns the next non-whitespace byte, or 0 at the end of input.
func (s *scanner) peek() byte {
	s.skipWS()
	if s.pos >= len(s.data) {
		return 0
	}
	return s.data[s.pos]
}

// consume skips whitespace and then c, reporting whether c was there.
func (s *scanner) consume(c byte) bool {
	if s.peek() == c {
		s.pos++
		return true
	}
	return false
}

// literal consumes the keyword lit (true, false, null) if it is next.
func (s *scanner) literal(lit string) bool {
	s.skipWS()
	if len(s.data)-s.pos < len(lit) || string(s.data[s.pos:s.pos+len(lit)]) != lit {
		return false
	}
	end := s.pos + len(lit)
	if end < len(s.data) && isIdentByte(s.data[end]) {
		return false
	}
	s.pos = end
	return true
}

func isIdentByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}

// number consumes a JSON number and returns its text, or ok=false (without
// consuming anything) when the input there is not a valid number.
func (s *scanner) number() (text string, ok bool) {
	s.skipWS()
	end, ok := scanNumber(s.data, s.pos)
	if !ok {
		return "", false
	}
	text = string(s.data[s.pos:end])
	s.pos = end
	return text, true
}

// scanNumber returns the end of the JSON number starting at i.
func scanNumber(d []byte, i int) (int, bool) {
	n := len(d)
	if i < n && d[i] == '-' {
		i++
	}
	switch {
	case i < n && d[i] == '0':
		i++
	case i < n && d[i] >= '1' && d[i] <= '9':
		for i < n && d[i] >= '0' && d[i] <= '9' {
			i++
		}
	default:
		return 0, false
	}
	if i < n && d[i] == '.' {
		i++
		if i >= n || d[i] < '0' || d[i] > '9' {
			return 0, false
		}
		for i < n && d[i] >= '0' && d[i] <= '9' {
			i++
		}
	}
	if i < n && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < n && (d[i] == '+' || d[i] == '-') {
			i++
		}
		if i >= n || d[i] < '0' || d[i] > '9' {
			return 0, false
		}
		for i < n && d[i] >= '0' && d[i] <= '9' {
			i++
		}
	}
	if i < n && (isIdentByte(d[i]) || d[i] == '.' || d[i] == '-' || d[i] == '+') {
		return 0, false
	}
	return i, true
}

// isNumber reports whether s is exactly one JSON number.
func isNumber(s string) bool {
	end, ok := scanNumber([]byte(s), 0)
	return ok && end == len(s)
}

// str consumes a JSON string and returns its decoded value. Invalid UTF-8 is
// replaced by U+FFFD. ok is false on any syntax error.
func (s *scanner) str() (string, bool) {
	b, ok := s.strBytes()
	return string(b), ok
}

// strBytes is str without the final copy: the result may alias the input
// and is only valid until the input changes.
func (s *scanner) strBytes() ([]byte, bool) {
	s.skipWS()
	d := s.data
	if s.pos >= len(d) || d[s.pos] != '"' {
		return nil, false
	}
	i := s.pos + 1
	start := i
	// Fast path: plain ASCII without escapes.
	for i < len(d) {
		c := d[i]
		if c == '"' {
			s.pos = i + 1
			return d[start:i], true
		}
		if c == '\\' || c < 0x20 || c >= utf8.RuneSelf {
			break
		}
		i++
	}
	buf := make([]byte, 0, i-start+16)
	buf = append(buf, d[start:i]...)
	for i < len(d) {
		c := d[i]
		switch {
		case c == '"':
			s.pos = i + 1
			if !utf8.Valid(buf) {
				return bytes.ToValidUTF8(buf, []byte("\uFFFD")), true
			}
			return buf, true
		case c < 0x20:
			return nil, false
		case c != '\\':
			buf = append(buf, c)
			i++
			continue
		}
		// An escape sequence.
		if i+1 >= len(d) {
			return nil, false
		}
		e := d[i+1]
		i += 2
		switch e {
		case '"', '\\', '/':
			buf = append(buf, e)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r, ok := hex4(d, i)
			if !ok {
				return nil, false
			}
			i += 4
			if utf16.IsSurrogate(r) {
				// A high surrogate may be followed by an escaped low one.
				if i+6 <= len(d) && d[i] == '\\' && d[i+1] == 'u' {
					if r2, ok := hex4(d, i+2); ok {
						if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
							i += 6
							r = dec
						}
					}
				}
				if utf16.IsSurrogate(r) {
					r = utf8.RuneError
				}
			}
			buf = utf8.AppendRune(buf, r)
		default:
			return nil, false
		}
	}
	return nil, false
}

func hex4(d []byte, i int) (rune, bool) {
	if i+4 > len(d) {
		return 0, false
	}
	var r rune
	for _, c := range d[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}
