package app

import (
	"bytes"
	"encoding/json"
	"errors"
)

var errNotObject = errors.New("expected a JSON object")

// Marathon's defaults.
const (
	DefaultCpus                  = 1.0
	DefaultMem                   = 128.0
	DefaultInstances             = 1
	DefaultBackoffSeconds        = 1
	DefaultBackoffFactor         = 1.15
	DefaultMaxLaunchDelaySeconds = 300
	DefaultRole                  = "*"
)

// New returns an app holding Marathon's defaults for every scalar field. Collections are nil
// ("absent"); Normalize gives them their defaults.
func New() *App {
	return &App{
		Instances:             DefaultInstances,
		Cpus:                  DefaultCpus,
		Mem:                   DefaultMem,
		BackoffSeconds:        DefaultBackoffSeconds,
		BackoffFactor:         DefaultBackoffFactor,
		MaxLaunchDelaySeconds: DefaultMaxLaunchDelaySeconds,
		UpgradeStrategy:       UpgradeStrategy{MinimumHealthCapacity: 1, MaximumOverCapacity: 1},
		KillSelection:         YoungestFirst,
	}
}

// Decode reads a whole app definition (POST /v2/apps, or PUT with partialUpdate=false): absent
// and null fields take their defaults, unknown fields are ignored (clients echo AppInfo fields
// such as tasksRunning back). The result still needs Normalize and Validate. Errors are
// *InvalidJSONError (400) or *ValidationError (422, a value of the wrong type).
func Decode(body []byte) (*App, error) {
	fields, err := object(body)
	if err != nil {
		return nil, err
	}
	if err := checkEnv(fields["env"]); err != nil {
		return nil, err
	}
	a := New()
	if err := json.Unmarshal(body, a); err != nil {
		return nil, decodeError(err)
	}
	return a, nil
}

// object parses body as a JSON object into its top-level fields.
func object(body []byte) (map[string]json.RawMessage, error) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return nil, &InvalidJSONError{Err: errors.New("empty body")}
	}
	if !json.Valid(trimmed) {
		var v any
		return nil, &InvalidJSONError{Err: json.Unmarshal(trimmed, &v)}
	}
	if trimmed[0] != '{' {
		return nil, &InvalidJSONError{Err: errNotObject}
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(trimmed, &m); err != nil {
		return nil, &InvalidJSONError{Err: err}
	}
	return m, nil
}

func isNull(v json.RawMessage) bool { return bytes.Equal(bytes.TrimSpace(v), []byte("null")) }

// alternatives are pairs of fields of which an update that sets one replaces the other.
var alternatives = map[string][]string{
	"ports":           {"portDefinitions"},
	"portDefinitions": {"ports"},
	"uris":            {"fetch"},
	"fetch":           {"uris"},
	"cmd":             {"args"},
	"args":            {"cmd"},
	"ipAddress":       {"networks"},
	"networks":        {"ipAddress"},
}

// ignoredOnUpdate are fields an update never changes: the id comes from the URL, a version asks
// for a rollback (see UpdateVersion), and the rest are read-only AppInfo fields.
var ignoredOnUpdate = map[string]bool{"id": true, "version": true, "versionInfo": true}

// Merge applies an update body (PUT /v2/apps/{id} with partialUpdate, the default, and PATCH)
// to current, as Marathon's AppUpdate does: every top-level field the body sets to a non-null
// value replaces the current value wholesale (an object field's absent members take their
// defaults), and absent or null fields leave the current value unchanged, so clients that always
// send "ports": null and "dependencies": null change nothing with them. Setting one of two
// alternative forms drops the other (ports/portDefinitions, uris/fetch, cmd/args,
// ipAddress/networks), and a container naming the deprecated docker.network drops networks.
// The result still needs Normalize and Validate.
func Merge(current *App, body []byte) (*App, error) {
	upd, err := object(body)
	if err != nil {
		return nil, err
	}
	if err := checkEnv(upd["env"]); err != nil {
		return nil, err
	}
	baseJSON, err := json.Marshal(current)
	if err != nil {
		return nil, err
	}
	var base map[string]json.RawMessage
	if err := json.Unmarshal(baseJSON, &base); err != nil {
		return nil, err
	}
	for k, v := range upd {
		if ignoredOnUpdate[k] || isNull(v) {
			continue
		}
		for _, other := range alternatives[k] {
			if _, set := upd[other]; !set || isNull(upd[other]) {
				delete(base, other)
			}
		}
		if k == "container" && dockerNetworkSet(v) {
			if _, set := upd["networks"]; !set {
				delete(base, "networks")
			}
		}
		base[k] = v
	}
	merged, err := json.Marshal(base)
	if err != nil {
		return nil, err
	}
	out := New()
	if err := json.Unmarshal(merged, out); err != nil {
		return nil, decodeError(err)
	}
	out.ID = current.ID
	out.Version = current.Version
	if current.VersionInfo != nil {
		vi := *current.VersionInfo
		out.VersionInfo = &vi
	}
	return out, nil
}

func dockerNetworkSet(container json.RawMessage) bool {
	var c struct {
		Docker *struct {
			Network *string `json:"network"`
		} `json:"docker"`
	}
	return json.Unmarshal(container, &c) == nil && c.Docker != nil && c.Docker.Network != nil && *c.Docker.Network != ""
}

// UpdateVersion returns the version an update body asks to roll back to ({"version": "<ts>"}),
// if any.
func UpdateVersion(body []byte) (string, bool, error) {
	m, err := object(body)
	if err != nil {
		return "", false, err
	}
	v, ok := m["version"]
	if !ok || isNull(v) {
		return "", false, nil
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return "", false, &ValidationError{Details: []Detail{{Path: "/version", Errors: []string{"error.expected.jsstring"}}}}
	}
	return s, true, nil
}

// UpdateID returns the id an update body names, if any (PUT /v2/apps bulk updates identify apps
// by it).
func UpdateID(body []byte) (string, bool) {
	m, err := object(body)
	if err != nil {
		return "", false
	}
	var s string
	if v, ok := m["id"]; ok && json.Unmarshal(v, &s) == nil && s != "" {
		return s, true
	}
	return "", false
}

// checkEnv reports env values that are neither strings nor {"secret": name}, naming the variable.
func checkEnv(raw json.RawMessage) error {
	if len(raw) == 0 || isNull(raw) {
		return nil
	}
	var env map[string]json.RawMessage
	if err := json.Unmarshal(raw, &env); err != nil {
		return &ValidationError{Details: []Detail{{Path: "/env", Errors: []string{"error.expected.jsobject"}}}}
	}
	var v violations
	for _, k := range sortedKeys(env) {
		var e EnvValue
		if err := json.Unmarshal(env[k], &e); err != nil {
			v.add("/env/"+k, "error.expected.jsstring")
		}
	}
	return v.err()
}
