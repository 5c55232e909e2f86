package job

import (
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"strings"
	"time"
)

// Chronos' defaults (docs/docs/api.md "Job Configuration" and JobDeserializer; epsilon is
// --task_epsilon, 60 s).
const (
	DefaultChronosCpus    = 0.1
	DefaultChronosMem     = 128.0
	DefaultChronosDisk    = 256.0
	DefaultChronosRetries = 2
	DefaultEpsilon        = "PT60S"
)

// Chronos container types, network modes and constraint operators.
const (
	ChronosDocker  = "DOCKER"
	ChronosMesos   = "MESOS"
	ChronosHost    = "HOST"
	ChronosBridge  = "BRIDGE"
	ChronosUser    = "USER"
	ChronosEquals  = "EQUALS"
	ChronosLike    = "LIKE"
	ChronosUnlike  = "UNLIKE"
	chronosTimeFmt = "2006-01-02T15:04:05.000Z"
)

// ChronosJob is the Chronos job hash (/v1/scheduler/iso8601, /dependency, /jobs).
//
// Schedule and ScheduleTimeZone are absent (nil) for a dependent job and present for a scheduled
// one; a job with no ISO 8601 schedule and no parents shows schedule "". Numbers and booleans may
// arrive as strings ("0.5", "true"). StrataCronSchedules is a Strata field: the cron schedules of
// a job (which Chronos cannot express) in Metronome's form.
type ChronosJob struct {
	Name                   string            `json:"name"`
	Command                string            `json:"command"`
	Arguments              []string          `json:"arguments"`
	Shell                  bool              `json:"shell"`
	Schedule               *string           `json:"schedule,omitempty"`
	ScheduleTimeZone       *string           `json:"scheduleTimeZone,omitempty"`
	Parents                []string          `json:"parents,omitempty"`
	Epsilon                string            `json:"epsilon"`
	Retries                int               `json:"retries"`
	Owner                  string            `json:"owner"`
	OwnerName              string            `json:"ownerName"`
	Description            string            `json:"description"`
	Async                  bool              `json:"async"`
	Disabled               bool              `json:"disabled"`
	Concurrent             bool              `json:"concurrent"`
	SoftError              bool              `json:"softError"`
	HighPriority           bool              `json:"highPriority"`
	DataJob                bool              `json:"dataProcessingJobType"`
	Cpus                   float64           `json:"cpus"`
	Mem                    float64           `json:"mem"`
	Disk                   float64           `json:"disk"`
	Container              *ChronosContainer `json:"container,omitempty"`
	EnvironmentVariables   []ChronosEnv      `json:"environmentVariables"`
	URIs                   []string          `json:"uris"`
	Fetch                  []ChronosFetch    `json:"fetch"`
	Constraints            [][]string        `json:"constraints"`
	RunAsUser              string            `json:"runAsUser"`
	Executor               string            `json:"executor"`
	ExecutorFlags          string            `json:"executorFlags"`
	TaskInfoData           string            `json:"taskInfoData"`
	MaxCompletionTime      int64             `json:"maxCompletionTime,omitempty"`
	SuccessCount           int64             `json:"successCount"`
	ErrorCount             int64             `json:"errorCount"`
	LastSuccess            string            `json:"lastSuccess"`
	LastError              string            `json:"lastError"`
	ErrorsSinceLastSuccess int64             `json:"errorsSinceLastSuccess"`
	StrataCronSchedules    []ScheduleSpec    `json:"strataCronSchedules,omitempty"`
}

// ChronosContainer is a Chronos job's container.
type ChronosContainer struct {
	Type           string               `json:"type"`
	Image          string               `json:"image"`
	Network        string               `json:"network"`
	NetworkName    string               `json:"networkName,omitempty"`
	NetworkInfos   []ChronosNetworkInfo `json:"networkInfos,omitempty"`
	Volumes        []ChronosVolume      `json:"volumes"`
	ForcePullImage bool                 `json:"forcePullImage"`
	Parameters     []Parameter          `json:"parameters"`
}

// ChronosNetworkInfo is one (USER) network a container joins. Chronos' protocol and portMappings
// are not supported and dropped.
type ChronosNetworkInfo struct {
	Name   string         `json:"name"`
	Labels []ChronosLabel `json:"labels,omitempty"`
}

