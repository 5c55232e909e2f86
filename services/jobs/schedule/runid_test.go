package schedule

import (
	"regexp"
	"testing"
	"time"
)

var runIDPattern = regexp.MustCompile(`^[0-9]{14}[0-9a-z]{5}$`)

func TestRunID(t *testing.T) {
	ny, _ := LoadLocation("America/New_York")
	tick := time.Date(2016, 6, 14, 9, 38, 13, 0, ny) // 13:38:13 UTC
	id := RunID("prod.backup", tick)
	if !runIDPattern.MatchString(id) {
		t.Fatalf("RunID = %q, want yyyyMMddHHmmss + 5 lowercase alphanumerics", id)
	}
	if id[:14] != "20160614133813" {
		t.Errorf("timestamp part %q is not the tick in UTC", id[:14])
	}
	if again := RunID("prod.backup", tick.UTC()); again != id {
		t.Errorf("not deterministic: %q then %q", id, again)
	}
	seen := map[string]string{id: "base"}
	for name, other := range map[string]string{
		"other job":        RunID("prod.backup2", tick),
		"other tick":       RunID("prod.backup", tick.Add(time.Minute)),
		"other nanosecond": RunID("prod.backup", tick.Add(time.Nanosecond)),
		"manual 0":         ManualRunID("prod.backup", tick, 0),
		"manual 1":         ManualRunID("prod.backup", tick, 1),
	} {
		if !runIDPattern.MatchString(other) {
			t.Errorf("%s: %q malformed", name, other)
		}
		if prev, dup := seen[other]; dup {
			t.Errorf("%s collides with %s: %q", name, prev, other)
		}
		seen[other] = name
	}
	if ManualRunID("prod.backup", tick, 1) != ManualRunID("prod.backup", tick, 1) {
		t.Error("ManualRunID not deterministic")
	}
	// Times outside UnixNano's range still work.
	if id := RunID("j", time.Date(2500, 1, 1, 0, 0, 0, 0, time.UTC)); !runIDPattern.MatchString(id) || id[:4] != "2500" {
		t.Errorf("far future id %q", id)
	}
}

// TestRunIDGolden pins the derivation: ids are persisted, so a change here
// would make a new release re-launch runs an older one already started.
func TestRunIDGolden(t *testing.T) {
	at := time.Date(2016, 6, 14, 13, 38, 13, 0, time.UTC)
	if got := RunID("prod.backup", at); got != "20160614133813zjt2m" {
		t.Errorf("RunID = %q", got)
	}
	if got := ManualRunID("prod.backup", at, 1); got != "20160614133813oe9zd" {
		t.Errorf("ManualRunID = %q", got)
	}
}

// TestRunIDSpread checks that every suffix position uses the whole
// alphabet, and that runs sharing a second (manual runs, sub-second ticks)
// get different ids.
func TestRunIDSpread(t *testing.T) {
	var used [5]map[byte]bool
	for i := range used {
		used[i] = map[byte]bool{}
	}
	ids := map[string]bool{}
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < 1000; i++ {
		id := ManualRunID("job", base, i)
		if ids[id] {
			t.Fatalf("id %q repeated", id)
		}
		ids[id] = true
		for p := 0; p < 5; p++ {
			used[p][id[14+p]] = true
		}
	}
	for p := range used {
		if len(used[p]) != len(runIDAlphabet) {
			t.Errorf("position %d uses %d of %d characters", p, len(used[p]), len(runIDAlphabet))
		}
	}
}
