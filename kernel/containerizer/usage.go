package containerizer

import (
	"google.golang.org/protobuf/proto"

	"strata/kernel/mesos/mesospb"
)

// AddUsage returns the sum of two samples: the usage fields (processes, threads,
// CPU times, memory use, disk use) are added, the limits and the timestamp
// are a's unless a lacks them. The agent uses it to
// report an executor together with the image container it runs.
func AddUsage(a, b *mesospb.ResourceStatistics) *mesospb.ResourceStatistics {
	out := proto.CloneOf(a)
	addU32 := func(dst **uint32, v *uint32) {
		if v != nil {
			*dst = proto.Uint32(derefU32(*dst) + *v)
		}
	}
	addU64 := func(dst **uint64, v *uint64) {
		if v != nil {
			*dst = proto.Uint64(derefU64(*dst) + *v)
		}
	}
	addF := func(dst **float64, v *float64) {
		if v != nil {
			*dst = proto.Float64(derefF(*dst) + *v)
		}
	}
	addU32(&out.Processes, b.Processes)
	addU32(&out.Threads, b.Threads)
	addF(&out.CpusUserTimeSecs, b.CpusUserTimeSecs)
	addF(&out.CpusSystemTimeSecs, b.CpusSystemTimeSecs)
	addU64(&out.MemTotalBytes, b.MemTotalBytes)
	addU64(&out.MemRssBytes, b.MemRssBytes)
	addU64(&out.MemCacheBytes, b.MemCacheBytes)
	addU64(&out.MemAnonBytes, b.MemAnonBytes)
	addU64(&out.MemFileBytes, b.MemFileBytes)
	addU64(&out.MemSwapBytes, b.MemSwapBytes)
	addU64(&out.DiskUsedBytes, b.DiskUsedBytes)
	if out.Timestamp == nil {
		out.Timestamp = b.Timestamp
	}
	if out.CpusLimit == nil {
		out.CpusLimit = b.CpusLimit
	}
	if out.MemLimitBytes == nil {
		out.MemLimitBytes = b.MemLimitBytes
	}
	return out
}

func derefU32(p *uint32) uint32 {
	if p == nil {
		return 0
	}
	return *p
}

func derefU64(p *uint64) uint64 {
	if p == nil {
		return 0
	}
	return *p
}

func derefF(p *float64) float64 {
	if p == nil {
		return 0
	}
	return *p
}