// ChronosLabel is a key/value pair.
type ChronosLabel struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// ChronosVolume is a volume of a Chronos container.
type ChronosVolume struct {
	ContainerPath string `json:"containerPath"`
	HostPath      string `json:"hostPath,omitempty"`
	Mode          string `json:"mode,omitempty"`
}

// ChronosEnv is one environment variable.
type ChronosEnv struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// ChronosFetch is one URI the Mesos fetcher downloads (Chronos' default: nothing set).
type ChronosFetch struct {
	URI        string `json:"uri"`
	Executable bool   `json:"executable"`
	Cache      bool   `json:"cache"`
	Extract    bool   `json:"extract"`
}

var (
	chronosFloatFields = map[string]bool{"cpus": true, "mem": true, "disk": true}
	chronosIntFields   = map[string]bool{"retries": true, "successCount": true, "errorCount": true,
		"errorsSinceLastSuccess": true, "maxCompletionTime": true}
	chronosBoolFields = map[string]bool{"shell": true, "async": true, "disabled": true, "concurrent": true,
		"softError": true, "highPriority": true, "dataProcessingJobType": true}
)

// UnmarshalJSON reads a job hash as Chronos' Jackson deserializer does: numbers and booleans
// may be strings, null means absent, "dataJob" is accepted for dataProcessingJobType, and absent
// fields take Chronos' defaults (shell true, epsilon PT60S, retries 2, cpus 0.1, mem 128, disk
// 256). Explicit zeros are left for Normalize.
func (c *ChronosJob) UnmarshalJSON(b []byte) error {
	fields, err := flexFields(b, chronosFloatFields, chronosIntFields, chronosBoolFields)
	if err != nil {
		return err
	}
	if v, ok := fields["dataJob"]; ok {
		if _, set := fields["dataProcessingJobType"]; !set {
			if v, err = flexBool("dataJob", v); err != nil {
				return err
			}
			fields["dataProcessingJobType"] = v
		}
	}
	type plain ChronosJob
	p := plain{Shell: true, Epsilon: DefaultEpsilon, Retries: DefaultChronosRetries,
		Cpus: DefaultChronosCpus, Mem: DefaultChronosMem, Disk: DefaultChronosDisk}
	if err := remarshal(fields, &p); err != nil {
		return err
	}
	*c = ChronosJob(p)
	return nil
}

// UnmarshalJSON reads a container, accepting forcePullImage as a string; type defaults to
// DOCKER and network to HOST.
func (c *ChronosContainer) UnmarshalJSON(b []byte) error {
	fields, err := flexFields(b, nil, nil, map[string]bool{"forcePullImage": true})
	if err != nil {
		return err
	}
	type plain ChronosContainer
	p := plain{Type: ChronosDocker, Network: ChronosHost}
	if err := remarshal(fields, &p); err != nil {
		return err
	}
	*c = ChronosContainer(p)
	return nil
}

// flexFields splits an object into its fields, drops nulls and rewrites numbers and booleans
// sent as strings into JSON numbers and booleans.
func flexFields(b []byte, floats, ints, bools map[string]bool) (map[string]json.RawMessage, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(b, &fields); err != nil {
		return nil, err
	}
	for k, v := range fields {
		if isNull(v) {
			delete(fields, k)
			continue
		}
		var err error
		switch {
		case floats[k]:
			v, err = flexNumber(k, v, false)
		case ints[k]:
			v, err = flexNumber(k, v, true)
		case bools[k]:
			v, err = flexBool(k, v)
		}
		if err != nil {
			return nil, err
		}
		if v == nil {
			delete(fields, k)
		} else {
			fields[k] = v
		}
	}
	return fields, nil
}

func remarshal(fields map[string]json.RawMessage, into any) error {
	b, err := json.Marshal(fields)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, into)
}

// flexNumber accepts a JSON number or a string holding one; integers are truncated toward zero
// as Jackson's asInt does. An empty string means absent (nil).
func flexNumber(field string, v json.RawMessage, integer bool) (json.RawMessage, error) {
	var text string
	if err := json.Unmarshal(v, &text); err == nil {
		text = strings.TrimSpace(text)
		if text == "" {
			return nil, nil
		}
	} else {
		var n json.Number
		if err := json.Unmarshal(v, &n); err != nil {
			return nil, &ChronosError{Field: field, Message: "must be a number"}
		}
		text = n.String()
	}
	if integer {
		if n, err := strconv.ParseInt(text, 10, 64); err == nil {
			return json.RawMessage(strconv.FormatInt(n, 10)), nil
		}
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return nil, &ChronosError{Field: field, Message: "must be a number, got " + strconv.Quote(text)}
	}
	if integer {
		if math.Abs(f) >= 1<<63 {
			return nil, &ChronosError{Field: field, Message: "is out of range"}
		}
		return json.RawMessage(strconv.FormatInt(int64(f), 10)), nil
	}
	return json.RawMessage(strconv.FormatFloat(f, 'g', -1, 64)), nil
}

