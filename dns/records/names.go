package records

import (
	"crypto/sha1" //nolint:gosec // Mesos-DNS' canonical task names are defined with SHA-1.
	"encoding/base32"
	"strings"
)

// This file holds the name grammar: label sanitising ("hyphenation"), domain fragments, the
// canonical task label and name validity. Sources: reference/mesos-dns.md §2-§3 and the
// Mesos-DNS labels package's documented behaviour (its test vectors are in names_test.go).

const (
	maxLabelRFC1123 = 63
	maxLabelRFC952  = 24
	maxNameLen      = 254 // presentation form with the trailing dot (253 + ".")
)

// labelFunc turns an arbitrary string into one DNS label ("" if nothing survives).
type labelFunc func(string) string

// LabelRFC1123 sanitises s into a single label the way Mesos-DNS does by default: ASCII
// letters are lower-cased, '.', '_' and '-' become '-', every other character is dropped,
// leading and trailing dashes are trimmed and the result is cut to 63 characters. When the cut
// leaves trailing dashes, the characters trimmed are refilled from the text after the cut
// (Mesos-DNS quirk, kept for compatibility: "hello" + 58 dashes + "f" gives "hellof").
func LabelRFC1123(s string) string { return sanitize(s, maxLabelRFC1123, false) }

// LabelRFC952 is LabelRFC1123 with Mesos-DNS' enforceRFC952 rules: at most 24 characters and
// leading digits are trimmed as well as leading dashes.
func LabelRFC952(s string) string { return sanitize(s, maxLabelRFC952, true) }

// mapLabelByte maps one byte of a name to its label counterpart, or 0 to drop it. Bytes of
// multi-byte UTF-8 sequences are all >= 0x80 and are dropped, which is what mapping runes
// does.
func mapLabelByte(c byte) byte {
	switch {
	case c >= 'A' && c <= 'Z':
		return c + ('a' - 'A')
	case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		return c
	case c == '-' || c == '.' || c == '_':
		return '-'
	}
	return 0
}

func sanitize(s string, maxlen int, trimDigits bool) string {
	if s == "" {
		return ""
	}
	// Fast path: already a clean label.
	if len(s) <= maxlen && cleanLabel(s, trimDigits) {
		return s
	}
	buf := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if c := mapLabelByte(s[i]); c != 0 {
			buf = append(buf, c)
		}
	}
	// Trim the left cutset.
	start := 0
	for start < len(buf) && (buf[start] == '-' || (trimDigits && buf[start] >= '0' && buf[start] <= '9')) {
		start++
	}
	buf = buf[start:]
	size := min(len(buf), maxlen)
	head := size
	for head > 0 && buf[head-1] == '-' {
		head--
	}
	if head == size {
		return string(buf[:size])
	}
	// The cut left trailing dashes: refill from the text after the cut, skipping its
	// leading dashes.
	rest := buf[size:]
	for len(rest) > 0 && rest[0] == '-' {
		rest = rest[1:]
	}
	out := make([]byte, 0, size)
	out = append(out, buf[:head]...)
	out = append(out, rest[:min(len(rest), size-head)]...)
	return string(out)
}

// cleanLabel reports whether s is already the output of sanitize (given it is short enough).
func cleanLabel(s string, trimDigits bool) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	if s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	return !trimDigits || !(s[0] >= '0' && s[0] <= '9')
}

// domainFrag sanitises a dotted name (a framework name) label by label with label, dropping
// the labels that sanitise to nothing; the dots between labels survive
// ("chronos … -2.0.1" keeps ".0.1" under RFC 1123).
func domainFrag(name string, label labelFunc) string {
	var b strings.Builder
	for part := range strings.SplitSeq(name, ".") {
		if l := label(part); l != "" {
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(l)
		}
	}
	return b.String()
}

// zbase32 is the human-oriented base-32 alphabet Mesos-DNS uses for task hashes.
var zbase32 = base32.NewEncoding("ybndrfg8ejkmcpqxot1uwisza345h769").WithPadding(base32.NoPadding)

