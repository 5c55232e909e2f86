package job

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"strata/services/jobs/schedule"
)

// chronosNamePattern is Chronos' job name rule (JobUtils.jobNamePattern, matched in full, and
// the "name" entry of its API docs): word characters, blanks, '.', '#' and '-'.
const chronosNamePattern = `^[\w\s.#-]+$`

var chronosNameRE = regexp.MustCompile(chronosNamePattern)

// ValidChronosName reports whether name is a valid Chronos job name.
func ValidChronosName(name string) bool { return chronosNameRE.MatchString(name) }

// ChronosKind is the Chronos endpoint a job arrives through.
type ChronosKind int

// The Chronos endpoints.
const (
	// ChronosAnyKind checks a job hash without an endpoint's rule (a job may then have a schedule
	// and parents at once, as the Chronos view of a Metronome job can).
	ChronosAnyKind ChronosKind = iota
	// ChronosScheduled is POST /v1/scheduler/iso8601: a schedule, no parents.
	ChronosScheduled
	// ChronosDependent is POST /v1/scheduler/dependency: parents, no schedule.
	ChronosDependent
)

// Validate checks a normalized Chronos job for the endpoint it arrived through and returns the
// first violation as a *ChronosError (400) naming the field.
func (c *ChronosJob) Validate(kind ChronosKind) error {
	hasSchedule := c.Schedule != nil && *c.Schedule != ""
	switch kind {
	case ChronosScheduled:
		if !hasSchedule {
			return cerr("schedule", "a scheduled job needs an ISO 8601 schedule")
		}
		if len(c.Parents) > 0 {
			return cerr("parents", "a scheduled job must not have parents; post it to /v1/scheduler/dependency")
		}
	case ChronosDependent:
		if len(c.Parents) == 0 {
			return cerr("parents", "a dependent job needs at least one parent")
		}
		if hasSchedule {
			return cerr("schedule", "a dependent job must not have a schedule; post it to /v1/scheduler/iso8601")
		}
	}
	return c.validateCommon()
}

func cerr(field, format string, args ...any) *ChronosError {
	return &ChronosError{Field: field, Message: fmt.Sprintf(format, args...)}
}

func (c *ChronosJob) validateCommon() error {
	if c.Name == "" {
		return cerr("name", "must not be empty")
	}
	if !chronosNameRE.MatchString(c.Name) {
		return cerr("name", "must match %s", chronosNamePattern)
	}
	hasImage := c.Container != nil && strings.TrimSpace(c.Container.Image) != ""
	if strings.TrimSpace(c.Command) == "" && len(c.Arguments) == 0 && !hasImage {
		return cerr("command", "must not be empty")
	}
	if err := c.validateSchedule(); err != nil {
		return err
	}
	for _, p := range c.Parents {
		switch {
		case p == c.Name:
			return cerr("parents", "a job cannot be its own parent")
		case !chronosNameRE.MatchString(p):
			return cerr("parents", "parent '%s' must match %s", p, chronosNamePattern)
		}
	}
	switch {
	case c.Cpus <= 0:
		return cerr("cpus", "must be greater than 0")
	case c.Mem <= 0:
		return cerr("mem", "must be greater than 0")
	case c.Disk < 0:
		return cerr("disk", "must be 0 or more")
	case c.Retries < RetryUntilDeadline:
		return cerr("retries", "must be 0 or more")
	case c.MaxCompletionTime < 0:
		return cerr("maxCompletionTime", "must be 0 or more (milliseconds; 0 or -1: no limit)")
	case c.SuccessCount < 0 || c.ErrorCount < 0 || c.ErrorsSinceLastSuccess < 0:
		return cerr("successCount", "counters must be 0 or more")
	}
	if _, err := parseChronosTime(c.LastSuccess); err != nil {
		return cerr("lastSuccess", "must be an ISO 8601 timestamp")
	}
	if _, err := parseChronosTime(c.LastError); err != nil {
		return cerr("lastError", "must be an ISO 8601 timestamp")
	}
	if err := c.Container.validate(); err != nil {
		return err
	}
	for i, e := range c.EnvironmentVariables {
		if e.Name == "" || strings.ContainsAny(e.Name, "=\x00") {
			return cerr(fmt.Sprintf("environmentVariables[%d].name", i), "must be a valid environment variable name")
		}
	}
	for i, f := range c.Fetch {
		if strings.TrimSpace(f.URI) == "" {
			return cerr(fmt.Sprintf("fetch[%d].uri", i), "must not be empty")
		}
	}
	for i, con := range c.Constraints {
		if err := validateChronosConstraint(i, con); err != nil {
			return err
		}
	}
	for i := range c.StrataCronSchedules {
		if err := c.StrataCronSchedules[i].Validate(); err != nil {
			var verr *ValidationError
			if errors.As(err, &verr) && len(verr.Details) > 0 {
				d := verr.Details[0]
				return cerr(fmt.Sprintf("strataCronSchedules[%d]%s", i, strings.ReplaceAll(d.Path, "/", ".")), "%s", strings.Join(d.Errors, "; "))
			}
			return cerr(fmt.Sprintf("strataCronSchedules[%d]", i), "%v", err)
		}
	}
	return nil
}

