package app

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// segmentPattern is Marathon's rule for one segment of an app or group id: lowercase letters,
// digits, dashes and dots, where every dot-separated part starts and ends with a letter or digit.
const segmentPattern = `^(([a-z0-9]|[a-z0-9][a-z0-9\-]*[a-z0-9])\.)*([a-z0-9]|[a-z0-9][a-z0-9\-]*[a-z0-9])$`

var segmentRE = regexp.MustCompile(segmentPattern)

// idRuleMessage is the validation message for a malformed id, in Marathon's wording.
var idRuleMessage = "must fully match regular expression '" + segmentPattern[1:len(segmentPattern)-1] + "|(\\.|\\.\\.)'"

// ErrEmptyID is returned for an empty id.
var ErrEmptyID = errors.New("app: empty id")

// ParseID resolves id against the group base ("/" for the root group) and returns its canonical
// absolute form "/a/b/c". Relative ids ("b", "./b", "../b") are resolved as paths; empty
// segments are dropped ("/a//b" is "/a/b"). Every resulting segment must follow Marathon's rule:
// lowercase a-z, 0-9, '-' and '.', each dot-separated part starting and ending with a letter or
// digit. The root itself ("/") is not an app id.
func ParseID(id, base string) (string, error) {
	segs, err := resolve(id, base)
	if err != nil {
		return "", err
	}
	if len(segs) == 0 {
		return "", fmt.Errorf("app: id %q names the root group, not an app", id)
	}
	return "/" + strings.Join(segs, "/"), nil
}

// ParseGroupID is ParseID for group ids, which may name the root group ("/").
func ParseGroupID(id, base string) (string, error) {
	segs, err := resolve(id, base)
	if err != nil {
		return "", err
	}
	return "/" + strings.Join(segs, "/"), nil
}

// resolve resolves id against base into its segments, checking each.
func resolve(id, base string) ([]string, error) {
	id = strings.TrimSpace(id)
	if id == "" {
		return nil, ErrEmptyID
	}
	var segs []string
	if !strings.HasPrefix(id, "/") {
		segs = Segments(base)
	}
	for _, s := range strings.Split(id, "/") {
		switch s {
		case "", ".":
		case "..":
			if len(segs) == 0 {
				return nil, fmt.Errorf("app: id %q: '..' goes above the root", id)
			}
			segs = segs[:len(segs)-1]
		default:
			if !segmentRE.MatchString(s) {
				return nil, fmt.Errorf("app: id %q: segment %q %s", id, s, idRuleMessage)
			}
			segs = append(segs, s)
		}
	}
	return segs, nil
}

// Segments splits an absolute or relative id into its non-empty segments.
func Segments(id string) []string {
	var out []string
	for _, s := range strings.Split(id, "/") {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// Parent is the id of the group holding id ("/" for a top-level app).
func Parent(id string) string {
	segs := Segments(id)
	if len(segs) <= 1 {
		return "/"
	}
	return "/" + strings.Join(segs[:len(segs)-1], "/")
}

// SafePath is id without its leading '/' and with every '/' replaced by '_': the prefix of the
// legacy task id form ("/prod/web" becomes "prod_web"). Ids cannot contain '_', so the mapping
// can be reversed.
func SafePath(id string) string {
	return strings.Join(Segments(id), "_")
}

// Hostname is id as a DNS-friendly name, its segments reversed and joined with dots
// ("/prod/web" becomes "web.prod"): Marathon's TaskInfo.name, which mesos-dns builds names from.
func Hostname(id string) string {
	segs := Segments(id)
	for i, j := 0, len(segs)-1; i < j; i, j = i+1, j-1 {
		segs[i], segs[j] = segs[j], segs[i]
	}
	return strings.Join(segs, ".")
}

// InGroup reports whether id lies under the group (itself excluded); group "/" holds every id.
func InGroup(id, group string) bool {
	g := "/" + strings.Join(Segments(group), "/")
	if g == "/" {
		return true
	}
	return strings.HasPrefix(id, g+"/")
}
