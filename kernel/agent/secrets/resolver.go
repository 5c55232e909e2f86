package secrets

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"google.golang.org/protobuf/proto"

	"strata/kernel/mesos/mesospb"
)

// MaxSize bounds one secret's data: a secret is a credential, not a file
// transfer.
const MaxSize = 1 << 20

// ErrNotFound is returned (wrapped) for a reference to a secret the
// directory does not hold.
var ErrNotFound = errors.New("secret not found")

// Resolver resolves secrets from a directory: a reference named "/a/b"
// reads the file Dir/a/b.
type Resolver struct {
	// Dir holds the secrets; empty resolves VALUE secrets only.
	Dir string
}

// Resolve returns a secret's data.
func (r Resolver) Resolve(s *mesospb.Secret) ([]byte, error) {
	if s == nil {
		return nil, errors.New("secrets: no secret given")
	}
	switch s.GetType() {
	case mesospb.Secret_VALUE:
		if s.GetValue() == nil {
			return nil, errors.New("secrets: a VALUE secret without value")
		}
		return s.GetValue().GetData(), nil
	case mesospb.Secret_REFERENCE:
		return r.resolveReference(s.GetReference())
	default:
		return nil, fmt.Errorf("secrets: unsupported secret type %v", s.GetType())
	}
}

func (r Resolver) resolveReference(ref *mesospb.Secret_Reference) ([]byte, error) {
	name := ref.GetName()
	if r.Dir == "" {
		return nil, fmt.Errorf("secrets: reference %q: this agent has no secrets directory", name)
	}
	file, err := r.file(name)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(file)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("secrets: reference %q: %w", name, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("secrets: reference %q: %w", name, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("secrets: reference %q: %w", name, err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("secrets: reference %q is not a file", name)
	}
	if st.Size() > MaxSize {
		return nil, fmt.Errorf("secrets: reference %q is larger than %d bytes", name, MaxSize)
	}
	data := make([]byte, st.Size())
	if _, err := f.ReadAt(data, 0); err != nil && st.Size() > 0 {
		return nil, fmt.Errorf("secrets: reference %q: %w", name, err)
	}
	if ref.GetKey() == "" {
		return data, nil
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil {
		return nil, fmt.Errorf("secrets: reference %q with key %q: the secret is not a JSON object", name, ref.GetKey())
	}
	raw, ok := fields[ref.GetKey()]
	if !ok {
		return nil, fmt.Errorf("secrets: reference %q has no key %q: %w", name, ref.GetKey(), ErrNotFound)
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return []byte(s), nil
	}
	return raw, nil
}

// file maps a reference name onto a path inside Dir, refusing names that
// would leave it.
func (r Resolver) file(name string) (string, error) {
	trimmed := strings.TrimPrefix(name, "/")
	if trimmed == "" || strings.ContainsRune(name, 0) {
		return "", fmt.Errorf("secrets: invalid reference name %q", name)
	}
	clean := path.Clean("/" + trimmed)
	if clean != "/"+trimmed {
		return "", fmt.Errorf("secrets: invalid reference name %q: it must be a clean path", name)
	}
	for _, seg := range strings.Split(trimmed, "/") {
		if seg == ".." || seg == "." || strings.HasPrefix(seg, ".") {
			return "", fmt.Errorf("secrets: invalid reference name %q: no segment may start with a dot", name)
		}
	}
	return filepath.Join(r.Dir, filepath.FromSlash(trimmed)), nil
}

// Environment returns env with every SECRET variable replaced by a VALUE
// variable holding the resolved data, and whether anything was resolved
// (when not, env itself is returned). env is never modified.
func (r Resolver) Environment(env *mesospb.Environment) (*mesospb.Environment, bool, error) {
	has := false
	for _, v := range env.GetVariables() {
		if v.GetType() == mesospb.Environment_Variable_SECRET {
			has = true
			break
		}
	}
	if !has {
		return env, false, nil
	}
	out := proto.Clone(env).(*mesospb.Environment)
	for _, v := range out.GetVariables() {
		if v.GetType() != mesospb.Environment_Variable_SECRET {
			continue
		}
		data, err := r.Resolve(v.GetSecret())
		if err != nil {
			return nil, false, fmt.Errorf("environment variable %s: %w", v.GetName(), err)
		}
		if strings.ContainsRune(string(data), 0) {
			return nil, false, fmt.Errorf("secrets: environment variable %s: the secret holds a NUL byte", v.GetName())
		}
		v.Type = mesospb.Environment_Variable_VALUE.Enum()
		v.Value = proto.String(string(data))
		v.Secret = nil
	}
	return out, true, nil
}

// Task returns a copy of a TaskInfo whose command's (and, in a task of a
// custom executor, the executor command's) secret environment variables are
// resolved; the task itself when it names no secret.
func (r Resolver) Task(t *mesospb.TaskInfo) (*mesospb.TaskInfo, error) {
	cmdEnv, cmdChanged, err := r.Environment(t.GetCommand().GetEnvironment())
	if err != nil {
		return nil, err
	}
	execEnv, execChanged, err := r.Environment(t.GetExecutor().GetCommand().GetEnvironment())
	if err != nil {
		return nil, err
	}
	checkEnv, checkChanged, err := r.Environment(t.GetHealthCheck().GetCommand().GetEnvironment())
	if err != nil {
		return nil, err
	}
	if !cmdChanged && !execChanged && !checkChanged {
		return t, nil
	}
	out := proto.Clone(t).(*mesospb.TaskInfo)
	if cmdChanged {
		out.Command.Environment = cmdEnv
	}
	if execChanged {
		out.Executor.Command.Environment = execEnv
	}
	if checkChanged {
		out.HealthCheck.Command.Environment = checkEnv
	}
	return out, nil
}