// validateSchedule checks schedule, scheduleTimeZone and epsilon with package schedule.
// "R0//PT0M" (what clients post to unschedule a job) is valid.
func (c *ChronosJob) validateSchedule() error {
	tz := ""
	if c.ScheduleTimeZone != nil {
		tz = *c.ScheduleTimeZone
	}
	if tz != "" {
		if _, err := schedule.LoadLocation(tz); err != nil {
			return cerr("scheduleTimeZone", "%s", fieldMessage(err))
		}
	}
	if c.Schedule != nil && *c.Schedule != "" {
		if _, err := schedule.ParseISO8601(*c.Schedule, tz); err != nil {
			field := fieldOf(err, "schedule")
			if field == "timezone" {
				field = "scheduleTimeZone"
			}
			return cerr(field, "%s", fieldMessage(err))
		}
	}
	if _, err := epsilonSeconds(c.Epsilon); err != nil {
		return cerr("epsilon", "%s", fieldMessage(err))
	}
	return nil
}

// epsilonSeconds converts an ISO 8601 duration into seconds, counting a month as 30 days and a
// year as 365 days (Chronos' epsilon is a Joda Period; only its length matters here).
func epsilonSeconds(s string) (int64, error) {
	years, months, days, d, err := schedule.ParseISO8601Duration(s)
	if err != nil {
		return 0, err
	}
	total := (int64(years)*365+int64(months)*30+int64(days))*86400 + int64(d/time.Second)
	if total < 0 {
		return 0, &schedule.FieldError{Field: "epsilon", Message: "must not be negative"}
	}
	return total, nil
}

func (c *ChronosContainer) validate() error {
	if c == nil {
		return nil
	}
	if strings.TrimSpace(c.Image) == "" {
		return cerr("container.image", "must not be empty")
	}
	if c.Type != ChronosDocker && c.Type != ChronosMesos {
		return cerr("container.type", "must be one of DOCKER, MESOS")
	}
	switch c.Network {
	case ChronosHost, ChronosBridge:
	case ChronosUser:
		if len(c.NetworkInfos) == 0 {
			return cerr("container.networkName", "a USER network needs networkName or networkInfos")
		}
		for i, n := range c.NetworkInfos {
			if n.Name == "" {
				return cerr(fmt.Sprintf("container.networkInfos[%d].name", i), "must not be empty")
			}
		}
	default:
		return cerr("container.network", "must be one of HOST, BRIDGE, USER")
	}
	for i, vol := range c.Volumes {
		if !strings.HasPrefix(vol.ContainerPath, "/") {
			return cerr(fmt.Sprintf("container.volumes[%d].containerPath", i), "must be an absolute path")
		}
		if vol.Mode != VolumeRO && vol.Mode != VolumeRW {
			return cerr(fmt.Sprintf("container.volumes[%d].mode", i), "must be one of RO, RW")
		}
	}
	for i, p := range c.Parameters {
		if p.Key == "" {
			return cerr(fmt.Sprintf("container.parameters[%d].key", i), "must not be empty")
		}
	}
	return nil
}

// validateChronosConstraint checks one [attribute, operator, value] constraint. Chronos silently
// dropped unknown operators; they are rejected here.
func validateChronosConstraint(i int, con []string) error {
	field := fmt.Sprintf("constraints[%d]", i)
	if len(con) != 3 {
		return cerr(field, "must be [attribute, operator, value]")
	}
	if strings.TrimSpace(con[0]) == "" {
		return cerr(field, "the attribute must not be empty")
	}
	switch con[1] {
	case ChronosEquals:
	case ChronosLike, ChronosUnlike:
		if _, err := regexp.Compile("^(?:" + con[2] + ")$"); err != nil {
			return cerr(field, "'%s' is not a valid regular expression: %v", con[2], err)
		}
	default:
		return cerr(field, "operator must be one of EQUALS, LIKE, UNLIKE")
	}
	return nil
}
