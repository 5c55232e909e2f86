package app

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzDecode feeds app bodies from outside: decoding, normalizing, validating and merging
// never panic, and a valid app round-trips through its JSON unchanged.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"id":"/web","cmd":"sleep 1"}`,
		`{"id":"/a/b","args":["x"],"ports":[0,80],"env":{"A":"1","S":{"secret":"s"}},"uris":["http://h/a.tgz"]}`,
		`{"id":"web","container":{"type":"DOCKER","docker":{"image":"nginx","network":"BRIDGE","portMappings":[{"containerPort":80}]}}}`,
		`{"id":"/h","cmd":"x","healthChecks":[{"protocol":"MESOS_HTTP","path":"/"}],"unreachableStrategy":"disabled"}`,
		`{"id":"/x","instances":3,"ports":null,"dependencies":null}`,
		`{"id":"/c","cmd":"x","constraints":[["hostname","UNIQUE"],["rack","GROUP_BY","2"]],"ipAddress":{"networkName":"n"}}`,
		`[]`, `{`, `null`,
	} {
		f.Add([]byte(s))
	}
	base, err := Decode([]byte(`{"id":"/base","cmd":"sleep 1","ports":[0]}`))
	if err != nil {
		f.Fatal(err)
	}
	if err := base.Normalize(); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if m, err := Merge(base, body); err == nil {
			if m.Normalize() == nil {
				_ = m.Validate()
			}
		}
		_, _, _ = UpdateVersion(body)
		a, err := Decode(body)
		if err != nil {
			return
		}
		if a.Normalize() != nil {
			return
		}
		if a.ID != "" {
			if id, err := ParseID(a.ID, "/"); err == nil {
				a.ID = id
			}
		}
		if a.Validate() != nil {
			return
		}
		first, err := json.Marshal(a)
		if err != nil {
			t.Fatalf("marshal a valid app: %v", err)
		}
		again, err := Decode(first)
		if err != nil {
			t.Fatalf("decode %s: %v", first, err)
		}
		if err := again.Normalize(); err != nil {
			t.Fatalf("normalize %s: %v", first, err)
		}
		second, _ := json.Marshal(again)
		if !bytes.Equal(first, second) {
			t.Fatalf("round trip changed the app:\n%s\n%s", first, second)
		}
	})
}
