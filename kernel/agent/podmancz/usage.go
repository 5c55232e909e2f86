package podmancz

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/protobuf/proto"

	"strata/kernel/containerizer"
	"strata/kernel/containerizer/podman"
	"strata/kernel/mesos/mesospb"
)

// Usage samples every running container of agentID, keyed by its
// strata.container label (the container id of the executor that runs it).
// A container that stops while it is sampled is left out.
func (c *Containers) Usage(ctx context.Context, agentID string) (map[string]*mesospb.ResourceStatistics, error) {
	client, err := c.usable()
	if err != nil {
		return nil, err
	}
	list, err := client.List(ctx, agentID)
	if err != nil {
		return nil, fmt.Errorf("podmancz: usage: %w", err)
	}
	out := make(map[string]*mesospb.ResourceStatistics)
	for _, s := range list {
		if s.ContainerID == "" || s.State != "running" {
			continue
		}
		st, err := client.Stats(ctx, s.ID)
		if errors.Is(err, podman.ErrNotRunning) || errors.Is(err, podman.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("podmancz: usage: %w", err)
		}
		stats := Statistics(st)
		if prev, ok := out[s.ContainerID]; ok {
			stats = containerizer.AddUsage(prev, stats)
		}
		out[s.ContainerID] = stats
	}
	return out, nil
}

// Statistics converts a podman sample into Mesos' ResourceStatistics.
func Statistics(s *podman.Stats) *mesospb.ResourceStatistics {
	return &mesospb.ResourceStatistics{
		Timestamp:          proto.Float64(float64(s.Timestamp.UnixNano()) / 1e9),
		Processes:          proto.Uint32(uint32(s.Processes)),
		CpusUserTimeSecs:   proto.Float64(s.CPUUserSecs),
		CpusSystemTimeSecs: proto.Float64(s.CPUSystemSecs),
		MemTotalBytes:      proto.Uint64(s.MemTotalBytes),
		MemRssBytes:        proto.Uint64(s.MemRSSBytes),
		MemCacheBytes:      proto.Uint64(s.MemCacheBytes),
		MemLimitBytes:      proto.Uint64(s.MemLimitBytes),
	}
}