// flexBool accepts a JSON boolean or the strings "true" and "false".
func flexBool(field string, v json.RawMessage) (json.RawMessage, error) {
	var bv bool
	if json.Unmarshal(v, &bv) == nil {
		return v, nil
	}
	var s string
	if json.Unmarshal(v, &s) == nil {
		switch strings.ToLower(strings.TrimSpace(s)) {
		case "true":
			return json.RawMessage("true"), nil
		case "false":
			return json.RawMessage("false"), nil
		case "":
			return nil, nil
		}
	}
	return nil, &ChronosError{Field: field, Message: "must be true or false"}
}

// DecodeChronosJob reads a Chronos job body: defaults for absent fields, numbers and booleans
// as strings accepted, unknown fields ignored, then Normalize. It still needs Validate. Every
// error is a *ChronosError (400).
func DecodeChronosJob(body []byte) (*ChronosJob, error) {
	if err := checkObject(body); err != nil {
		return nil, &ChronosError{Field: "json", Message: err.(*InvalidJSONError).Err.Error()}
	}
	var c ChronosJob
	if err := json.Unmarshal(body, &c); err != nil {
		var cerr *ChronosError
		if errors.As(err, &cerr) {
			return nil, cerr
		}
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) && typeErr.Field != "" {
			return nil, &ChronosError{Field: typeErr.Field, Message: "must be a " + strings.TrimPrefix(expected(typeErr.Type), "error.expected.js")}
		}
		return nil, &ChronosError{Field: "json", Message: err.Error()}
	}
	c.Normalize()
	return &c, nil
}

// Normalize brings a Chronos job into the canonical form the Chronos view produces:
//   - zero cpus, mem and disk take the defaults (Chronos treats 0 as unset); an empty epsilon
//     takes PT60S; maxCompletionTime -1 (no limit) becomes 0;
//   - schedule: a dependent job (parents set) carries no schedule fields; any other job carries
//     schedule and scheduleTimeZone ("" when unset, and always "" without a schedule);
//   - parents lose duplicates; the deprecated uris become fetch entries (extract true, as Mesos
//     fetches them); environment variables are sorted by name, the last of duplicates winning;
//   - container: type, network, volume modes and constraint operators upper case, volume mode
//     RW when unset; a USER network's networkName becomes the first of networkInfos; networkInfos
//     only stay with the USER network; parameters only stay with the DOCKER type;
//   - lastSuccess and lastError are rewritten as UTC timestamps with milliseconds.
func (c *ChronosJob) Normalize() {
	if c.Arguments == nil {
		c.Arguments = []string{}
	}
	c.Parents = dedup(c.Parents)
	if len(c.Parents) > 0 && c.Schedule != nil && strings.TrimSpace(*c.Schedule) == "" {
		c.Schedule = nil
	}
	switch {
	case c.Schedule != nil:
		s := strings.TrimSpace(*c.Schedule)
		c.Schedule = &s
		tz := ""
		if c.ScheduleTimeZone != nil && s != "" {
			tz = strings.TrimSpace(*c.ScheduleTimeZone)
		}
		c.ScheduleTimeZone = &tz
	case len(c.Parents) == 0:
		empty, tz := "", ""
		c.Schedule, c.ScheduleTimeZone = &empty, &tz
	default:
		c.ScheduleTimeZone = nil
	}
	c.Epsilon = strings.TrimSpace(c.Epsilon)
	if c.Epsilon == "" {
		c.Epsilon = DefaultEpsilon
	}
	if c.Cpus == 0 {
		c.Cpus = DefaultChronosCpus
	}
	if c.Mem == 0 {
		c.Mem = DefaultChronosMem
	}
	if c.Disk == 0 {
		c.Disk = DefaultChronosDisk
	}
	if c.MaxCompletionTime == -1 {
		c.MaxCompletionTime = 0
	}
	if c.Container != nil {
		c.Container.normalize()
	}
	c.EnvironmentVariables = normalizeEnv(c.EnvironmentVariables)
	if c.Fetch == nil {
		c.Fetch = []ChronosFetch{}
	}
	for _, u := range c.URIs {
		c.Fetch = append(c.Fetch, ChronosFetch{URI: u, Extract: true})
	}
	c.URIs = []string{}
	if c.Constraints == nil {
		c.Constraints = [][]string{}
	}
	for _, con := range c.Constraints {
		if len(con) > 1 {
			con[1] = strings.ToUpper(con[1])
		}
	}
	c.LastSuccess = normalizeChronosTime(c.LastSuccess)
	c.LastError = normalizeChronosTime(c.LastError)
	for i := range c.StrataCronSchedules {
		c.StrataCronSchedules[i].Normalize()
	}
	if len(c.StrataCronSchedules) == 0 {
		c.StrataCronSchedules = nil
	}
}

