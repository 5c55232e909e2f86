package ids

import (
	"errors"
	"fmt"
	"strconv"
	"unicode"
	"unicode/utf8"
)

// MaxLength is the longest valid id, in bytes.
const MaxLength = 255

// ErrInvalid is wrapped by every error Validate returns.
var ErrInvalid = errors.New("invalid id")

// Validate reports why id is not a valid Mesos id, or nil.
func Validate(id string) error {
	switch {
	case id == "":
		return fmt.Errorf("%w: empty", ErrInvalid)
	case len(id) > MaxLength:
		return fmt.Errorf("%w: %d bytes long, at most %d allowed", ErrInvalid, len(id), MaxLength)
	case id == "." || id == "..":
		return fmt.Errorf("%w: %q", ErrInvalid, id)
	}
	for i, r := range id {
		switch {
		case r == utf8.RuneError && !validRuneAt(id, i):
			return fmt.Errorf("%w: invalid UTF-8 at byte %d", ErrInvalid, i)
		case unicode.IsControl(r):
			return fmt.Errorf("%w: control character %q at byte %d", ErrInvalid, r, i)
		case r == '/' || r == '\\':
			return fmt.Errorf("%w: %q at byte %d", ErrInvalid, r, i)
		}
	}
	return nil
}

// validRuneAt reports whether the RuneError at i is a real U+FFFD.
func validRuneAt(s string, i int) bool {
	_, size := utf8.DecodeRuneInString(s[i:])
	return size == 3
}

// FrameworkID returns the id of the n-th framework registered with a master.
func FrameworkID(masterID string, n uint64) string {
	return fmt.Sprintf("%s-%04d", masterID, n)
}

// AgentID returns the id of the n-th agent registered with a master.
func AgentID(masterID string, n uint64) string {
	return masterID + "-S" + strconv.FormatUint(n, 10)
}

// OfferID returns the id of the n-th offer made by a master.
func OfferID(masterID string, n uint64) string {
	return masterID + "-O" + strconv.FormatUint(n, 10)
}
