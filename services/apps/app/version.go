package app

import (
	"fmt"
	"time"
)

// VersionLayout is how versions are written: ISO-8601 in UTC with milliseconds, as Marathon's
// Timestamp prints them ("2017-05-04T12:34:56.789Z").
const VersionLayout = "2006-01-02T15:04:05.000Z"

// FormatVersion writes t as a version.
func FormatVersion(t time.Time) string { return t.UTC().Format(VersionLayout) }

// ParseVersion reads a version; any RFC 3339 timestamp is accepted and read in UTC.
func ParseVersion(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("app: version %q is not an ISO-8601 timestamp: %w", s, err)
	}
	return t.UTC(), nil
}

// NextVersion is the version for a change made at now: now in milliseconds, but always later
// than previous (two changes within one millisecond still get distinct, ordered versions).
func NextVersion(now time.Time, previous string) string {
	now = now.UTC().Truncate(time.Millisecond)
	if previous != "" {
		if p, err := ParseVersion(previous); err == nil && !now.After(p) {
			now = p.Truncate(time.Millisecond).Add(time.Millisecond)
		}
	}
	return FormatVersion(now)
}

// SetVersion stamps a with version v. A scaling change (config unchanged from previous) keeps
// lastConfigChangeAt; any other change, and a new app, moves it to v. lastScalingAt always
// moves to v.
func (a *App) SetVersion(v string, previous *App) {
	a.Version = v
	configAt := v
	if previous != nil && SameConfig(a, previous) {
		configAt = previous.ConfigVersion()
	}
	a.VersionInfo = &VersionInfo{LastScalingAt: v, LastConfigChangeAt: configAt}
}
