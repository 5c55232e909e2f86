package master

import (
	"context"
	"time"

	"strata/kernel/mesos/schedulerpb"
)

// heartbeatLoop sends HEARTBEAT to every scheduler and operator subscriber.
func (m *Master) heartbeatLoop(ctx context.Context) {
	tick := time.NewTicker(m.cfg.HeartbeatInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			m.heartbeat()
		}
	}
}

func (m *Master) heartbeat() {
	m.mu.Lock()
	defer m.mu.Unlock()
	ev := &schedulerpb.Event{Type: schedulerpb.Event_HEARTBEAT.Enum()}
	for _, fw := range m.frameworks {
		if fw.stream != nil {
			m.sendToFramework(fw, ev)
		}
	}
	m.operatorHeartbeat()
}
