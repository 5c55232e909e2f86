package records

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"testing"
)

// FuzzParseMasterState feeds arbitrary documents to ParseMasterState and everything it accepts
// through both write paths (Replace and the incremental upserts): nothing may panic, every
// generated name must be valid, readers must see exactly the counted records, and both paths
// must agree. The seed corpus lives in testdata/fuzz/FuzzParseMasterState (the fixtures of
// testdata/state and a few small documents).
func FuzzParseMasterState(f *testing.F) {
	for _, s := range []string{
		`{"leader":"master@10.0.0.1:5050"}`,
		`{"leader":"master@[::1]:5050","slaves":[{"id":"a-S0","pid":"slave(1)@10.0.0.2:5051"}],` +
			`"frameworks":[{"id":"f","name":"Marathon.Prod","pid":"s@10.0.0.3:1","tasks":[{"id":"t","name":"Web_App",` +
			`"slave_id":"a-S0","state":"TASK_RUNNING","resources":{"ports":"[31000-31002]"},` +
			`"discovery":{"name":"big.dog","ports":{"ports":[{"number":80,"name":"http"}]}},` +
			`"statuses":[{"state":"TASK_RUNNING","timestamp":1,"container_status":{"network_infos":[{"ip_addresses":[{"ip_address":"fd00::1"}]}]}}]}]}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := ParseMasterState(bytes.NewReader(data))
		if err != nil {
			return
		}
		ports := uint64(0)
		for _, t := range st.Tasks {
			for _, r := range t.Ports {
				if r.End >= r.Begin && r.Begin <= 65535 {
					ports += min(r.End, 65535) - r.Begin + 1
				}
			}
		}
		if ports > 4096 {
			return // valid but slow to check (every port gives SRV records); keeps fuzzing fast
		}
		st.Masters = []string{"10.0.0.1:5050", "10.0.0.2:5050"}
		cfg := Config{IPSources: []string{SourceNetInfo, SourceMesos, SourceDocker, SourceHost}, EnforceRFC952: len(data)%2 == 1}
		s := mustNew(t, cfg)
		s.SetNameserver(addrs("10.0.0.53"))
		s.Replace(st)
		checkConsistent(t, s)
		if _, err := json.Marshal(s.Enumerate()); err != nil {
			t.Fatal(err)
		}
		inc := mustNew(t, cfg)
		inc.SetNameserver(addrs("10.0.0.53"))
		applyIncremental(inc, st, rand.New(rand.NewPCG(uint64(len(data)), 1)))
		checkConsistent(t, inc)
		if a, b := dump(s), dump(inc); a != b {
			t.Fatalf("Replace and incremental differ:\n%s\nvs\n%s", a, b)
		}
	})
}
