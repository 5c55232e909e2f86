package job

import (
	"strconv"
	"strings"
)

// dowNames maps day-of-week names to their numbers (SUN = 0).
var dowNames = map[string]int{"SUN": 0, "MON": 1, "TUE": 2, "WED": 3, "THU": 4, "FRI": 5, "SAT": 6}

// NormalizeCron rewrites a Metronome cron expression for a parser that only knows days of the
// week 0–6 (robfig/cron): Metronome (cron-utils with withIntMapping(7, 0)) also accepts 7 for
// Sunday. A day-of-week value 7 becomes 0, in single values ("7", "7L", "7#2") and in ranges and
// lists ("5-7" → "5,6,0", "1,7" → "1,0", "1-7/2" → "1,3,5,0", "0-7" → "0-6"). A whole-week range
// stays a list, never "*": with a restricted day of the month, "*" would change which days match.
//
// The day-of-week field is the last one, as schedule.ParseCron reads expressions: 5 fields, or 6
// with a leading seconds field. (Metronome's optional 6th field is a year; package schedule does
// not support it and rejects such expressions.) Expressions without a 7 in that field,
// descriptors such as "@daily" and expressions of other lengths are returned unchanged.
func NormalizeCron(expr string) string {
	fields := strings.Fields(expr)
	if len(fields) != 5 && len(fields) != 6 {
		return expr
	}
	last := len(fields) - 1
	dow := fields[last]
	if !strings.Contains(dow, "7") {
		return expr
	}
	items := strings.Split(dow, ",")
	out := make([]string, 0, len(items))
	changed := false
	for _, item := range items {
		norm := normalizeDOWItem(item)
		if norm != item {
			changed = true
		}
		out = append(out, norm)
	}
	if !changed {
		return expr
	}
	fields[last] = joinDedup(out)
	return strings.Join(fields, " ")
}

// normalizeDOWItem rewrites one list item of the day-of-week field.
func normalizeDOWItem(item string) string {
	switch {
	case item == "7":
		return "0"
	case strings.HasPrefix(item, "7#"), strings.HasPrefix(item, "7L"):
		return "0" + item[1:]
	}
	rng, step, hasStep := strings.Cut(item, "/")
	lo, hi, isRange := strings.Cut(rng, "-")
	if !isRange {
		return item
	}
	from, ok1 := dowValue(lo)
	to, ok2 := dowValue(hi)
	if !ok1 || !ok2 || to != 7 || from > to {
		return item
	}
	every := 1
	if hasStep {
		n, err := strconv.Atoi(step)
		if err != nil || n <= 0 {
			return item
		}
		every = n
	}
	if every == 1 && from <= 1 {
		return "0-6"
	}
	var days []string
	for d := from; d <= to; d += every {
		days = append(days, strconv.Itoa(d%7))
	}
	return joinDedup(days)
}

// dowValue reads a day-of-week number (0–7) or name.
func dowValue(s string) (int, bool) {
	if n, ok := dowNames[strings.ToUpper(s)]; ok {
		return n, true
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > 7 {
		return 0, false
	}
	return n, true
}

// joinDedup joins list items with commas, dropping repeated ones.
func joinDedup(items []string) string {
	var parts []string
	seen := map[string]bool{}
	for _, it := range items {
		for _, p := range strings.Split(it, ",") {
			if !seen[p] {
				seen[p] = true
				parts = append(parts, p)
			}
		}
	}
	return strings.Join(parts, ",")
}
