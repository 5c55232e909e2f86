package cluster

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"google.golang.org/protobuf/proto"

	"strata/kernel/agent/simagent"
	"strata/kernel/mesos/mesospb"
)

// StartSimulated runs an in-process master with n simulated agents
// (kernel/agent/simagent: the real master⇄agent protocol, tasks RUNNING at
// once, 16 cpus and 64 GiB each) and returns the master's address: the
// cluster of the frameworks' benchmarks.
func StartSimulated(t testing.TB, n int) (string, []*simagent.Agent) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addr, done := startMaster(ctx, t, QuietLogger())
	t.Cleanup(func() { cancel(); <-done })
	scalar := func(name string, v float64) *mesospb.Resource {
		return &mesospb.Resource{Name: proto.String(name), Type: mesospb.Value_SCALAR.Enum(),
			Scalar: &mesospb.Value_Scalar{Value: proto.Float64(v)}}
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	var agents []*simagent.Agent
	for i := 0; i < n; i++ {
		a, err := simagent.Start(ctx, simagent.Config{
			Master: addr, Hostname: fmt.Sprintf("sim-%03d", i), Port: 5051, Address: fmt.Sprintf("127.0.0.%d:5051", 2+i%250),
			Resources: []*mesospb.Resource{scalar("cpus", 16), scalar("mem", 65536), scalar("disk", 100000), {
				Name: proto.String("ports"), Type: mesospb.Value_RANGES.Enum(),
				Ranges: &mesospb.Value_Ranges{Range: []*mesospb.Value_Range{{Begin: proto.Uint64(31000), End: proto.Uint64(32000)}}},
			}},
			Client: client,
		})
		if err != nil {
			t.Fatal(err)
		}
		agents = append(agents, a)
	}
	return addr, agents
}
