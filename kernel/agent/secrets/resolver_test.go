package secrets

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"strata/kernel/mesos/mesospb"
)

func reference(name, key string) *mesospb.Secret {
	ref := &mesospb.Secret_Reference{Name: proto.String(name)}
	if key != "" {
		ref.Key = proto.String(key)
	}
	return &mesospb.Secret{Type: mesospb.Secret_REFERENCE.Enum(), Reference: ref}
}

func TestResolve(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("db/password", "hunter2")
	write("db/creds", `{"user":"app","pass":"pw","port":5432}`)
	write("empty", "")
	if err := os.MkdirAll(filepath.Join(dir, "adir"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(filepath.Dir(dir), "outside"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := Resolver{Dir: dir}
	tests := []struct {
		name    string
		secret  *mesospb.Secret
		want    string
		wantErr string
	}{
		{"value", &mesospb.Secret{Type: mesospb.Secret_VALUE.Enum(), Value: &mesospb.Secret_Value{Data: []byte("inline")}}, "inline", ""},
		{"value without data", &mesospb.Secret{Type: mesospb.Secret_VALUE.Enum()}, "", "without value"},
		{"reference", reference("/db/password", ""), "hunter2", ""},
		{"reference without slash", reference("db/password", ""), "hunter2", ""},
		{"empty secret", reference("/empty", ""), "", ""},
		{"key of a JSON object", reference("/db/creds", "pass"), "pw", ""},
		{"non-string key", reference("/db/creds", "port"), "5432", ""},
		{"missing key", reference("/db/creds", "nope"), "", "no key"},
		{"key of a non-object", reference("/db/password", "k"), "", "not a JSON object"},
		{"missing", reference("/db/other", ""), "", "secret not found"},
		{"directory", reference("/adir", ""), "", "not a file"},
		{"dot dot", reference("/../outside", ""), "", "clean path"},
		{"hidden segment", reference("/db/.password", ""), "", "start with a dot"},
		{"empty name", reference("/", ""), "", "invalid reference name"},
		{"no type", &mesospb.Secret{}, "", "unsupported secret type"},
		{"nil", nil, "", "no secret"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := r.Resolve(tt.secret)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || string(got) != tt.want {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
	if _, err := r.Resolve(reference("/db/other", "")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing secret: %v, want ErrNotFound", err)
	}
	if _, err := (Resolver{}).Resolve(reference("/db/password", "")); err == nil || !strings.Contains(err.Error(), "no secrets directory") {
		t.Fatalf("no directory: %v", err)
	}
}

func TestTaskResolvesACopy(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "pw"), []byte("hunter2"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := Resolver{Dir: dir}
	plain := &mesospb.Environment_Variable{Name: proto.String("PLAIN"), Value: proto.String("v")}
	secret := &mesospb.Environment_Variable{Name: proto.String("PW"), Type: mesospb.Environment_Variable_SECRET.Enum(), Secret: reference("/pw", "")}
	task := &mesospb.TaskInfo{
		Name:    proto.String("t"),
		Command: &mesospb.CommandInfo{Environment: &mesospb.Environment{Variables: []*mesospb.Environment_Variable{plain, secret}}},
	}
	orig := proto.Clone(task)
	got, err := r.Task(task)
	if err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(task, orig) {
		t.Fatal("Task modified its input")
	}
	vars := got.GetCommand().GetEnvironment().GetVariables()
	if vars[1].GetType() != mesospb.Environment_Variable_VALUE || vars[1].GetValue() != "hunter2" || vars[1].GetSecret() != nil {
		t.Fatalf("resolved variable = %v", vars[1])
	}
	if vars[0].GetValue() != "v" {
		t.Fatalf("plain variable = %v", vars[0])
	}
	noSecrets := &mesospb.TaskInfo{Name: proto.String("n"), Command: &mesospb.CommandInfo{Value: proto.String("true")}}
	if same, err := r.Task(noSecrets); err != nil || same != noSecrets {
		t.Fatalf("a task without secrets is returned as is: %v %v", same, err)
	}
	nul := &mesospb.TaskInfo{Command: &mesospb.CommandInfo{Environment: &mesospb.Environment{Variables: []*mesospb.Environment_Variable{{
		Name: proto.String("N"), Type: mesospb.Environment_Variable_SECRET.Enum(),
		Secret: &mesospb.Secret{Type: mesospb.Secret_VALUE.Enum(), Value: &mesospb.Secret_Value{Data: []byte("a\x00b")}},
	}}}}}
	if _, err := r.Task(nul); err == nil || !strings.Contains(err.Error(), "NUL") {
		t.Fatalf("NUL in a secret: %v", err)
	}
}
