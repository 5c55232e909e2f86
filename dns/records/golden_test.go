package records

import (
	"bytes"
	"encoding/json"
	"flag"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

var (
	cfgDCOS     = DefaultConfig()
	cfgMesosDNS = Config{IPSources: []string{SourceNetInfo, SourceMesos, SourceHost}}
	cfgDocker   = Config{IPSources: []string{SourceDocker, SourceMesos, SourceHost}}
	cfgRFC952   = Config{IPSources: []string{SourceHost}, EnforceRFC952: true}
)

type goldenCase struct {
	fixture, config string
	cfg             Config
	masters         []string
	ns              []netip.Addr
}

var goldenCases = []goldenCase{
	{"basic", "dcos", cfgDCOS, []string{"10.0.0.1:5050", "10.0.0.2:5050", "10.0.0.3:5050"}, addrs("10.0.0.53")},
	{"basic", "mesosdns", cfgMesosDNS, []string{"10.0.0.1:5050", "10.0.0.2:5050", "10.0.0.3:5050"}, nil},
	{"names", "dcos", cfgDCOS, nil, nil},
	{"names", "rfc952", cfgRFC952, nil, nil},
	{"discovery", "dcos", cfgDCOS, nil, nil},
	{"discovery", "mesosdns", cfgMesosDNS, nil, nil},
	{"network", "dcos", cfgDCOS, []string{"10.0.0.2:5050", "10.0.0.1:5050"}, nil},
	{"network", "mesosdns", cfgMesosDNS, []string{"10.0.0.2:5050", "10.0.0.1:5050"}, nil},
	{"network", "docker", cfgDocker, nil, nil},
}

// TestGolden generates the records of each fixture under each configuration and compares
// them with testdata/golden/<fixture>.<config>.txt (go test -run TestGolden -update rewrites
// them). Every golden file was reviewed line by line against reference/mesos-dns.md; the
// rules themselves have targeted tests in generate_test.go.
func TestGolden(t *testing.T) {
	for _, gc := range goldenCases {
		t.Run(gc.fixture+"."+gc.config, func(t *testing.T) {
			st := loadFixture(t, gc.fixture)
			st.Masters = gc.masters
			s := mustNew(t, gc.cfg)
			s.SetNameserver(gc.ns)
			s.Replace(st)
			checkConsistent(t, s)
			got := dump(s)
			compareGolden(t, filepath.Join("testdata", "golden", gc.fixture+"."+gc.config+".txt"), []byte(got))

			// The event-stream path must reach the same records in any order.
			for seed := range uint64(5) {
				inc := mustNew(t, gc.cfg)
				inc.SetNameserver(gc.ns)
				applyIncremental(inc, st, rand.New(rand.NewPCG(seed, 7)))
				checkConsistent(t, inc)
				if d := dump(inc); d != got {
					t.Fatalf("seed %d: incremental build differs from Replace:\n%s\nwant:\n%s", seed, d, got)
				}
			}
		})
	}
}

// TestGoldenEnumerate pins the /v1/enumerate body for the basic fixture.
func TestGoldenEnumerate(t *testing.T) {
	st := loadFixture(t, "basic")
	s := mustNew(t, cfgDCOS)
	s.Replace(st)
	b, err := json.MarshalIndent(s.Enumerate(), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	compareGolden(t, filepath.Join("testdata", "golden", "basic.enumerate.json"), append(b, '\n'))
}

func compareGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run %s -update to create it)", err, t.Name())
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs; got:\n%s", path, got)
	}
}