// taskHash returns the first 5 characters of zbase32(SHA-1(taskID)) ("test" → "iffe9").
func taskHash(taskID string) string {
	sum := sha1.Sum([]byte(taskID)) //nolint:gosec // naming, not security
	var out [8]byte
	zbase32.Encode(out[:], sum[:5]) // 5 bytes → 8 characters; the first 5 match the full encoding
	return string(out[:5])
}

// agentTail returns the last '-'-separated field of an agent ID, lower-cased
// ("…-S1" → "s1"). Strata addition: characters that are not allowed in a label are mapped
// as in sanitising ('.' and '_' → '-', others dropped) so a malformed agent ID cannot change
// the label structure; for Mesos-style IDs ("<uuid>-S<n>") this changes nothing.
func agentTail(agentID string) string {
	tail := agentID[strings.LastIndexByte(agentID, '-')+1:]
	buf := make([]byte, 0, len(tail))
	for i := 0; i < len(tail); i++ {
		if c := mapLabelByte(tail[i]); c != 0 {
			buf = append(buf, c)
		}
	}
	return string(buf)
}

// canonicalLabel builds the per-task unique label T-<hash>-<agenttail>. Strata addition:
// when that label would exceed 63 octets (possible only for long RFC 1123 task names, which
// Mesos-DNS emitted although no DNS message can carry them), the task-name part is cut so the
// label fits, trailing dashes trimmed. t may be a raw DiscoveryInfo name with dots; the suffix
// belongs to its last label.
func canonicalLabel(t, hash, tail string) string {
	suffix := "-" + hash + "-" + tail
	if len(suffix) > maxLabelRFC1123-1 {
		suffix = strings.TrimRight(suffix[:maxLabelRFC1123-1], "-")
	}
	head, last := "", t
	if i := strings.LastIndexByte(t, '.'); i >= 0 {
		head, last = t[:i+1], t[i+1:]
	}
	if len(last)+len(suffix) > maxLabelRFC1123 {
		last = strings.TrimRight(last[:maxLabelRFC1123-len(suffix)], "-")
	}
	return head + last + suffix
}

// rawDiscoveryName returns the DiscoveryInfo name as Mesos-DNS' legacy "raw" variant uses it,
// or "" when it cannot be a DNS name. Strata differences, both because Mesos-DNS' records for
// such names could never be queried: the name is lower-cased (Mesos-DNS lower-cases queries
// but stored the raw name, so upper-case raw names never matched), and names with characters
// outside [A-Za-z0-9._-], empty labels or labels over 63 characters are skipped.
func rawDiscoveryName(name string) string {
	if name == "" || name[0] == '.' || name[len(name)-1] == '.' {
		return ""
	}
	b := []byte(name)
	labelLen := 0
	for i, c := range b {
		switch {
		case c >= 'A' && c <= 'Z':
			b[i] = c + ('a' - 'A')
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '_':
		case c == '.':
			if labelLen == 0 {
				return ""
			}
			labelLen = -1
		default:
			return ""
		}
		labelLen++
		if labelLen > maxLabelRFC1123 {
			return ""
		}
	}
	return string(b)
}

// validName reports whether fqdn (with its trailing dot) can be carried in a DNS message
// and uses only the characters the generator produces: lower-case letters, digits, '-' and
// '_' in labels of 1 to 63 octets, 254 characters at most.
func validName(fqdn string) bool {
	if len(fqdn) < 2 || len(fqdn) > maxNameLen || fqdn[len(fqdn)-1] != '.' {
		return false
	}
	labelLen := 0
	for i := 0; i < len(fqdn); i++ {
		c := fqdn[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '_':
			labelLen++
			if labelLen > maxLabelRFC1123 {
				return false
			}
		case c == '.':
			if labelLen == 0 {
				return false
			}
			labelLen = 0
		default:
			return false
		}
	}
	return true
}
