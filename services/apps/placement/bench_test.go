package placement

import (
	"fmt"
	"testing"

	"strata/kernel/mesos/mesospb"
)

// BenchmarkPlace1000On100 places 1,000 instances (1 cpu, 256 MB, two dynamic
// ports, three constraints) on 100 agent offers of 16 cpus each, the way the
// framework would: offer by offer, as many instances per offer as fit, with
// every placed instance visible to the constraints of the next. GROUP_BY
// takes only one more instance per agent once the racks are even, so, as
// with real offer cycles, the agents' remaining resources are offered again
// until every instance is placed.
func BenchmarkPlace1000On100(b *testing.B) {
	const instances, agents = 1000, 100
	offers := make([]*mesospb.Offer, agents)
	for i := range offers {
		offers[i] = offer(b, fmt.Sprintf("O%d", i), fmt.Sprintf("agent%03d", i),
			"cpus:16;mem:65536;disk:100000;ports:[31000-32000]",
			fmt.Sprintf("rack:r%d;zone:z%d;cores:16", i%10, i%3))
	}
	m := matcher(b, Spec{
		CPUs: 1, Mem: 256,
		Ports: []PortRequest{{Name: "http"}, {Name: "admin"}},
		Constraints: [][]string{
			{"hostname", "MAX_PER", "10"},
			{"rack", "GROUP_BY"},
			{"zone", "LIKE", "z[0-2]"},
		},
	})
	rng := randFrom(1)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		placed := m.NewIndex()
		remaining := make([]*Remaining, agents)
		for i, o := range offers {
			remaining[i] = NewRemaining(o)
		}
		for placed.Len() < instances {
			before := placed.Len()
			for _, r := range remaining {
				m.MatchN(r, placed, instances-placed.Len(), rng)
			}
			if placed.Len() == before {
				b.Fatalf("stuck at %d of %d instances", placed.Len(), instances)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*instances), "ns/instance")
}
