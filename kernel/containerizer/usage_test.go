package containerizer

import (
	"testing"

	"google.golang.org/protobuf/proto"

	"strata/kernel/mesos/mesospb"
)

func TestAddUsage(t *testing.T) {
	executor := &mesospb.ResourceStatistics{
		Timestamp: proto.Float64(100), Processes: proto.Uint32(1), Threads: proto.Uint32(5),
		CpusUserTimeSecs: proto.Float64(0.5), CpusSystemTimeSecs: proto.Float64(0.25),
		MemRssBytes: proto.Uint64(10 << 20), MemTotalBytes: proto.Uint64(10 << 20),
		CpusLimit: proto.Float64(1.1), MemLimitBytes: proto.Uint64(96 << 20), DiskUsedBytes: proto.Uint64(4096),
	}
	ctr := &mesospb.ResourceStatistics{
		Timestamp: proto.Float64(101), Processes: proto.Uint32(3),
		CpusUserTimeSecs: proto.Float64(2), CpusSystemTimeSecs: proto.Float64(1),
		MemRssBytes: proto.Uint64(20 << 20), MemTotalBytes: proto.Uint64(30 << 20), MemCacheBytes: proto.Uint64(10 << 20),
		MemLimitBytes: proto.Uint64(64 << 20),
	}
	tests := []struct {
		name string
		a, b *mesospb.ResourceStatistics
		want *mesospb.ResourceStatistics
	}{
		{"executor and container", executor, ctr, &mesospb.ResourceStatistics{
			Timestamp: proto.Float64(100), Processes: proto.Uint32(4), Threads: proto.Uint32(5),
			CpusUserTimeSecs: proto.Float64(2.5), CpusSystemTimeSecs: proto.Float64(1.25),
			MemRssBytes: proto.Uint64(30 << 20), MemTotalBytes: proto.Uint64(40 << 20), MemCacheBytes: proto.Uint64(10 << 20),
			CpusLimit: proto.Float64(1.1), MemLimitBytes: proto.Uint64(96 << 20), DiskUsedBytes: proto.Uint64(4096),
		}},
		{"limits and timestamp come from b when a lacks them", &mesospb.ResourceStatistics{}, ctr, ctr},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := proto.CloneOf(tt.a)
			if got := AddUsage(tt.a, tt.b); !proto.Equal(got, tt.want) {
				t.Errorf("AddUsage =\n%v\nwant\n%v", got, tt.want)
			}
			if !proto.Equal(tt.a, before) {
				t.Error("AddUsage changed its first argument")
			}
		})
	}
}