func (c *ChronosContainer) normalize() {
	c.Type = strings.ToUpper(strings.TrimSpace(c.Type))
	if c.Type == "" {
		c.Type = ChronosDocker
	}
	c.Network = strings.ToUpper(strings.TrimSpace(c.Network))
	if c.Network == "" {
		c.Network = ChronosHost
	}
	if c.Network == ChronosUser {
		if c.NetworkName != "" && !hasNetworkInfo(c.NetworkInfos, c.NetworkName) {
			c.NetworkInfos = append([]ChronosNetworkInfo{{Name: c.NetworkName}}, c.NetworkInfos...)
		}
		for i := range c.NetworkInfos {
			c.NetworkInfos[i].Labels = normalizeLabels(c.NetworkInfos[i].Labels)
		}
	} else {
		c.NetworkInfos = nil
	}
	if len(c.NetworkInfos) == 0 {
		c.NetworkInfos = nil
	}
	c.NetworkName = ""
	if c.Volumes == nil {
		c.Volumes = []ChronosVolume{}
	}
	for i := range c.Volumes {
		c.Volumes[i].Mode = strings.ToUpper(strings.TrimSpace(c.Volumes[i].Mode))
		if c.Volumes[i].Mode == "" {
			c.Volumes[i].Mode = VolumeRW
		}
	}
	if c.Parameters == nil || c.Type != ChronosDocker {
		c.Parameters = []Parameter{}
	}
}

func hasNetworkInfo(infos []ChronosNetworkInfo, name string) bool {
	for _, n := range infos {
		if n.Name == name {
			return true
		}
	}
	return false
}

// normalizeLabels sorts labels by key, the last of duplicates winning; nil when empty.
func normalizeLabels(in []ChronosLabel) []ChronosLabel {
	if len(in) == 0 {
		return nil
	}
	m := map[string]string{}
	for _, l := range in {
		m[l.Key] = l.Value
	}
	return labelsFromMap(m)
}

func labelsFromMap(m map[string]string) []ChronosLabel {
	if len(m) == 0 {
		return nil
	}
	out := make([]ChronosLabel, 0, len(m))
	for _, k := range sortedKeys(m) {
		out = append(out, ChronosLabel{Key: k, Value: m[k]})
	}
	return out
}

func normalizeEnv(in []ChronosEnv) []ChronosEnv {
	m := map[string]string{}
	for _, e := range in {
		m[e.Name] = e.Value
	}
	out := make([]ChronosEnv, 0, len(m))
	for _, k := range sortedKeys(m) {
		out = append(out, ChronosEnv{Name: k, Value: m[k]})
	}
	return out
}

// dedup drops repeated strings, keeping the first; nil when empty.
func dedup(in []string) []string {
	if len(in) == 0 {
		return nil
	}
	seen := map[string]bool{}
	out := make([]string, 0, len(in))
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// parseChronosTime reads a Chronos timestamp; "" is the zero time.
func parseChronosTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, err
	}
	return t.UTC(), nil
}

// FormatChronosTime writes t as Chronos does (UTC, milliseconds); the zero time is "".
func FormatChronosTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(chronosTimeFmt)
}

func normalizeChronosTime(s string) string {
	s = strings.TrimSpace(s)
	t, err := parseChronosTime(s)
	if err != nil {
		return s
	}
	return FormatChronosTime(t)
}
